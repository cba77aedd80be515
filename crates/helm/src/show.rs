//! `helm template --show-only`: picks documents out of the printed output by the template
//! they came from.

use super::error::{Error, ErrorKind};
use super::glob::Glob;

/// Helm's `releaseutil.SplitManifests` separator: `---` at the start or after a newline,
/// with the blanks around it.
const SEPARATOR: &str = r"(?:^|\s*\n)---\s*";
/// The template path of a document: its `# Source:` line without the top chart's name.
const SOURCE: &str = r"# Source: [^/]+/(.+)";

/// Keeps the documents of `output` (what [`super::template_output`] printed) whose
/// template path, relative to the top chart, matches one of `patterns` (Go
/// `path/filepath.Match` globs), pattern by pattern in output order, as `helm template
/// --show-only` prints them.
///
/// # Errors
/// `could not find template PATTERN in chart` for the first pattern that matches nothing.
pub fn show_only(output: &str, patterns: &[String]) -> Result<String, Error> {
    let (Ok(separator), Ok(source)) = (regex::Regex::new(SEPARATOR), regex::Regex::new(SOURCE))
    else {
        return Err(Error::unsupported("--show-only patterns"));
    };
    let documents: Vec<&str> = separator
        .split(output.trim())
        .filter(|d| !d.is_empty())
        .map(str::trim)
        .collect();
    let mut out = String::new();
    for pattern in patterns {
        // A malformed pattern matches nothing, as Go's `filepath.Match` reports it.
        let glob = Glob::go_filepath(pattern).ok();
        let mut found = false;
        for doc in &documents {
            let path = source.captures(doc).and_then(|c| c.get(1));
            if path.is_some_and(|p| glob.as_ref().is_some_and(|g| g.matches(p.as_str()))) {
                out.push_str(&format!("---\n{doc}\n"));
                found = true;
            }
        }
        if !found {
            return Err(Error::new(
                ErrorKind::Manifest,
                format!("could not find template {pattern} in chart"),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "---\n# Source: c/templates/a.yaml\na: 1\n---\n# Source: c/templates/b.yaml\nb: 1\n---\n# Source: c/charts/s/templates/a.yaml\ns: 1\n";

    #[test]
    fn selects_by_glob_in_pattern_order() {
        let picked = show_only(OUTPUT, &["templates/b.yaml".into(), "*/a.yaml".into()]);
        assert_eq!(
            picked,
            Ok("---\n# Source: c/templates/b.yaml\nb: 1\n---\n# Source: c/templates/a.yaml\na: 1\n".into())
        );
    }

    #[test]
    fn unmatched_pattern_is_an_error() {
        let picked = show_only(OUTPUT, &["templates/[".into()]);
        assert_eq!(
            picked.map_err(|e| e.to_string()),
            Err("could not find template templates/[ in chart".into())
        );
    }
}

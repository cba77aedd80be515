//! What Flux's source-controller puts in a GitRepository's artifact: the checkout minus
//! the files its ignore rules exclude (fluxcd/pkg `sourceignore` and
//! `artifact/storage.SourceIgnoreFilter`).
//!
//! The rules, lowest priority first:
//! 1. the VCS exclusions, always;
//! 2. the default exclusions (images, archives, CI files, …), but only when neither a
//!    `.sourceignore` file nor `spec.ignore` contributes a single pattern;
//! 3. every `.sourceignore` of the tree, each scoped to its directory, the root's first,
//!    then the subdirectories depth-first in name order;
//! 4. `spec.ignore`, scoped to the root.
//!
//! A later rule that matches a path (or one of its parents) decides, so `!pattern` can
//! bring a file back. Only regular files and directories make it into an artifact:
//! symlinks are left out, as source-controller's archiver skips them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The per-directory ignore file source-controller reads (`sourceignore.IgnoreFile`).
const IGNORE_FILE: &str = ".sourceignore";

/// `sourceignore.ExcludeVCS`: excluded whatever the other rules say.
const EXCLUDE_VCS: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];

/// `sourceignore.ExcludeExt`, `ExcludeCI` and `ExcludeExtra`: excluded only when the
/// repository and the GitRepository bring no patterns of their own.
const EXCLUDE_DEFAULT: &[&str] = &[
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
];

/// A pattern the gitignore matcher cannot compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError {
    /// Where the pattern was written: a `.sourceignore` path in the tree, or `spec.ignore`.
    pub file: String,
    /// 1-based line number in that file.
    pub line: usize,
    /// The pattern as written.
    pub pattern: String,
    /// The matcher's explanation.
    pub message: String,
}

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: invalid ignore pattern `{}`: {}",
            self.file, self.line, self.pattern, self.message
        )
    }
}

/// One list of gitignore patterns, scoped to a directory of the tree.
struct Layer {
    /// The directory the patterns are relative to (empty: the tree's root).
    dir: PathBuf,
    rules: Gitignore,
}

impl Layer {
    /// Compiles `text` (gitignore syntax) scoped to `dir`; `file` names it in errors.
    fn parse(dir: &Path, file: &str, text: &str) -> Result<Layer, PatternError> {
        let mut builder = GitignoreBuilder::new(dir);
        for (index, line) in text.lines().enumerate() {
            let invalid = |message: String| PatternError {
                file: file.to_string(),
                line: index + 1,
                pattern: line.to_string(),
                message,
            };
            builder
                .add_line(None, line)
                .map_err(|e| invalid(e.to_string()))?;
        }
        let rules = builder.build().map_err(|e| PatternError {
            file: file.to_string(),
            line: 0,
            pattern: String::new(),
            message: e.to_string(),
        })?;
        Ok(Layer {
            dir: dir.to_path_buf(),
            rules,
        })
    }

    /// How the layer's patterns judge `path` (relative to the tree's root); `None` when
    /// the path is outside its directory or no pattern matches.
    fn judge(&self, path: &Path, is_dir: bool) -> Option<bool> {
        let inner = path.strip_prefix(&self.dir).ok()?;
        // A pattern never matches the directory that scopes it.
        if inner.as_os_str().is_empty() {
            return None;
        }
        match self.rules.matched_path_or_any_parents(inner, is_dir) {
            Match::None => None,
            Match::Ignore(_) => Some(true),
            Match::Whitelist(_) => Some(false),
        }
    }
}

/// The ignore rules of one artifact.
pub(crate) struct Rules {
    /// Lowest priority first.
    layers: Vec<Layer>,
}

impl Rules {
    /// The rules for a tree whose `.sourceignore` files are `ignore_files` (each with the
    /// directory it sits in, relative to the root, in source-controller's order) and
    /// whose GitRepository has `spec_ignore`.
    pub(crate) fn new(
        ignore_files: &[(PathBuf, String)],
        spec_ignore: Option<&str>,
    ) -> Result<Rules, PatternError> {
        let root = Path::new("");
        let mut own = Vec::new();
        for (dir, text) in ignore_files {
            let file = dir.join(IGNORE_FILE).to_string_lossy().into_owned();
            own.push(Layer::parse(dir, &file, text)?);
        }
        if let Some(text) = spec_ignore {
            own.push(Layer::parse(root, "spec.ignore", text)?);
        }
        let mut layers = vec![Layer::parse(
            root,
            "(VCS exclusions)",
            &EXCLUDE_VCS.join("\n"),
        )?];
        // SourceIgnoreFilter keeps the defaults only when there is no other pattern.
        if own.iter().all(|layer| layer.rules.is_empty()) {
            layers.push(Layer::parse(
                root,
                "(default exclusions)",
                &EXCLUDE_DEFAULT.join("\n"),
            )?);
        }
        layers.extend(own);
        Ok(Rules { layers })
    }

    /// Whether `path` (relative to the tree's root) is left out of the artifact.
    pub(crate) fn excludes(&self, path: &Path, is_dir: bool) -> bool {
        self.layers
            .iter()
            .rev()
            .find_map(|layer| layer.judge(path, is_dir))
            .unwrap_or(false)
    }
}

/// The `.sourceignore` files under `root`, in source-controller's order: a directory's
/// own file, then its subdirectories' in name order, depth first.
pub(crate) fn ignore_files(root: &Path) -> io::Result<Vec<(PathBuf, String)>> {
    let mut found = Vec::new();
    collect_ignore_files(root, Path::new(""), &mut found)?;
    Ok(found)
}

fn collect_ignore_files(
    root: &Path,
    dir: &Path,
    found: &mut Vec<(PathBuf, String)>,
) -> io::Result<()> {
    let here = root.join(dir);
    let file = here.join(IGNORE_FILE);
    if file.is_file() {
        let text = fs::read(&file)?;
        found.push((
            dir.to_path_buf(),
            String::from_utf8_lossy(&text).into_owned(),
        ));
    }
    for (name, kind) in sorted_entries(&here)? {
        if kind.is_dir() && name != ".git" {
            collect_ignore_files(root, &dir.join(name), found)?;
        }
    }
    Ok(())
}

/// The entries of `dir` in name order (as Go's `os.ReadDir` and `filepath.Walk`), with
/// their types, symlinks not followed.
fn sorted_entries(dir: &Path) -> io::Result<Vec<(std::ffi::OsString, fs::FileType)>> {
    let mut entries = fs::read_dir(dir)?
        .map(|entry| entry.and_then(|e| Ok((e.file_name(), e.file_type()?))))
        .collect::<io::Result<Vec<_>>>()?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// Copies the files of `source` that `rules` keep into `dest` (which must not exist),
/// with source-controller's walk: an excluded directory is still entered, so a file
/// brought back by a later `!pattern` survives.
pub(crate) fn write(source: &Path, rules: &Rules, dest: &Path) -> io::Result<()> {
    fs::create_dir(dest)?;
    copy_kept(source, Path::new(""), rules, dest)
}

fn copy_kept(source: &Path, dir: &Path, rules: &Rules, dest: &Path) -> io::Result<()> {
    for (name, kind) in sorted_entries(&source.join(dir))? {
        let path = dir.join(&name);
        if kind.is_dir() {
            if !rules.excludes(&path, true) {
                fs::create_dir_all(dest.join(&path))?;
            }
            copy_kept(source, &path, rules, dest)?;
        } else if kind.is_file() && !rules.excludes(&path, false) {
            if let Some(parent) = dest.join(&path).parent() {
                fs::create_dir_all(parent)?;
            }
            link_or_copy(&source.join(&path), &dest.join(&path))?;
        }
    }
    Ok(())
}

/// Hard-links `from` to `to`, both immutable cache files, or copies it where a link cannot
/// be made (another file system). A link costs no new inode, and creating inodes is most
/// of a cold build's time on a busy ext4.
fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    fs::hard_link(from, to).or_else(|_| fs::copy(from, to).map(drop))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(files: &[(&str, &str)], spec: Option<&str>) -> Rules {
        let files: Vec<(PathBuf, String)> = files
            .iter()
            .map(|(dir, text)| (PathBuf::from(dir), text.to_string()))
            .collect();
        match Rules::new(&files, spec) {
            Ok(rules) => rules,
            Err(e) => panic!("{e:?}"),
        }
    }

    fn excluded(rules: &Rules, path: &str) -> bool {
        rules.excludes(Path::new(path), false)
    }

    #[test]
    fn defaults_apply_without_own_patterns() {
        let r = rules(&[], None);
        for path in [
            ".gitignore",
            ".git/config",
            "logo.png",
            "docs/a.jpeg",
            "dist/chart.tar.gz",
            ".github/workflows/ci.yaml",
            "sub/.github/x",
            ".gitlab-ci.yml",
            "deep/dir/.sops.yaml",
            "cloudbuild.yaml",
        ] {
            assert!(excluded(&r, path), "{path}");
        }
        for path in ["chart/values.yaml", "README.md", "a.tar", "logo.svg"] {
            assert!(!excluded(&r, path), "{path}");
        }
    }

    #[test]
    fn own_patterns_replace_the_defaults_but_not_vcs() {
        let r = rules(&[], Some("# docs\n/**/*.md\n"));
        assert!(excluded(&r, "README.md"));
        assert!(excluded(&r, "chart/docs/x.md"));
        assert!(!excluded(&r, "logo.png"));
        assert!(!excluded(&r, ".github/workflows/ci.yaml"));
        assert!(excluded(&r, ".gitmodules"));
        assert!(excluded(&r, ".git/HEAD"));
    }

    #[test]
    fn empty_spec_ignore_keeps_the_defaults() {
        let r = rules(&[], Some("# only a comment\n\n"));
        assert!(excluded(&r, "logo.png"));
    }

    #[test]
    fn a_sourceignore_also_replaces_the_defaults() {
        let r = rules(&[("", "*.txt\n")], None);
        assert!(excluded(&r, "notes.txt"));
        assert!(!excluded(&r, "logo.png"));
    }

    #[test]
    fn nested_sourceignore_is_scoped_to_its_directory() {
        let r = rules(&[("charts/a", "/values-*.yaml\nsecret\n")], None);
        assert!(excluded(&r, "charts/a/values-dev.yaml"));
        assert!(excluded(&r, "charts/a/x/secret"));
        assert!(!excluded(&r, "charts/a/x/values-dev.yaml"));
        assert!(!excluded(&r, "charts/b/values-dev.yaml"));
        assert!(!excluded(&r, "secret"));
    }

    #[test]
    fn later_rules_win_and_negation_brings_files_back() {
        let r = rules(&[("", "*.yaml\n")], Some("!keep.yaml\n"));
        assert!(excluded(&r, "drop.yaml"));
        assert!(!excluded(&r, "keep.yaml"));
        let r = rules(&[], Some("docs/\n!docs/keep.md\n"));
        assert!(rules_exclude_dir(&r, "docs"));
        assert!(excluded(&r, "docs/a.md"));
        assert!(!excluded(&r, "docs/keep.md"));
    }

    fn rules_exclude_dir(rules: &Rules, path: &str) -> bool {
        rules.excludes(Path::new(path), true)
    }

    #[test]
    fn directory_patterns_match_directories_and_their_files_only() {
        let r = rules(&[], Some("build/\n"));
        assert!(rules_exclude_dir(&r, "build"));
        assert!(excluded(&r, "build/out.yaml"));
        assert!(!excluded(&r, "build"));
    }

    #[test]
    fn bad_patterns_are_reported_with_their_line() {
        let files = vec![(PathBuf::from("a"), "ok\n{unclosed\n".to_string())];
        let Err(e) = Rules::new(&files, None) else {
            panic!("accepted an invalid glob");
        };
        assert_eq!((e.file.as_str(), e.line), ("a/.sourceignore", 2));
        assert_eq!(e.pattern, "{unclosed");
    }

    #[test]
    fn the_artifact_keeps_only_what_the_rules_keep() {
        let dir = std::env::temp_dir().join(format!("crunch-artifact-{}", std::process::id()));
        let source = dir.join("tree");
        let write_file = |path: &str, text: &str| {
            let path = source.join(path);
            fs::create_dir_all(path.parent().unwrap_or(&source))
                .and_then(|()| fs::write(path, text))
        };
        let setup = write_file("chart/Chart.yaml", "name: x\n")
            .and_then(|()| write_file("chart/README.md", "doc\n"))
            .and_then(|()| write_file("chart/files/.sourceignore", "*.json\n"))
            .and_then(|()| write_file("chart/files/a.json", "{}\n"))
            .and_then(|()| write_file("chart/files/b.yaml", "b: 1\n"))
            .and_then(|()| write_file("docs/only.md", "doc\n"));
        assert!(setup.is_ok(), "{setup:?}");
        let found = ignore_files(&source);
        assert!(found.is_ok(), "{found:?}");
        let found = found.unwrap_or_default();
        assert_eq!(
            found,
            vec![(PathBuf::from("chart/files"), "*.json\n".to_string())]
        );
        let r = match Rules::new(&found, Some("/**/*.md\n")) {
            Ok(r) => r,
            Err(e) => panic!("{e:?}"),
        };
        let dest = dir.join("artifact");
        let written = write(&source, &r, &dest);
        assert!(written.is_ok(), "{written:?}");
        assert!(dest.join("chart/Chart.yaml").is_file());
        assert!(dest.join("chart/files/b.yaml").is_file());
        assert!(dest.join("chart/files/.sourceignore").is_file());
        assert!(!dest.join("chart/files/a.json").exists());
        assert!(!dest.join("chart/README.md").exists());
        // The directory itself is not excluded, only its file.
        assert!(dest.join("docs").is_dir());
        assert!(!dest.join("docs/only.md").exists());
        let _ = fs::remove_dir_all(&dir);
    }
}

//! `.helmignore` rules as Helm applies them when loading a chart directory.

use super::glob::Glob;

/// How a rule's pattern is compared with a path.
#[derive(Debug)]
enum Anchor {
    /// Pattern with a leading `/`: the whole relative path.
    Root,
    /// Pattern containing `/`: the whole relative path.
    Path,
    /// Pattern without `/`: the last path element.
    Base,
}

#[derive(Debug)]
struct Rule {
    glob: Glob,
    anchor: Anchor,
    negated: bool,
    dirs_only: bool,
}

/// A parsed `.helmignore` plus Helm's default rule (`templates/.?*`).
#[derive(Debug, Default)]
pub(crate) struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// Parses `.helmignore` text. Errors are Helm's (`double-star (**) syntax is not
    /// supported`, `syntax error in pattern`).
    pub(crate) fn parse(text: &str) -> Result<Rules, String> {
        let mut rules = Rules::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for line in text.lines() {
            rules.add(line)?;
        }
        Ok(rules)
    }

    /// Adds the rule Helm always appends: hidden files under `templates/`.
    pub(crate) fn add_defaults(&mut self) -> Result<(), String> {
        self.add("templates/.?*")
    }

    fn add(&mut self, line: &str) -> Result<(), String> {
        let rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        Glob::go_filepath(rule)?;
        let (negated, rule) = match rule.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, rule),
        };
        let (dirs_only, rule) = match rule.strip_suffix('/') {
            Some(rest) => (true, rest),
            None => (false, rule),
        };
        let (anchor, rule) = if let Some(rest) = rule.strip_prefix('/') {
            (Anchor::Root, rest)
        } else if rule.contains('/') {
            (Anchor::Path, rule)
        } else {
            (Anchor::Base, rule)
        };
        self.rules.push(Rule {
            glob: Glob::go_filepath(rule)?,
            anchor,
            negated,
            dirs_only,
        });
        Ok(())
    }

    /// True if the chart-relative `path` (slash separated) is ignored.
    ///
    /// A negated rule (`!x`) ignores everything it does *not* match, as Helm's
    /// implementation does, rather than re-including what it matches.
    pub(crate) fn ignores(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for rule in &self.rules {
            let subject = match rule.anchor {
                Anchor::Root | Anchor::Path => path,
                Anchor::Base => path.rsplit('/').next().unwrap_or(path),
            };
            if rule.negated {
                if (rule.dirs_only && !is_dir) || !rule.glob.matches(subject) {
                    return true;
                }
                continue;
            }
            if rule.dirs_only && !is_dir {
                continue;
            }
            if rule.glob.matches(subject) {
                return true;
            }
        }
        false
    }
}

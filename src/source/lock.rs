//! `crunch.lock`: which commit (and tree) every requested git source resolved to.
//!
//! The file is YAML, but a fixed, line-oriented subset that crunch writes and reads
//! itself, so that it stays byte-stable and easy to review:
//!
//! ```text
//! # crunch.lock: pinned git sources. Written by crunch; review changes like code.
//! version: 1
//! git:
//!   - url: "https://repo1.dso.mil/big-bang/bigbang.git"
//!     ref: "tag=2.3.0"
//!     commit: "<40 hex digits>"
//!     tree: "<40 hex digits>"
//! ```
//!
//! Entries are sorted by URL, then by reference key; URL and reference are JSON-quoted
//! strings (valid YAML) so that any character survives.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::Error;
use super::reference::{Reference, is_full_commit_id};

/// The commit and tree a (url, reference) pair resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The commit id (40 lowercase hex digits).
    pub commit: String,
    /// The id of the commit's root tree (40 lowercase hex digits).
    pub tree: String,
}

/// All pins, keyed by (requested URL, [`Reference::lock_key`]) and kept sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lock {
    git: BTreeMap<(String, String), Pin>,
}

const HEADER: &str =
    "# crunch.lock: pinned git sources. Written by crunch; review changes like code.";
const VERSION_LINE: &str = "version: 1";

impl Lock {
    /// Reads a lock file; a file that does not exist reads as an empty lock.
    pub fn load(path: &Path) -> Result<Lock, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => Lock::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock::default()),
            Err(source) => Err(Error::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the lock atomically: to a temporary file beside `path`, then renamed.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "crunch.lock".into());
        let temp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
        std::fs::write(&temp, self.render()).map_err(io)?;
        std::fs::rename(&temp, path).map_err(|e| {
            // Best effort: do not leave the temporary file behind; the rename error is
            // the one worth reporting.
            let _ = std::fs::remove_file(&temp);
            io(e)
        })
    }

    /// The pin recorded for `url` at `reference`, if any.
    pub fn get(&self, url: &str, reference: &Reference) -> Option<&Pin> {
        self.git.get(&(url.to_string(), reference.lock_key()))
    }

    /// Records (or replaces) the pin for `url` at `reference`.
    pub fn record(&mut self, url: &str, reference: &Reference, pin: Pin) {
        self.git
            .insert((url.to_string(), reference.lock_key()), pin);
    }

    /// Adds every entry of `other`, whose pins replace this lock's on conflict. The
    /// result does not depend on the order in which entries were recorded.
    pub fn merge(&mut self, other: &Lock) {
        for (key, pin) in &other.git {
            self.git.insert(key.clone(), pin.clone());
        }
    }

    /// Every entry as (url, reference, pin), sorted by URL then reference key.
    pub fn entries(&self) -> impl Iterator<Item = (&str, Reference, &Pin)> {
        self.git.iter().filter_map(|((url, key), pin)| {
            Reference::from_lock_key(key).map(|r| (url.as_str(), r, pin))
        })
    }

    /// The file's text: deterministic for equal locks.
    pub fn render(&self) -> String {
        let mut out = format!("{HEADER}\n{VERSION_LINE}\n");
        if self.git.is_empty() {
            out.push_str("git: []\n");
            return out;
        }
        out.push_str("git:\n");
        for ((url, key), pin) in &self.git {
            out.push_str(&format!(
                "  - url: {}\n    ref: {}\n    commit: \"{}\"\n    tree: \"{}\"\n",
                quote(url),
                quote(key),
                pin.commit,
                pin.tree
            ));
        }
        out
    }

    fn parse(text: &str, path: &Path) -> Result<Lock, Error> {
        let syntax = |line: usize, message: String| Error::LockSyntax {
            path: path.to_path_buf(),
            line,
            message,
        };
        let last = text.lines().count();
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        let mut expect = |wanted: &str| match lines.next() {
            Some((_, line)) if line.trim_end() == wanted => Ok(()),
            Some((n, line)) => Err(syntax(n, format!("expected `{wanted}`, found `{line}`"))),
            None => Err(syntax(last, format!("ends before `{wanted}`"))),
        };
        expect(VERSION_LINE)?;
        let mut lock = Lock::default();
        match lines.next() {
            None => return Ok(lock),
            Some((_, "git: []")) => return trailing(lines.next(), &syntax).map(|()| lock),
            Some((_, "git:")) => {}
            Some((n, line)) => return Err(syntax(n, format!("expected `git:`, found `{line}`"))),
        }
        let mut lines = lines.peekable();
        while lines.peek().is_some() {
            let mut field = |name: &str, lead: &str| -> Result<(usize, String), Error> {
                let (n, line) = lines
                    .next()
                    .ok_or_else(|| syntax(last, format!("entry ends before `{name}`")))?;
                let value = line
                    .strip_prefix(lead)
                    .and_then(|rest| rest.strip_prefix(name))
                    .and_then(|rest| rest.strip_prefix(": "))
                    .ok_or_else(|| {
                        syntax(n, format!("expected `{lead}{name}: ...`, found `{line}`"))
                    })?;
                let value = serde_json::from_str::<String>(value)
                    .map_err(|e| syntax(n, format!("`{name}` is not a quoted string: {e}")))?;
                Ok((n, value))
            };
            let (_, url) = field("url", "  - ")?;
            let (n, key) = field("ref", "    ")?;
            let reference = Reference::from_lock_key(&key)
                .ok_or_else(|| syntax(n, format!("unknown reference `{key}`")))?;
            let (n, commit) = field("commit", "    ")?;
            let (m, tree) = field("tree", "    ")?;
            for (line, id) in [(n, &commit), (m, &tree)] {
                if !is_full_commit_id(id) || id.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(syntax(
                        line,
                        format!("`{id}` is not a 40-digit lowercase hex id"),
                    ));
                }
            }
            lock.record(&url, &reference, Pin { commit, tree });
        }
        Ok(lock)
    }
}

fn trailing(
    next: Option<(usize, &str)>,
    syntax: &impl Fn(usize, String) -> Error,
) -> Result<(), Error> {
    match next {
        None => Ok(()),
        Some((n, line)) => Err(syntax(n, format!("unexpected `{line}` after `git: []`"))),
    }
}

fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(c: char, t: char) -> Pin {
        Pin {
            commit: c.to_string().repeat(40),
            tree: t.to_string().repeat(40),
        }
    }

    #[test]
    fn render_parse_round_trip_sorted() {
        let mut lock = Lock::default();
        lock.record(
            "https://b/x.git",
            &Reference::Tag("v1".into()),
            pin('a', 'b'),
        );
        lock.record(
            "https://a/\"q\".git",
            &Reference::Semver(">=1 <2".into()),
            pin('c', 'd'),
        );
        let text = lock.render();
        assert!(text.find("https://a/").unwrap() < text.find("https://b/").unwrap());
        let back = Lock::parse(&text, Path::new("crunch.lock")).unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.render(), text);
        let empty = Lock::default().render();
        assert_eq!(
            Lock::parse(&empty, Path::new("l")).unwrap(),
            Lock::default()
        );
    }

    #[test]
    fn merge_is_order_independent() {
        let mut one = Lock::default();
        one.record("u1", &Reference::Branch("main".into()), pin('1', '2'));
        let mut two = Lock::default();
        two.record("u2", &Reference::Branch("main".into()), pin('3', '4'));
        let mut a = one.clone();
        a.merge(&two);
        let mut b = two.clone();
        b.merge(&one);
        assert_eq!(a, b);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let text = "version: 1\ngit:\n  - url: \"u\"\n    ref: \"tag=x\"\n    commit: \"zz\"\n    tree: \"aa\"\n";
        let err = Lock::parse(text, Path::new("crunch.lock")).unwrap_err();
        assert!(err.to_string().starts_with("crunch.lock:5:"), "{err}");
        let err = Lock::parse("version: 2\n", Path::new("crunch.lock")).unwrap_err();
        assert!(err.to_string().starts_with("crunch.lock:1:"), "{err}");
    }
}

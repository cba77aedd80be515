//! The two trees a copy operation touches, reached as source-watcher reaches them through
//! Go's `os.Root`: a source, read (paths cleaned lexically, never above its root), and the
//! artifact being staged, written (the same containment).
//!
//! Symlinks are refused wherever a source has one on the way: a Flux artifact holds only
//! regular files and directories (source-controller's archiver leaves everything else
//! out), so a symlink means the tree is not an artifact. The staged tree never gets one.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What a path names, symlinks not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

impl Kind {
    fn of(file_type: fs::FileType) -> Kind {
        if file_type.is_symlink() {
            Kind::Symlink
        } else if file_type.is_dir() {
            Kind::Dir
        } else if file_type.is_file() {
            Kind::File
        } else {
            Kind::Other
        }
    }
}

/// A directory entry: its name as the file system spells it, and what it is.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) name: Vec<u8>,
    pub(super) kind: Kind,
}

impl Entry {
    /// The name as text; crunch's paths are strings, so a name that is not UTF-8 is
    /// refused once something would use it.
    pub(super) fn utf8_name(&self) -> Result<&str, String> {
        std::str::from_utf8(&self.name).map_err(|_| {
            format!(
                "file name {:?} is not UTF-8, which crunch cannot carry into an artifact",
                String::from_utf8_lossy(&self.name)
            )
        })
    }
}

/// Why a glob found nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GlobError {
    /// The pattern is malformed (Go's and doublestar's `ErrBadPattern`).
    BadPattern,
    /// The glob met what crunch refuses (a symlink, a name that is not UTF-8).
    Refused(String),
}

impl std::fmt::Display for GlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GlobError::BadPattern => f.write_str("syntax error in pattern"),
            GlobError::Refused(message) => f.write_str(message),
        }
    }
}

/// A tree as `io/fs` shows it to the globs: paths are `fs.ValidPath`s (`.` or
/// slash-separated names, none empty, `.` or `..`); anything else names nothing.
pub(super) trait GlobFs {
    /// The entries of a directory by name, or `None` when it cannot be read.
    fn read_dir(&self, dir: &str) -> Result<Option<Vec<Entry>>, GlobError>;
    /// What a path names, or `None`.
    fn stat(&self, path: &str) -> Result<Option<Kind>, GlobError>;
    /// The message refusing the symlink at `path`.
    fn symlink_refusal(&self, path: &str) -> String;
}

/// A source's files, under the alias copy operations name it by.
pub(super) struct Source<'a> {
    alias: &'a str,
    root: PathBuf,
}

/// Why a path of a source cannot be used.
pub(super) enum Lookup {
    /// Nothing there.
    Missing,
    /// The path climbs above the root or is absolute (`os.Root`'s escape).
    Escapes,
    /// A symlink on the way, refused with this message.
    Symlink(String),
    /// Another failure, in Go's words (`not a directory`, `permission denied`).
    Failed(String),
}

impl<'a> Source<'a> {
    /// Opens the source's root (`os.OpenRoot`).
    pub(super) fn open(alias: &'a str, root: PathBuf) -> Result<Self, String> {
        match fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => Ok(Source { alias, root }),
            Ok(_) => Err(format!(
                "failed to open source root '{}': open {}: not a directory",
                root.display(),
                root.display()
            )),
            Err(e) => Err(format!(
                "failed to open source root '{}': open {}: {}",
                root.display(),
                root.display(),
                go_error_text(&e)
            )),
        }
    }

    /// The absolute path of a relative one already looked up.
    pub(super) fn path(&self, rel: &str) -> PathBuf {
        join_parts(&self.root, rel.split('/'))
    }

    /// What a cleaned relative path names, as `os.Root.Stat` finds it: each directory on
    /// the way checked, `..` taken lexically (never above the root), symlinks refused.
    pub(super) fn lookup(&self, rel: &str) -> Result<Kind, Lookup> {
        let parts = inside(rel).ok_or(Lookup::Escapes)?;
        let mut path = self.root.clone();
        let mut shown = String::new();
        for (i, part) in parts.iter().enumerate() {
            path.push(part);
            if !shown.is_empty() {
                shown.push('/');
            }
            shown.push_str(part);
            let kind = match fs::symlink_metadata(&path) {
                Ok(meta) => Kind::of(meta.file_type()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Lookup::Missing),
                Err(e) => return Err(Lookup::Failed(go_error_text(&e))),
            };
            match kind {
                Kind::Symlink => return Err(Lookup::Symlink(self.symlink_refusal(&shown))),
                Kind::Dir => {}
                _ if i + 1 < parts.len() => {
                    return Err(Lookup::Failed("not a directory".to_string()));
                }
                _ => {}
            }
            if i + 1 == parts.len() {
                return Ok(kind);
            }
        }
        Ok(Kind::Dir)
    }

    /// The entries of a directory the caller looked up, by name (`os.ReadDir`'s order).
    pub(super) fn entries(&self, rel: &str) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(self.path(rel))? {
            let entry = entry?;
            entries.push(Entry {
                name: entry.file_name().as_bytes().to_vec(),
                kind: Kind::of(entry.file_type()?),
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// The alias, for messages.
    pub(super) fn alias(&self) -> &str {
        self.alias
    }
}

impl GlobFs for Source<'_> {
    fn read_dir(&self, dir: &str) -> Result<Option<Vec<Entry>>, GlobError> {
        if !is_valid_fs_path(dir) {
            return Ok(None);
        }
        match self.lookup(dir) {
            Ok(Kind::Dir) => Ok(self.entries(dir).ok()),
            Ok(_) | Err(Lookup::Missing | Lookup::Escapes | Lookup::Failed(_)) => Ok(None),
            Err(Lookup::Symlink(message)) => Err(GlobError::Refused(message)),
        }
    }

    fn stat(&self, path: &str) -> Result<Option<Kind>, GlobError> {
        if !is_valid_fs_path(path) {
            return Ok(None);
        }
        match self.lookup(path) {
            Ok(kind) => Ok(Some(kind)),
            Err(Lookup::Missing | Lookup::Escapes | Lookup::Failed(_)) => Ok(None),
            Err(Lookup::Symlink(message)) => Err(GlobError::Refused(message)),
        }
    }

    fn symlink_refusal(&self, path: &str) -> String {
        format!(
            "'{path}' in source '{}' is a symlink: a Flux artifact holds only regular files and directories, so crunch does not follow it",
            self.alias
        )
    }
}

/// The artifact being staged: the directory `build` writes, nothing outside it.
pub(super) struct Staging<'a> {
    root: &'a Path,
}

impl<'a> Staging<'a> {
    pub(super) fn new(root: &'a Path) -> Self {
        Staging { root }
    }

    /// The staged file a relative path names, as `os.Root` resolves it for the operation
    /// `op` (`openat`, `mkdirat`): `..` lexically, and an error where it would leave the
    /// root.
    pub(super) fn path(&self, op: &str, rel: &str) -> Result<PathBuf, String> {
        match inside(rel) {
            Some(parts) => Ok(join_parts(self.root, parts)),
            None => Err(format!("{op} {rel}: path escapes from parent")),
        }
    }

    /// `filepath.Join(stagingDir, rel)`: a leading `/` stays inside, `..` that would leave
    /// is refused (source-watcher's Extract joins without `os.Root`).
    pub(super) fn joined(&self, rel: &str) -> Option<PathBuf> {
        inside(rel.trim_start_matches('/')).map(|parts| join_parts(self.root, parts))
    }

    /// What a relative path names, if anything (`os.Root.Stat` without its error).
    pub(super) fn kind(&self, rel: &str) -> Option<Kind> {
        let path = self.path("statat", rel).ok()?;
        fs::symlink_metadata(path)
            .ok()
            .map(|meta| Kind::of(meta.file_type()))
    }

    /// source-watcher's `createDirRecursive`: the directory is made, or was there (even as
    /// a file: the write that follows fails then), or else its parent is made first and
    /// the directory tried again; the error is the first that has no parent left to try.
    pub(super) fn create_dir_recursive(&self, rel: &str) -> Result<(), String> {
        if rel.is_empty() || rel == "." {
            return Ok(());
        }
        if let Err(e) = self.mkdir(rel) {
            let parent = go_dir(rel);
            if parent == rel {
                return Err(e);
            }
            self.create_dir_recursive(&parent)?;
            return self.mkdir(rel);
        }
        Ok(())
    }

    /// `os.Root.Mkdir`, a directory already there (of any kind) counting as made.
    fn mkdir(&self, rel: &str) -> Result<(), String> {
        match fs::create_dir(self.path("mkdirat", rel)?) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(go_error("mkdirat", rel, &e)),
            _ => Ok(()),
        }
    }
}

/// The names a relative path leads to from its root, `.` and empty parts dropped and `..`
/// taken back; `None` for an absolute path or one that climbs above the root.
fn inside(rel: &str) -> Option<Vec<&str>> {
    if rel.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            name => parts.push(name),
        }
    }
    Some(parts)
}

fn join_parts<'p>(root: &Path, parts: impl IntoIterator<Item = &'p str>) -> PathBuf {
    let mut path = root.to_path_buf();
    for part in parts {
        if !part.is_empty() && part != "." {
            path.push(part);
        }
    }
    path
}

/// `fs.ValidPath`: `.`, or names joined by single slashes, none `.`, `..` or empty.
fn is_valid_fs_path(path: &str) -> bool {
    path == "." || path.split('/').all(|part| !matches!(part, "" | "." | ".."))
}

/// Go's `path.Base`.
pub(super) fn go_base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Go's `path.Dir`: everything before the last element, cleaned.
pub(super) fn go_dir(path: &str) -> String {
    let dir = match path.rfind('/') {
        Some(at) => &path[..=at],
        None => "",
    };
    crate::gostd::path::clean(dir)
}

/// An I/O error as Go's `*PathError` prints it: `op path: text`.
pub(super) fn go_error(op: &str, path: &str, e: &io::Error) -> String {
    format!("{op} {path}: {}", go_error_text(e))
}

/// The text Go's `syscall.Errno` gives the common errors (lower case, no code).
pub(super) fn go_error_text(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::AlreadyExists => "file exists".into(),
        io::ErrorKind::IsADirectory => "is a directory".into(),
        io::ErrorKind::NotADirectory => "not a directory".into(),
        io::ErrorKind::DirectoryNotEmpty => "directory not empty".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        assert_eq!(inside("a/./b//c"), Some(vec!["a", "b", "c"]));
        assert_eq!(inside("a/../b"), Some(vec!["b"]));
        assert_eq!(inside(""), Some(vec![]));
        assert_eq!(inside(".."), None);
        assert_eq!(inside("a/../../b"), None);
        assert_eq!(inside("/etc"), None);
    }

    #[test]
    fn fs_valid_paths() {
        assert!(is_valid_fs_path("."));
        assert!(is_valid_fs_path("a/b"));
        assert!(!is_valid_fs_path(""));
        assert!(!is_valid_fs_path("a/"));
        assert!(!is_valid_fs_path("/a"));
        assert!(!is_valid_fs_path("a/./b"));
        assert!(!is_valid_fs_path("../a"));
    }

    #[test]
    fn go_base_and_dir() {
        assert_eq!(go_base("a/b.yaml"), "b.yaml");
        assert_eq!(go_base("a/b/"), "b");
        assert_eq!(go_base("."), ".");
        assert_eq!(go_base(""), ".");
        assert_eq!(go_dir("a/b/c"), "a/b");
        assert_eq!(go_dir("c"), ".");
        assert_eq!(go_dir("a//b"), "a");
    }

    #[test]
    fn lookups_refuse_symlinks_and_escapes() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("dir")).unwrap();
        fs::write(tmp.path().join("dir/file"), "x").unwrap();
        std::os::unix::fs::symlink("dir", tmp.path().join("link")).unwrap();
        let source = Source::open("src", tmp.path().to_path_buf()).unwrap();
        assert_eq!(source.lookup("dir/file").ok(), Some(Kind::File));
        assert_eq!(source.lookup(".").ok(), Some(Kind::Dir));
        assert!(matches!(source.lookup("dir/nope"), Err(Lookup::Missing)));
        assert!(
            matches!(source.lookup("dir/file/x"), Err(Lookup::Failed(m)) if m == "not a directory")
        );
        assert!(matches!(source.lookup("../x"), Err(Lookup::Escapes)));
        assert!(
            matches!(source.lookup("link/file"), Err(Lookup::Symlink(m)) if m.contains("'link' in source 'src' is a symlink"))
        );
        assert!(source.read_dir("dir/").unwrap().is_none());
        assert_eq!(source.read_dir("dir").unwrap().map(|e| e.len()), Some(1));
        assert!(source.read_dir("link").is_err());
    }
}

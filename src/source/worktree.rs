//! The repository being built, as a source: a GitRepository whose URL names it is read
//! from the working tree, uncommitted changes included, so that a build of a pull
//! request shows the pull request.
//!
//! What the working tree holds is what `git add --all` would commit: the files the index
//! tracks that still exist, and the untracked files no `.gitignore` (or
//! `.git/info/exclude`) excludes, as they are on disk. Their git tree id is computed as
//! git would compute it, so a clean working tree is the tree of `HEAD`: it shares the
//! cache entry, the artifact and the bundle digest of a build that fetches the same
//! commit from the remote.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use gix::bstr::{BString, ByteSlice};
use gix::objs::WriteTo;
use gix::objs::tree::{Entry, EntryKind};

use super::remote::tempdir_beside;
use super::{Error, Origin, Reference, Tree};

/// The commit recorded for a working tree that is not a commit: git's null id, or
/// `HEAD`'s, followed by this.
const DIRTY: &str = "-dirty";
/// Git's null object id, the `HEAD` of a directory that is no repository (or has no
/// commit yet).
const NULL_ID: &str = "0000000000000000000000000000000000000000";

/// The repository a build runs in.
#[derive(Debug)]
pub struct WorkingTree {
    /// Its top directory.
    root: PathBuf,
    /// `HEAD`'s commit and tree, when there is one.
    head: Option<(String, String)>,
    /// Every URL that names it through a git remote, as [`repository_key`]s.
    names: Vec<String>,
    /// The configured URLs (`crunch.yaml`'s `local`), as [`repository_key`]s.
    configured: Vec<String>,
    /// The branches the working tree stands for: the one checked out and each remote's
    /// default branch; empty when neither is known (a detached `HEAD` and no
    /// `origin/HEAD`), then it stands for any branch.
    branches: Vec<String>,
    /// The snapshot, taken once, when a source first needs it.
    snapshot: OnceLock<Result<Snapshot, String>>,
}

/// The working tree's files and their git tree id.
#[derive(Debug, Clone)]
struct Snapshot {
    /// Paths relative to the root, `/`-separated, and what each is.
    files: BTreeMap<String, FileKind>,
    tree_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Regular,
    Executable,
    Symlink,
}

impl WorkingTree {
    /// The repository around `start` (a directory or a file in it): the enclosing git
    /// work tree, else `fallback_root` (a directory that is no repository: only
    /// `local_urls` name it). `local_urls` are URLs that also name it (`crunch.yaml`'s
    /// `local`).
    pub fn discover(
        start: &Path,
        fallback_root: &Path,
        local_urls: &[String],
    ) -> Result<WorkingTree, Error> {
        let configured: Vec<String> = local_urls.iter().map(|u| repository_key(u)).collect();
        let mut names = Vec::new();
        let mut branches = Vec::new();
        let repo = gix::discover(start).ok().filter(|r| r.workdir().is_some());
        let (root, head) = match &repo {
            Some(repo) => {
                let root = repo.workdir().unwrap_or(fallback_root).to_path_buf();
                if let Ok(Some(head)) = repo.head_name() {
                    branches.push(head.shorten().to_string());
                }
                for name in repo.remote_names() {
                    let default = format!("refs/remotes/{name}/HEAD");
                    if let Ok(Some(target)) = repo
                        .try_find_reference(default.as_str())
                        .map(|r| r.and_then(|r| r.target().try_name().map(|n| n.to_owned())))
                    {
                        let prefix = format!("refs/remotes/{name}/");
                        if let Some(branch) = target.as_bstr().to_str_lossy().strip_prefix(&prefix)
                        {
                            branches.push(branch.to_string());
                        }
                    }
                    let Ok(remote) = repo.find_remote(name.as_bstr()) else {
                        continue;
                    };
                    for direction in [gix::remote::Direction::Fetch, gix::remote::Direction::Push] {
                        if let Some(url) = remote.url(direction) {
                            names.push(repository_key(&url.to_bstring().to_str_lossy()));
                        }
                    }
                }
                let head = repo.head_commit().ok().and_then(|commit| {
                    let tree = commit.tree_id().ok()?;
                    Some((commit.id.to_string(), tree.to_string()))
                });
                (root, head)
            }
            None => (fallback_root.to_path_buf(), None),
        };
        let root = root.canonicalize().map_err(|source| Error::Io {
            path: root.clone(),
            source,
        })?;
        names.sort();
        names.dedup();
        branches.sort();
        branches.dedup();
        Ok(WorkingTree {
            root,
            head,
            names,
            configured,
            branches,
            snapshot: OnceLock::new(),
        })
    }

    /// Its top directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether a GitRepository of `url` at `reference` is this working tree: `url` is a
    /// configured one, or any spelling of one of its remotes (scheme, user, port, `.git`
    /// and the scp-like `host:path` form aside) and `reference` a branch the working tree
    /// stands for (checked out, or the remote's default: a pull request's branch stands
    /// for the branch it merges into). A tag, a commit or another branch of the same
    /// repository is fetched.
    pub fn stands_for(&self, url: &str, reference: &Reference) -> bool {
        let key = repository_key(url);
        if self.configured.contains(&key) {
            return true;
        }
        if !self.names.contains(&key) {
            return false;
        }
        let branch = match reference {
            Reference::Branch(branch) => branch.as_str(),
            Reference::Name(name) => match name.strip_prefix("refs/heads/") {
                Some(branch) => branch,
                None => return false,
            },
            _ => return false,
        };
        self.branches.is_empty() || self.branches.iter().any(|b| b == branch)
    }

    /// The working tree as a [`Tree`] in `cache` (`<cache>/trees/<tree id>/`), for a
    /// GitRepository of `url` at `reference` (recorded as requested; the files are what
    /// is checked out, whatever it asks for).
    pub fn tree(&self, cache: &Path, url: &str, reference: &Reference) -> Result<Tree, Error> {
        let snapshot = self
            .snapshot
            .get_or_init(|| snapshot(&self.root))
            .as_ref()
            .map_err(|message| Error::WorkingTree {
                root: self.root.clone(),
                message: message.clone(),
            })?;
        let dest = cache.join("trees").join(&snapshot.tree_id);
        if !dest.is_dir() {
            write(&self.root, snapshot, &dest).map_err(|source| Error::Io {
                path: dest.clone(),
                source,
            })?;
        }
        let commit = match &self.head {
            Some((commit, tree)) if *tree == snapshot.tree_id => commit.clone(),
            Some((commit, _)) => format!("{commit}{DIRTY}"),
            None => format!("{NULL_ID}{DIRTY}"),
        };
        Ok(Tree {
            root: dest,
            origin: Origin {
                url: url.to_string(),
                fetched_url: format!("file://{}", self.root.display()),
                reference: reference.clone(),
                commit,
                tree_id: snapshot.tree_id.clone(),
            },
        })
    }
}

impl WorkingTree {
    /// The raw commit object of `HEAD`, for a signature check of a clean working tree;
    /// refused for one with changes, which are no commit and carry no signature.
    pub fn head_commit_object(&self, tree: &Tree) -> Result<Vec<u8>, Error> {
        let fail = |message: String| Error::WorkingTree {
            root: self.root.clone(),
            message,
        };
        match &self.head {
            Some((commit, _)) if *commit == tree.origin.commit => {
                let repo = gix::open(&self.root).map_err(|e| fail(e.to_string()))?;
                super::store::read_commit(&repo, commit).map_err(fail)
            }
            _ => Err(fail(
                "it has changes that are not committed, so there is no signed commit to verify"
                    .into(),
            )),
        }
    }
}

/// What identifies a repository in a URL: the host (lower case, without user and port)
/// and the path (without leading and trailing `/` and a trailing `.git`). `ssh://git@host/a/b`,
/// `git@host:a/b.git` and `https://host/a/b` are one repository; a local path is itself.
pub fn repository_key(url: &str) -> String {
    let url = url.trim();
    let (authority, path) = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("file") => ("", rest),
        Some((_, rest)) => rest.split_once('/').unwrap_or((rest, "")),
        // scp-like `user@host:path`: a colon before the first slash.
        None => match url.split_once(':') {
            Some((host, path)) if !host.contains('/') && !host.is_empty() => (host, path),
            _ => ("", url),
        },
    };
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    format!("{}/{path}", host.to_ascii_lowercase())
}

/// The files of the working tree at `root` and their tree id.
fn snapshot(root: &Path) -> Result<Snapshot, String> {
    let mut files = BTreeMap::new();
    let mut gitlinks = BTreeMap::new();
    if let Ok(repo) = gix::open(root) {
        let index = repo.index_or_empty().map_err(|e| e.to_string())?;
        for entry in index.entries() {
            let path = entry.path(&index).to_str_lossy().into_owned();
            if entry.mode == gix::index::entry::Mode::COMMIT {
                gitlinks.insert(path, entry.id);
            } else if let Some(kind) = kind_on_disk(&root.join(&path)) {
                files.insert(path, kind);
            }
        }
    }
    let walk = ignore::WalkBuilder::new(root)
        .hidden(false)
        .ignore(false)
        .parents(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();
    for entry in walk {
        let entry = entry.map_err(|e| e.to_string())?;
        let Ok(relative) = entry.path().strip_prefix(root) else {
            continue;
        };
        let path = relative.to_string_lossy().replace('\\', "/");
        if path.is_empty() || gitlinks.keys().any(|link| inside_dir(&path, link)) {
            continue;
        }
        if let Some(kind) = kind_on_disk(entry.path()) {
            files.entry(path).or_insert(kind);
        }
    }
    let mut blobs = BTreeMap::new();
    for (path, kind) in &files {
        let full = root.join(path);
        let content = match kind {
            FileKind::Symlink => std::fs::read_link(&full)
                .map(|target| target.as_os_str().as_encoded_bytes().to_vec()),
            _ => std::fs::read(&full),
        }
        .map_err(|e| format!("{path}: {e}"))?;
        let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, &content)
            .map_err(|e| e.to_string())?;
        let mode = match kind {
            FileKind::Regular => EntryKind::Blob,
            FileKind::Executable => EntryKind::BlobExecutable,
            FileKind::Symlink => EntryKind::Link,
        };
        blobs.insert(path.clone(), (mode, id));
    }
    for (path, id) in gitlinks {
        blobs.insert(path, (EntryKind::Commit, id));
    }
    let tree_id = tree_id("", &blobs)?.to_string();
    Ok(Snapshot { files, tree_id })
}

/// Whether `path` is `dir` or below it.
fn inside_dir(path: &str, dir: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// What is at `path` as git would store it; `None` for a directory or nothing.
fn kind_on_disk(path: &Path) -> Option<FileKind> {
    let metadata = std::fs::symlink_metadata(path).ok()?;
    if metadata.file_type().is_symlink() {
        return Some(FileKind::Symlink);
    }
    if !metadata.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o111 != 0 {
            return Some(FileKind::Executable);
        }
    }
    Some(FileKind::Regular)
}

/// The git tree id of the directory `prefix` (`""` for the root, else ending in `/`)
/// holding `blobs` (full paths), as git hashes trees: entries in git's name order,
/// subtrees hashed first.
fn tree_id(
    prefix: &str,
    blobs: &BTreeMap<String, (EntryKind, gix::ObjectId)>,
) -> Result<gix::ObjectId, String> {
    let mut entries = Vec::new();
    let mut subdirs: Vec<&str> = Vec::new();
    for (path, (mode, id)) in blobs.range(prefix.to_string()..) {
        let Some(rest) = path.strip_prefix(prefix) else {
            break;
        };
        match rest.split_once('/') {
            Some((dir, _)) => {
                if subdirs.last() != Some(&dir) {
                    subdirs.push(dir);
                }
            }
            None => entries.push(Entry {
                mode: (*mode).into(),
                filename: BString::from(rest),
                oid: *id,
            }),
        }
    }
    subdirs.dedup();
    for dir in subdirs {
        let oid = tree_id(&format!("{prefix}{dir}/"), blobs)?;
        entries.push(Entry {
            mode: EntryKind::Tree.into(),
            filename: BString::from(dir),
            oid,
        });
    }
    entries.sort();
    let tree = gix::objs::Tree { entries };
    let mut bytes = Vec::new();
    tree.write_to(&mut bytes).map_err(|e| e.to_string())?;
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Tree, &bytes)
        .map_err(|e| e.to_string())
}

/// Copies the snapshot's files into `dest` through a temporary directory. Symlinks are
/// kept when they point inside the tree (as a checkout keeps them) and refused otherwise.
fn write(root: &Path, snapshot: &Snapshot, dest: &Path) -> std::io::Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let temp = tempdir_beside(dest);
    let result = (|| {
        for (path, kind) in &snapshot.files {
            let from = root.join(path);
            let to = temp.join(path);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            match kind {
                FileKind::Symlink => {
                    let target = std::fs::read_link(&from)?;
                    if !stays_inside(path, &target) {
                        return Err(std::io::Error::other(format!(
                            "symlink {path} points to {}, outside the repository",
                            target.display()
                        )));
                    }
                    #[cfg(unix)]
                    std::os::unix::fs::symlink(&target, &to)?;
                }
                _ => {
                    std::fs::copy(&from, &to)?;
                }
            }
        }
        std::fs::create_dir_all(&temp)?;
        match std::fs::rename(&temp, dest) {
            // Another build may have written the same tree first.
            Err(_) if dest.is_dir() => std::fs::remove_dir_all(&temp),
            other => other,
        }
    })();
    if result.is_err() {
        // Best effort: the error that stopped the copy matters more.
        let _ = std::fs::remove_dir_all(&temp);
    }
    result
}

/// Whether the symlink at `path` (relative to the root) with `target` resolves inside the
/// root, read lexically.
pub(super) fn stays_inside(path: &str, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth = path.matches('/').count() as isize;
    for part in target.components() {
        match part {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_remote_is_one_repository() {
        let key = repository_key("https://github.com/org/fleet");
        for url in [
            "ssh://git@github.com/org/fleet",
            "ssh://git@github.com:22/org/fleet.git",
            "git@github.com:org/fleet.git",
            "https://user:token@GitHub.com/org/fleet.git/",
            "http://github.com:80/org/fleet",
        ] {
            assert_eq!(repository_key(url), key, "{url}");
        }
        assert_ne!(repository_key("https://github.com/org/other"), key);
        assert_ne!(repository_key("https://gitlab.com/org/fleet"), key);
        assert_eq!(repository_key("/srv/git/fleet.git"), "/srv/git/fleet");
        assert_eq!(repository_key("file:///srv/git/fleet"), "/srv/git/fleet");
    }

    #[test]
    fn symlinks_stay_inside_or_are_refused() {
        assert!(stays_inside("a/link", Path::new("../b")));
        assert!(!stays_inside("a/link", Path::new("../../b")));
        assert!(!stays_inside("link", Path::new("/etc/passwd")));
    }
}

//! What source-controller does to a checkout between cloning and archiving: keep only
//! the directories of a sparse checkout (go-git's), place the submodules a recursive clone
//! checks out, and move the artifacts of included GitRepositories in
//! (`reconcileInclude`). The result is a staging directory that the artifact rules then
//! filter as they filter a plain checkout.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::Tree;

/// One `spec.include` entry, with the artifact of the GitRepository it names.
#[derive(Debug, Clone, Copy)]
pub struct Include<'a> {
    /// The included GitRepository's name.
    pub name: &'a str,
    /// Its artifact.
    pub artifact: &'a Tree,
    /// `fromPath`: what of the artifact is copied; empty for all of it.
    pub from_path: &'a str,
    /// `toPath`: where it lands; empty for the included GitRepository's name.
    pub to_path: &'a str,
}

impl Include<'_> {
    /// `toPath`, defaulting to the included GitRepository's name as the API's
    /// `GetToPath` does.
    fn destination(&self) -> &str {
        if self.to_path.is_empty() {
            self.name
        } else {
            self.to_path
        }
    }
}

/// How a GitRepository's artifact is made from its checkout.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArtifactRecipe<'a> {
    /// `spec.ignore`: extra exclusions (gitignore syntax).
    pub ignore: Option<&'a str>,
    /// `spec.sparseCheckout`: the directories checked out; empty for all.
    pub sparse_checkout: &'a [String],
    /// `spec.include`, in order.
    pub includes: &'a [Include<'a>],
}

impl ArtifactRecipe<'_> {
    /// Whether the checkout must be staged (filtered or added to) before archiving.
    pub(crate) fn stages(&self) -> bool {
        !self.sparse_checkout.is_empty() || !self.includes.is_empty()
    }

    /// What names the recipe in an artifact's cache key: every field, the included
    /// artifacts by their directory names (digests of their content).
    pub(crate) fn key(&self) -> String {
        let mut key = match self.ignore {
            Some(text) => format!("ignore\0{text}"),
            None => "default".to_string(),
        };
        for dir in self.sparse_checkout {
            key.push_str(&format!("\0sparse\0{dir}"));
        }
        for include in self.includes {
            key.push_str(&format!(
                "\0include\0{}\0{}\0{}\0{}",
                include.name,
                content_name(include.artifact),
                include.from_path,
                include.to_path
            ));
        }
        key
    }
}

/// The name of a tree's directory, which names its content: every directory the store
/// hands out is named by a digest of what it holds (a git tree id, an artifact key).
pub(crate) fn content_name(tree: &Tree) -> String {
    tree.root
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Why a checkout cannot become an artifact, in source-controller's words.
#[derive(Debug)]
pub(crate) enum StageError {
    /// The file system failed.
    Io(PathBuf, io::Error),
    /// Source-controller would refuse it too.
    Refused(String),
}

/// Writes into `dest` (which must not exist) what source-controller archives for a
/// checkout at `checkout` (a recursive clone's, submodules placed): the files a sparse
/// checkout keeps, then each include moved in, in order.
pub(crate) fn stage(
    checkout: &Path,
    recipe: &ArtifactRecipe,
    dest: &Path,
) -> Result<(), StageError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| StageError::Io(path, e)
    };
    fs::create_dir(dest).map_err(io(dest))?;
    // source-controller trims a leading `./`, which go-git does not honour.
    let dirs: Vec<&str> = recipe
        .sparse_checkout
        .iter()
        .map(|dir| dir.strip_prefix("./").unwrap_or(dir))
        .collect();
    copy_tree(checkout, Path::new(""), dest, &|path| {
        sparse_keeps(&dirs, path)
    })
    .map_err(io(checkout))?;
    for dir in recipe.sparse_checkout {
        // validateSparseCheckoutPaths: every directory must exist once checked out.
        if fs::symlink_metadata(secure_join(dest, dir)).is_err() {
            return Err(StageError::Refused(format!(
                "failed to sparse checkout directories : sparse checkout dir '{dir}' does not exist in repository"
            )));
        }
    }
    for include in recipe.includes {
        move_in(include, dest)?;
    }
    Ok(())
}

/// Whether go-git's sparse checkout of `dirs` checks out the file at `path` (relative,
/// `/`-separated): `Index.SkipUnless` keeps the entries whose path *starts with* one of
/// the directories, as a string, so `apps` also keeps `apps.yaml` and `apps-old/x`.
pub(crate) fn sparse_keeps(dirs: &[&str], path: &str) -> bool {
    dirs.is_empty() || dirs.iter().any(|dir| path.starts_with(dir))
}

/// `path` joined under `root` as `securejoin.SecureJoin` joins it when nothing on the
/// way is a symlink: `.` and empty parts dropped, `..` never climbing above `root`.
pub(crate) fn secure_join(root: &Path, path: &str) -> PathBuf {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for part in Path::new(path).components() {
        match part {
            Component::Normal(name) => parts.push(name),
            Component::ParentDir => {
                parts.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    parts
        .iter()
        .fold(root.to_path_buf(), |dir, part| dir.join(part))
}

/// Copies (hard-links: both sides are immutable cache files) the regular files and
/// symlinks under `from/dir` that `keep` keeps (given their `/`-separated path relative
/// to `from`) to the same place under `to`, creating directories for them only.
fn copy_tree(from: &Path, dir: &Path, to: &Path, keep: &dyn Fn(&str) -> bool) -> io::Result<()> {
    let mut entries = fs::read_dir(from.join(dir))?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = dir.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(from, &path, to, keep)?;
            continue;
        }
        if !keep(&path.to_string_lossy()) {
            continue;
        }
        let target = to.join(&path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        if kind.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(fs::read_link(entry.path())?, &target)?;
        } else {
            fs::hard_link(entry.path(), &target)
                .or_else(|_| fs::copy(entry.path(), &target).map(drop))?;
        }
    }
    Ok(())
}

/// `reconcileInclude` for one entry: the artifact's `fromPath` renamed onto `toPath`
/// (`CopyToPath`, an `os.Rename`): its parents are created; an empty directory or a file
/// in the way is replaced as `rename(2)` replaces it, anything else fails.
fn move_in(include: &Include, dest: &Path) -> Result<(), StageError> {
    let to_path = include.destination();
    let refused = |why: &str| {
        StageError::Refused(format!(
            "failed to copy '{}' include from {} to {to_path}: {why}",
            include.name, include.from_path
        ))
    };
    let from = secure_join(&include.artifact.root, include.from_path);
    let to = secure_join(dest, to_path);
    let Ok(from_meta) = fs::symlink_metadata(&from) else {
        return Err(refused(&format!(
            "cannot stat {}: no such file or directory",
            include.from_path
        )));
    };
    if to == dest {
        return Err(refused("the destination is the artifact's root"));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| StageError::Io(path, e)
    };
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    match (fs::symlink_metadata(&to), from_meta.is_dir()) {
        (Err(_), _) => {}
        (Ok(existing), true) if existing.is_dir() => {
            if fs::read_dir(&to).map_err(io(&to))?.next().is_some() {
                return Err(refused("directory not empty"));
            }
            fs::remove_dir(&to).map_err(io(&to))?;
        }
        (Ok(_), true) => return Err(refused("not a directory")),
        (Ok(existing), false) if existing.is_dir() => return Err(refused("file exists")),
        (Ok(_), false) => fs::remove_file(&to).map_err(io(&to))?,
    }
    if from_meta.is_dir() {
        fs::create_dir(&to).map_err(io(&to))?;
        copy_tree(&from, Path::new(""), &to, &|_| true).map_err(io(&from))
    } else {
        fs::hard_link(&from, &to)
            .or_else(|_| fs::copy(&from, &to).map(drop))
            .map_err(io(&to))
    }
}

/// Places `module` (a submodule's checkout, its own submodules placed) at `path` of the
/// staging directory `dest`, with the `.git` file go-git writes into a submodule's
/// worktree: source-controller's archive keeps it, as `.git/` excludes directories only.
/// `git_dir` is where go-git keeps the submodule's repository, relative to the root.
pub(crate) fn place_submodule(
    dest: &Path,
    path: &str,
    git_dir: &str,
    module: &Path,
) -> io::Result<()> {
    let target = secure_join(dest, path);
    fs::create_dir_all(&target)?;
    copy_tree(module, Path::new(""), &target, &|_| true)?;
    let depth = Path::new(path).components().count();
    let up = "../".repeat(depth);
    fs::write(target.join(".git"), format!("gitdir: {up}{git_dir}\n"))
}

/// Hard-links the whole checkout at `from` into the new directory `to`.
pub(crate) fn link_all(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir(to)?;
    copy_tree(from, Path::new(""), to, &|_| true)
}

#[cfg(test)]
mod tests {
    use super::super::{Origin, Reference};
    use super::*;

    fn tree(root: &Path) -> Tree {
        Tree {
            root: root.to_path_buf(),
            origin: Origin {
                url: "u".into(),
                fetched_url: "u".into(),
                reference: Reference::Branch("main".into()),
                commit: "c".into(),
                tree_id: "t".into(),
            },
        }
    }

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap_or(root)).expect("create directories");
            fs::write(path, text).expect("write a file");
        }
    }

    fn listing(root: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).expect("read a directory") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path.strip_prefix(root).unwrap_or(&path);
                    found.push(relative.to_string_lossy().into_owned());
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn sparse_checkout_keeps_paths_by_prefix_as_go_git() {
        assert!(sparse_keeps(&[], "any/file"));
        assert!(sparse_keeps(&["apps"], "apps/a.yaml"));
        assert!(sparse_keeps(&["apps"], "apps.yaml"));
        assert!(sparse_keeps(&["apps"], "apps-old/a.yaml"));
        assert!(!sparse_keeps(&["apps"], "README.md"));
        assert!(!sparse_keeps(&["apps/"], "apps.yaml"));
        assert!(sparse_keeps(&["infra", "apps/dev"], "apps/dev/x"));
        assert!(!sparse_keeps(&["infra", "apps/dev"], "apps/prod/x"));
    }

    #[test]
    fn secure_join_never_leaves_the_root() {
        let root = Path::new("/r");
        assert_eq!(secure_join(root, "../../etc"), Path::new("/r/etc"));
        assert_eq!(secure_join(root, "./a/../b/"), Path::new("/r/b"));
        assert_eq!(secure_join(root, "/abs"), Path::new("/r/abs"));
        assert_eq!(secure_join(root, ""), Path::new("/r"));
    }

    #[test]
    fn includes_land_at_their_paths_and_refuse_to_overwrite_directories() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let checkout = tmp.path().join("checkout");
        let library = tmp.path().join("library");
        write(&checkout, &[("apps/a.yaml", "a"), ("lib/keep.yaml", "k")]);
        write(&library, &[("base/b.yaml", "b"), ("base/c.yaml", "c")]);
        let library = tree(&library);
        let includes = [
            Include {
                name: "library",
                artifact: &library,
                from_path: "",
                to_path: "",
            },
            Include {
                name: "library",
                artifact: &library,
                from_path: "./base",
                to_path: "deep/er/base",
            },
            Include {
                name: "library",
                artifact: &library,
                from_path: "base/b.yaml",
                to_path: "apps/a.yaml",
            },
        ];
        let recipe = ArtifactRecipe {
            includes: &includes,
            ..ArtifactRecipe::default()
        };
        let dest = tmp.path().join("staged");
        let staged = stage(&checkout, &recipe, &dest);
        assert!(staged.is_ok(), "{staged:?}");
        assert_eq!(
            listing(&dest),
            [
                "apps/a.yaml",
                "deep/er/base/b.yaml",
                "deep/er/base/c.yaml",
                "lib/keep.yaml",
                "library/base/b.yaml",
                "library/base/c.yaml",
            ]
        );
        assert_eq!(
            fs::read_to_string(dest.join("apps/a.yaml")).ok(),
            Some("b".into())
        );
        // The checkout's file was replaced in the staging copy, not in the cache.
        assert_eq!(
            fs::read_to_string(checkout.join("apps/a.yaml")).ok(),
            Some("a".into())
        );

        let onto_files = [Include {
            name: "library",
            artifact: &library,
            from_path: "base",
            to_path: "lib",
        }];
        let recipe = ArtifactRecipe {
            includes: &onto_files,
            ..ArtifactRecipe::default()
        };
        let Err(StageError::Refused(message)) = stage(&checkout, &recipe, &tmp.path().join("x"))
        else {
            panic!("an include replaced a directory with files");
        };
        assert_eq!(
            message,
            "failed to copy 'library' include from base to lib: directory not empty"
        );
        let missing = [Include {
            name: "library",
            artifact: &library,
            from_path: "nowhere",
            to_path: "",
        }];
        let recipe = ArtifactRecipe {
            includes: &missing,
            ..ArtifactRecipe::default()
        };
        let Err(StageError::Refused(message)) = stage(&checkout, &recipe, &tmp.path().join("y"))
        else {
            panic!("included a path the artifact does not have");
        };
        assert!(message.contains("cannot stat nowhere"), "{message}");
    }

    #[test]
    fn sparse_directories_must_exist() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let checkout = tmp.path().join("checkout");
        write(
            &checkout,
            &[("apps/a.yaml", "a"), ("apps.yaml", "x"), ("b/c", "c")],
        );
        let dirs = ["./apps".to_string()];
        let recipe = ArtifactRecipe {
            sparse_checkout: &dirs,
            ..ArtifactRecipe::default()
        };
        let dest = tmp.path().join("staged");
        assert!(stage(&checkout, &recipe, &dest).is_ok());
        assert_eq!(listing(&dest), ["apps.yaml", "apps/a.yaml"]);
        let dirs = ["app".to_string()];
        let recipe = ArtifactRecipe {
            sparse_checkout: &dirs,
            ..ArtifactRecipe::default()
        };
        let Err(StageError::Refused(message)) = stage(&checkout, &recipe, &tmp.path().join("x"))
        else {
            panic!("a sparse directory that does not exist was accepted");
        };
        assert!(
            message.contains("sparse checkout dir 'app' does not exist in repository"),
            "{message}"
        );
    }
}

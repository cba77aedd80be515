//! Writing a commit's tree into the content-addressed tree cache.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use gix::bstr::ByteSlice;

use super::error::chain;

/// Why a checkout failed.
pub(crate) enum CheckoutError {
    /// A symlink resolves to a place outside the tree (or loops).
    Escape {
        /// The symlink's path in the tree.
        path: String,
        /// Its stored target.
        target: String,
    },
    /// Anything else, explained.
    Other(String),
}

/// The most symlinks followed while resolving one path, as Linux's `MAXSYMLINKS`.
const MAX_HOPS: usize = 40;

/// Checks out `tree` from `repo` into the new directory `dest` (which must not exist).
///
/// Symlinks are checked before anything is written: each must resolve, through any
/// other symlinks of the tree, to a path inside it. No attributes or filters apply:
/// Flux's go-git checks files out byte for byte.
pub(crate) fn checkout(
    repo: &gix::Repository,
    tree: gix::ObjectId,
    dest: &Path,
) -> Result<(), CheckoutError> {
    let other = |e: &(dyn std::error::Error + 'static)| CheckoutError::Other(chain(e));
    let mut index = repo.index_from_tree(&tree).map_err(|e| other(&e))?;
    check_symlinks(repo, &index)?;
    let mut options = repo
        .checkout_options(gix::worktree::stack::state::attributes::Source::IdMapping)
        .map_err(|e| other(&e))?;
    options.attributes = Default::default();
    options.destination_is_initially_empty = true;
    // Callers already run many checkouts in parallel on rayon.
    options.thread_limit = Some(1);
    std::fs::create_dir_all(dest)
        .map_err(|e| CheckoutError::Other(format!("{}: {e}", dest.display())))?;
    let objects = repo.objects.clone().into_arc().map_err(|e| other(&e))?;
    let outcome = gix::worktree::state::checkout(
        &mut index,
        dest,
        objects,
        &gix::progress::Discard,
        &gix::progress::Discard,
        &AtomicBool::new(false),
        options,
    )
    .map_err(|e| other(&e))?;
    if let Some(record) = outcome.errors.first() {
        return Err(CheckoutError::Other(format!(
            "cannot write `{}`: {}",
            record.path,
            chain(&record.error)
        )));
    }
    if let Some(collision) = outcome.collisions.first() {
        return Err(CheckoutError::Other(format!(
            "`{}` collides with another path of the tree",
            collision.path
        )));
    }
    Ok(())
}

fn check_symlinks(repo: &gix::Repository, index: &gix::index::File) -> Result<(), CheckoutError> {
    let mut links = HashMap::new();
    for entry in index.entries() {
        if entry.mode == gix::index::entry::Mode::SYMLINK {
            let object = repo
                .find_object(entry.id)
                .map_err(|e| CheckoutError::Other(chain(&e)))?;
            links.insert(
                entry.path(index).to_str_lossy().into_owned(),
                object.data.to_str_lossy().into_owned(),
            );
        }
    }
    let mut paths: Vec<&String> = links.keys().collect();
    // Report the first offender in path order, so the error does not vary between runs.
    paths.sort();
    for path in paths {
        if escapes(&links, path) {
            return Err(CheckoutError::Escape {
                path: path.clone(),
                target: links[path].clone(),
            });
        }
    }
    Ok(())
}

/// Whether the symlink at `link` resolves outside the tree, following the tree's other
/// symlinks on the way (a lexical check alone misses `a -> b/..` with `b -> ../x`).
fn escapes(links: &HashMap<String, String>, link: &str) -> bool {
    let mut resolved: Vec<&str> = link.split('/').collect();
    resolved.pop();
    let mut pending: VecDeque<&str> = VecDeque::new();
    let mut hops = 0;
    let mut target = links.get(link).map(String::as_str).unwrap_or_default();
    loop {
        if target.starts_with('/') {
            return true;
        }
        for part in target.split('/').rev() {
            pending.push_front(part);
        }
        loop {
            let Some(part) = pending.pop_front() else {
                return false;
            };
            match part {
                "" | "." => {}
                ".." => {
                    if resolved.pop().is_none() {
                        return true;
                    }
                }
                name => {
                    resolved.push(name);
                    if let Some(next) = links.get(&resolved.join("/")) {
                        hops += 1;
                        if hops > MAX_HOPS {
                            return true;
                        }
                        resolved.pop();
                        target = next;
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn symlinks_inside_are_fine() {
        let l = links(&[("a/b", "../c"), ("d", "a/b/x"), ("e", "a/./b/../f")]);
        for link in ["a/b", "d", "e"] {
            assert!(!escapes(&l, link), "{link}");
        }
    }

    #[test]
    fn symlinks_outside_are_caught() {
        let l = links(&[
            ("abs", "/etc/passwd"),
            ("up", "../x"),
            ("d/b", "../e"),
            ("d/a", "b/../.."),
            ("loop1", "loop2"),
            ("loop2", "loop1/x"),
        ]);
        for link in ["abs", "up", "d/a", "loop1"] {
            assert!(escapes(&l, link), "{link}");
        }
        assert!(!escapes(&l, "d/b"));
    }
}

//! The source layer against real git servers: `git daemon`, `git http-backend` behind
//! HTTPS with basic auth and a test CA, `file://` and plain paths.

use std::path::Path;

use crunch::source::{BasicAuth, Error, Lock, Mirrors, Reference, Store, StoreConfig, Tree};
use rayon::prelude::*;

use crate::support::gitserver::{GitServers, TestRepo};

/// Repositories with a small real history, served over git:// and https://.
struct World {
    root: tempfile::TempDir,
    servers: GitServers,
    app: TestRepo,
    /// Commits of `app`, oldest first.
    c: Vec<String>,
}

/// `app` history: c0 (v1.0.0 annotated) ← c1 (v1.1.0 light, v1.2.0-rc.1, branch
/// release-1) ← c2 (v2.0.0 annotated, branch main). `links-out` has a symlink leaving
/// the tree, `links-in` only symlinks inside it.
fn world() -> World {
    let root = tempfile::tempdir().expect("temp root");
    let mut app = TestRepo::init(root.path(), "app");
    let mut c = Vec::new();
    app.write("README", "one\n")
        .write("chart/values.yaml", "replicas: 1\n");
    c.push(app.commit("one"));
    app.annotated_tag("v1.0.0");
    app.write("README", "two\n");
    c.push(app.commit("two"));
    app.tag("v1.1.0");
    app.tag("v1.2.0-rc.1");
    app.git(&["branch", "release-1"]);
    app.write("README", "three\n");
    c.push(app.commit("three"));
    app.annotated_tag("v2.0.0");

    let mut out = TestRepo::init(root.path(), "links-out");
    out.write("a/file", "x\n")
        .symlink("d/e", "../a")
        .symlink("d/escape", "e/../../..");
    out.commit("links");
    let mut inside = TestRepo::init(root.path(), "links-in");
    inside
        .write("a/file", "x\n")
        .symlink("d/e", "../a")
        .symlink("d/f", "e/file");
    inside.commit("links");

    let servers = GitServers::start(root.path());
    World {
        root,
        servers,
        app,
        c,
    }
}

fn store(cache: &Path, adjust: impl FnOnce(&mut StoreConfig)) -> Store {
    let mut config = StoreConfig::new(cache.to_path_buf());
    adjust(&mut config);
    Store::new(config).expect("store")
}

fn readme(tree: &Tree) -> String {
    std::fs::read_to_string(tree.root.join("README")).expect("README in the tree")
}

fn tag(name: &str) -> Reference {
    Reference::Tag(name.into())
}

#[test]
fn git_daemon_resolves_tags_branches_commits_and_semver() {
    let w = world();
    let cache = tempfile::tempdir().unwrap();
    let s = store(cache.path(), |_| {});
    let url = w.servers.git_url("app");
    let cases = [
        (tag("v1.0.0"), 0),
        (tag("v1.1.0"), 1),
        (tag("v2.0.0"), 2),
        (Reference::Branch("release-1".into()), 1),
        (Reference::Branch("main".into()), 2),
        (Reference::Name("refs/heads/release-1".into()), 1),
        (Reference::Commit(w.c[0].clone()), 0),
        (Reference::Semver(">=1.0.0 <2.0.0".into()), 1),
        (Reference::Semver("~1.0".into()), 0),
        (Reference::Semver("^2 || 1.x".into()), 2),
        (Reference::Semver(">=1.2.0-0 <2.0.0-0".into()), 1),
        (Reference::Kustomize("v2.0.0".into()), 2),
        (Reference::Kustomize("release-1".into()), 1),
        (Reference::Kustomize(w.c[0].clone()), 0),
        (Reference::Kustomize("HEAD".into()), 2),
    ];
    for (reference, index) in cases {
        let tree = s
            .git(&url, &reference)
            .unwrap_or_else(|e| panic!("{reference}: {e}"));
        assert_eq!(tree.origin.commit, w.c[index], "{reference}");
        let expected_tree = w
            .app
            .git(&["rev-parse", &format!("{}^{{tree}}", w.c[index])]);
        assert_eq!(tree.origin.tree_id, expected_tree, "{reference}");
        assert_eq!(tree.root, cache.path().join("trees").join(&expected_tree));
        assert_eq!(readme(&tree), ["one\n", "two\n", "three\n"][index]);
        assert_eq!(tree.origin.url, url);
        assert_eq!(tree.origin.reference, reference);
    }
    // A prerelease matches only a range that names one.
    let rc = s
        .git(&url, &Reference::Semver("1.2.0-rc.1".into()))
        .unwrap();
    assert_eq!(rc.origin.commit, w.c[1]);
}

#[test]
fn missing_references_and_unreachable_servers_are_clear_errors() {
    let w = world();
    let cache = tempfile::tempdir().unwrap();
    let s = store(cache.path(), |_| {});
    let url = w.servers.git_url("app");
    let err = s.git(&url, &tag("v9.9.9")).unwrap_err();
    assert_eq!(err.to_string(), format!("no tag v9.9.9 in {url}"));
    let err = s
        .git(&url, &Reference::Semver(">=3".into()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("satisfies semver range `>=3`") && err.contains(&url),
        "{err}"
    );
    let err = s
        .git(&url, &Reference::Semver("not a range".into()))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid tag matching semver `not a range`"),
        "{err}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dead = format!("git://127.0.0.1:{port}/app");
    let err = s.git(&dead, &tag("v1.0.0")).unwrap_err().to_string();
    assert!(err.starts_with(&format!("cannot reach {dead}: ")), "{err}");
    assert!(err.to_lowercase().contains("refused"), "{err}");
}

#[test]
fn https_with_basic_auth_and_a_test_ca() {
    let w = world();
    let cache = tempfile::tempdir().unwrap();
    let url = w.servers.https_url("app");
    let auth = BasicAuth {
        username: w.servers.username.clone(),
        password: w.servers.password.clone(),
    };
    let ca = Some(w.servers.ca_pem_path.clone());

    let configured = store(cache.path(), |c| {
        c.ca_file = ca.clone();
        c.credentials = vec![(w.servers.https_url(""), auth.clone())];
    });
    let tree = configured.git(&url, &tag("v1.0.0")).unwrap();
    assert_eq!(tree.origin.commit, w.c[0]);
    let semver = configured
        .git(&url, &Reference::Semver(">=1.0.0 <2.0.0".into()))
        .unwrap();
    assert_eq!(semver.origin.commit, w.c[1]);

    // Credentials in the URL work too, and never reach the origin or the lock.
    let cache2 = tempfile::tempdir().unwrap();
    let in_url = url.replace(
        "https://",
        &format!(
            "https://{}:{}@",
            auth.username,
            auth.password.replace(':', "%3A")
        ),
    );
    let from_url = store(cache2.path(), |c| c.ca_file = ca.clone());
    let tree = from_url
        .git(&in_url, &Reference::Branch("main".into()))
        .unwrap();
    assert_eq!(tree.origin.commit, w.c[2]);
    assert_eq!(tree.origin.url, url);
    assert!(!from_url.lock_snapshot().render().contains(&auth.username));

    let cache3 = tempfile::tempdir().unwrap();
    let wrong = store(cache3.path(), |c| {
        c.ca_file = ca.clone();
        c.credentials = vec![(
            w.servers.https_url(""),
            BasicAuth {
                username: auth.username.clone(),
                password: "wrong".into(),
            },
        )];
    });
    let err = wrong.git(&url, &tag("v1.0.0")).unwrap_err().to_string();
    assert!(err.starts_with(&format!("cannot reach {url}: ")), "{err}");
    assert!(
        err.contains("401") || err.to_lowercase().contains("auth"),
        "{err}"
    );

    let untrusted = store(cache3.path(), |c| {
        c.credentials = vec![(url.clone(), auth.clone())]
    });
    let err = untrusted.git(&url, &tag("v1.0.0")).unwrap_err().to_string();
    assert!(err.starts_with(&format!("cannot reach {url}: ")), "{err}");
}

#[test]
fn file_urls_and_plain_paths() {
    let w = world();
    let cache = tempfile::tempdir().unwrap();
    let s = store(cache.path(), |_| {});
    let path = w.root.path().join("app");
    let plain = s.git(&path.display().to_string(), &tag("v1.1.0")).unwrap();
    assert_eq!(plain.origin.commit, w.c[1]);
    let file_url = format!("file://{}", path.display());
    let via_file = s.git(&file_url, &Reference::Branch("main".into())).unwrap();
    assert_eq!(via_file.origin.commit, w.c[2]);
    // Trees are cached by content: another URL with the same tree shares the directory.
    let served = s.git(&w.servers.git_url("app"), &tag("v1.1.0")).unwrap();
    assert_eq!(served.root, plain.root);
    assert_ne!(served.origin, plain.origin);
}

#[test]
fn mirrors_rewrite_the_fetch_but_provenance_keeps_the_requested_url() {
    let w = world();
    let cache = tempfile::tempdir().unwrap();
    let requested = "https://repo1.dso.mil/big-bang/app";
    let s = store(cache.path(), |c| {
        c.mirrors = Mirrors::new([
            (
                "https://repo1.dso.mil/".to_string(),
                "/nonexistent/".to_string(),
            ),
            (
                "https://repo1.dso.mil/big-bang/".to_string(),
                w.servers.git_url(""),
            ),
        ]);
    });
    let tree = s.git(requested, &tag("v2.0.0")).unwrap();
    assert_eq!(tree.origin.url, requested);
    assert_eq!(tree.origin.fetched_url, w.servers.git_url("app"));
    assert_eq!(tree.origin.commit, w.c[2]);
    let lock = s.lock_snapshot();
    assert!(lock.get(requested, &tag("v2.0.0")).is_some());

    let err = s.git(requested, &tag("v9")).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "no tag v9 in {requested} (mirrored to {})",
            w.servers.git_url("app")
        )
    );
}

#[test]
fn the_lock_is_written_then_honoured_until_update() {
    let mut w = world();
    let cache = tempfile::tempdir().unwrap();
    let lock_path = cache.path().join("crunch.lock");
    let url = w.servers.git_url("app");
    let main = Reference::Branch("main".into());

    let first = store(cache.path(), |_| {});
    assert_eq!(first.git(&url, &main).unwrap().origin.commit, w.c[2]);
    first.lock_snapshot().write(&lock_path).unwrap();
    let text = std::fs::read_to_string(&lock_path).unwrap();
    assert!(
        text.contains(&format!("url: \"{url}\"")) && text.contains(&w.c[2]),
        "{text}"
    );

    w.app.write("README", "four\n");
    let moved = w.app.commit("four");

    let locked = store(cache.path(), |c| c.lock = Lock::load(&lock_path).unwrap());
    let tree = locked.git(&url, &main).unwrap();
    assert_eq!(tree.origin.commit, w.c[2]);
    assert_eq!(readme(&tree), "three\n");
    assert_eq!(locked.lock_snapshot().render(), text);

    let updated = store(cache.path(), |c| {
        c.lock = Lock::load(&lock_path).unwrap();
        c.update = true;
    });
    let tree = updated.git(&url, &main).unwrap();
    assert_eq!(tree.origin.commit, moved);
    assert_eq!(readme(&tree), "four\n");
    updated.lock_snapshot().write(&lock_path).unwrap();
    let reread = Lock::load(&lock_path).unwrap();
    assert_eq!(reread.get(&url, &main).unwrap().commit, moved);
}

#[test]
fn a_lock_pin_is_fetched_when_the_tree_is_not_cached() {
    let mut w = world();
    let url = w.servers.git_url("app");
    let main = Reference::Branch("main".into());
    let cache = tempfile::tempdir().unwrap();
    let first = store(cache.path(), |_| {});
    first.git(&url, &main).unwrap();
    let lock = first.lock_snapshot();

    w.app.write("README", "four\n");
    w.app.commit("four");
    // A fresh cache: the pinned commit (no longer a branch tip) is fetched by id.
    let fresh = tempfile::tempdir().unwrap();
    let pinned = store(fresh.path(), |c| c.lock = lock.clone());
    assert_eq!(pinned.git(&url, &main).unwrap().origin.commit, w.c[2]);
}

#[test]
fn offline_uses_only_the_lock_and_the_cache() {
    let w = world();
    let url = w.servers.git_url("app");
    let https = w.servers.https_url("app");
    let cache = tempfile::tempdir().unwrap();
    let online = store(cache.path(), |c| {
        c.ca_file = Some(w.servers.ca_pem_path.clone());
        c.credentials = vec![(
            https.clone(),
            BasicAuth {
                username: w.servers.username.clone(),
                password: w.servers.password.clone(),
            },
        )];
    });
    online.git(&url, &tag("v1.0.0")).unwrap();
    online.git(&https, &Reference::Semver("^1".into())).unwrap();
    let lock = online.lock_snapshot();
    let commit = w.c[0].clone();
    drop(w); // the servers stop

    let offline = store(cache.path(), |c| {
        c.offline = true;
        c.update = true; // meaningless offline: the lock is still used
        c.lock = lock.clone();
    });
    assert_eq!(
        offline.git(&url, &tag("v1.0.0")).unwrap().origin.commit,
        commit
    );
    offline
        .git(&https, &Reference::Semver("^1".into()))
        .unwrap();
    // A commit the cached repository holds needs no lock entry.
    offline
        .git(&url, &Reference::Commit(commit.clone()))
        .unwrap();

    let err = offline.git(&url, &tag("v2.0.0")).unwrap_err();
    assert!(matches!(err, Error::OfflineUnlocked { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "offline: {url} at tag v2.0.0 is not in crunch.lock; run without --offline to resolve it"
        )
    );

    let empty = tempfile::tempdir().unwrap();
    let uncached = store(empty.path(), |c| {
        c.offline = true;
        c.lock = lock.clone();
    });
    let err = uncached.git(&url, &tag("v1.0.0")).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "offline: {url} at tag v1.0.0 is locked to commit {commit}, which is not in the cache"
        )),
        "{err}"
    );
}

#[test]
fn parallel_fetches_are_deterministic() {
    let w = world();
    let https_auth = BasicAuth {
        username: w.servers.username.clone(),
        password: w.servers.password.clone(),
    };
    let mut requests = Vec::new();
    for url in [w.servers.git_url("app"), w.servers.https_url("app")] {
        for reference in [
            tag("v1.0.0"),
            tag("v2.0.0"),
            Reference::Branch("main".into()),
            Reference::Branch("release-1".into()),
            Reference::Semver("1.x".into()),
            Reference::Commit(w.c[0].clone()),
        ] {
            requests.push((url.clone(), reference));
        }
    }
    let run = || {
        let cache = tempfile::tempdir().unwrap();
        let s = store(cache.path(), |c| {
            c.ca_file = Some(w.servers.ca_pem_path.clone());
            c.credentials = vec![(w.servers.https_url(""), https_auth.clone())];
        });
        let commits: Vec<String> = requests
            .par_iter()
            .map(|(url, reference)| s.git(url, reference).map(|t| t.origin.commit))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        (commits, s.lock_snapshot().render())
    };
    let (commits, lock) = run();
    assert_eq!(commits[..6], [0, 2, 2, 1, 1, 0].map(|i| w.c[i].clone()));
    assert_eq!(commits[..6], commits[6..]);
    assert_eq!(run(), (commits, lock.clone()));
    assert_eq!(lock.matches("  - url: ").count(), 12);
}

#[test]
fn the_tree_cache_is_reused() {
    let w = world();
    let url = w.servers.git_url("app");
    let cache = tempfile::tempdir().unwrap();
    let first = store(cache.path(), |_| {});
    let tree = first.git(&url, &tag("v1.1.0")).unwrap();
    // Trees are immutable by contract; the test breaks it only to prove reuse.
    std::fs::write(tree.root.join("marker"), "kept").unwrap();

    // Another reference to the same commit shares the checked-out tree.
    let branch = first
        .git(&url, &Reference::Branch("release-1".into()))
        .unwrap();
    assert_eq!(branch.root, tree.root);
    assert!(branch.root.join("marker").exists());

    // With the lock, a new store needs no connection at all.
    let before = w.servers.connections();
    let second = store(cache.path(), |c| c.lock = first.lock_snapshot());
    let again = second.git(&url, &tag("v1.1.0")).unwrap();
    assert_eq!(again, tree);
    assert!(again.root.join("marker").exists());
    assert_eq!(w.servers.connections(), before);
}

#[test]
fn symlinks_must_stay_inside_the_tree() {
    let w = world();
    let cache = tempfile::tempdir().unwrap();
    let s = store(cache.path(), |_| {});
    let main = Reference::Branch("main".into());
    let inside = s.git(&w.servers.git_url("links-in"), &main).unwrap();
    assert_eq!(
        std::fs::read_to_string(inside.root.join("d/f")).unwrap(),
        "x\n"
    );
    let url = w.servers.git_url("links-out");
    let err = s.git(&url, &main).unwrap_err();
    assert!(matches!(err, Error::SymlinkEscape { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("symlink `d/escape` points to `e/../../..`, outside the source tree"),
        "{err}"
    );
    // Nothing half-written is left in the tree cache.
    let trees: Vec<_> = std::fs::read_dir(cache.path().join("trees"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(trees, vec![inside.root.file_name().unwrap().to_os_string()]);
}

#[test]
fn a_lock_whose_tree_does_not_match_the_commit_is_rejected() {
    let w = world();
    let url = w.servers.git_url("app");
    let cache = tempfile::tempdir().unwrap();
    let first = store(cache.path(), |_| {});
    let v1 = first.git(&url, &tag("v1.0.0")).unwrap();
    let v2 = first.git(&url, &tag("v2.0.0")).unwrap();
    let mut lock = Lock::default();
    lock.record(
        &url,
        &tag("v1.0.0"),
        crunch::source::Pin {
            commit: v1.origin.commit.clone(),
            tree: v2.origin.tree_id.clone(),
        },
    );
    std::fs::remove_dir_all(&v2.root).unwrap();
    let tampered = store(cache.path(), |c| c.lock = lock);
    let err = tampered.git(&url, &tag("v1.0.0")).unwrap_err();
    assert!(matches!(err, Error::TreeMismatch { .. }), "{err}");
}

#[test]
fn the_harness_serves_the_git_cli_too() {
    let w = world();
    // Many branches make the negotiation request big enough for git to gzip it.
    for i in 0..60 {
        w.app.git(&["branch", &format!("feature/number-{i:03}")]);
    }
    let clones = tempfile::tempdir().unwrap();
    let https = w.servers.https_url("app").replace(
        "https://",
        &format!(
            "https://{}:{}@",
            w.servers.username,
            w.servers.password.replace(':', "%3A")
        ),
    );
    for (name, url) in [("git", w.servers.git_url("app")), ("https", https)] {
        let status = std::process::Command::new("git")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_SSL_CAINFO", &w.servers.ca_pem_path)
            .args(["clone", "--quiet", "--mirror", &url])
            .arg(clones.path().join(name))
            .status()
            .unwrap();
        assert!(status.success(), "git clone over {name}");
    }
}

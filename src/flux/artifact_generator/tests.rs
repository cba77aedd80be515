//! The builder's rules on trees written here, source-watcher's own cases among them, and
//! the spec's reading and expansion.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;

/// Sources under `<tmp>/sources/<alias>`, the artifact staged in `<tmp>/out`.
struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let fixture = Fixture {
            tmp: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(fixture.tmp.path().join("sources")).unwrap();
        fixture
    }

    fn root(&self, alias: &str) -> PathBuf {
        self.tmp.path().join("sources").join(alias)
    }

    fn file(&self, alias: &str, path: &str, content: impl AsRef<[u8]>) -> &Self {
        let file = self.root(alias).join(path);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, content).unwrap();
        self
    }

    fn dir(&self, alias: &str, path: &str) -> &Self {
        fs::create_dir_all(self.root(alias).join(path)).unwrap();
        self
    }

    fn out(&self) -> PathBuf {
        self.tmp.path().join("out")
    }

    /// Builds an artifact of these operations into a fresh `out`; the staged tree on
    /// success.
    fn build(&self, copy: Vec<CopyOperation>) -> Result<Tree, String> {
        if self.out().exists() {
            fs::remove_dir_all(self.out()).unwrap();
        }
        let artifact = PlannedArtifact {
            name: "test".into(),
            labels: BTreeMap::new(),
            revision: None,
            origin_revision: None,
            copy,
        };
        let sources = self.tmp.path().join("sources");
        let roots = move |alias: &str| {
            let root = sources.join(alias);
            (!alias.is_empty() && root.is_dir()).then_some(root)
        };
        build(&artifact, &roots, &self.out())?;
        Ok(Tree::read(&self.out()))
    }
}

/// A staged tree: files by path with their text, directories with a trailing `/`.
#[derive(Debug, PartialEq, Eq)]
struct Tree(BTreeMap<String, String>);

impl Tree {
    fn read(root: &Path) -> Tree {
        let mut entries = BTreeMap::new();
        read_into(root, "", &mut entries);
        Tree(entries)
    }

    fn files(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter(|k| !k.ends_with('/'))
            .map(String::as_str)
            .collect()
    }

    fn text(&self, path: &str) -> &str {
        self.0.get(path).map_or("<missing>", String::as_str)
    }

    fn has_dir(&self, path: &str) -> bool {
        self.0.contains_key(&format!("{path}/"))
    }
}

fn read_into(dir: &Path, prefix: &str, entries: &mut BTreeMap<String, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let kind = entry.file_type().unwrap();
        assert!(!kind.is_symlink(), "a symlink was staged: {name}");
        if kind.is_dir() {
            entries.insert(format!("{name}/"), String::new());
            read_into(&entry.path(), &format!("{name}/"), entries);
        } else {
            let bytes = fs::read(entry.path()).unwrap();
            entries.insert(name, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
}

fn op(from: &str, to: &str) -> CopyOperation {
    CopyOperation {
        from: from.into(),
        to: to.into(),
        exclude: Vec::new(),
        strategy: Strategy::Overwrite,
    }
}

fn excluding(from: &str, to: &str, exclude: &[&str]) -> CopyOperation {
    CopyOperation {
        exclude: exclude.iter().map(|e| e.to_string()).collect(),
        ..op(from, to)
    }
}

fn with(strategy: Strategy, from: &str, to: &str) -> CopyOperation {
    CopyOperation {
        strategy,
        ..op(from, to)
    }
}

/// A gzipped tarball of `(name, type flag, content)` entries, names written as given.
fn tarball(entries: &[(&str, u8, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, flag, content) in entries {
        let mut header = tar::Header::new_ustar();
        header.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
        header.set_mode(if *flag == b'5' { 0o755 } else { 0o644 });
        header.set_size(content.len() as u64);
        header.set_entry_type(tar::EntryType::new(*flag));
        if *flag == b'2' {
            header.set_link_name("target").unwrap();
        }
        header.set_cksum();
        builder.append(&header, content.as_bytes()).unwrap();
    }
    let data = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&data).unwrap();
    gz.finish().unwrap()
}

/// A chart-like tarball: `config.yaml` and `prod/config.yaml`.
fn manifests(tag: &str) -> Vec<u8> {
    tarball(&[
        ("config.yaml", b'0', &format!("env: {tag}\n")),
        ("prod/", b'5', ""),
        ("prod/config.yaml", b'0', &format!("env: {tag}-prod\n")),
    ])
}

#[test]
fn single_file_into_a_directory() {
    let f = Fixture::new();
    f.file("source", "config.yaml", "kind: ConfigMap");
    let tree = f
        .build(vec![op("@source/config.yaml", "@artifact/")])
        .unwrap();
    assert_eq!(tree.files(), ["config.yaml"]);
    let f = Fixture::new();
    f.file("source", "config.yaml", "a: 1");
    let tree = f
        .build(vec![op("@source/config.yaml", "@artifact/dest/")])
        .unwrap();
    assert_eq!(tree.files(), ["dest/config.yaml"]);
}

#[test]
fn several_sources() {
    let f = Fixture::new();
    f.file("git", "app.yaml", "git")
        .file("oci", "config.json", "oci");
    let tree = f
        .build(vec![
            op("@git/app.yaml", "@artifact/manifests/"),
            op("@oci/config.json", "@artifact/config/"),
        ])
        .unwrap();
    assert_eq!(tree.files(), ["config/config.json", "manifests/app.yaml"]);
    assert_eq!(tree.text("config/config.json"), "oci");
}

#[test]
fn file_to_file_and_into_a_staged_directory() {
    let f = Fixture::new();
    f.file("chart", "Chart.yaml", "name: podinfo")
        .file("chart", "values.yaml", "name: podinfo")
        .file("repo", "charts/podinfo/values-prod.yaml", "env: production");
    let tree = f
        .build(vec![
            op("@chart/**", "@artifact/"),
            op(
                "@repo/charts/podinfo/values-prod.yaml",
                "@artifact/podinfo/values.yaml",
            ),
        ])
        .unwrap();
    assert_eq!(tree.text("podinfo/values.yaml"), "env: production");
    assert_eq!(tree.text("Chart.yaml"), "name: podinfo");

    // Without a slash, a destination that is a staged directory is entered.
    let f = Fixture::new();
    f.file("source", "file1.txt", "content1")
        .file("source", "subdir/file2.txt", "content2");
    let tree = f
        .build(vec![
            op("@source/subdir/", "@artifact/"),
            op("@source/file1.txt", "@artifact/subdir"),
        ])
        .unwrap();
    assert_eq!(tree.files(), ["subdir/file1.txt", "subdir/file2.txt"]);
}

#[test]
fn directories_land_under_their_own_name() {
    for (from, to) in [
        ("@source/config", "@artifact/dest"),
        ("@source/config/", "@artifact/dest/"),
    ] {
        let f = Fixture::new();
        f.file("source", "config/app.yaml", "app")
            .file("source", "config/db.yaml", "db");
        let tree = f.build(vec![op(from, to)]).unwrap();
        assert_eq!(
            tree.files(),
            ["dest/config/app.yaml", "dest/config/db.yaml"],
            "{from} {to}"
        );
    }
    // The root's contents, by `@source/` or `@source/.`.
    for from in ["@source/", "@source/."] {
        let f = Fixture::new();
        f.file("source", "root.yaml", "root")
            .file("source", "subdir/nested.yaml", "nested");
        let tree = f.build(vec![op(from, "@artifact/")]).unwrap();
        assert_eq!(tree.files(), ["root.yaml", "subdir/nested.yaml"]);
    }
}

#[test]
fn globs_are_go_fs_globs() {
    let f = Fixture::new();
    for file in ["deployment.yaml", "service.yaml", "notes.txt"] {
        f.file("source", file, "x");
    }
    let tree = f
        .build(vec![op("@source/*.yaml", "@artifact/manifests/")])
        .unwrap();
    assert_eq!(
        tree.files(),
        ["manifests/deployment.yaml", "manifests/service.yaml"]
    );

    // A match keeps its path from the source's root.
    let f = Fixture::new();
    f.file("source", "configs/a.yaml", "a")
        .file("source", "configs/b.json", "b");
    let tree = f
        .build(vec![op("@source/configs/*.yaml", "@artifact/apps/")])
        .unwrap();
    assert_eq!(tree.files(), ["apps/configs/a.yaml"]);

    // `**` is two stars of path.Match: one segment.
    let f = Fixture::new();
    f.file("source", "top.yaml", "t")
        .file("source", "a/one.yaml", "1")
        .file("source", "a/b/two.yaml", "2");
    let tree = f
        .build(vec![op("@source/**/*.yaml", "@artifact/")])
        .unwrap();
    assert_eq!(tree.files(), ["a/one.yaml"]);

    // Classes and `?`.
    let f = Fixture::new();
    f.file("source", "v1.yaml", "1")
        .file("source", "v2.yaml", "2")
        .file("source", "vx.yaml", "x");
    let tree = f
        .build(vec![op("@source/v[0-9].yam?", "@artifact/")])
        .unwrap();
    assert_eq!(tree.files(), ["v1.yaml", "v2.yaml"]);
}

#[test]
fn a_trailing_doublestar_copies_the_contents() {
    let f = Fixture::new();
    f.file("source", "config/app.yaml", "app")
        .file("source", "config/subdir/db.yaml", "db");
    let tree = f
        .build(vec![op("@source/config/**", "@artifact/dest/")])
        .unwrap();
    assert_eq!(tree.files(), ["dest/app.yaml", "dest/subdir/db.yaml"]);

    let f = Fixture::new();
    f.file("source", "root.yaml", "root")
        .file("source", "subdir/nested.yaml", "nested");
    let tree = f.build(vec![op("@source/**", "@artifact/")]).unwrap();
    assert_eq!(tree.files(), ["root.yaml", "subdir/nested.yaml"]);
}

#[test]
fn later_operations_overwrite_earlier_ones() {
    let f = Fixture::new();
    f.file("source1", "config/app.yaml", "source1: app")
        .file("source1", "config/database.yaml", "source1: db")
        .file("source2", "config/app.yaml", "source2: app")
        .file("source2", "config/network.yaml", "source2: net");
    let tree = f
        .build(vec![
            op("@source1/**", "@artifact/"),
            op("@source2/**", "@artifact/"),
        ])
        .unwrap();
    assert_eq!(tree.text("config/app.yaml"), "source2: app");
    assert_eq!(tree.text("config/database.yaml"), "source1: db");
    assert_eq!(tree.text("config/network.yaml"), "source2: net");
}

#[test]
fn the_example_repository_layout() {
    // fluxcd/flux2-kustomize-helm-example's clusters/production/artifacts.yaml.
    let f = Fixture::new();
    f.file("monorepo", "apps/base/podinfo/release.yaml", "release")
        .file("monorepo", "apps/production/kustomization.yaml", "prod")
        .file("monorepo", "apps/staging/kustomization.yaml", "staging")
        .file("monorepo", "infrastructure/configs/gateway.yaml", "gw")
        .file(
            "monorepo",
            "infrastructure/controllers/cert-manager.yaml",
            "cm",
        )
        .file("monorepo", "clusters/production/apps.yaml", "apps");
    let tree = f
        .build(vec![op("@monorepo/infrastructure/**", "@artifact/")])
        .unwrap();
    assert_eq!(
        tree.files(),
        ["configs/gateway.yaml", "controllers/cert-manager.yaml"]
    );
    let tree = f
        .build(vec![
            op("@monorepo/apps/base/**", "@artifact/base/"),
            op("@monorepo/apps/production/**", "@artifact/production/"),
        ])
        .unwrap();
    assert_eq!(
        tree.files(),
        ["base/podinfo/release.yaml", "production/kustomization.yaml"]
    );
}

#[test]
fn errors_in_source_watchers_words() {
    let error = |copy: CopyOperation| {
        let f = Fixture::new();
        f.file("source", "a.md", "a");
        f.build(vec![copy]).unwrap_err()
    };
    let prefix = "failed to apply copy operations: failed to apply copy operation from";
    assert_eq!(
        error(op("@source/test.yaml", "@artifact/")),
        format!("{prefix} '@source/test.yaml' to '@artifact/': source 'test.yaml' does not exist")
    );
    assert!(
        error(op("@source/*.yaml", "@artifact/"))
            .ends_with("no files match pattern '*.yaml' in source 'source'")
    );
    assert!(
        error(op("@source/[", "@artifact/"))
            .ends_with("invalid glob pattern '[': syntax error in pattern")
    );
    assert!(
        error(op("@missing/file.yaml", "@artifact/")).ends_with("source alias 'missing' not found")
    );
    assert!(
        error(excluding("@source/*.md", "@artifact/", &["*.md"]))
            .ends_with("all files matching pattern '*.md' in source 'source' were excluded")
    );
    assert!(
        error(excluding("@source/*.md", "@artifact/", &["[*.md"]))
            .ends_with("invalid exclude pattern '[*.md'")
    );
    assert!(
        error(op("source/a.md", "@artifact/"))
            .ends_with("invalid copy source 'source/a.md': source must start with '@'")
    );
    assert!(
        error(op("@source", "@artifact/"))
            .ends_with("invalid copy source '@source': source format must be '@alias/pattern'")
    );
    assert!(
        error(op("@source/a.md", "@out/")).ends_with(
            "invalid copy destination '@out/': destination must start with '@artifact/'"
        )
    );
    assert!(
        error(op("@source/a.md/x", "@artifact/"))
            .ends_with("failed to stat source 'a.md/x': statat a.md/x: not a directory")
    );
    // A file where a directory must go.
    let f = Fixture::new();
    f.file("source", "a.md", "a").file("source", "b.md", "b");
    let message = f
        .build(vec![
            op("@source/a.md", "@artifact/x"),
            op("@source/b.md", "@artifact/x/y"),
        ])
        .unwrap_err();
    assert!(
        message.ends_with("'@artifact/x/y': openat x/y: not a directory"),
        "{message}"
    );
}

#[test]
fn excludes_from_the_root_the_selection_or_any_depth() {
    let f = Fixture::new();
    for file in ["app.yaml", "config.json", "README.md", "notes.md"] {
        f.file("source", file, "x");
    }
    let tree = f
        .build(vec![excluding("@source/**", "@artifact/", &["*.md"])])
        .unwrap();
    assert_eq!(tree.files(), ["app.yaml", "config.json"]);

    let f = Fixture::new();
    f.file("source", "app.yaml", "x")
        .file("source", "README.md", "x")
        .file("source", "temp.tmp", "x")
        .file("source", ".hidden", "x")
        .file("source", "docs/guide.md", "x")
        .file("source", "tests/test.go", "x")
        .file("source", "testdata/t.yaml", "x")
        .file("source", "configs/prod.yaml", "x");
    let tree = f
        .build(vec![excluding(
            "@source/**",
            "@artifact/",
            &["*.md", "*.tmp", "**/.*", "**/tests/**", "**/testdata/**"],
        )])
        .unwrap();
    assert_eq!(tree.files(), ["app.yaml", "configs/prod.yaml"]);
    // The directory stays, empty, when all it held was excluded.
    assert!(tree.has_dir("docs"));
    assert!(!tree.has_dir("tests"));

    let f = Fixture::new();
    f.file("source", "app.yaml", "x")
        .file("source", "secret.yaml", "x");
    let tree = f
        .build(vec![excluding(
            "@source/*.yaml",
            "@artifact/configs/",
            &["secret.yaml"],
        )])
        .unwrap();
    assert_eq!(tree.files(), ["configs/app.yaml"]);

    // An excluded single file is skipped, without an error.
    let f = Fixture::new();
    f.file("source", "secret.yaml", "x");
    let tree = f
        .build(vec![excluding(
            "@source/secret.yaml",
            "@artifact/config.yaml",
            &["secret.yaml"],
        )])
        .unwrap();
    assert!(tree.0.is_empty());

    let layout = || {
        let f = Fixture::new();
        f.file("source", "infrastructure/descheduler/release.yaml", "top")
            .file(
                "source",
                "infrastructure/controllers/descheduler/release.yaml",
                "nested",
            )
            .file(
                "source",
                "infrastructure/controllers/sealed-secrets/release.yaml",
                "ss",
            )
            .file("source", "infrastructure/configs/cluster-issuer.yaml", "ci")
            .file("source", "infrastructure/configs/secret.yaml", "s");
        f
    };
    let cases: [(&str, &str, &[&str]); 6] = [
        (
            "@source/infrastructure/**",
            "infrastructure/controllers/descheduler/**",
            &[
                "configs/cluster-issuer.yaml",
                "configs/secret.yaml",
                "controllers/sealed-secrets/release.yaml",
                "descheduler/release.yaml",
            ],
        ),
        (
            "@source/infrastructure/**",
            "controllers/descheduler/**",
            &[
                "configs/cluster-issuer.yaml",
                "configs/secret.yaml",
                "controllers/sealed-secrets/release.yaml",
                "descheduler/release.yaml",
            ],
        ),
        // Anchored at the selection's root, not at the directory being walked.
        (
            "@source/infrastructure/**",
            "descheduler/**",
            &[
                "configs/cluster-issuer.yaml",
                "configs/secret.yaml",
                "controllers/descheduler/release.yaml",
                "controllers/sealed-secrets/release.yaml",
            ],
        ),
        (
            "@source/infrastructure/**",
            "infrastructure/configs/secret.yaml",
            &[
                "configs/cluster-issuer.yaml",
                "controllers/descheduler/release.yaml",
                "controllers/sealed-secrets/release.yaml",
                "descheduler/release.yaml",
            ],
        ),
        (
            "@source/infrastructure",
            "infrastructure/controllers/descheduler/**",
            &[
                "infrastructure/configs/cluster-issuer.yaml",
                "infrastructure/configs/secret.yaml",
                "infrastructure/controllers/sealed-secrets/release.yaml",
                "infrastructure/descheduler/release.yaml",
            ],
        ),
        (
            "@source/infrastructure",
            "controllers/descheduler/**",
            &[
                "infrastructure/configs/cluster-issuer.yaml",
                "infrastructure/configs/secret.yaml",
                "infrastructure/controllers/sealed-secrets/release.yaml",
                "infrastructure/descheduler/release.yaml",
            ],
        ),
    ];
    for (from, exclude, files) in cases {
        let tree = layout()
            .build(vec![excluding(from, "@artifact/", &[exclude])])
            .unwrap();
        assert_eq!(tree.files(), files, "{from} excluding {exclude}");
    }
}

#[test]
fn merge_uses_helms_values_merge() {
    let f = Fixture::new();
    f.file(
        "chart",
        "podinfo/values.yaml",
        "replicas: 1\nimage:\n  tag: 1.0\n  repo: ghcr.io/x\nports: [80, 443]\nzeta: z\n",
    )
    .file("chart", "podinfo/Chart.yaml", "name: podinfo\n")
    .file(
        "git",
        "values-prod.yaml",
        "image:\n  tag: 2.0\nports: [8080]\n---\nreplicas: 3\nbig: 12345678901234567890\n",
    );
    let tree = f
        .build(vec![
            op("@chart/", "@artifact/"),
            with(
                Strategy::Merge,
                "@git/values-prod.yaml",
                "@artifact/podinfo/values.yaml",
            ),
        ])
        .unwrap();
    assert_eq!(
        tree.text("podinfo/values.yaml"),
        "big: 12345678901234567000\nimage:\n  repo: ghcr.io/x\n  tag: 2\nports:\n- 8080\nreplicas: 3\nzeta: z\n"
    );
    assert_eq!(tree.text("podinfo/Chart.yaml"), "name: podinfo\n");

    // Nothing staged there yet: copied as it is.
    let f = Fixture::new();
    f.file("git", "v.yaml", "b: 1\na: 2\n");
    let tree = f
        .build(vec![with(
            Strategy::Merge,
            "@git/v.yaml",
            "@artifact/values.yaml",
        )])
        .unwrap();
    assert_eq!(tree.text("values.yaml"), "b: 1\na: 2\n");

    // A directory's files are copied, never merged.
    let f = Fixture::new();
    f.file("a", "conf/v.yaml", "a: 1\n")
        .file("b", "conf/v.yaml", "b: 1\n");
    let tree = f
        .build(vec![
            op("@a/conf", "@artifact/"),
            with(Strategy::Merge, "@b/conf", "@artifact/"),
        ])
        .unwrap();
    assert_eq!(tree.text("conf/v.yaml"), "b: 1\n");

    // Glob matches are merged one by one.
    let f = Fixture::new();
    f.file("a", "x.yaml", "a: 1\n")
        .file("b", "x.yaml", "b: 1\n");
    let tree = f
        .build(vec![
            op("@a/*.yaml", "@artifact/"),
            with(Strategy::Merge, "@b/*.yaml", "@artifact/"),
        ])
        .unwrap();
    assert_eq!(tree.text("x.yaml"), "a: 1\nb: 1\n");

    // Not a map.
    let f = Fixture::new();
    f.file("a", "x.yaml", "a: 1\n").file("b", "x.yaml", "- 1\n");
    let message = f
        .build(vec![
            op("@a/x.yaml", "@artifact/"),
            with(Strategy::Merge, "@b/x.yaml", "@artifact/"),
        ])
        .unwrap_err();
    assert!(
        message.ends_with("cannot unmarshal YAML document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"),
        "{message}"
    );
}

#[test]
fn extract_unpacks_tarballs() {
    let f = Fixture::new();
    f.file("source", "manifests.tgz", manifests("dev"));
    let tree = f
        .build(vec![with(
            Strategy::Extract,
            "@source/manifests.tgz",
            "@artifact/manifests",
        )])
        .unwrap();
    assert_eq!(
        tree.files(),
        ["manifests/config.yaml", "manifests/prod/config.yaml"]
    );
    assert_eq!(tree.text("manifests/config.yaml"), "env: dev\n");

    // Globs: matches land in `to`, whatever their directory; other files are skipped.
    let f = Fixture::new();
    f.file("source", "prod/manifests.tgz", manifests("prod"))
        .file(
            "source",
            "int/manifests.tar.gz",
            tarball(&[("int/config.yaml", b'0', "env: int\n")]),
        )
        .file("source", "readme.txt", "skip");
    let tree = f
        .build(vec![with(Strategy::Extract, "@source/**", "@artifact/")])
        .unwrap();
    assert_eq!(
        tree.files(),
        ["config.yaml", "int/config.yaml", "prod/config.yaml"]
    );

    // doublestar's order: each directory's own matches before its subdirectories'.
    let f = Fixture::new();
    f.file("source", "z.tgz", manifests("root"))
        .file("source", "a/x.tgz", manifests("nested"));
    let tree = f
        .build(vec![with(
            Strategy::Extract,
            "@source/**/*.tgz",
            "@artifact/",
        )])
        .unwrap();
    assert_eq!(tree.text("config.yaml"), "env: nested\n");
    let f = Fixture::new();
    f.file("source", "z.tgz", manifests("root"))
        .file("source", "a/x.tgz", manifests("nested"));
    let tree = f
        .build(vec![with(Strategy::Extract, "@source/**", "@artifact/")])
        .unwrap();
    assert_eq!(tree.text("config.yaml"), "env: root\n");

    // Later archives overwrite; excludes apply to the archives.
    let f = Fixture::new();
    f.file("source", "first.tgz", manifests("first"))
        .file("source", "second.tgz", manifests("second"))
        .file("source", "third.tgz", manifests("third"));
    let tree = f
        .build(vec![CopyOperation {
            exclude: vec!["third.tgz".into()],
            ..with(Strategy::Extract, "@source/*.tgz", "@artifact/extracted/")
        }])
        .unwrap();
    assert_eq!(tree.text("extracted/config.yaml"), "env: second\n");
}

#[test]
fn extract_failures() {
    let run = |name: &str, content: Vec<u8>, from: &str| {
        let f = Fixture::new();
        f.file("source", name, content)
            .file("source", "dir/x.yaml", "x");
        f.build(vec![with(Strategy::Extract, from, "@artifact/")])
            .unwrap_err()
    };
    let invalid = run(
        "invalid.tgz",
        b"this is not a tarball".to_vec(),
        "@source/invalid.tgz",
    );
    assert!(
        invalid.contains(": failed to extract tarball \"invalid.tgz\" to \""),
        "{invalid}"
    );
    assert!(
        invalid.ends_with("out\": requires gzip-compressed body: gzip: invalid header"),
        "{invalid}"
    );
    assert!(
        run("c.yaml", b"a: 1".to_vec(), "@source/c.yaml")
            .ends_with("extract strategy requires tarball file (.tar.gz or .tgz), got 'c.yaml'")
    );
    assert!(
        run("c.yaml", b"a: 1".to_vec(), "@source/dir")
            .ends_with("extract strategy is not supported for directories, got 'dir'")
    );
    assert!(
        run("c.yaml", b"a: 1".to_vec(), "@source/*.tgz")
            .ends_with("no files match pattern '*.tgz' in source 'source'")
    );
    let symlink = run("s.tgz", tarball(&[("link", b'2', "")]), "@source/s.tgz");
    assert!(
        symlink.ends_with("tar file entry link is a symlink, which is not allowed in this context"),
        "{symlink}"
    );
    let climbing = run("s.tgz", tarball(&[("../x", b'0', "x")]), "@source/s.tgz");
    assert!(
        climbing.ends_with("tar contained invalid name error \"../x\""),
        "{climbing}"
    );
    let global = run(
        "s.tgz",
        tarball(&[("pax_global_header", b'g', "")]),
        "@source/s.tgz",
    );
    assert!(global.contains("is a PAX global header"), "{global}");
    let fifo = run("s.tgz", tarball(&[("pipe", b'6', "")]), "@source/s.tgz");
    assert!(
        fifo.ends_with("tar file entry pipe contained unsupported file type prw-r--r--"),
        "{fifo}"
    );
    // `..` staying inside the artifact is Go's Join; leaving it is refused.
    let f = Fixture::new();
    f.file("source", "s.tgz", manifests("x"));
    let message = f
        .build(vec![with(
            Strategy::Extract,
            "@source/s.tgz",
            "@artifact/../../x",
        )])
        .unwrap_err();
    assert!(message.contains("path escapes from parent"), "{message}");
}

#[test]
fn symlinks_and_escapes_are_refused() {
    let f = Fixture::new();
    f.file("source", "dir/a.yaml", "a")
        .file("source", "b.yaml", "b");
    std::os::unix::fs::symlink("b.yaml", f.root("source").join("dir/link.yaml")).unwrap();
    std::os::unix::fs::symlink("dir", f.root("source").join("linked")).unwrap();
    let refused = |from: &str| f.build(vec![op(from, "@artifact/")]).unwrap_err();
    assert!(refused("@source/dir").contains("'dir/link.yaml' in source 'source' is a symlink"));
    assert!(refused("@source/linked/a.yaml").contains("'linked' in source 'source' is a symlink"));
    assert!(refused("@source/dir/*").contains("'dir/link.yaml' in source 'source' is a symlink"));
    assert!(refused("@source/../sources/source/b.yaml").ends_with("failed to stat source '../sources/source/b.yaml': statat ../sources/source/b.yaml: path escapes from parent"));
    assert!(refused("@source//b.yaml").ends_with("statat /b.yaml: path escapes from parent"));
    // `..` inside the source is cleaned away first.
    let tree = f
        .build(vec![op("@source/dir/../b.yaml", "@artifact/")])
        .unwrap();
    assert_eq!(tree.files(), ["b.yaml"]);
    let message = f
        .build(vec![op("@source/b.yaml", "@artifact/../b.yaml")])
        .unwrap_err();
    assert!(message.contains("path escapes from parent"), "{message}");
    assert!(!f.tmp.path().join("b.yaml").exists());
    // The directory that fails is the first one source-watcher's recursion cannot make.
    let message = f
        .build(vec![op("@source/dir/", "@artifact//b/")])
        .unwrap_err();
    assert!(
        message.ends_with("mkdirat /: path escapes from parent"),
        "{message}"
    );
    let message = f
        .build(vec![op("@source/dir/", "@artifact/..")])
        .unwrap_err();
    assert!(
        message.ends_with("mkdirat ..: path escapes from parent"),
        "{message}"
    );
}

#[test]
fn the_archive_leaves_version_control_files_out() {
    let f = Fixture::new();
    f.file("source", "app.yaml", "a")
        .file("source", ".git/config", "c")
        .file("source", "sub/.gitignore", "x")
        .file("source", "sub/.gitattributes", "x")
        .file("source", "other/.git", "a file named .git stays");
    let tree = f.build(vec![op("@source/", "@artifact/")]).unwrap();
    assert_eq!(tree.files(), ["app.yaml", "other/.git"]);
    assert!(tree.has_dir("sub"));
}

#[test]
fn the_output_must_start_empty() {
    let f = Fixture::new();
    f.file("source", "a.yaml", "a");
    fs::create_dir_all(f.out()).unwrap();
    fs::write(f.out().join("stale"), "x").unwrap();
    let artifact = PlannedArtifact {
        name: "test".into(),
        labels: BTreeMap::new(),
        revision: None,
        origin_revision: None,
        copy: vec![op("@source/a.yaml", "@artifact/")],
    };
    let root = f.root("source");
    let message = build(&artifact, &|_| Some(root.clone()), &f.out()).unwrap_err();
    assert!(message.ends_with("is not empty: an artifact is built into an empty directory"));
}

fn generator(spec: serde_json::Value) -> Result<ArtifactGeneratorSpec, String> {
    ArtifactGeneratorSpec::read(&json!({
        "apiVersion": "source.extensions.fluxcd.io/v1beta1",
        "kind": "ArtifactGenerator",
        "metadata": {"name": "g", "namespace": "flux-system"},
        "spec": spec,
    }))
}

fn basic(artifacts: serde_json::Value) -> serde_json::Value {
    json!({
        "sources": [{"alias": "monorepo", "kind": "GitRepository", "name": "flux-system"}],
        "artifacts": artifacts,
    })
}

#[test]
fn reading_the_example_generator() {
    let text = "apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata:
  name: flux-system
  namespace: flux-system
spec:
  sources:
    - alias: monorepo
      kind: GitRepository
      name: flux-system
  artifacts:
    - name: infrastructure
      originRevision: \"@monorepo\"
      copy:
        - from: \"@monorepo/infrastructure/**\"
          to: \"@artifact/\"
    - name: apps
      originRevision: \"@monorepo\"
      copy:
        - from: \"@monorepo/apps/base/**\"
          to: \"@artifact/base/\"
        - from: \"@monorepo/apps/production/**\"
          to: \"@artifact/production/\"
";
    let object = crate::yaml::parse_document(text, crate::yaml::Dialect::GoYamlV2).unwrap();
    let spec = ArtifactGeneratorSpec::read(&object).unwrap();
    assert_eq!(
        spec.source("monorepo").unwrap().kind,
        SourceKind::GitRepository
    );
    let planned = spec.artifacts(&|_| None).unwrap();
    assert_eq!(planned.len(), 2);
    assert_eq!(planned[1].name, "apps");
    assert_eq!(planned[1].origin_revision.as_deref(), Some("monorepo"));
    assert_eq!(
        planned[1].copy[1],
        op("@monorepo/apps/production/**", "@artifact/production/")
    );
}

#[test]
fn reading_refuses_what_the_api_server_and_the_controller_refuse() {
    let copy = json!([{"from": "@monorepo/x", "to": "@artifact/"}]);
    assert!(
        generator(basic(json!([{"name": "a", "copy": copy, "extra": 1}])))
            .unwrap_err()
            .contains("unknown field `extra`")
    );
    // commonMetadata changes no file; nulls are absent.
    let mut spec = basic(json!([{"name": "a", "copy": copy, "revision": null}]));
    spec["commonMetadata"] = json!({"labels": {"team": "x"}});
    assert!(generator(spec).is_ok());
    let bad_strategy = json!([{"name": "a", "copy": [{"from": "@monorepo/x", "to": "@artifact/", "strategy": "Copy"}]}]);
    assert!(
        generator(basic(bad_strategy))
            .unwrap_err()
            .contains("unknown variant `Copy`")
    );
    assert_eq!(
        generator(basic(
            json!([{"name": "a", "copy": [{"from": "@Mono/x", "to": "@artifact/"}]}])
        ))
        .unwrap_err(),
        "ArtifactGenerator spec: spec.artifacts[0].copy[0].from: Invalid value: \"@Mono/x\": spec.artifacts[0].copy[0].from in body should match '^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)/(.*)$'"
    );
    assert!(
        generator(basic(
            json!([{"name": "a", "copy": [{"from": "@monorepo/x", "to": "@artifacts/"}]}])
        ))
        .unwrap_err()
        .contains("should match '^@(artifact)/(.*)$'")
    );
    assert!(
        generator(basic(json!([{"name": "a", "copy": []}])))
            .unwrap_err()
            .contains("spec.artifacts[0].copy in body should have at least 1 items")
    );
    assert!(
        generator(basic(json!([{"name": "Apps", "copy": copy}])))
            .unwrap_err()
            .ends_with(
                "artifact names must be valid Kubernetes object names when pathPattern is not set"
            )
    );
    assert_eq!(
        generator(basic(
            json!([{"name": "a", "copy": copy}, {"name": "a", "copy": copy}])
        ))
        .unwrap_err(),
        "duplicate artifact name 'a' found"
    );
    assert_eq!(
        generator(basic(
            json!([{"name": "a", "revision": "@other", "copy": copy}])
        ))
        .unwrap_err(),
        "artifact a revision source alias 'other' not found"
    );
    let mut twice = basic(json!([{"name": "a", "copy": copy}]));
    twice["sources"] = json!([
        {"alias": "x", "kind": "GitRepository", "name": "a"},
        {"alias": "x", "kind": "OCIRepository", "name": "b"},
    ]);
    assert_eq!(
        generator(twice).unwrap_err(),
        "duplicate source alias 'x' found"
    );
    let mut alias = basic(json!([{"name": "a", "copy": copy}]));
    alias["sources"][0]["alias"] = json!("Mono");
    assert!(
        generator(alias)
            .unwrap_err()
            .contains("spec.sources[0].alias: Invalid value: \"Mono\"")
    );
}

#[test]
fn an_artifact_named_as_a_source_is_refused() {
    let spec = generator(basic(
        json!([{"name": "monorepo", "copy": [{"from": "@monorepo/x", "to": "@artifact/"}]}]),
    ))
    .unwrap();
    assert!(
        spec.artifacts(&|_| None)
            .unwrap_err()
            .starts_with("artifact monorepo has the name of a source alias")
    );
}

#[test]
fn path_patterns_make_one_artifact_per_directory() {
    let f = Fixture::new();
    f.dir("monorepo", "apps/Auth/envs/prod")
        .dir("monorepo", "apps/auth-ui/envs/dev")
        .dir("monorepo", "apps/billing/envs/prod/extra")
        .dir("monorepo", "apps/billing/other")
        .file(
            "monorepo",
            "apps/billing/envs/staging",
            "a file, not a directory",
        );
    let mut spec = basic(json!([{
        "name": "{app}-{env}",
        "originRevision": "@monorepo",
        "copy": [{"from": "@monorepo/apps/{app}/envs/{env}/**", "to": "@artifact/{app}/"}],
    }]));
    spec["pathPattern"] = json!("@monorepo/apps/{app}/envs/{env}");
    let spec = generator(spec).unwrap();
    let root = f.root("monorepo");
    let planned = spec
        .artifacts(&|alias| (alias == "monorepo").then(|| root.clone()))
        .unwrap();
    let names: Vec<&str> = planned.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["auth-prod", "auth-ui-dev", "billing-prod"]);
    assert_eq!(planned[0].copy[0].from, "@monorepo/apps/Auth/envs/prod/**");
    assert_eq!(planned[0].copy[0].to, "@artifact/Auth/");
    assert_eq!(
        planned[0].labels,
        BTreeMap::from([("app".into(), "auth".into()), ("env".into(), "prod".into())])
    );
    assert_eq!(planned[0].origin_revision.as_deref(), Some("monorepo"));

    // Two directories, one name.
    f.dir("monorepo", "apps/auth/envs/prod");
    assert_eq!(
        spec.artifacts(&|_| Some(root.clone())).unwrap_err(),
        "failed to expand path pattern: pathPattern \"@monorepo/apps/{app}/envs/{env}\": directories \"apps/Auth/envs/prod\" and \"apps/auth/envs/prod\" both resolve to artifact name \"auth-prod\""
    );
    fs::remove_dir_all(root.join("apps/auth")).unwrap();

    // A capture that is no label value.
    f.dir("monorepo", "apps/.hidden/envs/prod");
    assert!(spec.artifacts(&|_| Some(root.clone())).unwrap_err().contains("captured value \".hidden\" for variable \"app\" is not a valid Kubernetes label value: a valid label must be an empty string"));

    // The source's root is needed.
    assert!(
        spec.artifacts(&|_| None)
            .unwrap_err()
            .ends_with("source alias monorepo not found in local sources")
    );
}

#[test]
fn path_pattern_templates_must_render() {
    let f = Fixture::new();
    f.dir("monorepo", "apps/a");
    let mut spec = basic(
        json!([{"name": "{app}-{env}", "copy": [{"from": "@monorepo/apps/{app}", "to": "@artifact/"}]}]),
    );
    spec["pathPattern"] = json!("@monorepo/apps/{app}");
    let spec = generator(spec).unwrap();
    let root = f.root("monorepo");
    assert_eq!(
        spec.artifacts(&|_| Some(root.clone())).unwrap_err(),
        "failed to expand path pattern: pathPattern \"@monorepo/apps/{app}\": failed to render artifact {app}-{env} for match apps/a: invalid template \"{app}-{env}\": capture variable \"env\" is not defined by pathPattern"
    );
    let mut spec =
        basic(json!([{"name": "{_app}", "copy": [{"from": "@monorepo/x", "to": "@artifact/"}]}]));
    spec["pathPattern"] = json!("@monorepo/apps/{_app}");
    let spec = generator(spec).unwrap();
    assert!(spec.artifacts(&|_| Some(root.clone())).unwrap_err().contains("capture variable \"_app\" is not a valid Kubernetes label key: name part must consist of"));
}

/// Path text of the pieces that matter to a copy operation: separators, `..`, globs,
/// the fixture's names.
fn path_text(pieces: &'static [&'static str]) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::strategy::Strategy;
    proptest::collection::vec(proptest::sample::select(pieces), 0..7).prop_map(|p| p.concat())
}

const PATH_PIECES: &[&str] = &[
    "/", "/", "/", "..", "..", "*", "**", "sub", "c.yaml", "x.tgz", "a", ".", "[", "]", "{", "}",
    "?", "\\", ",",
];
const EXCLUDE_PIECES: &[&str] = &[
    "/", "**", "*", "*.yaml", "sub", "c.yaml", "x.tgz", "a", "{a,b}",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Whatever `from`, `to` and `exclude` say, a build returns (a result or an error)
    /// and writes nothing outside its directory.
    #[test]
    fn builds_stay_inside_their_directory(
        from_alias in proptest::prop_oneof![
            6 => proptest::strategy::Just("@src/".to_string()),
            1 => proptest::strategy::Just("@other/".to_string()),
            1 => "[@a-z/.]{0,6}",
        ],
        from_path in path_text(PATH_PIECES),
        to_root in proptest::prop_oneof![
            6 => proptest::strategy::Just("@artifact/".to_string()),
            1 => "[@a-z/.]{0,10}",
        ],
        to_path in path_text(PATH_PIECES),
        exclude in proptest::collection::vec(path_text(EXCLUDE_PIECES), 0..3),
        strategy in proptest::sample::select(vec![Strategy::Overwrite, Strategy::Merge, Strategy::Extract]),
        twice in proptest::bool::ANY,
    ) {
        let f = Fixture::new();
        f.file("src", "c.yaml", "a: 1\n")
            .file("src", "sub/c.yaml", "b: 2\n")
            .file("src", "sub/x.tgz", manifests("sub"))
            .file("src", "x.tgz", tarball(&[("../../escape", b'0', "x"), ("a/../../../up", b'5', "")]))
            .file("src", "a/x.tgz", tarball(&[("a/..", b'5', ""), ("c.yaml", b'0', "c: 3\n")]))
            .file("src", "a/b/deep.yaml", "- list\n");
        fs::create_dir_all(f.tmp.path().join("sources/other")).unwrap();
        fs::write(f.tmp.path().join("sentinel"), "untouched").unwrap();
        let before = Tree::read(f.tmp.path());
        let operation = CopyOperation {
            from: from_alias + &from_path,
            to: to_root + &to_path,
            exclude,
            strategy,
        };
        let mut copy = vec![operation.clone()];
        if twice {
            copy.push(operation);
        }
        let _ = f.build(copy);
        let mut after = Tree::read(f.tmp.path());
        after.0.retain(|path, _| !path.starts_with("out/"));
        after.0.remove("out/");
        proptest::prop_assert_eq!(before, after);
    }
}

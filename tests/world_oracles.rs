//! Oracle outputs of the fixture world (`fixtures/world/`): the real `kubectl kustomize` and
//! `helm template` run over the repositories `tools/world-repos` builds, and their outputs
//! are kept as snapshots (`snapshots/world_oracles__*.snap`). crunch's own build of the
//! world is compared against these.
//!
//! The chain is the one Flux walks in a cluster. The customer overlay is built with the
//! umbrella's remote base fetched by git through a `url.<mirror>.insteadOf` rewrite. The
//! `bigbang` HelmRelease's `valuesFrom` (ConfigMaps and Secrets in order, a Secret's
//! `stringData` folded over its `data`) feeds `helm template` of the umbrella chart at its
//! GitRepository's ref. Every package HelmRelease the umbrella emits is rendered the same
//! way from its own GitRepository, with the `common`/`defaults`/`overlays` layers of its
//! values Secret.

#[path = "support/oracle.rs"]
mod oracle;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// The host every remote URL of the world uses.
const HOST: &str = "https://repo1.example.mil/";

/// API versions of the cluster profile in `fixtures/world/customer/crunch.yaml`.
const API_VERSIONS: [&str; 2] = [
    "monitoring.coreos.com/v1",
    "monitoring.coreos.com/v1/ServiceMonitor",
];

/// Kubernetes version of an environment, as `fixtures/world/customer/crunch.yaml` sets it.
fn kube_version(env: &str) -> &'static str {
    match env {
        "prod" => "v1.34.1",
        _ => "v1.33.0",
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a command to success and returns its standard output.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn snapshot(name: &str, description: &str, output: &str) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        description => description,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, output);
    });
}

/// The built repositories, a git configuration that mirrors [`HOST`] onto them, and an
/// empty home, all in one temporary directory.
struct World {
    tmp: tempfile::TempDir,
}

impl World {
    fn build() -> World {
        let tmp = tempfile::tempdir().expect("temp dir");
        let repos = tmp.path().join("repos");
        run(Command::new(root().join("tools/world-repos")).arg(&repos));
        fs::create_dir(tmp.path().join("home")).expect("home dir");
        let config = format!(
            "[url \"file://{}/\"]\n\tinsteadOf = {HOST}\n",
            repos.display()
        );
        fs::write(tmp.path().join("gitconfig"), config).expect("gitconfig");
        World { tmp }
    }

    /// A command that sees only the world's git configuration.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.isolate(&mut cmd);
        cmd
    }

    fn isolate(&self, cmd: &mut Command) {
        cmd.env("HOME", self.tmp.path().join("home"))
            .env("GIT_CONFIG_GLOBAL", self.tmp.path().join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1");
    }

    /// `kubectl kustomize` of a directory or remote URL.
    fn kustomize(&self, target: &str) -> String {
        let mut cmd = oracle::kubectl();
        self.isolate(&mut cmd);
        run(cmd
            .arg("kustomize")
            .arg(target)
            .current_dir(self.tmp.path()))
    }

    /// A work tree of `url` at `reference`, cloned through the mirror.
    fn checkout(&self, url: &str, reference: &str) -> PathBuf {
        let name = format!("{url}@{reference}").replace(['/', ':'], "_");
        let dir = self.tmp.path().join("checkouts").join(name);
        if !dir.exists() {
            run(self
                .command("git")
                .args(["clone", "-q", "--branch", reference, url])
                .arg(&dir));
        }
        dir
    }

    /// The release tags of a repository (`X.Y.Z-bb.N`), oldest first.
    fn release_tags(&self, url: &str) -> Vec<String> {
        let path = url.strip_prefix(HOST).expect("a world URL");
        let git_dir = self.tmp.path().join("repos").join(path);
        run(self.command("git").arg("--git-dir").arg(git_dir).args([
            "tag",
            "--list",
            "*-bb.*",
            "--sort=v:refname",
        ]))
        .lines()
        .map(str::to_owned)
        .collect()
    }

    /// `helm template` of a HelmRelease found in `objects`, as helm-controller would
    /// install it; `reference` overrides the ref of its GitRepository.
    fn render(
        &self,
        release: &Node,
        objects: &[Node],
        env: &str,
        reference: Option<&str>,
    ) -> Render {
        let spec = release.get(&["spec"]).expect("HelmRelease spec");
        let name = release
            .str(&["metadata", "name"])
            .expect("HelmRelease name");
        let chart = spec.str(&["chart", "spec", "chart"]).expect("chart path");
        let source_name = spec
            .str(&["chart", "spec", "sourceRef", "name"])
            .expect("sourceRef name");
        let source = find(objects, "GitRepository", source_name);
        let url = source.str(&["spec", "url"]).expect("GitRepository url");
        let reference = reference
            .or_else(|| source.str(&["spec", "ref", "tag"]))
            .or_else(|| source.str(&["spec", "ref", "branch"]))
            .expect("a tag or branch ref");
        let namespace = spec
            .str(&["targetNamespace"])
            .or_else(|| release.str(&["metadata", "namespace"]))
            .expect("a namespace");
        // helm-controller's default release name is <targetNamespace>-<name>.
        let release_name = match (spec.str(&["releaseName"]), spec.str(&["targetNamespace"])) {
            (Some(explicit), _) => explicit.to_owned(),
            (None, Some(target)) => format!("{target}-{name}"),
            (None, None) => name.to_owned(),
        };
        let kube = kube_version(env);

        let values_dir = tempfile::tempdir_in(self.tmp.path()).expect("values dir");
        let mut cmd = oracle::helm();
        cmd.args(["template", &release_name])
            .arg(self.checkout(url, reference).join(chart))
            .args([
                "--namespace",
                namespace,
                "--kube-version",
                kube,
                "--include-crds",
            ]);
        for api in API_VERSIONS {
            cmd.args(["--api-versions", api]);
        }
        let mut labels = Vec::new();
        for (i, (label, content)) in values_from(release, objects).iter().enumerate() {
            let file = values_dir.path().join(format!("{i}.yaml"));
            fs::write(&file, content).expect("values file");
            cmd.arg("--values").arg(file);
            labels.push(label.clone());
        }
        let description = format!(
            "helm template {release_name} {url}@{reference}:{chart} --namespace {namespace} \
             --kube-version {kube} --include-crds --api-versions {}\nvalues (in order): {}",
            API_VERSIONS.join(","),
            labels.join(", ")
        );
        Render {
            output: run(&mut cmd),
            description,
        }
    }
}

/// One `helm template` run: its output and the inputs that produced it.
struct Render {
    output: String,
    description: String,
}

/// The values helm-controller passes to Helm for a HelmRelease: its `valuesFrom` entries in
/// order, each the key `valuesKey` (default `values.yaml`) of a ConfigMap or Secret, a
/// Secret's `stringData` folded over its `data` as the API server does. Absent optional
/// entries are skipped.
fn values_from(release: &Node, objects: &[Node]) -> Vec<(String, String)> {
    let mut layers = Vec::new();
    for entry in release.items(&["spec", "valuesFrom"]) {
        let kind = entry.str(&["kind"]).expect("valuesFrom kind");
        let name = entry.str(&["name"]).expect("valuesFrom name");
        let key = entry.str(&["valuesKey"]).unwrap_or("values.yaml");
        let Some(object) = objects.iter().find(|o| o.is(kind, name)) else {
            assert_eq!(
                entry.str(&["optional"]),
                Some("true"),
                "valuesFrom {kind}/{name} is missing and not optional"
            );
            continue;
        };
        let content = match (kind, object.str(&["stringData", key])) {
            ("Secret", Some(plain)) => plain.to_owned(),
            ("Secret", None) => base64_decode(object.str(&["data", key]).expect("Secret key")),
            _ => object
                .str(&["data", key])
                .expect("ConfigMap key")
                .to_owned(),
        };
        layers.push((format!("{kind}/{name}:{key}"), content));
    }
    layers
}

fn find<'a>(objects: &'a [Node], kind: &str, name: &str) -> &'a Node {
    objects
        .iter()
        .find(|o| o.is(kind, name))
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
}

/// The environments of the customer repo, each built with `kubectl kustomize`.
fn environment(world: &World, env: &str) -> Vec<Node> {
    let dir = root().join("fixtures/world/customer").join(env);
    parse_stream(&world.kustomize(dir.to_str().expect("UTF-8 path")))
}

/// The objects the umbrella chart renders for an environment, at the ref its
/// GitRepository pins.
fn umbrella(world: &World, env: &str) -> Vec<Node> {
    let objects = environment(world, env);
    let render = world.render(
        find(&objects, "HelmRelease", "bigbang"),
        &objects,
        env,
        None,
    );
    parse_stream(&render.output)
}

fn package_releases(objects: &[Node]) -> impl Iterator<Item = &Node> {
    objects
        .iter()
        .filter(|o| o.str(&["kind"]) == Some("HelmRelease"))
}

fn source_url<'a>(objects: &'a [Node], release: &Node) -> &'a str {
    let source = release
        .str(&["spec", "chart", "spec", "sourceRef", "name"])
        .expect("sourceRef name");
    find(objects, "GitRepository", source)
        .str(&["spec", "url"])
        .expect("GitRepository url")
}

#[test]
fn world_repos_are_reproducible() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let build = |name: &str| {
        let listing =
            run(Command::new(root().join("tools/world-repos")).arg(tmp.path().join(name)));
        // The listing names repositories relative to OUT_DIR, so two builds compare equal.
        assert!(
            !listing.contains(&tmp.path().display().to_string()),
            "{listing}"
        );
        listing
    };
    let first = build("a");
    assert_eq!(first, build("b"));
    // Rebuilding into an existing OUT_DIR replaces it.
    assert_eq!(first, build("a"));
    snapshot("world_repos_refs", "tools/world-repos OUT_DIR", &first);
}

#[test]
fn customer_overlays_build_with_the_remote_base() {
    let world = World::build();
    for env in ["dev", "prod"] {
        let dir = root().join("fixtures/world/customer").join(env);
        let output = world.kustomize(dir.to_str().expect("UTF-8 path"));
        let objects = parse_stream(&output);
        let release = find(&objects, "HelmRelease", "bigbang");
        // Every generated ConfigMap and Secret reaches valuesFrom under its hashed name.
        for entry in release.items(&["spec", "valuesFrom"]) {
            let name = entry.str(&["name"]).expect("name");
            let generated = ["common-", "environment-"]
                .iter()
                .any(|p| name.starts_with(p));
            if generated {
                assert!(
                    objects
                        .iter()
                        .any(|o| o.str(&["metadata", "name"]) == Some(name)),
                    "{env}: valuesFrom {name} has no object"
                );
            }
        }
        snapshot(
            &format!("kustomize_{env}"),
            &format!("kubectl kustomize fixtures/world/customer/{env}"),
            &output,
        );
    }
    let base = format!("{HOST}big-bang/bigbang.git//base?ref=3.0.0");
    snapshot(
        "kustomize_umbrella_base_3_0_0",
        &format!("kubectl kustomize {base}"),
        &world.kustomize(&base),
    );
}

#[test]
fn umbrella_chart_renders_at_every_ref() {
    let world = World::build();
    for env in ["dev", "prod"] {
        let objects = environment(&world, env);
        let release = find(&objects, "HelmRelease", "bigbang");
        for reference in ["3.0.0", "3.1.0", "main"] {
            let render = world.render(release, &objects, env, Some(reference));
            let name = format!("umbrella_{}_{env}", reference.replace('.', "_"));
            snapshot(&name, &render.description, &render.output);
        }
    }
}

#[test]
fn package_charts_render_at_every_tag() {
    let world = World::build();
    // The dev layers exercise every package: all three are enabled there.
    let objects = umbrella(&world, "dev");
    for release in package_releases(&objects) {
        let name = release.str(&["metadata", "name"]).expect("name");
        let tags = world.release_tags(source_url(&objects, release));
        assert!(tags.len() >= 2, "{name}: {tags:?}");
        for tag in tags {
            let render = world.render(release, &objects, "dev", Some(&tag));
            let snap = format!("package_{name}_{}", tag.replace('.', "_"));
            snapshot(&snap, &render.description, &render.output);
        }
    }
}

#[test]
fn environments_render_end_to_end() {
    let world = World::build();
    for env in ["dev", "prod"] {
        let objects = umbrella(&world, env);
        let mut names = Vec::new();
        for release in package_releases(&objects) {
            let name = release.str(&["metadata", "name"]).expect("name");
            let render = world.render(release, &objects, env, None);
            snapshot(
                &format!("chain_{env}_{name}"),
                &render.description,
                &render.output,
            );
            names.push(name);
        }
        assert_eq!(names, ["haproxy", "logging", "monitoring"], "{env}");
    }
}

/// A node of the block-style YAML subset that `kubectl kustomize` and `helm template`
/// print; flow collections (`[a, b]`, `{}`) stay scalars, which is all these tests need.
#[derive(Debug)]
enum Node {
    Scalar(String),
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
}

impl Node {
    fn get(&self, path: &[&str]) -> Option<&Node> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k == first)
                .and_then(|(_, v)| v.get(rest)),
            _ => None,
        }
    }

    fn str(&self, path: &[&str]) -> Option<&str> {
        match self.get(path)? {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    fn items(&self, path: &[&str]) -> &[Node] {
        match self.get(path) {
            Some(Node::Seq(items)) => items,
            _ => &[],
        }
    }

    fn is(&self, kind: &str, name: &str) -> bool {
        self.str(&["kind"]) == Some(kind) && self.str(&["metadata", "name"]) == Some(name)
    }
}

/// The documents of a `---`-separated stream, empty ones dropped.
fn parse_stream(stream: &str) -> Vec<Node> {
    stream
        .split("\n---")
        .map(|doc| doc.strip_prefix("---").unwrap_or(doc))
        .filter_map(|doc| {
            let mut lines: Vec<String> = doc.lines().map(str::to_owned).collect();
            let mut i = 0;
            let node = parse_node(&mut lines, &mut i, 0);
            skip_blank(&lines, &mut i);
            assert_eq!(i, lines.len(), "unparsed YAML at line {i}:\n{doc}");
            matches!(&node, Node::Map(entries) if !entries.is_empty()).then_some(node)
        })
        .collect()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn skip_blank(lines: &[String], i: &mut usize) {
    while lines
        .get(*i)
        .is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        *i += 1;
    }
}

fn is_item(line: &str, at: usize) -> bool {
    indent(line) == at && (line[at..].starts_with("- ") || &line[at..] == "-")
}

fn parse_node(lines: &mut Vec<String>, i: &mut usize, at: usize) -> Node {
    skip_blank(lines, i);
    let Some(line) = lines.get(*i) else {
        return Node::Scalar(String::new());
    };
    if is_item(line, at) {
        let mut items = Vec::new();
        while lines.get(*i).is_some_and(|l| is_item(l, at)) {
            // The item's content sits two columns right of the dash.
            let end = (at + 2).min(lines[*i].len());
            lines[*i].replace_range(at..end, "  ");
            items.push(parse_node(lines, i, at + 2));
            skip_blank(lines, i);
        }
        return Node::Seq(items);
    }
    let text = line.trim();
    let Some((key, rest)) = map_entry(text) else {
        *i += 1;
        return Node::Scalar(unquote(text));
    };
    let mut entries = Vec::new();
    let (mut key, mut rest) = (key.to_owned(), rest.to_owned());
    loop {
        *i += 1;
        let value = if rest.is_empty() {
            skip_blank(lines, i);
            match lines.get(*i) {
                Some(next) if indent(next) > at => {
                    let deeper = indent(next);
                    parse_node(lines, i, deeper)
                }
                Some(next) if is_item(next, at) => parse_node(lines, i, at),
                _ => Node::Scalar(String::new()),
            }
        } else if let Some(header) = rest.strip_prefix('|') {
            Node::Scalar(block_scalar(lines, i, at, header))
        } else {
            Node::Scalar(unquote(&rest))
        };
        entries.push((key, value));
        skip_blank(lines, i);
        match lines.get(*i) {
            Some(next) if indent(next) == at && !is_item(next, at) => {
                let (k, r) =
                    map_entry(next.trim()).unwrap_or_else(|| panic!("not a map entry: {next}"));
                (key, rest) = (k.to_owned(), r.to_owned());
            }
            _ => return Node::Map(entries),
        }
    }
}

/// `key: rest` or `key:`; a quoted or dashed line is no map entry.
fn map_entry(text: &str) -> Option<(&str, &str)> {
    if text.starts_with(['"', '\'', '{', '[']) {
        return None;
    }
    if let Some(key) = text.strip_suffix(':') {
        return Some((key, ""));
    }
    text.split_once(": ").map(|(k, r)| (k, r.trim()))
}

/// A literal block scalar after `key: |<header>` at indentation `at`.
fn block_scalar(lines: &[String], i: &mut usize, at: usize, header: &str) -> String {
    let strip = header.contains('-');
    assert!(
        !header.contains('+'),
        "keep chomping is not used by the oracles"
    );
    let explicit: Option<usize> = header.trim_matches('-').parse().ok();
    let start = *i;
    while lines
        .get(*i)
        .is_some_and(|l| l.trim().is_empty() || indent(l) > at)
    {
        *i += 1;
    }
    let body = &lines[start..*i];
    let width = explicit.map(|n| at + n).unwrap_or_else(|| {
        body.iter()
            .find(|l| !l.trim().is_empty())
            .map_or(0, |l| indent(l))
    });
    let mut text: Vec<&str> = body.iter().map(|l| l.get(width..).unwrap_or("")).collect();
    while text.last().is_some_and(|l| l.is_empty()) {
        text.pop();
    }
    let joined = text.join("\n");
    if strip || joined.is_empty() {
        joined
    } else {
        joined + "\n"
    }
}

fn unquote(text: &str) -> String {
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match (c, c == '\\') {
                (_, true) => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => {}
                },
                (c, false) => out.push(c),
            }
        }
        return out;
    }
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return inner.replace("''", "'");
    }
    text.to_owned()
}

fn base64_decode(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64 digit");
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    String::from_utf8(bytes).expect("UTF-8 values")
}

#[test]
fn the_reader_handles_what_the_oracles_print() {
    let doc = "---\n# Source: x\nkind: Secret\nmetadata:\n  name: s\nlist:\n- a: 1\n  b: \"two\"\n- plain\nstringData:\n  k: |\n    x: 1\n\n    y: 2\n  e: \"\"\n";
    let nodes = parse_stream(doc);
    assert_eq!(nodes.len(), 1);
    let node = &nodes[0];
    assert!(node.is("Secret", "s"));
    assert_eq!(node.items(&["list"])[0].str(&["b"]), Some("two"));
    assert_eq!(node.items(&["list"])[1].str(&[]), Some("plain"));
    assert_eq!(node.str(&["stringData", "k"]), Some("x: 1\n\ny: 2\n"));
    assert_eq!(node.str(&["stringData", "e"]), Some(""));
    assert_eq!(base64_decode("aGk6IDEK"), "hi: 1\n");
}

//! Helm HTTP chart repositories (`crunch::source::helm_repo`) against the real `helm`: the
//! charts in `fixtures/helm-repo/` are packaged and indexed by the oracle and served on
//! 127.0.0.1 ([`ChartRepo`]); crunch reads the same index, picks versions, downloads and
//! renders archives, and must agree with `helm pull` and `helm template` (or, where Helm's
//! CLI and Flux's source-controller differ, with source-controller's rule, as said there).

use std::path::{Path, PathBuf};

use crunch::source::BasicAuth;
use crunch::source::helm_repo::{
    self, ChartVersion, HttpError, HttpSource, IndexFile, chart_url, credentials_for,
};

use crate::support::chartrepo::{ChartRepo, Packager, copy_tree};
use crate::support::diff;

/// The versions `webapp` is packaged at: releases, build metadata, a pre-release, and
/// `1.10.0` to tell numeric from text order.
const WEBAPP_VERSIONS: &[&str] = &[
    "0.9.0",
    "1.0.0",
    "1.2.0",
    "1.2.3",
    "1.2.4+build.7",
    "1.10.0",
    "2.0.0-rc.1",
];

/// A repository directory holding `webapp` at [`WEBAPP_VERSIONS`] and `frontend` (with
/// `webapp` 1.2.3 vendored), all packaged by `helm`; not yet indexed.
struct Charts {
    scratch: tempfile::TempDir,
    dir: PathBuf,
    packager: Packager,
}

fn package_charts(versions: &[&str], frontend: bool) -> Charts {
    let scratch = tempfile::tempdir().expect("scratch dir");
    let work = scratch.path().join("work");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/helm-repo"),
        &work,
    );
    let dir = scratch.path().join("repo");
    std::fs::create_dir_all(&dir).expect("create the repository dir");
    let packager = Packager::new();
    for version in versions {
        packager.package(&work.join("webapp"), &dir, Some(version), false);
    }
    if frontend {
        packager.package(&work.join("frontend"), &dir, None, true);
    }
    Charts {
        scratch,
        dir,
        packager,
    }
}

/// The index `repo` serves, read by crunch.
fn read_index(http: &HttpSource, repo: &ChartRepo, auth: Option<&BasicAuth>) -> IndexFile {
    let url = helm_repo::index_url(&repo.url()).expect("index URL");
    let bytes = http.get(&url, auth).expect("fetch the index");
    IndexFile::parse(&bytes).expect("read the index")
}

/// What `helm pull CHART --repo URL [--version VERSION]` did: the version it saved, or
/// its error message.
fn helm_pull(
    packager: &Packager,
    scratch: &Path,
    url: &str,
    chart: &str,
    version: &str,
) -> Result<String, String> {
    let out = tempfile::tempdir_in(scratch).expect("pull destination");
    let mut helm = packager.helm();
    helm.args(["pull", chart, "--repo", url, "--destination"])
        .arg(out.path());
    if !version.is_empty() {
        helm.args(["--version", version]);
    }
    let output = helm.output().expect("run helm pull");
    if !output.status.success() {
        // Warnings (skipped index entries) come first; the error is last.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let error = stderr.rsplit_once("Error: ").map_or(&*stderr, |(_, e)| e);
        return Err(error.trim().to_string());
    }
    let saved: Vec<String> = std::fs::read_dir(out.path())
        .expect("list the pull destination")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let [file] = saved.as_slice() else {
        panic!("helm pull saved {saved:?}");
    };
    let version = file
        .strip_prefix(&format!("{chart}-"))
        .and_then(|f| f.strip_suffix(".tgz"))
        .expect("helm pull saves CHART-VERSION.tgz");
    Ok(version.to_string())
}

#[test]
fn resolution_matches_helm_pull() {
    let charts = package_charts(WEBAPP_VERSIONS, false);
    let repo = ChartRepo::start(&charts.dir);
    charts.packager.index(&charts.dir, Some(&repo.url()));
    let index = read_index(&HttpSource::new(None, None).unwrap(), &repo, None);
    let mut mismatches = Vec::new();
    for constraint in [
        "",
        "*",
        "1.x",
        "1.2.x",
        "~1.2.0",
        "^1.2",
        ">=1.0.0-0",
        ">=2.0.0-0",
        "<2",
        "<1.2.4",
        ">1.2.3 <1.10.0",
        "1.0 - 1.2",
        "0.9.0 || 1.0.0",
        "1.2.3",
        "=1.2.3",
        "v1.2.3",
        "2.0.0-rc.1",
        "1.2.4+build.7",
        // No entry is spelled `1.2.4`: as a constraint it matches 1.2.4+build.7 alone.
        "1.2.4",
        ">=3",
        "~0.1",
    ] {
        let ours = index
            .resolve("webapp", constraint)
            .map(|v| v.version.clone())
            .map_err(|e| e.to_string());
        let helm = helm_pull(
            &charts.packager,
            charts.scratch.path(),
            &repo.url(),
            "webapp",
            constraint,
        );
        match (&ours, &helm) {
            (Ok(a), Ok(b)) if a == b => {}
            // Both refuse; crunch words it as source-controller does.
            (Err(ours), Err(_)) => assert_eq!(
                *ours,
                format!("no 'webapp' chart with version matching '{constraint}' found")
            ),
            _ => mismatches.push(format!("{constraint:?}: crunch {ours:?}, helm {helm:?}")),
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    let missing = index.resolve("nothing", "").map_err(|e| e.to_string());
    assert_eq!(missing, Err("no chart name found".to_string()));
}

/// Versions equal by precedence (`3.0.0+a`, `3.0.0+b`): `helm pull` takes the first in the
/// index's order, source-controller the latest `created`. crunch follows source-controller,
/// so this is checked against its rule, with the index's times set so that the two differ.
#[test]
fn equal_versions_pick_the_latest_created_as_source_controller_does() {
    let charts = package_charts(&["3.0.0+a", "3.0.0+b"], false);
    let repo = ChartRepo::start(&charts.dir);
    charts.packager.index(&charts.dir, Some(&repo.url()));
    let index_file = charts.dir.join("index.yaml");
    let text = std::fs::read_to_string(&index_file).expect("read index.yaml");
    // `3.0.0+a` is listed first; make it the newest too.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let first_created = lines
        .iter()
        .position(|l| l.trim_start().starts_with("created:"))
        .expect("a created line");
    lines[first_created] = "    created: \"2999-01-01T00:00:00Z\"".to_string();
    std::fs::write(&index_file, lines.join("\n") + "\n").expect("write index.yaml");
    let index = read_index(&HttpSource::new(None, None).unwrap(), &repo, None);
    let listed: Vec<&str> = index.entries["webapp"]
        .iter()
        .map(|v| v.version.as_str())
        .collect();
    assert_eq!(listed, ["3.0.0+a", "3.0.0+b"]);
    let picked = index.resolve("webapp", "3.0.0").map(|v| v.version.clone());
    assert_eq!(picked, Ok("3.0.0+a".to_string()));
    // Make the other the newest: source-controller's pick follows `created`, not the order.
    let text = std::fs::read_to_string(&index_file).expect("read index.yaml");
    let rewritten = text.replacen("2999-01-01T00:00:00Z", "2000-01-01T00:00:00Z", 1);
    std::fs::write(&index_file, rewritten).expect("write index.yaml");
    let index = read_index(&HttpSource::new(None, None).unwrap(), &repo, None);
    let picked = index.resolve("webapp", ">=3").map(|v| v.version.clone());
    assert_eq!(picked, Ok("3.0.0+b".to_string()));
}

/// Hand-written indexes read by crunch and by `helm pull` (which reads them with the same
/// `loadIndex` steps source-controller takes): the same chart URL when the index reads, the
/// same message when it does not.
#[test]
fn index_reading_matches_helm() {
    let scratch = tempfile::tempdir().expect("scratch dir");
    let dir = scratch.path().join("repo");
    std::fs::create_dir_all(&dir).expect("create the repository dir");
    let repo = ChartRepo::start(&dir);
    let packager = Packager::new();
    let entry = "  a:\n  - name: a\n    urls: [a-1.0.0.tgz]\n";
    let cases: Vec<String> = [
        // Fine, or fine after Helm's coercions and skips.
        format!("apiVersion: v1\nentries:\n{entry}    version: 1.0.0\n"),
        format!("apiVersion: v1\nentries:\n{entry}    version: 1.0.0\n    digest: 12\n"),
        "apiVersion: v1\nentries:\n  a:\n  - {name: a, version: 1.0.0, urls: [3.5]}\n".to_string(),
        "APIVERSION: v1\nEntries:\n  a:\n  - {NAME: a, Version: 1.0.0, URLs: [x.tgz]}\n".to_string(),
        format!("apiVersion: v1\nentries:\n{entry}    version: 1.0.0\n    created: \"2021-06-23T7:44:55,5+24:00\"\n"),
        "apiVersion: v1\nentries:\n  a:\n  - {name: a, version: 2.0.0, type: plugin, urls: [bad.tgz]}\n  - {name: a, version: nope, urls: [bad.tgz]}\n  - {name: a, version: 1.5.0, maintainers: [~], urls: [bad.tgz]}\n  - {name: a, version: 1.0.0, urls: [good.tgz]}\n".to_string(),
        "apiVersion: v1\nentries:\n  a:\n  - {name: a, version: 1.0.0, urls: [dup.tgz], dependencies: [{name: x}, {name: x}]}\n".to_string(),
        format!("apiVersion: v1\nentries:\n  a:\n  - {{name: a, version: 1.0.0, urls: ['{}sub/a.tgz']}}\n", repo.url()),
        r#"{"apiVersion":"v1","entries":{"a":[{"name":"a","version":"1.0.0","colour":1,"urls":["a.tgz"]}]}}"#.to_string(),
        // Refused.
        format!("apiVersion: v1\nentries:\n{entry}    version: 1.0\n"),
        format!("apiVersion: v1\nentries:\n{entry}    version: 1.0.0\n    appVersion: 1.16\n"),
        format!("apiVersion: v1\nentries:\n{entry}    version: 1.0.0\n    colour: red\n"),
        format!("apiVersion: v1\nentries:\n{entry}    version: 1.0.0\n    version: 1.0.1\n"),
        format!("apiVersion: v1\nentries:\n{entry}    version: 1.0.0\n    maintainers: [{{name: 7}}]\n"),
        format!("apiVersion: v1\nentries:\n{entry}    version: 1.0.0\n    created: \"2021-06-23T17:44:55+25:00\"\n"),
        format!("apiVersion: v1\nentries:\n{entry}    version: 1.0.0\n    created: 2021-06-23\n"),
        r#"{"apiVersion":"v1","entries":{"a":[{"name":"a","version":"1.0.0","digest":5,"urls":["a.tgz"]}]}}"#.to_string(),
        "entries: {}\n".to_string(),
        "apiVersion: v1\nentries:\n  a: text\n".to_string(),
        "apiVersion: v1\nentries: [\n".to_string(),
    ]
    .into();
    let http = HttpSource::new(None, None).unwrap();
    let mut mismatches = Vec::new();
    for index_text in &cases {
        std::fs::write(dir.join("index.yaml"), index_text).expect("write index.yaml");
        let ours = read_and_locate(&http, &repo.url(), "a");
        let helm = match helm_pull(&packager, scratch.path(), &repo.url(), "a", "") {
            Ok(version) => Err(format!("helm saved a chart ({version}) that is not there")),
            // Helm fetches the archive it picked (there is none): that is its URL.
            Err(message) => match message
                .strip_prefix("failed to fetch ")
                .and_then(|m| m.strip_suffix(" : 404 Not Found"))
            {
                Some(url) => Ok(url.to_string()),
                None => Err(message
                    .split_once(" is not a valid chart repository or cannot be reached: ")
                    .map_or(message.clone(), |(_, why)| why.to_string())),
            },
        };
        if ours != helm {
            mismatches.push(format!(
                "{index_text}\n  crunch: {ours:?}\n  helm:   {helm:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// The URL crunch would fetch `chart` from (latest stable), or why the index does not read.
fn read_and_locate(http: &HttpSource, url: &str, chart: &str) -> Result<String, String> {
    let index_url = helm_repo::index_url(url).map_err(|e| e.to_string())?;
    let bytes = http.get(&index_url, None).map_err(|e| e.to_string())?;
    let index = IndexFile::parse(&bytes).map_err(|e| e.to_string())?;
    let entry = index.resolve(chart, "").map_err(|e| e.to_string())?;
    chart_url(url, entry).map_err(|e| e.to_string())
}

/// The HTTPS repository with its charts indexed, a client trusting its CA, and its
/// credentials.
struct Secured {
    charts: Charts,
    repo: ChartRepo,
    http: HttpSource,
    auth: BasicAuth,
}

fn secured() -> Secured {
    let charts = package_charts(&["1.2.3", "1.2.4+build.7"], true);
    let repo = ChartRepo::start_https(&charts.dir);
    charts.packager.index(&charts.dir, Some(&repo.url()));
    let ca = repo.ca_pem.clone().expect("the HTTPS server's CA");
    let http = HttpSource::new(Some(std::sync::Arc::new(ca.into_bytes())), None).unwrap();
    let (username, password) = repo.credentials.clone().expect("the server's credentials");
    Secured {
        charts,
        repo,
        http,
        auth: BasicAuth { username, password },
    }
}

/// Downloads `entry` from `secured` into a fresh directory; returns the directory, the
/// file and the outcome.
fn download(
    secured: &Secured,
    entry: &ChartVersion,
) -> (tempfile::TempDir, PathBuf, Result<String, HttpError>) {
    let url = chart_url(&secured.repo.url(), entry).expect("chart URL");
    assert!(credentials_for(&secured.repo.url(), &url, false));
    let dir = tempfile::tempdir_in(secured.charts.scratch.path()).expect("download dir");
    let dest = dir
        .path()
        .join(format!("{}-{}.tgz", entry.name, entry.version));
    let outcome = secured
        .http
        .download(&url, Some(&secured.auth), &dest, Some(&entry.digest));
    (dir, dest, outcome)
}

#[test]
fn downloads_over_https_with_basic_auth() {
    let secured = secured();
    let index = read_index(&secured.http, &secured.repo, Some(&secured.auth));
    let entry = index
        .resolve("webapp", "~1.2.0")
        .expect("resolve webapp")
        .clone();
    assert_eq!(entry.version, "1.2.4+build.7");
    let before = secured.repo.requests();
    let (_dir, dest, outcome) = download(&secured, &entry);
    let digest = outcome.expect("download webapp");
    assert_eq!(
        secured.repo.requests(),
        before + 1,
        "one request for one download"
    );
    assert_eq!(digest, entry.digest, "the digest is the index's");
    let served = std::fs::read(secured.charts.dir.join("webapp-1.2.4+build.7.tgz")).unwrap();
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        served,
        "the archive is the served one"
    );
    let last = secured.repo.requested_paths().pop();
    assert_eq!(last.as_deref(), Some("/webapp-1.2.4+build.7.tgz"));
}

#[test]
fn a_wrong_digest_in_the_index_leaves_no_file() {
    let secured = secured();
    let index_file = secured.charts.dir.join("index.yaml");
    let text = std::fs::read_to_string(&index_file).expect("read index.yaml");
    let index = IndexFile::parse(text.as_bytes()).expect("read the index");
    let real = index
        .resolve("webapp", "1.2.3")
        .expect("webapp 1.2.3")
        .digest
        .clone();
    // Letters, so that YAML reads it as a string (64 zeros would read as the number 0).
    let forged = "fe".repeat(32);
    std::fs::write(&index_file, text.replace(&real, &forged)).expect("write index.yaml");
    let index = read_index(&secured.http, &secured.repo, Some(&secured.auth));
    let entry = index
        .resolve("webapp", "1.2.3")
        .expect("webapp 1.2.3")
        .clone();
    let (dir, dest, outcome) = download(&secured, &entry);
    match outcome {
        Err(HttpError::DigestMismatch {
            expected, actual, ..
        }) => {
            assert_eq!((expected, actual), (forged, real));
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert!(!dest.exists(), "no file where the download was to go");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "nothing left beside it: {left:?}");
}

#[test]
fn fetch_failures_are_told_apart() {
    let secured = secured();
    let index_url = helm_repo::index_url(&secured.repo.url()).unwrap();
    let wrong = BasicAuth {
        username: secured.auth.username.clone(),
        password: "not-the-password".into(),
    };
    let unauthorized = secured.http.get(&index_url, Some(&wrong)).unwrap_err();
    assert!(
        matches!(unauthorized, HttpError::Unauthorized { status: 401, .. }),
        "{unauthorized:?}"
    );
    let message = unauthorized.to_string();
    assert!(
        message.contains(&index_url) && !message.contains("not-the-password"),
        "{message}"
    );
    let anonymous = secured.http.get(&index_url, None).unwrap_err();
    assert!(
        matches!(anonymous, HttpError::Unauthorized { .. }),
        "{anonymous:?}"
    );

    let missing = format!("{}nothing-1.0.0.tgz", secured.repo.url());
    let not_found = secured.http.get(&missing, Some(&secured.auth)).unwrap_err();
    assert!(
        matches!(not_found, HttpError::NotFound { .. }),
        "{not_found:?}"
    );
    assert!(not_found.to_string().contains(&missing), "{not_found}");

    // Without the repository's CA the TLS handshake fails: unreachable.
    let untrusting = HttpSource::new(None, None).unwrap();
    let tls = untrusting.get(&index_url, Some(&secured.auth)).unwrap_err();
    assert!(matches!(tls, HttpError::Unreachable { .. }), "{tls:?}");

    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("https://127.0.0.1:{port}/index.yaml");
    let unreachable = secured.http.get(&closed, Some(&secured.auth)).unwrap_err();
    assert!(
        matches!(unreachable, HttpError::Unreachable { .. }),
        "{unreachable:?}"
    );
    assert!(
        unreachable
            .to_string()
            .starts_with(&format!("cannot reach {closed}: ")),
        "{unreachable}"
    );

    // A client certificate given is loaded and offered (this server asks for none); one
    // that does not read is refused.
    let other = crate::support::tls::TestCa::new();
    let ca = std::sync::Arc::new(secured.repo.ca_pem.clone().unwrap().into_bytes());
    let identity = (
        other.server_cert_pem.into_bytes(),
        other.server_key_pem.into_bytes(),
    );
    let with_identity = HttpSource::new(Some(ca.clone()), Some(identity)).unwrap();
    assert!(with_identity.get(&index_url, Some(&secured.auth)).is_ok());
    let bad_identity = HttpSource::new(Some(ca), Some((b"no".to_vec(), b"pem".to_vec())));
    assert!(
        matches!(bad_identity, Err(HttpError::Setup { .. })),
        "{bad_identity:?}"
    );

    // The CA must be PEM.
    let bad_ca = HttpSource::new(
        Some(std::sync::Arc::new(b"not a certificate".to_vec())),
        None,
    );
    assert!(matches!(bad_ca, Err(HttpError::Setup { .. })), "{bad_ca:?}");
}

/// The archive crunch downloads renders with crunch's Helm as `helm template` renders it
/// (the dependency vendored inside it included).
#[test]
fn downloaded_archive_renders_as_helm_template() {
    use crunch::helm::{self as engine, Capabilities, RenderOptions};

    let secured = secured();
    let index = read_index(&secured.http, &secured.repo, Some(&secured.auth));
    let entry = index
        .resolve("frontend", "")
        .expect("resolve frontend")
        .clone();
    let (_dir, archive, outcome) = download(&secured, &entry);
    outcome.expect("download frontend");

    let options = RenderOptions {
        release_name: "shop".into(),
        namespace: "web".into(),
        capabilities: Capabilities::helm_template(None, &[]),
        ..RenderOptions::default()
    };
    let chart = engine::load_chart(&archive).expect("load the archive");
    let rendered = engine::render_values(chart, &serde_json::Map::new(), &options).expect("render");
    let ours = engine::template_output(&rendered, &options);

    let output = secured
        .charts
        .packager
        .helm()
        .args(["template", "shop"])
        .arg(&archive)
        .args(["--namespace", "web"])
        .output()
        .expect("run helm template");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let theirs = String::from_utf8(output.stdout).expect("helm prints UTF-8");
    assert!(
        theirs.contains("kind: Deployment"),
        "the vendored webapp renders:\n{theirs}"
    );
    assert_eq!(ours, theirs, "{}", diff::unified(&theirs, &ours));
}

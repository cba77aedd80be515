//! The miniature Big Bang world for end-to-end tests: its repositories built by
//! `tools/world-repos`, a private copy of the customer repo, a private cache, and runs of
//! the `crunch` binary against them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use crunch::seal::KEY_FILE;

use super::gitserver::GitServers;

/// The fixture enclave's age identity (a TEST KEY, committed), which opens the Secrets
/// the world's bundles seal.
pub fn enclave_identity() -> PathBuf {
    root().join("fixtures/world/enclave-age-key.txt")
}

/// The prefix every world URL starts with.
pub const REMOTE: &str = "https://repo1.example.mil/";

/// One isolated copy of the world.
pub struct World {
    /// Holds everything below; removed on drop.
    pub tmp: tempfile::TempDir,
    /// The customer repo copy (tests may edit it).
    pub customer: PathBuf,
    /// Bare repositories, as `tools/world-repos` lays them out.
    pub repos: PathBuf,
    /// crunch's cache for this world.
    pub cache: PathBuf,
    runs: AtomicUsize,
}

/// The result of one `crunch build`.
pub struct Run {
    /// The output directory.
    pub out: PathBuf,
    /// Exit status was success.
    pub success: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Whether the build succeeded.
    pub fn ok(&self) -> bool {
        self.success
    }

    /// The bundle digest the build wrote.
    pub fn digest(&self) -> String {
        fs::read_to_string(self.out.join("digest")).expect("bundle digest")
    }
}

/// Servers for one world's repositories, with mirror arguments pointing at them.
pub struct Servers(GitServers);

impl Servers {
    /// `--mirror` value sending the world's URLs to `git daemon`.
    pub fn git_mirror(&self) -> String {
        format!("{REMOTE}={}", self.0.git_url(""))
    }

    /// `--mirror` value sending the world's URLs to HTTPS with basic auth.
    pub fn https_mirror(&self) -> String {
        let plain = self.0.https_url("");
        let userinfo = format!(
            "{}:{}@",
            percent_encode(&self.0.username),
            percent_encode(&self.0.password)
        );
        let url = plain.replacen("https://", &format!("https://{userinfo}"), 1);
        format!("{REMOTE}={url}")
    }

    /// The test CA's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.0.ca_pem_path.clone()
    }
}

/// Percent-encodes what may not stand literally in a URL's userinfo.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl World {
    /// A fresh world: repositories built, customer copied, empty cache.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let repos = tmp.path().join("repos");
        let status = Command::new(root().join("tools/world-repos"))
            .arg(&repos)
            .output()
            .expect("run tools/world-repos");
        assert!(
            status.status.success(),
            "tools/world-repos failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let customer = tmp.path().join("customer");
        copy_dir(&root().join("fixtures/world/customer"), &customer);
        // crunch.yaml reads the SOPS keys from ../keys, outside the repository.
        copy_dir(&root().join("fixtures/sops/keys"), &tmp.path().join("keys"));
        let cache = tmp.path().join("cache");
        Self {
            tmp,
            customer,
            repos,
            cache,
            runs: AtomicUsize::new(0),
        }
    }

    /// Starts git servers for this world's repositories.
    pub fn serve(&self) -> Servers {
        Servers(GitServers::start(&self.repos))
    }

    /// `crunch build` of an environment through `mirror`, with extra environment variables.
    pub fn build(&self, env: &str, mirror: &str, vars: &[(&str, &str)]) -> Run {
        self.build_with(env, mirror, vars, &[])
    }

    /// As [`World::build`], with extra arguments.
    pub fn build_with(&self, env: &str, mirror: &str, vars: &[(&str, &str)], args: &[&str]) -> Run {
        self.run(env, mirror, vars, args, &self.cache)
    }

    /// As [`World::build_with`], with another cache directory.
    pub fn run(
        &self,
        env: &str,
        mirror: &str,
        vars: &[(&str, &str)],
        args: &[&str],
        cache: &Path,
    ) -> Run {
        let (mut command, out) = self.command(env, mirror, args, cache);
        let output = command
            .envs(vars.iter().copied())
            .output()
            .expect("run crunch");
        Run {
            out,
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The `crunch build` command of [`World::run`], not yet run, and its output directory.
    pub fn command(
        &self,
        env: &str,
        mirror: &str,
        args: &[&str],
        cache: &Path,
    ) -> (Command, PathBuf) {
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        let out = self.tmp.path().join(format!("out-{n}"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_crunch"));
        command
            .arg("build")
            .arg(self.customer.join(env))
            .arg("-o")
            .arg(&out)
            .arg("--mirror")
            .arg(mirror)
            .arg("--cache-dir")
            .arg(cache)
            .args(args);
        (command, out)
    }

    /// `text` with this world's temporary paths and server ports replaced by placeholders.
    pub fn scrub(&self, text: &str) -> String {
        let tmp = self.tmp.path().to_string_lossy().into_owned();
        let text = text.replace(&tmp, "[TMP]");
        scrub_ports(&text)
    }
}

/// Replaces `127.0.0.1:<port>` with `127.0.0.1:[PORT]`.
fn scrub_ports(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(if digits > 0 { "[PORT]" } else { "" });
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// The customer repo as kustomize-controller sees it once it has decrypted it: a copy in
/// `to` with each SOPS-encrypted file replaced by its plaintext twin, as
/// `fixtures/sops/world.yaml` pairs them.
pub fn plaintext_customer(to: &Path) {
    let customer = root().join("fixtures/world/customer");
    copy_dir(&customer, to);
    let listing = fs::read_to_string(root().join("fixtures/sops/world.yaml")).unwrap();
    let listing = crunch::yaml::parse_document(&listing, crunch::yaml::Dialect::GoYamlV2).unwrap();
    for file in listing["files"].as_array().unwrap() {
        let field = |name: &str| root().join(file[name].as_str().unwrap());
        let encrypted = field("encrypted");
        let relative = encrypted.strip_prefix(&customer).unwrap();
        fs::copy(field("twin"), to.join(relative)).unwrap();
    }
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file of a bundle, relative path to bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.insert(relative, fs::read(&path).unwrap());
            }
        }
    }
    found
}

/// The whole bundle as one reviewable text: every file under a `=== path` header, but
/// the age-encrypted sealing key, whose bytes are new each time it is encrypted, is only
/// said to be there (once its armor is checked).
pub fn bundle_text(dir: &Path) -> String {
    files(dir)
        .into_iter()
        .map(|(path, bytes)| {
            if path == KEY_FILE {
                let text = String::from_utf8_lossy(&bytes);
                assert!(
                    text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n")
                        && text.ends_with("-----END AGE ENCRYPTED FILE-----\n"),
                    "{text}"
                );
                return format!("=== {path}\n[the sealing key, armored age]\n");
            }
            format!("=== {path}\n{}", String::from_utf8_lossy(&bytes))
        })
        .collect()
}

/// Paths that differ between two bundles (changed, added or removed), but the sealing
/// key's file, whose bytes are new each time it is encrypted (a change of key shows in
/// the index's key id).
pub fn changed_files(a: &Path, b: &Path) -> Vec<String> {
    let (mut a, mut b) = (files(a), files(b));
    a.remove(KEY_FILE);
    b.remove(KEY_FILE);
    let mut paths: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    paths.sort();
    paths.dedup();
    paths.retain(|p| a.get(p) != b.get(p));
    paths
}

//! `crunch apply` run as an operator runs it, and stopped with Ctrl-C partway.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crunch::apply::EXIT_INTERRUPTED;

/// Runs `crunch apply BUNDLE` against `kubeconfig` (with the fixture enclave's identity,
/// which the world's sealed Secrets need) and interrupts it (SIGINT) at its first
/// wait: objects sent, not yet ready, components still to go. Asserts it stopped as
/// interrupted; returns its progress lines and its report.
pub fn apply_interrupted_at_first_wait(bundle: &Path, kubeconfig: &Path) -> (Vec<String>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crunch"))
        .arg("apply")
        .arg(bundle)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--identity")
        .arg(super::world::enclave_identity())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start crunch apply");
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("progress line");
        let waiting = line.contains(": waiting for");
        seen.push(line);
        if waiting {
            break;
        }
    }
    let interrupted = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(interrupted.success());
    let output = child.wait_with_output().expect("crunch apply ends");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(i32::from(EXIT_INTERRUPTED)),
        "{stdout}\n{}",
        seen.join("\n")
    );
    assert!(stdout.contains("run `crunch apply` again"), "{stdout}");
    (seen, stdout)
}

//! The real-world check (`tools/sops-check`): every SOPS file under a directory is
//! decrypted with the given keys (MAC verified), re-emitted as SOPS writes its store and
//! compared with the original bytes, and, where a plaintext twin exists (`x.enc.yaml`
//! beside `x.yaml`), its plaintext compared with the twin.
//!
//! `sops_check DIR [--age FILE]... [--pgp FILE]... [--gnupg-home DIR]`

use std::path::{Path, PathBuf};

use crunch_sops::{Format, Keys, decrypt, reformat};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut keys = Keys::new();
    while let Some(arg) = args.next() {
        let mut value = || args.next().expect("a value after the flag");
        match arg.as_str() {
            "--age" => {
                let path = value();
                let text = std::fs::read_to_string(&path).expect("age key file");
                keys.add_age_identities(&path, &text)
                    .expect("age identities");
            }
            "--pgp" => {
                let path = value();
                let bytes = std::fs::read(&path).expect("keyring");
                keys.add_pgp_keyring(&path, &bytes).expect("keyring");
            }
            "--gnupg-home" => {
                let path = value();
                keys.add_gnupg_home(&path, &path, "gpg");
            }
            _ => dir = Some(PathBuf::from(arg)),
        }
    }
    let dir = dir.expect("usage: sops_check DIR [--age FILE] [--pgp FILE] [--gnupg-home DIR]");
    let mut all = Vec::new();
    files(&dir, &mut all);
    let (mut seen, mut decrypted, mut same_bytes, mut twins, mut same_twin) = (0, 0, 0, 0, 0);
    for path in all {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let name = path.to_string_lossy().into_owned();
        let format = Format::for_path(&name);
        if !matches!(format, Format::Yaml | Format::Json | Format::Dotenv)
            || !bytes.windows(3).any(|w| w == b"mac")
            || Format::detect(&bytes).is_none()
        {
            continue;
        }
        seen += 1;
        match decrypt(&bytes, format, &keys) {
            Ok(plain) => {
                decrypted += 1;
                let twin = name.replacen(".enc.", ".", 1);
                if twin != name && Path::new(&twin).exists() {
                    twins += 1;
                    let expected = std::fs::read(&twin).unwrap_or_default();
                    match plain.emit(format) {
                        Ok(out) if out == expected => same_twin += 1,
                        Ok(out) => println!(
                            "{name}: plaintext differs from {twin}:\n--- crunch\n{}\n--- twin\n{}",
                            String::from_utf8_lossy(&out),
                            String::from_utf8_lossy(&expected)
                        ),
                        Err(e) => println!("{name}: emit: {e}"),
                    }
                }
            }
            Err(e) => println!("{name}: decrypt: {e}"),
        }
        if format != Format::Dotenv {
            match reformat(&bytes, format) {
                Ok(out) if out == bytes => same_bytes += 1,
                Ok(out) => {
                    let first = out
                        .split(|&b| b == b'\n')
                        .zip(bytes.split(|&b| b == b'\n'))
                        .position(|(a, b)| a != b);
                    println!(
                        "{name}: re-emitted bytes differ (first at line {})",
                        first.map_or(0, |l| l + 1)
                    );
                }
                Err(e) => println!("{name}: reformat: {e}"),
            }
        }
    }
    println!(
        "{seen} SOPS files: {decrypted} decrypted with the MAC verified, {same_bytes} re-emitted byte for byte, {same_twin}/{twins} plaintext twins equal"
    );
}

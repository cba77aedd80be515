//! The real-world check (`tools/sops-realworld`): every SOPS file under a directory is
//! decrypted with the given keys (MAC verified), re-emitted as SOPS writes its store and
//! compared with the original bytes, and, where a plaintext twin exists (`x.enc.yaml`
//! beside `x.yaml`), its plaintext compared with the twin.
//!
//! With `--sops BIN` (a real `sops`), each plaintext is also compared with what
//! `sops decrypt` prints for the same file (the age key files given and the GnuPG home
//! are handed to it through `SOPS_AGE_KEY` and `GNUPGHOME`).
//!
//! `sops_check DIR [--age FILE]... [--pgp FILE]... [--gnupg-home DIR] [--sops BIN]`

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

/// The store `indent` the file was written with (SOPS's stores config): the width of
/// the first indented line, `None` for SOPS's defaults (4 spaces in YAML, a tab in JSON).
fn indent_of(bytes: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().find(|l| l.starts_with([' ', '\t']))?;
    if line.starts_with('\t') {
        return None;
    }
    let width = line.len() - line.trim_start_matches(' ').len();
    (width != 4 || !text.trim_start().starts_with('{')).then_some(width)
}

/// What `sops decrypt` prints for the file in the output format.
fn sops_decrypt(
    bin: &str,
    path: &Path,
    format: Format,
    output: Format,
    age_keys: &str,
    gnupg_home: Option<&str>,
) -> Result<Vec<u8>, String> {
    let kind = |format: Format| match format {
        Format::Yaml => "yaml",
        Format::Json => "json",
        Format::Dotenv => "dotenv",
        Format::Ini => "ini",
        Format::Binary => "binary",
    };
    let mut command = std::process::Command::new(bin);
    command
        .args([
            "decrypt",
            "--input-type",
            kind(format),
            "--output-type",
            kind(output),
        ])
        .arg(path)
        // Away from any .sops.yaml, whose store settings would change the output.
        .current_dir(std::env::temp_dir())
        .env("SOPS_AGE_KEY", age_keys)
        .env_remove("SOPS_AGE_KEY_FILE");
    if let Some(home) = gnupg_home {
        command.env("GNUPGHOME", home);
    }
    let output = command.output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// INI's `[sops]` keys come in Go's map order: the re-emitted section takes the file's
/// order when it holds the same lines.
fn same_ini_metadata(format: Format, out: Vec<u8>, original: &[u8]) -> Vec<u8> {
    if format != Format::Ini {
        return out;
    }
    let section = |text: &[u8]| {
        let text = String::from_utf8_lossy(text).into_owned();
        let at = text.find("[sops]\n")?;
        let end = text[at..].find("\n\n").map_or(text.len(), |e| at + e + 1);
        Some((at, end, text))
    };
    let (Some((oa, oe, ours)), Some((ta, te, theirs))) = (section(&out), section(original)) else {
        return out;
    };
    let mut a: Vec<&str> = ours[oa..oe].lines().collect();
    let mut b: Vec<&str> = theirs[ta..te].lines().collect();
    a.sort_unstable();
    b.sort_unstable();
    if a == b {
        format!("{}{}{}", &ours[..oa], &theirs[ta..te], &ours[oe..]).into_bytes()
    } else {
        out
    }
}

/// `sops.version` (or `"version"` / `sops_version=`) as (major, minor).
fn sops_version(bytes: &[u8]) -> Option<(u32, u32)> {
    let text = String::from_utf8_lossy(bytes);
    let at = text.rfind("version")?;
    let rest = &text[at + 7..];
    let start = rest.find(|c: char| c.is_ascii_digit())?;
    let mut parts = rest[start..].split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut keys = Keys::new();
    let mut age_text = String::new();
    let mut gnupg_home = None;
    let mut sops_bin = None;
    while let Some(arg) = args.next() {
        let mut value = || args.next().expect("a value after the flag");
        match arg.as_str() {
            "--age" => {
                let path = value();
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                age_text.push_str(&text);
                age_text.push('\n');
                if let Err(e) = keys.add_age_identities(&path, &text) {
                    println!("skipped: {e}");
                }
            }
            "--pgp" => {
                let path = value();
                let bytes = std::fs::read(&path).unwrap_or_default();
                if let Err(e) = keys.add_pgp_keyring(&path, &bytes) {
                    println!("skipped: {e}");
                }
            }
            "--gnupg-home" => {
                let path = value();
                keys.add_gnupg_home(&path, &path, "gpg");
                gnupg_home = Some(path);
            }
            "--sops" => sops_bin = Some(value()),
            _ => dir = Some(PathBuf::from(arg)),
        }
    }
    let dir = dir.expect("usage: sops_check DIR [--age FILE] [--pgp FILE] [--gnupg-home DIR]");
    let mut all = Vec::new();
    files(&dir, &mut all);
    let (mut seen, mut decrypted, mut same_bytes, mut twins, mut same_twin) = (0, 0, 0, 0, 0);
    let (mut same_but_final_newline, mut same_but_crlf, mut older_sops) = (0, 0, 0);
    let mut same_but_ini_blank = 0;
    let (mut oracle_runs, mut oracle_equal) = (0, 0);
    for path in all {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let name = path.to_string_lossy().into_owned();
        let format = Format::for_path(&name);
        if !bytes.windows(3).any(|w| w == b"mac")
            || (format != Format::Binary && Format::detect(&bytes).is_none())
            || (format == Format::Binary
                && (!bytes.starts_with(b"{") || Format::detect(&bytes) != Some(Format::Json)))
        {
            continue;
        }
        seen += 1;
        match decrypt(&bytes, format, &keys) {
            Ok(plain) => {
                decrypted += 1;
                if let Some(bin) = &sops_bin {
                    // The file's own format, and across YAML and JSON (`--output-type`).
                    let outputs = match format {
                        Format::Yaml => vec![Format::Yaml, Format::Json],
                        Format::Json => vec![Format::Json, Format::Yaml],
                        Format::Binary => vec![Format::Binary, Format::Yaml, Format::Json],
                        other => vec![other],
                    };
                    for output in outputs {
                        oracle_runs += 1;
                        match sops_decrypt(
                            bin,
                            &path,
                            format,
                            output,
                            &age_text,
                            gnupg_home.as_deref(),
                        ) {
                            Ok(expected) => match plain.emit(output) {
                                Ok(out) if out == expected => oracle_equal += 1,
                                Ok(out) => println!(
                                    "{name}: plaintext ({output:?}) differs from sops decrypt:\n--- crunch\n{}\n--- sops\n{}",
                                    String::from_utf8_lossy(&out),
                                    String::from_utf8_lossy(&expected)
                                ),
                                Err(e) => {
                                    println!("{name}: emit {output:?}: {e} (sops printed it)")
                                }
                            },
                            Err(e) => match plain.emit(output) {
                                // Both refuse (a YAML `.inf` has no JSON form).
                                Err(ours) => {
                                    oracle_equal += 1;
                                    println!(
                                        "{name}: {output:?} refused by both: sops: {e}; crunch: {ours}"
                                    );
                                }
                                Ok(_) => println!("{name}: sops decrypt ({output:?}) failed: {e}"),
                            },
                        }
                    }
                }
                // Twins by the conventions of the repositories checked: `x.enc.yaml` beside
                // `x.yaml`, `x.yaml` beside `x.dec.yaml` (helm-secrets).
                let twin = [
                    name.replacen(".enc.", ".", 1),
                    name.rsplit_once('.')
                        .map_or_else(String::new, |(stem, ext)| format!("{stem}.dec.{ext}")),
                ]
                .into_iter()
                .find(|twin| *twin != name && Path::new(twin).exists());
                if let Some(twin) = twin {
                    twins += 1;
                    let expected = std::fs::read(&twin).unwrap_or_default();
                    match plain.emit(format) {
                        Ok(out) if out == expected => same_twin += 1,
                        Ok(out) if out.strip_suffix(b"\n") == Some(&expected[..]) => {
                            same_twin += 1;
                            println!(
                                "{name}: plaintext equals {twin} but for the final newline, which the twin lacks"
                            );
                        }
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
        {
            match reformat(&bytes, format, indent_of(&bytes))
                .map(|out| same_ini_metadata(format, out, &bytes))
            {
                Ok(out) if out == bytes => same_bytes += 1,
                Ok(out) if format == Format::Ini && bytes.strip_suffix(b"\n") == Some(&out[..]) => {
                    same_but_ini_blank += 1;
                    println!(
                        "{name}: re-emitted bytes equal but for the blank line older ini.v1 wrote after the last section"
                    );
                }
                Ok(out)
                    if bytes.last() != Some(&b'\n')
                        && out.strip_suffix(b"\n") == Some(&bytes[..]) =>
                {
                    same_but_final_newline += 1;
                    println!(
                        "{name}: re-emitted bytes equal but for the final newline, which the file lacks"
                    );
                }
                Ok(out)
                    if bytes.windows(2).any(|w| w == b"\r\n")
                        && out
                            == String::from_utf8_lossy(&bytes)
                                .replace("\r\n", "\n")
                                .into_bytes() =>
                {
                    same_but_crlf += 1;
                    println!("{name}: re-emitted bytes equal but for the file's CRLF line endings");
                }
                Ok(out) => {
                    let first = out
                        .split(|&b| b == b'\n')
                        .zip(bytes.split(|&b| b == b'\n'))
                        .position(|(a, b)| a != b);
                    let version = sops_version(&bytes);
                    if version.is_some_and(|(major, minor)| (major, minor) < (3, 7)) {
                        older_sops += 1;
                        println!(
                            "{name}: re-emitted bytes differ (first at line {}): written by SOPS before 3.7 (its older YAML emitter)",
                            first.map_or(0, |l| l + 1)
                        );
                    } else {
                        println!(
                            "{name}: re-emitted bytes differ (first at line {})",
                            first.map_or(0, |l| l + 1)
                        );
                    }
                }
                Err(e) => println!("{name}: reformat: {e}"),
            }
        }
    }
    println!(
        "{seen} SOPS files: {decrypted} decrypted with the MAC verified; re-emitted: {same_bytes} byte for byte, {same_but_final_newline} but for a final newline the file lacks, {same_but_crlf} but for CRLF line endings, {same_but_ini_blank} but for older ini.v1's final blank line, {older_sops} differ as written by SOPS before 3.7; {same_twin}/{twins} plaintext twins equal; {oracle_equal}/{oracle_runs} plaintexts equal to sops decrypt's"
    );
}

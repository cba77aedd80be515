//! The Extract strategy's unpacking: fluxcd/pkg/tar's `Untar` with its defaults, as
//! source-watcher calls it. The archive must be gzipped; at most 100 MiB of entries (by
//! their declared sizes); names may not be empty, absolute, hold a backslash or `../`;
//! regular files and directories are written (Go's `FileInfo` decides which, from the
//! type flag and the mode's type bits), symlinks fail and so does any other type.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

use super::tree::{Staging, go_error, go_error_text};

/// `tar.DefaultMaxUntarSize`.
const MAX_UNTAR_SIZE: u64 = 100 << 20;

/// The type bits of a tar header's mode (`c_IS…`), as Go's `FileInfo().Mode()` reads them.
const C_ISDIR: u32 = 0o040000;
const C_ISFIFO: u32 = 0o010000;
const C_ISLNK: u32 = 0o120000;
const C_ISBLK: u32 = 0o060000;
const C_ISCHR: u32 = 0o020000;
const C_ISSOCK: u32 = 0o140000;

/// Unpacks the gzipped tarball read from `archive` into the staged directory `dest` (a
/// path relative to the staging root, already made).
pub(super) fn untar(archive: impl Read, staging: &Staging<'_>, dest: &str) -> Result<(), String> {
    let mut archive = archive;
    // gzip.NewReader reads the 10-byte header before anything else.
    let mut head = [0u8; 10];
    let mut got = 0;
    while got < head.len() {
        match archive.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("requires gzip-compressed body: {e}")),
        }
    }
    match got {
        0 => return Err("requires gzip-compressed body: EOF".into()),
        n if n < head.len() => return Err("requires gzip-compressed body: unexpected EOF".into()),
        _ => {}
    }
    if head[..3] != [0x1f, 0x8b, 8] {
        return Err("requires gzip-compressed body: gzip: invalid header".into());
    }
    let stream = flate2::read::MultiGzDecoder::new(io::Cursor::new(head).chain(archive));
    let mut entries = tar::Archive::new(stream);
    let mut processed: u64 = 0;
    for entry in entries.entries().map_err(|e| format!("tar error: {e}"))? {
        let mut entry = entry.map_err(|e| format!("tar error: {e}"))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        processed = processed.saturating_add(entry.size());
        if processed > MAX_UNTAR_SIZE {
            return Err(format!(
                "tar {name:?} is bigger than max archive size of {MAX_UNTAR_SIZE} bytes"
            ));
        }
        if !valid_rel_path(&name) {
            return Err(format!("tar contained invalid name error {name:?}"));
        }
        let header = entry.header();
        let flag = header.entry_type().as_byte();
        let mode = header.mode().map_err(|e| format!("tar error: {e}"))?;
        let target = staging.joined(&format!("{dest}/{name}")).ok_or_else(|| {
            format!(
                "tar file entry {name} leads outside the artifact, which crunch never writes to"
            )
        })?;
        match EntryKind::of(flag, mode, &name) {
            EntryKind::GlobalHeader => {
                return Err(format!(
                    "tar file entry {name} is a PAX global header, which fluxcd/pkg/tar extracts as an empty file with mode 0000 that source-watcher then fails to archive"
                ));
            }
            EntryKind::Regular => {
                let perm = mode & 0o777;
                if perm & 0o400 == 0 {
                    return Err(format!(
                        "tar file entry {name} has mode {perm:04o}: fluxcd/pkg/tar extracts it unreadable, and source-watcher then fails to archive the artifact"
                    ));
                }
                if let Some(parent) = target.parent() {
                    fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o750)
                        .create(parent)
                        .map_err(|e| go_error("mkdir", &parent.display().to_string(), &e))?;
                }
                let shown = target.display().to_string();
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(perm)
                    .open(&target)
                    .map_err(|e| go_error("open", &shown, &e))?;
                let written = io::copy(&mut entry, &mut file)
                    .map_err(|e| format!("error copying buffer: {}", go_error_text(&e)))?;
                if written != entry.size() {
                    return Err(format!(
                        "only wrote {written} bytes to {shown}; expected {}",
                        entry.size()
                    ));
                }
            }
            EntryKind::Dir => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode((mode & 0o777) | 0o700)
                    .create(&target)
                    .map_err(|e| go_error("mkdir", &target.display().to_string(), &e))?;
            }
            EntryKind::Symlink => {
                return Err(format!(
                    "tar file entry {name} is a symlink, which is not allowed in this context"
                ));
            }
            EntryKind::Unsupported(shown_mode) => {
                return Err(format!(
                    "tar file entry {name} contained unsupported file type {shown_mode}"
                ));
            }
        }
    }
    Ok(())
}

/// What an entry is to Go's `archive/tar` and to `Untar`'s switch.
#[derive(Debug, PartialEq, Eq)]
enum EntryKind {
    /// A `g` header: Go's reader hands it out as an entry of mode 0.
    GlobalHeader,
    Regular,
    Dir,
    Symlink,
    /// Devices, FIFOs, sockets, with the mode as Go's `FileMode.String` prints it.
    Unsupported(String),
}

impl EntryKind {
    fn of(flag: u8, mode: u32, name: &str) -> EntryKind {
        if flag == b'g' {
            return EntryKind::GlobalHeader;
        }
        let type_bits = mode & !0o7777;
        // An old-style regular entry whose name ends in `/` is a directory to Go.
        let dir = flag == b'5' || type_bits == C_ISDIR || (flag == 0 && name.ends_with('/'));
        let symlink = flag == b'2' || type_bits == C_ISLNK;
        let device = matches!(flag, b'3' | b'4') || matches!(type_bits, C_ISBLK | C_ISCHR);
        let char_device = flag == b'3' || type_bits == C_ISCHR;
        let pipe = flag == b'6' || type_bits == C_ISFIFO;
        let socket = type_bits == C_ISSOCK;
        if dir {
            EntryKind::Dir
        } else if symlink {
            EntryKind::Symlink
        } else if device || pipe || socket {
            let mut shown = String::new();
            for (set, letter) in [
                (device, 'D'),
                (pipe, 'p'),
                (socket, 'S'),
                (mode & 0o4000 != 0, 'u'),
                (mode & 0o2000 != 0, 'g'),
                (char_device, 'c'),
                (mode & 0o1000 != 0, 't'),
            ] {
                if set {
                    shown.push(letter);
                }
            }
            for (bit, letter) in (0..9).rev().zip("rwxrwxrwx".chars()) {
                shown.push(if mode & (1 << bit) != 0 { letter } else { '-' });
            }
            EntryKind::Unsupported(shown)
        } else {
            EntryKind::Regular
        }
    }
}

/// `validRelPath`: a name Untar accepts.
fn valid_rel_path(name: &str) -> bool {
    !(name.is_empty() || name.contains('\\') || name.starts_with('/') || name.contains("../"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_kinds_as_go_reads_them() {
        assert_eq!(EntryKind::of(b'0', 0o644, "a"), EntryKind::Regular);
        assert_eq!(EntryKind::of(b'1', 0o644, "a"), EntryKind::Regular);
        assert_eq!(EntryKind::of(b'7', 0o644, "a"), EntryKind::Regular);
        assert_eq!(EntryKind::of(b'5', 0o755, "a/"), EntryKind::Dir);
        assert_eq!(EntryKind::of(0, 0o755, "a/"), EntryKind::Dir);
        assert_eq!(EntryKind::of(b'0', 0o040755, "a"), EntryKind::Dir);
        assert_eq!(EntryKind::of(b'2', 0o777, "a"), EntryKind::Symlink);
        assert_eq!(
            EntryKind::of(b'g', 0, "pax_global_header"),
            EntryKind::GlobalHeader
        );
        assert_eq!(
            EntryKind::of(b'6', 0o644, "fifo"),
            EntryKind::Unsupported("prw-r--r--".into())
        );
        assert_eq!(
            EntryKind::of(b'3', 0o600, "tty"),
            EntryKind::Unsupported("Dcrw-------".into())
        );
    }

    #[test]
    fn names_untar_accepts() {
        assert!(valid_rel_path("a/b"));
        assert!(valid_rel_path("a/.."));
        assert!(!valid_rel_path(""));
        assert!(!valid_rel_path("/a"));
        assert!(!valid_rel_path("a/../b"));
        assert!(!valid_rel_path("a\\b"));
    }
}

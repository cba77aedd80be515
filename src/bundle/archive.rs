//! The bundle as one file: a tar archive of the bundle directory's files, compressed by
//! what its name ends in (`.tar.gz`/`.tgz`, `.tar.zst`/`.tzst`, or plain `.tar`).
//!
//! The bytes depend only on the files: entries sorted by path at the archive's root, no
//! directory entries, every header the same but for name and size (mode 0644, owner 0,
//! time 0, GNU long names). gzip writes no name and no time; zstd runs single-threaded at
//! a fixed level with the content size in its frame. So two builds of the same bundle
//! give the same archive, and its digest is the bundle's `digest` file as in the
//! directory form.

use std::io::Write;
use std::path::Path;

use super::File;
use crate::error::Error;

/// How an archive is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `.tar`
    None,
    /// `.tar.gz`, `.tgz`
    Gzip,
    /// `.tar.zst`, `.tzst`
    Zstd,
}

/// zstd's default level: the archive is written once and read many times, but the
/// higher levels cost minutes on a large bundle for a few percent.
const ZSTD_LEVEL: i32 = 3;

impl Compression {
    /// The compression an archive named `path` gets, or an error naming the endings
    /// crunch knows.
    pub fn for_path(path: &Path) -> Result<Compression, Error> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let endings = [
            (".tar.gz", Compression::Gzip),
            (".tgz", Compression::Gzip),
            (".tar.zst", Compression::Zstd),
            (".tzst", Compression::Zstd),
            (".tar", Compression::None),
        ];
        endings
            .into_iter()
            .find(|(ending, _)| name.ends_with(ending))
            .map(|(_, compression)| compression)
            .ok_or_else(|| {
                Error::new(format!(
                    "{}: a bundle archive's name ends in .tar.gz, .tgz, .tar.zst, .tzst or .tar",
                    path.display()
                ))
            })
    }
}

impl Compression {
    /// The compression of an archive's bytes, by its magic number.
    pub(super) fn of_bytes(bytes: &[u8]) -> Compression {
        if bytes.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if bytes.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// gzip's magic number.
pub(super) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// zstd's frame magic number.
pub(super) const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The archive of `files`, compressed with `compression`.
pub(super) fn encode(files: &[File], compression: Compression) -> Result<Vec<u8>, Error> {
    let tar = tar_bytes(files)?;
    let failed = |e: std::io::Error| Error::new(format!("cannot compress the bundle: {e}"));
    match compression {
        Compression::None => Ok(tar),
        Compression::Gzip => {
            let mut encoder = flate2::GzBuilder::new()
                .operating_system(255)
                .write(Vec::new(), flate2::Compression::best());
            encoder.write_all(&tar).map_err(failed)?;
            encoder.finish().map_err(failed)
        }
        Compression::Zstd => {
            let mut encoder = zstd::Encoder::new(Vec::new(), ZSTD_LEVEL).map_err(failed)?;
            encoder
                .set_pledged_src_size(Some(tar.len() as u64))
                .map_err(failed)?;
            encoder.include_contentsize(true).map_err(failed)?;
            encoder.write_all(&tar).map_err(failed)?;
            encoder.finish().map_err(failed)
        }
    }
}

fn tar_bytes(files: &[File]) -> Result<Vec<u8>, Error> {
    let mut sorted: Vec<&File> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for file in sorted {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(file.bytes.len() as u64);
        builder
            .append_data(&mut header, &file.path, file.bytes.as_slice())
            .map_err(|e| Error::new(format!("cannot archive {}: {e}", file.path)))?;
    }
    builder
        .into_inner()
        .map_err(|e| Error::new(format!("cannot archive the bundle: {e}")))
}

/// Writes `bytes` to `path` through a temporary sibling and a rename, so that a
/// failed write leaves any earlier archive as it was.
pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    super::write_file(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<File> {
        let long = format!("objects/{}/ns/deployment.x.yaml", "c".repeat(150));
        vec![
            File {
                path: "index.json".into(),
                bytes: b"{}\n".to_vec(),
            },
            File {
                path: long,
                bytes: b"kind: Deployment\n".to_vec(),
            },
            File {
                path: "digest".into(),
                bytes: b"sha256:0\n".to_vec(),
            },
        ]
    }

    #[test]
    fn archives_are_byte_reproducible_and_read_back() {
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let one = encode(&files(), compression).unwrap();
            let mut reversed = files();
            reversed.reverse();
            assert_eq!(
                one,
                encode(&reversed, compression).unwrap(),
                "{compression:?}"
            );
            let back = super::super::read::archive_files(&one).unwrap();
            let names: Vec<&str> = back.keys().map(String::as_str).collect();
            assert_eq!(names.len(), 3);
            assert!(
                names[0] == "digest" && names[1] == "index.json",
                "{names:?}"
            );
            assert_eq!(back[&files()[1].path], b"kind: Deployment\n");
        }
    }

    #[test]
    fn names_decide_the_compression() {
        let of = |name: &str| Compression::for_path(Path::new(name));
        assert_eq!(of("b.tar.gz").unwrap(), Compression::Gzip);
        assert_eq!(of("b.TGZ").unwrap(), Compression::Gzip);
        assert_eq!(of("dir/b.tar.zst").unwrap(), Compression::Zstd);
        assert_eq!(of("b.tar").unwrap(), Compression::None);
        assert!(of("b.zip").unwrap_err().to_string().contains(".tar.zst"));
    }
}

//! Deterministic tar archives, plain or compressed as their names say: the bundle's
//! archive form and `crunch vendor`'s source archive. Two archives of the same entries
//! are the same bytes: entries in the order given (callers sort), no directory entries,
//! headers fixed but for name, size, mode and link (owner 0, time 0, GNU long names);
//! gzip writes no name and no time; zstd runs single-threaded at a fixed level.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

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

/// gzip's magic number.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// zstd's frame magic number.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// zstd's default level: the higher ones cost far more time for a few percent.
const ZSTD_LEVEL: i32 = 3;

impl Compression {
    /// The compression an archive named `path` gets, or an error naming the endings
    /// crunch knows.
    pub fn for_path(path: &Path) -> Result<Compression, String> {
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
                format!(
                    "{}: an archive's name ends in .tar.zst, .tar.gz, .tgz, .tzst or .tar",
                    path.display()
                )
            })
    }

    /// The compression of an archive's bytes, by its magic number.
    pub fn of_bytes(bytes: &[u8]) -> Compression {
        if bytes.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if bytes.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// A reader of the tar stream inside `bytes`, decompressed as their magic number says.
pub fn decompress(bytes: &[u8]) -> std::io::Result<Box<dyn Read + '_>> {
    Ok(match Compression::of_bytes(bytes) {
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(bytes)),
        Compression::Zstd => Box::new(zstd::Decoder::with_buffer(bytes)?),
        Compression::None => Box::new(bytes),
    })
}

/// The compressing stream under the tar writer.
enum Sink<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::Encoder<'static, W>),
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
            Sink::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
        }
    }
}

impl<W: Write> Sink<W> {
    fn new(inner: W, compression: Compression) -> std::io::Result<Sink<W>> {
        Ok(match compression {
            Compression::None => Sink::Plain(inner),
            Compression::Gzip => Sink::Gzip(
                flate2::GzBuilder::new()
                    .operating_system(255)
                    .write(inner, flate2::Compression::best()),
            ),
            Compression::Zstd => {
                let mut encoder = zstd::Encoder::new(inner, ZSTD_LEVEL)?;
                encoder.include_checksum(true)?;
                Sink::Zstd(encoder)
            }
        })
    }

    fn finish(self) -> std::io::Result<W> {
        match self {
            Sink::Plain(w) => Ok(w),
            Sink::Gzip(w) => w.finish(),
            Sink::Zstd(w) => w.finish(),
        }
    }
}

/// A deterministic archive being written to `W`.
pub struct Writer<W: Write> {
    tar: tar::Builder<Sink<W>>,
}

impl<W: Write> Writer<W> {
    /// An archive written to `inner`, compressed with `compression`.
    pub fn new(inner: W, compression: Compression) -> std::io::Result<Writer<W>> {
        let mut tar = tar::Builder::new(Sink::new(inner, compression)?);
        tar.mode(tar::HeaderMode::Deterministic);
        Ok(Writer { tar })
    }

    /// Adds a regular file; `executable` gives it mode 0755, else 0644.
    pub fn file(
        &mut self,
        path: &str,
        size: u64,
        content: impl Read,
        executable: bool,
    ) -> std::io::Result<()> {
        let mut header = header(
            tar::EntryType::Regular,
            if executable { 0o755 } else { 0o644 },
        );
        header.set_size(size);
        self.tar.append_data(&mut header, path, content)
    }

    /// Adds a symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &Path) -> std::io::Result<()> {
        let mut header = header(tar::EntryType::Symlink, 0o777);
        header.set_size(0);
        self.tar.append_link(&mut header, path, target)
    }

    /// Ends the archive and its compression; the writer underneath.
    pub fn finish(self) -> std::io::Result<W> {
        self.tar.into_inner()?.finish()
    }
}

fn header(kind: tar::EntryType, mode: u32) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

/// An archive file being written: to a temporary sibling of its path, renamed into
/// place by [`ArchiveFile::commit`], so a failed write leaves nothing behind.
pub struct ArchiveFile {
    /// The archive's final path.
    pub path: PathBuf,
    temp: PathBuf,
}

impl ArchiveFile {
    /// Starts the archive at `path`, compressed as its name says.
    pub fn create(path: &Path) -> Result<(ArchiveFile, Writer<BufWriter<File>>), String> {
        let compression = Compression::for_path(path)?;
        let mut temp = path.as_os_str().to_owned();
        temp.push(format!(".tmp-{}", std::process::id()));
        let temp = PathBuf::from(temp);
        let failed = |e: std::io::Error| format!("cannot write {}: {e}", temp.display());
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        let file = File::create(&temp).map_err(failed)?;
        let writer = Writer::new(BufWriter::new(file), compression).map_err(failed)?;
        Ok((
            ArchiveFile {
                path: path.to_path_buf(),
                temp,
            },
            writer,
        ))
    }

    /// Finishes `writer` and moves the archive into place.
    pub fn commit(self, writer: Writer<BufWriter<File>>) -> Result<(), String> {
        let failed = |e: std::io::Error| format!("cannot write {}: {e}", self.path.display());
        let result = writer
            .finish()
            .and_then(|buffered| buffered.into_inner().map_err(|e| e.into_error()))
            .and_then(|file| file.sync_all())
            .and_then(|()| std::fs::rename(&self.temp, &self.path));
        result.map_err(|e| {
            let _ = std::fs::remove_file(&self.temp);
            failed(e)
        })
    }
}

impl Drop for ArchiveFile {
    fn drop(&mut self) {
        // After a commit the temporary file is gone; otherwise it is abandoned work.
        let _ = std::fs::remove_file(&self.temp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(compression: Compression, entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = Writer::new(Vec::new(), compression).unwrap();
        for (path, bytes) in entries {
            writer
                .file(path, bytes.len() as u64, *bytes, path.ends_with(".sh"))
                .unwrap();
        }
        writer.symlink("link", Path::new("a")).unwrap();
        writer.finish().unwrap()
    }

    #[test]
    fn the_same_entries_make_the_same_bytes_and_read_back() {
        let long = format!("dir/{}/x.sh", "d".repeat(150));
        let entries: [(&str, &[u8]); 2] = [("a", b"one"), (&long, b"#!/bin/sh\n")];
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let bytes = archive(compression, &entries);
            assert_eq!(bytes, archive(compression, &entries));
            assert_eq!(Compression::of_bytes(&bytes), compression);
            let mut tar = tar::Archive::new(decompress(&bytes).unwrap());
            let seen: Vec<(String, u32)> = tar
                .entries()
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.path().unwrap().to_string_lossy().into_owned(),
                        e.header().mode().unwrap(),
                    )
                })
                .collect();
            assert_eq!(
                seen,
                [
                    ("a".to_string(), 0o644),
                    (long.clone(), 0o755),
                    ("link".to_string(), 0o777)
                ]
            );
        }
    }

    #[test]
    fn names_decide_the_compression() {
        let of = |name: &str| Compression::for_path(Path::new(name));
        assert_eq!(of("b.tar.gz").unwrap(), Compression::Gzip);
        assert_eq!(of("b.TGZ").unwrap(), Compression::Gzip);
        assert_eq!(of("dir/b.tar.zst").unwrap(), Compression::Zstd);
        assert_eq!(of("b.tar").unwrap(), Compression::None);
        assert!(of("b.zip").unwrap_err().contains(".tar.zst"));
    }
}

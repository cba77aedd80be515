//! The bundle as one file: a deterministic archive ([`crate::archive`]) of the bundle
//! directory's files at its root, sorted by path, compressed as its name says. Two
//! builds of the same bundle give the same archive; its `digest` file is the bundle's
//! as in the directory form.

use super::File;
use crate::archive::{Compression, Writer};
use crate::error::Error;

/// The archive of `files`, compressed with `compression`.
pub(super) fn encode(files: &[File], compression: Compression) -> Result<Vec<u8>, Error> {
    let mut sorted: Vec<&File> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let failed = |e: std::io::Error| Error::new(format!("cannot archive the bundle: {e}"));
    let mut writer = Writer::new(Vec::new(), compression).map_err(failed)?;
    for file in sorted {
        writer
            .file(
                &file.path,
                file.bytes.len() as u64,
                file.bytes.as_slice(),
                false,
            )
            .map_err(failed)?;
    }
    writer.finish().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_archives_read_back() {
        let files = vec![
            File {
                path: "index.json".into(),
                bytes: b"{}\n".to_vec(),
            },
            File {
                path: "digest".into(),
                bytes: b"sha256:0\n".to_vec(),
            },
        ];
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let bytes = encode(&files, compression).unwrap();
            let back = super::super::read::archive_files(&bytes).unwrap();
            assert_eq!(back.keys().collect::<Vec<_>>(), ["digest", "index.json"]);
        }
    }
}

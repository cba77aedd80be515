//! File access for one kustomization root: the load restrictor, sub-roots (local
//! directories and remote bases), and cycle detection.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::Error;
use super::kustomization::FILE_NAMES;
use super::origin::Place;
use super::{ChartInflater, LoadRestrictor, Options, Remote, remote};

/// Reads files of one kustomization root and opens the roots it refers to.
pub(crate) struct Loader<'a> {
    root: PathBuf,
    restrictor: LoadRestrictor,
    /// What inflates charts (`--enable-helm`), for every root of the build.
    chart_inflater: Option<&'a dyn ChartInflater>,
    /// Contents read instead of the files' own (see [`Options::replaced_files`]).
    replaced_files: Option<&'a BTreeMap<PathBuf, Vec<u8>>>,
    /// The checked-out repository this root lives in, when it came from a remote base.
    repo: Option<PathBuf>,
    /// Roots of the kustomizations that led here (for cycle detection), outermost first.
    ancestors: Vec<PathBuf>,
    /// Remote URLs that led here, outermost first.
    urls: Vec<String>,
    remote: &'a dyn Remote,
    /// Where this root is, as `buildMetadata` origins name it.
    place: Place,
}

impl<'a> Loader<'a> {
    /// The loader of the top-level directory.
    pub(crate) fn new(
        dir: &Path,
        options: &Options<'a>,
        remote: &'a dyn Remote,
    ) -> Result<Self, Error> {
        let root = confirm_dir(dir)?;
        Ok(Loader {
            root,
            restrictor: options.load_restrictor,
            chart_inflater: options.chart_inflater,
            replaced_files: options.replaced_files,
            repo: None,
            ancestors: Vec::new(),
            urls: Vec::new(),
            remote,
            place: Place::default(),
        })
    }

    /// This loader's root directory (absolute, symlinks resolved).
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// What inflates `helmCharts`; `None` without `--enable-helm`.
    pub(crate) fn chart_inflater(&self) -> Option<&'a dyn ChartInflater> {
        self.chart_inflater
    }

    /// Where this root is relative to the top kustomization (or in its repository).
    pub(crate) fn place(&self) -> &Place {
        &self.place
    }

    /// The name of the kustomization file in this root (kustomize's first choice when
    /// there is none).
    pub(crate) fn kustomization_file(&self) -> &'static str {
        FILE_NAMES
            .iter()
            .find(|f| self.root.join(f).is_file())
            .unwrap_or(&FILE_NAMES[0])
    }

    /// Resolves `rel` against the root and enforces the load restrictor.
    pub(crate) fn resolve(&self, rel: &str) -> Result<PathBuf, Error> {
        let joined = self.root.join(rel);
        let real = joined.canonicalize().map_err(|e| {
            Error::new(format!(
                "cannot read {}: {}",
                joined.display(),
                io_reason(&e)
            ))
        })?;
        if self.restrictor == LoadRestrictor::RootOnly && !real.starts_with(&self.root) {
            return Err(Error::new(format!(
                "security; file '{}' is not in or below '{}'",
                real.display(),
                self.root.display()
            )));
        }
        Ok(real)
    }

    /// Whether `rel` names an existing regular file (no restriction check yet).
    pub(crate) fn is_file(&self, rel: &str) -> bool {
        self.root.join(rel).is_file()
    }

    /// Reads a file under the root.
    pub(crate) fn read(&self, rel: &str) -> Result<(PathBuf, Vec<u8>), Error> {
        if rel.starts_with("https://") || rel.starts_with("http://") {
            return Err(Error::new(format!(
                "{rel}: remote files (http URLs) are not supported; crunch builds offline"
            )));
        }
        let path = self.resolve(rel)?;
        if let Some(bytes) = self.replaced_files.and_then(|files| files.get(&path)) {
            return Ok((path, bytes.clone()));
        }
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::new(format!("cannot read {}: {}", path.display(), io_reason(&e)))
        })?;
        Ok((path, bytes))
    }

    /// Reads a UTF-8 file under the root.
    pub(crate) fn read_text(&self, rel: &str) -> Result<(PathBuf, String), Error> {
        let (path, bytes) = self.read(rel)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::new("file is not valid UTF-8").in_file(&path))?;
        Ok((path, text))
    }

    /// Opens the root `path` refers to: a remote base or a directory relative to this root.
    pub(crate) fn child(&self, path: &str) -> Result<Loader<'a>, Error> {
        if path.is_empty() {
            return Err(Error::new("new root cannot be empty"));
        }
        let mut ancestors = self.ancestors.clone();
        ancestors.push(self.root.clone());
        if let Some(target) = remote::parse(path) {
            if let Some(prev) = self.urls.iter().find(|u| u.starts_with(path)) {
                return Err(Error::new(format!(
                    "cycle detected: URI '{path}' referenced by previous URI '{prev}'"
                )));
            }
            let checkout = self.remote.fetch(&target).map_err(Error::new)?;
            let repo = confirm_dir(&checkout)?;
            let root = confirm_dir(&repo.join(&target.path))?;
            if !root.starts_with(&repo) {
                return Err(Error::new(format!(
                    "{path:?} refers to directory outside of repo {:?}",
                    repo.display()
                )));
            }
            let mut urls = self.urls.clone();
            urls.push(path.to_string());
            return Ok(Loader {
                root,
                restrictor: LoadRestrictor::RootOnly,
                chart_inflater: self.chart_inflater,
                replaced_files: self.replaced_files,
                repo: Some(repo),
                ancestors,
                urls,
                remote: self.remote,
                place: Place {
                    dir: String::new(),
                    repo: Some((
                        target.repo_url.clone(),
                        target.reference.clone().unwrap_or_default(),
                    )),
                }
                .join(&target.path),
            });
        }
        if Path::new(path).is_absolute() {
            return Err(Error::new(format!("new root '{path}' cannot be absolute")));
        }
        let root = confirm_dir(&self.root.join(path))?;
        if let Some(repo) = &self.repo
            && !root.starts_with(repo)
        {
            return Err(Error::new(format!(
                "security; bases in kustomizations found in cloned git repos must be \
                 within the repo, but base '{}' is outside '{}'",
                root.display(),
                repo.display()
            )));
        }
        if let Some(visited) = ancestors.iter().find(|a| a.starts_with(&root)) {
            return Err(Error::new(format!(
                "cycle detected: candidate root '{}' contains visited root '{}'",
                root.display(),
                visited.display()
            )));
        }
        Ok(Loader {
            root,
            restrictor: self.restrictor,
            chart_inflater: self.chart_inflater,
            replaced_files: self.replaced_files,
            repo: self.repo.clone(),
            ancestors,
            urls: self.urls.clone(),
            remote: self.remote,
            place: self.place.join(path),
        })
    }
}

fn confirm_dir(dir: &Path) -> Result<PathBuf, Error> {
    let real = dir.canonicalize().map_err(|e| {
        Error::new(format!(
            "must build at directory: {}: {}",
            dir.display(),
            io_reason(&e)
        ))
    })?;
    if !real.is_dir() {
        return Err(Error::new(format!(
            "must build at directory: not a valid directory: '{}'",
            dir.display()
        )));
    }
    Ok(real)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::{Options, RemoteTarget, build};
    use super::*;

    struct NoRemote;

    impl Remote for NoRemote {
        fn fetch(&self, target: &RemoteTarget) -> Result<PathBuf, String> {
            Err(format!("no remote {}", target.repo_url))
        }
    }

    #[test]
    fn replaced_files_are_read_instead_of_the_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kustomization.yaml"),
            "secretGenerator:\n- name: s\n  files: [key=secret.txt]\n  options: {disableNameSuffixHash: true}\n",
        )
        .unwrap();
        let file = dir.path().join("secret.txt");
        std::fs::write(&file, "on disk").unwrap();
        let replaced = BTreeMap::from([(file.canonicalize().unwrap(), b"replaced".to_vec())]);
        let data = |options: &Options<'_>| {
            let objects = build(dir.path(), &NoRemote, options).unwrap();
            objects[0]["data"]["key"].as_str().unwrap().to_string()
        };
        assert_eq!(data(&Options::default()), "b24gZGlzaw==");
        let options = Options {
            replaced_files: Some(&replaced),
            ..Options::default()
        };
        assert_eq!(data(&options), "cmVwbGFjZWQ=");
    }
}

//! source-watcher's builder (`internal/builder`): an artifact's copy operations, in order,
//! into an empty directory, then what its archiver leaves out.
//!
//! A `from` without `*?[]` names one file or directory (cleaned first): a file goes to
//! `to`, or into it when `to` ends in `/` or is a directory already; a directory goes
//! into `to` under its own name (`@src/` copies the root's contents). A `from` with them
//! is a glob (Go's `io/fs.Glob`, or doublestar's for Extract) whose matches keep their
//! path from the source's root under `to`, except that `dir/**` drops its `dir/`; a
//! matched directory is copied whole. Excludes match a path from the source's root or
//! from the non-glob prefix of `from`, and a pattern without `/` matches a name at any
//! depth. Later operations overwrite earlier ones; Merge merges a YAML file into one
//! already staged (Helm's values merge); Extract unpacks tarballs.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::doublestar;
use super::fsglob;
use super::tree::{
    GlobError, GlobFs, Kind, Lookup, Source, Staging, go_base, go_dir, go_error, go_error_text,
};
use super::untar::untar;
use super::{CopyOperation, PlannedArtifact, Strategy};
use crate::gostd::path::{clean, join};

/// Builds `artifact` into `out`, an empty directory (made if missing), reading each
/// source from the root `roots` gives for its alias. What `out` holds afterwards is what
/// the ExternalArtifact's tarball holds: the staged files without the version-control
/// files source-watcher's archiver leaves out (`.git/` directories, `.gitignore`,
/// `.gitmodules`, `.gitattributes`, at any depth).
///
/// # Errors
/// source-watcher's, in its words (`failed to apply copy operations: failed to apply copy
/// operation from '@src/x' to '@artifact/': source 'x' does not exist`); and crunch's
/// refusals: a path leaving a root, a symlink in a source, a file name that is not UTF-8.
pub fn build(
    artifact: &PlannedArtifact,
    roots: &dyn Fn(&str) -> Option<PathBuf>,
    out: &Path,
) -> Result<(), String> {
    fs::create_dir_all(out).map_err(|e| go_error("mkdir", &out.display().to_string(), &e))?;
    let not_empty = fs::read_dir(out)
        .map_err(|e| go_error("open", &out.display().to_string(), &e))?
        .next()
        .is_some();
    if not_empty {
        return Err(format!(
            "{} is not empty: an artifact is built into an empty directory",
            out.display()
        ));
    }
    let staging = Staging::new(out);
    for operation in &artifact.copy {
        apply(operation, roots, &staging).map_err(|e| {
            format!(
                "failed to apply copy operations: failed to apply copy operation from '{}' to '{}': {e}",
                operation.from, operation.to
            )
        })?;
    }
    drop_vcs_files(out).map_err(|e| format!("failed to create artifact: {e}"))
}

/// `applyCopyOperation`.
fn apply(
    operation: &CopyOperation,
    roots: &dyn Fn(&str) -> Option<PathBuf>,
    staging: &Staging<'_>,
) -> Result<(), String> {
    let (alias, pattern) = parse_source(&operation.from)
        .map_err(|e| format!("invalid copy source '{}': {e}", operation.from))?;
    let dest = operation.to.strip_prefix("@artifact/").ok_or_else(|| {
        format!(
            "invalid copy destination '{}': destination must start with '@artifact/'",
            operation.to
        )
    })?;
    let root = roots(alias).ok_or_else(|| format!("source alias '{alias}' not found"))?;
    for exclude in &operation.exclude {
        if doublestar::matches(exclude, b".").is_err() {
            return Err(format!("invalid exclude pattern '{exclude}'"));
        }
    }
    let source = Source::open(alias, root)?;
    let copy = Copy {
        operation,
        source: &source,
        staging,
    };
    if !is_glob(pattern) {
        return copy.single(pattern, dest, operation.to.ends_with('/'));
    }
    let matches = match operation.strategy {
        Strategy::Extract => doublestar::glob(&source, pattern),
        Strategy::Overwrite | Strategy::Merge => fsglob::glob(&source, pattern),
    }
    .map_err(|e| match e {
        GlobError::BadPattern => format!("invalid glob pattern '{pattern}': {e}"),
        GlobError::Refused(message) => message,
    })?;
    if matches.is_empty() {
        return Err(format!(
            "no files match pattern '{pattern}' in source '{alias}'"
        ));
    }
    let exclude_base = selection_root(pattern);
    let selected: Vec<&String> = matches
        .iter()
        // `**` matches `.` too, which would copy the whole source past the strategies.
        .filter(|m| *m != "." && *m != "..")
        .filter(|m| !is_excluded(m, &exclude_base, &operation.exclude))
        .collect();
    if selected.is_empty() {
        return Err(format!(
            "all files matching pattern '{pattern}' in source '{alias}' were excluded"
        ));
    }
    for path in selected {
        if operation.strategy == Strategy::Extract {
            if !is_tarball(path) {
                continue;
            }
            copy.extract(path, dest)
                .map_err(|e| format!("failed to extract tarball '{path}' to '{dest}': {e}"))?;
        } else {
            let target = glob_destination(pattern, path, dest);
            copy.entry(path, &target, &exclude_base)
                .map_err(|e| format!("failed to copy file '{path}' to '{target}': {e}"))?;
        }
    }
    Ok(())
}

/// `parseCopySource`: `@alias/pattern`.
fn parse_source(from: &str) -> Result<(&str, &str), &'static str> {
    let rest = from.strip_prefix('@').ok_or("source must start with '@'")?;
    rest.split_once('/')
        .ok_or("source format must be '@alias/pattern'")
}

/// `containsGlobChars`.
fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '[', ']'])
}

/// `isTarball`: `.tar.gz` or `.tgz`, in any case.
fn is_tarball(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".tar.gz") || lower.ends_with(".tgz")
}

/// `sourceSelectionRoot`: the pattern's segments before the first with a glob character.
fn selection_root(pattern: &str) -> String {
    let cleaned = clean(pattern);
    let literal: Vec<&str> = cleaned
        .split('/')
        .take_while(|part| !is_glob(part))
        .collect();
    match join(literal) {
        joined if joined.is_empty() => ".".to_string(),
        joined => joined,
    }
}

/// `calculateGlobDestination`: a match of `dir/**` loses its `dir/`; any other match
/// keeps its whole path.
fn glob_destination(pattern: &str, path: &str, dest: &str) -> String {
    if let Some(prefix) = pattern.strip_suffix("/**")
        && let Some(relative) = path.strip_prefix(prefix).and_then(|r| r.strip_prefix('/'))
    {
        return join([dest, relative]);
    }
    join([dest, path])
}

/// `shouldExcludePath`: a path from the source's root is excluded when a pattern matches
/// it, or matches it taken from `base` (the selection's literal root).
fn is_excluded(path: &str, base: &str, patterns: &[String]) -> bool {
    if matches_exclude(path, patterns) {
        return true;
    }
    match relative_to(base, path) {
        Some(relative) if relative != "." && relative != path => {
            matches_exclude(&relative, patterns)
        }
        _ => false,
    }
}

/// `relativeToBase`: `path` from `base`, when it is at or below it.
fn relative_to(base: &str, path: &str) -> Option<String> {
    let base = clean(base);
    let path = clean(path);
    if base == "." {
        return Some(path);
    }
    if path == base {
        return Some(".".into());
    }
    path.strip_prefix(&base)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(str::to_string)
}

/// `shouldExclude`: a pattern matches the path, or, having no `/`, its last element.
fn matches_exclude(path: &str, patterns: &[String]) -> bool {
    let name = go_base(path);
    patterns.iter().any(|pattern| {
        doublestar::matches_unvalidated(pattern, path.as_bytes())
            || (!pattern.contains('/') && doublestar::matches_unvalidated(pattern, name.as_bytes()))
    })
}

/// One copy operation's source and destination.
struct Copy<'a> {
    operation: &'a CopyOperation,
    source: &'a Source<'a>,
    staging: &'a Staging<'a>,
}

impl Copy<'_> {
    /// `applySingleSourceCopy`: a `from` without glob characters.
    fn single(&self, pattern: &str, dest: &str, dest_is_dir: bool) -> Result<(), String> {
        let path = clean(pattern);
        match self.source.lookup(&path) {
            Ok(Kind::Dir) => {
                if self.operation.strategy == Strategy::Extract {
                    return Err(format!(
                        "extract strategy is not supported for directories, got '{path}'"
                    ));
                }
                // cp -r: the directory lands under its own name.
                let target = join([dest, go_base(&path)]);
                self.entry(&path, &target, &path)
            }
            Ok(_) => self.single_file(&path, dest, dest_is_dir),
            Err(Lookup::Missing) => Err(format!("source '{path}' does not exist")),
            Err(Lookup::Escapes) => Err(format!(
                "failed to stat source '{path}': statat {path}: path escapes from parent"
            )),
            Err(Lookup::Failed(text)) => Err(format!(
                "failed to stat source '{path}': statat {path}: {text}"
            )),
            Err(Lookup::Symlink(message)) => Err(message),
        }
    }

    /// `applySingleFileCopy`: into `dest` when it ends in `/` or is a staged directory,
    /// else as `dest`.
    fn single_file(&self, path: &str, dest: &str, dest_is_dir: bool) -> Result<(), String> {
        if is_excluded(path, ".", &self.operation.exclude) {
            return Ok(());
        }
        if self.operation.strategy == Strategy::Extract {
            if !is_tarball(path) {
                return Err(format!(
                    "extract strategy requires tarball file (.tar.gz or .tgz), got '{path}'"
                ));
            }
            return self.extract(path, dest);
        }
        let target = if dest_is_dir || self.staging.kind(dest) == Some(Kind::Dir) {
            join([dest, go_base(path)])
        } else {
            dest.to_string()
        };
        self.entry(path, &target, ".")
    }

    /// `copyFileWithRoots`: a directory whole, a file merged (Merge, onto a staged file)
    /// or copied.
    fn entry(&self, path: &str, target: &str, exclude_base: &str) -> Result<(), String> {
        match self.source.lookup(path) {
            Ok(Kind::Dir) => self.directory(path, target, exclude_base),
            Ok(Kind::File) => {
                if self.operation.strategy == Strategy::Merge && self.staging.kind(target).is_some()
                {
                    self.merge(path, target)
                } else {
                    self.file(path, target)
                }
            }
            Ok(Kind::Other) => Err(self.not_regular(path)),
            Ok(Kind::Symlink) => Err(self.source.symlink_refusal(path)),
            Err(Lookup::Symlink(message)) => Err(message),
            Err(Lookup::Missing) => Err(format!("statat {path}: no such file or directory")),
            Err(Lookup::Escapes) => Err(format!("statat {path}: path escapes from parent")),
            Err(Lookup::Failed(text)) => Err(format!("statat {path}: {text}")),
        }
    }

    /// A FIFO, socket or device: never in a Flux artifact, and not read.
    fn not_regular(&self, path: &str) -> String {
        format!(
            "'{path}' in source '{}' is not a regular file: a Flux artifact holds only regular files and directories",
            self.source.alias()
        )
    }

    /// `copyDirWithRoots`: the tree under `path` into `target`, depth first by name,
    /// excluded entries (and everything under an excluded directory) left out. Files are
    /// copied, never merged.
    fn directory(&self, path: &str, target: &str, exclude_base: &str) -> Result<(), String> {
        self.staging.create_dir_recursive(target)?;
        let entries = self
            .source
            .entries(path)
            .map_err(|e| go_error("open", path, &e))?;
        for entry in entries {
            let name = entry.utf8_name()?;
            let child = join([path, name]);
            if is_excluded(&child, exclude_base, &self.operation.exclude) {
                continue;
            }
            let child_target = join([target, name]);
            match entry.kind {
                Kind::Dir => self.directory(&child, &child_target, exclude_base)?,
                Kind::File => self.file(&child, &child_target)?,
                Kind::Symlink => return Err(self.source.symlink_refusal(&child)),
                Kind::Other => return Err(self.not_regular(&child)),
            }
        }
        Ok(())
    }

    /// `copyRegularFileWithRoots`: parents made, the file replaced, its mode kept.
    fn file(&self, path: &str, target: &str) -> Result<(), String> {
        let parent = go_dir(target);
        if parent != "." && !parent.is_empty() {
            self.staging
                .create_dir_recursive(&parent)
                .map_err(|e| format!("failed to create destination directory: {e}"))?;
        }
        let from = self.source.path(path);
        let to = self.staging.path("openat", target)?;
        let mut reader = fs::File::open(&from).map_err(|e| go_error("openat", path, &e))?;
        let mut writer = fs::File::create(&to).map_err(|e| go_error("openat", target, &e))?;
        io::copy(&mut reader, &mut writer).map_err(|e| go_error("read", path, &e))?;
        let permissions = reader
            .metadata()
            .map_err(|e| go_error("stat", path, &e))?
            .permissions();
        writer
            .set_permissions(permissions)
            .map_err(|e| go_error("chmod", target, &e))
    }

    /// `mergeFileWithRoots`: both files read as values files, the source merged over the
    /// staged one, the result written as `sigs.k8s.io/yaml` prints it.
    fn merge(&self, path: &str, target: &str) -> Result<(), String> {
        let overlay = load_yaml(&self.source.path(path), path)?;
        let staged = self.staging.path("openat", target)?;
        let mut merged = load_yaml(&staged, target)?;
        crate::helm::merge_maps(&mut merged, overlay);
        let text = crate::yaml::marshal(&Value::Object(merged))
            .map_err(|e| format!("failed to merged YAML: {e}"))?;
        fs::write(&staged, text).map_err(|e| go_error("openat", target, &e))
    }

    /// `extractTarball`: the archive unpacked into `dest` (made if missing).
    fn extract(&self, path: &str, dest: &str) -> Result<(), String> {
        match self.source.lookup(path) {
            Err(Lookup::Symlink(message)) => return Err(message),
            Ok(Kind::Other) => return Err(self.not_regular(path)),
            _ => {}
        }
        let archive = fs::File::open(self.source.path(path)).map_err(|e| {
            format!(
                "failed to open tarball {path:?}: {}",
                go_error("openat", path, &e)
            )
        })?;
        let full = self.staging.joined(dest).ok_or_else(|| {
            format!("failed to create destination directory {dest:?}: path escapes from parent")
        })?;
        let shown = full.display().to_string();
        fs::create_dir_all(&full).map_err(|e| {
            format!(
                "failed to create destination directory {shown:?}: {}",
                go_error("mkdir", &shown, &e)
            )
        })?;
        let dest = clean(dest.trim_start_matches('/'));
        untar(io::BufReader::new(archive), self.staging, &dest)
            .map_err(|e| format!("failed to extract tarball {path:?} to {shown:?}: {e}"))
    }
}

/// `loadYAML`: the documents of a YAML file merged into one map, as Helm reads values
/// files (documents split at `---` lines, each a map or empty, numbers `float64`).
fn load_yaml(file: &Path, shown: &str) -> Result<Map<String, Value>, String> {
    let bytes = fs::read(file).map_err(|e| {
        format!(
            "error reading YAML document: read {shown}: {}",
            go_error_text(&e)
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        "cannot unmarshal YAML document: error converting YAML to JSON: yaml: invalid leading UTF-8 octet"
            .to_string()
    })?;
    // Helm's reader is source-watcher's, but for the case of "YAML" in its messages.
    crate::helm::load_values(&text)
        .map_err(|e| e.message().replacen("yaml document", "YAML document", 1))
}

/// What source-watcher's archiver (`SourceIgnoreFilter` with no patterns: the VCS ones)
/// leaves out of the tarball: directories named `.git` and anything named `.gitignore`,
/// `.gitmodules` or `.gitattributes`, with what is under them.
fn drop_vcs_files(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let is_dir = entry.file_type()?.is_dir();
        let name = entry.file_name();
        let vcs = (is_dir && name == ".git")
            || [".gitignore", ".gitmodules", ".gitattributes"]
                .iter()
                .any(|n| name == *n);
        match (vcs, is_dir) {
            (true, true) => fs::remove_dir_all(entry.path())?,
            (true, false) => fs::remove_file(entry.path())?,
            (false, true) => drop_vcs_files(&entry.path())?,
            (false, false) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn selection_roots() {
        assert_eq!(selection_root("infrastructure/**"), "infrastructure");
        assert_eq!(selection_root("a/b/*.yaml"), "a/b");
        assert_eq!(selection_root("*.yaml"), ".");
        assert_eq!(selection_root("a/[x]/b"), "a");
        assert_eq!(selection_root("./a//b/*"), "a/b");
    }

    #[test]
    fn glob_destinations() {
        assert_eq!(
            glob_destination("config/**", "config/app.yaml", "dest/"),
            "dest/app.yaml"
        );
        assert_eq!(glob_destination("config/**", "config/sub", ""), "sub");
        assert_eq!(glob_destination("**", "a.yaml", ""), "a.yaml");
        assert_eq!(
            glob_destination("configs/*.yaml", "configs/a.yaml", "apps/"),
            "apps/configs/a.yaml"
        );
    }

    #[test]
    fn exclusion_rules() {
        let patterns = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // From the source's root.
        assert!(is_excluded(
            "infra/ctl/d/x.yaml",
            "infra",
            &patterns(&["infra/ctl/d/**"])
        ));
        // From the selection's root.
        assert!(is_excluded(
            "infra/ctl/d/x.yaml",
            "infra",
            &patterns(&["ctl/d/**"])
        ));
        // A name at any depth.
        assert!(is_excluded("a/b/README.md", ".", &patterns(&["*.md"])));
        // A pattern with `/` is anchored.
        assert!(!is_excluded(
            "infra/x/descheduler/r.yaml",
            "infra",
            &patterns(&["descheduler/**"])
        ));
        assert!(is_excluded(
            "infra/descheduler/r.yaml",
            "infra",
            &patterns(&["descheduler/**"])
        ));
        // Outside the base, only the root-relative path counts.
        assert!(!is_excluded(
            "other/x.yaml",
            "infra",
            &patterns(&["x.yaml/**"])
        ));
        assert_eq!(relative_to("infra", "infra"), Some(".".into()));
        assert_eq!(relative_to("infra", "infrastructure/x"), None);
    }

    #[test]
    fn tarball_names() {
        assert!(is_tarball("a/chart-1.0.0.tgz"));
        assert!(is_tarball("A.TAR.GZ"));
        assert!(!is_tarball("a.tar"));
        assert!(!is_tarball("a.gz"));
    }

    #[test]
    fn copy_sources() {
        assert_eq!(parse_source("@repo/a/b"), Ok(("repo", "a/b")));
        assert_eq!(parse_source("@repo/"), Ok(("repo", "")));
        assert_eq!(
            parse_source("@repo"),
            Err("source format must be '@alias/pattern'")
        );
        assert_eq!(parse_source("repo/x"), Err("source must start with '@'"));
        assert!(is_glob("a]"));
        assert!(!is_glob("a{b}"));
    }
}

//! Loading a chart from a directory or a `.tgz` archive, as Helm's `loader.Load` does.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use super::chart::{self, Chart, File, Metadata};
use super::error::Error;
use super::ignore::Rules;
use super::values;

/// Helm's limits on decompressed archives.
const MAX_CHART_SIZE: u64 = 100 * 1024 * 1024;
const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;

/// Loads the chart at `path`: a chart directory (honouring its `.helmignore`) or a
/// gzipped tar archive.
///
/// # Errors
/// Unreadable files, malformed archives, invalid `Chart.yaml`/`values.yaml`, and Helm's
/// validation failures, with Helm's messages.
pub fn load_chart(path: &Path) -> Result<Chart, Error> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::load(format!("path {:?} not found", path.display().to_string()))
        }
        _ => Error::load(format!("{}: {e}", path.display())),
    })?;
    let chart = if meta.is_dir() {
        let chart_yaml = path.join("Chart.yaml");
        if !chart_yaml.is_file() {
            let shown = chart_yaml.display();
            return Err(Error::load(format!(
                "unable to detect chart at {shown}: open {shown}: no such file or directory"
            )));
        }
        load_dir(path)?
    } else {
        let data =
            std::fs::read(path).map_err(|e| Error::load(format!("{}: {e}", path.display())))?;
        let name = path.display().to_string();
        if !data.starts_with(&[0x1f, 0x8b]) {
            if name.ends_with(".yml") || name.ends_with(".yaml") {
                return Err(Error::load(format!(
                    "file '{name}' seems to be a YAML file, but expected a gzipped archive"
                )));
            }
            return Err(Error::load(format!(
                "file '{name}' does not appear to be a gzipped archive; got 'application/octet-stream'"
            )));
        }
        load_archive(&data)?
    };
    match chart.metadata.api_version.as_str() {
        "v1" | "v2" => Ok(chart),
        "v3" => Err(Error::unsupported("chart apiVersion v3")),
        _ => Err(Error::load("unsupported chart version")),
    }
}

fn load_dir(dir: &Path) -> Result<Chart, Error> {
    let mut rules = match std::fs::read(dir.join(".helmignore")) {
        Ok(text) => Rules::parse(&String::from_utf8_lossy(&text)).map_err(Error::load)?,
        Err(_) => Rules::default(),
    };
    rules.add_defaults().map_err(Error::load)?;
    let mut files = Vec::new();
    walk(dir, "", &rules, &mut files)?;
    load_files(files)
}

/// Walks `dir` in lexical order per directory (Go's `filepath.Walk`), following symlinks.
fn walk(dir: &Path, prefix: &str, rules: &Rules, out: &mut Vec<File>) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::load(format!("{}: {e}", dir.display()));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    names.sort();
    for name in names {
        let rel = format!("{prefix}{name}");
        let full = dir.join(&name);
        let meta = std::fs::metadata(&full).map_err(io)?;
        if meta.is_dir() {
            if !rules.ignores(&rel, true) {
                walk(&full, &format!("{rel}/"), rules, out)?;
            }
            continue;
        }
        if rules.ignores(&rel, false) {
            continue;
        }
        if !meta.is_file() {
            return Err(Error::load(format!(
                "cannot load irregular file {} as it has file mode type bits set",
                full.display()
            )));
        }
        if meta.len() > MAX_FILE_SIZE {
            return Err(Error::load(format!(
                "chart file {name:?} is larger than the maximum file size {MAX_FILE_SIZE}"
            )));
        }
        let data =
            std::fs::read(&full).map_err(|e| Error::load(format!("error reading {rel}: {e}")))?;
        out.push(File {
            name: rel,
            data: strip_bom(data),
        });
    }
    Ok(())
}

fn strip_bom(mut data: Vec<u8>) -> Vec<u8> {
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        data.drain(..3);
    }
    data
}

/// Loads a gzipped tar chart archive held in memory.
fn load_archive(data: &[u8]) -> Result<Chart, Error> {
    let gz = flate2::read::GzDecoder::new(data);
    let mut archive = tar::Archive::new(gz);
    let entries = archive.entries().map_err(|e| Error::load(e.to_string()))?;
    let mut files = Vec::new();
    let mut remaining = MAX_CHART_SIZE;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::load(e.to_string()))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let delimiter = if raw.contains('\\') { '\\' } else { '/' };
        let parts: Vec<&str> = raw.split(delimiter).collect();
        if parts.first() == Some(&"Chart.yaml") {
            return Err(Error::load("chart yaml not in base directory"));
        }
        let name = crunch_gostd::path::clean(&parts[1..].join("/"));
        if name.starts_with('/') {
            return Err(Error::load("chart illegally contains absolute paths"));
        }
        if name == "." {
            return Err(Error::load(format!(
                "chart illegally contains content outside the base directory: {raw:?}"
            )));
        }
        if name.starts_with("..") {
            return Err(Error::load("chart illegally references parent directory"));
        }
        let size = entry.header().size().unwrap_or(0);
        if size > MAX_FILE_SIZE {
            return Err(Error::load(format!(
                "decompressed chart file {raw:?} is larger than the maximum file size {MAX_FILE_SIZE}"
            )));
        }
        let mut buf = Vec::new();
        (&mut entry)
            .take(remaining)
            .read_to_end(&mut buf)
            .map_err(|e| Error::load(e.to_string()))?;
        remaining = remaining.saturating_sub(buf.len() as u64);
        if (buf.len() as u64) < size || remaining == 0 {
            return Err(Error::load(format!(
                "decompressed chart is larger than the maximum size {MAX_CHART_SIZE}"
            )));
        }
        files.push(File {
            name,
            data: strip_bom(buf),
        });
    }
    if files.is_empty() {
        return Err(Error::load("no files in chart archive"));
    }
    load_files(files)
}

/// Builds a chart from its files (Helm's `LoadFiles`), recursing into `charts/`.
fn load_files(files: Vec<File>) -> Result<Chart, Error> {
    let mut metadata: Option<Metadata> = None;
    for f in files.iter().filter(|f| f.name == "Chart.yaml") {
        let md = metadata.get_or_insert_with(Metadata::default);
        chart::decode_metadata(&f.data, md)
            .map_err(|e| Error::load(format!("cannot load Chart.yaml: {e}")))?;
        if md.api_version.is_empty() {
            md.api_version = "v1".into();
        }
    }
    let mut chart = Chart {
        metadata: Metadata::default(),
        values: serde_json::Map::new(),
        schema: None,
        templates: Vec::new(),
        files: Vec::new(),
        dependencies: Vec::new(),
    };
    let mut subcharts: BTreeMap<String, Vec<File>> = BTreeMap::new();
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" => {}
            "Chart.lock" | "requirements.lock" => {
                let v1 = metadata.as_ref().is_some_and(|m| m.api_version == "v1");
                if f.name == "requirements.lock" && v1 {
                    chart.files.push(f);
                }
            }
            "values.yaml" => {
                let text = String::from_utf8_lossy(&f.data);
                chart.values = values::load_values(&text)
                    .map_err(|e| Error::load(format!("cannot load values.yaml: {e}")))?;
            }
            "values.schema.json" => chart.schema = Some(f.data),
            "requirements.yaml" => {
                let md = metadata.get_or_insert_with(Metadata::default);
                chart::decode_metadata(&f.data, md)
                    .map_err(|e| Error::load(format!("cannot load requirements.yaml: {e}")))?;
                if md.api_version == "v1" {
                    chart.files.push(f);
                }
            }
            name if name.starts_with("templates/") => chart.templates.push(f),
            name if name.starts_with("charts/") => {
                if name.ends_with(".prov") {
                    chart.files.push(f);
                    continue;
                }
                let rest = &name["charts/".len()..];
                let sub = rest.split('/').next().unwrap_or(rest).to_string();
                subcharts.entry(sub).or_default().push(File {
                    name: rest.to_string(),
                    data: f.data,
                });
            }
            _ => chart.files.push(f),
        }
    }
    let Some(mut metadata) = metadata else {
        return Err(Error::load("Chart.yaml file is missing"));
    };
    chart::validate(&mut metadata)?;
    chart.metadata = metadata;
    for (sub, files) in subcharts {
        if sub.starts_with('_') || sub.starts_with('.') {
            continue;
        }
        let loaded = if sub.ends_with(".tgz") {
            match files.first() {
                Some(file) if file.name == sub => load_archive(&file.data),
                Some(file) => {
                    return Err(Error::load(format!(
                        "error unpacking subchart tar in {}: expected {sub}, got {}",
                        chart.name(),
                        file.name
                    )));
                }
                None => continue,
            }
        } else {
            let inner = files
                .into_iter()
                .filter_map(|f| {
                    let (_, rest) = f.name.split_once('/')?;
                    Some(File {
                        name: rest.to_string(),
                        data: f.data,
                    })
                })
                .collect();
            load_files(inner)
        };
        let loaded = loaded.map_err(|e| {
            Error::load(format!(
                "error unpacking subchart {sub} in {}: {e}",
                chart.name()
            ))
        })?;
        chart.dependencies.push(loaded);
    }
    Ok(chart)
}

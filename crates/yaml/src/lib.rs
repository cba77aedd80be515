//! crunch's YAML layer: go-yaml compatible reading and writing on `saphyr-parser` events.
//!
//! Every Kubernetes object and values tree in crunch is a [`Value`] (`serde_json` with
//! `preserve_order`). YAML enters through [`parse_stream`] / [`parse_document`] and leaves
//! through [`to_helm_yaml`], [`to_kyaml`] and [`to_go_json`]; nothing else in crunch parses or
//! prints YAML.
//!
//! ```
//! use crunch_yaml::{Dialect, parse_document, to_helm_yaml};
//!
//! let text = "enabled: yes\nmode: 0755\nname: web\n";
//! // go-yaml v2 (Helm, kubectl, Flux) reads YAML 1.1 booleans and octals…
//! let helm = parse_document(text, Dialect::GoYamlV2).unwrap();
//! assert_eq!(helm["enabled"], true);
//! assert_eq!(helm["mode"], 493);
//! // …where kustomize's kyaml (go-yaml v3) keeps `yes` a string.
//! let kustomize = parse_document(text, Dialect::GoYamlV3).unwrap();
//! assert_eq!(kustomize["enabled"], "yes");
//! // Printed as Helm's `toYaml` prints: keys sorted, go-yaml v2's quoting.
//! assert_eq!(to_helm_yaml(&helm), "enabled: true\nmode: 493\nname: web\n");
//! ```
//!
//! Two reading dialects exist because the tools crunch imitates disagree:
//! [`Dialect::GoYamlV2`] is go-yaml v2 as `sigs.k8s.io/yaml` uses it (Helm, kubectl, Flux:
//! YAML 1.1 booleans such as `yes`/`on`, octal `0755`, merge keys); [`Dialect::GoYamlV3`] is
//! go-yaml v3 as kustomize's kyaml reads it (`yes` stays a string).
//!
//! Numbers keep what the resolver says: integers become `i64` (or `u64` above `i64::MAX`),
//! everything else `f64`. Helm turns every values number into `float64` through its JSON
//! round trip; callers that imitate that apply the conversion themselves.
//!
//! Non-finite floats (`.inf`, `.nan`) cannot live in a [`Value`]: reading one fails with
//! `json: unsupported value: +Inf`, as Helm fails when its JSON conversion meets one.
//!
//! Limits: collections nest at most 256 deep (saphyr stops flow collections at 255), and
//! alias expansion follows go-yaml's budget (a document whose decoded nodes are mostly
//! alias expansions fails with `document contains excessive aliasing`), so a billion-laughs
//! input fails fast in bounded memory.
//!
//! Where YAML 1.1 (libyaml's scanner, which go-yaml v2 and v3 both port) and saphyr's
//! YAML 1.2 disagree, crunch reads as go-yaml does: U+0085, U+2028 and U+2029 are line
//! breaks (`breaks`); one byte order mark at the start of the stream is dropped and any
//! other is content (`bom`); inside flow collections `[12:, a]` holds the scalar `12:` and
//! `[:a]` is an error (`flow`); only `%YAML 1.1` and `%TAG` directives are accepted. Some
//! invalid inputs are still worded or positioned differently in errors (see [`Error`]).

mod bom;
mod breaks;
mod compose;
mod decode;
mod emit;
mod error;
mod flow;
mod json;
mod merge;
mod patch;
mod placeholder;
mod resolve;
mod syntax;
#[cfg(test)]
mod tests;
pub mod tree;

pub use error::{Error, Position};
pub use serde_json::Value;

/// Which go-yaml the input is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// go-yaml v2 as `sigs.k8s.io/yaml` uses it: Helm values and manifests, kubectl, Flux.
    /// YAML 1.1 booleans (`yes`, `on`, `y`, …), octal `0755`, hex, `1_000`, `<<` merge keys
    /// (a merge overrides keys written before it), last duplicate key wins, timestamps stay
    /// strings, and non-string keys become strings (`on` → `"true"`, `1.5` → `"1.5"`; `null`
    /// and integers above `i64::MAX` as keys fail as in `sigs.k8s.io/yaml`).
    GoYamlV2,
    /// go-yaml v3 as kustomize reads resources, including kustomize's JSON round trip:
    /// only `true`/`false` are booleans (`yes` is a string), numbers as in v2, explicit keys
    /// beat merged ones, a duplicate key or a non-string key is an error, and timestamps
    /// become RFC 3339 strings (`2001-12-14` → `2001-12-14T00:00:00Z`). Inside flow
    /// collections kustomize keeps a timestamp with a time of day as written and reads an
    /// empty value as `""`, and its go-yaml v3 round trip adds a newline before the
    /// more-indented lines of a folded (`>`) scalar and after the last line of a folded
    /// scalar that keeps two or more trailing breaks; this dialect does the same. kyaml also
    /// drops the first key spelled `<<` in each mapping even when quoted (see `merge.rs`).
    GoYamlV3,
}

/// The formatting of [`to_go_json`], one per Go/Sprig function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonStyle {
    /// `json.Marshal` (Helm `toJson`): compact, `<`, `>` and `&` escaped as `\u003c` etc.
    Compact,
    /// Sprig `toRawJson`: compact, no HTML escaping.
    Raw,
    /// `json.MarshalIndent(v, "", "  ")` (Sprig `toPrettyJson`), HTML escaping on.
    Pretty,
}

/// Parses a `---` separated stream into one [`Value`] per document.
///
/// An empty document (`---` followed by nothing or comments) yields [`Value::Null`]; an
/// input without any document (empty, or only comments) yields an empty vector. Helm,
/// kubectl and kustomize split a stream at `---` lines and read each document on its own,
/// so a byte order mark opening a later document is dropped as at the start of the stream.
///
/// # Errors
/// Syntax errors (with line and column), excessive aliasing or nesting, unsupported tags,
/// non-finite floats and keys that cannot become strings.
pub fn parse_stream(text: &str, dialect: Dialect) -> Result<Vec<Value>, Error> {
    compose::compose(text, compose::Documents::All, |doc| {
        decode::decode(doc, dialect, false)
    })
}

/// Parses one document as `sigs.k8s.io/yaml.Unmarshal` does: only the first document of a
/// stream is read and later documents are ignored; an empty input yields [`Value::Null`].
///
/// # Errors
/// As [`parse_stream`], for the first document.
pub fn parse_document(text: &str, dialect: Dialect) -> Result<Value, Error> {
    let docs = compose::compose(text, compose::Documents::First, |doc| {
        decode::decode(doc, dialect, false)
    })?;
    Ok(docs.into_iter().next().unwrap_or(Value::Null))
}

/// Parses one document as `sigs.k8s.io/yaml.UnmarshalStrict` reads its YAML: go-yaml v2's
/// `UnmarshalStrict`, which is [`parse_document`] with [`Dialect::GoYamlV2`] except that a
/// key set twice in one mapping, written twice or once written and once merged (`<<`), is
/// an error: `yaml: unmarshal errors:\n  line N: key "a" already set in map`, at the line
/// of the second value. (Helm reads repository indexes this way.)
///
/// Keys are compared as the strings they become, so `1` and `"1"` count as the same key
/// (go-yaml compares them typed, then `sigs.k8s.io/yaml` merges them into one JSON key),
/// and the message quotes every key as a string (go-yaml prints `key true` for a boolean
/// key); only the first duplicate is reported, where go-yaml lists them all.
///
/// # Errors
/// As [`parse_document`], and the duplicate keys described above.
pub fn parse_document_strict(text: &str) -> Result<Value, Error> {
    let docs = compose::compose(text, compose::Documents::First, |doc| {
        decode::decode(doc, Dialect::GoYamlV2, true)
    })?;
    Ok(docs.into_iter().next().unwrap_or(Value::Null))
}

/// Prints `v` byte-identically to Helm's `toYaml` before its trim: `sigs.k8s.io/yaml.Marshal`
/// (JSON, then the go-yaml v2 emitter). Keys in go-yaml v2's order (digit runs compare as
/// numbers, non-letters before letters), 2-space indent, sequences not indented under their
/// key, libyaml's quoting choices, long scalars folded at 80 columns. Numbers print as
/// their JSON text reads back: `1000000.0` as `1000000`, `1e21` as `1e+21`, `0.00001` as
/// `1e-05`.
///
/// The result ends with a newline (`{}\n` for an empty map, `null\n` for null). Helm's
/// `toYaml` then applies `strings.TrimSuffix(s, "\n")`, removing exactly one trailing
/// newline; the caller does that.
///
/// Where `sigs.k8s.io/yaml.Marshal` fails (a string holding DEL, a C1 control, U+FFFE or
/// U+FFFF: JSON leaves them raw and go-yaml's reader rejects them) this returns the empty
/// string, as Helm's `toYaml` does; [`marshal`] reports the error instead.
#[must_use]
pub fn to_helm_yaml(v: &Value) -> String {
    marshal(v).unwrap_or_default()
}

/// `sigs.k8s.io/yaml.Marshal`: the text of [`to_helm_yaml`], or the error Go would report.
///
/// # Errors
/// `yaml: control characters are not allowed` for the strings described at [`to_helm_yaml`].
pub fn marshal(v: &Value) -> Result<String, Error> {
    emit::check_readable(v)?;
    Ok(emit::write(v))
}

/// Prints one resource exactly as `kubectl kustomize` prints it, without a leading `---`;
/// separate resources with `---\n`.
///
/// kustomize reads with go-yaml v3 but prints through `sigs.k8s.io/yaml.JSONToYAML`, i.e. the
/// same go-yaml v2 emitter as [`to_helm_yaml`]: keys in go-yaml's order, sequences not
/// indented under their key, folding at 80 columns. For the strings [`marshal`] rejects,
/// kustomize fails; this prints them escaped.
#[must_use]
pub fn to_kyaml(v: &Value) -> String {
    emit::write(v)
}

/// Prints `v` byte-identically to Go's `encoding/json` in the given style. Keys are sorted
/// bytewise (Go maps have no order); floats follow `encoding/json`'s rules (`'f'` format
/// for `1e-6 <= |x| < 1e21`, else `'e'`: `1e+21`, `1e-7`); Go's escaping (`\u2028`,
/// `\u2029` always, `<`, `>`, `&` unless [`JsonStyle::Raw`]).
#[must_use]
pub fn to_go_json(v: &Value, style: JsonStyle) -> String {
    json::to_go_json(v, style)
}

/// Go `encoding/json`'s name for the JSON kind of `v`, as its unmarshalling errors spell
/// it (`cannot unmarshal string into Go value of type …`).
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

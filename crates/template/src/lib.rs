//! Go `text/template` with the Sprig function library, as Helm v4 (Go 1.25) drives it.
//!
//! The engine knows nothing of Helm: Helm's own functions (`include`, `tpl`, `toYaml`,
//! `required`, `lookup`, …) are supplied by the caller through [`FuncMap`] and reach the
//! running template set through [`Context`].
//!
//! ```
//! use crunch_template::{FuncMap, Map, Options, Signature, Templates, Type, Value};
//!
//! let mut funcs = FuncMap::sprig();
//! funcs.insert("include", Signature::new(&[Type::String, Type::Any]), |ctx, a| {
//!     ctx.execute_template(a[0].as_str().unwrap_or_default(), a[1].clone())
//!         .map(Value::from)
//!         .map_err(|e| e.to_string())
//! });
//! let mut set = Templates::new("gotpl", funcs, Options::helm());
//! set.parse("c/templates/t.yaml", r#"{{ define "q" }}{{ . | quote }}{{ end }}a: {{ include "q" .Values.x }}"#)?;
//! let values = Value::from_json_floats(&serde_json::json!({"x": 1}));
//! let top = Map::new();
//! top.insert("Values", values);
//! let out = set.execute("c/templates/t.yaml", Value::Map(top.named("common.Values")))?;
//! assert_eq!(out, r#"a: "1""#);
//! # Ok::<(), crunch_template::Error>(())
//! ```
//!
//! What an embedding Helm layer should know:
//! - Helm v4 passes `.`, `.Values` and `.Template` as the named type `common.Values`
//!   ([`Map::with_type`], [`MapType`]); `typeOf` shows it and Sprig's `dig` rejects it,
//!   as in Helm, and the methods the caller declares on it (`AsMap`, `Table`, …) are
//!   called as Go calls methods: before a key of the same name, arguments checked
//!   against the [`Signature`]. [`Object::method`] does the same for objects.
//!   Values must be `float64` numbers ([`Value::from_json_floats`]).
//! - [`Options::helm`] is `missingkey=zero` with `<no value>` stripped from
//!   [`Templates::execute`]'s output; [`Context::execute_template`] and
//!   [`Context::execute_text`] do not strip (Helm's `include` does not either).
//! - [`Error::kind`] separates parse from execution errors; the message is Go's.
//! - Sprig's `toJson`, `toPrettyJson`, `toRawJson` and `fromJson` are built in and encode
//!   as `encoding/json` does; Helm's `toJson` behaves the same.
//! - Execution recurses natively. [`Options::max_depth`] is Go's per-execution
//!   `{{template}}` limit; [`Context::execute_template`] (`include`) and
//!   [`Context::execute_text`] (`tpl`) start fresh executions as in Go, so only the
//!   caller's own guard (Helm's 1000 nested `include`s of a name) limits them, under
//!   crunch's [`Options::max_nesting`] backstop. Run executions on a thread with
//!   `max_nesting` × [`STACK_PER_NESTING`] bytes of stack.
//! - [`Options::budget`] ([`Budget`]) bounds the steps and bytes of one execution for
//!   templates nobody vetted (the fuzz target); unlimited by default, as in Go.
//! - [`Object::collection`] exposes a Go map or slice with methods (`.Files`,
//!   `.Capabilities.APIVersions`) to `range`, `len`, `index` and truth tests.
//! - [`Templates::execute_with_seed`] reseeds the random source per executed template.
//! - Strings are UTF-8: Go strings holding arbitrary bytes (`randBytes` decoded, binary
//!   `b64dec`) are converted lossily. Sprig's `keys`/`values` return sorted order (Go's is
//!   random).
//! - Clock and key material are inputs, so a build is reproducible: `now`, `ago`, `date`
//!   without a time, … read [`Options::now`] (a [`Clock`], the Unix epoch by default;
//!   Go's `Local` zone is its offset, UTC by default), and keys, certificate serials,
//!   bcrypt salts and AES IVs draw from the seeded random source. `now` has no monotonic
//!   clock reading, so printing it shows no `m=+…`. Time zones come from the IANA
//!   database compiled in (jiff's bundled tzdb). `getHostByName` needs the network and is
//!   an error that names itself.

mod ast;
mod error;
mod exec;
mod fmt;
mod funcs;
mod gotime;
mod lex;
mod literal;
mod num;
mod parse;
mod set;
#[cfg(test)]
mod tests;
mod value;

pub use crunch_gostd::time::Clock;
pub use error::{Error, ErrorKind};
pub use fmt::sprintf;
pub use funcs::{Context, FuncMap, Function, Signature, Type};
pub use set::{Budget, GO_MAX_DEPTH, MissingKey, Options, STACK_PER_NESTING, Templates};
pub use value::{ElemType, List, Map, MapType, Method, Object, Value};

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

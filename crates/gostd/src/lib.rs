//! The parts of Go's standard library that crunch needs, faithful to Go's output byte for
//! byte: what Helm, Sprig, kustomize and go-yaml print goes through these functions, so
//! crunch's engines print what the Go tools print.
//!
//! - [`strconv`]: `Quote`, `QuoteToASCII`, `QuoteRune`, `CanBackquote`, `IsPrint` (with
//!   the Unicode tables of the Go release the oracles were built with) and `FormatFloat`.
//! - [`json`]: `encoding/json`'s string escaping (with and without HTML escaping), its
//!   float format and the character quoting of its syntax errors.
//! - [`path`]: `path.Clean` and `path.Join`.
//! - [`time`]: how `time`'s errors quote values.
//! - [`base64`]: `encoding/base64`'s `StdEncoding.DecodeString`.
//! - [`hex`] and [`sha256`]: `hex.EncodeToString` and the hex digest crunch keys caches
//!   and bundles by.
//!
//! A leaf: it depends on no crunch code.
//!
//! ```
//! use crunch_gostd::strconv;
//!
//! assert_eq!(strconv::quote("tab\there\u{85}"), r#""tab\there\u0085""#);
//! assert_eq!(strconv::format_float(1e21, 'g', -1, 64), "1e+21");
//! ```
#![warn(missing_docs, unreachable_pub)]

pub mod base64;
pub mod hex;
pub mod json;
pub mod path;
pub mod sha256;
pub mod strconv;
pub mod time;

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

//! Flux's envsubst dialect: the `${var}` substitution kustomize-controller runs over each
//! object of a Kustomization with `spec.postBuild` (`github.com/fluxcd/pkg/envsubst`
//! v1.7, Flux's fork of `drone/envsubst`). Text in, text out; it knows nothing of YAML or
//! Kubernetes.
//!
//! ```
//! use crunch_envsubst::substitute;
//!
//! let vars = |name: &str| (name == "APP").then_some("web");
//! assert_eq!(substitute("${APP}-${TIER:=front}", vars, true).unwrap(), "web-front");
//! assert_eq!(substitute("${APP^^} ${#APP} ${APP/w/W}", vars, true).unwrap(), "WEB 3 Web");
//! ```
//!
//! What the dialect does, as Flux's scanner and parser do it:
//! - Outside a function, `$$` is one `$` (so `$${var}` is the text `${var}`); a `$` not
//!   before `{` is text.
//! - `${var}`; `${var:=w}`, `${var:-w}`, `${var:?w}`, `${var:+w}` and `${var=w}` all give
//!   the value, or `w` when it is empty (no error for `?`, and `+` is no alternate value);
//!   `${#var}` (length in bytes); `${var:off}`, `${var:off:len}` (bytes; negative `off`
//!   counts from the end); `${var#p}`, `${var##p}`, `${var%p}`, `${var%%p}` (shell
//!   patterns where `*` also matches `/`); `${var/a/b}`, `${var//a/b}`, `${var/#a/b}`,
//!   `${var/%a/b}`; `${var,}`, `${var,,}`, `${var^}`, `${var^^}` (Go's simple case
//!   mappings). Arguments may hold nested functions. Anything else inside `${…}` is an
//!   error: [`Error::MissingClosingBrace`], [`Error::BadSubstitution`], …
//! - Strict mode: a variable the lookup does not know is an error
//!   ([`Error::VariableNotSet`]) unless its operator is a default form; otherwise it is
//!   empty. Arguments are evaluated first, so an unset variable in a default's argument
//!   fails in strict mode even when the default is not needed.
//! - Quirks kept: a NUL byte ends the text (the scanner reads it as its end); escapes
//!   are undone only at the top level and in `/` arguments (`${v:-$$x}` gives `$$x`); the
//!   parser steps back after a peek by the peeked rune's width, so `${v:é}` is a bad
//!   substitution where `${v:e}` is a substring; an operator Flux does not know is the
//!   default function.
//!
//! Where Flux would panic (a negative `${v:off:len}` ending before its start) this
//! returns [`Error::SliceBounds`]; nesting deeper than [`MAX_NESTING`] is
//! [`Error::TooDeep`] and a result larger than [`MAX_OUTPUT`] is [`Error::TooLarge`],
//! where Go has no limits.

mod eval;
mod parse;
mod pattern;
mod scan;

pub use parse::MAX_NESTING;

/// The most bytes one substitution may produce, its result or any value inside it. Flux
/// has no limit; nested replacements can grow a value exponentially, and an object of
/// more than etcd's 1.5 MiB cannot be stored anyway.
pub const MAX_OUTPUT: usize = 4 << 20;

/// Why a substitution failed, worded as Flux's envsubst words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A function that does not parse (Flux's `ErrBadSubstitution`).
    #[error("bad substitution")]
    BadSubstitution,
    /// `${var` followed by something that is no operator (`ErrMissingClosingBrace`).
    #[error("missing closing brace")]
    MissingClosingBrace,
    /// `${` not followed by a variable name (`ErrParseVariableName`).
    #[error("unable to parse variable name")]
    ParseVariableName,
    /// An operator's argument that does not parse (`ErrParseFuncSubstitution`).
    #[error("unable to parse substitution within function")]
    ParseFuncSubstitution,
    /// A default operator that does not parse (`ErrParseDefaultFunction`).
    #[error("unable to parse default function")]
    ParseDefaultFunction,
    /// Strict mode: the variable is unset and its operator supplies no default.
    #[error("variable not set (strict mode): {}", crunch_gostd::strconv::quote(.0))]
    VariableNotSet(String),
    /// Where Go's slicing panics (`[low:high]` as its runtime error shows them).
    #[error("runtime error: slice bounds out of range {0}")]
    SliceBounds(String),
    /// A value or the result grew past [`MAX_OUTPUT`] bytes.
    #[error("substitution result exceeds {MAX_OUTPUT} bytes")]
    TooLarge,
    /// Functions nested deeper than [`MAX_NESTING`].
    #[error("substitutions nest deeper than {MAX_NESTING} levels")]
    TooDeep,
    /// The result is not UTF-8: a byte slice (`${v:1}`) or one of the scanner's quirks
    /// cut a character.
    #[error("substitution result is not valid UTF-8")]
    NotUtf8,
}

/// Substitutes every `${…}` in `text`, looking variables up with `lookup` (`None`: not
/// set). With `strict`, a variable that is not set is an error unless a default operator
/// covers it; without, it is empty.
///
/// # Errors
/// A function that does not parse, an unset variable in strict mode, and the cases at
/// the crate's end; Flux's message for each.
pub fn substitute<'v>(
    text: &str,
    lookup: impl Fn(&str) -> Option<&'v str>,
    strict: bool,
) -> Result<String, Error> {
    let nodes = parse::parse(text)?;
    let mut out = Vec::with_capacity(text.len());
    eval::eval(&nodes, &lookup, strict, &mut out)?;
    String::from_utf8(out).map_err(|_| Error::NotUtf8)
}

#[cfg(test)]
mod tests;

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

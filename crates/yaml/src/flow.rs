//! Plain scalars inside flow collections, which go-yaml (YAML 1.1, libyaml's scanner) and
//! saphyr (YAML 1.2) delimit differently:
//!
//! - a `:` glued to a plain scalar and followed by `,`, `[`, `]`, `{` or `}` belongs to
//!   the scalar in go-yaml (`[12:, a]` is `["12:", "a"]`), where saphyr ends the scalar
//!   and reads a value indicator; such colons are swapped for a placeholder before parsing;
//! - a `:` opening a token is always a value indicator in go-yaml, so `[:a]`, `[: b]` and
//!   `{: c}` fail (`did not find expected node content`) where saphyr reads a plain `:a`
//!   or an empty key;
//! - a `?` ends a plain scalar in go-yaml and starts a key that is out of place there
//!   (`[a?b]` fails), where saphyr keeps it in the scalar.

use std::borrow::Cow;

use super::placeholder::Placeholders;

/// Characters after a `:` that keep it inside a plain scalar in go-yaml's flow context.
const AFTER_GLUED_COLON: &[u8] = b",[]{}";

/// Whether the `:` at byte `at` is glued to a preceding plain scalar and followed by one
/// of [`AFTER_GLUED_COLON`].
fn is_glued_colon(bytes: &[u8], at: usize) -> bool {
    bytes[at] == b':'
        && bytes
            .get(at + 1)
            .is_some_and(|next| AFTER_GLUED_COLON.contains(next))
        && at
            .checked_sub(1)
            .and_then(|before| bytes.get(before))
            .is_some_and(|before| !b" \t\r\n\"'[]{},".contains(before))
}

/// The text with every glued colon swapped for a placeholder. Outside flow collections
/// such a colon is part of a plain (or quoted) scalar for both parsers, so the swap, undone
/// in scalar values, changes nothing there.
pub(crate) fn prepare<'a>(text: Cow<'a, str>, placeholders: &mut Placeholders) -> Cow<'a, str> {
    let bytes = text.as_bytes();
    let glued = |(at, _): &(usize, &str)| is_glued_colon(bytes, *at);
    if !text.match_indices(':').any(|colon| glued(&colon)) {
        return text;
    }
    let Some(placeholder) = placeholders.add(&text, ':') else {
        return text;
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut from = 0;
    for (at, _) in text.match_indices(':').filter(glued) {
        out.push_str(&text[from..at]);
        out.push(placeholder);
        from = at + 1;
    }
    out.push_str(&text[from..]);
    Cow::Owned(out)
}

/// Why go-yaml rejects a plain scalar that saphyr read inside a flow collection whose
/// closing bracket is `closer`, with the character offset of the problem in the scalar.
pub(crate) fn rejected_plain(value: &str, closer: char) -> Option<(usize, String)> {
    if value.starts_with(':') {
        return Some((0, "did not find expected node content".to_owned()));
    }
    let at = value.chars().skip(1).position(|c| c == '?')? + 1;
    Some((at, format!("did not find expected ',' or '{closer}'")))
}

/// go-yaml's message for an empty key before `:` in a flow collection (`[: b]`).
pub(crate) const EMPTY_KEY: &str = "did not find expected node content";

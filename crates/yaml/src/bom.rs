//! Byte order marks (U+FEFF) as go-yaml reads them. Its reader drops one BOM at the very
//! start of the stream; any other BOM is an ordinary character (it starts or continues a
//! plain scalar, sits in a key, a comment or a block scalar), so `\u{feff}---` and
//! `---\u{feff}` are not document markers. saphyr instead rejects a BOM inside a document.
//!
//! The tools crunch imitates never hand go-yaml a whole multi-document stream: Helm and
//! kubectl split manifests at `---` lines and kustomize's kyaml splits resource files the
//! same way, each document then being a stream of its own. So when every document of a
//! stream is read, a BOM opening the line after a `---` line is dropped as the reader
//! would drop it.
//!
//! saphyr reads a copy in which every remaining BOM is replaced by a placeholder
//! ([`Placeholders`]).

use std::borrow::Cow;

use super::placeholder::Placeholders;

const BOM: char = '\u{feff}';

/// The text saphyr reads: the leading BOM dropped, with `split_documents` a BOM opening a
/// document after a `---` line too, and any other BOM replaced by a placeholder.
pub(crate) fn prepare<'a>(
    text: &'a str,
    split_documents: bool,
    placeholders: &mut Placeholders,
) -> Cow<'a, str> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    if !text.contains(BOM) {
        return Cow::Borrowed(text);
    }
    let placeholder = placeholders.add(text, BOM);
    let mut out = String::with_capacity(text.len());
    let mut after_separator = false;
    for line in text.split_inclusive('\n') {
        let line = match line.strip_prefix(BOM) {
            Some(rest) if after_separator && split_documents => rest,
            _ => line,
        };
        after_separator = is_separator(line);
        match placeholder {
            Some(p) => out.extend(line.chars().map(|c| if c == BOM { p } else { c })),
            None => out.push_str(line),
        }
    }
    Cow::Owned(out)
}

/// Whether the line is a `---` document separator: `---` followed by a blank, a comment or
/// the end of the line.
fn is_separator(line: &str) -> bool {
    line.strip_prefix("---").is_some_and(|rest| {
        rest.trim_end_matches(['\n', '\r']).is_empty() || rest.starts_with([' ', '\t'])
    })
}

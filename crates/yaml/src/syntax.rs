//! Translates `saphyr-parser` errors into go-yaml's wording and line convention.

use saphyr_parser::ScanError;

use super::error::{Error, Position, Shape};

/// Messages saphyr's parser (not its scanner) raises, with go-yaml's wording.
const PARSER: &[(&str, &str)] = &[
    (
        "while parsing a block collection, did not find expected '-' indicator",
        "did not find expected '-' indicator",
    ),
    (
        "while parsing a block mapping, did not find expected key",
        "did not find expected key",
    ),
    (
        "while parsing a flow mapping, did not find expected ',' or '}'",
        "did not find expected ',' or '}'",
    ),
    (
        "while parsing a flow sequence, expected ',' or ']'",
        "did not find expected ',' or ']'",
    ),
    (
        "while parsing a node, did not find expected node content",
        "did not find expected node content",
    ),
    (
        "did not find expected <document start>",
        "did not find expected <document start>",
    ),
    (
        "duplicate version directive",
        "found duplicate %YAML directive",
    ),
];

/// Scanner messages whose go-yaml wording differs by more than the `while …, ` context.
const SCANNER: &[(&str, &str)] = &[
    (
        TAB_AFTER_COLON,
        "found a tab character that violates indentation",
    ),
    (
        "tabs disallowed within this context (block indentation)",
        "found character that cannot start any token",
    ),
    (
        "tab cannot be used as indentation",
        "found character that cannot start any token",
    ),
    (
        "tabs disallowed in this context",
        "found character that cannot start any token",
    ),
    (
        "while scanning a plain scalar, found a tab",
        "found a tab character that violates indentation",
    ),
    ("misplaced bracket", "did not find expected node content"),
    ("simple key expect ':'", "could not find expected ':'"),
];

/// saphyr's complaint about a tab between `:` and a value, which go-yaml accepts.
pub(crate) const TAB_AFTER_COLON: &str = "':' must be followed by a valid YAML whitespace";

/// Whether a double-quoted scalar's source holds the escape `\/`.
pub(crate) fn has_slash_escape(source: &str) -> bool {
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.next() == Some('/') {
            return true;
        }
    }
    false
}

/// Converts a saphyr error on `text`, raised inside the flow collection closed by `closer`
/// if any: saphyr names `}` for a single-pair mapping inside a flow sequence, go-yaml the
/// sequence's `]`.
pub(crate) fn translate(error: &ScanError, text: &str, closer: Option<char>) -> Error {
    let mark = error.marker();
    let mut position = Position {
        line: mark.line(),
        column: mark.col() + 1,
    };
    let info = error.info();
    if info == "while parsing node, found unknown anchor" {
        let name = anchor_name(text, mark.index());
        return Error::new(
            Shape::Decoder,
            Some(position),
            format!("unknown anchor '{name}' referenced"),
        );
    }
    if let Some((_, message)) = PARSER.iter().find(|(saphyr, _)| *saphyr == info) {
        let message = match closer {
            Some(closer) if message.starts_with("did not find expected ',' or ") => {
                format!("did not find expected ',' or '{closer}'")
            }
            _ => (*message).to_owned(),
        };
        return Error::new(Shape::Parser, Some(position), message);
    }
    let message = if let Some((_, message)) = SCANNER.iter().find(|(saphyr, _)| *saphyr == info) {
        (*message).to_owned()
    } else if info.starts_with("unexpected character") {
        "found character that cannot start any token".to_owned()
    } else {
        // saphyr prefixes libyaml's context ("while scanning a quoted scalar, "); go-yaml
        // prints only the problem.
        match info.split_once(", ") {
            Some((context, problem)) if context.starts_with("while ") => problem.to_owned(),
            _ => info.to_owned(),
        }
    };
    if message == "found unexpected end of stream" {
        // go-yaml reports where the stream ended, saphyr where the scalar began.
        position = end_of(text);
    }
    if message == "found a tab character that violates indentation" {
        // go-yaml reports the tab, saphyr the scalar it interrupts.
        position = next_tab(text, mark.index()).unwrap_or(position);
    }
    Error::new(Shape::Scanner, Some(position), message)
}

/// The name of the alias at character `index` (`*name`).
pub(crate) fn anchor_name(text: &str, index: usize) -> String {
    text.chars()
        .skip(index)
        .skip_while(|&c| c == '*')
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
        .collect()
}

/// The position of the first tab at or after character `index`.
fn next_tab(text: &str, index: usize) -> Option<Position> {
    let mut line = 1;
    let mut column = 1;
    for (i, c) in text.chars().enumerate() {
        if i >= index && c == '\t' {
            return Some(Position { line, column });
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    None
}

/// The position just past the last character.
pub(crate) fn end_of(text: &str) -> Position {
    let line = text.matches('\n').count() + 1;
    let column = text
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    Position { line, column }
}

/// Checks the directives in the text before an explicit document's `---`, which starts on
/// `line`: go-yaml (libyaml) accepts `%YAML 1.1` and `%TAG` only, where saphyr, a YAML 1.2
/// parser, also takes `%YAML 1.2` and ignores unknown directives.
pub(crate) fn check_directives(prefix: &str, first_line: usize) -> Result<(), Error> {
    for (offset, line) in prefix.split('\n').enumerate() {
        let Some(directive) = line.strip_prefix('%') else {
            continue;
        };
        let position = Some(Position {
            line: first_line + offset,
            column: 1,
        });
        let mut words = directive.split([' ', '\t']).filter(|w| !w.is_empty());
        match words.next() {
            Some("TAG") => {}
            Some("YAML") if words.next() == Some("1.1") => {}
            Some("YAML") => {
                return Err(Error::new(
                    Shape::Parser,
                    position,
                    "found incompatible YAML document",
                ));
            }
            _ => {
                return Err(Error::new(
                    Shape::Scanner,
                    position,
                    "found unknown directive name",
                ));
            }
        }
    }
    Ok(())
}

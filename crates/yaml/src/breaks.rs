//! The YAML 1.1 line breaks LS (U+2028) and PS (U+2029), which saphyr (YAML 1.2) reads as
//! ordinary characters and libyaml (so go-yaml v2 and v3) as line breaks everywhere: they
//! end plain scalars, comments and block-scalar lines, and count as lines in positions.
//! Unlike CR, LF and NEL, which a scalar stores as `\n`, a scalar keeping an LS or PS break
//! keeps the character itself, and a fold never turns one into a space.
//!
//! saphyr reads a copy of the text with both replaced by `\n` (same characters, same lines,
//! so every position holds), which gets the structure right; the few scalars whose source
//! holds one are then rebuilt here from the original text with libyaml's folding.

use std::iter::Peekable;
use std::str::Chars;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A line break as libyaml reads it (NEL has already become `\n`).
pub(crate) fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// Whether the text holds LS or PS.
pub(crate) fn has_separators(text: &str) -> bool {
    text.contains(['\u{2028}', '\u{2029}'])
}

/// The text saphyr reads: LS and PS replaced by `\n`.
pub(crate) fn without_separators(text: &str) -> String {
    text.replace(['\u{2028}', '\u{2029}'], "\n")
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t')
}

/// Where a scalar's source lies in the original text, as byte offsets.
pub(crate) struct Source<'a> {
    /// The whole original text (NEL replaced, LS and PS kept).
    pub(crate) text: &'a str,
    /// Where the previous event ended: a block scalar's header lies between it and `start`.
    pub(crate) after: usize,
    /// The scalar event's span.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Source<'_> {
    /// Whether LS or PS occur in the scalar's source (for a block scalar, from its header).
    pub(crate) fn is_affected(&self, style: ScalarStyle) -> bool {
        let from = match style {
            ScalarStyle::Literal | ScalarStyle::Folded => self.after,
            _ => self.start,
        };
        self.text.get(from..self.end).is_some_and(has_separators)
    }
}

/// The scalar's value as libyaml reads it, given saphyr's `value` of the copy without
/// separators; `None` when the source is not what saphyr's span promised (the caller
/// keeps saphyr's value).
pub(crate) fn rebuild(source: &Source<'_>, style: ScalarStyle, value: &str) -> Option<String> {
    let slice = source.text.get(source.start..source.end)?;
    match style {
        ScalarStyle::Plain => flow_scalar(slice, Quoting::Plain),
        ScalarStyle::SingleQuoted => flow_scalar(unquote(slice, '\'')?, Quoting::Single),
        ScalarStyle::DoubleQuoted => flow_scalar(unquote(slice, '"')?, Quoting::Double),
        ScalarStyle::Literal => Some(restore_breaks(value, &block_breaks(source)?)),
        ScalarStyle::Folded => {
            let literal = literal_of_folded(source)?;
            Some(fold(&restore_breaks(&literal, &block_breaks(source)?)))
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    Plain,
    Single,
    Double,
}

/// The body of a quoted scalar's source (which may end with blanks after the quote).
fn unquote(slice: &str, quote: char) -> Option<&str> {
    let body = slice.strip_prefix(quote)?;
    let end = body.rfind(quote)?;
    Some(&body[..end])
}

/// A plain or quoted scalar's content: blanks before a break go, a run of breaks (and the
/// blanks of the lines it spans) becomes its breaks after the first, or one space when it
/// is a single `\n`-like break; a first break that is LS or PS is kept.
fn flow_scalar(body: &str, quoting: Quoting) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if is_blank(c) => {
                let mut blanks = String::from(c);
                while let Some(b) = chars.next_if(|&b| is_blank(b)) {
                    blanks.push(b);
                }
                match chars.next_if(|&b| is_break(b)) {
                    Some(first) => fold_run(&mut out, first, &mut chars),
                    None => out.push_str(&blanks),
                }
            }
            c if is_break(c) => fold_run(&mut out, c, &mut chars),
            '\'' if quoting == Quoting::Single => {
                chars.next_if_eq(&'\'');
                out.push('\'');
            }
            '\\' if quoting == Quoting::Double => {
                let next = chars.next()?;
                if is_break(next) {
                    // An escaped break joins the lines; only the breaks after it remain.
                    let breaks = break_run(next, &mut chars);
                    out.extend(&breaks[1..]);
                } else {
                    out.push(escape(next, &mut chars)?);
                }
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// Appends the fold of the break run starting with `first`.
fn fold_run(out: &mut String, first: char, chars: &mut Peekable<Chars<'_>>) {
    let breaks = break_run(first, chars);
    match breaks.as_slice() {
        ['\n'] => out.push(' '),
        ['\n', rest @ ..] => out.extend(rest),
        all => out.extend(all),
    }
}

/// The breaks of a run starting with the break `first`, each as the character a scalar
/// keeps for it (`\n` for CR, LF and CR LF), consuming the blanks between and after them.
fn break_run(first: char, chars: &mut Peekable<Chars<'_>>) -> Vec<char> {
    let mut breaks = Vec::new();
    let mut current = Some(first);
    while let Some(c) = current {
        if c == '\r' {
            chars.next_if_eq(&'\n');
        }
        breaks.push(if matches!(c, '\r' | '\n') { '\n' } else { c });
        while chars.next_if(|&b| is_blank(b)).is_some() {}
        current = chars.next_if(|&b| is_break(b));
    }
    breaks
}

/// The character of a double-quoted escape whose letter is `letter`.
fn escape(letter: char, chars: &mut Peekable<Chars<'_>>) -> Option<char> {
    let hex_digits = match letter {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => {
            return Some(match letter {
                '0' => '\0',
                'a' => '\u{7}',
                'b' => '\u{8}',
                't' | '\t' => '\t',
                'n' => '\n',
                'v' => '\u{b}',
                'f' => '\u{c}',
                'r' => '\r',
                'e' => '\u{1b}',
                'N' => '\u{85}',
                '_' => '\u{a0}',
                'L' => '\u{2028}',
                'P' => '\u{2029}',
                ' ' | '"' | '/' | '\\' => letter,
                _ => return None,
            });
        }
    };
    let mut code = 0;
    for _ in 0..hex_digits {
        code = code * 16 + chars.next()?.to_digit(16)?;
    }
    char::from_u32(code)
}

/// The breaks of a block scalar after its header line, each as the character the scalar
/// keeps for it.
fn block_breaks(source: &Source<'_>) -> Option<Vec<char>> {
    let before = source.text.get(source.after..source.start)?;
    // Between the header and the content there are only blanks and empty lines.
    let header_end = before
        .trim_end_matches(|c| is_blank(c) || is_break(c))
        .len();
    let lines = before[header_end..]
        .chars()
        .chain(source.text.get(source.start..source.end)?.chars());
    let mut breaks = Vec::new();
    let mut chars = lines.peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            chars.next_if_eq(&'\n');
        }
        if is_break(c) {
            breaks.push(if c == '\r' { '\n' } else { c });
        }
    }
    // The first break ends the header line.
    (!breaks.is_empty()).then(|| breaks.split_off(1))
}

/// `value` with its `\n`s, in order, replaced by `breaks` (a literal scalar keeps each
/// break of its lines, and chomping only removes the last ones).
fn restore_breaks(value: &str, breaks: &[char]) -> String {
    let mut kinds = breaks.iter();
    value
        .chars()
        .map(|c| match c {
            '\n' => kinds.next().copied().unwrap_or('\n'),
            c => c,
        })
        .collect()
}

/// The folded scalar at `source` read as literal (its `>` turned into `|`), from the text
/// without separators: its lines with every break as `\n`.
fn literal_of_folded(source: &Source<'_>) -> Option<String> {
    let before = source.text.get(source.after..source.start)?;
    let indicator = source.after + header_indicator(before)?;
    let mut text = String::with_capacity(source.text.len());
    text.push_str(&source.text[..indicator]);
    text.push('|');
    text.push_str(&source.text[indicator + 1..]);
    let text = without_separators(&text);
    let start = source.text[..source.start].chars().count();
    let mut parser = Parser::new_from_str(&text);
    while let Some(Ok((event, span))) = parser.next_event() {
        if let Event::Scalar(value, ScalarStyle::Literal, ..) = event
            && span.start.index() == start
        {
            return Some(value.into_owned());
        }
    }
    None
}

/// The byte offset of a block scalar's `>` in the text between the previous event and its
/// content: the first `>` after a blank that is followed only by chomping and indentation
/// indicators, then a blank, a break or the end (comments before it are skipped).
fn header_indicator(before: &str) -> Option<usize> {
    let mut previous = ' ';
    let mut in_comment = false;
    for (at, c) in before.char_indices() {
        if is_break(c) {
            in_comment = false;
        } else if c == '#' && (is_blank(previous) || is_break(previous)) {
            in_comment = true;
        } else if c == '>' && !in_comment && (is_blank(previous) || is_break(previous)) {
            let rest = before[at + 1..]
                .trim_start_matches(['+', '-', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
            if rest
                .chars()
                .next()
                .is_none_or(|n| is_blank(n) || is_break(n))
            {
                return Some(at);
            }
        }
        previous = c;
    }
    None
}

/// A literal block's content folded as libyaml folds a `>` block: between two lines that
/// do not start with a blank, a single `\n` becomes a space and a run of breaks loses its
/// first `\n`; every other break (LS, PS, around more-indented lines) stays.
fn fold(literal: &str) -> String {
    let body_end = literal.trim_end_matches(is_break).len();
    let (body, tail) = literal.split_at(body_end);
    let mut out = String::with_capacity(literal.len());
    let mut previous: Option<&str> = None;
    let mut pending: Vec<char> = Vec::new();
    let mut rest = body;
    loop {
        let (line, next) = match rest.find(is_break) {
            Some(at) => {
                let brk = rest[at..].chars().next().unwrap_or('\n');
                (&rest[..at], Some((brk, &rest[at + brk.len_utf8()..])))
            }
            None => (rest, None),
        };
        if !line.is_empty() || next.is_none() {
            let starts_blank = |l: &str| l.starts_with(is_blank);
            match (previous, pending.as_slice()) {
                (Some(prev), ['\n', more @ ..]) if !starts_blank(prev) && !starts_blank(line) => {
                    if more.is_empty() {
                        out.push(' ');
                    } else {
                        out.extend(more);
                    }
                }
                _ => out.extend(&pending),
            }
            pending.clear();
            out.push_str(line);
            previous = Some(line);
        }
        match next {
            Some((brk, after)) => {
                pending.push(brk);
                rest = after;
            }
            None => break,
        }
    }
    out.push_str(tail);
    out
}

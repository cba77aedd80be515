//! huandu/xstrings v1.5's case conversions (`camelcase`, `snakecase`, `kebabcase`):
//! words are found by a small tokenizer, then re-joined.

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// Go's `unicode.IsPunct` for the characters charts meet (ASCII symbols such as `+` or
/// `$` are not punctuation in Go).
fn is_punct(c: char) -> bool {
    matches!(c,
        '!' | '"' | '#' | '%' | '&' | '\'' | '(' | ')' | '*' | ',' | '-' | '.' | '/' | ':'
        | ';' | '?' | '@' | '[' | '\\' | ']' | '_' | '{' | '}' | '¡' | '§' | '«' | '¶'
        | '·' | '»' | '¿' | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205e}'
        | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}')
}

/// A letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    c.is_alphabetic()
        && !matches!(c, '\u{3400}'..='\u{4d85}' | '\u{4e00}'..='\u{9fcc}')
        && (c < '\u{3400}' || !matches!(c, '\u{20000}'..='\u{2fa1f}'))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// Splits off the next word: its kind, its text and the rest.
fn next_word(text: &str) -> (Word, &str, &str) {
    let mut chars = text.char_indices().peekable();
    let Some((_, first)) = chars.next() else {
        return (Word::Invalid, "", "");
    };
    let mut end = first.len_utf8();
    let take_while = |end: &mut usize, pred: &dyn Fn(char) -> bool| {
        for (i, c) in text[*end..].char_indices() {
            if !pred(c) {
                *end += i;
                return;
            }
        }
        *end = text.len();
    };
    let kind = if is_connector(first) {
        take_while(&mut end, &is_connector);
        Word::Connector
    } else if is_punct(first) {
        take_while(&mut end, &is_punct);
        Word::Punct
    } else if first.is_uppercase() {
        if let Some(second) = text[end..].chars().next() {
            if second.is_uppercase() {
                // "HTTPStatus" splits as "HTTP" + "Status": the last capital of the run
                // starts the next word when a lower-case letter follows it.
                let run_start = end;
                take_while(&mut end, &|c: char| c.is_uppercase());
                let next = text[end..].chars().next();
                if next.is_some_and(is_alphabet) {
                    let last = text[run_start..end]
                        .chars()
                        .last()
                        .map_or(0, char::len_utf8);
                    end -= last;
                }
            } else if is_alphabet(second) {
                take_while(&mut end, &|c: char| is_alphabet(c) && !c.is_uppercase());
            }
        }
        Word::Upper
    } else if is_alphabet(first) {
        take_while(&mut end, &|c: char| is_alphabet(c) && !c.is_uppercase());
        Word::Alphabet
    } else if first.is_numeric() {
        take_while(&mut end, &char::is_numeric);
        Word::Number
    } else {
        take_while(&mut end, &|c: char| {
            !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
        });
        Word::Other
    };
    (kind, &text[..end], &text[end..])
}

fn push_lower(out: &mut String, kind: Word, word: &str, connector: char) {
    if kind != Word::Upper && kind != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// xstrings' `camelCaseToLowerCase`, behind `snakecase` and `kebabcase`.
pub(super) fn to_lower_case(text: &str, connector: char) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let (mut wt, mut word, mut rest) = next_word(text);
    while !rest.is_empty() {
        if wt != Word::Connector {
            push_lower(&mut out, wt, word, connector);
        }
        let (prev, last) = (wt, word);
        (wt, word, rest) = next_word(rest);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if !matches!(wt, Word::Invalid | Word::Punct | Word::Connector) {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let number = word;
                (wt, word, rest) = next_word(rest);
                if wt != Word::Alphabet {
                    push_lower(&mut out, Word::Number, number, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                push_lower(&mut out, Word::Number, number, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if !matches!(wt, Word::Invalid | Word::Connector | Word::Punct) {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, wt, word, connector);
    out
}

/// xstrings v1.5's `ToPascalCase` (Sprig's `camelcase`). A connector before a letter
/// is dropped and the letter upper-cased; inside longer connector runs one character is
/// dropped; leading and trailing connectors stay. A word that starts upper-case has the
/// rest of its leading capitals lower-cased ("HTTPServer" → "Httpserver").
pub(super) fn to_pascal_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    let mut first = None;
    for c in chars.by_ref() {
        if !is_connector(c) {
            first = Some(c);
            break;
        }
        out.push(c);
    }
    let Some(first) = first else {
        // Only connectors: xstrings writes the last one a second time.
        if let Some(last) = text.chars().last() {
            out.push(last);
        }
        return out;
    };
    // `r1`/`r0`: the previous (original and as written) and current characters; the
    // previous one is written one step late so that connectors can be dropped.
    let (mut prev_orig, mut prev_out) = (first, upper(first));
    let mut capital_run = first.is_uppercase();
    for c in chars {
        if is_connector(c) && is_connector(prev_orig) {
            out.push(prev_out);
            (prev_orig, prev_out) = (c, c);
            continue;
        }
        let written = if is_connector(prev_orig) {
            capital_run = c.is_uppercase();
            upper(c)
        } else {
            out.push(prev_out);
            if capital_run && c.is_uppercase() {
                lower(c)
            } else {
                capital_run = false;
                c
            }
        };
        (prev_orig, prev_out) = (c, written);
    }
    out.push(prev_out);
    out
}

/// Go's `unicode.ToUpper`: one rune to one rune (ß stays ß).
pub(super) fn upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower`: one rune to one rune.
pub(super) fn lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

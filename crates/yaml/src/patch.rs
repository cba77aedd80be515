//! Value-preserving rewrites of the input for the few places where saphyr (YAML 1.2, with
//! its indentation checks) rejects text that go-yaml reads. Each rewrite only touches
//! separation whitespace, so the document means the same; the text is then read again.

use saphyr_parser::ScanError;

use super::breaks::is_break;
use super::syntax::TAB_AFTER_COLON;

/// saphyr's complaints about a continuation line of a flow collection that sits left of
/// the enclosing block (at a scalar, or at any other token); libyaml does not check
/// indentation inside flow collections. (In block context a less indented token closes
/// blocks instead, so the second message only arises in flow context.)
const FLOW_INDENTATION: [&str; 2] = [
    "invalid indentation in flow construct",
    "invalid indentation",
];

/// saphyr's complaint about a continuation line of a quoted scalar that sits left of the
/// enclosing block; libyaml does not check it either.
const QUOTED_INDENTATION: &str = "invalid indentation in quoted scalar";

/// A rewrite that gets past one saphyr error, located by character index.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Patch {
    /// A tab between `:` and a value (`a:\tb`), which YAML allows: replace the tabs before
    /// the index by spaces (same length, so positions hold).
    TabsBefore(usize),
    /// Indent the line holding the index past every earlier line: leading blanks of a flow
    /// continuation line are separation.
    IndentLine(usize),
    /// Indent every continuation line of the quoted scalar starting at the index: leading
    /// blanks of those lines are folded away.
    IndentQuoted(usize),
}

impl Patch {
    /// The rewrite for a saphyr error, if go-yaml would read past it.
    pub(crate) fn for_error(error: &ScanError) -> Option<Patch> {
        let index = error.marker().index();
        match error.info() {
            TAB_AFTER_COLON => Some(Patch::TabsBefore(index)),
            info if FLOW_INDENTATION.contains(&info) => Some(Patch::IndentLine(index)),
            QUOTED_INDENTATION => Some(Patch::IndentQuoted(index)),
            _ => None,
        }
    }

    /// The rewritten text, or `None` when the patch does not apply.
    pub(crate) fn apply(self, text: &str) -> Option<String> {
        let chars: Vec<char> = text.chars().collect();
        match self {
            Patch::TabsBefore(index) => replace_tabs_before(&chars, index),
            Patch::IndentLine(index) => {
                let at = index.min(chars.len());
                let start = chars[..at]
                    .iter()
                    .rposition(|&c| is_break(c))
                    .map_or(0, |i| i + 1);
                indent_lines(&chars, &[start])
            }
            Patch::IndentQuoted(index) => {
                let starts = quoted_continuation_lines(&chars, index)?;
                indent_lines(&chars, &starts)
            }
        }
    }
}

fn replace_tabs_before(chars: &[char], index: usize) -> Option<String> {
    let end = index.min(chars.len());
    let start = chars[..end]
        .iter()
        .rposition(|&c| c != '\t')
        .map_or(0, |i| i + 1);
    if start == end {
        return None;
    }
    let mut out: String = chars[..start].iter().collect();
    out.extend(std::iter::repeat_n(' ', end - start));
    out.extend(&chars[end..]);
    Some(out)
}

/// Where each continuation line of the quoted scalar opening at `index` starts.
fn quoted_continuation_lines(chars: &[char], index: usize) -> Option<Vec<usize>> {
    let quote = *chars.get(index)?;
    if !matches!(quote, '"' | '\'') {
        return None;
    }
    let mut starts = Vec::new();
    let mut i = index + 1;
    while let Some(&c) = chars.get(i) {
        match c {
            // An escaped character is skipped, except a line break, which still ends a line.
            '\\' if quote == '"' && !chars.get(i + 1).copied().is_some_and(is_break) => i += 1,
            '\'' if quote == '\'' && chars.get(i + 1) == Some(&'\'') => i += 1,
            c if c == quote => break,
            // A CR LF pair ends one line, at its LF.
            '\r' if chars.get(i + 1) == Some(&'\n') => {}
            c if is_break(c) => starts.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    (!starts.is_empty()).then_some(starts)
}

/// `chars` with spaces inserted at each line start in `starts` (ascending), enough to put
/// those lines right of every line before the first of them.
fn indent_lines(chars: &[char], starts: &[usize]) -> Option<String> {
    let first = *starts.first()?;
    let widest = chars[..first]
        .split(|&c| is_break(c))
        .map(|line| line.iter().take_while(|&&c| c == ' ').count())
        .max()
        .unwrap_or(0);
    let mut out = String::with_capacity(chars.len() + starts.len() * (widest + 1));
    let mut from = 0;
    for &start in starts {
        out.extend(&chars[from..start]);
        out.extend(std::iter::repeat_n(' ', widest + 1));
        from = start;
    }
    out.extend(&chars[from..]);
    Some(out)
}

//! libyaml's low-level writing: columns, indentation and the four scalar styles, with
//! folding at 80 columns.

use super::analyze::{is_break, is_printable};

/// libyaml's `best_indent` and `best_width` as go-yaml v2 sets them (v3's encoder sets
/// no width: `best_width` stays -1, unlimited, so v3 never folds a line).
const INDENT: i32 = 2;
const WIDTH: usize = 80;

/// The emitter's output and cursor state (libyaml's `column`, `indent`, `whitespace`,
/// `indention` and `open_ended`).
pub(crate) struct Writer {
    out: String,
    column: usize,
    indent: i32,
    indents: Vec<i32>,
    /// The last character written was whitespace (no separating space needed).
    whitespace: bool,
    /// Only indentation has been written on the current line.
    indention: bool,
    /// libyaml's `best_indent`: 2 for go-yaml v2, the encoder's `SetIndent` for v3.
    best_indent: i32,
    /// go-yaml v3's indentation rules (see [`Writer::increase_indent_v3`]) and comments.
    v3: bool,
    /// libyaml's `best_width`: where long scalars fold.
    best_width: usize,
    /// go-yaml v3's `foot_indent`: after a foot comment, the next line at this indent is
    /// preceded by a blank line.
    foot_indent: i32,
}

impl Default for Writer {
    fn default() -> Self {
        Writer {
            out: String::new(),
            column: 0,
            indent: -1,
            indents: Vec::new(),
            whitespace: true,
            indention: true,
            best_indent: INDENT,
            best_width: WIDTH,
            v3: false,
            foot_indent: -1,
        }
    }
}

impl Writer {
    /// go-yaml v3's emitter with `SetIndent(indent)` (libyaml's range 2..=9, else 2).
    pub(crate) fn v3(indent: usize) -> Self {
        let best_indent = i32::try_from(indent)
            .ok()
            .filter(|i| (2..=9).contains(i))
            .unwrap_or(INDENT);
        Writer {
            best_indent,
            best_width: usize::MAX,
            v3: true,
            ..Writer::default()
        }
    }

    /// The text written so far.
    pub(crate) fn into_string(self) -> String {
        self.out
    }

    /// The space before a line comment, unless one was just written.
    pub(crate) fn space_unless_whitespace(&mut self) {
        if !self.whitespace {
            self.put(' ');
        }
    }

    pub(crate) fn column(&self) -> usize {
        self.column
    }

    pub(crate) fn indent(&self) -> i32 {
        self.indent
    }

    pub(crate) fn set_foot_indent(&mut self, indent: i32) {
        self.foot_indent = indent;
    }

    /// go-yaml v3's `increase_indent`: a collection inside a sequence item starts right
    /// after its `- `; anything else aligns to the next multiple of the indent.
    pub(crate) fn increase_indent_v3(&mut self, flow: bool, in_sequence_item: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { self.best_indent } else { 0 };
        } else if in_sequence_item {
            self.indent += 2;
        } else {
            self.indent = self.best_indent * ((self.indent + self.best_indent) / self.best_indent);
        }
    }

    /// go-yaml v3's `write_comment`: each line gets `# ` unless it starts with `#`, and
    /// the comment ends its line.
    pub(crate) fn write_comment(&mut self, comment: &str) {
        let mut breaks = false;
        let mut pound = false;
        for c in comment.chars() {
            if is_break(c) {
                self.write_break(c);
                breaks = true;
                pound = false;
            } else {
                if breaks {
                    self.write_indent();
                }
                if !pound {
                    if c != '#' {
                        self.put('#');
                        self.put(' ');
                    }
                    pound = true;
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
        if !breaks {
            self.put_break();
        }
        self.whitespace = true;
    }

    pub(crate) fn indention(&self) -> bool {
        self.indention
    }

    /// Document end: go-yaml v2 ends the last line and, unlike libyaml, never adds `...`.
    pub(crate) fn finish(mut self) -> String {
        self.write_indent();
        self.out
    }

    pub(crate) fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { INDENT } else { 0 };
        } else if !indentless {
            self.indent += INDENT;
        }
    }

    pub(crate) fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    /// Writes a line break from the value: `\n` as a newline, other breaks verbatim.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
            self.indention = true;
        }
    }

    pub(crate) fn write_indent(&mut self) {
        let indent = usize::try_from(self.indent).unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        if self.v3 && self.foot_indent == self.indent.max(0) {
            self.put_break();
        }
        self.foot_indent = -1;
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    pub(crate) fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// An empty flow collection, `[]` or `{}`.
    pub(crate) fn empty_flow(&mut self, brackets: &str) {
        let (open, close) = brackets.split_at(1);
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    /// A space inside a scalar: a fold (line break and indentation) where `may_fold` and
    /// the line is past the width, else the space itself.
    fn write_space(&mut self, may_fold: bool) {
        if may_fold && self.column > self.best_width {
            self.write_indent();
        } else {
            self.put(' ');
        }
    }

    /// A plain scalar; the analysis guarantees it holds no line break. Long lines fold at
    /// a single space once past the width.
    pub(crate) fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_is_space = chars.get(i + 1) == Some(&' ');
                self.write_space(allow_breaks && !spaces && !next_is_space);
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    /// A single-quoted scalar: `'` doubled, breaks written raw, folding like plain
    /// scalars but never at the first or last character.
    pub(crate) fn write_single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let inner = i != 0 && i + 1 != chars.len();
                let next_is_space = chars.get(i + 1) == Some(&' ');
                self.write_space(allow_breaks && !spaces && inner && !next_is_space);
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        // Unlike libyaml 0.2, go-yaml v2 closes the quote right after a final break.
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// A double-quoted scalar with libyaml's escapes; folds like single-quoted, escaping a
    /// space that would start a continuation line.
    pub(crate) fn write_double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        // go-yaml's BOM test inspects the value's first character whatever the position it
        // is asked about, so a value starting with a BOM has every character escaped.
        let escape_all = value.starts_with('\u{FEFF}');
        for (i, &c) in chars.iter().enumerate() {
            if escape_all
                || !is_printable(c)
                || c == '\u{FEFF}'
                || is_break(c)
                || c == '"'
                || c == '\\'
            {
                self.put('\\');
                let escape = match c {
                    '\0' => "0".to_owned(),
                    '\u{7}' => "a".to_owned(),
                    '\u{8}' => "b".to_owned(),
                    '\t' => "t".to_owned(),
                    '\n' => "n".to_owned(),
                    '\u{b}' => "v".to_owned(),
                    '\u{c}' => "f".to_owned(),
                    '\r' => "r".to_owned(),
                    '\u{1b}' => "e".to_owned(),
                    '"' => "\"".to_owned(),
                    '\\' => "\\".to_owned(),
                    '\u{85}' => "N".to_owned(),
                    '\u{a0}' => "_".to_owned(),
                    '\u{2028}' => "L".to_owned(),
                    '\u{2029}' => "P".to_owned(),
                    c if u32::from(c) <= 0xFF => format!("x{:02X}", u32::from(c)),
                    c if u32::from(c) <= 0xFFFF => format!("u{:04X}", u32::from(c)),
                    c => format!("U{:08X}", u32::from(c)),
                };
                for e in escape.chars() {
                    self.put(e);
                }
                spaces = false;
            } else if c == ' ' {
                let inner = i != 0 && i + 1 != chars.len();
                if allow_breaks && !spaces && self.column > self.best_width && inner {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// A literal block scalar (`|`), with indentation and chomping indicators, and go-yaml
    /// v3's line comment after the header.
    pub(crate) fn write_literal(&mut self, value: &str, line_comment: &str) {
        self.write_indicator("|", true, false, false);
        self.write_block_hints(value);
        if line_comment.is_empty() {
            self.put_break();
        } else {
            if !self.whitespace {
                self.put(' ');
            }
            self.write_comment(line_comment);
        }
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in value.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }

    /// The indentation indicator (when the text starts with a space or break) and the
    /// chomping indicator (`-` without a final break, `+` with more than one).
    fn write_block_hints(&mut self, value: &str) {
        if value.starts_with(|c: char| c == ' ' || is_break(c)) {
            self.write_indicator(&self.best_indent.to_string(), false, false, false);
        }
        let mut rev = value.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (Some(last), _) if !is_break(last) => Some("-"),
            (None, _) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(before)) if is_break(before) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
    }
}

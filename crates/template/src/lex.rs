//! The lexer: Go `text/template`'s token stream, delimiters `{{` `}}`.

use std::borrow::Cow;

/// Token kinds, as Go's lexer distinguishes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Error,
    Eof,
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Identifier,
    Field,
    Variable,
    Dot,
    Bool,
    Number,
    CharConstant,
    String,
    RawString,
    Pipe,
    LeftParen,
    RightParen,
    Declare,
    Assign,
    Char,
    // Keywords.
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Kind {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Kind::Block
                | Kind::Break
                | Kind::Continue
                | Kind::Define
                | Kind::Else
                | Kind::End
                | Kind::If
                | Kind::Nil
                | Kind::Range
                | Kind::Template
                | Kind::With
        )
    }
}

/// One token: kind, text (borrowed from the source, or the error message), byte offset and
/// line.
#[derive(Clone, Debug)]
pub(crate) struct Token<'a> {
    pub kind: Kind,
    pub val: Cow<'a, str>,
    pub pos: usize,
    pub line: usize,
}

impl std::fmt::Display for Token<'_> {
    /// Go's `item.String()`, used in "unexpected … in …" messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Kind::Eof => write!(f, "EOF"),
            Kind::Error => write!(f, "{}", self.val),
            k if k.is_keyword() => write!(f, "<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                write!(f, "{}...", crunch_gostd::strconv::quote(&head))
            }
            _ => write!(f, "{}", crunch_gostd::strconv::quote(&self.val)),
        }
    }
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokenizes `text` completely. The stream ends with `Eof` or with one `Error` token.
pub(crate) fn lex(text: &str) -> Vec<Token<'_>> {
    let mut lx = Lexer {
        src: text,
        pos: 0,
        start: 0,
        line: 1,
        start_line: 1,
        tokens: Vec::new(),
        paren_depth: 0,
    };
    lx.run();
    lx.tokens
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    tokens: Vec<Token<'a>>,
    paren_depth: i32,
}

enum State {
    Text,
    Inside,
    Done,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        // Templates are mostly ASCII: skip UTF-8 decoding for it.
        match self.src.as_bytes().get(self.pos) {
            Some(&b) if b.is_ascii() => Some(char::from(b)),
            _ => self.rest().chars().next(),
        }
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
        if c == '\n' {
            self.line -= 1;
        }
    }

    fn emit(&mut self, kind: Kind) {
        self.tokens.push(Token {
            kind,
            val: Cow::Borrowed(&self.src[self.start..self.pos]),
            pos: self.start,
            line: self.start_line,
        });
        self.ignore();
    }

    /// Drops the pending text, keeping line accounting right.
    fn ignore(&mut self) {
        // A byte count: `str::matches` costs more than the counting on short tokens.
        let newlines = self.src.as_bytes()[self.start..self.pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line = self.start_line + newlines;
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn error(&mut self, msg: String) -> State {
        self.tokens.push(Token {
            kind: Kind::Error,
            val: Cow::Owned(msg),
            pos: self.start,
            line: self.start_line,
        });
        State::Done
    }

    fn run(&mut self) {
        let mut state = State::Text;
        loop {
            state = match state {
                State::Text => self.lex_text(),
                State::Inside => self.lex_inside(),
                State::Done => return,
            }
        }
    }

    fn has_left_trim(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() >= 2 && b[0] == b'-' && is_space(b[1])
    }

    fn has_right_trim(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() >= 2 && is_space(b[0]) && b[1] == b'-'
    }

    /// Whether the input is at `}}`, and whether a trim marker precedes it.
    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if Self::has_right_trim(rest) && rest[2..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn lex_text(&mut self) -> State {
        let Some(found) = self.rest().find(LEFT) else {
            self.pos = self.src.len();
            if self.pos > self.start {
                self.emit(Kind::Text);
            }
            self.emit(Kind::Eof);
            return State::Done;
        };
        self.pos += found;
        let after = &self.src[self.pos + LEFT.len()..];
        let trim = Self::has_left_trim(after);
        let text_end = if trim {
            self.src[self.start..self.pos]
                .trim_end_matches([' ', '\t', '\r', '\n'])
                .len()
                + self.start
        } else {
            self.pos
        };
        if text_end > self.start {
            let delim = self.pos;
            self.pos = text_end;
            self.emit(Kind::Text);
            self.pos = delim;
        }
        self.ignore();
        self.lex_left_delim(trim)
    }

    fn lex_left_delim(&mut self, trim: bool) -> State {
        self.pos += LEFT.len();
        let marker = if trim { 2 } else { 0 };
        if self.src[self.pos + marker..].starts_with("/*") {
            self.pos += marker;
            self.ignore();
            return self.lex_comment();
        }
        self.emit(Kind::LeftDelim);
        self.pos += marker;
        self.ignore();
        self.paren_depth = 0;
        State::Inside
    }

    fn lex_comment(&mut self) -> State {
        self.pos += 2;
        let Some(end) = self.rest().find("*/") else {
            return self.error("unclosed comment".into());
        };
        self.pos += end + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".into());
        }
        self.pos += RIGHT.len() + if trim { 2 } else { 0 };
        if trim {
            self.skip_leading_space();
        }
        self.ignore();
        State::Text
    }

    fn skip_leading_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
    }

    fn lex_right_delim(&mut self, trim: bool) -> State {
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += RIGHT.len();
        self.emit(Kind::RightDelim);
        if trim {
            self.skip_leading_space();
            self.ignore();
        }
        State::Text
    }

    fn lex_inside(&mut self) -> State {
        let (delim, trim) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return self.lex_right_delim(trim);
            }
            return self.error("unclosed left paren".into());
        }
        let Some(c) = self.next() else {
            return self.error("unclosed action".into());
        };
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                self.backup(c);
                self.lex_space()
            }
            '=' => {
                self.emit(Kind::Assign);
                State::Inside
            }
            ':' => {
                if self.next() != Some('=') {
                    return self.error("expected :=".into());
                }
                self.emit(Kind::Declare);
                State::Inside
            }
            '|' => {
                self.emit(Kind::Pipe);
                State::Inside
            }
            '"' => self.lex_quote(),
            '`' => self.lex_raw_quote(),
            '$' => self.lex_field_or_variable(Kind::Variable),
            '\'' => self.lex_char(),
            '.' if !self.peek().is_some_and(|n| n.is_ascii_digit()) => {
                self.lex_field_or_variable(Kind::Field)
            }
            '.' | '+' | '-' | '0'..='9' => {
                self.backup(c);
                self.lex_number()
            }
            c if is_alnum(c) => {
                self.backup(c);
                self.lex_identifier()
            }
            '(' => {
                self.emit(Kind::LeftParen);
                self.paren_depth += 1;
                State::Inside
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.error("unexpected right paren".into());
                }
                self.emit(Kind::RightParen);
                State::Inside
            }
            c if c.is_ascii() && !c.is_ascii_control() => {
                self.emit(Kind::Char);
                State::Inside
            }
            c => self.error(format!(
                "unrecognized character in action: {}",
                super::fmt::unicode_notation(c, true)
            )),
        }
    }

    fn lex_space(&mut self) -> State {
        while let Some(c) = self.peek() {
            if !c.is_ascii() || !is_space(c as u8) {
                break;
            }
            // Leave " -}}" for the right-delimiter check.
            if Self::has_right_trim(self.rest()) && self.rest()[2..].starts_with(RIGHT) {
                if self.pos == self.start {
                    return State::Inside;
                }
                break;
            }
            self.next();
        }
        if self.pos > self.start {
            self.emit(Kind::Space);
        }
        State::Inside
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if c.is_ascii() && is_space(c as u8) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    fn bad_char(&mut self) -> State {
        let c = self.peek().unwrap_or(' ');
        self.error(format!(
            "bad character {}",
            super::fmt::unicode_notation(c, true)
        ))
    }

    fn lex_identifier(&mut self) -> State {
        while self.peek().is_some_and(is_alnum) {
            self.next();
        }
        if !self.at_terminator() {
            return self.bad_char();
        }
        let kind = match &self.src[self.start..self.pos] {
            "block" => Kind::Block,
            "break" => Kind::Break,
            "continue" => Kind::Continue,
            "define" => Kind::Define,
            "else" => Kind::Else,
            "end" => Kind::End,
            "if" => Kind::If,
            "nil" => Kind::Nil,
            "range" => Kind::Range,
            "template" => Kind::Template,
            "with" => Kind::With,
            "true" | "false" => Kind::Bool,
            _ => Kind::Identifier,
        };
        self.emit(kind);
        State::Inside
    }

    fn lex_field_or_variable(&mut self, kind: Kind) -> State {
        if self.at_terminator() {
            self.emit(if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            });
            return State::Inside;
        }
        while self.peek().is_some_and(is_alnum) {
            self.next();
        }
        if !self.at_terminator() {
            return self.bad_char();
        }
        self.emit(kind);
        State::Inside
    }

    fn lex_char(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => {
                    if self.next().is_some_and(|c| c != '\n') {
                        continue;
                    }
                    return self.error("unterminated character constant".into());
                }
                None | Some('\n') => {
                    return self.error("unterminated character constant".into());
                }
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::CharConstant);
        State::Inside
    }

    fn lex_quote(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => {
                    if self.next().is_some_and(|c| c != '\n') {
                        continue;
                    }
                    return self.error("unterminated quoted string".into());
                }
                None | Some('\n') => return self.error("unterminated quoted string".into()),
                Some('"') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::String);
        State::Inside
    }

    fn lex_raw_quote(&mut self) -> State {
        let Some(end) = self.rest().find('`') else {
            return self.error("unterminated raw quoted string".into());
        };
        self.pos += end + 1;
        self.emit(Kind::RawString);
        State::Inside
    }

    fn accept(&mut self, valid: &str) -> bool {
        if self.peek().is_some_and(|c| valid.contains(c)) {
            self.next();
            return true;
        }
        false
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn lex_number(&mut self) -> State {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if self.peek().is_some_and(is_alnum) {
            self.next();
            let bad = self.src[self.start..self.pos].to_string();
            return self.error(format!(
                "bad number syntax: {}",
                crunch_gostd::strconv::quote(&bad)
            ));
        }
        self.emit(Kind::Number);
        State::Inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        lex(text).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn trims_and_tokens() {
        let toks = lex("a  {{- .x | f 1 -}}  b");
        let vals: Vec<&str> = toks.iter().map(|t| t.val.as_ref()).collect();
        assert_eq!(
            vals,
            ["a", "{{", ".x", " ", "|", " ", "f", " ", "1", "}}", "b", ""]
        );
    }

    #[test]
    fn comments_vanish() {
        assert_eq!(
            kinds("x {{- /* c */ -}} y"),
            [Kind::Text, Kind::Text, Kind::Eof]
        );
    }

    #[test]
    fn errors() {
        let toks = lex("{{ \"abc }}");
        assert_eq!(
            toks.last().map(|t| t.val.as_ref()),
            Some("unterminated quoted string")
        );
        let toks = lex("{{ 3x }}");
        assert_eq!(
            toks.last().map(|t| t.val.as_ref()),
            Some("bad number syntax: \"3x\"")
        );
    }
}

//! The scanner of Flux's envsubst, with its state kept as Go keeps it: a byte buffer that
//! escapes are cut out of, a position, the start of the current token and the width of
//! the last rune read. Several of the dialect's behaviours come from that state rather
//! than from a grammar (an unread after a peek steps back by the peeked rune's width), so
//! the parser drives the scanner through the same primitive steps as Flux's does.

use crate::Error;

/// What a NUL byte and the end of the input both read as: Flux's scanner uses rune 0 for
/// the end, so a NUL in the text ends it too.
pub(crate) const EOF: char = '\0';

/// The tokens the parser asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    Illegal,
    Eof,
    Ident,
    Lbrack,
    Rbrack,
}

/// Which tokens a scan may recognise (bits, combined).
pub(crate) mod mode {
    pub(crate) const IDENT: u8 = 1;
    pub(crate) const LBRACK: u8 = 1 << 1;
    pub(crate) const RBRACK: u8 = 1 << 2;
    pub(crate) const ESCAPE: u8 = 1 << 3;
}

/// Which escapes an identifier scan with [`mode::ESCAPE`] unescapes (bits, combined):
/// `$$` for a dollar, `\\` and `\/` for a backslash.
pub(crate) mod escape {
    pub(crate) const DOLLAR: u8 = 1;
    pub(crate) const BACKSLASH: u8 = 1 << 1;
    pub(crate) const ALL: u8 = DOLLAR | BACKSLASH;
}

/// Whether an identifier scan takes a rune, given the bytes read of the token so far
/// (the rune included).
pub(crate) type Accept = fn(char, usize) -> bool;

pub(crate) struct Scanner {
    buf: Vec<u8>,
    pos: usize,
    start: usize,
    width: usize,
    pub(crate) mode: u8,
    pub(crate) escapes: u8,
    pub(crate) accept: Accept,
}

impl Scanner {
    pub(crate) fn new(text: &str) -> Self {
        Scanner {
            buf: text.as_bytes().to_vec(),
            pos: 0,
            start: 0,
            width: 0,
            mode: 0,
            escapes: 0,
            accept: accept::any,
        }
    }

    /// The next rune (Go's `utf8.DecodeRune`: an invalid byte reads as U+FFFD, one byte
    /// wide), or [`EOF`] with a width of zero at the end.
    pub(crate) fn read(&mut self) -> char {
        let Some(rest) = self.buf.get(self.pos..).filter(|rest| !rest.is_empty()) else {
            self.width = 0;
            return EOF;
        };
        let (rune, width) = decode_rune(rest);
        self.width = width;
        self.pos += width;
        rune
    }

    /// Steps back by the width of the last rune read, whichever that was.
    pub(crate) fn unread(&mut self) {
        // Flux steps back by the last width even when a peek changed it; the text it
        // then scans starts two or more bytes in, so this never goes below zero there.
        self.pos = self.pos.saturating_sub(self.width);
    }

    pub(crate) fn peek(&mut self) -> char {
        let rune = self.read();
        self.unread();
        rune
    }

    /// Cuts the byte before the position out of the buffer (the first of an escape pair)
    /// without moving the position, which so lands after the escaped character.
    fn skip(&mut self) {
        self.buf.remove(self.pos - 1);
    }

    /// The bytes of the token just scanned.
    pub(crate) fn token(&self) -> Result<Vec<u8>, Error> {
        self.buf
            .get(self.start..self.pos)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error::SliceBounds(format!("[{}:{}]", self.start, self.pos)))
    }

    pub(crate) fn scan(&mut self) -> Token {
        self.start = self.pos;
        let rune = self.read();
        if rune == EOF {
            Token::Eof
        } else if self.lbrack(rune) {
            Token::Lbrack
        } else if self.rbrack(rune) {
            Token::Rbrack
        } else if self.ident(rune) {
            Token::Ident
        } else {
            Token::Illegal
        }
    }

    fn ident(&mut self, first: char) -> bool {
        if self.mode & mode::IDENT == 0 {
            return false;
        }
        if self.escaped(first) {
            self.skip();
        } else if !(self.accept)(first, self.pos - self.start) {
            return false;
        }
        loop {
            let rune = self.read();
            if rune == EOF {
                self.unread();
                return true;
            }
            if self.lbrack(rune) {
                // Back before the `${`, which starts the next token.
                self.unread();
                self.unread();
                return true;
            }
            if self.escaped(rune) {
                self.skip();
                continue;
            }
            if !(self.accept)(rune, self.pos.saturating_sub(self.start)) {
                self.unread();
                return true;
            }
        }
    }

    fn lbrack(&mut self, rune: char) -> bool {
        if self.mode & mode::LBRACK == 0 || rune != '$' {
            return false;
        }
        if self.read() == '{' {
            return true;
        }
        self.unread();
        false
    }

    fn rbrack(&self, rune: char) -> bool {
        self.mode & mode::RBRACK != 0 && rune == '}'
    }

    fn escaped(&mut self, rune: char) -> bool {
        if self.mode & mode::ESCAPE == 0 {
            return false;
        }
        if rune == '$' && self.escapes & escape::DOLLAR != 0 && self.peek() == '$' {
            return true;
        }
        rune == '\\' && self.escapes & escape::BACKSLASH != 0 && matches!(self.peek(), '/' | '\\')
    }
}

/// Go's `utf8.DecodeRune` on a non-empty slice: the rune and its width, U+FFFD and 1
/// for a byte that does not start a valid encoding.
pub(crate) fn decode_rune(bytes: &[u8]) -> (char, usize) {
    let width = match bytes[0] {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (char::REPLACEMENT_CHARACTER, 1),
    };
    bytes
        .get(..width)
        .and_then(|head| std::str::from_utf8(head).ok())
        .and_then(|s| s.chars().next())
        .map_or((char::REPLACEMENT_CHARACTER, 1), |c| (c, width))
}

/// Go's `[]rune(string)`: every rune, invalid bytes as U+FFFD.
pub(crate) fn runes(bytes: &[u8]) -> Vec<char> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let (rune, width) = decode_rune(rest);
        out.push(rune);
        rest = &rest[width..];
    }
    out
}

/// The runes each scan accepts.
pub(crate) mod accept {
    use std::sync::LazyLock;

    use regex::Regex;

    pub(crate) fn any(_: char, _: usize) -> bool {
        true
    }

    /// Go's `unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'`.
    pub(crate) fn ident(rune: char, _: usize) -> bool {
        static WORD: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^[\p{L}\p{Nd}_]$").unwrap_or_else(|e| unreachable!("{e}"))
        });
        if rune.is_ascii() {
            return rune.is_ascii_alphanumeric() || rune == '_';
        }
        WORD.is_match(rune.encode_utf8(&mut [0; 4]))
    }

    pub(crate) fn colon(rune: char, _: usize) -> bool {
        rune == ':'
    }

    pub(crate) fn one_hash(rune: char, at: usize) -> bool {
        rune == '#' && at == 1
    }

    pub(crate) fn not_closing(rune: char, _: usize) -> bool {
        rune != '}'
    }

    pub(crate) fn hash_op(rune: char, at: usize) -> bool {
        rune == '#' && at < 3
    }

    pub(crate) fn percent_op(rune: char, at: usize) -> bool {
        rune == '%' && at < 3
    }

    pub(crate) fn default_op(rune: char, at: usize) -> bool {
        (at == 1 && rune == ':') || (at == 2 && matches!(rune, '=' | '-' | '?' | '+'))
    }

    pub(crate) fn replace_op(rune: char, at: usize) -> bool {
        (at == 1 && rune == '/') || (at == 2 && matches!(rune, '/' | '#' | '%'))
    }

    pub(crate) fn one_equal(rune: char, at: usize) -> bool {
        at == 1 && rune == '='
    }

    pub(crate) fn one_colon(rune: char, at: usize) -> bool {
        at == 1 && rune == ':'
    }

    pub(crate) fn not_colon_or_closing(rune: char, _: usize) -> bool {
        rune != ':' && rune != '}'
    }

    pub(crate) fn slash(rune: char, _: usize) -> bool {
        rune == '/'
    }

    pub(crate) fn not_slash(rune: char, _: usize) -> bool {
        rune != '/'
    }

    pub(crate) fn casing_op(rune: char, at: usize) -> bool {
        matches!(rune, ',' | '^') && at < 3
    }
}

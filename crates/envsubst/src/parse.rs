//! The parser: text and `${…}` functions, each function a variable, an operator and the
//! arguments the operator takes (themselves text or nested functions).

use crate::Error;
use crate::scan::{Accept, Scanner, Token, accept, escape, mode};

/// How deep `${…}` may nest inside a function's arguments. Flux has no limit (Go grows
/// its stacks); crunch stops here rather than overflow its own.
pub const MAX_NESTING: usize = 200;

/// A parsed piece of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// Text copied as it is (escapes already resolved).
    Text(Vec<u8>),
    /// `${param}`, or `${param OP args…}`.
    Func(Func),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Func {
    /// The variable's name.
    pub(crate) param: Vec<u8>,
    /// The operator as scanned (`:-`, `##`, `/`, …), empty for a bare `${param}`.
    pub(crate) op: Vec<u8>,
    /// The operator's arguments.
    pub(crate) args: Vec<Node>,
}

impl Func {
    fn new(param: Vec<u8>, op: Vec<u8>) -> Self {
        Func {
            param,
            op,
            args: Vec::new(),
        }
    }
}

/// Parses `text` into its pieces, in order.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, Error> {
    let mut parser = Parser {
        scanner: Scanner::new(text),
    };
    parser.top()
}

struct Parser {
    scanner: Scanner,
}

impl Parser {
    /// The top level: text (where `$$` is a dollar) and functions, up to the end.
    fn top(&mut self) -> Result<Vec<Node>, Error> {
        let mut nodes = Vec::new();
        loop {
            let s = &mut self.scanner;
            s.accept = accept::any;
            s.mode = mode::IDENT | mode::LBRACK | mode::ESCAPE;
            s.escapes = escape::DOLLAR;
            match s.scan() {
                Token::Ident => nodes.push(Node::Text(s.token()?)),
                Token::Eof => return Ok(nodes),
                Token::Lbrack => nodes.push(Node::Func(self.func(1)?)),
                Token::Illegal | Token::Rbrack => return Err(Error::BadSubstitution),
            }
        }
    }

    /// A function, after its `${`.
    fn func(&mut self, depth: usize) -> Result<Func, Error> {
        if depth > MAX_NESTING {
            return Err(Error::TooDeep);
        }
        let s = &mut self.scanner;
        // Inside a function both escapes count, to the end of the text's scan.
        s.escapes = escape::ALL;
        if s.peek() == '#' {
            return self.length();
        }
        s.accept = accept::ident;
        s.mode = mode::IDENT;
        let param = match s.scan() {
            Token::Ident => s.token()?,
            _ => return Err(Error::ParseVariableName),
        };
        match s.peek() {
            ':' => return self.default_or_substring(param, depth),
            '=' => return self.default(param, depth),
            ',' | '^' => return self.casing(param),
            '/' => return self.replace(param, depth),
            '#' => return self.remove(param, accept::hash_op, depth),
            '%' => return self.remove(param, accept::percent_op, depth),
            _ => {}
        }
        s.accept = accept::ident;
        s.mode = mode::RBRACK;
        match s.scan() {
            Token::Rbrack => Ok(Func::new(param, Vec::new())),
            _ => Err(Error::MissingClosingBrace),
        }
    }

    /// An operator's argument: a nested function or text the scan accepts.
    fn argument(&mut self, accept: Accept, scan_mode: u8, depth: usize) -> Result<Node, Error> {
        let s = &mut self.scanner;
        s.accept = accept;
        s.mode = scan_mode | mode::LBRACK;
        match s.scan() {
            Token::Lbrack => Ok(Node::Func(self.func(depth + 1)?)),
            Token::Ident | Token::Rbrack => Ok(Node::Text(s.token()?)),
            Token::Illegal | Token::Eof => Err(Error::ParseFuncSubstitution),
        }
    }

    /// The operator, scanned as an identifier of operator characters.
    fn operator(&mut self, accept: Accept, error: Error) -> Result<Vec<u8>, Error> {
        let s = &mut self.scanner;
        s.accept = accept;
        s.mode = mode::IDENT;
        match s.scan() {
            Token::Ident => s.token(),
            _ => Err(error),
        }
    }

    fn closing(&mut self) -> Result<(), Error> {
        self.scanner.mode = mode::RBRACK;
        match self.scanner.scan() {
            Token::Rbrack => Ok(()),
            _ => Err(Error::BadSubstitution),
        }
    }

    /// `${param:…}`: a default (`:=`, `:-`, `:?`, `:+`) or a substring (`:offset[:length]`),
    /// told apart by the rune after the colon.
    fn default_or_substring(&mut self, param: Vec<u8>, depth: usize) -> Result<Func, Error> {
        let s = &mut self.scanner;
        s.read();
        let after = s.peek();
        s.unread();
        if matches!(after, '=' | '-' | '?' | '+') {
            self.default(param, depth)
        } else {
            self.substring(param, depth)
        }
    }

    /// `${param:offset}`, `${param:offset:length}`.
    fn substring(&mut self, param: Vec<u8>, depth: usize) -> Result<Func, Error> {
        let op = self.operator(accept::one_colon, Error::BadSubstitution)?;
        let mut func = Func::new(param, op);
        func.args
            .push(self.argument(accept::not_colon_or_closing, mode::IDENT, depth)?);
        let s = &mut self.scanner;
        s.accept = accept::colon;
        s.mode = mode::IDENT | mode::RBRACK;
        match s.scan() {
            Token::Rbrack => return Ok(func),
            Token::Ident => {}
            _ => return Err(Error::BadSubstitution),
        }
        func.args
            .push(self.argument(accept::not_closing, mode::IDENT, depth)?);
        self.closing()?;
        Ok(func)
    }

    /// `${param#word}`, `${param##word}`, `${param%word}`, `${param%%word}`.
    fn remove(&mut self, param: Vec<u8>, op: Accept, depth: usize) -> Result<Func, Error> {
        let op = self.operator(op, Error::BadSubstitution)?;
        let mut func = Func::new(param, op);
        func.args
            .push(self.argument(accept::not_closing, mode::IDENT, depth)?);
        self.closing()?;
        Ok(func)
    }

    /// `${param/pattern/string}` and its `//`, `/#`, `/%` forms; the replacement may be
    /// empty. Both arguments unescape `\/`, `\\` and `$$`.
    fn replace(&mut self, param: Vec<u8>, depth: usize) -> Result<Func, Error> {
        let op = self.operator(accept::replace_op, Error::BadSubstitution)?;
        let mut func = Func::new(param, op);
        let escaping = mode::IDENT | mode::ESCAPE;
        func.args
            .push(self.argument(accept::not_slash, escaping, depth)?);
        self.operator(accept::slash, Error::BadSubstitution)?;
        if self.scanner.peek() != '}' {
            func.args
                .push(self.argument(accept::not_closing, escaping, depth)?);
        }
        self.closing()?;
        Ok(func)
    }

    /// `${param=word}`, `${param:=word}`, `${param:-word}`, `${param:?word}`,
    /// `${param:+word}`: any number of arguments up to the closing brace.
    fn default(&mut self, param: Vec<u8>, depth: usize) -> Result<Func, Error> {
        let op_accept = if self.scanner.peek() == '=' {
            accept::one_equal
        } else {
            accept::default_op
        };
        let op = self.operator(op_accept, Error::ParseDefaultFunction)?;
        let mut func = Func::new(param, op);
        while self.scanner.peek() != '}' {
            func.args
                .push(self.argument(accept::not_closing, mode::IDENT, depth)?);
        }
        self.closing()?;
        Ok(func)
    }

    /// `${param,}`, `${param,,}`, `${param^}`, `${param^^}`.
    fn casing(&mut self, param: Vec<u8>) -> Result<Func, Error> {
        let op = self.operator(accept::casing_op, Error::BadSubstitution)?;
        self.closing()?;
        Ok(Func::new(param, op))
    }

    /// `${#param}`.
    fn length(&mut self) -> Result<Func, Error> {
        let op = self.operator(accept::one_hash, Error::BadSubstitution)?;
        let param = self.operator(accept::ident, Error::BadSubstitution)?;
        self.closing()?;
        Ok(Func::new(param, op))
    }
}

//! The parser: Go `text/template/parse` trees, with Go's error messages.

use std::fmt::Display;
use std::rc::Rc;

use super::Error;
use super::ast::{Arg, Branch, Command, Node, Pipe, Source, TemplateCall, Tree};
use super::lex::{Kind, Token, lex};
use super::literal::{number, unquote};

/// What ends an item list.
enum End {
    End,
    Else,
}

/// Parses `text` as template `name`; returns the tree called `name` and every other
/// `define`/`block` tree, in order. The tree called `name` is the text outside any
/// `define`, or a non-empty `define` of that name when that text is empty (Go's tree set
/// keeps the non-empty one). `has_func` answers whether a function exists.
pub(crate) fn parse(
    name: &str,
    text: &str,
    has_func: &dyn Fn(&str) -> bool,
) -> Result<(Tree, Vec<Tree>), Error> {
    let source = Rc::new(Source {
        parse_name: name.to_string(),
        text: text.to_string(),
    });
    let mut p = Parser {
        tokens: lex(text),
        at: 0,
        line: 1,
        source: source.clone(),
        has_func,
        vars: vec!["$".to_string()],
        range_depth: 0,
        action_line: 0,
        trees: Vec::new(),
    };
    let root = p.parse_top()?;
    let main = Tree {
        name: name.to_string(),
        source,
        root,
    };
    let mut trees = p.trees;
    let main = match trees.iter().position(|t| t.name == main.name) {
        None => main,
        Some(i) if is_empty(&trees[i].root) => {
            trees.remove(i);
            main
        }
        Some(i) if is_empty(&main.root) => trees.remove(i),
        Some(_) => {
            return Err(Error::parse(format!(
                "template: {}:{}: template: multiple definition of template {}",
                name,
                p.line,
                crunch_gostd::strconv::quote(name)
            )));
        }
    };
    Ok((main, trees))
}

/// Go's `IsEmptyTree`: only whitespace text.
pub(crate) fn is_empty(list: &[Node]) -> bool {
    list.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    at: usize,
    line: usize,
    source: Rc<Source>,
    has_func: &'a dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    trees: Vec<Tree>,
}

type PResult<T> = Result<T, Error>;

impl<'a> Parser<'a> {
    fn errorf(&self, msg: impl Display) -> Error {
        Error::parse(format!(
            "template: {}:{}: {}",
            self.source.parse_name, self.line, msg
        ))
    }

    fn next(&mut self) -> Token<'a> {
        let i = self.at.min(self.tokens.len() - 1);
        self.at = i + 1;
        let t = self.tokens[i].clone();
        self.line = t.line;
        t
    }

    fn backup(&mut self) {
        self.at -= 1;
    }

    fn peek(&self) -> &Token<'a> {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next_non_space(&mut self) -> Token<'a> {
        loop {
            let t = self.next();
            if t.kind != Kind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token<'a> {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn unexpected(&self, token: &Token, context: &str) -> Error {
        if token.kind == Kind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.source.parse_name, self.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Token<'a>> {
        let t = self.next_non_space();
        if t.kind != kind {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let delim = self.at;
                self.next();
                if self.next_non_space().kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.at = delim;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.push(n),
                Parsed::End(End::End) => return Err(self.errorf("unexpected {{end}}")),
                Parsed::End(_) => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    fn template_name(&mut self, token: &Token, context: &str) -> PResult<String> {
        match token.kind {
            Kind::String | Kind::RawString => {
                unquote(&token.val).ok_or_else(|| self.errorf("invalid syntax"))
            }
            _ => Err(self.unexpected(token, context)),
        }
    }

    /// Parses a body into a new tree named `name` with a fresh variable scope.
    fn sub_tree(&mut self, name: String, context: &str) -> PResult<()> {
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (root, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if !matches!(end, End::End) {
            return Err(self.errorf(format!("unexpected {{{{else}}}} in {context}")));
        }
        let tree = Tree {
            name,
            source: self.source.clone(),
            root,
        };
        // Go's treeSet rule: within one parse, a second non-empty definition is an error
        // and an empty one never replaces a non-empty one.
        match self.trees.iter().position(|old| old.name == tree.name) {
            None => self.trees.push(tree),
            Some(i) if is_empty(&self.trees[i].root) => self.trees[i] = tree,
            Some(_) if is_empty(&tree.root) => {}
            Some(_) => {
                return Err(self.errorf(format!(
                    "template: multiple definition of template {}",
                    crunch_gostd::strconv::quote(&tree.name)
                )));
            }
        }
        Ok(())
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let token = self.next_non_space();
        if !matches!(token.kind, Kind::String | Kind::RawString) {
            return Err(self.unexpected(&token, CONTEXT));
        }
        let name = self.template_name(&token, CONTEXT)?;
        self.expect(Kind::RightDelim, CONTEXT)?;
        self.sub_tree(name, CONTEXT)
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, End)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                Parsed::End(end) => return Ok((list, end)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.kind {
            Kind::Text => Ok(Parsed::Node(Node::Text(token.val.into_owned()))),
            Kind::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        let node = match token.kind {
            Kind::Block => self.block_control()?,
            Kind::Break | Kind::Continue => {
                let kw = token.val.clone();
                let t = self.next_non_space();
                if t.kind != Kind::RightDelim {
                    return Err(self.unexpected(&t, &format!("{{{{{kw}}}}}")));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(format!("{{{{{kw}}}}} outside {{{{range}}}}")));
                }
                if token.kind == Kind::Break {
                    Node::Break
                } else {
                    Node::Continue
                }
            }
            Kind::Else => {
                let peek = self.peek_non_space();
                if !matches!(peek.kind, Kind::If | Kind::With) {
                    self.expect(Kind::RightDelim, "else")?;
                }
                return Ok(Parsed::End(End::Else));
            }
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Parsed::End(End::End));
            }
            Kind::If => Node::If(self.control("if")?),
            Kind::Range => Node::Range(self.control("range")?),
            Kind::With => Node::With(self.control("with")?),
            Kind::Template => {
                const CONTEXT: &str = "template clause";
                let token = self.next_non_space();
                let name = self.template_name(&token, CONTEXT)?;
                let pipe = if self.next_non_space().kind != Kind::RightDelim {
                    self.backup();
                    Some(self.pipeline(CONTEXT, Kind::RightDelim)?)
                } else {
                    None
                };
                Node::Template(TemplateCall {
                    pos: token.pos,
                    name,
                    pipe,
                })
            }
            _ => {
                self.backup();
                Node::Action(self.pipeline("command", Kind::RightDelim)?)
            }
        };
        Ok(Parsed::Node(node))
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, Kind::RightDelim)?;
        self.sub_tree(name.clone(), CONTEXT)?;
        Ok(Node::Template(TemplateCall {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        let depth = self.vars.len();
        let r = self.control_inner(context);
        self.vars.truncate(depth);
        r
    }

    fn control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let listed = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, end) = listed?;
        let else_list = match end {
            End::End => None,
            End::Else => {
                let chained = match self.peek().kind {
                    Kind::If if context == "if" => Some(("if", true)),
                    Kind::With if context == "with" => Some(("with", false)),
                    _ => None,
                };
                if let Some((ctx, is_if)) = chained {
                    self.next();
                    let inner = self.control(ctx)?;
                    Some(vec![if is_if {
                        Node::If(inner)
                    } else {
                        Node::With(inner)
                    }])
                } else {
                    let (else_list, end) = self.item_list()?;
                    if !matches!(end, End::End) {
                        return Err(self.errorf("expected end; found {{else}}"));
                    }
                    Some(else_list)
                }
            }
        };
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> PResult<Pipe> {
        let first = self.peek_non_space();
        let mut pipe = Pipe {
            pos: first.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        self.declarations(&mut pipe, context)?;
        loop {
            let token = self.next_non_space();
            match token.kind {
                k if k == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                Kind::Bool
                | Kind::CharConstant
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> PResult<()> {
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                return Ok(());
            }
            let mark = self.at;
            self.next_non_space();
            let after_var = self.peek().kind;
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.into_owned());
                    return Ok(());
                }
                Kind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.into_owned());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => {
                    let _ = after_var;
                    self.at = mark;
                    return Ok(());
                }
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(_) | Arg::String { .. }
                )
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let token = self.next();
            match token.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            fields.push(self.next().val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field { pos, idents }
            }
            Arg::Variable {
                name,
                fields: mut f,
                ..
            } => {
                f.extend(fields);
                Arg::Variable {
                    pos,
                    name,
                    fields: f,
                }
            }
            Arg::Bool(..) | Arg::String { .. } | Arg::Number(_) | Arg::Nil(_) | Arg::Dot(_) => {
                let shown = crunch_gostd::strconv::quote(&node.to_string());
                return Err(self.errorf(format!("unexpected . after term {shown}")));
            }
            other => Arg::Chain {
                pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        Ok(Some(match token.kind {
            Kind::Identifier => {
                if !(self.has_func)(&token.val) {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        crunch_gostd::strconv::quote(&token.val)
                    )));
                }
                Arg::Identifier {
                    pos,
                    name: token.val.into_owned(),
                }
            }
            Kind::Dot => Arg::Dot(pos),
            Kind::Nil => Arg::Nil(pos),
            Kind::Variable => {
                let mut parts = token.val.split('.');
                let name = parts.next().unwrap_or("$").to_string();
                if !self.vars.contains(&name) {
                    return Err(self.errorf(format!(
                        "undefined variable {}",
                        crunch_gostd::strconv::quote(&name)
                    )));
                }
                Arg::Variable {
                    pos,
                    name,
                    fields: parts.map(str::to_string).collect(),
                }
            }
            Kind::Field => Arg::Field {
                pos,
                idents: token.val[1..].split('.').map(str::to_string).collect(),
            },
            Kind::Bool => Arg::Bool(pos, token.val == "true"),
            Kind::Number | Kind::CharConstant => Arg::Number(Box::new(
                number(pos, &token.val, token.kind == Kind::CharConstant)
                    .map_err(|e| self.errorf(e))?,
            )),
            Kind::LeftParen => Arg::Pipe(Box::new(
                self.pipeline("parenthesized pipeline", Kind::RightParen)?,
            )),
            Kind::String | Kind::RawString => match unquote(&token.val) {
                Some(text) => Arg::String {
                    pos,
                    quoted: token.val.into_owned(),
                    text,
                },
                None => return Err(self.errorf("invalid syntax")),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

enum Parsed {
    Node(Node),
    End(End),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse("t", text, &|n| n == "f") {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parse_errors() {
        assert_eq!(err("{{ g }}"), "template: t:1: function \"g\" not defined");
        assert_eq!(err("{{ if . }}"), "template: t:1: unexpected EOF");
        assert_eq!(err("{{ end }}"), "template: t:1: unexpected {{end}}");
        assert_eq!(err("{{ $x }}"), "template: t:1: undefined variable \"$x\"");
        assert_eq!(
            err("{{ . | 1 }}"),
            "template: t:1: non executable command in pipeline stage 2"
        );
        assert_eq!(err("{{ f "), "template: t:1: unclosed action");
    }

    #[test]
    fn node_strings() {
        let main = parse("t", "{{ $x := f (f .a.b) $.c | f }}", &|_| true).map(|(main, _)| main);
        let Some(Node::Action(p)) = main.as_ref().ok().and_then(|t| t.root.first()) else {
            panic!("no action");
        };
        assert_eq!(p.to_string(), "$x := f (f .a.b) $.c | f");
    }

    #[test]
    fn numbers() {
        let n = number(0, "1e3", false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((n.int, n.float), (Some(1000), Some(1000.0)));
    }
}

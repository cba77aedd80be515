//! The executor: walks a parsed tree against data, with Go's evaluation rules and
//! error messages.

use std::rc::Rc;

use super::ast::{Arg, Branch, Command, Node, Number, Pipe, TemplateCall, Tree};
use super::funcs::{Signature, Type};
use super::set::{MissingKey, Templates};
use super::{ElemType, Error, Map, Method, Object, Value};

/// A value during evaluation, with what Go's `reflect.Value` adds to it: validity and
/// whether it still sits in an `interface{}` slot (a map element, a slice element).
#[derive(Clone)]
pub(crate) enum Val {
    /// Go's invalid `reflect.Value`: "no value" (a missing key, an unset variable).
    Invalid,
    /// A value read out of an `interface{}` slot.
    Iface(Value),
    /// A value of its own concrete type.
    Plain(Value),
}

impl Val {
    fn from_value(v: Value) -> Val {
        match v {
            Value::Nil => Val::Invalid,
            v => Val::Plain(v),
        }
    }

    /// An element of a slice or map whose elements are of type `elem`.
    fn elem(elem: ElemType, v: Value) -> Val {
        match elem {
            ElemType::Interface => Val::Iface(v),
            _ => Val::Plain(v),
        }
    }

    fn value(&self) -> Option<&Value> {
        match self {
            Val::Invalid => None,
            Val::Iface(v) | Val::Plain(v) => Some(v),
        }
    }

    /// The pipeline step Go calls "lovely": an `interface{}` is replaced by its content.
    fn unwrap_iface(self) -> Val {
        match self {
            Val::Iface(v) => Val::from_value(v),
            other => other,
        }
    }

    fn type_label(&self) -> String {
        match self {
            Val::Invalid => "<invalid>".into(),
            Val::Iface(_) => "interface {}".into(),
            Val::Plain(v) => v.type_name(),
        }
    }

    fn truth(&self) -> bool {
        self.value().is_some_and(Value::is_true)
    }
}

/// What a walk step asks of the enclosing `range`.
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node an error is reported at (Go's `state.at`).
#[derive(Clone, Copy)]
enum At<'a> {
    Arg(&'a Arg),
    Number(&'a Number),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
    Template(&'a TemplateCall),
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            At::Arg(a) => a.pos(),
            At::Number(n) => n.pos,
            At::Pipe(p) => p.pos,
            At::Cmd(c) => c.pos,
            At::Template(t) => t.pos,
        }
    }

    fn context(&self) -> String {
        match self {
            At::Arg(a) => a.to_string(),
            At::Number(n) => n.text.clone(),
            At::Pipe(p) => p.to_string(),
            At::Cmd(c) => c.to_string(),
            At::Template(t) => t.to_string(),
        }
    }
}

type R<T> = Result<T, Error>;

/// Executes `tree` of `set` with `data` as dot, appending to `out`: a fresh execution
/// (Go's `Execute`, `{{template}}` depth 0) at `nesting` levels of native recursion.
pub(crate) fn execute(
    set: &Templates,
    tree: &Tree,
    data: Value,
    nesting: usize,
    out: &mut String,
) -> R<()> {
    let limit = set.options().max_nesting;
    if nesting > limit {
        return Err(Error::new(format!(
            "template: {}: {}",
            tree.name,
            nesting_exceeded(limit)
        )));
    }
    let dot = Val::from_value(data);
    let mut state = State {
        set,
        tree,
        vars: vec![("$", dot.clone())],
        at: None,
        depth: 0,
        nesting,
        out,
    };
    state.walk(&dot, &tree.root).map(|_| ())
}

struct State<'a, 'o> {
    set: &'a Templates,
    tree: &'a Tree,
    vars: Vec<(&'a str, Val)>,
    at: Option<At<'a>>,
    /// `{{template}}` nesting within this execution (Go's `state.depth`).
    depth: usize,
    /// Native recursion: `{{template}}` calls plus nested executions (`include`, `tpl`).
    nesting: usize,
    out: &'o mut String,
}

/// crunch's own limit on native recursion, which Go (growing its stacks) does not have.
fn nesting_exceeded(limit: usize) -> String {
    format!("exceeded crunch's maximum nesting of templates and includes ({limit})")
}

impl<'a> State<'a, '_> {
    fn errorf(&self, msg: impl std::fmt::Display) -> Error {
        let name = &self.tree.name;
        match self.at {
            None => Error::new(format!("template: {name}: {msg}")),
            Some(at) => Error::new(format!(
                "template: {}: executing {} at <{}>: {msg}",
                self.tree.source.location(at.pos()),
                crunch_gostd::strconv::quote(name),
                at.context()
            )),
        }
    }

    /// Counts one step against [`super::Budget::max_steps`].
    fn step(&self) -> R<()> {
        if self.set.take_step() {
            return Ok(());
        }
        let max = self.set.options().budget.max_steps;
        Err(self.errorf(format!("exceeded crunch's execution budget of {max} steps")))
    }

    /// Checks the output against [`super::Budget::max_bytes`].
    fn check_output(&self) -> R<()> {
        let max = self.set.options().budget.max_bytes;
        if self.out.len() <= max {
            return Ok(());
        }
        Err(self.errorf(format!(
            "output exceeds crunch's execution budget of {max} bytes"
        )))
    }

    fn walk(&mut self, dot: &Val, list: &'a [Node]) -> R<Flow> {
        for node in list {
            self.step()?;
            let flow = match node {
                Node::Text(t) => {
                    self.out.push_str(t);
                    self.check_output()?;
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let val = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.at = Some(At::Pipe(pipe));
                        self.print_value(&val);
                        self.check_output()?;
                    }
                    Flow::Normal
                }
                Node::If(b) => self.walk_if_or_with(dot, b, false)?,
                Node::With(b) => self.walk_if_or_with(dot, b, true)?,
                Node::Range(b) => self.walk_range(dot, b)?,
                Node::Template(t) => {
                    self.walk_template(dot, t)?;
                    Flow::Normal
                }
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, val: &Val) {
        match val.value() {
            None => self.out.push_str("<no value>"),
            Some(Value::Object(o)) => self.out.push_str(&o.action_display()),
            Some(v) => super::fmt::write_value(self.out, v),
        }
    }

    fn walk_if_or_with(&mut self, dot: &Val, b: &'a Branch, with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if val.truth() {
            if with {
                self.walk(&val, &b.list)?
            } else {
                self.walk(dot, &b.list)?
            }
        } else if let Some(else_list) = &b.else_list {
            self.walk(dot, else_list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Val, b: &'a Branch) -> R<Flow> {
        let outer = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let mut items: Vec<(Val, Val)> = Vec::new();
        let collection = val.value().map(Value::as_collection);
        let mut ran = false;
        match collection.as_ref() {
            None => {}
            Some(Value::List(l)) => {
                for (i, v) in l.items().iter().enumerate() {
                    items.push((
                        Val::Plain(Value::Int(i as i64)),
                        Val::elem(l.elem(), v.clone()),
                    ));
                }
            }
            Some(Value::Map(m)) => {
                for (k, v) in m.entries() {
                    items.push((Val::Plain(Value::from(k)), Val::elem(m.elem(), v)));
                }
            }
            Some(n @ (Value::Int(i) | Value::Int64(i))) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        super::fmt::sprint_value(n)
                    )));
                }
                let int64 = matches!(n, Value::Int64(_));
                // One iteration at a time: the count may be far larger than memory.
                for k in 0..*i {
                    ran = true;
                    let v = if int64 {
                        Value::Int64(k)
                    } else {
                        Value::Int(k)
                    };
                    let flow = self.range_iteration(b, mark, Val::Invalid, Val::Plain(v))?;
                    if matches!(flow, Flow::Break) {
                        break;
                    }
                }
            }
            Some(other) => {
                return Err(self.errorf(format!(
                    "range can't iterate over {}",
                    super::fmt::sprint_value(other)
                )));
            }
        }
        ran |= !items.is_empty();
        for (index, elem) in items {
            let flow = self.range_iteration(b, mark, index, elem)?;
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        let flow = match (&b.else_list, ran) {
            (Some(else_list), false) => self.walk(dot, else_list)?,
            _ => Flow::Normal,
        };
        self.vars.truncate(outer);
        Ok(flow)
    }

    /// One iteration of `range`: binds the loop variables and walks the body with
    /// `elem` as dot; `mark` is where the body's own variables start.
    fn range_iteration(&mut self, b: &'a Branch, mark: usize, index: Val, elem: Val) -> R<Flow> {
        self.step()?;
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                let first = if decl.len() > 1 { &index } else { &elem };
                self.set_var(&decl[0], first.clone())?;
            } else {
                let top = self.vars.len() - 1;
                self.vars[top].1 = elem.clone();
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                let second = self.vars.len() - 2;
                self.vars[second].1 = index;
            }
        }
        let flow = self.walk(&elem, &b.list)?;
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_template(&mut self, dot: &Val, t: &'a TemplateCall) -> R<()> {
        self.at = Some(At::Template(t));
        let Some(tree) = self.set.tree(&t.name) else {
            return Err(self.errorf(format!(
                "template {} not defined",
                crunch_gostd::strconv::quote(&t.name)
            )));
        };
        let options = self.set.options();
        if self.depth >= options.max_depth {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({})",
                options.max_depth
            )));
        }
        if self.nesting >= options.max_nesting {
            return Err(self.errorf(nesting_exceeded(options.max_nesting)));
        }
        let dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Val::Invalid,
        };
        let mut inner = State {
            set: self.set,
            tree,
            vars: vec![("$", dot.clone())],
            at: None,
            depth: self.depth + 1,
            nesting: self.nesting + 1,
            out: self.out,
        };
        inner.walk(&dot, &tree.root).map(|_| ())
    }

    fn var_value(&self, name: &str) -> R<Val> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn set_var(&mut self, name: &str, val: Val) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = val;
                Ok(())
            }
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn eval_pipeline(&mut self, dot: &Val, pipe: &'a Pipe) -> R<Val> {
        self.at = Some(At::Pipe(pipe));
        let mut value: Option<Val> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?.unwrap_iface());
        }
        let value = value.unwrap_or(Val::Invalid);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Val>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Val, cmd: &'a Command, final_: Option<Val>) -> R<Val> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at = Some(At::Arg(first));
                self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, final_)
            }
            Arg::Chain { .. } => self.eval_chain(dot, first, &cmd.args, final_),
            Arg::Identifier { name, .. } => {
                self.at = Some(At::Arg(first));
                self.eval_call(dot, name, At::Cmd(cmd), &cmd.args[1..], final_)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { .. } => self.eval_variable(dot, first, &cmd.args, final_),
            _ => {
                self.at = Some(At::Arg(first));
                self.not_a_function(&cmd.args, &final_)?;
                match first {
                    Arg::Bool(_, b) => Ok(Val::Plain(Value::Bool(*b))),
                    Arg::Dot(_) => Ok(dot.clone()),
                    Arg::Nil(_) => Err(self.errorf("nil is not a command")),
                    Arg::Number(n) => self.ideal_constant(n),
                    Arg::String { text, .. } => Ok(Val::Plain(Value::string(text.as_str()))),
                    _ => Err(self.errorf(format!("can't evaluate command {first}"))),
                }
            }
        }
    }

    fn ideal_constant(&mut self, n: &'a Number) -> R<Val> {
        self.at = Some(At::Number(n));
        let hex_int = {
            let t = n.text.trim_start_matches(['+', '-']);
            (t.starts_with("0x") || t.starts_with("0X")) && !t.contains(['p', 'P'])
        };
        if n.float.is_some() && !hex_int && !n.is_char && n.text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Val::Plain(Value::Float(n.float.unwrap_or_default())));
        }
        match n.int {
            Some(i) => Ok(Val::Plain(Value::Int(i))),
            None if n.is_uint => Err(self.errorf(format!("{} overflows int", n.text))),
            None => Ok(Val::Invalid),
        }
    }

    fn eval_chain(
        &mut self,
        dot: &Val,
        chain: &'a Arg,
        args: &'a [Arg],
        final_: Option<Val>,
    ) -> R<Val> {
        self.at = Some(At::Arg(chain));
        let Arg::Chain { node, fields, .. } = chain else {
            return Ok(Val::Invalid);
        };
        if matches!(node.as_ref(), Arg::Nil(_)) {
            return Err(self.errorf(format!("indirection through explicit nil in {chain}")));
        }
        let receiver = self.eval_arg_untyped(dot, node)?;
        self.eval_field_chain(dot, receiver, chain, fields, args, final_)
    }

    fn eval_variable(
        &mut self,
        dot: &Val,
        var: &'a Arg,
        args: &'a [Arg],
        final_: Option<Val>,
    ) -> R<Val> {
        self.at = Some(At::Arg(var));
        let Arg::Variable { name, fields, .. } = var else {
            return Ok(Val::Invalid);
        };
        let value = self.var_value(name)?;
        if fields.is_empty() {
            if args.len() > 1 || final_.is_some() {
                return Err(self.errorf(format!("can't give argument to non-function {var}")));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, fields, args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Val,
        mut receiver: Val,
        node: &'a Arg,
        idents: &'a [String],
        args: &'a [Arg],
        final_: Option<Val>,
    ) -> R<Val> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            receiver = self.eval_field(dot, ident, node, &[], None, receiver)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, final_, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Val,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        final_: Option<Val>,
        receiver: Val,
    ) -> R<Val> {
        let missing = self.set.options().missing_key;
        let value = match &receiver {
            Val::Invalid => {
                if missing == MissingKey::Error {
                    return Err(self.errorf(format!(
                        "nil data; no entry for key {}",
                        crunch_gostd::strconv::quote(name)
                    )));
                }
                return Ok(Val::Invalid);
            }
            Val::Iface(Value::Nil) | Val::Plain(Value::Nil) => {
                return Err(self.errorf(format!("nil pointer evaluating interface {{}}.{name}")));
            }
            Val::Iface(v) | Val::Plain(v) => v,
        };
        // Go looks for a method before a map key or a struct field.
        let method = match value {
            Value::Map(m) => m
                .map_type()
                .and_then(|t| t.method(name))
                .map(|method| (method.signature().clone(), Callee::MapMethod(m, method))),
            Value::Object(o) => o
                .method(name)
                .map(|signature| (signature, Callee::ObjectMethod(o))),
            _ => None,
        };
        if let Some((signature, callee)) = method {
            // Go passes a chain's inner fields no arguments, the last one the command's.
            let args = args.get(1..).unwrap_or_default();
            let argv = self.eval_call_args(dot, name, &signature, args, final_)?;
            self.step()?;
            let result = match callee {
                Callee::MapMethod(m, method) => method.call(m, &argv),
                Callee::ObjectMethod(o) => o.call_method(name, &argv),
            };
            return self.call_result(name, At::Arg(node), result);
        }
        let has_args = args.len() > 1 || final_.is_some();
        match value {
            Value::Map(m) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                match m.get(name) {
                    Some(v) => Ok(Val::elem(m.elem(), v)),
                    None => match missing {
                        MissingKey::Invalid => Ok(Val::Invalid),
                        MissingKey::Zero => Ok(Val::elem(m.elem(), m.zero_elem())),
                        MissingKey::Error => Err(self.errorf(format!(
                            "map has no entry for key {}",
                            crunch_gostd::strconv::quote(name)
                        ))),
                    },
                }
            }
            Value::Object(o) => match o.field(name) {
                Some(_) if has_args => Err(self.errorf(format!(
                    "{name} has arguments but cannot be invoked as function"
                ))),
                Some(v) => Ok(Val::from_value(v)),
                None => Err(self.errorf(format!(
                    "can't evaluate field {name} in type {}",
                    receiver.type_label()
                ))),
            },
            _ => Err(self.errorf(format!(
                "can't evaluate field {name} in type {}",
                receiver.type_label()
            ))),
        }
    }

    /// Evaluates an operand with no parameter type (a chain's head).
    fn eval_arg_untyped(&mut self, dot: &Val, arg: &'a Arg) -> R<Val> {
        self.at = Some(At::Arg(arg));
        match arg {
            Arg::Field { idents, .. } => self.eval_field_chain(
                dot,
                dot.clone(),
                arg,
                idents,
                std::slice::from_ref(arg),
                None,
            ),
            Arg::Variable { .. } => self.eval_variable(dot, arg, &[], None),
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Identifier { name, .. } => self.eval_call(dot, name, At::Arg(arg), &[], None),
            Arg::Chain { .. } => self.eval_chain(dot, arg, &[], None),
            _ => Ok(Val::Invalid),
        }
    }

    /// Go's `evalArg`: evaluates an argument against its parameter type.
    fn eval_arg(&mut self, dot: &Val, ty: Type, arg: &'a Arg) -> R<Value> {
        self.at = Some(At::Arg(arg));
        match arg {
            Arg::Dot(_) => return self.validate(dot.clone(), ty),
            Arg::Nil(_) => {
                if ty.can_be_nil() {
                    return Ok(Value::Nil);
                }
                return Err(self.errorf(format!("cannot assign nil to {}", ty.go_name())));
            }
            Arg::Field { .. }
            | Arg::Variable { .. }
            | Arg::Pipe(_)
            | Arg::Identifier { .. }
            | Arg::Chain { .. } => {
                let v = self.eval_arg_untyped(dot, arg)?;
                return self.validate(v, ty);
            }
            _ => {}
        }
        match (ty, arg) {
            (Type::Any, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (Type::Any, Arg::String { text, .. }) => Ok(Value::string(text.as_str())),
            (Type::Any, Arg::Number(n)) => {
                let v = self.ideal_constant(n)?;
                Ok(v.value().cloned().unwrap_or_default())
            }
            (Type::Bool, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (Type::Bool, _) => Err(self.errorf(format!("expected bool; found {arg}"))),
            (Type::String, Arg::String { text, .. }) => Ok(Value::string(text.as_str())),
            (Type::String, _) => Err(self.errorf(format!("expected string; found {arg}"))),
            (Type::Int | Type::Int64, Arg::Number(n)) if n.int.is_some() => {
                let i = n.int.unwrap_or_default();
                Ok(if ty == Type::Int {
                    Value::Int(i)
                } else {
                    Value::Int64(i)
                })
            }
            (Type::Int | Type::Int64, _) => {
                Err(self.errorf(format!("expected integer; found {arg}")))
            }
            (Type::Float64, Arg::Number(n)) if n.float.is_some() => {
                Ok(Value::Float(n.float.unwrap_or_default()))
            }
            (Type::Float64, _) => Err(self.errorf(format!("expected float; found {arg}"))),
            (Type::Uint32, Arg::Number(n)) if n.int.is_some_and(|i| i >= 0) => {
                // Go's `SetUint` keeps the low 32 bits.
                Ok(Value::Int(n.int.unwrap_or_default() & 0xffff_ffff))
            }
            (Type::Uint32, _) => {
                Err(self.errorf(format!("expected unsigned integer; found {arg}")))
            }
            _ => Err(self.errorf(format!(
                "can't handle {arg} for arg of type {}",
                ty.go_name()
            ))),
        }
    }

    /// Go's `validateType`.
    fn validate(&self, val: Val, ty: Type) -> R<Value> {
        let can_be_nil = ty.can_be_nil();
        match val {
            Val::Invalid if can_be_nil => Ok(Value::Nil),
            Val::Invalid => Err(self.errorf(format!("invalid value; expected {}", ty.go_name()))),
            Val::Iface(Value::Nil) if ty == Type::Any => Ok(Value::Nil),
            Val::Iface(Value::Nil) => Err(self.errorf(format!(
                "wrong type for value; expected {}; got interface {{}}",
                ty.go_name()
            ))),
            Val::Iface(v) | Val::Plain(v) => {
                let ok = match (ty, &v) {
                    (Type::Any, _) => true,
                    (Type::String, Value::String(_))
                    | (Type::Int, Value::Int(_))
                    | (Type::Int64, Value::Int64(_))
                    | (Type::Float64, Value::Float(_))
                    | (Type::Bool, Value::Bool(_)) => true,
                    // A named map type converts; another map type (`map[string]string`)
                    // does not.
                    (Type::Map, Value::Map(m)) => m.elem() == ElemType::Interface,
                    (Type::List, Value::List(l)) => l.elem() == ElemType::Interface,
                    (Type::Strings, Value::List(l)) => l.elem() == ElemType::String,
                    (Type::Named(name), Value::Object(o)) => o.type_name() == name,
                    _ => false,
                };
                if ok {
                    Ok(match (ty, v) {
                        (Type::Map, Value::Map(m)) => Value::Map(m.unnamed()),
                        (_, v) => v,
                    })
                } else {
                    Err(self.errorf(format!(
                        "wrong type for value; expected {}; got {}",
                        ty.go_name(),
                        v.type_name()
                    )))
                }
            }
        }
    }

    /// Go's `evalCall` for a named function. `args` excludes the function's own name.
    fn eval_call(
        &mut self,
        dot: &Val,
        name: &str,
        node: At<'a>,
        args: &'a [Arg],
        final_: Option<Val>,
    ) -> R<Val> {
        let set: &'a Templates = self.set;
        let (sig, func, is_builtin) = match set.lookup(name) {
            Some(f) => f,
            None => {
                return Err(self.errorf(format!(
                    "{} is not a defined function",
                    crunch_gostd::strconv::quote(name)
                )));
            }
        };
        let num_in = args.len() + usize::from(final_.is_some());
        check_arity(sig, name, args.len(), num_in).map_err(|m| self.errorf(m))?;

        if is_builtin && (name == "and" || name == "or") {
            let want = name == "or";
            let mut last = Val::Invalid;
            for a in args {
                let v = self.eval_arg(dot, Type::Any, a)?;
                last = Val::from_value(v);
                if last.truth() == want {
                    return Ok(last);
                }
            }
            if let Some(f) = final_ {
                last = Val::from_value(self.validate(f, Type::Any)?);
            }
            return Ok(last);
        }

        let argv = self.eval_typed_args(dot, sig, args, final_)?;
        self.step()?;
        let mut ctx = self.set.context(self.nesting);
        let result = func(&mut ctx, &argv);
        self.call_result(name, node, result)
    }

    /// Go's `evalCall` up to the call: checks the number of arguments against `sig`,
    /// then evaluates them against their parameter types. `args` excludes the callee.
    fn eval_call_args(
        &mut self,
        dot: &Val,
        name: &str,
        sig: &Signature,
        args: &'a [Arg],
        final_: Option<Val>,
    ) -> R<Vec<Value>> {
        let num_in = args.len() + usize::from(final_.is_some());
        check_arity(sig, name, args.len(), num_in).map_err(|m| self.errorf(m))?;
        self.eval_typed_args(dot, sig, args, final_)
    }

    /// Evaluates each argument against its parameter type in `sig`, the piped final
    /// value last; the number of arguments is already checked.
    fn eval_typed_args(
        &mut self,
        dot: &Val,
        sig: &Signature,
        args: &'a [Arg],
        final_: Option<Val>,
    ) -> R<Vec<Value>> {
        let num_in = args.len() + usize::from(final_.is_some());
        let fixed = sig.params();
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            let ty = fixed.get(i).copied().or(sig.rest()).unwrap_or(Type::Any);
            argv.push(self.eval_arg(dot, ty, a)?);
        }
        if let Some(f) = final_ {
            let ty = fixed
                .get(num_in - 1)
                .copied()
                .or(sig.rest())
                .unwrap_or(Type::Any);
            argv.push(self.validate(f, ty)?);
        }
        Ok(argv)
    }

    /// The end of Go's `evalCall`: the function's or method's result, or its error
    /// reported at `node`.
    fn call_result(&mut self, name: &str, node: At<'a>, result: Result<Value, String>) -> R<Val> {
        match result {
            Ok(Value::Nil) => Ok(Val::Iface(Value::Nil)),
            Ok(v) => {
                let max = self.set.options().budget.max_bytes;
                let size = match &v {
                    Value::String(s) => s.len(),
                    Value::List(l) => l.len(),
                    Value::Map(m) => m.len(),
                    _ => 0,
                };
                if size > max {
                    self.at = Some(node);
                    return Err(self.errorf(format!(
                        "error calling {name}: result exceeds crunch's execution budget of \
                         {max} bytes"
                    )));
                }
                Ok(Val::Plain(v))
            }
            Err(e) => {
                self.at = Some(node);
                Err(self.errorf(format!("error calling {name}: {e}")))
            }
        }
    }
}

/// The receiver and body of a method call.
enum Callee<'v> {
    MapMethod(&'v Map, &'v Method),
    ObjectMethod(&'v Rc<dyn Object>),
}

fn check_arity(sig: &Signature, name: &str, given: usize, num_in: usize) -> Result<(), String> {
    let fixed = sig.params().len();
    if sig.rest().is_some() {
        if num_in < fixed {
            return Err(format!(
                "wrong number of args for {name}: want at least {fixed} got {given}"
            ));
        }
    } else if num_in != fixed {
        return Err(format!(
            "wrong number of args for {name}: want {fixed} got {num_in}"
        ));
    }
    Ok(())
}

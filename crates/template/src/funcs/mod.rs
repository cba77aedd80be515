//! The function table: Go's builtins, Sprig, and whatever the embedding program adds.

mod go;
mod sprig;

use std::collections::HashMap;
use std::rc::Rc;

use super::{Error, Templates, Value};

/// A Go parameter type. The engine checks and converts arguments against it exactly as
/// Go's `text/template` does (`wrong type for value; expected int; got float64`), so
/// function bodies receive values of the declared type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// `interface {}`: anything, nil included.
    Any,
    /// `string`.
    String,
    /// `int`.
    Int,
    /// `int64`.
    Int64,
    /// `float64`.
    Float64,
    /// `bool`.
    Bool,
    /// `map[string]interface {}` (nil allowed).
    Map,
    /// `[]interface {}` (nil allowed).
    List,
    /// `[]string` (nil allowed).
    Strings,
    /// `uint32` (Sprig's `derivePassword` counter).
    Uint32,
    /// A Go struct type of an [`super::Object`] (`time.Time`, `sprig.certificate`):
    /// values whose [`super::Object::type_name`] is this name.
    Named(&'static str),
    /// A Go interface type with methods (`io.Writer`) that no template value
    /// implements: only nil is accepted.
    Interface(&'static str),
}

impl Type {
    /// Go's spelling of the type, as error messages print it.
    pub fn go_name(self) -> &'static str {
        match self {
            Type::Any => "interface {}",
            Type::String => "string",
            Type::Int => "int",
            Type::Int64 => "int64",
            Type::Float64 => "float64",
            Type::Bool => "bool",
            Type::Map => "map[string]interface {}",
            Type::List => "[]interface {}",
            Type::Strings => "[]string",
            Type::Uint32 => "uint32",
            Type::Named(name) | Type::Interface(name) => name,
        }
    }

    /// Whether Go can assign an untyped nil to the type (`canBeNil`).
    pub(crate) fn can_be_nil(self) -> bool {
        matches!(
            self,
            Type::Any | Type::Map | Type::List | Type::Strings | Type::Interface(_)
        )
    }
}

/// A function's Go parameter list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    params: Vec<Type>,
    variadic: Option<Type>,
}

impl Signature {
    /// Fixed parameters.
    pub fn new(params: &[Type]) -> Signature {
        Signature {
            params: params.to_vec(),
            variadic: None,
        }
    }

    /// Fixed parameters followed by `...rest`.
    pub fn variadic(params: &[Type], rest: Type) -> Signature {
        Signature {
            params: params.to_vec(),
            variadic: Some(rest),
        }
    }

    /// The fixed parameters.
    pub fn params(&self) -> &[Type] {
        &self.params
    }

    /// The variadic parameter's element type, if any.
    pub fn rest(&self) -> Option<Type> {
        self.variadic
    }
}

/// A template function body: checked arguments in, a value or Go's error text out.
pub type Function = Rc<dyn Fn(&mut Context<'_>, &[Value]) -> Result<Value, String>>;

/// Name → function, as Go's `template.FuncMap`. Functions in the map override Go's
/// builtins of the same name (Sprig's `slice` does, in Helm).
#[derive(Clone, Default)]
pub struct FuncMap {
    funcs: HashMap<String, (Signature, Function)>,
}

impl FuncMap {
    /// An empty map: templates see only Go's builtins.
    pub fn new() -> FuncMap {
        FuncMap::default()
    }

    /// Sprig's functions as Helm v4 installs them (without `env` and `expandenv`).
    pub fn sprig() -> FuncMap {
        let mut map = FuncMap::new();
        sprig::install(&mut map);
        map
    }

    /// Go's builtin functions (`and`, `eq`, `index`, `printf`, …).
    pub(crate) fn go_builtins() -> FuncMap {
        let mut map = FuncMap::new();
        go::install(&mut map);
        map
    }

    /// Adds or replaces `name`.
    pub fn insert(
        &mut self,
        name: &str,
        signature: Signature,
        body: impl Fn(&mut Context<'_>, &[Value]) -> Result<Value, String> + 'static,
    ) {
        self.funcs
            .insert(name.to_string(), (signature, Rc::new(body)));
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) {
        self.funcs.remove(name);
    }

    /// Looks `name` up.
    pub fn get(&self, name: &str) -> Option<&(Signature, Function)> {
        self.funcs.get(name)
    }

    /// Whether no function is defined.
    pub fn is_empty(&self) -> bool {
        self.funcs.is_empty()
    }

    /// True if `name` is defined here.
    pub fn contains(&self, name: &str) -> bool {
        self.funcs.contains_key(name)
    }
}

/// What a running function sees of the template execution that called it.
pub struct Context<'a> {
    pub(crate) set: &'a Templates,
    /// Native recursion levels of the calling execution.
    pub(crate) nesting: usize,
}

impl Context<'_> {
    /// The template set being executed.
    pub fn templates(&self) -> &Templates {
        self.set
    }

    /// Executes the template `name` of the current set with `data` (Helm's `include`),
    /// as a fresh execution like Go's `ExecuteTemplate`: `{{template}}` depth starts
    /// again at 0, only [`super::Options::max_nesting`] keeps counting. The output is
    /// returned as written (`<no value>` is not stripped).
    pub fn execute_template(&mut self, name: &str, data: Value) -> Result<String, Error> {
        self.set.execute_nested(name, data, self.nesting + 1)
    }

    /// Parses `text` into a copy of the current set as a template with the set's root
    /// name and executes it with `data` (Helm's `tpl`: the text sees the caller's
    /// templates, and its own `define`s stay in the copy; an empty or blank text renders
    /// as itself). A fresh execution, as for [`Self::execute_template`]; `<no value>` is
    /// not stripped.
    pub fn execute_text(&mut self, text: &str, data: Value) -> Result<String, Error> {
        self.set.execute_text_nested(text, data, self.nesting + 1)
    }

    /// The next number of the set's seeded random source (for `rand*`, `uuidv4`, …).
    pub fn random_u64(&mut self) -> u64 {
        self.set.random_u64()
    }

    /// The build's clock ([`super::Options::now`]).
    pub fn now(&self) -> super::Clock {
        self.set.options().now
    }
}

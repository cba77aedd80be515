//! A template set: Go's `*template.Template` with its associated templates.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use crunch_gostd::time::Clock;

use super::ast::Tree;
use super::exec;
use super::funcs::{Context, FuncMap, Function, Signature};
use super::parse;
use super::{Error, Value};

/// What a field lookup on a map does when the key is missing (Go's `missingkey=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `missingkey=default`/`invalid`: the result is "no value".
    #[default]
    Invalid,
    /// `missingkey=zero`: the map's zero element (a nil interface), as Helm sets it.
    Zero,
    /// `missingkey=error`: execution stops with `map has no entry for key`.
    Error,
}

/// Execution options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Missing map keys.
    pub missing_key: MissingKey,
    /// Replace `<no value>` with the empty string in [`Templates::execute`]'s output, as
    /// Helm does after rendering each file.
    pub strip_no_value: bool,
    /// Seed of the random source behind Sprig's `rand*`, `uuidv4`, … (reproducible output);
    /// [`Templates::execute_with_seed`] overrides it for one execution.
    pub seed: u64,
    /// Go's limit on `{{template}}` nesting within one execution (`maxExecDepth`,
    /// [`GO_MAX_DEPTH`]). [`Context::execute_template`] and [`Context::execute_text`]
    /// start fresh executions, as Go's `ExecuteTemplate` does, so `include` does not
    /// count towards it.
    pub max_depth: usize,
    /// The instant Sprig's clock functions (`now`, `ago`, `date` without a time, the
    /// validity of generated certificates) read. crunch compiles ahead of time, so the
    /// clock is an input: the Unix epoch unless the embedding program sets it.
    pub now: Clock,
    /// crunch's guard against unbounded recursion, which Go (growing its stacks) does not
    /// need: the most `{{template}}` calls and nested executions (`include`, `tpl`) one
    /// execution may stack. Each level takes up to [`STACK_PER_NESTING`] bytes of native
    /// stack, so run executions on a thread with at least `max_nesting` times that.
    pub max_nesting: usize,
    /// crunch's bound on the work of one [`Templates::execute`], for running templates
    /// nobody vetted (the fuzz target); [`Budget::UNLIMITED`], Go's behaviour, by default.
    pub budget: Budget,
}

/// Limits on one [`Templates::execute`] (with the `include`s and `tpl`s it runs), which
/// Go does not have: without them `{{ range 1000000000 }}` runs for minutes and a template
/// can double a string until memory runs out. Exceeding one is an execution error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The most evaluation steps: nodes walked, `range` iterations and function calls.
    pub max_steps: u64,
    /// The most bytes an execution writes, and the largest result a function may return
    /// (bytes of a string, entries of a list or map).
    pub max_bytes: usize,
}

impl Budget {
    /// No limits, as in Go.
    pub const UNLIMITED: Budget = Budget {
        max_steps: u64::MAX,
        max_bytes: usize::MAX,
    };
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::UNLIMITED
    }
}

/// Go's `text/template` limit on `{{template}}` nesting (`maxExecDepth`).
pub const GO_MAX_DEPTH: usize = 100_000;

/// Native stack one nesting level may take (measured on a debug build with margin; an
/// optimised build needs less). See [`Options::max_nesting`].
pub const STACK_PER_NESTING: usize = 32 << 10;

impl Default for Options {
    /// Go's defaults: `missingkey=default`, output as written, seed 0, the clock at the
    /// Unix epoch in UTC, a nesting guard of 10000 levels (above Helm's 1000 nested
    /// `include`s of one template), and no execution budget.
    fn default() -> Options {
        Options {
            missing_key: MissingKey::Invalid,
            strip_no_value: false,
            seed: 0,
            now: Clock::default(),
            max_depth: GO_MAX_DEPTH,
            max_nesting: 10_000,
            budget: Budget::UNLIMITED,
        }
    }
}

impl Options {
    /// Helm's settings: `missingkey=zero` and `<no value>` stripped.
    pub fn helm() -> Options {
        Options {
            missing_key: MissingKey::Zero,
            strip_no_value: true,
            ..Options::default()
        }
    }
}

/// A set of named templates sharing one function table (Go's `*template.Template`).
/// Cloning is cheap: the parsed trees are shared, and templates parsed into a clone
/// (Helm's `tpl`) go to a small layer of its own.
#[derive(Clone)]
pub struct Templates {
    root: Rc<str>,
    trees: Rc<HashMap<String, Rc<Tree>>>,
    /// Templates parsed after the set was cloned; they shadow `trees`.
    layer: HashMap<String, Rc<Tree>>,
    funcs: Rc<FuncMap>,
    builtins: Rc<FuncMap>,
    options: Options,
    rng: Rc<Cell<u64>>,
    /// Steps the running [`Templates::execute`] has taken ([`Budget::max_steps`]).
    steps: Rc<Cell<u64>>,
}

impl Templates {
    /// An empty set named `root` (the name Go's "no template associated with" error
    /// cites; Helm's is `gotpl`) with the functions `funcs` on top of Go's builtins.
    pub fn new(root: &str, funcs: FuncMap, options: Options) -> Templates {
        Templates {
            root: root.into(),
            trees: Rc::new(HashMap::new()),
            layer: HashMap::new(),
            funcs: Rc::new(funcs),
            builtins: Rc::new(FuncMap::go_builtins()),
            options,
            rng: Rc::new(Cell::new(options.seed)),
            steps: Rc::new(Cell::new(0)),
        }
    }

    /// Parses `text` as the template `name`; its `define`s and `block`s join the set. A
    /// later definition of a name replaces an earlier one unless the later one is empty.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let (main, defined) = self.parse_trees(name, text)?;
        for tree in std::iter::once(main).chain(defined) {
            self.add_unless_empty(Rc::new(tree));
        }
        Ok(())
    }

    fn parse_trees(&self, name: &str, text: &str) -> Result<(Tree, Vec<Tree>), Error> {
        let has_func = |n: &str| self.funcs.contains(n) || self.builtins.contains(n);
        parse::parse(name, text, &has_func)
    }

    /// Adds `tree` unless it is empty and its name is taken (Go's `associate`).
    fn add_unless_empty(&mut self, tree: Rc<Tree>) {
        if !(parse::is_empty(&tree.root) && self.contains(&tree.name)) {
            self.add(tree);
        }
    }

    fn add(&mut self, tree: Rc<Tree>) {
        // A set nobody shares is extended in place; a clone gets its own layer.
        match Rc::get_mut(&mut self.trees) {
            Some(own) => {
                own.insert(tree.name.clone(), tree);
            }
            None => {
                self.layer.insert(tree.name.clone(), tree);
            }
        }
    }

    /// True if the set has a template called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.tree(name).is_some()
    }

    /// The names of the set's templates, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .trees
            .keys()
            .chain(self.layer.keys())
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The execution options.
    pub fn options(&self) -> Options {
        self.options
    }

    /// Executes the template `name` with `data` as dot (Go's `ExecuteTemplate`).
    pub fn execute(&self, name: &str, data: Value) -> Result<String, Error> {
        self.steps.set(0);
        let out = self.execute_nested(name, data, 0)?;
        if self.options.strip_no_value {
            return Ok(out.replace("<no value>", ""));
        }
        Ok(out)
    }

    /// Executes like [`Self::execute`] with the random source reseeded to `seed` first,
    /// so the random values a template draws depend on `seed` alone, not on what ran
    /// before it (Helm derives one seed per template).
    pub fn execute_with_seed(&self, name: &str, data: Value, seed: u64) -> Result<String, Error> {
        self.rng.set(seed);
        self.execute(name, data)
    }

    pub(crate) fn execute_nested(
        &self,
        name: &str,
        data: Value,
        nesting: usize,
    ) -> Result<String, Error> {
        let Some(tree) = self.tree(name) else {
            return Err(Error::new(format!(
                "template: no template {} associated with template {}",
                crunch_gostd::strconv::quote(name),
                crunch_gostd::strconv::quote(&self.root)
            )));
        };
        let mut out = String::new();
        exec::execute(self, tree, data, nesting, &mut out)?;
        Ok(out)
    }

    /// Helm's `tpl` as Go runs it: `Clone` the set, parse `text` into the copy as a new
    /// template with the root's name (`New(root).Parse(text)`), and execute that template
    /// itself. Its `define`s join the copy by the rules of [`Self::parse`]; the text always
    /// takes the root's name there, even when it is empty or blank, since Go's `Clone`
    /// gives that name to the copy's root, which has no tree of its own (Helm never parses
    /// its root) and so keeps nothing out. An empty or blank text thus renders as itself,
    /// never as the `tpl` text that called it.
    pub(crate) fn execute_text_nested(
        &self,
        text: &str,
        data: Value,
        nesting: usize,
    ) -> Result<String, Error> {
        let mut copy = self.clone();
        let (main, defined) = copy.parse_trees(&self.root, text)?;
        for tree in defined {
            copy.add_unless_empty(Rc::new(tree));
        }
        let main = Rc::new(main);
        copy.add(Rc::clone(&main));
        let mut out = String::new();
        exec::execute(&copy, &main, data, nesting, &mut out)?;
        Ok(out)
    }

    pub(crate) fn tree(&self, name: &str) -> Option<&Rc<Tree>> {
        self.layer.get(name).or_else(|| self.trees.get(name))
    }

    /// Finds a function: the set's own table first, then Go's builtins. The flag says
    /// whether the builtin was found (only builtin `and`/`or` short-circuit).
    pub(crate) fn lookup(&self, name: &str) -> Option<(&Signature, &Function, bool)> {
        if let Some((sig, f)) = self.funcs.get(name) {
            return Some((sig, f, false));
        }
        self.builtins.get(name).map(|(sig, f)| (sig, f, true))
    }

    pub(crate) fn context(&self, nesting: usize) -> Context<'_> {
        Context { set: self, nesting }
    }

    /// Counts one step of the running execution; false once [`Budget::max_steps`] is spent.
    pub(crate) fn take_step(&self) -> bool {
        let taken = self.steps.get().saturating_add(1);
        self.steps.set(taken);
        taken <= self.options.budget.max_steps
    }

    /// The next number of the seeded random source (splitmix64).
    pub(crate) fn random_u64(&self) -> u64 {
        let state = self.rng.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.rng.set(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

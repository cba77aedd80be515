//! Fuzz target for crunch's Go `text/template` engine with the Sprig functions: arbitrary
//! text, parsed as templates and executed against a fixed but rich data value, must never
//! panic, overflow the stack, hang or exhaust memory. Parse and execution errors are fine.
//!
//! Input: the first byte selects the data (bits 0–1), `missingkey` (bits 2–3), whether
//! `<no value>` is stripped (bit 4) and the random seed (bits 5–7); the rest, if UTF-8, is split at
//! NUL bytes into template files `t0`, `t1`, …, parsed into one set (so a file can
//! `define` what another calls) and executed in order, as Helm does with a chart's files.
//! An execution budget keeps runaway templates (`{{ range 1000000000 }}`, a string doubled
//! in a loop, unbounded recursion) finite.
#![no_main]

use std::rc::Rc;

use libfuzzer_sys::fuzz_target;

use crunch_template::{
    Budget, FuncMap, List, Map, MapType, MissingKey, Options, STACK_PER_NESTING, Templates, Value,
};

/// The differential corpus's values, as Helm hands them over (`float64` numbers).
const VALUES: &str = include_str!("../../fixtures/template/values.json");

/// Largest string or collection a template may build, and most bytes it may write: large
/// enough for every fixture, small enough that one Sprig call on such values (`replace ""
/// $s $s`) stays far below the RSS limit.
const MAX_BYTES: usize = 1 << 14;

/// Nesting of `{{template}}` calls: far below Helm's, so that recursion fails fast.
const MAX_NESTING: usize = 64;

/// The stack Helm's render thread gets (`helm::engine`): the engine's contract asks for
/// `max_nesting × STACK_PER_NESTING`, and values nested thousands deep (a list wrapped in
/// a list in a loop) take stack to print or copy beyond what template nesting counts.
const RENDER_STACK: usize = 10_000 * STACK_PER_NESTING;

/// Data in Go's own types, beside the `float64` values Helm passes.
fn go_typed() -> Value {
    let inner = Map::new();
    inner.insert("leaf", Value::string("deep"));
    inner.insert("nil", Value::Nil);
    inner.insert("list", Value::List(List::ints(vec![3, -1, 2])));
    let m = Map::new();
    m.insert("int", Value::Int(42));
    m.insert("neg", Value::Int(-7));
    m.insert("max", Value::Int(i64::MAX));
    m.insert("min", Value::Int64(i64::MIN));
    m.insert("int64", Value::Int64(1 << 40));
    m.insert("float", Value::Float(2.5));
    m.insert("nan", Value::Float(f64::NAN));
    m.insert("inf", Value::Float(f64::NEG_INFINITY));
    m.insert("str", Value::string("héllo wörld"));
    m.insert("empty", Value::string(""));
    m.insert("yes", Value::Bool(true));
    m.insert("nil", Value::Nil);
    m.insert(
        "strings",
        Value::List(List::strings(vec!["b".into(), "a".into(), "b".into()])),
    );
    m.insert("bytes", Value::List(List::bytes(b"bytes\xff")));
    m.insert(
        "mixed",
        Value::List(List::new(vec![
            Value::Int(1),
            Value::Float(1.0),
            Value::string("1"),
            Value::Nil,
            Value::Bool(false),
            Value::Map(inner.clone()),
        ])),
    );
    m.insert("inner", Value::Map(inner));
    m.insert(
        "typed",
        Value::Map(Map::new().with_type(Rc::new(MapType::strings()))),
    );
    Value::Map(m)
}

/// The dot of an execution, chosen by `selector`. Built afresh for every input: templates
/// may change maps in place (`set`, `unset`).
fn data(selector: u8) -> Value {
    let values = || {
        let json = serde_json::from_str(VALUES).unwrap_or_default();
        Value::from_json_floats(&json)
    };
    match selector & 3 {
        0 => {
            let top = Map::new();
            let values = match values() {
                Value::Map(m) => Value::Map(m.named("common.Values")),
                other => other,
            };
            top.insert("Values", values);
            top.insert("Go", go_typed());
            Value::Map(top.named("common.Values"))
        }
        1 => go_typed(),
        2 => Value::List(List::new(vec![values(), go_typed(), Value::Nil])),
        _ => Value::Nil,
    }
}

/// The options, chosen by `selector`, with the fuzzing budget.
fn options(selector: u8) -> Options {
    let missing_key = match (selector >> 2) & 3 {
        0 => MissingKey::Invalid,
        1 => MissingKey::Zero,
        _ => MissingKey::Error,
    };
    Options {
        missing_key,
        strip_no_value: selector & 0x10 != 0,
        seed: u64::from(selector >> 5),
        max_depth: MAX_NESTING,
        max_nesting: MAX_NESTING,
        budget: Budget {
            max_steps: 100_000,
            max_bytes: MAX_BYTES,
        },
        ..Options::default()
    }
}

/// Sprig functions whose result grows with an integer argument (`repeat 1000000000 "x"`)
/// allocate before the engine can check the result against the budget, as Go would
/// allocate too. Each is wrapped to refuse arguments that would build more than
/// `MAX_BYTES`; a `repeat` or `indent` length that overflows is left to the real
/// function, which must report it.
fn bounded_funcs() -> FuncMap {
    let mut funcs = FuncMap::sprig();
    let int = |v: &Value| match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    };
    let len = |v: &Value| v.as_str().map_or(0, str::len);
    // Each rule estimates the size of the result from the arguments; None = overflow.
    type Estimate = fn(&[Value], &dyn Fn(&Value) -> i64, &dyn Fn(&Value) -> usize) -> Option<u64>;
    let rules: [(&str, Estimate); 11] = [
        ("repeat", |a, int, len| {
            u64::try_from(int(&a[0]))
                .ok()?
                .checked_mul(len(&a[1]) as u64)
        }),
        ("indent", |a, int, len| indent_size(int(&a[0]), len(&a[1]))),
        ("nindent", |a, int, len| indent_size(int(&a[0]), len(&a[1]))),
        ("until", |a, int, _| Some(int(&a[0]).unsigned_abs())),
        ("untilStep", |a, int, _| {
            Some(count(int(&a[0]), int(&a[1]), int(&a[2])))
        }),
        ("seq", |a, int, _| match a {
            [end] => Some(count(1, int(end), 1)),
            [start, end] => Some(count(int(start), int(end), 1)),
            [start, step, end] => Some(count(int(start), int(end), int(step))),
            _ => Some(0),
        }),
        ("randBytes", |a, int, _| Some(int(&a[0]).unsigned_abs())),
        ("randAlpha", |a, int, _| Some(int(&a[0]).unsigned_abs())),
        ("randAlphaNum", |a, int, _| Some(int(&a[0]).unsigned_abs())),
        ("randAscii", |a, int, _| Some(int(&a[0]).unsigned_abs())),
        ("randNumeric", |a, int, _| Some(int(&a[0]).unsigned_abs())),
    ];
    for (name, estimate) in rules {
        let Some((signature, inner)) = funcs.get(name).cloned() else {
            continue;
        };
        funcs.insert(name, signature.clone(), move |ctx, args| {
            if args.len() < signature.params().len() {
                return inner(ctx, args);
            }
            match estimate(args, &int, &len) {
                Some(size) if size > MAX_BYTES as u64 => {
                    Err(format!("fuzz budget: {name} would build {size} bytes"))
                }
                _ => inner(ctx, args),
            }
        });
    }
    // Key generation and password hashing cost as much on every input (an RSA key, a
    // bcrypt or scrypt round): nothing to find, most of the run lost. The `*WithKey`
    // variants stay: they read the key the template passes.
    for slow in [
        "genPrivateKey",
        "genCA",
        "genSelfSignedCert",
        "genSignedCert",
        "derivePassword",
        "bcrypt",
        "htpasswd",
    ] {
        funcs.remove(slow);
    }
    funcs
}

/// How many numbers lie from `start` towards `stop` in steps of `step` (at most; computed
/// without overflow).
fn count(start: i64, stop: i64, step: i64) -> u64 {
    let span = (i128::from(stop) - i128::from(start)).unsigned_abs();
    let steps = span / i128::from(step).unsigned_abs().max(1);
    u64::try_from(steps).unwrap_or(u64::MAX)
}

/// Sprig's `indent`: the width once per line.
fn indent_size(width: i64, text: usize) -> Option<u64> {
    let lines = text as u64 + 1;
    u64::try_from(width).ok()?.checked_mul(lines)
}

/// Parses the files of `text` into one set and executes each, as Helm renders a chart.
fn render(selector: u8, text: &str) {
    let mut set = Templates::new("gotpl", bounded_funcs(), options(selector));
    let mut parsed = Vec::new();
    for (i, file) in text.split('\0').take(4).enumerate() {
        let name = format!("t{i}");
        if set.parse(&name, file).is_ok() {
            parsed.push(name);
        }
    }
    for name in parsed {
        let _ = set.execute(&name, data(selector));
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    std::thread::scope(|scope| {
        let run = std::thread::Builder::new()
            .stack_size(RENDER_STACK)
            .spawn_scoped(scope, || render(selector, text))
            .expect("spawn the render thread");
        // A panic on the thread is a finding: re-raise it where libFuzzer sees it.
        if let Err(panic) = run.join() {
            std::panic::resume_unwind(panic);
        }
    });
});

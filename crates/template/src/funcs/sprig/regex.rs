//! Sprig's regular-expression functions (Go's RE2 syntax, served by the `regex` crate).

use regex::Regex;

use super::conv::{i, s};
use crate::funcs::{FuncMap, Signature, Type};
use crate::{List, Value};

const S: Type = Type::String;
const I: Type = Type::Int;

/// Compiles like Go's `regexp.MustCompile`, whose panic Sprig's plain functions surface:
/// `regexp: Compile(…): error parsing regexp: …`.
fn compile(expr: &str) -> Result<Regex, String> {
    compile_plain(expr).map_err(|e| format!("regexp: Compile(`{expr}`): {e}"))
}

/// Compiles like Go's `regexp.Compile` (the `mustX` functions return its error).
fn compile_plain(expr: &str) -> Result<Regex, String> {
    Regex::new(expr).map_err(|e| {
        let detail = e.to_string();
        let last = detail.lines().last().unwrap_or_default().trim();
        let last = last.strip_prefix("error: ").unwrap_or(last);
        // Go names the problem and quotes the expression; map the common kinds.
        let code = match last {
            "unclosed group" => "missing closing )",
            "unopened group" => "unexpected )",
            "unclosed character class" => "missing closing ]",
            "repetition operator missing expression" => "missing argument to repetition operator",
            "incomplete escape sequence, reached end of pattern prematurely" => {
                "trailing backslash at end of expression"
            }
            other => other,
        };
        format!("error parsing regexp: {code}: `{expr}`")
    })
}

/// How a function compiles its expression.
type Compile = fn(&str) -> Result<Regex, String>;

/// Registers `name` (Sprig panics through `regexp.MustCompile` on a bad expression) and
/// `mustName` (which returns `regexp.Compile`'s error).
fn both(
    m: &mut FuncMap,
    name: &str,
    sig: Signature,
    body: fn(&[Value], Compile) -> Result<Value, String>,
) {
    m.insert(name, sig.clone(), move |_, a| body(a, compile));
    let must = format!("must{}{}", name[..1].to_uppercase(), &name[1..]);
    m.insert(&must, sig, move |_, a| body(a, compile_plain));
}

/// Go's `FindAllString` limit: n < 0 means all.
fn limit(n: i64) -> usize {
    if n < 0 { usize::MAX } else { n as usize }
}

pub(super) fn install(m: &mut FuncMap) {
    m.insert("regexMatch", Signature::new(&[S, S]), |_, a| {
        Ok(Value::Bool(
            compile(s(&a[0])).is_ok_and(|re| re.is_match(s(&a[1]))),
        ))
    });
    m.insert("mustRegexMatch", Signature::new(&[S, S]), |_, a| {
        Ok(Value::Bool(compile_plain(s(&a[0]))?.is_match(s(&a[1]))))
    });
    both(m, "regexFind", Signature::new(&[S, S]), |a, compile| {
        let re = compile(s(&a[0]))?;
        Ok(re.find(s(&a[1])).map_or("", |m| m.as_str()).into())
    });
    both(
        m,
        "regexFindAll",
        Signature::new(&[S, S, I]),
        |a, compile| {
            let re = compile(s(&a[0]))?;
            let found = re
                .find_iter(s(&a[1]))
                .take(limit(i(&a[2])))
                .map(|m| m.as_str().to_string())
                .collect();
            Ok(Value::List(List::strings(found)))
        },
    );
    both(
        m,
        "regexReplaceAll",
        Signature::new(&[S, S, S]),
        |a, compile| {
            let re = compile(s(&a[0]))?;
            Ok(re.replace_all(s(&a[1]), s(&a[2])).into_owned().into())
        },
    );
    both(
        m,
        "regexReplaceAllLiteral",
        Signature::new(&[S, S, S]),
        |a, compile| {
            let re = compile(s(&a[0]))?;
            Ok(re
                .replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                .into_owned()
                .into())
        },
    );
    both(m, "regexSplit", Signature::new(&[S, S, I]), |a, compile| {
        let re = compile(s(&a[0]))?;
        Ok(Value::List(List::strings(split(&re, s(&a[1]), i(&a[2])))))
    });
    m.insert("regexQuoteMeta", Signature::new(&[S]), |_, a| {
        Ok(regex::escape(s(&a[0])).into())
    });
}

/// Go's `Regexp.Split`.
fn split(re: &Regex, text: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !re.as_str().is_empty() && text.is_empty() {
        return vec![String::new()];
    }
    let mut parts = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in re.find_iter(text).take(limit(n)) {
        if n > 0 && parts.len() as i64 == n - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            parts.push(text[beg..end].to_string());
        }
        beg = m.end();
    }
    if end != text.len() {
        parts.push(text[beg..].to_string());
    }
    parts
}

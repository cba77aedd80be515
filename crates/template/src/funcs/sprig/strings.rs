//! Sprig's string functions.

use std::rc::Rc;

use super::case::{lower, to_lower_case, to_pascal_case, upper};
use super::conv::{i, s, strslice, strval};
use crate::funcs::{FuncMap, Signature, Type};
use crate::{List, Map, MapType, Value};
use crunch_gostd::strconv::quote;

const A: Type = Type::Any;
const S: Type = Type::String;
const I: Type = Type::Int;

fn sig(p: &[Type]) -> Signature {
    Signature::new(p)
}

/// Go's byte-range slicing error, as the runtime words the panic.
fn bounds(lo: usize, hi: usize, len: usize) -> String {
    if hi > len {
        format!("runtime error: slice bounds out of range [:{hi}] with length {len}")
    } else {
        format!("runtime error: slice bounds out of range [{lo}:{hi}]")
    }
}

/// `s[lo:hi]` on bytes, as Go slices a string (invalid UTF-8 cuts become U+FFFD).
fn byte_slice(text: &str, lo: usize, hi: usize) -> Result<String, String> {
    if lo > hi || hi > text.len() {
        return Err(bounds(lo, hi, text.len()));
    }
    Ok(String::from_utf8_lossy(&text.as_bytes()[lo..hi]).into_owned())
}

pub(super) fn install(m: &mut FuncMap) {
    m.insert("upper", sig(&[S]), |_, a| {
        Ok(s(&a[0]).chars().map(upper).collect::<String>().into())
    });
    m.insert("lower", sig(&[S]), |_, a| {
        Ok(s(&a[0]).chars().map(lower).collect::<String>().into())
    });
    m.insert("title", sig(&[S]), |_, a| Ok(title(s(&a[0])).into()));
    m.insert("untitle", sig(&[S]), |_, a| Ok(untitle(s(&a[0])).into()));
    m.insert("trim", sig(&[S]), |_, a| {
        Ok(s(&a[0]).trim_matches(char::is_whitespace).into())
    });
    for name in ["trimAll", "trimall"] {
        m.insert(name, sig(&[S, S]), |_, a| {
            let cut: Vec<char> = s(&a[0]).chars().collect();
            Ok(s(&a[1]).trim_matches(cut.as_slice()).into())
        });
    }
    m.insert("trimSuffix", sig(&[S, S]), |_, a| {
        let (suf, t) = (s(&a[0]), s(&a[1]));
        Ok(t.strip_suffix(suf).unwrap_or(t).into())
    });
    m.insert("trimPrefix", sig(&[S, S]), |_, a| {
        let (pre, t) = (s(&a[0]), s(&a[1]));
        Ok(t.strip_prefix(pre).unwrap_or(t).into())
    });
    m.insert("nospace", sig(&[S]), |_, a| {
        Ok(s(&a[0])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .into())
    });
    m.insert("contains", sig(&[S, S]), |_, a| {
        Ok(Value::Bool(s(&a[1]).contains(s(&a[0]))))
    });
    m.insert("hasPrefix", sig(&[S, S]), |_, a| {
        Ok(Value::Bool(s(&a[1]).starts_with(s(&a[0]))))
    });
    m.insert("hasSuffix", sig(&[S, S]), |_, a| {
        Ok(Value::Bool(s(&a[1]).ends_with(s(&a[0]))))
    });
    m.insert("quote", Signature::variadic(&[], A), |_, a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| quote(&strval(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    m.insert("squote", Signature::variadic(&[], A), |_, a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format!("'{}'", strval(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    m.insert("cat", Signature::variadic(&[], A), |_, a| {
        let kept: Vec<Value> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .cloned()
            .collect();
        let format = "%v ".repeat(kept.len());
        Ok(crate::fmt::sprintf(format.trim(), &kept).into())
    });
    m.insert("indent", sig(&[I, S]), |_, a| {
        Ok(indent(i(&a[0]), s(&a[1]))?.into())
    });
    m.insert("nindent", sig(&[I, S]), |_, a| {
        Ok(format!("\n{}", indent(i(&a[0]), s(&a[1]))?).into())
    });
    m.insert("replace", sig(&[S, S, S]), |_, a| {
        Ok(go_replace(s(&a[2]), s(&a[0]), s(&a[1])).into())
    });
    m.insert("repeat", sig(&[I, S]), |_, a| {
        let n = i(&a[0]);
        if n < 0 {
            return Err("strings: negative Repeat count".into());
        }
        let text = s(&a[1]);
        // Go's limit: the length must fit an int (Rust's `repeat` would panic).
        if (text.len() as u64)
            .checked_mul(n as u64)
            .is_none_or(|len| len > i64::MAX as u64)
        {
            return Err("strings: Repeat output length overflow".into());
        }
        Ok(text.repeat(n as usize).into())
    });
    m.insert("substr", sig(&[I, I, S]), |_, a| {
        let (start, end, text) = (i(&a[0]), i(&a[1]), s(&a[2]));
        let len = text.len() as i64;
        if start < 0 {
            if end < 0 {
                return Err(format!("runtime error: slice bounds out of range [:{end}]"));
            }
            return byte_slice(text, 0, end as usize).map(Value::from);
        }
        if end < 0 || end > len {
            if start > len {
                return Err(format!(
                    "runtime error: slice bounds out of range [{start}:{len}]"
                ));
            }
            return byte_slice(text, start as usize, text.len()).map(Value::from);
        }
        byte_slice(text, start as usize, end as usize).map(Value::from)
    });
    m.insert("trunc", sig(&[I, S]), |_, a| {
        let (c, text) = (i(&a[0]), s(&a[1]));
        let len = text.len() as i64;
        if c < 0 && len + c > 0 {
            return byte_slice(text, (len + c) as usize, text.len()).map(Value::from);
        }
        if c >= 0 && len > c {
            return byte_slice(text, 0, c as usize).map(Value::from);
        }
        Ok(text.into())
    });
    m.insert("abbrev", sig(&[I, S]), |_, a| {
        let (w, text) = (i(&a[0]), s(&a[1]));
        if w < 4 || text.chars().count() as i64 <= w {
            return Ok(text.into());
        }
        let head: String = text.chars().take(w as usize - 3).collect();
        Ok(format!("{head}...").into())
    });
    m.insert("initials", sig(&[S]), |_, a| {
        Ok(s(&a[0])
            .split_whitespace()
            .filter_map(|w| w.chars().next())
            .collect::<String>()
            .into())
    });
    m.insert("plural", sig(&[S, S, I]), |_, a| {
        Ok(if i(&a[2]) == 1 {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    m.insert("toString", sig(&[A]), |_, a| Ok(strval(&a[0]).into()));
    m.insert("toStrings", sig(&[A]), |_, a| {
        Ok(Value::List(List::strings(strslice(&a[0]))))
    });
    m.insert("join", sig(&[S, A]), |_, a| {
        Ok(strslice(&a[1]).join(s(&a[0])).into())
    });
    m.insert("splitList", sig(&[S, S]), |_, a| {
        Ok(Value::List(List::strings(go_split(s(&a[1]), s(&a[0]), -1))))
    });
    m.insert("split", sig(&[S, S]), |_, a| {
        Ok(indexed_parts(go_split(s(&a[1]), s(&a[0]), -1)))
    });
    m.insert("splitn", sig(&[S, I, S]), |_, a| {
        Ok(indexed_parts(go_split(s(&a[2]), s(&a[0]), i(&a[1]))))
    });
    m.insert("sortAlpha", sig(&[A]), |_, a| {
        let mut items = match &a[0] {
            Value::List(_) => strslice(&a[0]),
            other => vec![strval(other)],
        };
        items.sort();
        Ok(Value::List(List::strings(items)))
    });
    m.insert("snakecase", sig(&[S]), |_, a| {
        Ok(to_lower_case(s(&a[0]), '_').into())
    });
    m.insert("kebabcase", sig(&[S]), |_, a| {
        Ok(to_lower_case(s(&a[0]), '-').into())
    });
    m.insert("camelcase", sig(&[S]), |_, a| {
        Ok(to_pascal_case(s(&a[0])).into())
    });
    m.insert("swapcase", sig(&[S]), |_, a| {
        Ok(s(&a[0])
            .chars()
            .map(|c| if c.is_uppercase() { lower(c) } else { upper(c) })
            .collect::<String>()
            .into())
    });
    m.insert("wrap", sig(&[I, S]), |_, a| {
        Ok(wrap(s(&a[1]), i(&a[0]), "\n").into())
    });
    m.insert("wrapWith", sig(&[I, S, S]), |_, a| {
        Ok(wrap(s(&a[2]), i(&a[0]), s(&a[1])).into())
    });
}

fn indent(spaces: i64, text: &str) -> Result<String, String> {
    if spaces < 0 {
        return Err("strings: negative Repeat count".into());
    }
    let pad = " ".repeat(spaces as usize);
    Ok(format!("{pad}{}", text.replace('\n', &format!("\n{pad}"))))
}

/// Go's `strings.Replace(s, old, new, -1)`: an empty `old` matches between every rune.
fn go_replace(text: &str, old: &str, new: &str) -> String {
    if !old.is_empty() {
        return text.replace(old, new);
    }
    let mut out = String::from(new);
    for c in text.chars() {
        out.push(c);
        out.push_str(new);
    }
    out
}

/// Go's `strings.SplitN` (n < 0: all). An empty separator splits into runes.
fn go_split(text: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = text.chars().map(String::from).collect();
        if n > 0 && chars.len() > n as usize {
            let head = &chars[..n as usize - 1];
            let tail: String = chars[n as usize - 1..].concat();
            return head.iter().cloned().chain([tail]).collect();
        }
        return chars;
    }
    if n < 0 {
        return text.split(sep).map(String::from).collect();
    }
    text.splitn(n as usize, sep).map(String::from).collect()
}

/// Sprig's `split` result: a `map[string]string` `{_0: …, _1: …}`.
fn indexed_parts(parts: Vec<String>) -> Value {
    let map = Map::new();
    for (k, p) in parts.into_iter().enumerate() {
        map.insert(format!("_{k}"), Value::from(p));
    }
    Value::Map(map.with_type(Rc::new(MapType::strings())))
}

/// Go's deprecated `strings.Title`: upper-cases the first letter of every word.
fn title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_sep = true;
    for c in text.chars() {
        if prev_sep {
            out.push(upper(c));
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_');
    }
    out
}

/// goutils' `Uncapitalize` (space-delimited words).
fn untitle(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_space = true;
    for c in text.chars() {
        if prev_space {
            out.push(lower(c));
        } else {
            out.push(c);
        }
        prev_space = c.is_whitespace();
    }
    out
}

/// goutils' `WrapCustom` with long words left unbroken.
fn wrap(text: &str, width: i64, newline: &str) -> String {
    let width = width.max(1) as usize;
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines.join(newline)
}

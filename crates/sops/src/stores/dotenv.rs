//! SOPS's dotenv store: `KEY=value` lines (`\n` escapes a line break), `#` comment
//! lines, and the metadata flattened into `sops_…` keys (`stores/flatten.go`).

use serde_json::Value as Json;

use crate::error::Error;
use crate::tree::{Comment, Item, Key, Value};

/// Reads the lines into one branch.
pub(crate) fn read(input: &[u8]) -> Result<Vec<Item>, Error> {
    let text = String::from_utf8_lossy(input);
    let mut branch = Vec::new();
    for line in text.split('\n') {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            branch.push(Item {
                key: Key::Comment(Comment {
                    text: comment.to_owned(),
                    inline: false,
                }),
                value: Value::Null,
            });
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| Error::Syntax {
            format: "dotenv",
            reason: format!("invalid dotenv input line: {line}"),
        })?;
        branch.push(Item {
            key: Key::Str(key.to_owned()),
            value: Value::Str(value.replace("\\n", "\n")),
        });
    }
    Ok(branch)
}

/// Takes the `sops_…` entries out of the branch and unflattens them into the metadata
/// mapping (`__map_` and `__list_` separate the levels).
pub(crate) fn take_metadata(branch: &mut Vec<Item>) -> Result<Option<Json>, Error> {
    let mut found = false;
    let mut root = Json::Object(serde_json::Map::new());
    let mut kept = Vec::with_capacity(branch.len());
    for item in branch.drain(..) {
        let flat = match &item.key {
            Key::Str(k) => k.strip_prefix("sops_").map(str::to_owned),
            Key::Comment(_) => None,
        };
        let Some(flat) = flat else {
            kept.push(item);
            continue;
        };
        found = true;
        let value = match item.value {
            Value::Str(s) => Json::String(s),
            _ => Json::Null,
        };
        place(&mut root, &tokenize(&flat), value)?;
    }
    *branch = kept;
    Ok(found.then_some(root))
}

#[derive(Debug)]
enum Token {
    Map(String),
    List(usize),
}

fn tokenize(path: &str) -> Vec<Token> {
    const MAP: &str = "__map_";
    const LIST: &str = "__list_";
    let mut tokens = Vec::new();
    let mut rest = path;
    let mut kind = None::<bool>;
    loop {
        let next_map = rest.find(MAP);
        let next_list = rest.find(LIST);
        let (end, next) = match (next_map, next_list) {
            (Some(m), Some(l)) if l < m => (l, Some(false)),
            (Some(m), _) => (m, Some(true)),
            (None, Some(l)) => (l, Some(false)),
            (None, None) => (rest.len(), None),
        };
        let part = &rest[..end];
        tokens.push(match kind {
            Some(false) => Token::List(part.parse().unwrap_or(0)),
            _ => Token::Map(part.to_owned()),
        });
        match next {
            Some(is_map) => {
                rest = &rest[end + if is_map { MAP.len() } else { LIST.len() }..];
                kind = Some(is_map);
            }
            None => return tokens,
        }
    }
}

fn place(root: &mut Json, path: &[Token], value: Json) -> Result<(), Error> {
    let mismatch = || Error::Metadata("flattened metadata keys do not form a tree".into());
    let Some((first, rest)) = path.split_first() else {
        *root = value;
        return Ok(());
    };
    let child = match first {
        Token::Map(key) => {
            if root.is_null() {
                *root = Json::Object(serde_json::Map::new());
            }
            root.as_object_mut()
                .ok_or_else(mismatch)?
                .entry(key.clone())
                .or_insert(Json::Null)
        }
        Token::List(index) => {
            if root.is_null() {
                *root = Json::Array(Vec::new());
            }
            let list = root.as_array_mut().ok_or_else(mismatch)?;
            if *index > 4096 {
                return Err(mismatch());
            }
            if list.len() <= *index {
                list.resize(index + 1, Json::Null);
            }
            &mut list[*index]
        }
    };
    place(child, rest, value)
}

/// The plaintext as SOPS's dotenv store writes it.
pub(crate) fn emit(branch: &[Item]) -> Result<String, Error> {
    let mut out = String::new();
    for item in branch {
        match &item.key {
            Key::Comment(c) => {
                out.push('#');
                out.push_str(&c.text);
                out.push('\n');
            }
            Key::Str(key) => {
                let value = match &item.value {
                    Value::Str(s) => s.replace('\n', "\\n"),
                    Value::Map(_) | Value::Seq(_) => {
                        return Err(Error::Emit {
                            format: "dotenv",
                            reason: format!(
                                "cannot use complex value in dotenv file; offending key {key}"
                            ),
                        });
                    }
                    other => val_to_string(other),
                };
                out.push_str(key);
                out.push('=');
                out.push_str(&value);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// SOPS's `ValToString`.
pub(crate) fn val_to_string(value: &Value) -> String {
    match value {
        Value::Float(f) => {
            let g = crunch_gostd::strconv::format_float(*f, 'G', -1, 64);
            if g.contains('.') || g.contains('E') {
                g
            } else {
                crunch_gostd::strconv::format_float(*f, 'f', 1, 64)
            }
        }
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => s.clone(),
        Value::Null => "<nil>".to_owned(),
        Value::Comment(c) => format!("{{{} {}}}", c.text, c.inline),
        Value::Map(_) | Value::Seq(_) => String::new(),
    }
}

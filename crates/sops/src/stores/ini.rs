//! SOPS's INI store (`stores/ini/store.go` on `gopkg.in/ini.v1` with its default
//! options): each section is a branch of string values, the `[sops]` section holds the
//! flattened metadata with line breaks escaped as `\n`, and comments are the ones
//! `ini.v1` keeps (above a section, above a key).

use serde_json::Value as Json;

use super::dotenv::val_to_string;
use super::flatten;
use crate::error::Error;
use crate::tree::{Comment, Item, Key, Value};

/// `ini.v1`'s name of the section that holds keys written before any header.
const DEFAULT_SECTION: &str = "DEFAULT";

fn syntax(line: usize, reason: impl std::fmt::Display) -> Error {
    Error::Syntax {
        format: "INI",
        reason: format!("line {line}: {reason}"),
    }
}

/// A section being read: name, comment, keys in order.
struct Section {
    name: String,
    comment: String,
    keys: Vec<(String, String, String)>,
}

/// SOPS's `stripCommentChar`.
fn strip_comment_char(comment: &str) -> String {
    if comment.starts_with(';') {
        comment.trim_start_matches([';', ' ']).to_owned()
    } else if comment.starts_with('#') {
        comment.trim_start_matches(['#', ' ']).to_owned()
    } else {
        comment.to_owned()
    }
}

/// `ini.v1`'s `readValue`: a value quoted with `"""` or `` ` `` may go on over the
/// next lines (taken from `lines`) up to its closing quote.
fn read_value<'a>(
    raw: &str,
    line: usize,
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
) -> Result<String, Error> {
    let value = raw.trim_start();
    if value.is_empty() {
        return Ok(String::new());
    }
    for quote in ["\"\"\"", "`"] {
        if let Some(rest) = value.strip_prefix(quote)
            && (quote == "`" || value.len() > 3)
        {
            if let Some(end) = rest.rfind(quote) {
                return Ok(rest[..end].to_owned());
            }
            let mut joined = format!("{rest}\n");
            for (_, next) in lines.by_ref() {
                if let Some(end) = next.rfind(quote) {
                    joined.push_str(&next[..end]);
                    return Ok(joined);
                }
                joined.push_str(next);
                joined.push('\n');
            }
            return Err(syntax(
                line,
                format!("missing closing key quote from {value:?}"),
            ));
        }
    }
    let mut value = value.trim();
    if let Some(at) = value.find(['#', ';']) {
        value = value[..at].trim();
    }
    let surrounded = |q: char| value.len() >= 2 && value.starts_with(q) && value.ends_with(q);
    if surrounded('"') || surrounded('\'') {
        value = &value[1..value.len() - 1];
    }
    Ok(value.to_owned())
}

/// `ini.v1`'s key name: quoted with `"`/`` ` `` or up to the first `=` or `:`.
fn read_key(line: &str, number: usize) -> Result<(String, &str), Error> {
    for quote in ["\"\"\"", "`", "\""] {
        if let Some(rest) = line.strip_prefix(quote) {
            let end = rest
                .find(quote)
                .ok_or_else(|| syntax(number, "missing closing key quote"))?;
            let after = rest[end + quote.len()..].trim_start();
            let value = after
                .strip_prefix(['=', ':'])
                .ok_or_else(|| syntax(number, "key-value delimiter not found"))?;
            return Ok((rest[..end].to_owned(), value));
        }
    }
    let at = line
        .find(['=', ':'])
        .ok_or_else(|| syntax(number, format!("key-value delimiter not found: {line}")))?;
    Ok((line[..at].trim_end().to_owned(), &line[at + 1..]))
}

/// Reads the sections (the `DEFAULT` one first) into one branch of branches.
pub(crate) fn read(input: &[u8]) -> Result<Vec<Item>, Error> {
    let text = String::from_utf8_lossy(input);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut sections = vec![Section {
        name: DEFAULT_SECTION.to_owned(),
        comment: String::new(),
        keys: Vec::new(),
    }];
    let mut comment = String::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((number, raw)) = lines.next() {
        let line = raw.trim_start();
        if line.is_empty() {
            continue;
        }
        if line.starts_with(['#', ';']) {
            if !comment.is_empty() {
                comment.push('\n');
            }
            comment.push_str(line.trim_end());
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let close = header
                .rfind(']')
                .ok_or_else(|| syntax(number, format!("unclosed section: {line}")))?;
            let name = header[..close].trim();
            if name.is_empty() {
                return Err(syntax(number, "empty section name"));
            }
            sections.push(Section {
                name: name.to_owned(),
                comment: std::mem::take(&mut comment),
                keys: Vec::new(),
            });
            continue;
        }
        let (key, raw_value) = read_key(line, number)?;
        let value = read_value(raw_value, number, &mut lines)?;
        let key_comment = std::mem::take(&mut comment);
        let section = sections
            .last_mut()
            .ok_or_else(|| syntax(number, "no section"))?;
        // A repeated key keeps its place and takes the later value (no shadows).
        match section.keys.iter_mut().find(|(k, _, _)| *k == key) {
            Some(existing) => {
                existing.1 = value;
                existing.2 = key_comment;
            }
            None => section.keys.push((key, value, key_comment)),
        }
    }
    Ok(sections
        .into_iter()
        .map(|section| {
            let mut items = Vec::new();
            if !section.comment.is_empty() {
                items.push(comment_item(&section.comment));
            }
            for (key, value, comment) in section.keys {
                items.push(Item {
                    key: Key::Str(key),
                    value: Value::Str(value),
                });
                if !comment.is_empty() {
                    items.push(comment_item(&comment));
                }
            }
            Item {
                key: Key::Str(section.name),
                value: Value::Map(items),
            }
        })
        .collect())
}

fn comment_item(comment: &str) -> Item {
    Item {
        key: Key::Comment(Comment {
            text: strip_comment_char(comment),
            inline: false,
        }),
        value: Value::Null,
    }
}

/// Takes the `[sops]` section out and unflattens it (`\n` escapes unescaped).
pub(crate) fn take_metadata(branch: &mut Vec<Item>) -> Result<Option<Json>, Error> {
    let Some(at) = branch
        .iter()
        .position(|item| matches!(&item.key, Key::Str(k) if k == "sops"))
    else {
        return Ok(None);
    };
    let Value::Map(items) = branch.remove(at).value else {
        return Err(Error::Metadata("[sops] is not a section".into()));
    };
    let entries: Vec<(String, String)> = items
        .into_iter()
        .filter_map(|item| match (item.key, item.value) {
            (Key::Str(k), Value::Str(v)) => Some((k, v.replace("\\n", "\n"))),
            _ => None,
        })
        .collect();
    flatten::unflatten(&entries).map(Some)
}

/// `ini.v1`'s comment lines: `; ` added unless a line starts with `#` or `;`.
fn write_comment(out: &mut String, comment: &str) {
    for line in comment.split('\n') {
        match line.chars().next() {
            Some(c @ ('#' | ';')) => {
                out.push(c);
                out.push(' ');
                out.push_str(line[1..].trim());
            }
            _ => {
                out.push_str("; ");
                out.push_str(line);
            }
        }
        out.push('\n');
    }
}

/// The plaintext as SOPS's INI store writes it (`ini.v1`'s `WriteTo` with its pretty
/// defaults: `=` aligned within a section, a blank line between sections).
pub(crate) fn emit(branch: &[Item]) -> Result<String, Error> {
    let failure = |reason: String| Error::Emit {
        format: "INI",
        reason,
    };
    let mut sections = Vec::new();
    for item in branch {
        let Key::Str(name) = &item.key else { continue };
        let Value::Map(items) = &item.value else {
            return Err(failure(
                "Error encoding section: Section values should always be TreeBranches".into(),
            ));
        };
        let mut comment = String::new();
        let mut rest = &items[..];
        if let Some((first, after)) = items.split_first()
            && let Key::Comment(c) = &first.key
        {
            comment.clone_from(&c.text);
            rest = after;
        }
        let mut keys: Vec<(String, String, String)> = Vec::new();
        for entry in rest {
            match &entry.key {
                Key::Comment(c) => {
                    if let Some(last) = keys.last_mut() {
                        last.2.clone_from(&c.text);
                    }
                }
                Key::Str(key) => {
                    if matches!(entry.value, Value::Map(_) | Value::Seq(_)) {
                        return Err(failure(format!(
                            "cannot write the nested value of {name}.{key} in INI"
                        )));
                    }
                    let value = val_to_string(&entry.value);
                    match keys.iter_mut().find(|(k, _, _)| k == key) {
                        Some(existing) => existing.1 = value,
                        None => keys.push((key.clone(), value, String::new())),
                    }
                }
            }
        }
        sections.push((name.clone(), comment, keys));
    }
    let mut out = String::new();
    let mut written = 0;
    for (index, (name, comment, keys)) in sections.iter().enumerate() {
        let default_without_header = index == 0 && name.to_uppercase() == DEFAULT_SECTION;
        if default_without_header && keys.is_empty() {
            continue;
        }
        if written > 0 {
            out.push('\n');
        }
        written += 1;
        if !comment.is_empty() {
            write_comment(&mut out, comment);
        }
        if !default_without_header {
            out.push('[');
            out.push_str(name);
            out.push_str("]\n");
        }
        let quoted = |key: &str| {
            if key.contains('"') || key.contains(['=', ':']) {
                format!("`{key}`")
            } else if key.contains('`') {
                format!("\"\"\"{key}\"\"\"")
            } else {
                key.to_owned()
            }
        };
        let align = keys
            .iter()
            .map(|(k, _, _)| quoted(k).len())
            .max()
            .unwrap_or(0);
        for (key, value, comment) in keys {
            if !comment.is_empty() {
                write_comment(&mut out, comment);
            }
            let key = quoted(key);
            out.push_str(&key);
            out.push_str(&" ".repeat(align - key.len()));
            out.push_str(" = ");
            if value.contains(['\n', '`']) {
                out.push_str(&format!("\"\"\"{value}\"\"\""));
            } else if value.contains(['#', ';']) {
                out.push_str(&format!("`{value}`"));
            } else if value.trim().len() != value.len() {
                out.push_str(&format!("\"{value}\""));
            } else {
                out.push_str(value);
            }
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keys_and_comments_as_ini_v1_reads_and_writes_them() {
        let text = "top = level\n; about a\n[a]\nshort = 1 ; inline\n# about long\nlonger_key = \"  padded  \"\n\n[b]\nq = `x;y`\n";
        let branch = read(text.as_bytes()).unwrap();
        let names: Vec<_> = branch
            .iter()
            .map(|i| match &i.key {
                Key::Str(k) => k.as_str(),
                Key::Comment(_) => "#",
            })
            .collect();
        assert_eq!(names, ["DEFAULT", "a", "b"]);
        assert_eq!(
            emit(&branch).unwrap(),
            // SOPS keeps a comment without its `#` or `;`, so ini.v1 writes it with `;`.
            "top = level\n\n; about a\n[a]\nshort      = 1\n; about long\nlonger_key = \"  padded  \"\n\n[b]\nq = `x;y`\n"
        );
        assert!(read(b"[a]\nno delimiter\n").is_err());
        // Multi-line values (SOPS writes PGP messages so) and their re-quoting.
        let multi = read(b"[s]\nk = \"\"\"one\n\ntwo\"\"\"\nn = 1\n").unwrap();
        assert_eq!(
            emit(&multi).unwrap(),
            "[s]\nk = \"\"\"one\n\ntwo\"\"\"\nn = 1\n"
        );
        assert!(read(b"[s]\nk = `open\n").is_err());
    }
}

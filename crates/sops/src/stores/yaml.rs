//! SOPS's YAML store (`stores/yaml/store.go`): go-yaml v3 nodes to the tree, comments
//! included as tree items, and back to nodes written with `SetIndent(4)`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crunch_yaml::tree::{self, Decoded, Kind, Node};

use crate::error::Error;
use crate::tree::{Comment, Item, Key, Value};

fn syntax(reason: impl Into<String>) -> Error {
    Error::Syntax {
        format: "YAML",
        reason: reason.into(),
    }
}

fn comment_lines(comment: &str, inline: bool) -> impl Iterator<Item = Comment> + '_ {
    comment
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(move |l| Comment {
            text: l.get(1..).unwrap_or_default().to_owned(),
            inline,
        })
}

fn push_map_comments(branch: &mut Vec<Item>, comment: &str, inline: bool) {
    branch.extend(comment_lines(comment, inline).map(|c| Item {
        key: Key::Comment(c),
        value: Value::Null,
    }));
}

fn push_list_comments(list: &mut Vec<Value>, comment: &str, inline: bool) {
    list.extend(comment_lines(comment, inline).map(Value::Comment));
}

fn scalar(node: &Node) -> Result<Value, Error> {
    let Kind::Scalar(s) = &node.kind else {
        return Err(syntax("expected a scalar"));
    };
    Ok(match s.decode().map_err(syntax)? {
        Decoded::Null => Value::Null,
        Decoded::Bool(b) => Value::Bool(b),
        Decoded::Int(i) => Value::Int(i),
        Decoded::Uint(u) => {
            return Err(syntax(format!(
                "line {}: Cannot walk value, unknown type: uint64 ({u})",
                node.line
            )));
        }
        Decoded::Float(f) => Value::Float(f),
        Decoded::Timestamp(t) => Value::Time(t),
        Decoded::Binary(b) => match String::from_utf8(b) {
            Ok(text) => Value::Str(text),
            Err(e) => Value::Bytes(e.into_bytes()),
        },
        Decoded::Str(s) => Value::Str(s),
    })
}

/// `nodeToTreeValue`.
fn value(node: &Node, handled: bool) -> Result<Value, Error> {
    match &node.kind {
        Kind::Sequence(items) => {
            let mut list = Vec::new();
            if !handled {
                push_list_comments(&mut list, &node.head_comment, false);
                push_list_comments(&mut list, &node.line_comment, false);
            }
            for item in items {
                push_list_comments(&mut list, &item.head_comment, false);
                push_list_comments(&mut list, &item.line_comment, true);
                list.push(value(item, true)?);
                push_list_comments(&mut list, &item.foot_comment, false);
            }
            if !handled {
                push_list_comments(&mut list, &node.foot_comment, false);
            }
            Ok(Value::Seq(list))
        }
        Kind::Mapping(_) => Ok(Value::Map(branch(node, Vec::new(), handled)?)),
        Kind::Scalar(_) => scalar(node),
    }
}

/// `appendYamlNodeToTreeBranch`.
fn branch(node: &Node, mut items: Vec<Item>, handled: bool) -> Result<Vec<Item>, Error> {
    if !handled {
        push_map_comments(&mut items, &node.head_comment, false);
        push_map_comments(&mut items, &node.line_comment, false);
    }
    match &node.kind {
        Kind::Sequence(_) => {
            return Err(syntax(
                "YAML documents that are sequences are not supported",
            ));
        }
        Kind::Scalar(_) => {
            if scalar(node)? != Value::Null {
                return Err(syntax("YAML documents that are values are not supported"));
            }
        }
        Kind::Mapping(pairs) => {
            for (key, val) in pairs {
                push_map_comments(&mut items, &key.head_comment, false);
                push_map_comments(&mut items, &key.line_comment, false);
                let handle = matches!(val.kind, Kind::Scalar(_));
                if handle {
                    push_map_comments(&mut items, &val.head_comment, false);
                    push_map_comments(&mut items, &val.line_comment, true);
                }
                let Value::Str(name) = scalar(key)? else {
                    return Err(syntax(format!(
                        "line {}: Tree contains a non-string key; only string keys are supported",
                        key.line
                    )));
                };
                items.push(Item {
                    key: Key::Str(name),
                    value: value(val, handle)?,
                });
                if handle {
                    push_map_comments(&mut items, &val.foot_comment, false);
                }
                push_map_comments(&mut items, &key.foot_comment, false);
            }
        }
    }
    if !handled {
        push_map_comments(&mut items, &node.foot_comment, false);
    }
    Ok(items)
}

/// go-yaml v3 decoding into a Go map refuses a key repeated in one mapping; SOPS first
/// decodes the (first) document so.
fn check_unique_keys(node: &Node) -> Result<(), Error> {
    match &node.kind {
        Kind::Scalar(_) => Ok(()),
        Kind::Sequence(items) => items.iter().try_for_each(check_unique_keys),
        Kind::Mapping(pairs) => {
            for (i, (key, value)) in pairs.iter().enumerate() {
                if let Kind::Scalar(k) = &key.kind
                    && let Some((earlier, _)) = pairs[..i]
                        .iter()
                        .find(|(e, _)| matches!(&e.kind, Kind::Scalar(s) if s.text == k.text))
                {
                    return Err(syntax(format!(
                        "line {}: mapping key {:?} already defined at line {}",
                        key.line, k.text, earlier.line
                    )));
                }
                check_unique_keys(value)?;
            }
            Ok(())
        }
    }
}

/// Reads every document into a branch.
pub(crate) fn read(input: &[u8]) -> Result<Vec<Vec<Item>>, Error> {
    let text = std::str::from_utf8(input).map_err(|_| syntax("the file is not UTF-8"))?;
    let docs = tree::read(text).map_err(|e| syntax(e.to_string()))?;
    if let Some(first) = docs.first() {
        check_unique_keys(first)?;
    }
    docs.iter()
        .map(|doc| branch(doc, Vec::new(), false))
        .collect()
}

fn join_comments(comments: &[String]) -> String {
    format!("#{}", comments.join("\n#"))
}

fn add_head(node: &mut Node, comments: &mut Vec<String>) {
    if comments.is_empty() {
        return;
    }
    let comment = join_comments(comments);
    node.head_comment = if node.head_comment.is_empty() {
        comment
    } else {
        format!("{comment}\n{}", node.head_comment)
    };
    comments.clear();
}

fn add_after(slot: &mut String, comments: &mut Vec<String>) {
    if comments.is_empty() {
        return;
    }
    let comment = join_comments(comments);
    if !slot.is_empty() {
        slot.push('\n');
    }
    slot.push_str(&comment);
    comments.clear();
}

/// `treeValueToNode`.
fn to_node(value: &Value) -> Node {
    match value {
        Value::Map(items) => mapping(items),
        Value::Seq(items) => sequence(items),
        Value::Str(s) => Node::string(s),
        Value::Bytes(b) => Node::binary(&STANDARD.encode(b)),
        Value::Int(i) => Node::int(*i),
        Value::Float(f) => Node::float(*f),
        Value::Bool(b) => Node::bool(*b),
        Value::Time(t) => Node::time(t),
        Value::Null => Node::null(),
        Value::Comment(c) => Node::string(&c.text),
    }
}

/// `appendTreeBranch`.
fn mapping(items: &[Item]) -> Node {
    let mut node = Node::mapping(Vec::new());
    let mut entries = Vec::new();
    let (mut head, mut inline) = (Vec::new(), Vec::new());
    let mut beginning = true;
    for item in items {
        match &item.key {
            Key::Comment(c) if c.inline => inline.push(c.text.clone()),
            Key::Comment(c) => head.push(c.text.clone()),
            Key::Str(key) => {
                if beginning {
                    add_head(&mut node, &mut head);
                    beginning = false;
                }
                let mut key_node = Node::string(key);
                add_head(&mut key_node, &mut head);
                let mut value_node = to_node(&item.value);
                add_after(&mut value_node.line_comment, &mut inline);
                entries.push((key_node, value_node));
            }
        }
    }
    head.append(&mut inline);
    if !head.is_empty() {
        match entries.last_mut() {
            Some((last_key, _)) => add_after(&mut last_key.foot_comment, &mut head),
            None => add_head(&mut node, &mut head),
        }
    }
    node.kind = Kind::Mapping(entries);
    node
}

/// `appendSequence`.
fn sequence(items: &[Value]) -> Node {
    let mut node = Node::sequence(Vec::new());
    let mut nodes = Vec::new();
    let (mut head, mut inline) = (Vec::new(), Vec::new());
    let mut beginning = true;
    for item in items {
        match item {
            Value::Comment(c) if c.inline => inline.push(c.text.clone()),
            Value::Comment(c) => head.push(c.text.clone()),
            other => {
                if beginning {
                    add_head(&mut node, &mut head);
                    beginning = false;
                }
                let mut item_node = to_node(other);
                add_head(&mut item_node, &mut head);
                add_after(&mut item_node.line_comment, &mut inline);
                nodes.push(item_node);
            }
        }
    }
    head.append(&mut inline);
    if !head.is_empty() {
        match nodes.last_mut() {
            Some(last) => add_after(&mut last.foot_comment, &mut head),
            None => add_head(&mut node, &mut head),
        }
    }
    node.kind = Kind::Sequence(nodes);
    node
}

/// The branches as SOPS's YAML store writes them (`EmitPlainFile`; SOPS's default
/// indent is 4).
pub(crate) fn emit(branches: &[Vec<Item>], indent: usize) -> String {
    let docs: Vec<Node> = branches.iter().map(|b| mapping(b)).collect();
    tree::write(&docs, indent)
}

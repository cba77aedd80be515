//! go-yaml v3's node tree (`yaml.Node`) with its comments, read and written as v3 does:
//! the form SOPS keeps YAML files in, where comments are part of the data.
//!
//! ```
//! use crunch_yaml::tree;
//!
//! let docs = tree::read("# who\nname: web # inline\nports:\n  - 80\n").unwrap();
//! let tree::Kind::Mapping(entries) = &docs[0].kind else { panic!() };
//! assert_eq!(entries[0].0.head_comment, "# who");
//! assert_eq!(entries[0].1.line_comment, "# inline");
//! // Written as go-yaml v3's encoder with `SetIndent(4)`: sequences indented under keys.
//! assert_eq!(
//!     tree::write(&docs, 4),
//!     "# who\nname: web # inline\nports:\n    - 80\n"
//! );
//! ```

use std::rc::Rc;

use saphyr_parser::ScalarStyle;

use super::compose::{self, Documents, NodeKind};
use super::error::{Error, Position};
use super::resolve::{Resolved, is_base60_float, resolve};
use super::{Dialect, emit};

/// A node of go-yaml v3's tree. Comments hold their `#` and are joined by `\n`, as
/// `yaml.Node`'s `HeadComment`, `LineComment` and `FootComment` do.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: Kind,
    /// 1-based line where the node starts (0 for nodes built in code).
    pub line: usize,
    /// 1-based column where the node starts (0 for nodes built in code).
    pub column: usize,
    /// Comment lines right above the node.
    pub head_comment: String,
    /// The comment at the end of the node's (last) line.
    pub line_comment: String,
    /// Comment lines after the node, still indented under its collection.
    pub foot_comment: String,
}

/// The three kinds of node; aliases are expanded when read.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A scalar as written.
    Scalar(Scalar),
    /// A sequence's items.
    Sequence(Vec<Node>),
    /// A mapping's entries, in order.
    Mapping(Vec<(Node, Node)>),
}

/// A scalar's text, style and explicit tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The value after unquoting and folding.
    pub text: String,
    /// How it is (to be) written.
    pub style: Style,
    /// The explicit tag, in its short form (`!!str`), if any.
    pub tag: Option<String>,
}

/// A scalar's style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unquoted.
    Plain,
    /// `'…'`.
    SingleQuoted,
    /// `"…"`.
    DoubleQuoted,
    /// `|`.
    Literal,
    /// `>`.
    Folded,
}

/// A scalar as go-yaml v3 decodes it into `interface{}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits Go's `int`.
    Int(i64),
    /// An integer above `i64::MAX`.
    Uint(u64),
    /// A float.
    Float(f64),
    /// A timestamp (plain, or tagged `!!timestamp`), which v3 decodes into a Go
    /// `time.Time`: here its `MarshalText` form (RFC 3339 with nanoseconds, trailing zeros
    /// trimmed, `Z` for UTC).
    Timestamp(String),
    /// A `!!binary` scalar's decoded bytes (a Go string holding them).
    Binary(Vec<u8>),
    /// Anything else.
    Str(String),
}

impl Scalar {
    /// The value go-yaml v3's `Node.Decode(&interface{})` gives.
    ///
    /// # Errors
    /// Tags other than the core ones (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`)
    /// and values that do not fit their explicit tag.
    pub fn decode(&self) -> Result<Decoded, String> {
        let resolved = match self.tag.as_deref() {
            Some("!!binary") => {
                return crunch_gostd::base64::decode_std(self.text.as_bytes())
                    .ok()
                    .map(Decoded::Binary)
                    .ok_or_else(|| "!!binary value contains invalid base64 data".to_owned());
            }
            // `!!merge` decodes to the text (`<<`) into `interface{}`.
            Some("!!str" | "!" | "!!merge") => return Ok(Decoded::Str(self.text.clone())),
            None if self.style != Style::Plain => return Ok(Decoded::Str(self.text.clone())),
            None | Some("!!int" | "!!float" | "!!bool" | "!!null" | "!!timestamp") => {
                resolve(&self.text, Dialect::GoYamlV3)
            }
            Some(other) => return Err(format!("unsupported tag {other} on {:?}", self.text)),
        };
        let decoded = match resolved {
            Resolved::Null => Decoded::Null,
            Resolved::Bool(b) => Decoded::Bool(b),
            Resolved::Int(i) => Decoded::Int(i),
            Resolved::Uint(u) => Decoded::Uint(u),
            Resolved::Float(f) => Decoded::Float(f),
            Resolved::Timestamp(stamp) => Decoded::Timestamp(stamp.rfc3339()),
            Resolved::Merge | Resolved::Str => Decoded::Str(self.text.clone()),
        };
        let fits = matches!(
            (self.tag.as_deref(), &decoded),
            (None, _)
                | (Some("!!int"), Decoded::Int(_) | Decoded::Uint(_))
                | (
                    Some("!!float"),
                    Decoded::Float(_) | Decoded::Int(_) | Decoded::Uint(_)
                )
                | (Some("!!bool"), Decoded::Bool(_))
                | (Some("!!null"), Decoded::Null)
                | (Some("!!timestamp"), Decoded::Timestamp(_))
        );
        if fits {
            // `!!float 1` is a float in Go.
            match (self.tag.as_deref(), decoded) {
                (Some("!!float"), Decoded::Int(i)) => Ok(Decoded::Float(i as f64)),
                (Some("!!float"), Decoded::Uint(u)) => Ok(Decoded::Float(u as f64)),
                (_, decoded) => Ok(decoded),
            }
        } else {
            Err(format!(
                "cannot decode {:?} as {}",
                self.text,
                self.tag.as_deref().unwrap_or_default()
            ))
        }
    }
}

impl Node {
    fn built(kind: Kind) -> Node {
        Node {
            kind,
            line: 0,
            column: 0,
            head_comment: String::new(),
            line_comment: String::new(),
            foot_comment: String::new(),
        }
    }

    fn plain(text: String) -> Node {
        Node::built(Kind::Scalar(Scalar {
            text,
            style: Style::Plain,
            tag: None,
        }))
    }

    /// A string as go-yaml v3's encoder writes a Go `string` (`stringv`): literal when
    /// it holds a line break, double-quoted when plain would read back as another type
    /// (YAML 1.1 booleans and base-60 floats included), plain otherwise; `<<` as SOPS
    /// 3.11 prints it, `!!merge <<`.
    #[must_use]
    pub fn string(s: &str) -> Node {
        // `<<` comes back from v3's encoder as a plain merge key with its tag written.
        if s == "<<" {
            return Node::built(Kind::Scalar(Scalar {
                text: s.to_owned(),
                style: Style::Plain,
                tag: Some("!!merge".to_owned()),
            }));
        }
        let plain_is_string = matches!(resolve(s, Dialect::GoYamlV3), Resolved::Str)
            && !is_base60_float(s)
            && !is_old_bool(s);
        let style = if s.contains('\n') {
            Style::Literal
        } else if plain_is_string {
            Style::Plain
        } else {
            Style::DoubleQuoted
        };
        Node::built(Kind::Scalar(Scalar {
            text: s.to_owned(),
            style,
            tag: None,
        }))
    }

    /// A Go `int`.
    #[must_use]
    pub fn int(i: i64) -> Node {
        Node::plain(i.to_string())
    }

    /// A Go `float64`, formatted as v3 does (`strconv.FormatFloat(f, 'g', -1, 64)`).
    #[must_use]
    pub fn float(f: f64) -> Node {
        let text = match crunch_gostd::strconv::format_float(f, 'g', -1, 64).as_str() {
            "+Inf" => ".inf".to_owned(),
            "-Inf" => "-.inf".to_owned(),
            "NaN" => ".nan".to_owned(),
            other => other.to_owned(),
        };
        Node::plain(text)
    }

    /// A Go string whose bytes are not UTF-8, given as its standard base64: v3 writes it
    /// tagged `!!binary`, the base64 cut into lines of 70 (each ending with a break, so a
    /// literal block) once it is 70 characters or longer.
    #[must_use]
    pub fn binary(base64: &str) -> Node {
        const LINE: usize = 70;
        let text = if base64.len() < LINE {
            base64.to_owned()
        } else {
            let mut wrapped = String::with_capacity(base64.len() + base64.len() / LINE + 1);
            for chunk in base64.as_bytes().chunks(LINE) {
                wrapped.push_str(&String::from_utf8_lossy(chunk));
                wrapped.push('\n');
            }
            wrapped
        };
        let style = if text.contains('\n') {
            Style::Literal
        } else {
            Style::Plain
        };
        Node::built(Kind::Scalar(Scalar {
            text,
            style,
            tag: Some("!!binary".to_owned()),
        }))
    }

    /// A Go `time.Time`, given as its RFC 3339 text: v3 writes it plain.
    #[must_use]
    pub fn time(rfc3339: &str) -> Node {
        Node::plain(rfc3339.to_owned())
    }

    /// A Go `bool`.
    #[must_use]
    pub fn bool(b: bool) -> Node {
        Node::plain(if b { "true" } else { "false" }.to_owned())
    }

    /// Go's `nil`.
    #[must_use]
    pub fn null() -> Node {
        Node::plain("null".to_owned())
    }

    /// A block mapping.
    #[must_use]
    pub fn mapping(entries: Vec<(Node, Node)>) -> Node {
        Node::built(Kind::Mapping(entries))
    }

    /// A block sequence.
    #[must_use]
    pub fn sequence(items: Vec<Node>) -> Node {
        Node::built(Kind::Sequence(items))
    }
}

/// YAML 1.1 booleans, which v3 quotes so that YAML 1.1 readers keep them strings.
fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// Reads every document of a stream into go-yaml v3 nodes, comments attached where
/// go-yaml v3 attaches them: lines above a key or item are its head comment, a comment
/// after a scalar on its line is that scalar's line comment (after a key whose value
/// starts below, the key's), and comment lines indented deeper than the next key or item
/// (or at the end of a collection) are the foot comment of their collection's last key
/// or item. Aliases are expanded. An empty document is a null scalar.
///
/// # Errors
/// Syntax errors as [`crate::parse_stream`] reports them.
pub fn read(text: &str) -> Result<Vec<Node>, Error> {
    let mut spans = Vec::new();
    let mut docs = compose::compose(text, Documents::All, |root| {
        Ok(convert(&root, 0, &mut spans))
    })?;
    let comments = scan_comments(text, &spans);
    attach(&mut docs, &comments);
    Ok(docs)
}

/// Writes documents as go-yaml v3's `Encoder` with `SetIndent(indent)` writes them (`---`
/// between documents, comments where v3 puts them, a scalar's tag where dropping it
/// would change what the text reads as).
#[must_use]
pub fn write(docs: &[Node], indent: usize) -> String {
    emit::v3::write(docs, indent)
}

/// Deepest alias chain expanded; deeper ones read as null (go-yaml's own alias budget
/// already failed billion-laughs inputs while composing).
const MAX_ALIAS_DEPTH: usize = 64;

/// Where a scalar sits in the text: a comment never starts inside one.
struct Span {
    start: Position,
    end: Position,
    /// A block scalar (`|`, `>`) starts at its first content line, below its header.
    block: bool,
}

/// The internal tree as public nodes, with positions; every scalar's span goes to
/// `spans`.
fn convert(node: &Rc<compose::Node>, depth: usize, spans: &mut Vec<Span>) -> Node {
    let kind = match &node.kind {
        NodeKind::Alias(target) if depth < MAX_ALIAS_DEPTH => {
            let mut expanded = convert(target, depth + 1, &mut Vec::new());
            expanded.line = node.position.line;
            expanded.column = node.position.column;
            return expanded;
        }
        NodeKind::Alias(_) => Kind::Scalar(Scalar {
            text: String::new(),
            style: Style::Plain,
            tag: None,
        }),
        NodeKind::Scalar {
            value, style, tag, ..
        } => {
            spans.push(Span {
                start: node.position,
                end: node.end,
                // An empty block scalar covers no line.
                block: matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && !value.is_empty(),
            });
            Kind::Scalar(Scalar {
                text: value.clone(),
                style: match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                },
                tag: tag.as_ref().map(|t| {
                    if t.handle == "tag:yaml.org,2002:" {
                        format!("!!{}", t.suffix)
                    } else {
                        format!("{}{}", t.handle, t.suffix)
                    }
                }),
            })
        }
        NodeKind::Sequence(items) => Kind::Sequence(
            items
                .iter()
                .map(|item| convert(item, depth, spans))
                .collect(),
        ),
        NodeKind::Mapping(entries) => Kind::Mapping(
            entries
                .iter()
                .map(|(k, v)| (convert(k, depth, spans), convert(v, depth, spans)))
                .collect(),
        ),
    };
    let mut converted = Node::built(kind);
    converted.line = node.position.line;
    converted.column = node.position.column;
    converted
}

/// A comment in the text: 1-based line and column of its `#`, its text from the `#`, and
/// whether it is alone on its line.
#[derive(Debug)]
struct Comment {
    line: usize,
    column: usize,
    text: String,
    full_line: bool,
}

/// Finds the comments: a `#` at the start of a line or after a blank, outside every
/// scalar (the lines a multi-line scalar covers hold none).
fn scan_comments(text: &str, spans: &[Span]) -> Vec<Comment> {
    let mut covered = std::collections::HashSet::new();
    let mut ends_on_line: std::collections::HashMap<usize, usize> =
        std::collections::HashMap::new();
    for Span { start, end, block } in spans {
        if *block {
            covered.insert(start.line);
        }
        for line in start.line + 1..end.line {
            covered.insert(line);
        }
        // A block scalar's span ends at the start of the line after it (or within its
        // last line at the end of the text); a quoted one may end before a comment.
        if *block && end.line > start.line && end.column > 1 {
            covered.insert(end.line);
        }
        if end.line == start.line || end.column > 1 {
            let last = ends_on_line.entry(end.line).or_insert(0);
            *last = (*last).max(end.column);
        }
    }
    let mut comments = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        if covered.contains(&line) {
            continue;
        }
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let after = ends_on_line.get(&line).copied().unwrap_or(0);
        let chars: Vec<char> = raw.chars().collect();
        let found = (0..chars.len()).find(|&i| {
            chars[i] == '#' && i + 1 >= after && (i == 0 || matches!(chars[i - 1], ' ' | '\t'))
        });
        if let Some(at) = found {
            comments.push(Comment {
                line,
                column: at + 1,
                text: chars[at..].iter().collect::<String>().trim_end().to_owned(),
                full_line: chars[..at].iter().all(|c| matches!(c, ' ' | '\t')),
            });
        }
    }
    comments
}

/// One step from a node to a child.
#[derive(Debug, Clone, Copy)]
enum Step {
    Item(usize),
    Key(usize),
    Value(usize),
}

/// A key or sequence item comments can attach to.
#[derive(Debug)]
struct Entry {
    document: usize,
    line: usize,
    /// The node (key or item) that takes head and foot comments.
    path: Vec<Step>,
    /// Its collection, then the enclosing ones up to the root.
    containers: Vec<Container>,
}

/// A collection comments can be the foot of.
#[derive(Debug, Clone)]
struct Container {
    /// The column of its keys or items.
    column: usize,
    path: Vec<Step>,
    sequence: bool,
}

fn collect_entries(
    node: &Node,
    document: usize,
    path: &mut Vec<Step>,
    containers: &mut Vec<Container>,
    entries: &mut Vec<Entry>,
    scalars: &mut Vec<(usize, usize, Vec<Step>)>,
) {
    match &node.kind {
        Kind::Scalar(_) => scalars.push((document, node.line, path.clone())),
        Kind::Sequence(items) => {
            containers.push(Container {
                column: node.column,
                path: path.clone(),
                sequence: true,
            });
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Item(i));
                entries.push(Entry {
                    document,
                    line: item.line,
                    path: path.clone(),
                    containers: containers.iter().rev().cloned().collect(),
                });
                collect_entries(item, document, path, containers, entries, scalars);
                path.pop();
            }
            containers.pop();
        }
        Kind::Mapping(pairs) => {
            let column = pairs.first().map_or(node.column, |(k, _)| k.column);
            containers.push(Container {
                column,
                path: path.clone(),
                sequence: false,
            });
            for (i, (key, value)) in pairs.iter().enumerate() {
                path.push(Step::Key(i));
                entries.push(Entry {
                    document,
                    line: key.line,
                    path: path.clone(),
                    containers: containers.iter().rev().cloned().collect(),
                });
                collect_entries(key, document, path, containers, entries, scalars);
                path.pop();
                path.push(Step::Value(i));
                collect_entries(value, document, path, containers, entries, scalars);
                path.pop();
            }
            containers.pop();
        }
    }
}

fn node_at<'a>(node: &'a mut Node, path: &[Step]) -> Option<&'a mut Node> {
    let Some((first, rest)) = path.split_first() else {
        return Some(node);
    };
    let child = match (&mut node.kind, *first) {
        (Kind::Sequence(items), Step::Item(i)) => items.get_mut(i)?,
        (Kind::Mapping(pairs), Step::Key(i)) => &mut pairs.get_mut(i)?.0,
        (Kind::Mapping(pairs), Step::Value(i)) => &mut pairs.get_mut(i)?.1,
        _ => return None,
    };
    node_at(child, rest)
}

/// The last key or item of the collection at `path` that starts before `line`.
fn last_entry_path(root: &mut Node, path: &[Step], line: usize) -> Option<Vec<Step>> {
    let node = node_at(root, path)?;
    let step = match &node.kind {
        Kind::Sequence(items) => Step::Item(items.iter().rposition(|item| item.line < line)?),
        Kind::Mapping(pairs) => Step::Key(pairs.iter().rposition(|(key, _)| key.line < line)?),
        Kind::Scalar(_) => return None,
    };
    let mut last = path.to_vec();
    last.push(step);
    Some(last)
}

fn append_comment(slot: &mut String, text: &str) {
    if !slot.is_empty() {
        slot.push('\n');
    }
    slot.push_str(text);
}

/// Attaches comments to the nodes (see [`read`]).
fn attach(docs: &mut [Node], comments: &[Comment]) {
    let mut entries = Vec::new();
    let mut scalars = Vec::new();
    for (document, doc) in docs.iter().enumerate() {
        collect_entries(
            doc,
            document,
            &mut Vec::new(),
            &mut Vec::new(),
            &mut entries,
            &mut scalars,
        );
    }
    // Which document a line belongs to: the last one starting at or before it.
    let starts: Vec<usize> = docs.iter().map(|d| d.line).collect();
    let document_of = |line: usize| starts.iter().rposition(|&s| s <= line).unwrap_or(0);
    // The comment lines after one key or item so far: that entry's line, the first
    // line's column, and the container the first line went to.
    let mut run: Option<(usize, usize, usize)> = None;
    for comment in comments {
        let document = document_of(comment.line);
        let Some(doc) = docs.get_mut(document) else {
            continue;
        };
        if !comment.full_line {
            // The last scalar starting on or before this line whose line it is.
            let target = scalars
                .iter()
                .rfind(|(d, line, _)| *d == document && *line <= comment.line);
            if let Some(node) = target.and_then(|(_, _, path)| node_at(doc, path)) {
                append_comment(&mut node.line_comment, &comment.text);
            }
            continue;
        }
        let next = entries
            .iter()
            .find(|e| e.document == document && e.line > comment.line);
        let previous = entries
            .iter()
            .rfind(|e| e.document == document && e.line < comment.line);
        let next_column = next.and_then(|e| e.containers.first()).map(|c| c.column);
        match (previous, next) {
            (Some(previous), _) if next_column.is_none_or(|c| comment.column > c) => {
                // Deeper than what follows: the foot of the innermost collection the
                // comment is indented into; but go-yaml v3 gives the first comment after
                // a sequence's last item to that sequence however little it is indented
                // (and the lines after it that are indented as far).
                let chosen = match run {
                    Some((line, first_column, index))
                        if line == previous.line && comment.column >= first_column =>
                    {
                        Some(index)
                    }
                    Some((line, _, index)) if line == previous.line => previous.containers
                        [index + 1..]
                        .iter()
                        .position(|c| c.column <= comment.column)
                        .map(|i| i + index + 1),
                    _ if previous.containers.first().is_some_and(|c| c.sequence) => Some(0),
                    _ => previous
                        .containers
                        .iter()
                        .position(|c| c.column <= comment.column),
                }
                .unwrap_or(previous.containers.len().saturating_sub(1));
                if run.is_none_or(|(line, _, _)| line != previous.line) {
                    run = Some((previous.line, comment.column, chosen));
                }
                if let Some(node) = previous
                    .containers
                    .get(chosen)
                    .and_then(|c| last_entry_path(doc, &c.path, comment.line))
                    .and_then(|path| node_at(doc, &path))
                {
                    append_comment(&mut node.foot_comment, &comment.text);
                }
            }
            (_, Some(next)) => {
                if let Some(node) = node_at(doc, &next.path) {
                    append_comment(&mut node.head_comment, &comment.text);
                }
            }
            (_, None) => append_comment(&mut doc.head_comment, &comment.text),
        }
    }
}

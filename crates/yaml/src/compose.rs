//! Builds node trees from `saphyr-parser` events: one tree per document, aliases resolved
//! to shared references to their anchored node, nesting depth bounded.

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::bom;
use super::breaks::{self, Source};
use super::error::{Error, Position, Shape};
use super::flow;
use super::patch::Patch;
use super::placeholder::Placeholders;
use super::syntax;

/// Deepest nesting of collections accepted (saphyr itself stops flow collections at 255).
/// Decoding, printing and crunch's callers recurse once per level; this bound keeps that
/// within a 2 MiB thread stack even in debug builds. Kubernetes objects and Helm values
/// nest a few dozen levels at most.
const MAX_DEPTH: usize = 256;

/// A composed YAML node with where it starts in the input. Cloning is shallow (children
/// are shared): decoding takes nodes by value and clones only those an alias shares.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    pub(crate) position: Position,
    /// Where the node's last token ends (go-yaml v3's comment attachment needs it).
    pub(crate) end: Position,
}

/// What a node holds. Aliases share their anchored node rather than copying it, so
/// expansion cost is only paid (and budgeted) when decoding.
#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Scalar {
        value: String,
        style: ScalarStyle,
        tag: Option<Tag>,
        /// Inside a flow collection: kustomize reads some of those differently.
        in_flow: bool,
    },
    /// Collection tags are dropped: go-yaml ignores them when decoding into `interface{}`.
    Sequence(Vec<Rc<Node>>),
    Mapping(Vec<(Rc<Node>, Rc<Node>)>),
    Alias(Rc<Node>),
}

/// How many documents of the stream to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Documents {
    /// Every document.
    All,
    /// The first document only; the rest of the stream is not read (go-yaml v2 `Unmarshal`).
    First,
}

/// A collection being built: its start event data and the children gathered so far.
struct Open {
    anchor: usize,
    position: Position,
    /// Inside a flow collection (`[...]`, `{...}`), here or in an ancestor.
    flow: bool,
    children: Vec<Rc<Node>>,
    is_mapping: bool,
    /// The closing bracket of a flow collection written with brackets (not of a block
    /// collection, nor of a single-pair mapping inside a flow sequence).
    closer: Option<char>,
}

/// The closing bracket of the innermost bracketed flow collection.
fn innermost_closer(stack: &[Open]) -> Option<char> {
    stack.iter().rev().find_map(|open| open.closer)
}

/// Fails where go-yaml rejects a plain scalar that saphyr read inside a flow collection
/// (see [`flow`]): one opening with `:` or holding `?`, or an empty key before `:`.
fn check_flow_plain(
    value: &str,
    stack: &[Open],
    at: Position,
    start: usize,
    chars: &mut CharCursor<'_>,
) -> Result<(), Error> {
    let closer = innermost_closer(stack).unwrap_or(']');
    if let Some((offset, message)) = flow::rejected_plain(value, closer) {
        let at = Position {
            column: at.column + offset,
            ..at
        };
        return Err(Error::new(Shape::Parser, Some(at), message));
    }
    let at_key = stack
        .last()
        .is_some_and(|open| open.is_mapping && open.children.len() % 2 == 0);
    if at_key && value.is_empty() && chars.char_at(start) == Some(':') {
        return Err(Error::new(Shape::Parser, Some(at), flow::EMPTY_KEY));
    }
    Ok(())
}

fn position(span: &Span) -> Position {
    Position {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

fn end_position(span: &Span) -> Position {
    Position {
        line: span.end.line(),
        column: span.end.col() + 1,
    }
}

/// How many times the text is patched ([`Patch`]) before the error stands: each patch
/// fixes one place and reads the whole text again, so small texts may have many of them
/// (a values file with a tab after every `:`) while the total work stays bounded.
fn max_patches(text: &str) -> usize {
    const ALWAYS: usize = 64;
    const BUDGET_BYTES: usize = 64 << 20;
    ALWAYS.max(BUDGET_BYTES / text.len().max(1))
}

/// Parses `text` and hands each document's root node to `finish` as soon as it is complete
/// (so a long stream never holds every node tree at once), collecting the results.
///
/// Where saphyr rejects separation whitespace that go-yaml reads (a tab after `:`, flow
/// and quoted continuation lines left of their block), the text is read again with that
/// whitespace rewritten ([`Patch`]).
pub(crate) fn compose<T>(
    text: &str,
    documents: Documents,
    mut finish: impl FnMut(Rc<Node>) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let mut placeholders = Placeholders::default();
    let text = bom::prepare(text, documents == Documents::All, &mut placeholders);
    let text = flow::prepare(text, &mut placeholders);
    // libyaml reads U+0085 (NEL) as a line break wherever it occurs and stores it as `\n`;
    // saphyr, following YAML 1.2, takes it as an ordinary character.
    let text = if text.contains('\u{85}') {
        Cow::Owned(text.replace('\u{85}', "\n"))
    } else {
        text
    };
    let text = text.as_ref();
    let mut patched: Option<String> = None;
    for _ in 0..max_patches(text) {
        let current = patched.as_deref().unwrap_or(text);
        match compose_once(current, documents, &placeholders, &mut finish) {
            Err(Failure::Patchable(patch, error)) => match patch.apply(current) {
                Some(fixed) => patched = Some(fixed),
                None => return Err(error),
            },
            Err(Failure::Other(error)) => return Err(error),
            Ok(results) => return Ok(results),
        }
    }
    let current = patched.as_deref().unwrap_or(text);
    compose_once(current, documents, &placeholders, &mut finish).map_err(Failure::into_error)
}

/// A failed read; a patchable one can be retried.
enum Failure {
    /// A saphyr error go-yaml would not raise, and the rewrite that avoids it.
    Patchable(Patch, Error),
    Other(Error),
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Failure::Patchable(_, error) | Failure::Other(error) => error,
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Other(error)
    }
}

fn compose_once<T>(
    text: &str,
    documents: Documents,
    placeholders: &Placeholders,
    finish: &mut impl FnMut(Rc<Node>) -> Result<T, Error>,
) -> Result<Vec<T>, Failure> {
    // A blank last line without a line break adds nothing in go-yaml; saphyr may read it
    // as an empty line of a block scalar.
    let original = match text.rfind(breaks::is_break) {
        Some(at) if text[at..].chars().skip(1).all(|c| c == ' ') => {
            &text[..at + text[at..].chars().next().map_or(1, char::len_utf8)]
        }
        _ => text,
    };
    // saphyr reads LS and PS as `\n`; scalars holding one are rebuilt from `original`.
    let without_separators;
    let (text, mut separated) = if breaks::has_separators(original) {
        without_separators = breaks::without_separators(original);
        (without_separators.as_str(), Some(CharCursor::new(original)))
    } else {
        (original, None)
    };
    let mut parser = Parser::new_from_str(text);
    let mut anchors: HashMap<usize, Rc<Node>> = HashMap::new();
    let mut stack: Vec<Open> = Vec::new();
    // Emptied child buffers of closed collections, reused by the next ones (see `close`).
    let mut spare: Vec<Vec<Rc<Node>>> = Vec::new();
    let mut results = Vec::new();
    let mut current_root: Option<Rc<Node>> = None;
    let mut chars = CharCursor::new(text);
    let char_count = text.chars().count();
    // Where the previous event ended: directives sit between it and a `---`.
    let mut previous_end = (0, 1);
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            let error = syntax::translate(&e, text, innermost_closer(&stack));
            match Patch::for_error(&e) {
                Some(patch) => Failure::Patchable(patch, error),
                None => Failure::Other(error),
            }
        })?;
        let at = position(&span);
        let end = end_position(&span);
        let (after, after_line) = previous_end;
        previous_end = (span.end.index(), span.end.line());
        // The match below consumes the event.
        let opens_mapping = matches!(event, Event::MappingStart(..));
        let finished = match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart => None,
            Event::DocumentStart(explicit) => {
                if explicit && let Some(prefix) = chars.slice(after, span.start.index()) {
                    syntax::check_directives(prefix, after_line)?;
                }
                anchors.clear();
                None
            }
            Event::DocumentEnd => {
                let root = current_root.take().unwrap_or_else(|| empty(at, false));
                // Without the anchor table's references, every node no alias shares is
                // decoded by moving its text rather than copying it.
                anchors.clear();
                results.push(finish(root)?);
                if documents == Documents::First {
                    break;
                }
                None
            }
            Event::Alias(id) => {
                let target = anchors.get(&id).ok_or_else(|| -> Failure {
                    // saphyr registers an anchor when its node starts, so an alias inside
                    // its own anchored collection finds no finished node here.
                    let name = syntax::anchor_name(text, span.start.index());
                    Error::at(at, format!("anchor '{name}' value contains itself")).into()
                })?;
                Some((
                    0,
                    Rc::new(Node {
                        kind: NodeKind::Alias(Rc::clone(target)),
                        position: at,
                        end,
                    }),
                ))
            }
            Event::Scalar(value, style, anchor, tag) => {
                if style == ScalarStyle::DoubleQuoted
                    && value.contains('/')
                    && chars
                        .slice(span.start.index(), span.end.index())
                        .is_some_and(syntax::has_slash_escape)
                {
                    // `\/` is YAML 1.2; go-yaml v2 and kustomize's v3 reject it.
                    return Err(Error::new(
                        Shape::Scanner,
                        Some(at),
                        "found unknown escape character",
                    )
                    .into());
                }
                let mut value = value.into_owned();
                if let Some(cursor) = separated.as_mut()
                    && let (Some(after), Some(start), Some(end)) = (
                        cursor.seek(after),
                        cursor.seek(span.start.index()),
                        cursor.seek(span.end.index()),
                    )
                {
                    let source = Source {
                        text: original,
                        after,
                        start,
                        end,
                    };
                    if source.is_affected(style)
                        && let Some(rebuilt) = breaks::rebuild(&source, style, &value)
                    {
                        value = rebuilt;
                    }
                }
                let in_flow = stack.last().is_some_and(|open| open.flow);
                if in_flow && style == ScalarStyle::Plain {
                    check_flow_plain(&value, &stack, at, span.start.index(), &mut chars)?;
                }
                let mut value = placeholders.restore(value);
                // saphyr ends a block scalar's last line with a break even when the input
                // ends without one; go-yaml adds no break there.
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && span.end.index() == char_count
                    && !text.ends_with(['\n', '\r'])
                    && value.ends_with('\n')
                {
                    value.pop();
                }
                // go-yaml reads a `?` opening a plain scalar in a flow collection as a key
                // indicator: `[?a]` is `[{a: null}]`, `{?a: b}` is `{a: b}`.
                let parent = stack
                    .last()
                    .map(|open| (open.is_mapping, open.children.len()));
                let key_position = matches!(parent, Some((false, _)))
                    || matches!(parent, Some((true, n)) if n % 2 == 0);
                let keyed = in_flow
                    && key_position
                    && style == ScalarStyle::Plain
                    && value.len() > 1
                    && value.starts_with('?');
                if keyed {
                    value.remove(0);
                }
                let node = Rc::new(Node {
                    kind: NodeKind::Scalar {
                        value,
                        style,
                        tag: tag.map(std::borrow::Cow::into_owned),
                        in_flow,
                    },
                    position: at,
                    end,
                });
                let node = match parent {
                    Some((false, _)) if keyed => Rc::new(Node {
                        kind: NodeKind::Mapping(vec![(node, empty(at, true))]),
                        position: at,
                        end,
                    }),
                    _ => node,
                };
                Some((anchor, node))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Error::new(
                        Shape::Parser,
                        Some(at),
                        format!("exceeded max depth of {MAX_DEPTH}"),
                    )
                    .into());
                }
                // A flow collection's start event ends with its `[` or `{`; a block
                // collection's start token is empty.
                let bracket = span
                    .end
                    .index()
                    .checked_sub(1)
                    .and_then(|i| chars.char_at(i));
                let closer = match bracket {
                    Some('[') => Some(']'),
                    Some('{') => Some('}'),
                    _ => None,
                };
                let flow = stack.last().is_some_and(|open| open.flow) || closer.is_some();
                stack.push(Open {
                    anchor,
                    position: at,
                    flow,
                    children: spare.pop().unwrap_or_default(),
                    is_mapping: opens_mapping,
                    closer,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop().map(|open| close(open, end, &mut spare))
            }
        };
        if let Some((anchor, node)) = finished {
            if anchor != 0 {
                anchors.insert(anchor, Rc::clone(&node));
            }
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None => current_root = Some(node),
            }
        }
    }
    Ok(results)
}

/// Builds the node of a finished collection. Its children move into a vector of the exact
/// size, and the buffer they were gathered in goes back to `spare` for the next collection,
/// so that gathering children does not reallocate as they arrive.
fn close(open: Open, end: Position, spare: &mut Vec<Vec<Rc<Node>>>) -> (usize, Rc<Node>) {
    let mut gathered = open.children;
    let kind = if open.is_mapping {
        let mut entries = Vec::with_capacity(gathered.len() / 2);
        let mut children = gathered.drain(..);
        // The parser always emits a value after a key (an empty scalar when absent).
        while let (Some(key), Some(value)) = (children.next(), children.next()) {
            entries.push((key, value));
        }
        NodeKind::Mapping(entries)
    } else {
        let mut items = Vec::with_capacity(gathered.len());
        items.append(&mut gathered);
        NodeKind::Sequence(items)
    };
    gathered.clear();
    spare.push(gathered);
    (
        open.anchor,
        Rc::new(Node {
            kind,
            position: open.position,
            end,
        }),
    )
}

/// Finds characters by index (saphyr's positions count characters) in a text scanned
/// mostly forwards: seeks walk from the last position in either direction, and an ASCII
/// text needs no walk at all, so reading stays linear in the text's length.
struct CharCursor<'a> {
    text: &'a str,
    ascii: bool,
    char_index: usize,
    byte_index: usize,
}

impl<'a> CharCursor<'a> {
    fn new(text: &'a str) -> Self {
        CharCursor {
            text,
            ascii: text.is_ascii(),
            char_index: 0,
            byte_index: 0,
        }
    }

    /// Moves to character `index` and returns its byte offset.
    fn seek(&mut self, index: usize) -> Option<usize> {
        if self.ascii {
            return (index <= self.text.len()).then_some(index);
        }
        while self.char_index > index {
            let c = self.text[..self.byte_index].chars().next_back()?;
            self.byte_index -= c.len_utf8();
            self.char_index -= 1;
        }
        let mut rest = self.text[self.byte_index..].chars();
        while self.char_index < index {
            self.byte_index += rest.next()?.len_utf8();
            self.char_index += 1;
        }
        Some(self.byte_index)
    }

    fn char_at(&mut self, index: usize) -> Option<char> {
        let at = self.seek(index)?;
        self.text[at..].chars().next()
    }

    /// The text between two character indexes.
    fn slice(&mut self, start: usize, end: usize) -> Option<&'a str> {
        let from = self.seek(start)?;
        let to = self.seek(end)?;
        self.text.get(from..to)
    }
}

/// An empty plain scalar (null), inside a flow collection or not.
fn empty(at: Position, in_flow: bool) -> Rc<Node> {
    Rc::new(Node {
        kind: NodeKind::Scalar {
            value: String::new(),
            style: ScalarStyle::Plain,
            tag: None,
            in_flow,
        },
        position: at,
        end: at,
    })
}

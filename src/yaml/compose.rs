//! Builds node trees from `saphyr-parser` events: one tree per document, aliases resolved
//! to shared references to their anchored node, nesting depth bounded.

use std::collections::HashMap;
use std::rc::Rc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::error::{Error, Position, Shape};
use super::patch::Patch;
use super::syntax;

/// Deepest nesting of collections accepted (saphyr itself stops flow collections at 255).
/// Decoding, printing and crunch's callers recurse once per level; this bound keeps that
/// within a 2 MiB thread stack even in debug builds. Kubernetes objects and Helm values
/// nest a few dozen levels at most.
const MAX_DEPTH: usize = 256;

/// A composed YAML node with where it starts in the input.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    pub(crate) position: Position,
}

/// What a node holds. Aliases share their anchored node rather than copying it, so
/// expansion cost is only paid (and budgeted) when decoding.
#[derive(Debug)]
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
}

fn position(span: &Span) -> Position {
    Position {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// How many times the text is patched ([`Patch`]) before the error stands.
const MAX_PATCHES: usize = 64;

/// Parses `text` and hands each document's root node to `finish` as soon as it is complete
/// (so a long stream never holds every node tree at once), collecting the results.
///
/// Where saphyr rejects separation whitespace that go-yaml reads (a tab after `:`, flow
/// and quoted continuation lines left of their block), the text is read again with that
/// whitespace rewritten ([`Patch`]).
pub(crate) fn compose<T>(
    text: &str,
    documents: Documents,
    mut finish: impl FnMut(&Rc<Node>) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    // libyaml reads U+0085 (NEL) as a line break wherever it occurs and stores it as `\n`;
    // saphyr, following YAML 1.2, takes it as an ordinary character.
    let normalized;
    let text = if text.contains('\u{85}') {
        normalized = text.replace('\u{85}', "\n");
        normalized.as_str()
    } else {
        text
    };
    let mut patched: Option<String> = None;
    for _ in 0..MAX_PATCHES {
        let current = patched.as_deref().unwrap_or(text);
        match compose_once(current, documents, &mut finish) {
            Err(Failure::Patchable(patch, error)) => match patch.apply(current) {
                Some(fixed) => patched = Some(fixed),
                None => return Err(error),
            },
            Err(Failure::Other(error)) => return Err(error),
            Ok(results) => return Ok(results),
        }
    }
    let current = patched.as_deref().unwrap_or(text);
    compose_once(current, documents, &mut finish).map_err(Failure::into_error)
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
    finish: &mut impl FnMut(&Rc<Node>) -> Result<T, Error>,
) -> Result<Vec<T>, Failure> {
    // A blank last line without a line break adds nothing in go-yaml; saphyr may read it
    // as an empty line of a block scalar.
    let text = match text.rfind(['\n', '\r']) {
        Some(at) if text[at + 1..].chars().all(|c| c == ' ') => &text[..=at],
        _ => text,
    };
    let mut parser = Parser::new_from_str(text);
    let mut anchors: HashMap<usize, Rc<Node>> = HashMap::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut results = Vec::new();
    let mut current_root: Option<Rc<Node>> = None;
    let mut chars = CharCursor::new(text);
    let char_count = text.chars().count();
    // Where the previous event ended: directives sit between it and a `---`.
    let mut previous_end = (0, 1);
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            let error = syntax::translate(&e, text);
            match Patch::for_error(&e) {
                Some(patch) => Failure::Patchable(patch, error),
                None => Failure::Other(error),
            }
        })?;
        let at = position(&span);
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
                let root = current_root.take().unwrap_or_else(|| empty(at));
                results.push(finish(&root)?);
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
                // saphyr ends a block scalar's last line with a break even when the input
                // ends without one; go-yaml adds no break there.
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && span.end.index() == char_count
                    && !text.ends_with(['\n', '\r'])
                    && value.ends_with('\n')
                {
                    value.pop();
                }
                Some((
                    anchor,
                    Rc::new(Node {
                        kind: NodeKind::Scalar {
                            value,
                            style,
                            tag: tag.map(std::borrow::Cow::into_owned),
                            in_flow: stack.last().is_some_and(|open| open.flow),
                        },
                        position: at,
                    }),
                ))
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
                let flow = stack.last().is_some_and(|open| open.flow)
                    || matches!(bracket, Some('[' | '{'));
                stack.push(Open {
                    anchor,
                    position: at,
                    flow,
                    children: Vec::new(),
                    is_mapping: opens_mapping,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => stack.pop().map(close),
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

fn close(open: Open) -> (usize, Rc<Node>) {
    let kind = if open.is_mapping {
        let mut entries = Vec::with_capacity(open.children.len() / 2);
        let mut children = open.children.into_iter();
        // The parser always emits a value after a key (an empty scalar when absent).
        while let (Some(key), Some(value)) = (children.next(), children.next()) {
            entries.push((key, value));
        }
        NodeKind::Mapping(entries)
    } else {
        NodeKind::Sequence(open.children)
    };
    (
        open.anchor,
        Rc::new(Node {
            kind,
            position: open.position,
        }),
    )
}

/// Finds characters by index in a text scanned mostly forwards (events arrive in order).
struct CharCursor<'a> {
    text: &'a str,
    char_index: usize,
    byte_index: usize,
}

impl<'a> CharCursor<'a> {
    fn new(text: &'a str) -> Self {
        CharCursor {
            text,
            char_index: 0,
            byte_index: 0,
        }
    }

    /// Moves to character `index` and returns its byte offset.
    fn seek(&mut self, index: usize) -> Option<usize> {
        if index < self.char_index {
            *self = CharCursor::new(self.text);
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

fn empty(at: Position) -> Rc<Node> {
    Rc::new(Node {
        kind: NodeKind::Scalar {
            value: String::new(),
            style: ScalarStyle::Plain,
            tag: None,
            in_flow: false,
        },
        position: at,
    })
}

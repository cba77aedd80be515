//! go-yaml v3's emitter as its `Encoder` drives it for a `yaml.Node` tree: the same
//! libyaml machinery as go-yaml v2's ([`super::Writer`], [`super::Analysis`]), with v3's
//! changes: a configurable indent, sequences indented under their key, and comments. The
//! tree becomes v3's event list (`encoder.node`, which moves a key's foot comment to the
//! next key as a "tail"), and the events run through a port of the emitter's state
//! machine for block collections, empty flow collections and scalars; comments live in
//! registers that an event sets and the next `process_*_comment` call consumes, as in v3.

use super::analyze::Analysis;
use super::writer::Writer;
use crate::Dialect;
use crate::resolve::{Resolved, resolve};
use crate::tree::{Kind, Node, Style};

/// Prints documents as go-yaml v3's `Encoder` with `SetIndent(indent)`.
pub(crate) fn write(docs: &[Node], indent: usize) -> String {
    let mut events = Vec::new();
    for doc in docs {
        events.push(Event::DocumentStart);
        push_node(&mut events, doc, String::new());
        events.push(Event::DocumentEnd);
    }
    let mut emitter = Emitter {
        w: Writer::v3(indent),
        states: Vec::new(),
        head: String::new(),
        line: String::new(),
        foot: String::new(),
        tail: String::new(),
        key_line: String::new(),
        flow_level: 0,
        simple_key: false,
    };
    emitter.run(&events);
    emitter.w.into_string()
}

/// An event of go-yaml v3's encoder with the comments it carries.
#[derive(Debug)]
enum Event {
    DocumentStart,
    DocumentEnd,
    SequenceStart {
        head: String,
    },
    SequenceEnd {
        line: String,
        foot: String,
    },
    MappingStart {
        head: String,
        tail: String,
    },
    MappingEnd {
        tail: String,
        line: String,
        foot: String,
    },
    Scalar {
        value: String,
        style: Style,
        /// An explicit tag to write (`!!merge`), in short form.
        tag: Option<String>,
        head: String,
        line: String,
        foot: String,
        tail: String,
    },
}

/// The tag `encoder.node` keeps: none where dropping it changes nothing (a quoted
/// `!!str`, or the tag the plain text resolves to anyway), except `!!merge`, which v3
/// (as SOPS 3.11 runs it) writes out for a `<<` value.
fn written_tag(scalar: &crate::tree::Scalar) -> Option<String> {
    let tag = scalar.tag.as_deref()?;
    let quoted = matches!(
        scalar.style,
        Style::SingleQuoted | Style::DoubleQuoted | Style::Literal | Style::Folded
    );
    let implicit = match resolve(&scalar.text, Dialect::GoYamlV3) {
        Resolved::Null => "!!null",
        Resolved::Bool(_) => "!!bool",
        Resolved::Int(_) | Resolved::Uint(_) => "!!int",
        Resolved::Float(_) => "!!float",
        Resolved::Merge => "!!merge",
        Resolved::Timestamp(_) => "!!timestamp",
        Resolved::Str => "!!str",
    };
    let redundant = (tag == "!!str" && quoted) || (!quoted && tag == implicit && tag != "!!merge");
    (!redundant).then(|| tag.to_owned())
}

/// go-yaml v3's `encoder.node` for the node kinds a tree holds.
fn push_node(events: &mut Vec<Event>, node: &Node, tail: String) {
    match &node.kind {
        Kind::Scalar(scalar) => {
            let style = match scalar.style {
                Style::Plain if scalar.text.contains('\n') => Style::Literal,
                style => style,
            };
            events.push(Event::Scalar {
                value: scalar.text.clone(),
                style,
                tag: written_tag(scalar),
                head: node.head_comment.clone(),
                line: node.line_comment.clone(),
                foot: node.foot_comment.clone(),
                tail,
            });
        }
        Kind::Sequence(items) => {
            events.push(Event::SequenceStart {
                head: node.head_comment.clone(),
            });
            for item in items {
                push_node(events, item, String::new());
            }
            events.push(Event::SequenceEnd {
                line: node.line_comment.clone(),
                foot: node.foot_comment.clone(),
            });
        }
        Kind::Mapping(entries) => {
            events.push(Event::MappingStart {
                head: node.head_comment.clone(),
                tail,
            });
            let mut tail = String::new();
            for (key, value) in entries {
                let foot = key.foot_comment.clone();
                if foot.is_empty() {
                    push_node(events, key, tail);
                } else {
                    let mut key = key.clone();
                    key.foot_comment.clear();
                    push_node(events, &key, tail);
                }
                tail = foot;
                push_node(events, value, String::new());
            }
            events.push(Event::MappingEnd {
                tail,
                line: node.line_comment.clone(),
                foot: node.foot_comment.clone(),
            });
        }
    }
}

/// The emitter's states this port needs (libyaml's `yaml_EMIT_*_STATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    DocumentStart { first: bool },
    DocumentContent,
    DocumentEnd,
    FlowSequenceFirstItem,
    FlowMappingFirstKey,
    BlockSequenceItem { first: bool },
    BlockMappingKey { first: bool },
    BlockMappingValue { simple: bool },
}

struct Emitter {
    w: Writer,
    states: Vec<State>,
    head: String,
    line: String,
    foot: String,
    tail: String,
    key_line: String,
    flow_level: usize,
    simple_key: bool,
}

impl Emitter {
    fn run(&mut self, events: &[Event]) {
        let mut state = State::DocumentStart { first: true };
        for (i, event) in events.iter().enumerate() {
            self.analyze(event);
            state = self.step(state, event, &events[i + 1..]);
        }
    }

    /// `analyze_event`'s comment part: an event's comments replace the registers'.
    fn analyze(&mut self, event: &Event) {
        let (head, line, foot, tail) = match event {
            Event::DocumentStart | Event::DocumentEnd => return,
            Event::SequenceStart { head } => (head.as_str(), "", "", ""),
            Event::SequenceEnd { line, foot } => ("", line.as_str(), foot.as_str(), ""),
            Event::MappingStart { head, tail } => (head.as_str(), "", "", tail.as_str()),
            Event::MappingEnd { tail, line, foot } => {
                ("", line.as_str(), foot.as_str(), tail.as_str())
            }
            Event::Scalar {
                head,
                line,
                foot,
                tail,
                ..
            } => (head.as_str(), line.as_str(), foot.as_str(), tail.as_str()),
        };
        for (register, value) in [
            (&mut self.head, head),
            (&mut self.line, line),
            (&mut self.foot, foot),
            (&mut self.tail, tail),
        ] {
            if !value.is_empty() {
                value.clone_into(register);
            }
        }
    }

    fn pop_state(&mut self) -> State {
        self.states.pop().unwrap_or(State::DocumentEnd)
    }

    /// Handles one event in `state` and returns the next state.
    fn step(&mut self, state: State, event: &Event, rest: &[Event]) -> State {
        match state {
            State::DocumentStart { first } => {
                if !first {
                    self.w.write_indent();
                    self.w.write_indicator("---", true, false, false);
                    self.w.write_indent();
                }
                State::DocumentContent
            }
            State::DocumentContent => {
                self.states.push(State::DocumentEnd);
                self.process_head_comment();
                let next = self.node(event, rest, Context::Root);
                self.process_line_comment();
                self.process_foot_comment();
                next
            }
            State::DocumentEnd => {
                self.w.set_foot_indent(0);
                self.process_foot_comment();
                self.w.set_foot_indent(-1);
                self.w.write_indent();
                State::DocumentStart { first: false }
            }
            State::FlowSequenceFirstItem | State::FlowMappingFirstKey => {
                // Only empty collections are written in flow style: `[]`, `{}`.
                let sequence = state == State::FlowSequenceFirstItem;
                self.w
                    .write_indicator(if sequence { "[" } else { "{" }, true, true, false);
                self.w.increase_indent_v3(true, false);
                self.flow_level += 1;
                if !sequence {
                    self.process_head_comment();
                }
                self.flow_level -= 1;
                self.w.pop_indent();
                if sequence && self.w.column() == 0 {
                    self.w.write_indent();
                }
                self.w
                    .write_indicator(if sequence { "]" } else { "}" }, false, false, false);
                self.process_line_comment();
                self.process_foot_comment();
                self.pop_state()
            }
            State::BlockSequenceItem { first } => {
                if first {
                    let in_item =
                        self.states.last() == Some(&State::BlockSequenceItem { first: false });
                    self.w.increase_indent_v3(false, in_item);
                }
                if matches!(event, Event::SequenceEnd { .. }) {
                    self.w.pop_indent();
                    return self.pop_state();
                }
                self.process_head_comment();
                self.w.write_indent();
                self.w.write_indicator("-", true, false, true);
                self.states.push(State::BlockSequenceItem { first: false });
                let next = self.node(event, rest, Context::SequenceItem);
                self.process_line_comment();
                self.process_foot_comment();
                next
            }
            State::BlockMappingKey { first } => {
                if first {
                    let in_item =
                        self.states.last() == Some(&State::BlockSequenceItem { first: false });
                    self.w.increase_indent_v3(false, in_item);
                }
                self.process_head_comment();
                if matches!(event, Event::MappingEnd { .. }) {
                    self.w.pop_indent();
                    return self.pop_state();
                }
                self.w.write_indent();
                if !self.line.is_empty() {
                    self.key_line = std::mem::take(&mut self.line);
                }
                if is_simple_key(event, rest) {
                    self.states.push(State::BlockMappingValue { simple: true });
                    self.node(event, rest, Context::SimpleKey)
                } else {
                    self.w.write_indicator("?", true, false, true);
                    self.states.push(State::BlockMappingValue { simple: false });
                    self.node(event, rest, Context::MappingKey)
                }
            }
            State::BlockMappingValue { simple } => {
                if simple {
                    self.w.write_indicator(":", false, false, false);
                } else {
                    self.w.write_indent();
                    self.w.write_indicator(":", true, false, true);
                }
                if !self.key_line.is_empty() {
                    match event {
                        Event::Scalar { .. } if self.line.is_empty() => {
                            self.line = std::mem::take(&mut self.key_line);
                        }
                        Event::MappingStart { .. } | Event::SequenceStart { .. } => {
                            std::mem::swap(&mut self.line, &mut self.key_line);
                            self.process_line_comment();
                            std::mem::swap(&mut self.line, &mut self.key_line);
                        }
                        _ => {}
                    }
                }
                self.states.push(State::BlockMappingKey { first: false });
                let next = self.node(event, rest, Context::MappingValue);
                self.process_line_comment();
                self.process_foot_comment();
                next
            }
        }
    }

    /// `emit_node`: a scalar is written now; a collection start picks the next state.
    fn node(&mut self, event: &Event, rest: &[Event], context: Context) -> State {
        self.simple_key = context == Context::SimpleKey;
        match event {
            Event::Scalar {
                value, style, tag, ..
            } => {
                self.scalar(value, *style, tag.as_deref());
                self.pop_state()
            }
            Event::SequenceStart { .. } => {
                if matches!(rest.first(), Some(Event::SequenceEnd { .. })) {
                    State::FlowSequenceFirstItem
                } else {
                    State::BlockSequenceItem { first: true }
                }
            }
            Event::MappingStart { .. } => {
                if matches!(rest.first(), Some(Event::MappingEnd { .. })) {
                    State::FlowMappingFirstKey
                } else {
                    State::BlockMappingKey { first: true }
                }
            }
            // The event list is built from a tree: ends and documents never come here.
            Event::SequenceEnd { .. }
            | Event::MappingEnd { .. }
            | Event::DocumentStart
            | Event::DocumentEnd => self.pop_state(),
        }
    }

    /// `select_scalar_style` and `process_scalar`.
    fn scalar(&mut self, value: &str, requested: Style, tag: Option<&str>) {
        let analysis = Analysis::of(value);
        let mut style = requested;
        if self.simple_key && analysis.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain
            && (!analysis.block_plain_allowed || (value.is_empty() && self.simple_key))
        {
            style = Style::SingleQuoted;
        }
        if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if matches!(style, Style::Literal | Style::Folded)
            && (!analysis.block_allowed || self.simple_key)
        {
            style = Style::DoubleQuoted;
        }
        if let Some(tag) = tag {
            // `process_tag`: the tag, then the scalar after a space.
            self.w.write_indicator(tag, true, false, false);
        }
        self.w.increase_indent_v3(true, false);
        let allow_breaks = !self.simple_key;
        match style {
            Style::Plain => self.w.write_plain(value, allow_breaks),
            Style::SingleQuoted => self.w.write_single_quoted(value, allow_breaks),
            Style::DoubleQuoted => self.w.write_double_quoted(value, allow_breaks),
            // A folded scalar is written literally: the same value, read back the same.
            Style::Literal | Style::Folded => {
                let comment = std::mem::take(&mut self.line);
                self.w.write_literal(value, &comment);
            }
        }
        self.w.pop_indent();
    }

    fn process_head_comment(&mut self) {
        if !self.tail.is_empty() {
            self.w.write_indent();
            let tail = std::mem::take(&mut self.tail);
            self.w.write_comment(&tail);
            self.w.set_foot_indent(self.w.indent().max(0));
        }
        if self.head.is_empty() {
            return;
        }
        self.w.write_indent();
        let head = std::mem::take(&mut self.head);
        self.w.write_comment(&head);
    }

    fn process_line_comment(&mut self) {
        if self.line.is_empty() {
            return;
        }
        self.w.space_unless_whitespace();
        let line = std::mem::take(&mut self.line);
        self.w.write_comment(&line);
    }

    fn process_foot_comment(&mut self) {
        if self.foot.is_empty() {
            return;
        }
        self.w.write_indent();
        let foot = std::mem::take(&mut self.foot);
        self.w.write_comment(&foot);
        self.w.set_foot_indent(self.w.indent().max(0));
    }
}

/// Where a node is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    SequenceItem,
    MappingValue,
    SimpleKey,
    MappingKey,
}

/// `check_simple_key`: a one-line scalar of at most 128 bytes, or an empty collection.
fn is_simple_key(event: &Event, rest: &[Event]) -> bool {
    match event {
        Event::Scalar { value, tag, .. } => {
            !Analysis::of(value).multiline
                && value.len() + tag.as_ref().map_or(0, String::len) <= 128
        }
        Event::SequenceStart { .. } => matches!(rest.first(), Some(Event::SequenceEnd { .. })),
        Event::MappingStart { .. } => matches!(rest.first(), Some(Event::MappingEnd { .. })),
        _ => false,
    }
}

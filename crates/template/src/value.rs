//! Go's dynamic values as Helm's templates see them.

use std::cell::{Ref, RefCell, RefMut};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::rc::Rc;

use super::Error;
use super::funcs::Signature;

/// A Go value held in an `interface{}`.
///
/// Maps are references, as in Go: cloning a `Value::Map` shares the map, and Sprig's
/// `set`/`merge`/… mutate it for every holder. Lists are immutable once built (no Sprig
/// function mutates a slice in place), so they are shared without a cell.
#[derive(Clone, Default)]
pub enum Value {
    /// The nil interface.
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// `int`: template integer constants, `len`, `atoi`, `int`.
    Int(i64),
    /// `int64`: Sprig arithmetic (`add`, `mul`, …), `int64`, `toDecimal`.
    Int64(i64),
    /// `float64`: every number in Helm's values.
    Float(f64),
    /// `string`.
    String(Rc<str>),
    /// A slice (`[]interface {}`, `[]string` or `[]int`).
    List(List),
    /// `map[string]interface {}`, iterated in sorted key order.
    Map(Map),
    /// A method-bearing Go object supplied by the caller (`.Files`, `.Capabilities`).
    Object(Rc<dyn Object>),
}

/// A Go object with fields and methods, exposed to templates by the embedding program.
pub trait Object {
    /// Go's type name as `%T` prints it, e.g. `*common.Capabilities`.
    fn type_name(&self) -> String;
    /// Go's kind as `reflect.Kind.String()` names it (`ptr`, `struct`, `map`).
    fn kind_name(&self) -> &'static str;
    /// The field `name`, or `None` if there is no such field.
    fn field(&self, name: &str) -> Option<Value>;
    /// The parameters of the method `name`, or `None` (the default) if there is no such
    /// method. The engine checks the arguments' number and types against them as Go
    /// does before it calls [`Object::call_method`]; a method shadows a field.
    fn method(&self, _name: &str) -> Option<Signature> {
        None
    }
    /// Calls the method `name`, which [`Object::method`] declared, with arguments of the
    /// declared types. The error string is the method's error text (the engine wraps it
    /// as Go does).
    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        Err(format!("{} has no method {name}", self.type_name()))
    }
    /// The value as `fmt`'s `%v` prints it.
    fn display(&self) -> String;
    /// The value as a template action prints it (`{{ .Capabilities }}`), by default as
    /// [`Object::display`]. It differs where Go's template dereferences a pointer first,
    /// or calls the `String` method of a field's pointer, which `fmt` does not see on a
    /// copy of the value.
    fn action_display(&self) -> String {
        self.display()
    }
    /// The value as `encoding/json` marshals it.
    fn to_json(&self) -> Result<serde_json::Value, Error>;
    /// The Go map ([`Value::Map`]) or slice ([`Value::List`]) the object is, which
    /// `range`, `len`, `index` and truth tests see (Helm's `.Files` is a map of paths to
    /// bytes); `None`, the default, for structs and pointers.
    fn collection(&self) -> Option<Value> {
        None
    }
    /// The object as [`std::any::Any`], so that functions taking a specific Go type
    /// (Sprig's `time.Time`, `sprig.certificate`) can recover it; `None`, the default,
    /// for objects nobody downcasts.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// The element type of a Go slice, which `%T` and `typeOf` reveal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemType {
    /// `[]interface {}`.
    Interface,
    /// `[]string`.
    String,
    /// `[]int`.
    Int,
    /// `[]uint8` (`[]byte`): file contents.
    Byte,
}

/// A Go slice value: shared, immutable elements plus the slice's element type.
#[derive(Clone)]
pub struct List {
    items: Rc<Vec<Value>>,
    elem: ElemType,
}

impl List {
    /// A `[]interface {}`.
    pub fn new(items: Vec<Value>) -> List {
        List {
            items: Rc::new(items),
            elem: ElemType::Interface,
        }
    }

    /// A `[]string` (every item must be a `Value::String`).
    pub fn strings(items: Vec<String>) -> List {
        List {
            items: Rc::new(items.into_iter().map(Value::from).collect()),
            elem: ElemType::String,
        }
    }

    /// A `[]int`.
    pub fn ints(items: Vec<i64>) -> List {
        List {
            items: Rc::new(items.into_iter().map(Value::Int).collect()),
            elem: ElemType::Int,
        }
    }

    /// A `[]byte`.
    pub fn bytes(bytes: &[u8]) -> List {
        List {
            items: Rc::new(bytes.iter().map(|b| Value::Int(i64::from(*b))).collect()),
            elem: ElemType::Byte,
        }
    }

    /// The bytes of a `[]byte` (Go's `string(b)` reads them), `None` for other slices.
    pub fn as_bytes(&self) -> Option<Vec<u8>> {
        (self.elem == ElemType::Byte).then(|| {
            self.items
                .iter()
                .map(|v| match v {
                    Value::Int(b) => u8::try_from(*b).unwrap_or_default(),
                    _ => 0,
                })
                .collect()
        })
    }

    /// The slice's element type.
    pub fn elem(&self) -> ElemType {
        self.elem
    }

    /// The items.
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the slice has no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Go's type name of the slice.
    pub fn type_name(&self) -> &'static str {
        match self.elem {
            ElemType::Interface => "[]interface {}",
            ElemType::String => "[]string",
            ElemType::Int => "[]int",
            ElemType::Byte => "[]uint8",
        }
    }
}

/// A shared, mutable `map[string]interface {}`, or a map of another Go type: a named
/// type with that underlying type (Helm's `common.Values`), which `typeOf` and type
/// assertions tell apart and which may have methods, or `map[string]string`.
#[derive(Clone, Default)]
pub struct Map {
    entries: Rc<RefCell<BTreeMap<String, Value>>>,
    map_type: Option<Rc<MapType>>,
    /// A Go nil map: empty, but `null` to `encoding/json`.
    nil: bool,
}

/// A Go map type other than `map[string]interface {}`: its name, as `%T` prints it, its
/// element type, and the methods the embedding program declares on it (Helm's
/// `common.Values.AsMap`, …). As in Go, a method shadows the map key of the same name
/// in a field chain (`.Values.AsMap`), while `index` still reads the key.
pub struct MapType {
    name: String,
    elem: ElemType,
    methods: HashMap<String, Method>,
}

/// A method of a [`MapType`]: Go's parameter list, and the body, which receives the
/// map and arguments already checked against the parameters. A body returning Go's
/// `(T, error)` returns the error as `Err`, which fails the template as Go's does.
pub struct Method {
    signature: Signature,
    body: Box<MethodBody>,
}

/// A method's body: the receiver and the checked arguments in, a value or Go's error
/// text out.
type MethodBody = dyn Fn(&Map, &[Value]) -> Result<Value, String>;

impl Method {
    /// The method's parameters.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Calls the method on `receiver`.
    pub fn call(&self, receiver: &Map, args: &[Value]) -> Result<Value, String> {
        (self.body)(receiver, args)
    }
}

impl MapType {
    /// The type `name` with `interface {}` elements, without methods.
    pub fn new(name: &str) -> MapType {
        MapType {
            name: name.to_string(),
            elem: ElemType::Interface,
            methods: HashMap::new(),
        }
    }

    /// `map[string]string`: its elements are strings, and a missing key reads as `""`.
    pub fn strings() -> MapType {
        MapType {
            elem: ElemType::String,
            ..MapType::new("map[string]string")
        }
    }

    /// Declares the method `name` with its parameters and body.
    pub fn with_method(
        mut self,
        name: &str,
        signature: Signature,
        body: impl Fn(&Map, &[Value]) -> Result<Value, String> + 'static,
    ) -> MapType {
        self.methods.insert(
            name.to_string(),
            Method {
                signature,
                body: Box::new(body),
            },
        );
        self
    }

    /// Go's name of the type.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type of the elements.
    pub fn elem(&self) -> ElemType {
        self.elem
    }

    /// The method `name`, if the type has one.
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods.get(name)
    }
}

impl Map {
    /// An empty map.
    pub fn new() -> Map {
        Map::default()
    }

    /// A map owning `entries`.
    pub fn from_entries(entries: BTreeMap<String, Value>) -> Map {
        Map {
            entries: Rc::new(RefCell::new(entries)),
            map_type: None,
            nil: false,
        }
    }

    /// A nil map of the type `map_type` (Helm's `.Chart.Annotations` when a chart has
    /// none): empty, but `null` when marshalled.
    pub fn nil_of(map_type: Rc<MapType>) -> Map {
        Map {
            nil: true,
            ..Map::new().with_type(map_type)
        }
    }

    /// True for a nil map.
    pub fn is_nil(&self) -> bool {
        self.nil
    }

    /// The same map seen as the Go type `map_type` (e.g. Helm's `common.Values`).
    pub fn with_type(&self, map_type: Rc<MapType>) -> Map {
        Map {
            map_type: Some(map_type),
            ..self.clone()
        }
    }

    /// The same map seen as the Go type `name`, a named type with `interface {}`
    /// elements and no methods.
    pub fn named(&self, name: &str) -> Map {
        self.with_type(Rc::new(MapType::new(name)))
    }

    /// The same map as a plain `map[string]interface {}` (Go's conversion on passing a
    /// named map to a parameter of the unnamed type).
    pub fn unnamed(&self) -> Map {
        Map {
            map_type: None,
            ..self.clone()
        }
    }

    /// The Go type name of a named map, `None` for `map[string]interface {}`.
    pub fn type_name(&self) -> Option<&str> {
        self.map_type.as_deref().map(MapType::name)
    }

    /// The Go type of the map, `None` for `map[string]interface {}`.
    pub fn map_type(&self) -> Option<&Rc<MapType>> {
        self.map_type.as_ref()
    }

    /// The type of the elements.
    pub fn elem(&self) -> ElemType {
        self.map_type
            .as_deref()
            .map_or(ElemType::Interface, MapType::elem)
    }

    /// The zero value of the element type, which a missing key reads as.
    pub fn zero_elem(&self) -> Value {
        match self.elem() {
            ElemType::String => Value::from(""),
            ElemType::Int | ElemType::Byte => Value::Int(0),
            ElemType::Interface => Value::Nil,
        }
    }

    /// The value at `key` (a cheap clone: maps and lists are shared).
    pub fn get(&self, key: &str) -> Option<Value> {
        self.entries.borrow().get(key).cloned()
    }

    /// True if `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.borrow().contains_key(key)
    }

    /// Sets `key`, visible to every holder of this map.
    pub fn insert(&self, key: impl Into<String>, value: Value) {
        self.entries.borrow_mut().insert(key.into(), value);
    }

    /// Removes `key`, visible to every holder of this map.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.entries.borrow_mut().remove(key)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// True when the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// Borrows the entries (sorted by key, as Go prints and ranges over them).
    pub fn borrow(&self) -> Ref<'_, BTreeMap<String, Value>> {
        self.entries.borrow()
    }

    /// Mutably borrows the entries.
    pub fn borrow_mut(&self) -> RefMut<'_, BTreeMap<String, Value>> {
        self.entries.borrow_mut()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.entries.borrow().keys().cloned().collect()
    }

    /// A snapshot of the entries, sorted by key; safe to hold while the map changes.
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.entries
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// True when both handles share one map.
    pub fn ptr_eq(&self, other: &Map) -> bool {
        Rc::ptr_eq(&self.entries, &other.entries)
    }
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<Rc<str>>) -> Value {
        Value::String(s.into())
    }

    /// Converts JSON the way Helm sees values: every number becomes `float64` (Helm's
    /// values pass through `encoding/json` into `interface{}`).
    pub fn from_json_floats(json: &serde_json::Value) -> Value {
        Value::convert_json(json, true)
    }

    fn convert_json(json: &serde_json::Value, floats: bool) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) if !floats => Value::Int(i),
                _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::string(s.as_str()),
            serde_json::Value::Array(items) => Value::List(List::new(
                items
                    .iter()
                    .map(|v| Value::convert_json(v, floats))
                    .collect(),
            )),
            serde_json::Value::Object(entries) => Value::Map(Map::from_entries(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::convert_json(v, floats)))
                    .collect(),
            )),
        }
    }

    /// The value as Go's `encoding/json` sees it (maps keyed in sorted order). NaN and
    /// infinities are errors, as `json.Marshal` reports them.
    pub fn to_json(&self) -> Result<serde_json::Value, Error> {
        self.to_json_in(&mut JsonCycles::default())
    }

    fn to_json_in(&self, cycles: &mut JsonCycles) -> Result<serde_json::Value, Error> {
        Ok(match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) | Value::Int64(i) => serde_json::Value::from(*i),
            Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => serde_json::Value::Number(n),
                None => {
                    return Err(Error::new(format!(
                        "json: unsupported value: {}",
                        crunch_gostd::strconv::format_float(*f, 'g', -1, 64)
                    )));
                }
            },
            Value::String(s) => serde_json::Value::String(s.to_string()),
            // `encoding/json` writes a `[]byte` as a base64 string.
            Value::List(l) if l.elem() == ElemType::Byte => {
                use base64::Engine as _;
                let bytes = l.as_bytes().unwrap_or_default();
                serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            Value::List(l) => serde_json::Value::Array(
                l.items()
                    .iter()
                    .map(|v| v.to_json_in(cycles))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Map(m) if m.is_nil() => serde_json::Value::Null,
            Value::Map(m) => {
                cycles.enter(m).map_err(Error::new)?;
                let mut out = serde_json::Map::new();
                for (k, v) in m.borrow().iter() {
                    out.insert(k.clone(), v.to_json_in(cycles)?);
                }
                cycles.leave();
                serde_json::Value::Object(out)
            }
            Value::Object(o) => o.to_json()?,
        })
    }

    /// Go's type name as `%T` prints it (`<nil>` for nil).
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::List(l) => l.type_name().into(),
            Value::Map(m) => m.type_name().unwrap_or("map[string]interface {}").into(),
            Value::Object(o) => o.type_name(),
        }
    }

    /// Go's `reflect.Kind` name (`invalid` for nil), as Sprig's `kindOf` reports it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => o.kind_name(),
        }
    }

    /// Go's template truth: false, 0, nil, and empty strings, slices and maps are false.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => o.collection().is_none_or(|c| c.is_true()),
        }
    }

    /// The value itself, or the map or slice an [`Object`] is: what `range`, `len` and
    /// `index` operate on.
    pub fn as_collection(&self) -> Value {
        match self {
            Value::Object(o) => o.collection().unwrap_or_else(|| self.clone()),
            other => other.clone(),
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The map, if this is a map.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Go's `reflect.DeepEqual` on two interface values.
    pub fn deep_equal(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) | (Value::Int64(a), Value::Int64(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                a.elem() == b.elem()
                    && a.len() == b.len()
                    && a.items()
                        .iter()
                        .zip(b.items())
                        .all(|(x, y)| x.deep_equal(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                if a.type_name() != b.type_name() || a.is_nil() != b.is_nil() {
                    return false;
                }
                if a.ptr_eq(b) {
                    return true;
                }
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.deep_equal(w)))
            }
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// A deep copy: maps are copied so the result shares nothing mutable.
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::List(l) => Value::List(List {
                items: Rc::new(l.items().iter().map(Value::deep_copy).collect()),
                elem: l.elem(),
            }),
            Value::Map(m) => {
                let entries = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy()))
                    .collect();
                Value::Map(Map {
                    entries: Rc::new(RefCell::new(entries)),
                    ..m.clone()
                })
            }
            other => other.clone(),
        }
    }
}

/// Go's `encoding/json` guard against cyclic maps (`set . "self" .`), which would
/// otherwise recurse until the stack overflows: past 1000 nested maps it remembers the
/// maps being encoded, and meeting one again is Go's "encountered a cycle" error.
#[derive(Default)]
pub(crate) struct JsonCycles {
    depth: usize,
    open: Vec<Map>,
}

impl JsonCycles {
    /// Go's `startDetectingCyclesAfter`.
    const START_AFTER: usize = 1000;

    /// Starts encoding `m`; the error is Go's message.
    pub(crate) fn enter(&mut self, m: &Map) -> Result<(), String> {
        self.depth += 1;
        if self.depth > Self::START_AFTER {
            if self.open.iter().any(|o| o.ptr_eq(m)) {
                let ty = m.type_name().unwrap_or("map[string]interface {}");
                return Err(format!(
                    "json: unsupported value: encountered a cycle via {ty}"
                ));
            }
            self.open.push(m.clone());
        }
        Ok(())
    }

    /// Done with the map last entered.
    pub(crate) fn leave(&mut self) {
        if self.depth > Self::START_AFTER {
            self.open.pop();
        }
        self.depth -= 1;
    }
}

impl From<&serde_json::Value> for Value {
    /// Converts JSON: integers become `int`, other numbers `float64`. For Helm's view of
    /// values (every number `float64`) use [`Value::from_json_floats`].
    fn from(json: &serde_json::Value) -> Value {
        Value::convert_json(json, false)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s.into())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Map(m)
    }
}

impl From<List> for Value {
    fn from(l: List) -> Value {
        Value::List(l)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}({})",
            self.type_name(),
            super::fmt::sprint_value(self)
        )
    }
}

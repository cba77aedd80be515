//! The object store: one map of JSON objects, one global resourceVersion counter, and a
//! log of watch events that late watchers replay from a resourceVersion.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::broadcast;

/// Where an object lives: group and plural (versions share storage), namespace ("" for
/// cluster-scoped objects) and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// API group, "" for core.
    pub group: String,
    /// Plural resource name.
    pub plural: String,
    /// Namespace, "" when cluster-scoped.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl Key {
    /// Key of `obj` in `group`/`plural`, read from its metadata.
    pub fn of(group: &str, plural: &str, obj: &Value) -> Key {
        Key {
            group: group.to_string(),
            plural: plural.to_string(),
            namespace: meta_str(obj, "namespace").to_string(),
            name: meta_str(obj, "name").to_string(),
        }
    }
}

/// Watch event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// The name watch streams use.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as watchers receive it.
#[derive(Clone, Debug)]
pub struct Event {
    /// What changed.
    pub key: Key,
    /// resourceVersion of the change.
    pub rv: u64,
    /// Type of change.
    pub kind: EventType,
    /// The object after the change (before removal for DELETED).
    pub object: Value,
}

/// Events kept for watches that start from an older resourceVersion.
const LOG_LIMIT: usize = 20_000;

/// All objects of the double.
pub struct Store {
    objects: BTreeMap<Key, Value>,
    rv: u64,
    log: VecDeque<Arc<Event>>,
    tx: broadcast::Sender<Arc<Event>>,
    seed: u64,
}

/// `metadata.<field>` as a string, "" when absent.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The object's `metadata` map, created when missing.
pub fn meta_mut(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(map)) => map,
        _ => unreachable!("metadata was just made an object"),
    }
}

/// Now in RFC 3339 with second precision, as `metav1.Time` serialises.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Everything outside `metadata` and `status`: what `generation` tracks.
fn spec_part(obj: &Value) -> Value {
    let mut copy = obj.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    copy
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        let (tx, _) = broadcast::channel(4096);
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Store {
            objects: BTreeMap::new(),
            rv: 1,
            log: VecDeque::new(),
            tx,
            seed: seed | 1,
        }
    }

    /// The latest resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// A pseudo-random number (xorshift); names and uids need variety, not security.
    pub fn random(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    /// `n` characters from the alphabet Kubernetes uses for generated names.
    pub fn suffix(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..n)
            .map(|_| ALPHABET[(self.random() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }

    /// A version-4 style UUID.
    pub fn uid(&mut self) -> String {
        let (a, b) = (self.random(), self.random());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    /// The object at `key`.
    pub fn get(&self, key: &Key) -> Option<&Value> {
        self.objects.get(key)
    }

    /// Objects of one resource, in one namespace or all.
    pub fn list(&self, group: &str, plural: &str, namespace: Option<&str>) -> Vec<(Key, Value)> {
        self.objects
            .iter()
            .filter(|(k, _)| k.group == group && k.plural == plural)
            .filter(|(k, _)| namespace.is_none_or(|ns| k.namespace == ns))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Every object, for the controllers' cross-resource scans.
    pub fn all(&self) -> impl Iterator<Item = (&Key, &Value)> {
        self.objects.iter()
    }

    fn emit(&mut self, key: Key, kind: EventType, object: Value) {
        let event = Arc::new(Event {
            key,
            rv: self.rv,
            kind,
            object,
        });
        self.log.push_back(event.clone());
        if self.log.len() > LOG_LIMIT {
            self.log.pop_front();
        }
        // No receiver is not an error: nobody is watching.
        let _ = self.tx.send(event);
    }

    /// Stamp a new object (uid, creationTimestamp, resourceVersion, generation when tracked)
    /// without storing it; dry runs use this too.
    pub fn stamp_new(&mut self, obj: &mut Value, generation: bool) {
        let uid = self.uid();
        let meta = meta_mut(obj);
        meta.insert("uid".into(), json!(uid));
        meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
        meta.insert("resourceVersion".into(), json!((self.rv + 1).to_string()));
        if generation {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
    }

    /// Store a new, already stamped object.
    pub fn create(&mut self, key: Key, mut obj: Value) -> Value {
        self.rv += 1;
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(self.rv.to_string()));
        self.objects.insert(key.clone(), obj.clone());
        self.emit(key, EventType::Added, obj.clone());
        obj
    }

    /// The object `new` would become as an update of `old`: generation bumped when the spec
    /// part changed, resourceVersion of the next write.
    pub fn prepare_update(&self, old: &Value, new: &mut Value, generation: bool) {
        let old_generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let bumped = spec_part(old) != spec_part(new);
        let meta = meta_mut(new);
        if generation {
            meta.insert(
                "generation".into(),
                json!(old_generation + i64::from(bumped)),
            );
        }
        meta.insert("resourceVersion".into(), json!((self.rv + 1).to_string()));
    }

    /// Replace the object at `key`; an object being deleted whose last finalizer went away is
    /// removed instead. Returns what the client sees.
    pub fn update(&mut self, key: Key, mut obj: Value) -> Value {
        self.rv += 1;
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(self.rv.to_string()));
        let deleting = obj.pointer("/metadata/deletionTimestamp").is_some();
        let pending = |pointer: &str| {
            obj.pointer(pointer)
                .and_then(Value::as_array)
                .is_some_and(|f| !f.is_empty())
        };
        // Namespaces also wait for their spec finalizers (their contents being removed).
        let namespace = key.group.is_empty() && key.plural == "namespaces";
        let finalizers =
            pending("/metadata/finalizers") || (namespace && pending("/spec/finalizers"));
        if deleting && !finalizers {
            self.objects.remove(&key);
            self.emit(key, EventType::Deleted, obj.clone());
            return obj;
        }
        self.objects.insert(key.clone(), obj.clone());
        self.emit(key, EventType::Modified, obj.clone());
        obj
    }

    /// Remove the object at `key`.
    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.rv += 1;
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(self.rv.to_string()));
        self.emit(key.clone(), EventType::Deleted, obj.clone());
        Some(obj)
    }

    /// Events after `since` still in the log (None when `since` is older than the log) and
    /// a receiver for later ones; taken together under the caller's lock so none is lost.
    pub fn watch_from(
        &self,
        since: u64,
    ) -> (Option<Vec<Arc<Event>>>, broadcast::Receiver<Arc<Event>>) {
        let rx = self.tx.subscribe();
        let oldest = self.log.front().map_or(self.rv, |e| e.rv.saturating_sub(1));
        if since < oldest {
            return (None, rx);
        }
        let backlog = self.log.iter().filter(|e| e.rv > since).cloned().collect();
        (Some(backlog), rx)
    }
}

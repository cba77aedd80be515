//! Sprig's `semver` and `semverCompare`, over [`crunch_semver`] (Masterminds/semver v3).

use std::rc::Rc;

use super::conv::s;
use crate::funcs::{FuncMap, Signature, Type};
use crate::{Error, Object, Value};
use crunch_semver::{Constraints, Version};

/// A Masterminds version as templates see it: `*semver.Version` from `semver`, or the
/// `semver.Version` value its `IncMinor`, `SetPrerelease`, … methods return.
struct VersionObject {
    version: Version,
    pointer: bool,
}

impl VersionObject {
    fn value(version: Version, pointer: bool) -> Value {
        Value::Object(Rc::new(VersionObject { version, pointer }))
    }
}

impl Object for VersionObject {
    fn type_name(&self) -> String {
        let star = if self.pointer { "*" } else { "" };
        format!("{star}semver.Version")
    }

    fn kind_name(&self) -> &'static str {
        if self.pointer { "ptr" } else { "struct" }
    }

    fn field(&self, _name: &str) -> Option<Value> {
        // Every field of a Masterminds version is unexported.
        None
    }

    fn method(&self, name: &str) -> Option<Signature> {
        match name {
            "SetPrerelease" | "SetMetadata" => Some(Signature::new(&[Type::String])),
            // `Original` has a pointer receiver: method results, being values, lack it.
            "Original" if !self.pointer => None,
            "Major" | "Minor" | "Patch" | "Prerelease" | "Metadata" | "Original" | "String"
            | "IncPatch" | "IncMinor" | "IncMajor" => Some(Signature::new(&[])),
            _ => None,
        }
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let v = &self.version;
        let text = || args.first().map(s).unwrap_or_default();
        let set = |r: Result<Version, crunch_semver::Error>| {
            r.map(|v| VersionObject::value(v, false))
                .map_err(|e| e.to_string())
        };
        match name {
            "Major" => Ok(Value::Int64(v.major() as i64)),
            "Minor" => Ok(Value::Int64(v.minor() as i64)),
            "Patch" => Ok(Value::Int64(v.patch() as i64)),
            "Prerelease" => Ok(Value::from(v.prerelease())),
            "Metadata" => Ok(Value::from(v.metadata())),
            "Original" => Ok(Value::from(v.original())),
            "String" => Ok(Value::from(v.to_string())),
            "IncPatch" => Ok(VersionObject::value(v.inc_patch(), false)),
            "IncMinor" => Ok(VersionObject::value(v.inc_minor(), false)),
            "IncMajor" => Ok(VersionObject::value(v.inc_major(), false)),
            "SetPrerelease" => set(v.with_prerelease(text())),
            "SetMetadata" => set(v.with_metadata(text())),
            _ => Err(format!("{} has no method {name}", self.type_name())),
        }
    }

    fn display(&self) -> String {
        self.version.to_string()
    }

    fn to_json(&self) -> Result<serde_json::Value, Error> {
        Ok(serde_json::Value::String(self.version.to_string()))
    }
}

pub(super) fn install(m: &mut FuncMap) {
    let two = Signature::new(&[Type::String, Type::String]);
    m.insert("semverCompare", two, |_, a| {
        let c = Constraints::parse(s(&a[0])).map_err(|e| e.to_string())?;
        let v = Version::parse(s(&a[1])).map_err(|e| e.to_string())?;
        Ok(Value::Bool(c.check(&v)))
    });
    m.insert("semver", Signature::new(&[Type::String]), |_, a| {
        let v = Version::parse(s(&a[0])).map_err(|e| e.to_string())?;
        Ok(VersionObject::value(v, true))
    });
}

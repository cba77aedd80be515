//! Sprig's `urlParse` and `urlJoin` over Go's `net/url` rules.

mod gourl;

use gourl::Url;

use super::conv::{NIL_DEREF, s};
use crate::funcs::{FuncMap, Signature, Type};
use crate::{Map, Value};

/// Sprig's `urlParse`: the URL's parts as a dict of strings.
fn url_parse(raw: &str) -> Result<Value, String> {
    let url = Url::parse(raw).map_err(|e| format!("unable to parse url: {e}"))?;
    let dict = Map::new();
    let parts = [
        ("scheme", url.scheme.clone()),
        ("host", url.host.clone()),
        ("hostname", url.hostname().to_string()),
        ("path", url.path.clone()),
        ("query", url.raw_query.clone()),
        ("opaque", url.opaque.clone()),
        ("fragment", url.fragment.clone()),
        (
            "userinfo",
            url.user
                .as_ref()
                .map(|u| u.to_go_string())
                .unwrap_or_default(),
        ),
    ];
    for (k, v) in parts {
        dict.insert(k, v.into());
    }
    Ok(Value::Map(dict))
}

/// Sprig's `dictGetOrEmpty`: a string entry, "" when missing, an error otherwise.
fn part(dict: &Map, key: &str) -> Result<String, String> {
    match dict.get(key) {
        None => Ok(String::new()),
        Some(Value::String(v)) => Ok(v.to_string()),
        // `reflect.TypeOf(nil).Kind()` dereferences a nil type.
        Some(Value::Nil) => Err(NIL_DEREF.into()),
        Some(other) => Err(format!(
            "unable to parse {key} key, must be of type string, but {} found",
            other.kind_name()
        )),
    }
}

/// Sprig's `urlJoin`: a URL string from a dict shaped like `urlParse`'s.
fn url_join(dict: &Map) -> Result<String, String> {
    let mut url = Url {
        scheme: part(dict, "scheme")?,
        host: part(dict, "host")?,
        path: part(dict, "path")?,
        raw_query: part(dict, "query")?,
        opaque: part(dict, "opaque")?,
        fragment: part(dict, "fragment")?,
        ..Url::default()
    };
    let info = part(dict, "userinfo")?;
    if !info.is_empty() {
        let probe = Url::parse(&format!("proto://{info}@host"))
            .map_err(|e| format!("unable to parse userinfo in dict: {e}"))?;
        url.user = probe.user;
    }
    Ok(url.to_go_string())
}

pub(super) fn install(m: &mut FuncMap) {
    m.insert("urlParse", Signature::new(&[Type::String]), |_, a| {
        url_parse(s(&a[0]))
    });
    m.insert("urlJoin", Signature::new(&[Type::Map]), |_, a| {
        let dict = a[0].as_map().cloned().unwrap_or_default();
        Ok(url_join(&dict)?.into())
    });
}

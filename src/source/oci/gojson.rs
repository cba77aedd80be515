//! Reading a JSON object's field as Go's `encoding/json` fills a struct field: the key
//! is matched case-insensitively (exact or folded), and when several keys match, the
//! last one wins. Docker's `config.json` and cosign's signature payloads are read by Go
//! programs that way, so `"Auths"` and `"Docker-manifest-digest"` count.

use serde_json::{Map, Value};

/// The value Go would decode into the struct field whose JSON name is `name` (ASCII).
pub(crate) fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .filter(|(key, _)| folds_to(key, name))
        .map(|(_, value)| value)
        .next_back()
}

/// Whether `key` equals the ASCII `name` under Unicode simple case folding, as Go's
/// `bytes.EqualFold` compares them: ASCII letters in either case, and the two non-ASCII
/// runes that fold to ASCII letters, U+212A KELVIN SIGN (`k`) and U+017F LONG S (`s`).
fn folds_to(key: &str, name: &str) -> bool {
    let mut name = name.chars();
    for c in key.chars() {
        let folded = match c {
            '\u{212A}' => 'k',
            '\u{017F}' => 's',
            c => c.to_ascii_lowercase(),
        };
        if name.next().map(|n| n.to_ascii_lowercase()) != Some(folded) {
            return false;
        }
    }
    name.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_match_as_go_decodes_them() {
        let object: Map<String, Value> = serde_json::from_str(
            r#"{"Docker-Manifest-Digest": "a", "other": 1, "docker-manifest-digest": "b"}"#,
        )
        .unwrap();
        assert_eq!(
            field(&object, "docker-manifest-digest"),
            Some(&Value::from("b"))
        );
        assert_eq!(field(&object, "missing"), None);
        let object: Map<String, Value> =
            serde_json::from_str("{\"\u{212A}ey\u{017F}\": 1}").unwrap();
        assert_eq!(field(&object, "keys"), Some(&Value::from(1)));
        let object: Map<String, Value> = serde_json::from_str(r#"{"key": 1}"#).unwrap();
        assert_eq!(field(&object, "keys"), None);
        assert_eq!(field(&object, "ke"), None);
    }
}

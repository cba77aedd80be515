//! SOPS's flattened metadata (`stores/flatten.go`) for the dotenv and INI stores:
//! `age__list_0__map_recipient` is `age[0].recipient`.

use serde_json::Value as Json;

use crate::error::Error;

#[derive(Debug)]
enum Token {
    Map(String),
    List(usize),
}

/// Largest list index accepted: metadata lists hold a few keys.
const MAX_INDEX: usize = 4096;

fn tokenize(path: &str) -> Vec<Token> {
    const MAP: &str = "__map_";
    const LIST: &str = "__list_";
    let mut tokens = Vec::new();
    let mut rest = path;
    let mut in_list = false;
    loop {
        let next_map = rest.find(MAP);
        let next_list = rest.find(LIST);
        let (end, next) = match (next_map, next_list) {
            (Some(m), Some(l)) if l < m => (l, Some(false)),
            (Some(m), _) => (m, Some(true)),
            (None, Some(l)) => (l, Some(false)),
            (None, None) => (rest.len(), None),
        };
        let part = &rest[..end];
        tokens.push(if in_list {
            // Go's `strconv.Atoi` failing gives 0, as in SOPS.
            Token::List(part.parse().unwrap_or(0))
        } else {
            Token::Map(part.to_owned())
        });
        match next {
            Some(is_map) => {
                rest = &rest[end + if is_map { MAP.len() } else { LIST.len() }..];
                in_list = !is_map;
            }
            None => return tokens,
        }
    }
}

fn place(root: &mut Json, path: &[Token], value: Json) -> Result<(), Error> {
    let mismatch = || Error::Metadata("flattened metadata keys do not form a tree".into());
    let Some((first, rest)) = path.split_first() else {
        if !root.is_null() {
            return Err(Error::Metadata("duplicate flattened metadata key".into()));
        }
        *root = value;
        return Ok(());
    };
    let child = match first {
        Token::Map(key) => {
            if root.is_null() {
                *root = Json::Object(serde_json::Map::new());
            }
            root.as_object_mut()
                .ok_or_else(mismatch)?
                .entry(key.clone())
                .or_insert(Json::Null)
        }
        Token::List(index) => {
            if root.is_null() {
                *root = Json::Array(Vec::new());
            }
            let list = root.as_array_mut().ok_or_else(mismatch)?;
            if *index > MAX_INDEX {
                return Err(mismatch());
            }
            if list.len() <= *index {
                list.resize(index + 1, Json::Null);
            }
            &mut list[*index]
        }
    };
    place(child, rest, value)
}

/// The metadata mapping of flattened `(key, value)` pairs (keys without the `sops_`
/// prefix or `[sops]` section).
pub(crate) fn unflatten(entries: &[(String, String)]) -> Result<Json, Error> {
    let mut root = Json::Object(serde_json::Map::new());
    for (key, value) in entries {
        place(&mut root, &tokenize(key), Json::String(value.clone()))?;
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_unflatten_into_lists_and_maps() {
        let entries = [
            ("age__list_1__map_recipient".to_owned(), "age1b".to_owned()),
            ("age__list_0__map_recipient".to_owned(), "age1a".to_owned()),
            ("mac".to_owned(), "m".to_owned()),
        ];
        assert_eq!(
            unflatten(&entries).unwrap(),
            serde_json::json!({"age": [{"recipient": "age1a"}, {"recipient": "age1b"}], "mac": "m"})
        );
        let clash = [
            ("a".to_owned(), "x".to_owned()),
            ("a__map_b".to_owned(), "y".to_owned()),
        ];
        assert!(unflatten(&clash).is_err());
        let twice = [
            ("a".to_owned(), "x".to_owned()),
            ("a".to_owned(), "y".to_owned()),
        ];
        assert!(unflatten(&twice).is_err());
    }
}

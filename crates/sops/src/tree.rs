//! SOPS's tree: ordered branches whose leaves are typed values and comments, the walk
//! that decrypts them, and the MAC over them (`sops.go`).

use sha2::{Digest, Sha512};

use crate::cipher;
use crate::error::Error;
use crate::metadata::Metadata;

/// A value in the tree (SOPS's `interface{}` leaves, `TreeBranch` and `[]interface{}`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    /// A string whose bytes are not UTF-8 (a binary file's content): Go strings hold
    /// any bytes.
    Bytes(Vec<u8>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A Go `time.Time` as its `MarshalText` form (RFC 3339 with nanoseconds).
    Time(String),
    Null,
    Comment(Comment),
    Map(Vec<Item>),
    Seq(Vec<Value>),
}

/// A branch entry: a key and its value, or a comment line (whose value is null).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub(crate) key: Key,
    pub(crate) value: Value,
}

/// A branch key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Key {
    Str(String),
    Comment(Comment),
}

/// A comment line without its `#`; inline comments sat after a value on its line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comment {
    pub(crate) text: String,
    pub(crate) inline: bool,
}

/// SOPS's `ToBytes`: what the MAC hashes for a value.
pub(crate) fn to_bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::Str(s) => s.as_bytes().to_vec(),
        Value::Bytes(b) => b.clone(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => crunch_gostd::strconv::format_float(*f, 'f', -1, 64).into_bytes(),
        Value::Bool(true) => b"True".to_vec(),
        Value::Bool(false) => b"False".to_vec(),
        Value::Time(t) => t.as_bytes().to_vec(),
        Value::Comment(c) => c.text.as_bytes().to_vec(),
        Value::Null | Value::Map(_) | Value::Seq(_) => Vec::new(),
    }
}

/// What SOPS hashes first when only encrypted values count (`mac_only_encrypted`), so
/// the two MACs of one tree differ: its `MACOnlyEncryptedInitialization`, the SHA-256 of
/// `sops`.
pub(crate) fn mac_only_encrypted_initialization() -> [u8; 32] {
    sha2::Sha256::digest(b"sops").into()
}

/// The decryption walk's state: the key, the metadata's selectors, the running MAC and
/// the plaintext scalars seen.
pub(crate) struct Decryptor<'a> {
    pub(crate) key: &'a [u8],
    pub(crate) metadata: &'a Metadata,
    hash: Sha512,
    pub(crate) plaintexts: Vec<String>,
}

impl<'a> Decryptor<'a> {
    pub(crate) fn new(key: &'a [u8], metadata: &'a Metadata) -> Self {
        let mut hash = Sha512::new();
        if metadata.mac_only_encrypted {
            hash.update(mac_only_encrypted_initialization());
        }
        Decryptor {
            key,
            metadata,
            hash,
            plaintexts: Vec::new(),
        }
    }

    /// The MAC as SOPS prints it: upper-case hex.
    pub(crate) fn mac(self) -> String {
        self.hash
            .finalize()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// `walkBranch` with `Tree.Decrypt`'s leaf function.
    pub(crate) fn branch(
        &mut self,
        items: &mut [Item],
        path: &mut Vec<String>,
        comments: &mut Vec<Vec<String>>,
    ) -> Result<(), Error> {
        comments.push(Vec::new());
        for item in items.iter_mut() {
            if let Key::Comment(comment) = &mut item.key {
                if let Some(last) = comments.last_mut() {
                    last.push(comment.text.clone());
                }
                let mut leaf = Value::Comment(comment.clone());
                self.leaf(&mut leaf, path, comments)?;
                match leaf {
                    Value::Comment(c) => *comment = c,
                    Value::Str(s) => comment.text = s,
                    _ => {}
                }
                continue;
            }
            let Key::Str(key) = &item.key else { continue };
            let value_is_comment = matches!(item.value, Value::Comment(_));
            if let Value::Comment(c) = &item.value
                && let Some(last) = comments.last_mut()
            {
                last.push(c.text.clone());
            }
            path.push(key.clone());
            let walked = self.value(&mut item.value, path, comments);
            path.pop();
            walked?;
            if !value_is_comment && let Some(last) = comments.last_mut() {
                last.clear();
            }
        }
        comments.pop();
        Ok(())
    }

    fn sequence(
        &mut self,
        items: &mut [Value],
        path: &mut Vec<String>,
        comments: &mut Vec<Vec<String>>,
    ) -> Result<(), Error> {
        comments.push(Vec::new());
        for item in items.iter_mut() {
            let is_comment = matches!(item, Value::Comment(_));
            if let Value::Comment(c) = item
                && let Some(last) = comments.last_mut()
            {
                last.push(c.text.clone());
            }
            self.value(item, path, comments)?;
            if !is_comment && let Some(last) = comments.last_mut() {
                last.clear();
            }
        }
        comments.pop();
        Ok(())
    }

    fn value(
        &mut self,
        value: &mut Value,
        path: &mut Vec<String>,
        comments: &mut Vec<Vec<String>>,
    ) -> Result<(), Error> {
        match value {
            Value::Map(items) => self.branch(items, path, comments),
            Value::Seq(items) => self.sequence(items, path, comments),
            Value::Null => Ok(()),
            _ => self.leaf(value, path, comments),
        }
    }

    /// One leaf: decrypted if the selectors say it was encrypted, then hashed.
    fn leaf(
        &mut self,
        value: &mut Value,
        path: &[String],
        comments: &[Vec<String>],
    ) -> Result<(), Error> {
        let is_comment = matches!(value, Value::Comment(_));
        let encrypted = self
            .metadata
            .should_be_encrypted(path, comments, is_comment);
        if encrypted {
            let aad = format!("{}:", path.join(":"));
            match value {
                Value::Comment(comment) => {
                    // SOPS keeps a comment that does not decrypt as it is (files written
                    // before comments were encrypted). A decrypted comment loses its
                    // inline mark, as SOPS's cipher returns a fresh `Comment`.
                    match cipher::decrypt(&comment.text, self.key, &aad) {
                        Ok(Value::Comment(plain)) => *comment = plain,
                        Ok(other) => {
                            comment.text = String::from_utf8_lossy(&to_bytes(&other)).into_owned();
                        }
                        Err(_) => {}
                    }
                }
                Value::Str(text) => {
                    *value =
                        cipher::decrypt(text, self.key, &aad).map_err(|reason| Error::Value {
                            path: display_path(path),
                            reason,
                        })?;
                }
                _ => {
                    return Err(Error::Value {
                        path: display_path(path),
                        reason: "expected an encrypted value (a string), found a plain one"
                            .to_owned(),
                    });
                }
            }
        }
        if (!self.metadata.mac_only_encrypted || encrypted) && !matches!(value, Value::Comment(_)) {
            self.hash.update(to_bytes(value));
        }
        if encrypted && !matches!(value, Value::Comment(_) | Value::Null) {
            self.plaintexts
                .push(String::from_utf8_lossy(&to_bytes(value)).into_owned());
        }
        Ok(())
    }
}

/// A path as messages show it: `data.password`.
pub(crate) fn display_path(path: &[String]) -> String {
    if path.is_empty() {
        "(top level)".to_owned()
    } else {
        path.join(".")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mac_only_encrypted_initialization_is_sops_constant() {
        // The first and last bytes SOPS spells out in sops.go.
        let init = super::mac_only_encrypted_initialization();
        assert_eq!(
            (init[0], init[1], init[30], init[31]),
            (0x8a, 0x3f, 0x7d, 0x69)
        );
    }
}

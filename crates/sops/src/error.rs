//! The crate's error.

/// Why a file did not decrypt. Messages name the key, the path or the part of the
/// metadata that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input has no `sops` metadata: it is not a SOPS file.
    #[error("no SOPS metadata (no top-level `sops` key)")]
    NotEncrypted,
    /// The input could not be read in its format.
    #[error("cannot read the file as {format}: {reason}")]
    Syntax {
        /// The format it was read as.
        format: &'static str,
        /// The reader's message.
        reason: String,
    },
    /// The `sops` metadata is malformed.
    #[error("malformed SOPS metadata: {0}")]
    Metadata(String),
    /// No key group (or not enough for the Shamir threshold) could be opened.
    #[error("{0}")]
    NoKey(String),
    /// A value failed to decrypt or authenticate (tampered, or another file's value).
    #[error("cannot decrypt `{path}`: {reason}")]
    Value {
        /// The value's path, `data.password`.
        path: String,
        /// Why.
        reason: String,
    },
    /// The MAC does not match the values: the file was changed after it was encrypted.
    #[error("MAC mismatch: the file has {expected}, its values give {computed}")]
    MacMismatch {
        /// The MAC the file records.
        expected: String,
        /// The MAC of the decrypted values.
        computed: String,
    },
    /// A key source could not be read.
    #[error("cannot use the key from {label}: {reason}")]
    Key {
        /// Where the key came from.
        label: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The plaintext cannot be written in the requested format.
    #[error("cannot write the plaintext as {format}: {reason}")]
    Emit {
        /// The output format.
        format: &'static str,
        /// Why.
        reason: String,
    },
}

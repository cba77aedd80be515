//! Fuzz target for crunch's SOPS reader: arbitrary input decrypted in every format must
//! fail cleanly (no key is given, so nothing decrypts), never panic; and every YAML
//! stream go-yaml v3's node reader accepts must be written by the v3 emitter into text
//! that reads back to as many documents (for streams of mappings, as SOPS writes).
#![no_main]

use libfuzzer_sys::fuzz_target;

use crunch_sops::{Format, Keys, decrypt};
use crunch_yaml::tree;

/// The nodes without positions, which the rewrite moves.
fn strip(node: &mut tree::Node) {
    node.line = 0;
    node.column = 0;
    match &mut node.kind {
        tree::Kind::Scalar(_) => {}
        tree::Kind::Sequence(items) => items.iter_mut().for_each(strip),
        tree::Kind::Mapping(entries) => entries.iter_mut().for_each(|(k, v)| {
            strip(k);
            strip(v);
        }),
    }
}

fuzz_target!(|data: &[u8]| {
    let keys = Keys::new();
    for format in [
        Format::Yaml,
        Format::Json,
        Format::Dotenv,
        Format::Binary,
        Format::Ini,
    ] {
        assert!(decrypt(data, format, &keys).is_err());
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut docs) = tree::read(text) else {
        return;
    };
    // SOPS writes only mappings; an empty root scalar is written as an empty line,
    // which reads back as no document.
    if !docs
        .iter()
        .all(|d| matches!(d.kind, tree::Kind::Mapping(_)))
    {
        return;
    }
    let written = tree::write(&docs, 4);
    let mut back =
        tree::read(&written).unwrap_or_else(|e| panic!("cannot read back {written:?}: {e}"));
    docs.iter_mut().for_each(strip);
    back.iter_mut().for_each(strip);
    assert_eq!(docs.len(), back.len(), "{written:?}");
});

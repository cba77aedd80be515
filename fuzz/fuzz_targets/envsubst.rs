//! Fuzz target for crunch's Flux envsubst dialect: arbitrary text, substituted with a
//! small fixed set of variables in strict and lenient mode, must never panic, overflow
//! the stack, hang or exhaust memory. Parse errors and unset variables are fine.
//!
//! Input: the first byte's low bit selects strict mode; the rest, if UTF-8, is the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn lookup(name: &str) -> Option<&'static str> {
    match name {
        "A" => Some("a/b.c-d"),
        "E" => Some(""),
        "U" => Some("é😀Ω"),
        "N" => Some("-2"),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    if let Ok(out) = crunch_envsubst::substitute(text, lookup, flags & 1 == 1) {
        assert!(out.len() <= crunch_envsubst::MAX_OUTPUT);
    }
});

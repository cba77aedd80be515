//! Prints a SOPS file re-emitted as SOPS writes its store (`tools/sops-realworld` compares
//! the bytes; this shows them): `sops_reemit FILE [INDENT]`.

use crunch_sops::{Format, reformat};

fn main() {
    let path = std::env::args().nth(1).expect("usage: sops_reemit FILE");
    let bytes = std::fs::read(&path).expect("readable file");
    let indent = std::env::args().nth(2).and_then(|n| n.parse().ok());
    match reformat(&bytes, Format::for_path(&path), indent) {
        Ok(out) => print!("{}", String::from_utf8_lossy(&out)),
        Err(e) => eprintln!("{path}: {e}"),
    }
}

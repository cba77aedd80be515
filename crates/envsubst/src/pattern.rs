//! The patterns of `${v#pattern}` and its kin: Flux's copy of Go's `path.Match`, changed
//! so that `*` also matches `/` and a trailing `*` matches the rest of the name outright.
//! Operates on bytes; `?` and classes take one rune.

use crate::scan::decode_rune;

/// Whether `pattern` matches all of `name`; `Err` for a malformed pattern.
pub(crate) fn matches(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, ()> {
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = split_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(true);
        }
        let (tail, failure) = match match_chunk(chunk, name) {
            Ok(Some(tail)) => (Some(tail), None),
            Ok(None) => (None, None),
            Err(()) => (None, Some(())),
        };
        // The last chunk must use up the name, else a star before it may still match.
        if let Some(tail) = tail
            && (tail.is_empty() || !pattern.is_empty())
        {
            name = tail;
            continue;
        }
        if let Some(failure) = failure {
            return Err(failure);
        }
        if star {
            for skip in 1..=name.len() {
                match match_chunk(chunk, &name[skip..]) {
                    Ok(Some(tail)) => {
                        if pattern.is_empty() && !tail.is_empty() {
                            continue;
                        }
                        name = tail;
                        continue 'chunks;
                    }
                    Ok(None) => {}
                    Err(()) => return Err(()),
                }
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// The leading stars, the chunk up to the next star outside a class, and the rest.
fn split_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let stars = pattern.iter().take_while(|&&b| b == b'*').count();
    let pattern = &pattern[stars..];
    let mut in_class = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            // A trailing backslash is left for `match_chunk` to refuse.
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'*' if !in_class => break,
            _ => {}
        }
        i += 1;
    }
    (stars > 0, &pattern[..i], &pattern[i..])
}

/// Whether `chunk` (no stars) matches the start of `name`: the rest of the name if so.
fn match_chunk<'n>(mut chunk: &[u8], mut name: &'n [u8]) -> Result<Option<&'n [u8]>, ()> {
    while let Some(&head) = chunk.first() {
        if name.is_empty() {
            return Ok(None);
        }
        match head {
            b'[' => {
                let (rune, width) = decode_rune(name);
                name = &name[width..];
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (low, rest) = class_rune(chunk)?;
                    chunk = rest;
                    let mut high = low;
                    if chunk.first() == Some(&b'-') {
                        (high, chunk) = class_rune(&chunk[1..])?;
                    }
                    if low <= rune && rune <= high {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    return Ok(None);
                }
            }
            b'?' => {
                let (_, width) = decode_rune(name);
                name = &name[width..];
                chunk = &chunk[1..];
            }
            _ => {
                let literal = if head == b'\\' {
                    chunk = &chunk[1..];
                    *chunk.first().ok_or(())?
                } else {
                    head
                };
                if literal != name[0] {
                    return Ok(None);
                }
                name = &name[1..];
                chunk = &chunk[1..];
            }
        }
    }
    Ok(Some(name))
}

/// One possibly escaped rune of a class, and what follows it (never empty: a class must
/// be closed).
fn class_rune(chunk: &[u8]) -> Result<(char, &[u8]), ()> {
    let chunk = match chunk.first() {
        None | Some(b'-' | b']') => return Err(()),
        Some(b'\\') => &chunk[1..],
        Some(_) => chunk,
    };
    if chunk.is_empty() {
        return Err(());
    }
    let (rune, width) = decode_rune(chunk);
    let invalid = rune == char::REPLACEMENT_CHARACTER && width == 1;
    let rest = &chunk[width..];
    if invalid || rest.is_empty() {
        return Err(());
    }
    Ok((rune, rest))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn flux_globs() {
        assert_eq!(matches(b"*", b"a/b"), Ok(true));
        assert_eq!(matches(b"a*", b"abc/d"), Ok(true));
        assert_eq!(matches(b"*/", b"a/b/"), Ok(true));
        assert_eq!(matches(b"a?c", b"abc"), Ok(true));
        assert_eq!(matches(b"a?c", b"ac"), Ok(false));
        assert_eq!(matches(b"[a-c]x", b"bx"), Ok(true));
        assert_eq!(matches(b"[^a-c]x", b"bx"), Ok(false));
        assert_eq!(matches(b"\\*", b"*"), Ok(true));
        assert_eq!(matches(b"[", b"a"), Err(()));
        assert_eq!(matches(b"a\\", b"ab"), Err(()));
        assert_eq!(matches("é?".as_bytes(), "éx".as_bytes()), Ok(true));
    }
}

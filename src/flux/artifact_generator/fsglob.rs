//! Go's `io/fs.Glob` with `path.Match`, what source-watcher globs `from` with for the
//! Overwrite and Merge strategies.
//!
//! `path.Match` has no `**`: two stars are two `*`, each a run of characters other than
//! `/`, so `dir/**` lists the entries of `dir` and `**/*.yaml` the YAML files one
//! directory down. Classes are `[…]` (negated by `^`), `\` escapes; a malformed pattern
//! is `syntax error in pattern`. Names are bytes read as Go reads strings.

use super::doublestar::decode_rune;
use super::tree::{GlobError, GlobFs};

/// `path.ErrBadPattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BadPattern;

/// `path.Match(pattern, name)`.
pub(super) fn path_match(pattern: &[u8], name: &[u8]) -> Result<bool, BadPattern> {
    let mut pattern = pattern;
    let mut name = name;
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing `*` matches the rest of the name unless it holds a `/`.
            return Ok(!name.contains(&b'/'));
        }
        let first = match_chunk(chunk, name);
        if let Ok(Some(left)) = first
            && (left.is_empty() || !pattern.is_empty())
        {
            name = left;
            continue;
        }
        first?;
        if star {
            // Let the star swallow one more byte (never a `/`) and try again.
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                match match_chunk(chunk, &name[i + 1..])? {
                    Some(left) if pattern.is_empty() && !left.is_empty() => {}
                    Some(left) => {
                        name = left;
                        continue 'chunks;
                    }
                    None => {}
                }
                i += 1;
            }
        }
        // No match: the rest of the pattern must still be well formed.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off the leading stars and the chunk up to the next star outside a class.
fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let stars = pattern.iter().take_while(|&&b| b == b'*').count();
    let pattern = &pattern[stars..];
    let mut in_class = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            // An escape takes the next byte with it (a trailing one is matchChunk's error).
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

/// Matches a chunk (no stars) at the start of `s`: what is left of `s` on a match. After
/// a mismatch the rest of the chunk is still parsed, to report a malformed pattern.
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<Option<&'a [u8]>, BadPattern> {
    let mut failed = false;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match chunk[0] {
            b'[' => {
                let mut rune = 0;
                if !failed {
                    let (r, width) = decode_rune(s);
                    rune = r;
                    s = &s[width..];
                }
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
                    let (low, rest) = class_char(chunk)?;
                    chunk = rest;
                    let mut high = low;
                    if chunk[0] == b'-' {
                        (high, chunk) = class_char(&chunk[1..])?;
                    }
                    if low <= rune && rune <= high {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    let (_, width) = decode_rune(s);
                    s = &s[width..];
                }
                chunk = &chunk[1..];
            }
            byte => {
                let literal = if byte == b'\\' {
                    chunk = &chunk[1..];
                    *chunk.first().ok_or(BadPattern)?
                } else {
                    byte
                };
                if !failed {
                    if literal != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

/// One character of a class (`getEsc`), escaped or not; a class may not end right after
/// it.
fn class_char(chunk: &[u8]) -> Result<(u32, &[u8]), BadPattern> {
    let mut chunk = chunk;
    match chunk.first() {
        None | Some(b'-' | b']') => return Err(BadPattern),
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(BadPattern);
            }
        }
        Some(_) => {}
    }
    let (rune, width) = decode_rune(chunk);
    if rune == 0xFFFD && width == 1 {
        return Err(BadPattern);
    }
    let rest = &chunk[width..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((rune, rest))
}

/// `io/fs.Glob(fsys, pattern)`: the paths matching `pattern`, directories as they are
/// expanded, each one's entries by name. A pattern without wildcards names at most
/// itself; unreadable directories and invalid paths match nothing.
pub(super) fn glob(fs: &dyn GlobFs, pattern: &str) -> Result<Vec<String>, GlobError> {
    path_match(pattern.as_bytes(), b"").map_err(|BadPattern| GlobError::BadPattern)?;
    if !has_meta(pattern) {
        return Ok(match fs.stat(pattern)? {
            Some(_) => vec![pattern.to_string()],
            None => Vec::new(),
        });
    }
    let (dir, file) = match pattern.rfind('/') {
        Some(at) => (&pattern[..at], &pattern[at + 1..]),
        None => (".", pattern),
    };
    let mut found = Vec::new();
    if !has_meta(dir) {
        in_dir(fs, dir, file, &mut found)?;
        return Ok(found);
    }
    for parent in glob(fs, dir)? {
        in_dir(fs, &parent, file, &mut found)?;
    }
    Ok(found)
}

/// The entries of `dir` whose names match `file`.
fn in_dir(
    fs: &dyn GlobFs,
    dir: &str,
    file: &str,
    found: &mut Vec<String>,
) -> Result<(), GlobError> {
    let Some(entries) = fs.read_dir(dir)? else {
        return Ok(());
    };
    for entry in entries {
        if path_match(file.as_bytes(), &entry.name).map_err(|BadPattern| GlobError::BadPattern)? {
            let name = entry.utf8_name().map_err(GlobError::Refused)?;
            found.push(crate::gostd::path::join([dir, name]));
        }
    }
    Ok(())
}

/// Whether io/fs treats the path as a pattern (`*`, `?`, `[`, `\`).
fn has_meta(path: &str) -> bool {
    path.bytes()
        .any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> Result<bool, BadPattern> {
        path_match(pattern.as_bytes(), name.as_bytes())
    }

    #[test]
    fn go_path_match_semantics() {
        assert_eq!(m("*.yaml", "a.yaml"), Ok(true));
        assert_eq!(m("*.yaml", "a/b.yaml"), Ok(false));
        assert_eq!(m("**", "a"), Ok(true));
        assert_eq!(m("**", "a/b"), Ok(false));
        assert_eq!(m("a*/b", "abc/b"), Ok(true));
        assert_eq!(m("a?c", "a/c"), Ok(false));
        assert_eq!(m("[a-c]x", "bx"), Ok(true));
        assert_eq!(m("[^a-c]x", "bx"), Ok(false));
        assert_eq!(m("[^a-c]x", "dx"), Ok(true));
        assert_eq!(m("\\*", "*"), Ok(true));
        assert_eq!(m("*.tg*", "x.tgz"), Ok(true));
        assert_eq!(m("ab*c*", "abxcy"), Ok(true));
        assert_eq!(m("*c", "abcbc"), Ok(true));
    }

    #[test]
    fn malformed_patterns() {
        assert_eq!(m("[", ""), Err(BadPattern));
        assert_eq!(m("[", "a"), Err(BadPattern));
        assert_eq!(m("a[", "b"), Err(BadPattern));
        assert_eq!(m("x*[", "y"), Err(BadPattern));
        assert_eq!(m("\\", "a"), Err(BadPattern));
        assert_eq!(m("[]", "a"), Err(BadPattern));
        assert_eq!(m("[a-]", "a"), Err(BadPattern));
        // `]` alone is an ordinary character.
        assert_eq!(m("a]", "a]"), Ok(true));
        // A trailing star matches before the rest is looked at.
        assert_eq!(m("*", "a"), Ok(true));
    }

    #[test]
    fn meta_detection() {
        assert!(has_meta("a*"));
        assert!(has_meta("a\\b"));
        assert!(!has_meta("a]b"));
    }
}

//! `bmatcuk/doublestar` v4, the glob library source-watcher uses for `exclude` patterns
//! (`Match`, `MatchUnvalidated`) and for `from` patterns of the Extract strategy
//! (`Glob`), with `/` as the separator and none of its options.
//!
//! Its dialect: `*` runs within a path segment, `**` as a whole segment (`/**/`, or at
//! either end) crosses segments (anywhere else it is a `*`), `?` one character but `/`,
//! `[…]` classes negated by `^` or `!`, `{a,b}` alternatives (nested, and free to hold
//! `/`), `\` escapes. Names are bytes read as Go reads strings: an invalid UTF-8 byte is
//! one U+FFFD.
//!
//! The matcher is the library's single pass with two backtrack points (the last `*` and
//! the last `**`); it validates the rest of a pattern only where a match fails or the
//! name runs out, so `MatchUnvalidated` can accept a pattern `Match` refuses.

use super::tree::{Entry, GlobError, GlobFs, Kind};

/// The separator: doublestar is used with `/` only.
const SEP: u32 = '/' as u32;

/// Go's `utf8.MaxRune`.
const MAX_RUNE: u32 = 0x10FFFF;

/// `doublestar.ErrBadPattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BadPattern;

/// `Match(pattern, name)`: whether `name` matches, or [`BadPattern`] when the part of the
/// pattern the match looks at is malformed.
pub(super) fn matches(pattern: &str, name: &[u8]) -> Result<bool, BadPattern> {
    match_from(pattern.as_bytes(), name, true, Backtrack::NONE, 0, 0)
}

/// `MatchUnvalidated(pattern, name)`: a malformed pattern matches nothing.
pub(super) fn matches_unvalidated(pattern: &str, name: &[u8]) -> bool {
    match_from(pattern.as_bytes(), name, false, Backtrack::NONE, 0, 0).unwrap_or(false)
}

/// Where the matcher resumes when the rest of the pattern fails: after the last `*` (one
/// more character of the name swallowed) or after the last `**/` (one more segment).
#[derive(Clone, Copy)]
struct Backtrack {
    doublestar_pattern: Option<usize>,
    doublestar_name: usize,
    star_pattern: Option<usize>,
    star_name: usize,
}

impl Backtrack {
    const NONE: Backtrack = Backtrack {
        doublestar_pattern: None,
        doublestar_name: 0,
        star_pattern: None,
        star_name: 0,
    };
}

/// Go's `utf8.DecodeRune`: the rune at the start of `s` and its width; an invalid byte
/// is U+FFFD of width 1, and the empty input U+FFFD of width 0.
pub(super) fn decode_rune(s: &[u8]) -> (u32, usize) {
    let Some(chunk) = s.utf8_chunks().next() else {
        return (0xFFFD, 0);
    };
    match chunk.valid().chars().next() {
        Some(c) => (c as u32, c.len_utf8()),
        None => (0xFFFD, 1),
    }
}

/// The matcher proper (`doMatchWithSeparator`), from pattern index `pat` and name index
/// `at`, with the backtrack points in force.
fn match_from(
    pattern: &[u8],
    name: &[u8],
    validate: bool,
    mut back: Backtrack,
    mut pat: usize,
    mut at: usize,
) -> Result<bool, BadPattern> {
    let mut start_of_segment = true;
    'matching: while at < name.len() {
        if pat < pattern.len() {
            match pattern[pat] {
                b'*' => {
                    pat += 1;
                    if pat < pattern.len() && pattern[pat] == b'*' {
                        pat += 1;
                        if start_of_segment {
                            if pat >= pattern.len() {
                                // A trailing `/**` matches whatever is left.
                                return Ok(true);
                            }
                            let (rune, width) = decode_rune(&pattern[pat..]);
                            if rune == SEP {
                                pat += width;
                                back.doublestar_pattern = Some(pat);
                                back.doublestar_name = at;
                                back.star_pattern = None;
                                continue;
                            }
                        }
                    }
                    // A `*`, or a `**` that is not a whole segment, which bash's globstar
                    // also reads as a `*`.
                    start_of_segment = false;
                    back.star_pattern = Some(pat);
                    back.star_name = at;
                    continue;
                }
                b'?' => {
                    start_of_segment = false;
                    let (rune, width) = decode_rune(&name[at..]);
                    if rune != SEP {
                        pat += 1;
                        at += width;
                        continue;
                    }
                }
                b'[' => {
                    start_of_segment = false;
                    pat += 1;
                    if pat >= pattern.len() {
                        return Err(BadPattern);
                    }
                    let (rune, width) = decode_rune(&name[at..]);
                    if match_class(pattern, &mut pat, rune)? {
                        at += width;
                        continue;
                    }
                }
                b'{' => {
                    // Each alternative is matched from here by a fresh pass, which starts
                    // at the start of a segment as doublestar's recursion does.
                    let before = pat;
                    pat += 1;
                    let Some(closing) = index_matched_closing_alt(&pattern[pat..]) else {
                        return Err(BadPattern);
                    };
                    let closing = closing + pat;
                    loop {
                        let next = index_next_alt(&pattern[pat..closing]).map(|i| i + pat);
                        let end = next.unwrap_or(closing);
                        let mut alternative = pattern[..before].to_vec();
                        alternative.extend_from_slice(&pattern[pat..end]);
                        alternative.extend_from_slice(&pattern[closing + 1..]);
                        let result = match_from(&alternative, name, validate, back, before, at);
                        if next.is_none() || !matches!(result, Ok(false)) {
                            return result;
                        }
                        pat = end + 1;
                    }
                }
                _ => {
                    if pattern[pat] == b'\\' {
                        pat += 1;
                        if pat >= pattern.len() {
                            return Err(BadPattern);
                        }
                    }
                    let (pattern_rune, pattern_width) = decode_rune(&pattern[pat..]);
                    let (name_rune, name_width) = decode_rune(&name[at..]);
                    if pattern_rune == name_rune {
                        pat += pattern_width;
                        at += name_width;
                        start_of_segment = pattern_rune == SEP;
                        continue;
                    }
                    if pat > 0 && pattern[pat - 1] == b'\\' {
                        // Back onto the backslash, for the backtracking and validation
                        // below to see the escape.
                        pat -= 1;
                    }
                }
            }
        }

        if let Some(star_pattern) = back.star_pattern {
            let (rune, width) = decode_rune(&name[back.star_name..]);
            if rune != SEP && width > 0 {
                back.star_name += width;
                pat = star_pattern;
                at = back.star_name;
                start_of_segment = false;
                continue;
            }
        }

        if let Some(doublestar_pattern) = back.doublestar_pattern {
            at = back.doublestar_name;
            while at < name.len() {
                let (rune, width) = decode_rune(&name[at..]);
                at += width.max(1);
                if rune == SEP {
                    back.doublestar_name = at;
                    pat = doublestar_pattern;
                    start_of_segment = true;
                    continue 'matching;
                }
            }
        }

        if validate && pat < pattern.len() && !is_valid(&pattern[pat..]) {
            return Err(BadPattern);
        }
        return Ok(false);
    }
    is_zero_length(&pattern[pat.min(pattern.len())..], validate)
}

/// Matches `rune` against the class whose `[` is just behind `*pat`; on a match `*pat`
/// ends past the closing `]`, otherwise inside the class.
fn match_class(pattern: &[u8], pat: &mut usize, rune: u32) -> Result<bool, BadPattern> {
    let negated = pattern[*pat] == b'!' || pattern[*pat] == b'^';
    if negated {
        *pat += 1;
    }
    if *pat >= pattern.len() || pattern[*pat] == b']' {
        // Unclosed, or empty.
        return Err(BadPattern);
    }
    let mut matched = false;
    // The previous character, the low end of a range that a `-` may follow; doublestar's
    // `utf8.MaxRune` stands for none.
    let mut last = MAX_RUNE;
    while *pat < pattern.len() && pattern[*pat] != b']' {
        let (mut class_rune, mut width) = decode_rune(&pattern[*pat..]);
        *pat += width;
        if last < MAX_RUNE
            && class_rune == u32::from(b'-')
            && *pat < pattern.len()
            && pattern[*pat] != b']'
        {
            if pattern[*pat] == b'\\' {
                *pat += 1;
            }
            let (high, high_width) = decode_rune(&pattern[(*pat).min(pattern.len())..]);
            *pat += high_width;
            if last <= rune && rune <= high {
                matched = true;
                break;
            }
            last = MAX_RUNE;
            continue;
        }
        if class_rune == u32::from(b'\\') {
            (class_rune, width) = decode_rune(&pattern[(*pat).min(pattern.len())..]);
            *pat += width;
        }
        if class_rune == rune {
            matched = true;
            break;
        }
        last = class_rune;
    }
    if matched == negated {
        if *pat >= pattern.len() {
            return Err(BadPattern);
        }
        return Ok(false);
    }
    let Some(closing) = index_unescaped_byte(&pattern[(*pat).min(pattern.len())..], b']') else {
        return Err(BadPattern);
    };
    *pat += closing + 1;
    Ok(true)
}

/// Whether what is left of a pattern once the name ran out matches the empty string:
/// nothing, `*`, `**`, `/**`, `**/`, `/**/` (so `dir/**` matches `dir`), or alternatives
/// one of which does.
fn is_zero_length(pattern: &[u8], validate: bool) -> Result<bool, BadPattern> {
    if matches!(pattern, b"" | b"*" | b"**" | b"/**" | b"**/" | b"/**/") {
        return Ok(true);
    }
    if pattern[0] == b'{' {
        let Some(closing) = index_matched_closing_alt(&pattern[1..]) else {
            return Err(BadPattern);
        };
        let closing = closing + 1;
        let mut pat = 1;
        loop {
            let next = index_next_alt(&pattern[pat..closing]).map(|i| i + pat);
            let end = next.unwrap_or(closing);
            let mut alternative = pattern[pat..end].to_vec();
            alternative.extend_from_slice(&pattern[closing + 1..]);
            let result = is_zero_length(&alternative, validate);
            if next.is_none() || !matches!(result, Ok(false)) {
                return result;
            }
            pat = end + 1;
        }
    }
    if validate && !is_valid(pattern) {
        return Err(BadPattern);
    }
    Ok(false)
}

/// `ValidatePattern`: escapes complete, classes closed and not empty, braces balanced.
pub(super) fn is_valid(pattern: &[u8]) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' => {
                i += 1;
                if i >= pattern.len() {
                    return false;
                }
            }
            b'[' => {
                i += 1;
                if i < pattern.len() && (pattern[i] == b'^' || pattern[i] == b'!') {
                    i += 1;
                }
                if i >= pattern.len() || pattern[i] == b']' {
                    return false;
                }
                loop {
                    if i >= pattern.len() {
                        return false;
                    }
                    if pattern[i] == b'\\' {
                        i += 1;
                    } else if pattern[i] == b']' {
                        break;
                    }
                    i += 1;
                }
            }
            b'{' => depth += 1,
            b'}' => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    depth == 0
}

/// The index of the first `c` not escaped by a backslash.
fn index_unescaped_byte(s: &[u8], c: u8) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' {
            i += 2;
            continue;
        }
        if s[i] == c {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// With an opening `{` just before `s`: the index of its `}`, nested braces skipped.
fn index_matched_closing_alt(s: &[u8]) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The next `,` of the alternatives `s` is inside, nested braces skipped.
fn index_next_alt(s: &[u8]) -> Option<usize> {
    let mut depth = 1isize;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b',' if depth == 1 => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// `Glob(fsys, pattern)`: the paths of the source matching `pattern`, directories too
/// (and `.` for a pattern such as `**`), in doublestar's order: directories as they are
/// expanded, each one's entries by name, alternatives merged in sorted order. A pattern
/// with `**` before its last segment goes through `GlobWalk`, which keeps the results of
/// alternatives sorted across all directories rather than per directory.
pub(super) fn glob(fs: &dyn GlobFs, pattern: &str) -> Result<Vec<String>, GlobError> {
    if !is_valid(pattern.as_bytes()) {
        return Err(GlobError::BadPattern);
    }
    let globber = Globber {
        fs,
        walk: has_mid_doublestar(pattern.as_bytes()),
    };
    globber.expand(pattern, true)
}

/// Whether `**` appears before the last two characters of the pattern.
fn has_mid_doublestar(p: &[u8]) -> bool {
    // Go loops while i < len(p)-3: a `**` ending the pattern (or `**/` there) does not count.
    let limit = p.len().saturating_sub(3);
    let mut i = 0;
    while i < limit {
        if p[i] == b'\\' {
            i += 2;
            continue;
        }
        if p[i] == b'*' && p[i + 1] == b'*' {
            return true;
        }
        i += 1;
    }
    false
}

struct Globber<'a> {
    fs: &'a dyn GlobFs,
    /// `GlobWalk`'s handling of alternatives rather than `Glob`'s.
    walk: bool,
}

impl Globber<'_> {
    /// `doGlob`: the matches of `pattern`; `last_segment` is false while expanding the
    /// directory part of a longer pattern, where only directories may match.
    fn expand(&self, pattern: &str, last_segment: bool) -> Result<Vec<String>, GlobError> {
        let Some(meta) = index_meta(pattern) else {
            let path = unescape_meta(pattern);
            return Ok(if self.exists(&path)? {
                vec![path]
            } else {
                Vec::new()
            });
        };
        let mut dir = ".";
        let mut rest = pattern;
        let mut split = last_index_slash_or_alt(pattern);
        if let Some(at) = split {
            if pattern.as_bytes()[at] == b'}' {
                match index_matched_opening_alt(&pattern.as_bytes()[..at]) {
                    Some(opening) => return self.alternatives(pattern, opening, at, last_segment),
                    None => {
                        // An unmatched `}` is an ordinary character to the matcher.
                        split = last_index_slash(&pattern[..at]);
                        if let Some(slash) = split {
                            dir = &pattern[..slash];
                            rest = &pattern[slash + 1..];
                        }
                    }
                }
            } else {
                dir = &pattern[..at];
                rest = &pattern[at + 1..];
            }
        }
        let mut found = Vec::new();
        if split.is_none_or(|at| at <= meta) {
            self.in_dir(&unescape_meta(dir), rest, last_segment, &mut found)?;
            return Ok(found);
        }
        for parent in self.expand(dir, false)? {
            self.in_dir(&parent, rest, last_segment, &mut found)?;
        }
        Ok(found)
    }

    /// `globAlts`: the alternatives of the `{…}` at `opening`..=`closing`, each expanded
    /// under every directory the part before them matches.
    fn alternatives(
        &self,
        pattern: &str,
        opening: usize,
        closing: usize,
        last_segment: bool,
    ) -> Result<Vec<String>, GlobError> {
        let after = closing + 1;
        let split = last_index_slash_or_alt(&pattern[..opening]);
        let (prefixes, start) = match split {
            Some(at) if pattern.as_bytes()[at] != b'}' => {
                (self.expand(&pattern[..at], false)?, at + 1)
            }
            _ => (vec![String::new()], 0),
        };
        let mut found: Vec<String> = Vec::new();
        for prefix in prefixes {
            let group_start = found.len();
            let mut run_start = group_start;
            let mut at = opening + 1;
            while at < closing {
                let end =
                    index_next_alt(&pattern.as_bytes()[at..closing]).map_or(closing, |i| i + at);
                let mut alternative = String::new();
                if !prefix.is_empty() && prefix != "." {
                    alternative.push_str(&prefix);
                    alternative.push('/');
                }
                alternative.push_str(&pattern[start..opening]);
                alternative.push_str(&pattern[at..end]);
                alternative.push_str(&pattern[after..]);
                let matched = self.expand(&alternative, last_segment)?;
                if self.walk {
                    for path in matched {
                        insert_sorted(&mut found, path);
                    }
                } else {
                    found.extend(matched);
                    let len = found.len();
                    if group_start != run_start && run_start != len {
                        merge_runs(&mut found, group_start, run_start, len);
                    }
                    run_start = found.len();
                }
                at = end + 1;
            }
        }
        Ok(found)
    }

    /// `globDir`: the entries of `dir` matching the single segment `segment`.
    fn in_dir(
        &self,
        dir: &str,
        segment: &str,
        last_segment: bool,
        found: &mut Vec<String>,
    ) -> Result<(), GlobError> {
        if segment.is_empty() {
            // The pattern ended in `/`: the directory itself, if it is one.
            if self.fs.stat(dir)? == Some(Kind::Dir) {
                found.push(dir.to_string());
            }
            return Ok(());
        }
        if segment == "**" {
            return self.everything_under(dir, last_segment, found);
        }
        let Some(entries) = self.fs.read_dir(dir)? else {
            return Ok(());
        };
        for entry in entries {
            let matched = match_from(
                segment.as_bytes(),
                &entry.name,
                false,
                Backtrack::NONE,
                0,
                0,
            )
            .map_err(|BadPattern| GlobError::BadPattern)?;
            if matched && (last_segment || self.is_dir(dir, &entry)?) {
                found.push(join(dir, &entry)?);
            }
        }
        Ok(())
    }

    /// `globDoubleStar`: `dir` and everything below it, depth first by name; files only
    /// when the `**` ends the pattern.
    fn everything_under(
        &self,
        dir: &str,
        files_too: bool,
        found: &mut Vec<String>,
    ) -> Result<(), GlobError> {
        let Some(entries) = self.fs.read_dir(dir)? else {
            return Ok(());
        };
        found.push(dir.to_string());
        for entry in entries {
            if self.is_dir(dir, &entry)? {
                self.everything_under(&join(dir, &entry)?, files_too, found)?;
            } else if files_too {
                found.push(join(dir, &entry)?);
            }
        }
        Ok(())
    }

    /// Whether an entry is a directory; doublestar follows symlinks here, crunch refuses
    /// them.
    fn is_dir(&self, dir: &str, entry: &Entry) -> Result<bool, GlobError> {
        match entry.kind {
            Kind::Dir => Ok(true),
            Kind::Symlink => Err(GlobError::Refused(
                self.fs.symlink_refusal(&join(dir, entry)?),
            )),
            Kind::File | Kind::Other => Ok(false),
        }
    }

    /// `exists`: a path without wildcards names something (one trailing `/` allowed).
    fn exists(&self, path: &str) -> Result<bool, GlobError> {
        let path = match path.strip_suffix('/') {
            Some(stripped) if path.len() > 1 => stripped,
            _ => path,
        };
        Ok(self.fs.stat(path)?.is_some())
    }
}

/// `path.Join(dir, name)` for a directory entry.
fn join(dir: &str, entry: &Entry) -> Result<String, GlobError> {
    let name = entry.utf8_name().map_err(GlobError::Refused)?;
    Ok(crate::gostd::path::join([dir, name]))
}

/// Inserts `path` where it keeps `list` sorted, unless it is there already (GlobWalk's
/// collection of alternatives).
fn insert_sorted(list: &mut Vec<String>, path: String) {
    let mut at = list.len();
    while at > 0 && list[at - 1] > path {
        at -= 1;
    }
    if at > 0 && list[at - 1] == path {
        return;
    }
    list.insert(at, path);
}

/// `sortAndRemoveDups`: merges the run `first..second` with the run `second..len` in
/// place, dropping duplicates, as doublestar does (it assumes both runs are sorted).
fn merge_runs(list: &mut Vec<String>, mut first: usize, second: usize, mut len: usize) {
    while first < second {
        if list[first] > list[second] {
            let smaller = list[second].clone();
            let moved = std::mem::replace(&mut list[first], smaller);
            let mut shift = second + 1;
            while shift < len && list[shift] < moved {
                list[shift - 1] = list[shift].clone();
                shift += 1;
            }
            list[shift - 1] = moved;
        } else if list[first] == list[second] {
            for shift in second + 1..len {
                list[shift - 1] = list[shift].clone();
            }
            len -= 1;
            if second == len {
                break;
            }
        }
        first += 1;
    }
    list.truncate(len);
}

/// The index of the first unescaped `*`, `?`, `[` or `{`.
fn index_meta(s: &str) -> Option<usize> {
    let s = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'*' | b'?' | b'[' | b'{' => return Some(i),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// The index of the last `/` or `}` not preceded by a backslash.
fn last_index_slash_or_alt(s: &str) -> Option<usize> {
    let s = s.as_bytes();
    (0..s.len())
        .rev()
        .find(|&i| (s[i] == b'/' || s[i] == b'}') && (i == 0 || s[i - 1] != b'\\'))
}

/// The index of the last `/` not preceded by a backslash.
fn last_index_slash(s: &str) -> Option<usize> {
    let s = s.as_bytes();
    (0..s.len())
        .rev()
        .find(|&i| s[i] == b'/' && (i == 0 || s[i - 1] != b'\\'))
}

/// With a closing `}` just after `s`: the index of its `{`, nested braces skipped.
fn index_matched_opening_alt(s: &[u8]) -> Option<usize> {
    let mut depth = 1usize;
    for i in (0..s.len()).rev() {
        let escaped = i > 0 && s[i - 1] == b'\\';
        if s[i] == b'}' && !escaped {
            depth += 1;
        } else if s[i] == b'{' && !escaped {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Drops the backslash of `\*`, `\?`, `\[`, `\]`, `\{` and `\}` (a path without
/// wildcards is looked up as written).
fn unescape_meta(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && matches!(next, '*' | '?' | '[' | ']' | '{' | '}')
        {
            out.push(next);
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> Result<bool, BadPattern> {
        matches(pattern, name.as_bytes())
    }

    #[test]
    fn stars_stay_within_a_segment() {
        assert_eq!(m("*.md", "README.md"), Ok(true));
        assert_eq!(m("*.md", "docs/README.md"), Ok(false));
        assert_eq!(m("*", ".hidden"), Ok(true));
        assert_eq!(m("a*b*c", "axxbyyc"), Ok(true));
        assert_eq!(m("a?c", "abc"), Ok(true));
        assert_eq!(m("a?c", "a/c"), Ok(false));
    }

    #[test]
    fn doublestar_crosses_segments_only_as_a_whole_segment() {
        assert_eq!(m("**/testdata/**", "testdata/x.yaml"), Ok(true));
        assert_eq!(m("**/testdata/**", "a/b/testdata/c/d"), Ok(true));
        assert_eq!(m("**/testdata/**", "a/testdata"), Ok(true));
        assert_eq!(m("**/testdata/**", "a/mytestdata/x"), Ok(false));
        assert_eq!(m("dir/**", "dir"), Ok(true));
        assert_eq!(m("dir/**", "dir/a/b"), Ok(true));
        assert_eq!(m("**/.*", ".hidden"), Ok(true));
        assert_eq!(m("**/.*", "a/.hidden"), Ok(true));
        // Not a whole segment: a `*`.
        assert_eq!(m("a/**.txt", "a/b.txt"), Ok(true));
        assert_eq!(m("a/**.txt", "a/b/c.txt"), Ok(false));
        assert_eq!(m("**", "a/b/c"), Ok(true));
    }

    #[test]
    fn classes_ranges_and_negation() {
        assert_eq!(m("[abc].yaml", "b.yaml"), Ok(true));
        assert_eq!(m("[a-c].yaml", "c.yaml"), Ok(true));
        assert_eq!(m("[a-c].yaml", "d.yaml"), Ok(false));
        assert_eq!(m("[!a-c].yaml", "d.yaml"), Ok(true));
        assert_eq!(m("[^a-c].yaml", "a.yaml"), Ok(false));
        assert_eq!(m("[\\]]", "]"), Ok(true));
        assert_eq!(m("[é]", "é"), Ok(true));
        assert_eq!(m("[]a]", "a"), Err(BadPattern));
        assert_eq!(m("[*.md", "."), Err(BadPattern));
        assert_eq!(m("[a", "b"), Err(BadPattern));
    }

    #[test]
    fn alternatives_and_escapes() {
        assert_eq!(m("{a,b}.yaml", "b.yaml"), Ok(true));
        assert_eq!(m("{a,b/c}.yaml", "b/c.yaml"), Ok(true));
        assert_eq!(m("{a,{b,c}}x", "cx"), Ok(true));
        assert_eq!(m("x{,.bak}", "x"), Ok(true));
        assert_eq!(m("{a,b", "a"), Err(BadPattern));
        assert_eq!(m("\\*", "*"), Ok(true));
        assert_eq!(m("\\*", "a"), Ok(false));
        assert_eq!(m("a\\", "a"), Err(BadPattern));
    }

    #[test]
    fn validation_only_where_the_match_looks() {
        // The name runs out: the rest is validated.
        assert_eq!(m("a[", "a"), Err(BadPattern));
        // A mismatch before the bad part: the rest is validated too.
        assert_eq!(m("x[", "a"), Err(BadPattern));
        // Unvalidated matching never fails.
        assert!(!matches_unvalidated("a[", "a".as_bytes()));
        assert!(matches_unvalidated("*.md", "x.md".as_bytes()));
        // An unbalanced `}` is refused by ValidatePattern.
        assert!(!is_valid(b"a}"));
        assert!(is_valid(b"{a,b}/**/*.tgz"));
        assert!(!is_valid(b"[]"));
        assert!(!is_valid(b"\\"));
    }

    #[test]
    fn invalid_utf8_names_read_as_go_reads_them() {
        assert_eq!(matches("?", b"\xff"), Ok(true));
        assert_eq!(matches("??", b"\xff"), Ok(false));
        assert_eq!(matches("*", b"a\xffb"), Ok(true));
        assert_eq!(decode_rune(b""), (0xFFFD, 0));
        assert_eq!(decode_rune("é".as_bytes()), (0xE9, 2));
    }

    #[test]
    fn mid_doublestar_detection() {
        assert!(has_mid_doublestar(b"**/*.tgz"));
        assert!(!has_mid_doublestar(b"a/**"));
        assert!(!has_mid_doublestar(b"a/**/"));
        assert!(!has_mid_doublestar(b"\\**/x"));
    }

    #[test]
    fn merging_runs_as_doublestar_does() {
        let mut list: Vec<String> = ["a", "c", "b", "c", "d"].map(String::from).to_vec();
        merge_runs(&mut list, 0, 2, 5);
        // doublestar's merge stops when the first run is used up, duplicate or not.
        assert_eq!(list, ["a", "b", "c", "c", "d"]);
        let mut list: Vec<String> = ["a", "b", "b", "c"].map(String::from).to_vec();
        merge_runs(&mut list, 0, 2, 4);
        assert_eq!(list, ["a", "b", "c"]);
        let mut walked = Vec::new();
        for p in ["b", "a", "b", "c"] {
            insert_sorted(&mut walked, p.to_string());
        }
        assert_eq!(walked, ["a", "b", "c"]);
    }

    #[test]
    fn unescaping_meta_characters() {
        assert_eq!(unescape_meta("a\\*b\\{c\\}"), "a*b{c}");
        assert_eq!(unescape_meta("a\\b"), "a\\b");
        assert_eq!(unescape_meta("a\\"), "a\\");
    }
}

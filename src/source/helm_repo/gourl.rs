//! URLs as Go's `net/url` parses, resolves and prints them: the parts Helm and
//! source-controller run chart and index URLs through (`url.Parse`, `ResolveReference`,
//! `String`, `EscapedPath`). Go keeps a path both decoded and as escaped (`%2f` stays
//! `%2f`), lowercases the scheme only, and resolves dot segments its own way; a WHATWG
//! URL library normalises differently, so chart URLs would not match what Flux fetches.

use std::fmt;

/// A parsed URL, field for field as Go's `url.URL`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct GoUrl {
    /// Lowercased, without `:`.
    pub(super) scheme: String,
    /// What follows `scheme:` when it does not start with `/`.
    opaque: String,
    user: Option<UserInfo>,
    /// Decoded host, with its port.
    pub(super) host: String,
    /// `scheme:/path` written without `//`: printed without one again.
    omit_host: bool,
    /// Decoded path.
    path: String,
    /// The path as written, when Go's default escaping of `path` would differ.
    raw_path: String,
    /// A `?` with nothing after it.
    force_query: bool,
    /// The query as written, without `?`.
    pub(super) raw_query: String,
    /// Decoded fragment.
    fragment: String,
    /// The fragment as written, when the default escaping would differ.
    raw_fragment: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct UserInfo {
    username: String,
    password: Option<String>,
}

/// Which part of a URL a string is escaped or unescaped for (Go's `encoding` modes).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Path,
    Host,
    UserPassword,
    Fragment,
}

/// Why a URL did not parse, worded as Go's `*url.Error`: `parse "URL": reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParseError {
    url: String,
    reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = crate::gostd::strconv::quote(&self.url);
        write!(f, "parse {quoted}: {}", self.reason)
    }
}

impl GoUrl {
    /// Go's `url.Parse`.
    pub(super) fn parse(text: &str) -> Result<GoUrl, ParseError> {
        let (main, fragment) = match text.split_once('#') {
            Some((main, fragment)) => (main, Some(fragment)),
            None => (text, None),
        };
        let fail = |url: &str| {
            let url = url.to_string();
            move |reason: String| ParseError { url, reason }
        };
        let mut url = parse_main(main).map_err(fail(main))?;
        if let Some(fragment) = fragment {
            let decoded = unescape(fragment, Part::Fragment).map_err(fail(text))?;
            url.raw_fragment = if escape(&decoded, Part::Fragment) == fragment {
                String::new()
            } else {
                fragment.to_string()
            };
            url.fragment = decoded;
        }
        Ok(url)
    }

    /// Go's `IsAbs`: the URL has a scheme.
    pub(super) fn is_absolute(&self) -> bool {
        !self.scheme.is_empty()
    }

    /// Go's `EscapedPath`: the path as written when that is a valid spelling of it, else
    /// the default escaping.
    pub(super) fn escaped_path(&self) -> String {
        escaped(&self.path, &self.raw_path, Part::Path)
    }

    /// Replaces the path: `path` decoded, and the raw spelling kept when it is not the
    /// default one (Go's `setPath`).
    fn set_escaped_path(&mut self, escaped_path: &str) -> Result<(), String> {
        let decoded = unescape(escaped_path, Part::Path)?;
        self.raw_path = if escape(&decoded, Part::Path) == escaped_path {
            String::new()
        } else {
            escaped_path.to_string()
        };
        self.path = decoded;
        Ok(())
    }

    /// Appends a `/` to both spellings of the path unless there is one (Helm's
    /// `ResolveReferenceURL` and source-controller's `NormalizeURL` do this, each in its
    /// way: `trim_all` trims every trailing `/` first, else only one).
    pub(super) fn with_trailing_slash(&mut self, trim_all: bool) {
        for path in [&mut self.path, &mut self.raw_path] {
            let trimmed = if trim_all {
                path.trim_end_matches('/')
            } else {
                path.strip_suffix('/').unwrap_or(path)
            };
            *path = format!("{trimmed}/");
        }
    }

    /// Removes every trailing `/` from both spellings of the path.
    pub(super) fn trim_trailing_slashes(&mut self) {
        for path in [&mut self.path, &mut self.raw_path] {
            path.truncate(path.trim_end_matches('/').len());
        }
    }

    /// Joins `element` to both spellings of the path with Go's `path.Join` (which cleans
    /// them), as source-controller finds a repository's `index.yaml`.
    pub(super) fn join_path(&mut self, element: &str) {
        self.path = crate::gostd::path::join([self.path.as_str(), element]);
        self.raw_path = crate::gostd::path::join([self.raw_path.as_str(), element]);
    }

    /// Go's `ResolveReference`: `reference` taken relative to `self` (RFC 3986 §5.2,
    /// with Go's dot-segment removal).
    pub(super) fn resolve(&self, reference: &GoUrl) -> GoUrl {
        let mut url = reference.clone();
        if reference.scheme.is_empty() {
            url.scheme.clone_from(&self.scheme);
        }
        if !reference.scheme.is_empty() || !reference.host.is_empty() || reference.user.is_some() {
            // A validly escaped path cannot fail to decode.
            let _ = url.set_escaped_path(&remove_dot_segments(&reference.escaped_path(), ""));
            return url;
        }
        if !reference.opaque.is_empty() {
            url.user = None;
            url.host.clear();
            url.path.clear();
            return url;
        }
        if reference.path.is_empty() && !reference.force_query && reference.raw_query.is_empty() {
            url.raw_query.clone_from(&self.raw_query);
            if reference.fragment.is_empty() {
                url.fragment.clone_from(&self.fragment);
                url.raw_fragment.clone_from(&self.raw_fragment);
            }
        }
        if reference.path.is_empty() && !self.opaque.is_empty() {
            url.opaque.clone_from(&self.opaque);
            url.user = None;
            url.host.clear();
            url.path.clear();
            return url;
        }
        url.host.clone_from(&self.host);
        url.user.clone_from(&self.user);
        let _ = url.set_escaped_path(&remove_dot_segments(
            &self.escaped_path(),
            &reference.escaped_path(),
        ));
        url
    }
}

impl fmt::Display for GoUrl {
    /// Go's `URL.String`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        if !self.scheme.is_empty() {
            out.push_str(&self.scheme);
            out.push(':');
        }
        if self.opaque.is_empty() {
            let has_authority = !self.host.is_empty() || self.user.is_some();
            // `scheme:/path` (no authority written) prints without `//` again.
            if has_authority || (!self.scheme.is_empty() && !self.omit_host) {
                if has_authority || !self.path.is_empty() {
                    out.push_str("//");
                }
                if let Some(user) = &self.user {
                    out.push_str(&escape(&user.username, Part::UserPassword));
                    if let Some(password) = &user.password {
                        out.push(':');
                        out.push_str(&escape(password, Part::UserPassword));
                    }
                    out.push('@');
                }
                out.push_str(&escape(&self.host, Part::Host));
            }
            let path = self.escaped_path();
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                out.push('/');
            }
            // A relative path whose first segment holds a colon would read as a scheme.
            if out.is_empty() && path.split('/').next().is_some_and(|s| s.contains(':')) {
                out.push_str("./");
            }
            out.push_str(&path);
        } else {
            out.push_str(&self.opaque);
        }
        if self.force_query || !self.raw_query.is_empty() {
            out.push('?');
            out.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            out.push('#');
            out.push_str(&escaped(&self.fragment, &self.raw_fragment, Part::Fragment));
        }
        f.write_str(&out)
    }
}

/// Everything of `url.Parse` before the fragment.
fn parse_main(text: &str) -> Result<GoUrl, String> {
    if text.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = GoUrl::default();
    if text == "*" {
        url.path = "*".into();
        return Ok(url);
    }
    let (scheme, mut rest) = split_scheme(text)?;
    url.scheme = scheme.to_ascii_lowercase();
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        url.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else if let Some((before, query)) = rest.split_once('?') {
        url.raw_query = query.to_string();
        rest = before;
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_string();
            return Ok(url);
        }
        if rest.split('/').next().is_some_and(|s| s.contains(':')) {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if let Some(after) = rest.strip_prefix("//")
        && (!url.scheme.is_empty() || !rest.starts_with("///"))
    {
        let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
        let (user, host) = parse_authority(authority)?;
        url.user = user;
        url.host = host;
        rest = path;
    } else if !url.scheme.is_empty() && rest.starts_with('/') {
        url.omit_host = true;
    }
    url.set_escaped_path(rest)?;
    Ok(url)
}

/// Go's `getScheme`: letters, then letters, digits, `+`, `-` or `.`, then `:`. Anything
/// else means there is no scheme.
fn split_scheme(text: &str) -> Result<(&str, &str), String> {
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((&text[..i], &text[i + 1..])),
            _ => break,
        }
    }
    Ok(("", text))
}

fn parse_authority(authority: &str) -> Result<(Option<UserInfo>, String), String> {
    let Some(at) = authority.rfind('@') else {
        return Ok((None, parse_host(authority)?));
    };
    let host = parse_host(&authority[at + 1..])?;
    let userinfo = &authority[..at];
    let valid = userinfo
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b));
    if !valid {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match userinfo.split_once(':') {
        Some((username, password)) => UserInfo {
            username: unescape(username, Part::UserPassword)?,
            password: Some(unescape(password, Part::UserPassword)?),
        },
        None => UserInfo {
            username: unescape(userinfo, Part::UserPassword)?,
            password: None,
        },
    };
    Ok((Some(user), host))
}

/// Go's `parseHost`: a port must be digits; `%` escapes only for non-ASCII bytes.
fn parse_host(host: &str) -> Result<String, String> {
    let port = if host.starts_with('[') {
        let close = host.rfind(']').ok_or("missing ']' in host")?;
        &host[close + 1..]
    } else {
        host.rfind(':').map_or("", |colon| &host[colon..])
    };
    let valid_port = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()));
    if !valid_port {
        let quoted = crate::gostd::strconv::quote(port);
        return Err(format!("invalid port {quoted} after host"));
    }
    unescape(host, Part::Host)
}

/// `decoded` as written (`raw`) when that spelling is valid and decodes to it, else with
/// the default escaping (Go's `EscapedPath` and `EscapedFragment`).
fn escaped(decoded: &str, raw: &str, part: Part) -> String {
    if !raw.is_empty()
        && valid_encoded(raw, part)
        && unescape(raw, part).is_ok_and(|d| d == decoded)
    {
        return raw.to_string();
    }
    if part == Part::Path && decoded == "*" {
        return "*".into();
    }
    escape(decoded, part)
}

/// Whether `text` may stand as written: RFC 3986's sub-delimiters, `:`, `@`, brackets and
/// escapes, and whatever Go would not escape itself.
fn valid_encoded(text: &str, part: Part) -> bool {
    text.bytes()
        .all(|b| b"!$&'()*+,;=:@[]%".contains(&b) || !should_escape(b, part))
}

/// Go's `shouldEscape` for the modes used here.
fn should_escape(b: u8, part: Part) -> bool {
    if b.is_ascii_alphanumeric() {
        return false;
    }
    if part == Part::Host && b"!$&'()*+,;=:[]<>\"".contains(&b) {
        return false;
    }
    match b {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match part {
            Part::Path => b == b'?',
            Part::UserPassword => matches!(b, b'@' | b'/' | b'?' | b':'),
            Part::Fragment => false,
            Part::Host => true,
        },
        b'!' | b'(' | b')' | b'*' if part == Part::Fragment => false,
        _ => true,
    }
}

/// Go's `escape`: `%XX` (upper-case hex) for every byte [`should_escape`] names.
fn escape(text: &str, part: Part) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if should_escape(b, part) {
            out.push('%');
            out.push_str(&format!("{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Go's `unescape`: `%XX` decoded; a malformed escape, or in a host an escape of an ASCII
/// byte other than `%25` or a character that needs escaping, is an error worded as Go's.
fn unescape(text: &str, part: Part) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |at: usize| bytes.get(at).and_then(|h| char::from(*h).to_digit(16));
            let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2)) else {
                let end = (i + 3).min(bytes.len());
                let escape = String::from_utf8_lossy(&bytes[i..end]);
                let quoted = crate::gostd::strconv::quote(&escape);
                return Err(format!("invalid URL escape {quoted}"));
            };
            if part == Part::Host && high < 8 && &text[i..i + 3] != "%25" {
                let quoted = crate::gostd::strconv::quote(&text[i..i + 3]);
                return Err(format!("invalid URL escape {quoted}"));
            }
            // Two hex digits fit a byte.
            out.push(u8::try_from(high * 16 + low).unwrap_or_default());
            i += 3;
            continue;
        }
        if part == Part::Host && b < 0x80 && should_escape(b, part) {
            let quoted = crate::gostd::strconv::quote(&char::from(b).to_string());
            return Err(format!("invalid character {quoted} in host name"));
        }
        out.push(b);
        i += 1;
    }
    // Go strings hold any bytes; a URL crunch passes on is text.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `resolvePath`: `reference` merged onto `base`'s directory (or taken as is when
/// absolute, or `base` when empty), then `.` and `..` segments removed; the result always
/// starts with `/`, and ends with one when the last segment was a dot segment.
fn remove_dot_segments(base: &str, reference: &str) -> String {
    let full = if reference.is_empty() {
        base.to_string()
    } else if reference.starts_with('/') {
        reference.to_string()
    } else {
        let directory = base.rfind('/').map_or("", |slash| &base[..=slash]);
        format!("{directory}{reference}")
    };
    if full.is_empty() {
        return String::new();
    }
    // `out` is what follows the leading `/`; `separate` says whether the next segment
    // needs a `/` before it (false at the very start and after `..` climbs to the root).
    let mut out = String::new();
    let mut separate = false;
    let mut last = "";
    for segment in full.split('/') {
        last = segment;
        match segment {
            "." => separate = true,
            ".." => match out.rfind('/') {
                Some(slash) => out.truncate(slash),
                None => {
                    out.clear();
                    separate = false;
                }
            },
            _ => {
                if separate {
                    out.push('/');
                }
                out.push_str(segment);
                separate = true;
            }
        }
    }
    if last == "." || last == ".." {
        out.push('/');
    }
    // The full path's own leading `/` makes an empty first segment: one `/` is enough.
    match out.strip_prefix('/') {
        Some(rest) => format!("/{rest}"),
        None => format!("/{out}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(base: &str, reference: &str) -> String {
        let base = GoUrl::parse(base).unwrap();
        base.resolve(&GoUrl::parse(reference).unwrap()).to_string()
    }

    #[test]
    fn parses_and_prints_as_go() {
        for text in [
            "http://localhost:8123/charts%2fwith%2fescaped%2fslash",
            "https://user:p%40ss@example.com:8443/a/b?x=1&y=2#frag",
            "oci://ghcr.io/org/charts",
            "mailto:someone@example.com",
            "/just/a/path",
            "relative/path?q",
            "file:///srv/charts",
            "http://example.com",
            "http://[::1]:8080/x",
        ] {
            assert_eq!(GoUrl::parse(text).unwrap().to_string(), text);
        }
        // Go's default escaping where the text needs it, and only the scheme lowercased.
        assert_eq!(
            GoUrl::parse("HTTP://Example.COM/a b/ü")
                .unwrap()
                .to_string(),
            "http://Example.COM/a%20b/%C3%BC"
        );
        assert_eq!(GoUrl::parse("x?").unwrap().to_string(), "x?");
    }

    #[test]
    fn refuses_what_go_refuses() {
        for (text, reason) in [
            ("http://host/%zz", r#"invalid URL escape "%zz""#),
            ("http://host/%4", r#"invalid URL escape "%4""#),
            ("http://host:port/", r#"invalid port ":port" after host"#),
            ("http://[::1/", "missing ']' in host"),
            ("1a:b", "first path segment in URL cannot contain colon"),
            (":x", "missing protocol scheme"),
            ("http://a b\n", "net/url: invalid control character in URL"),
            ("http://us er@host/", "net/url: invalid userinfo"),
        ] {
            let err = GoUrl::parse(text).unwrap_err();
            assert_eq!(err.reason, reason, "{text}");
        }
        assert_eq!(
            GoUrl::parse("http://host/%zz").unwrap_err().to_string(),
            r#"parse "http://host/%zz": invalid URL escape "%zz""#
        );
    }

    #[test]
    fn resolves_references_as_go() {
        // RFC 3986 §5.4.1's normal examples, as Go resolves them.
        let base = "http://a/b/c/d;p?q";
        for (reference, want) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("g#s", "http://a/b/c/g#s"),
            (";x", "http://a/b/c/;x"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("..g", "http://a/b/c/..g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/../h", "http://a/b/c/h"),
        ] {
            assert_eq!(resolved(base, reference), want, "{reference}");
        }
        assert_eq!(resolved("http://a/b/", "../../../.."), "http://a/");
        assert_eq!(resolved("http://a", "x"), "http://a/x");
    }

    #[test]
    fn dot_segments_follow_go() {
        assert_eq!(remove_dot_segments("/a/b/", "c"), "/a/b/c");
        assert_eq!(remove_dot_segments("", "a/../../b"), "/b");
        assert_eq!(remove_dot_segments("/a/", ""), "/a/");
        assert_eq!(remove_dot_segments("", ""), "");
        assert_eq!(remove_dot_segments("a/b", "./.."), "/");
        assert_eq!(remove_dot_segments("/x/", "//y"), "//y");
    }
}

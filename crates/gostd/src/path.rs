//! Go's `path` package: slash-separated paths, cleaned lexically. Helm's chart file names,
//! Sprig's path functions and kustomize's path arithmetic all go through `path.Clean` (or
//! `filepath`'s, which is the same on Unix).

/// `path.Clean`: `.` elements dropped, `..` elements folded into their parent (kept at the
/// front of a relative path, dropped at the root), repeated slashes collapsed, no trailing
/// slash; `.` for an empty result of a relative path.
///
/// ```
/// use crunch_gostd::path::clean;
///
/// assert_eq!(clean("a/./b/../c/"), "a/c");
/// assert_eq!(clean("/../a"), "/a");
/// assert_eq!(clean(""), ".");
/// ```
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// `path.Join`: the non-empty elements joined with `/` and cleaned; the empty string when
/// every element is empty.
///
/// ```
/// use crunch_gostd::path::join;
///
/// assert_eq!(join(["../base", "cm.yaml"]), "../base/cm.yaml");
/// assert_eq!(join(["", "svc.yaml"]), "svc.yaml");
/// assert_eq!(join(["", ""]), "");
/// ```
pub fn join<'a>(elements: impl IntoIterator<Item = &'a str>) -> String {
    let parts: Vec<&str> = elements.into_iter().filter(|e| !e.is_empty()).collect();
    if parts.is_empty() {
        String::new()
    } else {
        clean(&parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::{clean, join};

    #[test]
    fn cleans_as_go_does() {
        // Cases from Go's path tests, and the corners crunch's callers meet.
        for (path, want) in [
            ("", "."),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("/", "/"),
            ("//", "/"),
            ("abc/", "abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("a/./b/../c", "a/c"),
            ("abc/./../def", "def"),
            ("abc/../../././../def", "../../def"),
            ("../x", "../x"),
            ("a/../../x", "../x"),
            ("/a/../..", "/"),
            ("/../a", "/a"),
            ("/abc/def/../../..", "/"),
            ("//a//b/", "/a/b"),
            ("a/b/..", "a"),
        ] {
            assert_eq!(clean(path), want, "{path}");
        }
    }

    #[test]
    fn joins_as_go_does() {
        for (elements, want) in [
            (&["a", "b", "c"][..], "a/b/c"),
            (&["a", "", "c"], "a/c"),
            (&["", ""], ""),
            (&[], ""),
            (&["/", "a"], "/a"),
            (&["/x", "y"], "/x/y"),
            (&["a/b", "../../../c"], "../c"),
            (&["./x/", "./y"], "x/y"),
        ] {
            assert_eq!(join(elements.iter().copied()), want, "{elements:?}");
        }
    }
}

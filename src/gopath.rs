//! Go's `path` package where crunch needs its exact results: Sprig's path functions, Helm's
//! chart file names and kustomize's path arithmetic all clean paths as `path.Clean` does.
//! A leaf: depends on no other crunch module.

/// Go's `path.Clean` of a `/`-separated path: `.` elements dropped, `..` elements folded
/// into their parent (kept at the front of a relative path, dropped at the root), repeated
/// slashes collapsed; `.` for an empty result of a relative path.
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

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn cleans_as_go_does() {
        for (path, want) in [
            ("", "."),
            (".", "."),
            ("a/./b/../c", "a/c"),
            ("../x", "../x"),
            ("a/../../x", "../x"),
            ("/a/../..", "/"),
            ("/../a", "/a"),
            ("//a//b/", "/a/b"),
            ("a/b/..", "a"),
        ] {
            assert_eq!(clean(path), want, "{path}");
        }
    }
}

//! Remote bases: recognising kustomize's git URL forms and turning them into a
//! [`RemoteTarget`] for the caller's [`super::Remote`].

use super::RemoteTarget;

const SCHEMES: [&str; 4] = ["ssh://", "https://", "http://", "file://"];

/// Parses `s` as kustomize's `NewRepoSpecFromURL` does; `None` when it is not a git URL
/// (then it is a local path).
pub(crate) fn parse(s: &str) -> Option<RemoteTarget> {
    if s.starts_with('/') {
        return None;
    }
    let (rest, query) = match s.split_once('?') {
        Some((r, q)) => (r, q),
        None => (s, ""),
    };
    let reference = query_ref(query);
    let rest = strip_prefix_ignore_case(rest, "git::").unwrap_or(rest);
    let (scheme, rest) = SCHEMES
        .iter()
        .find_map(|p| strip_prefix_ignore_case(rest, p).map(|r| (*p, r)))
        .unwrap_or(("", rest));
    let (username, rest) = split_username(rest);
    let github = {
        let l = rest.to_ascii_lowercase();
        l.starts_with("github.com/") || l.starts_with("github.com:")
    };
    let scp = scheme.is_empty() && (!username.is_empty() || github);
    if scheme.is_empty() && !scp {
        return None;
    }
    let (host, path) = if scheme == "file://" {
        (format!("{scheme}{username}"), rest.to_string())
    } else {
        let sep = {
            let slash = rest.find('/');
            let colon = rest.find(':').filter(|_| scp);
            match (slash, colon) {
                (Some(s), Some(c)) if c > 0 && c < s => Some(c),
                (None, Some(c)) => Some(c),
                (s, _) => s,
            }
        };
        let (mut host, path) = match sep {
            Some(i) => (rest[..=i].to_string(), rest[i + 1..].to_string()),
            None => (rest.to_string(), String::new()),
        };
        let (mut scheme, mut username) = (scheme.to_string(), username.to_string());
        if github {
            if scheme.starts_with("ssh://") || !username.is_empty() {
                scheme = String::new();
                host = "github.com:".to_string();
            } else {
                scheme = "https://".to_string();
                username = String::new();
                host = "github.com/".to_string();
            }
        }
        if host.is_empty() {
            return None;
        }
        (format!("{scheme}{username}{host}"), path)
    };
    let default_len = if scheme == "file://" { None } else { Some(2) };
    let (repo_path, sub) = split_repo_path(&path, default_len)?;
    if repo_path.is_empty() || exits_repo(&sub) {
        return None;
    }
    Some(RemoteTarget {
        repo_url: format!("{host}{repo_path}"),
        path: sub.trim_start_matches('/').to_string(),
        reference,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `user@` at the start (a letter, then letters, digits and dashes).
fn split_username(s: &str) -> (&str, &str) {
    let Some(at) = s.find('@') else {
        return ("", s);
    };
    let user = &s[..at];
    let mut chars = user.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        (&s[..=at], &s[at + 1..])
    } else {
        ("", s)
    }
}

/// `ref=` wins over `version=`; other parameters (timeout, submodules) do not matter here.
fn query_ref(query: &str) -> Option<String> {
    let get = |key: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty())
    };
    get("ref").or_else(|| get("version"))
}

/// Splits the URL path into the repository and the path inside it: at `_git/<repo>`, at
/// `//`, after `.git`, or else after `default_len` segments (all of them for `file://`).
fn split_repo_path(n: &str, default_len: Option<usize>) -> Option<(String, String)> {
    if let Some(i) = n.find("_git/") {
        let after = &n[i + 5..];
        let (repo, sub) = after.split_once('/').unwrap_or((after, ""));
        return Some((format!("{}{repo}", &n[..i + 5]), sub.to_string()));
    }
    if let Some(i) = n.find("//") {
        return Some((n[..i].to_string(), n[i + 2..].to_string()));
    }
    if let Some(i) = n.find(".git") {
        return Some((n[..i + 4].to_string(), n[i + 4..].to_string()));
    }
    let Some(len) = default_len else {
        return Some((n.to_string(), String::new()));
    };
    let segments: Vec<&str> = n.split('/').collect();
    if segments.len() < len {
        return None;
    }
    Some((segments[..len].join("/"), segments[len..].join("/")))
}

/// Whether a path inside the repository climbs out of it.
fn exits_repo(sub: &str) -> bool {
    let mut depth = 0i32;
    for part in sub.trim_start_matches('/').split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(s: &str) -> (String, String, Option<String>) {
        let t = parse(s).unwrap_or_else(|| panic!("{s} should be remote"));
        (t.repo_url, t.path, t.reference)
    }

    #[test]
    fn https_with_git_suffix_and_ref() {
        assert_eq!(
            target("https://repo1.dso.mil/platform-one/big-bang/bigbang.git//base?ref=3.0.0"),
            (
                "https://repo1.dso.mil/platform-one/big-bang/bigbang.git".into(),
                "base".into(),
                Some("3.0.0".into())
            )
        );
        assert_eq!(
            target("https://repo1.dso.mil/platform-one/big-bang/bigbang.git/base?ref=3.2.0"),
            (
                "https://repo1.dso.mil/platform-one/big-bang/bigbang.git".into(),
                "base".into(),
                Some("3.2.0".into())
            )
        );
    }

    #[test]
    fn github_shorthand_and_version() {
        assert_eq!(
            target("github.com/org/repo/deploy/base?version=v1"),
            (
                "https://github.com/org/repo".into(),
                "deploy/base".into(),
                Some("v1".into())
            )
        );
        assert_eq!(
            target("git@github.com:org/repo.git/path?ref=main"),
            (
                "git@github.com:org/repo.git".into(),
                "path".into(),
                Some("main".into())
            )
        );
    }

    #[test]
    fn ssh_git_prefix_and_azure() {
        assert_eq!(
            target("git::ssh://git@host.example/org/repo//sub"),
            ("ssh://git@host.example/org/repo".into(), "sub".into(), None)
        );
        assert_eq!(
            target("https://dev.azure.com/org/project/_git/repo/sub/dir"),
            (
                "https://dev.azure.com/org/project/_git/repo".into(),
                "sub/dir".into(),
                None
            )
        );
        assert_eq!(
            target("https://host.example/org/repo/a/b?ref=v2&timeout=9"),
            (
                "https://host.example/org/repo".into(),
                "a/b".into(),
                Some("v2".into())
            )
        );
    }

    #[test]
    fn local_paths_are_not_remote() {
        for s in ["../base", "base", "./x/y", "/abs/path", "deployment.yaml"] {
            assert!(parse(s).is_none(), "{s}");
        }
        assert!(parse("https://host.example/org/repo//../x").is_none());
    }
}

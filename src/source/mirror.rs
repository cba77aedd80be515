//! URL prefix rewrites: fetch `https://repo1.dso.mil/...` from an enclave git server or a
//! local directory instead, while provenance and the lock keep the requested URL.

/// An ordered set of URL prefix rewrites; the longest matching prefix wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrors {
    /// `(prefix, replacement)` pairs, longest prefix first (ties keep their given order).
    rules: Vec<(String, String)>,
}

impl Mirrors {
    /// Builds the rewrite table from `(prefix, replacement)` pairs, e.g.
    /// `("https://repo1.dso.mil/", "git://127.0.0.1:9418/")` or
    /// `("https://repo1.dso.mil/", "/srv/mirror/")`. Empty prefixes are ignored: they
    /// would silently redirect every URL.
    pub fn new(rules: impl IntoIterator<Item = (String, String)>) -> Mirrors {
        let mut rules: Vec<(String, String)> = rules
            .into_iter()
            .filter(|(prefix, _)| !prefix.is_empty())
            .collect();
        // A stable sort keeps the caller's order among prefixes of equal length.
        rules.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Mirrors { rules }
    }

    /// The URL to fetch `url` from: `url` with its longest matching prefix replaced, or
    /// `url` itself when no rule matches.
    pub fn rewrite(&self, url: &str) -> String {
        self.rules
            .iter()
            .find_map(|(prefix, replacement)| {
                url.strip_prefix(prefix.as_str())
                    .map(|rest| format!("{replacement}{rest}"))
            })
            .unwrap_or_else(|| url.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mirrors = Mirrors::new([
            (
                "https://repo1.dso.mil/".to_string(),
                "git://mirror/".to_string(),
            ),
            (
                "https://repo1.dso.mil/big-bang/".to_string(),
                "/srv/bb/".to_string(),
            ),
            (String::new(), "nowhere".to_string()),
        ]);
        assert_eq!(
            mirrors.rewrite("https://repo1.dso.mil/big-bang/bigbang.git"),
            "/srv/bb/bigbang.git"
        );
        assert_eq!(
            mirrors.rewrite("https://repo1.dso.mil/other/x.git"),
            "git://mirror/other/x.git"
        );
        assert_eq!(
            mirrors.rewrite("https://example.com/x.git"),
            "https://example.com/x.git"
        );
    }
}

//! Helm HTTP chart repositories as Flux's source-controller uses them: the index read
//! ([`IndexFile::parse`]), a chart version picked ([`IndexFile::resolve`]), its archive
//! located ([`chart_url`]) and fetched ([`HttpSource`]), credentials sent only where Helm
//! would send them ([`credentials_for`]).
//!
//! URLs go through Go's `net/url` rules (`gourl`), so a chart URL is the URL Flux
//! would fetch, byte for byte. The index is read as Helm's types read it (`decode`), with
//! source-controller's choice of version (`resolve`, including Go's stable sort where
//! its comparison leaves ties).
//!
//! A repository's URL is normalised as source-controller normalises `spec.url`
//! ([`normalize_url`]); the index is at [`index_url`].

mod created;
mod decode;
mod gourl;
mod http;
mod index;
mod resolve;

pub use created::Created;
pub use http::{HttpError, HttpSource, MAX_INDEX_SIZE};
pub use index::{ChartVersion, IndexError, IndexFile};
pub use resolve::ResolveError;

use gourl::GoUrl;

/// A URL that Go's `url.Parse` refuses, or a chart without any URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL to Go, worded as Helm wraps `url.Parse`'s error.
    #[error("failed to parse {url} as URL: {reason}")]
    Invalid {
        /// The text as given.
        url: String,
        /// Go's `*url.Error` text (`parse "…": invalid URL escape "%zz"`).
        reason: String,
    },
    /// The index entry lists no URL (source-controller's `DownloadChart` message).
    #[error("chart '{chart}' has no downloadable URLs")]
    NoUrls {
        /// The chart's name.
        chart: String,
    },
}

fn parse(url: &str) -> Result<GoUrl, UrlError> {
    GoUrl::parse(url).map_err(|e| UrlError::Invalid {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

/// source-controller's `NormalizeURL` of a HelmRepository's `spec.url`: an `oci://` URL
/// loses its trailing slashes, any other gets exactly one; empty stays empty.
///
/// # Errors
/// [`UrlError::Invalid`] when Go cannot parse `url`.
pub fn normalize_url(url: &str) -> Result<String, UrlError> {
    if url.is_empty() {
        return Ok(String::new());
    }
    let mut parsed = parse(url)?;
    if parsed.scheme == "oci" {
        parsed.trim_trailing_slashes();
    } else {
        parsed.with_trailing_slash(true);
    }
    Ok(parsed.to_string())
}

/// Where source-controller fetches a repository's index (`DownloadIndex`): `index.yaml`
/// joined to the path with Go's `path.Join` (which cleans it), the query kept.
///
/// # Errors
/// [`UrlError::Invalid`] when Go cannot parse `repository_url`.
pub fn index_url(repository_url: &str) -> Result<String, UrlError> {
    let mut parsed = parse(repository_url)?;
    parsed.join_path("index.yaml");
    Ok(parsed.to_string())
}

/// The URL of `chart`'s archive: its first URL resolved against the repository's as
/// Helm's `ResolveReferenceURL` resolves it. An absolute URL is returned as written; a
/// relative one is resolved against the repository URL with one trailing slash (so
/// `https://host/charts` and `https://host/charts/` both lead to `https://host/charts/x.tgz`,
/// and `/x.tgz` to the host's root), and the result carries the repository URL's query
/// (its own query, if any, is dropped: Helm does the same).
///
/// # Errors
/// [`UrlError`]: no URL in the entry, or one Go cannot parse.
pub fn chart_url(repository_url: &str, chart: &ChartVersion) -> Result<String, UrlError> {
    let first = chart.urls.first().ok_or_else(|| UrlError::NoUrls {
        chart: chart.name.clone(),
    })?;
    resolve_reference_url(repository_url, first)
}

/// Helm's `repo.ResolveReferenceURL`.
fn resolve_reference_url(base: &str, reference: &str) -> Result<String, UrlError> {
    let parsed_reference = parse(reference)?;
    if parsed_reference.is_absolute() {
        return Ok(reference.to_string());
    }
    let mut parsed_base = parse(base)?;
    parsed_base.with_trailing_slash(false);
    let mut resolved = parsed_base.resolve(&parsed_reference);
    resolved.raw_query.clone_from(&parsed_base.raw_query);
    Ok(resolved.to_string())
}

/// Whether the repository's credentials go with a request for `chart_url`: always with
/// `passCredentials`, else only to the repository's own scheme and host (port included),
/// as Helm's HTTP getter decides (source-controller hands it the repository URL and
/// `spec.passCredentials`). A URL Go cannot parse gets none.
#[must_use]
pub fn credentials_for(repository_url: &str, chart_url: &str, pass_credentials: bool) -> bool {
    if pass_credentials {
        return true;
    }
    match (GoUrl::parse(repository_url), GoUrl::parse(chart_url)) {
        (Ok(repository), Ok(chart)) => {
            repository.scheme == chart.scheme && repository.host == chart.host
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str) -> ChartVersion {
        ChartVersion {
            name: "nginx".into(),
            version: "0.2.0".into(),
            app_version: String::new(),
            api_version: "v2".into(),
            urls: vec![url.into()],
            digest: String::new(),
            created: Created::default(),
            removed: false,
            deprecated: false,
        }
    }

    #[test]
    fn chart_urls_resolve_as_helm_resolves_them() {
        // Helm's own cases (pkg/repo/v1/chartrepo_test.go), restated.
        for (base, reference, want) in [
            (
                "http://localhost:8123/",
                "/nginx-0.2.0.tgz",
                "http://localhost:8123/nginx-0.2.0.tgz",
            ),
            (
                "http://localhost:8123/charts/",
                "nginx-0.2.0.tgz",
                "http://localhost:8123/charts/nginx-0.2.0.tgz",
            ),
            (
                "http://localhost:8123/charts/",
                "/nginx-0.2.0.tgz",
                "http://localhost:8123/nginx-0.2.0.tgz",
            ),
            (
                "http://localhost:8123/charts-with-no-trailing-slash",
                "nginx-0.2.0.tgz",
                "http://localhost:8123/charts-with-no-trailing-slash/nginx-0.2.0.tgz",
            ),
            (
                "http://localhost:8123",
                "https://charts.helm.sh/stable/nginx-0.2.0.tgz",
                "https://charts.helm.sh/stable/nginx-0.2.0.tgz",
            ),
            (
                "http://localhost:8123/charts%2fwith%2fescaped%2fslash",
                "nginx-0.2.0.tgz",
                "http://localhost:8123/charts%2fwith%2fescaped%2fslash/nginx-0.2.0.tgz",
            ),
            (
                "http://localhost:8123/charts%2fwith%2fescaped%2fslash",
                "/nginx-0.2.0.tgz",
                "http://localhost:8123/nginx-0.2.0.tgz",
            ),
            (
                "http://localhost:8123/charts?with=queryparameter",
                "nginx-0.2.0.tgz",
                "http://localhost:8123/charts/nginx-0.2.0.tgz?with=queryparameter",
            ),
            (
                "http://localhost:8123/charts?with=queryparameter",
                "/nginx-0.2.0.tgz",
                "http://localhost:8123/nginx-0.2.0.tgz?with=queryparameter",
            ),
        ] {
            assert_eq!(
                chart_url(base, &entry(reference)),
                Ok(want.to_string()),
                "{base} + {reference}"
            );
        }
    }

    #[test]
    fn chart_urls_in_corners() {
        let url = |base: &str, reference: &str| chart_url(base, &entry(reference));
        // The reference's own query gives way to the repository's (even to none).
        assert_eq!(
            url("https://h/c/", "x.tgz?sig=1"),
            Ok("https://h/c/x.tgz".into())
        );
        assert_eq!(
            url("https://h/c/?t=2", "x.tgz?sig=1"),
            Ok("https://h/c/x.tgz?t=2".into())
        );
        // Dot segments and network-path references.
        assert_eq!(
            url("https://h/a/b//", "../x.tgz"),
            Ok("https://h/a/b/x.tgz".into())
        );
        assert_eq!(
            url("https://h/c", "./a/./b/../c.tgz"),
            Ok("https://h/c/a/c.tgz".into())
        );
        assert_eq!(
            url("https://h/c", "a b.tgz"),
            Ok("https://h/c/a%20b.tgz".into())
        );
        assert_eq!(
            url("https://u:p@h/c", "x.tgz#frag"),
            Ok("https://u:p@h/c/x.tgz#frag".into())
        );
        // `a:b.tgz` has a scheme (`a`), so it is absolute.
        assert_eq!(url("https://h/c", "a:b.tgz"), Ok("a:b.tgz".into()));
        assert_eq!(
            url("https://h/a/", "//cdn/x.tgz"),
            Ok("https://cdn/x.tgz".into())
        );
        // Absolute references come back exactly as written.
        assert_eq!(
            url("https://h/", "HTTPS://Other/x.tgz"),
            Ok("HTTPS://Other/x.tgz".into())
        );
        assert_eq!(
            url("https://h/", "x%zz.tgz").map_err(|e| e.to_string()),
            Err(
                r#"failed to parse x%zz.tgz as URL: parse "x%zz.tgz": invalid URL escape "%zz""#
                    .into()
            )
        );
        let mut none = entry("x");
        none.urls.clear();
        assert_eq!(
            chart_url("https://h/", &none).map_err(|e| e.to_string()),
            Err("chart 'nginx' has no downloadable URLs".into())
        );
    }

    #[test]
    fn repository_urls_normalise_and_find_their_index() {
        assert_eq!(
            normalize_url("https://h/charts"),
            Ok("https://h/charts/".into())
        );
        assert_eq!(
            normalize_url("https://h/charts///"),
            Ok("https://h/charts/".into())
        );
        assert_eq!(normalize_url("https://h"), Ok("https://h/".into()));
        assert_eq!(
            normalize_url("oci://ghcr.io/org/"),
            Ok("oci://ghcr.io/org".into())
        );
        assert_eq!(normalize_url(""), Ok(String::new()));
        assert_eq!(
            index_url("https://h/charts/"),
            Ok("https://h/charts/index.yaml".into())
        );
        assert_eq!(
            index_url("https://h/a/../charts?x=1"),
            Ok("https://h/charts/index.yaml?x=1".into())
        );
        assert_eq!(index_url("https://h"), Ok("https://h/index.yaml".into()));
    }

    proptest::proptest! {
        /// Any text as repository and chart URL: an error or a URL, never a panic; an
        /// absolute reference comes back as written.
        #[test]
        fn chart_urls_never_panic(
            base in "[a-zA-Z0-9:/?#%@.\\[\\] ~+-]{0,40}",
            reference in "[a-zA-Z0-9:/?#%@.\\[\\] ~+-]{0,40}",
        ) {
            let resolved = chart_url(&base, &entry(&reference));
            if GoUrl::parse(&reference).is_ok_and(|r| r.is_absolute()) {
                proptest::prop_assert_eq!(resolved, Ok(reference.clone()));
            }
            let _ = credentials_for(&base, &reference, false);
            let _ = (normalize_url(&base), index_url(&base));
        }

        /// Index-shaped text and timestamps: an index or an error, never a panic.
        #[test]
        fn indexes_never_panic(
            body in "[a-z0-9:.+\\-\\[\\]{}, \n'\"~]{0,120}",
            time in "[0-9T:.,Zz+\\- ]{0,30}",
        ) {
            let text = format!("apiVersion: v1\nentries:\n  a:\n  - {body}");
            if let Ok(index) = IndexFile::parse(text.as_bytes()) {
                let _ = index.resolve("a", "");
            }
            let _ = Created::parse_rfc3339(&time);
        }
    }

    #[test]
    fn credentials_stay_with_the_repository_host() {
        let repo = "https://charts.example.com/stable/";
        assert!(credentials_for(
            repo,
            "https://charts.example.com/other/x.tgz",
            false
        ));
        assert!(credentials_for(
            repo,
            "HTTPS://charts.example.com/x.tgz",
            false
        ));
        assert!(!credentials_for(
            repo,
            "https://cdn.example.com/x.tgz",
            false
        ));
        assert!(!credentials_for(
            repo,
            "http://charts.example.com/x.tgz",
            false
        ));
        assert!(!credentials_for(
            repo,
            "https://charts.example.com:8443/x.tgz",
            false
        ));
        assert!(!credentials_for(
            repo,
            "https://CHARTS.example.com/x.tgz",
            false
        ));
        assert!(credentials_for(repo, "https://cdn.example.com/x.tgz", true));
        assert!(!credentials_for(repo, "https://h/%zz", false));
    }
}

//! Credentials in URLs: `https://user:password@host/...` is split into the URL gix
//! connects to and the basic-auth pair offered when the server asks, so that passwords
//! never reach provenance, the lock or error messages.

use super::remote::BasicAuth;

/// Splits `http(s)://user:password@host/...` into the URL without userinfo and the
/// credentials. Other forms (paths, `ssh://git@host/...`, whose user is part of the
/// address, `user@host:path`) are returned unchanged.
pub(crate) fn split_userinfo(url: &str) -> (String, Option<BasicAuth>) {
    let Some((scheme, rest)) = url.split_once("://").filter(|(scheme, _)| {
        scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")
    }) else {
        return (url.to_string(), None);
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (url.to_string(), None);
    };
    let (username, password) = rest[..at].split_once(':').unwrap_or((&rest[..at], ""));
    let auth = BasicAuth {
        username: percent_decode(username),
        password: percent_decode(password),
    };
    (format!("{scheme}://{}", &rest[at + 1..]), Some(auth))
}

/// Decodes `%XX` escapes (userinfo may escape `:`, `@` and `/`); malformed escapes stay.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_split_and_decoded() {
        let (url, auth) = split_userinfo("https://u%40x:p%3Aw@host:8443/a/b.git");
        assert_eq!(url, "https://host:8443/a/b.git");
        let auth = auth.unwrap();
        assert_eq!(
            (auth.username.as_str(), auth.password.as_str()),
            ("u@x", "p:w")
        );
        assert_eq!(split_userinfo("/srv/repo").0, "/srv/repo");
        assert_eq!(split_userinfo("git@host:x.git").0, "git@host:x.git");
        assert!(split_userinfo("https://host/a@b").1.is_none());
        assert_eq!(
            split_userinfo("ssh://git@host/x.git").0,
            "ssh://git@host/x.git"
        );
    }
}

//! A platform (`os/arch[/variant]`), as `--platform` names one and an image index
//! describes its manifests.

use std::fmt;

use serde_json::Value;

/// The platform of one manifest in a multi-platform image: `linux/amd64`,
/// `linux/arm64/v8`, `linux/arm/v7`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    /// The operating system (`linux`, `windows`).
    pub os: String,
    /// The CPU architecture, as Go names it (`amd64`, `arm64`, `arm`).
    pub architecture: String,
    /// The CPU variant (`v8`, `v7`), if one is named.
    pub variant: Option<String>,
}

impl Platform {
    /// Reads `os/arch` or `os/arch/variant`.
    pub fn parse(text: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = text.split('/').collect();
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        match parts[..] {
            [os, architecture] | [os, architecture, _] if valid(os) && valid(architecture) => {
                let variant = parts.get(2).map(|v| v.to_string());
                if variant.as_deref().is_some_and(|v| !valid(v)) {
                    return Err(format!(
                        "invalid platform {text:?}: expected os/arch[/variant] (linux/arm64)"
                    ));
                }
                Ok(Platform {
                    os: os.to_string(),
                    architecture: architecture.to_string(),
                    variant,
                })
            }
            _ => Err(format!(
                "invalid platform {text:?}: expected os/arch[/variant] (linux/arm64)"
            )),
        }
    }

    /// The platform an index entry's `platform` object describes, if it has one.
    pub(crate) fn of_entry(entry: &Value) -> Option<Platform> {
        let platform = entry.get("platform")?;
        let text = |name: &str| platform.get(name).and_then(Value::as_str);
        Some(Platform {
            os: text("os")?.to_string(),
            architecture: text("architecture")?.to_string(),
            variant: text("variant")
                .filter(|v| !v.is_empty())
                .map(str::to_string),
        })
    }

    /// Whether an index entry for `offered` serves a request for `self`: the same os
    /// and architecture, and the variant asked for if one is (arm64's `v8` is its
    /// default, as containerd reads it).
    pub(crate) fn matches(&self, offered: &Platform) -> bool {
        let variant = |platform: &Platform| match (
            platform.architecture.as_str(),
            platform.variant.as_deref(),
        ) {
            ("arm64", None) => Some("v8".to_string()),
            (_, variant) => variant.map(str::to_string),
        };
        self.os == offered.os
            && self.architecture == offered.architecture
            && (self.variant.is_none() || variant(self) == variant(offered))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_read_and_print_back() {
        for text in ["linux/amd64", "linux/arm64/v8", "windows/amd64"] {
            assert_eq!(Platform::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "linux",
            "linux/",
            "/amd64",
            "linux/amd64/v8/x",
            "Linux/amd64",
            "",
        ] {
            assert!(Platform::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn variants_match_as_containerd_reads_them() {
        let arm64 = Platform::parse("linux/arm64").unwrap();
        let arm64_v8 = Platform::parse("linux/arm64/v8").unwrap();
        assert!(arm64.matches(&arm64_v8));
        assert!(arm64_v8.matches(&arm64));
        assert!(!arm64.matches(&Platform::parse("linux/amd64").unwrap()));
        let arm_v7 = Platform::parse("linux/arm/v7").unwrap();
        assert!(!arm_v7.matches(&Platform::parse("linux/arm/v6").unwrap()));
        assert!(Platform::parse("linux/arm").unwrap().matches(&arm_v7));
    }
}

//! What revision of a repository is wanted: Flux's `GitRepository.spec.ref` and
//! kustomize's remote `?ref=`, reduced to one [`Reference`].

use std::fmt;

/// The fields of a Flux `GitRepository.spec.ref`, as written in the object.
///
/// Several may be set; [`GitRef::reference`] applies Flux's precedence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitRef {
    /// `commit`: a full commit id; wins over every other field.
    pub commit: Option<String>,
    /// `name`: a full reference name such as `refs/heads/main` or `refs/pull/1/head`.
    pub name: Option<String>,
    /// `semver`: a range; the highest tag satisfying it is used.
    pub semver: Option<String>,
    /// `tag`: a tag name.
    pub tag: Option<String>,
    /// `branch`: a branch name.
    pub branch: Option<String>,
}

/// The branch Flux checks out when `spec.ref` names nothing.
pub const FLUX_DEFAULT_BRANCH: &str = "master";

impl GitRef {
    /// The one reference Flux's source-controller acts on: commit, then name, then
    /// semver, then tag, then branch; with none set, branch `master`.
    pub fn reference(&self) -> Reference {
        let pick = |field: &Option<String>| field.as_ref().filter(|v| !v.is_empty()).cloned();
        if let Some(commit) = pick(&self.commit) {
            Reference::Commit(commit)
        } else if let Some(name) = pick(&self.name) {
            Reference::Name(name)
        } else if let Some(range) = pick(&self.semver) {
            Reference::Semver(range)
        } else if let Some(tag) = pick(&self.tag) {
            Reference::Tag(tag)
        } else {
            Reference::Branch(pick(&self.branch).unwrap_or_else(|| FLUX_DEFAULT_BRANCH.into()))
        }
    }
}

impl From<&GitRef> for Reference {
    /// Same as [`GitRef::reference`].
    fn from(git_ref: &GitRef) -> Reference {
        git_ref.reference()
    }
}

/// One requested revision. The requested text is kept as written: it is half of the
/// key under which `crunch.lock` pins the resolved commit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reference {
    /// A full (40 hex digit) commit id.
    Commit(String),
    /// A full reference name (`refs/...`).
    Name(String),
    /// A semver range over the repository's tags.
    Semver(String),
    /// A tag name.
    Tag(String),
    /// A branch name.
    Branch(String),
    /// kustomize's `?ref=`: a tag, else a branch, else a full commit id (the order in
    /// which `git fetch <ref>` resolves a name); a full `refs/...` name; or `HEAD`, the
    /// remote's default branch, for a remote URL without `?ref=`.
    Kustomize(String),
}

impl Reference {
    /// The text that identifies this reference in `crunch.lock`, e.g. `tag=v1.2.0`.
    pub fn lock_key(&self) -> String {
        let (kind, value) = self.parts();
        format!("{kind}={value}")
    }

    /// Reads a [`Reference::lock_key`] back.
    pub fn from_lock_key(key: &str) -> Option<Reference> {
        let (kind, value) = key.split_once('=')?;
        let value = value.to_string();
        Some(match kind {
            "commit" => Reference::Commit(value),
            "name" => Reference::Name(value),
            "semver" => Reference::Semver(value),
            "tag" => Reference::Tag(value),
            "branch" => Reference::Branch(value),
            "ref" => Reference::Kustomize(value),
            _ => return None,
        })
    }

    fn parts(&self) -> (&'static str, &str) {
        match self {
            Reference::Commit(v) => ("commit", v),
            Reference::Name(v) => ("name", v),
            Reference::Semver(v) => ("semver", v),
            Reference::Tag(v) => ("tag", v),
            Reference::Branch(v) => ("branch", v),
            Reference::Kustomize(v) => ("ref", v),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Commit(v) => write!(f, "commit {v}"),
            Reference::Name(v) => write!(f, "reference {v}"),
            Reference::Semver(v) => write!(f, "tag matching semver `{v}`"),
            Reference::Tag(v) => write!(f, "tag {v}"),
            Reference::Branch(v) => write!(f, "branch {v}"),
            Reference::Kustomize(v) => write!(f, "tag, branch or commit `{v}`"),
        }
    }
}

/// Whether `text` is a full SHA-1 commit id.
pub fn is_full_commit_id(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flux_precedence() {
        let mut r = GitRef::default();
        assert_eq!(r.reference(), Reference::Branch("master".into()));
        r.branch = Some("main".into());
        assert_eq!(r.reference(), Reference::Branch("main".into()));
        r.tag = Some("v1".into());
        assert_eq!(r.reference(), Reference::Tag("v1".into()));
        r.semver = Some(">=1".into());
        assert_eq!(r.reference(), Reference::Semver(">=1".into()));
        r.name = Some("refs/heads/x".into());
        assert_eq!(r.reference(), Reference::Name("refs/heads/x".into()));
        r.commit = Some("a".repeat(40));
        assert_eq!(r.reference(), Reference::Commit("a".repeat(40)));
    }

    #[test]
    fn lock_keys_round_trip() {
        for r in [
            Reference::Semver(">=1.0.0 <2.0.0".into()),
            Reference::Kustomize("v1=2".into()),
            Reference::Commit("b".repeat(40)),
        ] {
            assert_eq!(Reference::from_lock_key(&r.lock_key()), Some(r));
        }
        assert_eq!(Reference::from_lock_key("bogus=1"), None);
    }
}

//! The release name `helm template` uses: given, or made by `--name-template`, and
//! checked as Helm checks it.

use std::path::PathBuf;

use super::{Error, ErrorKind};
use crunch_gostd::time::Clock;
use crunch_template as template;

/// Where `helm template`'s release name comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseName {
    /// `NAME` as given (`release-name` when omitted).
    Given(String),
    /// `--name-template`: Go template text with Sprig's functions, executed without data.
    Template(String),
}

impl Default for ReleaseName {
    /// Helm's name when neither `NAME` nor `--name-template` is given.
    fn default() -> Self {
        ReleaseName::Given("release-name".to_owned())
    }
}

impl ReleaseName {
    /// Helm's reading of `helm template [NAME] CHART` (`positional` holds one or two
    /// arguments) with `--name-template` and `--generate-name`: the release name and the
    /// chart. An empty template counts as absent, as in Helm.
    ///
    /// # Errors
    /// `--generate-name` (a name from the clock would make the output irreproducible),
    /// and `NAME` together with `--name-template`, which Helm refuses too.
    pub fn from_args(
        positional: &[PathBuf],
        name_template: Option<&str>,
        generate_name: bool,
    ) -> Result<(ReleaseName, PathBuf), Error> {
        let usage = |message: &str| Error::new(ErrorKind::Usage, message);
        if generate_name {
            return Err(usage(
                "--generate-name is not supported: a name made up from the clock is not \
                 reproducible; give NAME or --name-template",
            ));
        }
        let template = name_template.filter(|t| !t.is_empty());
        match (positional, template) {
            ([name, chart], None) => Ok((
                ReleaseName::Given(name.to_string_lossy().into_owned()),
                chart.clone(),
            )),
            ([_, _], Some(_)) => Err(usage("cannot set --name-template and also specify a name")),
            ([chart], Some(text)) => Ok((ReleaseName::Template(text.to_owned()), chart.clone())),
            ([chart], None) => Ok((ReleaseName::default(), chart.clone())),
            _ => Err(usage("expected [NAME] CHART")),
        }
    }

    /// The name itself, checked as Helm checks release names.
    ///
    /// # Errors
    /// The template's parse or execution error, or a name Helm would refuse.
    pub fn resolve(&self, now: Clock) -> Result<String, Error> {
        let name = match self {
            ReleaseName::Given(name) => name.clone(),
            ReleaseName::Template(text) => execute_name_template(text, now)?,
        };
        check_release_name(&name)?;
        Ok(name)
    }
}

/// Helm's `TemplateName`: a fresh Go template named `name-template` with Sprig's text
/// functions (none of Helm's own), Go's default options, and nil data.
fn execute_name_template(text: &str, now: Clock) -> Result<String, Error> {
    const NAME: &str = "name-template";
    let options = template::Options {
        now,
        // A name template runs on the caller's stack, not on a render thread.
        max_nesting: 64,
        ..template::Options::default()
    };
    let mut set = template::Templates::new(NAME, template::FuncMap::sprig(), options);
    set.parse(NAME, text).map_err(|e| render_error(&e))?;
    set.execute(NAME, template::Value::Nil)
        .map_err(|e| render_error(&e))
}

/// Helm's `ValidateReleaseName`: a DNS-1123 subdomain of at most 53 characters.
fn check_release_name(name: &str) -> Result<(), Error> {
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        bytes.first().is_some_and(alnum)
            && bytes.last().is_some_and(alnum)
            && bytes.iter().all(|b| alnum(b) || *b == b'-')
    };
    let problem = if name.is_empty() {
        "no name provided"
    } else if name.len() > 53 || !name.split('.').all(label_ok) {
        "invalid release name, must match regex \
         ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length \
         must not be longer than 53"
    } else {
        return Ok(());
    };
    Err(Error::new(
        ErrorKind::Render,
        format!("release name check failed: release name {name:?}: {problem}"),
    ))
}

fn render_error(e: &template::Error) -> Error {
    Error::new(ErrorKind::Render, e.to_string())
}

//! The `crunch` command line: parses flags, calls the library, prints, sets the exit code.

mod terminal;

use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crunch::apply;
use crunch::bundle;
use crunch::commands::{self, HelmTemplate};
use crunch::compile::{BuildOptions, SourceOptions, build};
use crunch::config::Mirror;
use crunch::error::Error;
use crunch::gostd::time::Clock;
use crunch::helm::{ReleaseName, SetFlag};
use crunch::kustomize::{self, LoadRestrictor};
use crunch::kustomize_helm::HelmInflater;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Compiles a Flux GitOps deployment ahead of time into a static, content-addressed bundle.
#[derive(Parser)]
#[command(name = "crunch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render an environment and everything it deploys into a bundle.
    Build(BuildArgs),
    /// Helm's commands, rendered by crunch's own engine.
    #[command(subcommand)]
    Helm(HelmCommand),
    /// Print what `kubectl kustomize DIR` prints.
    Kustomize(KustomizeArgs),
    /// Apply a bundle to a cluster in dependency order and wait until it is ready.
    Apply(ApplyArgs),
    /// Show what applying a bundle would change in a cluster (server-side dry run).
    Diff(DiffArgs),
    /// Check a bundle against its digests, print its digest and whether it holds Secret
    /// values in plaintext.
    Verify(VerifyArgs),
    /// Print a shell completion script (e.g. `crunch completions bash > /etc/bash_completion.d/crunch`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print crunch's man page, or COMMAND's (roff; e.g. `crunch man build | man -l -`).
    Man {
        /// The subcommand whose page to print (`build` prints crunch-build(1)).
        command: Option<String>,
    },
    /// Write the JSON Schemas of crunch.yaml, crunch.lock and a bundle's index.json into DIR.
    Schemas {
        /// The directory (created if missing; the schemas in it are replaced).
        dir: PathBuf,
    },
}

/// How to reach the cluster, as kubectl does.
#[derive(Args)]
struct ClusterArgs {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster account).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long)]
    context: Option<String>,
}

#[derive(Args)]
struct ApplyArgs {
    /// The bundle: a directory written by `crunch build`, or a .tar/.tar.gz of one.
    bundle: PathBuf,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Time each component may take (e.g. 10m), instead of its HelmRelease/Kustomization timeout.
    #[arg(long, value_parser = parse_timeout)]
    timeout: Option<Duration>,
    /// `server`: ask the API server what would change, change nothing.
    #[arg(long, value_enum, value_name = "MODE")]
    dry_run: Option<DryRun>,
    /// Take over fields that other field managers own.
    #[arg(long)]
    force_conflicts: bool,
    /// Apply even when the cluster would refuse fields or apiVersions of the bundle (an
    /// older Kubernetes than the bundle was built for, a missing API group); they are
    /// printed as warnings.
    #[arg(long)]
    force: bool,
    /// Delete what earlier bundles applied and this one lacks (the default).
    #[arg(long, overrides_with = "no_prune")]
    prune: bool,
    /// Leave objects that this bundle no longer holds in place.
    #[arg(long, overrides_with = "prune")]
    no_prune: bool,
    /// Let pruning delete CustomResourceDefinitions (and every object of their kinds).
    #[arg(long)]
    prune_crds: bool,
    /// Let pruning delete Namespaces (and everything in them).
    #[arg(long)]
    prune_namespaces: bool,
    /// How many independent components to apply at once.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Refuse the bundle unless its digest is this (sha256:…).
    #[arg(long, value_name = "DIGEST")]
    expect_digest: Option<String>,
    #[command(flatten)]
    identity: IdentityArgs,
    /// Report format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DryRun {
    /// Apply for real.
    None,
    /// Server-side dry run.
    Server,
    /// Refused: crunch has no client-side dry run.
    Client,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

/// The age identities that open a bundle's sealed Secrets.
#[derive(Args)]
struct IdentityArgs {
    /// An age identity file (as `age -i` takes it, e.g. written by age-keygen) whose key
    /// opens the bundle's sealed Secrets; repeatable. Plaintext stays in memory.
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Args)]
struct DiffArgs {
    /// Compare the bundle with the live cluster.
    #[arg(long)]
    cluster: bool,
    /// The bundle (with --cluster), or the old and the new bundle.
    #[arg(required = true, num_args = 1..=2)]
    bundles: Vec<PathBuf>,
    #[command(flatten)]
    cluster_args: ClusterArgs,
    /// With --cluster: compare Secrets with the live ones (without it, sealed Secrets are
    /// reported as not comparable).
    #[command(flatten)]
    identity: IdentityArgs,
}

#[derive(Args)]
struct VerifyArgs {
    /// The bundle directory or archive.
    bundle: PathBuf,
    /// With an identity, also check that sealing-key.age holds the bundle's key and that
    /// every sealed value opens.
    #[command(flatten)]
    identity: IdentityArgs,
    /// Report format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

#[derive(Args)]
struct BuildArgs {
    /// What the cluster gets first: an environment directory (`customer/dev`), a
    /// cluster's `flux-system` directory (`clusters/prod/flux-system`), any directory of
    /// manifests, or a bootstrap manifest applied by hand (`dev/bigbang.yaml`).
    #[arg(default_value = ".", value_name = "ENTRY")]
    entry: PathBuf,
    /// Where to write the bundle (replaced whole).
    #[arg(short, long)]
    out: PathBuf,
    /// Config file: YAML, or Jsonnet when its name ends in .jsonnet. By default
    /// `crunch.yaml`, else `crunch.jsonnet`, in the environment directory or the nearest
    /// parent that holds one.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    sources: SourceArgs,
    /// Resolve every reference again instead of using the lock's pins.
    #[arg(long)]
    update: bool,
    /// Write Secret values in plaintext instead of sealing them for the recipients of
    /// crunch.yaml's secrets.recipients.
    #[arg(long)]
    plaintext_secrets: bool,
    /// Fail, writing nothing, when the Kubernetes version of crunch.yaml's
    /// cluster.kubeVersion would refuse a field or an apiVersion of the bundle (by default
    /// each is a warning).
    #[arg(long)]
    strict: bool,
    /// Render with this many threads (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// What to print when done: a summary, or a JSON report (digest, components, images,
    /// sources, timings).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
    /// Show no progress.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Print a line for each source fetched and each component rendered, with its time
    /// (also when standard error is not a terminal).
    #[arg(short, long)]
    verbose: bool,
}

/// Where sources come from.
#[derive(Args)]
struct SourceArgs {
    /// Fetch sources whose URL starts with FROM from TO instead (repeatable; wins over the config).
    #[arg(long, value_name = "FROM=TO", value_parser = parse_mirror)]
    mirror: Vec<Mirror>,
    /// Use only the lock and the cache: no network.
    #[arg(long)]
    offline: bool,
    /// Cache directory (default: $XDG_CACHE_HOME/crunch).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

impl SourceArgs {
    fn options(self, update: bool) -> SourceOptions {
        SourceOptions {
            mirrors: self.mirror,
            offline: self.offline,
            update,
            cache_dir: self.cache_dir,
        }
    }
}

#[derive(Subcommand)]
enum HelmCommand {
    /// Print what `helm template NAME CHART` prints.
    Template(HelmTemplateArgs),
}

#[derive(Args)]
struct HelmTemplateArgs {
    /// The release name (optional, as in Helm), then the chart directory or .tgz archive.
    #[arg(value_name = "[NAME] CHART", num_args = 1..=2, required = true)]
    name_and_chart: Vec<PathBuf>,
    /// Make the release name from this Go template (with Sprig) when NAME is omitted.
    #[arg(long)]
    name_template: Option<String>,
    /// Refused: a name made up from the clock would make the output irreproducible.
    #[arg(short = 'g', long)]
    generate_name: bool,
    /// Release namespace.
    #[arg(short, long, default_value = "default")]
    namespace: String,
    /// Values files, merged in order (`-` for standard input).
    #[arg(short = 'f', long = "values")]
    values: Vec<PathBuf>,
    /// Set values: key1=val1,key2=val2 (lists `a[0]`, paths `a.b`, `\\` escapes).
    #[arg(long)]
    set: Vec<String>,
    /// Set values as strings.
    #[arg(long)]
    set_string: Vec<String>,
    /// Set JSON values: key1=jsonval1,… or one JSON object.
    #[arg(long)]
    set_json: Vec<String>,
    /// Set values from files: key1=path1,…
    #[arg(long)]
    set_file: Vec<String>,
    /// Set one literal string value: key=value, commas and all.
    #[arg(long)]
    set_literal: Vec<String>,
    /// Print only the documents rendered from these templates (globs, repeatable).
    #[arg(short = 's', long)]
    show_only: Vec<String>,
    /// Accepted as helm accepts it: it only names `--output-dir` subdirectories, which
    /// `crunch helm template` does not write, so the output is the same without it.
    #[arg(long = "release-name")]
    _release_name: bool,
    /// Accepted as helm accepts it: it only stops an install from creating CRDs, so
    /// `helm template` prints the same with it (`--include-crds` still prints them).
    #[arg(long = "skip-crds")]
    _skip_crds: bool,
    /// Kubernetes version for .Capabilities.
    #[arg(long)]
    kube_version: Option<String>,
    /// Extra API versions for .Capabilities (repeatable).
    #[arg(short = 'a', long = "api-versions")]
    api_versions: Vec<String>,
    /// Print the chart's crds/ too.
    #[arg(long)]
    include_crds: bool,
    /// Leave out test hooks.
    #[arg(long)]
    skip_tests: bool,
    /// Leave out hooks.
    #[arg(long)]
    no_hooks: bool,
    /// Do not check the values against the charts' values.schema.json.
    #[arg(long)]
    skip_schema_validation: bool,
    /// Set .Release.IsUpgrade instead of .Release.IsInstall.
    #[arg(long)]
    is_upgrade: bool,
    /// Seed for random template functions (same seed, same output).
    #[arg(long, default_value = "")]
    seed: String,
    /// What `now` and the other clock functions read, as an RFC 3339 timestamp (its
    /// offset is the local zone); the Unix epoch by default, never the wall clock.
    #[arg(long, value_parser = Clock::parse_rfc3339)]
    now: Option<Clock>,
}

#[derive(Args)]
struct KustomizeArgs {
    /// The kustomization directory.
    dir: PathBuf,
    /// Whether files outside the kustomization's root may be loaded.
    #[arg(long, value_enum, default_value_t = Restrictor::LoadRestrictionsRootOnly)]
    load_restrictor: Restrictor,
    /// Inflate `helmCharts` with crunch's own Helm engine (kustomize runs `helm`).
    #[arg(long)]
    enable_helm: bool,
    #[command(flatten)]
    sources: SourceArgs,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "verbatim")]
enum Restrictor {
    LoadRestrictionsRootOnly,
    LoadRestrictionsNone,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    apply::parse_duration(text)
}

fn parse_mirror(text: &str) -> Result<Mirror, String> {
    let (from, to) = text
        .split_once('=')
        .ok_or_else(|| format!("expected FROM=TO, got `{text}`"))?;
    Ok(Mirror {
        from: from.to_string(),
        to: to.to_string(),
    })
}

/// What a command printed and the exit code it chose.
struct Output {
    text: String,
    code: u8,
}

impl From<String> for Output {
    fn from(text: String) -> Self {
        Self { text, code: 0 }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let colour = colour_allowed(
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("TERM").as_deref(),
    );
    console::set_colors_enabled(colour && std::io::stdout().is_terminal());
    console::set_colors_enabled_stderr(colour && std::io::stderr().is_terminal());
    match run(cli.command) {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(output.text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::from(output.code),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(output.code),
                Err(e) => {
                    eprintln!("error: cannot write output: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err((e, code)) => {
            eprintln!("error: {e}");
            ExitCode::from(code)
        }
    }
}

fn run(command: Command) -> Result<Output, (Error, u8)> {
    let failed = |e: Error| (e, 1);
    match command {
        Command::Apply(args) => apply_command(args),
        Command::Diff(args) => diff_command(args),
        Command::Verify(args) => verify_command(args),
        Command::Build(args) => build_command(args).map(Output::from).map_err(failed),
        Command::Helm(HelmCommand::Template(args)) => helm_template_command(args)
            .map(Output::from)
            .map_err(failed),
        Command::Kustomize(args) => kustomize_command(args).map(Output::from).map_err(failed),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "crunch", &mut script);
            Ok(String::from_utf8_lossy(&script).into_owned().into())
        }
        Command::Schemas { dir } => write_schemas(&dir).map(Output::from).map_err(failed),
        Command::Man { command } => {
            let top = Cli::command();
            let page_of = match command {
                None => top,
                Some(name) => {
                    let Some(sub) = top.find_subcommand(&name) else {
                        // 2, as clap exits on every other usage error.
                        return Err((Error::new(format!("crunch has no command {name:?}")), 2));
                    };
                    // Named as the top page's SEE ALSO names it: crunch-build(1).
                    sub.clone()
                        .name(format!("crunch-{name}"))
                        .version(env!("CARGO_PKG_VERSION"))
                }
            };
            let mut page = Vec::new();
            clap_mangen::Man::new(page_of)
                .render(&mut page)
                .map_err(|e| failed(Error::new(format!("cannot render the man page: {e}"))))?;
            Ok(String::from_utf8_lossy(&page).into_owned().into())
        }
    }
}

/// `crunch verify`: the bundle checked against its digests, what it holds, whether any
/// Secret value is in plaintext, and whether its sealed values can be opened: that
/// `sealing-key.age` is there and, given an identity, holds the bundle's key and opens
/// every value.
fn verify_command(args: VerifyArgs) -> Result<Output, (Error, u8)> {
    let refused = |e: String| {
        (
            Error::new(format!("{}: {e}", args.bundle.display())),
            apply::EXIT_VERIFICATION,
        )
    };
    let mut bundle = bundle::read(&args.bundle).map_err(|e| refused(e.to_string()))?;
    let counts = bundle.secret_counts();
    let sealing = bundle.index.sealing.clone();
    if sealing.is_some() && bundle.key_file().is_none() {
        return Err(refused(format!(
            "index.json says its Secrets are sealed, but {} is missing",
            crunch::seal::KEY_FILE
        )));
    }
    let opened = match (&sealing, args.identity.files.is_empty()) {
        (Some(_), false) => {
            let identities =
                crunch::seal::Identities::load(&args.identity.files).map_err(refused)?;
            let key = bundle.sealing_key(&identities).map_err(refused)?;
            Some(bundle.unseal(&key).map_err(refused)?)
        }
        _ => None,
    };
    let objects: usize = bundle
        .index
        .components
        .iter()
        .map(|c| c.objects.len())
        .sum();
    let text = match args.output {
        OutputFormat::Json => {
            let report = serde_json::json!({
                "bundle": args.bundle,
                "digest": bundle.digest,
                "components": bundle.index.components.len(),
                "objects": objects,
                "secrets": {
                    "count": counts.secrets,
                    "sealedValues": counts.sealed,
                    "plaintextValues": counts.plaintext,
                },
                "sealing": sealing.as_ref().map(|s| serde_json::json!({
                    "recipients": s.recipients,
                    "keyId": s.key_id,
                    "keyFile": crunch::seal::KEY_FILE,
                    "opened": opened,
                })),
            });
            serde_json::to_string_pretty(&report)
                .map(|json| json + "\n")
                .map_err(|e| refused(format!("cannot encode the report: {e}")))?
        }
        OutputFormat::Text => {
            let mut text = format!(
                "{}: verified {} components, {objects} objects\ndigest {}\n",
                args.bundle.display(),
                bundle.index.components.len(),
                bundle.digest
            );
            text.push_str(&match (counts.plaintext, counts.sealed) {
                (0, 0) => format!("secrets: {} Secrets, no values\n", counts.secrets),
                (0, sealed) => format!(
                    "secrets: {} Secrets, {sealed} values, all sealed\n",
                    counts.secrets
                ),
                (plaintext, sealed) => format!(
                    "secrets: {} Secrets, {plaintext} values IN PLAINTEXT, {sealed} sealed\n",
                    counts.secrets
                ),
            });
            if let Some(sealing) = &sealing {
                text.push_str(&format!(
                    "sealed for {} (key {}); {} present\n",
                    sealing.recipients.join(", "),
                    sealing.key_id,
                    crunch::seal::KEY_FILE
                ));
            }
            if let Some(opened) = opened {
                text.push_str(&format!(
                    "opened with the identity: the key id matches, all {opened} sealed values open\n"
                ));
            }
            text
        }
    };
    Ok(text.into())
}

/// Writes every schema into `dir` and says which files it wrote.
fn write_schemas(dir: &std::path::Path) -> Result<String, Error> {
    let io = |path: &std::path::Path, e: std::io::Error| {
        Error::new(format!("cannot write {}: {e}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut written = String::new();
    for (name, schema) in crunch::schemas::all() {
        let path = dir.join(name);
        std::fs::write(&path, crunch::schemas::to_text(&schema)).map_err(|e| io(&path, e))?;
        written.push_str(&format!("wrote {}\n", path.display()));
    }
    Ok(written)
}

/// Whether output to a terminal may be coloured, given `NO_COLOR` and `TERM`: not when
/// `NO_COLOR` is set to anything but the empty string (<https://no-color.org>), nor on a
/// `TERM=dumb` terminal.
fn colour_allowed(no_color: Option<&OsStr>, term: Option<&OsStr>) -> bool {
    no_color.is_none_or(OsStr::is_empty) && term != Some(OsStr::new("dumb"))
}

fn apply_command(args: ApplyArgs) -> Result<Output, (Error, u8)> {
    let dry_run = match args.dry_run {
        None | Some(DryRun::None) => false,
        Some(DryRun::Server) => true,
        Some(DryRun::Client) => {
            return Err((
                Error::new(
                    "crunch has no client-side dry run: use --dry-run=server or crunch diff --cluster",
                ),
                2,
            ));
        }
    };
    let options = apply::Options {
        bundle: args.bundle,
        kubeconfig: args.cluster.kubeconfig,
        context: args.cluster.context,
        timeout: args.timeout,
        dry_run,
        force_conflicts: args.force_conflicts,
        force: args.force,
        prune: !args.no_prune,
        prune_scope: apply::PruneScope {
            definitions: args.prune_crds,
            namespaces: args.prune_namespaces,
        },
        jobs: args.jobs,
        expect_digest: args.expect_digest,
        identities: args.identity.files,
        request_timeout: None,
        stop_on_ctrl_c: true,
    };
    let sink: apply::Sink = Arc::new(|line: &str| eprintln!("{line}"));
    let report = apply::apply(&options, sink).map_err(start_error)?;
    let text = match args.output {
        OutputFormat::Text => report.to_text(),
        OutputFormat::Json => report.to_json(),
    };
    Ok(Output {
        text,
        code: report.exit_code(),
    })
}

fn start_error(e: apply::StartError) -> (Error, u8) {
    let code = match e {
        apply::StartError::Verification(_) | apply::StartError::Sealed(_) => {
            apply::EXIT_VERIFICATION
        }
        apply::StartError::Setup(_) => apply::EXIT_APPLY,
    };
    (Error::new(e), code)
}

fn diff_command(args: DiffArgs) -> Result<Output, (Error, u8)> {
    let bundle = match (&args.bundles[..], args.cluster) {
        ([bundle], true) => bundle,
        ([old, new], false) => return diff_bundles(old, new),
        ([_], false) => {
            return Err((
                Error::new(
                    "give --cluster to compare the bundle with the live cluster, or two bundles (OLD NEW)",
                ),
                2,
            ));
        }
        _ => {
            return Err((
                Error::new("--cluster compares one bundle with the live cluster"),
                2,
            ));
        }
    };
    let options = apply::Options {
        bundle: bundle.clone(),
        kubeconfig: args.cluster_args.kubeconfig,
        context: args.cluster_args.context,
        identities: args.identity.files,
        ..apply::Options::default()
    };
    let changes = apply::diff(&options).map_err(start_error)?;
    let text = crunch::diff::render(&changes, apply::SIDES);
    // As `kubectl diff`: 1 when there are differences.
    let code = u8::from(!text.is_empty());
    Ok(Output {
        text: colour_diff(&text),
        code,
    })
}

/// `crunch diff OLD NEW`: both bundles verified, then a unified diff per object that
/// differs; exit 1 when something does, as `diff` does.
fn diff_bundles(old: &std::path::Path, new: &std::path::Path) -> Result<Output, (Error, u8)> {
    let read = |path: &std::path::Path| {
        bundle::read(path).map_err(|e| {
            (
                Error::new(format!("{}: {e}", path.display())),
                apply::EXIT_VERIFICATION,
            )
        })
    };
    let (old, new) = (read(old)?, read(new)?);
    let mut text = crunch::diff::render(&bundle::compare(&old, &new), bundle::SIDES);
    if bundle::sealing_key_changed(&old, &new) {
        text.insert_str(0, &format!("# {}\n", bundle::SEALING_KEY_CHANGED));
    }
    let code = u8::from(!text.is_empty());
    Ok(Output {
        text: colour_diff(&text),
        code,
    })
}

/// A unified diff coloured as git colours one (headers bold, hunk lines cyan, removals
/// red, additions green), when standard output takes colour.
fn colour_diff(text: &str) -> String {
    if !console::colors_enabled() {
        return text.to_string();
    }
    let (header, hunk) = (console::Style::new().bold(), console::Style::new().cyan());
    let (removed, added) = (console::Style::new().red(), console::Style::new().green());
    text.split_inclusive('\n')
        .map(|line| {
            let (body, end) = line
                .strip_suffix('\n')
                .map_or((line, ""), |body| (body, "\n"));
            let style = if body.starts_with("--- ") || body.starts_with("+++ ") {
                &header
            } else if body.starts_with("@@") {
                &hunk
            } else if body.starts_with('-') {
                &removed
            } else if body.starts_with('+') {
                &added
            } else {
                return line.to_string();
            };
            format!("{}{end}", style.apply_to(body))
        })
        .collect()
}

fn build_command(args: BuildArgs) -> Result<String, Error> {
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build_global()
            .map_err(|e| Error::new(format!("cannot start {jobs} threads: {e}")))?;
    }
    let display = terminal::Display::new(args.quiet, args.verbose, std::io::stderr().is_terminal());
    let built = build(
        &BuildOptions {
            entry: args.entry,
            out: args.out.clone(),
            config: args.config,
            sources: args.sources.options(args.update),
            plaintext_secrets: args.plaintext_secrets,
            strict: args.strict,
        },
        display.observer(),
    );
    display.done();
    let report = built?;
    match args.output {
        OutputFormat::Json => serde_json::to_string_pretty(&report)
            .map(|json| json + "\n")
            .map_err(|e| Error::new(format!("cannot encode the build report: {e}"))),
        OutputFormat::Text => Ok(format!(
            "wrote {}: {} components, {} objects\ndigest {}\nlock {}\n",
            args.out.display(),
            report.components.len(),
            report.objects,
            report.digest,
            report.lock.display()
        )),
    }
}

fn helm_template_command(args: HelmTemplateArgs) -> Result<String, Error> {
    let (name, chart) = ReleaseName::from_args(
        &args.name_and_chart,
        args.name_template.as_deref(),
        args.generate_name,
    )
    .map_err(Error::new)?;
    commands::helm_template(&HelmTemplate {
        name,
        chart,
        namespace: args.namespace,
        values: args.values,
        set: [
            (SetFlag::Set, args.set),
            (SetFlag::SetString, args.set_string),
            (SetFlag::SetJson, args.set_json),
            (SetFlag::SetFile, args.set_file),
            (SetFlag::SetLiteral, args.set_literal),
        ]
        .into_iter()
        .flat_map(|(flag, lines)| lines.into_iter().map(move |line| (flag, line)))
        .collect(),
        show_only: args.show_only,
        kube_version: args.kube_version,
        api_versions: args.api_versions,
        include_crds: args.include_crds,
        skip_tests: args.skip_tests,
        no_hooks: args.no_hooks,
        skip_schema_validation: args.skip_schema_validation,
        is_upgrade: args.is_upgrade,
        seed: args.seed,
        now: args.now.unwrap_or_default(),
    })
}

fn kustomize_command(args: KustomizeArgs) -> Result<String, Error> {
    let restrictor = match args.load_restrictor {
        Restrictor::LoadRestrictionsRootOnly => LoadRestrictor::RootOnly,
        Restrictor::LoadRestrictionsNone => LoadRestrictor::None,
    };
    let options = kustomize::Options {
        load_restrictor: restrictor,
        chart_inflater: args
            .enable_helm
            .then_some(&HelmInflater as &dyn kustomize::ChartInflater),
        ..kustomize::Options::default()
    };
    commands::kustomize(&args.dir, &options, &args.sources.options(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_set_and_not_empty_turns_colour_off() {
        let xterm = Some(OsStr::new("xterm-256color"));
        assert!(colour_allowed(None, xterm));
        assert!(colour_allowed(Some(OsStr::new("")), xterm));
        assert!(!colour_allowed(Some(OsStr::new("1")), xterm));
        assert!(!colour_allowed(Some(OsStr::new("0")), xterm));
        assert!(!colour_allowed(None, Some(OsStr::new("dumb"))));
        assert!(colour_allowed(None, None));
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}

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
    /// Check a bundle against its digests (and with --key its signature), print its digest
    /// and whether it holds Secret values in plaintext.
    Verify(VerifyArgs),
    /// Build an environment and write every source it used (git trees, charts, OCI
    /// artifacts, signatures, the lock) into one deterministic archive, for
    /// `crunch build --vendor FILE --offline` where there is no network.
    Vendor(VendorArgs),
    /// Store a bundle in a registry as an OCI artifact (the index as its config, the
    /// .tar.zst archive as its one layer), for `crunch apply oci://…`.
    Push(PushArgs),
    /// Sign a bundle's digest with a cosign key: writes digest.sig into the bundle
    /// directory or archive (`cosign verify-blob --signature digest.sig digest` checks it).
    Sign(SignArgs),
    /// The container images a bundle needs: list them, pin their digests, pull them into
    /// an OCI image layout, push the layout into an enclave's registry.
    #[command(subcommand)]
    Images(ImagesCommand),
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
    /// The bundle: a directory written by `crunch build`, an archive of one, or an
    /// artifact `crunch push` stored (oci://REGISTRY/REPO:TAG or @sha256:…).
    bundle: PathBuf,
    #[command(flatten)]
    keys: KeyArgs,
    #[command(flatten)]
    access: RegistryAccessArgs,
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
    /// The bundle (with --cluster), or the old and the new bundle: directories, archives
    /// or oci:// artifacts.
    #[arg(required = true, num_args = 1..=2)]
    bundles: Vec<PathBuf>,
    #[command(flatten)]
    access: RegistryAccessArgs,
    #[command(flatten)]
    cluster_args: ClusterArgs,
    /// With --cluster: compare Secrets with the live ones (without it, sealed Secrets are
    /// reported as not comparable).
    #[command(flatten)]
    identity: IdentityArgs,
}

/// The public keys a bundle's signature must verify with.
#[derive(Args)]
struct ImagesListArgs {
    /// The bundle directory, archive or oci:// artifact.
    bundle: PathBuf,
    #[command(flatten)]
    access: RegistryAccessArgs,
    /// Name every user of each image (object and field, or the list naming it).
    #[arg(short, long)]
    verbose: bool,
    /// Report format: a table, or the index's image entries as JSON.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

#[derive(Args)]
struct KeyArgs {
    /// Require a signature (digest.sig) that this PEM public key verifies (cosign.pub;
    /// repeatable: any one of them). Without it, signatures are not checked.
    #[arg(long = "key", value_name = "PUB")]
    keys: Vec<PathBuf>,
}

#[derive(Args)]
struct VendorArgs {
    #[command(flatten)]
    input: InputArgs,
    /// The archive to write: .tar.zst, .tar.gz (.tgz) or .tar.
    #[arg(short, long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Args)]
struct PushArgs {
    /// The bundle directory or archive.
    bundle: PathBuf,
    /// Where: oci://REGISTRY/REPOSITORY:TAG.
    #[arg(value_name = "oci://REGISTRY/REPO:TAG")]
    target: String,
    #[command(flatten)]
    access: RegistryAccessArgs,
}

#[derive(Args)]
struct SignArgs {
    /// The bundle directory or archive.
    bundle: PathBuf,
    /// The private key: cosign's (encrypted; the password from COSIGN_PASSWORD) or a PKCS #8
    /// PEM ECDSA P-256 key.
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
}

#[derive(Args)]
struct VerifyArgs {
    /// The bundle directory, archive, or oci:// artifact.
    bundle: PathBuf,
    #[command(flatten)]
    keys: KeyArgs,
    #[command(flatten)]
    access: RegistryAccessArgs,
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
    #[command(flatten)]
    input: InputArgs,
    /// Where to write the bundle directory (updated in place, or created).
    #[arg(short, long, required_unless_present = "archive")]
    out: Option<PathBuf>,
    /// Also (or only) write the bundle as one deterministic archive, compressed as its
    /// name says: .tar.zst, .tar.gz (.tgz) or .tar.
    #[arg(long, value_name = "FILE")]
    archive: Option<PathBuf>,
    /// Rewrite every image reference of the applied objects into this registry (host,
    /// port and optional path: `registry.enclave:5000`), keeping each repository path and
    /// tag, pinned by digest where crunch.lock pins the image.
    #[arg(long, value_name = "REGISTRY")]
    relocate: Option<String>,
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

/// What a build builds, and from what: `crunch build`'s inputs, shared by the commands
/// that build to learn something (`vendor`, `images resolve`).
#[derive(Args)]
struct InputArgs {
    /// What the cluster gets first: an environment directory (`customer/dev`), a
    /// cluster's `flux-system` directory (`clusters/prod/flux-system`), any directory of
    /// manifests, or a bootstrap manifest applied by hand (`dev/bigbang.yaml`).
    #[arg(default_value = ".", value_name = "ENTRY")]
    entry: PathBuf,
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
}

impl InputArgs {
    /// A build of these inputs into `out`, with nothing else asked.
    fn options(self, out: bundle::Destination) -> BuildOptions {
        BuildOptions {
            entry: self.entry,
            out,
            config: self.config,
            sources: self.sources.options(self.update),
            plaintext_secrets: self.plaintext_secrets,
            vendor_out: None,
            relocate: None,
            strict: false,
        }
    }
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
    /// Add the sources of this `crunch vendor` archive to the cache and use its pins
    /// (with --offline: rebuild where there is no network).
    #[arg(long, value_name = "FILE")]
    vendor: Option<PathBuf>,
}

impl SourceArgs {
    fn options(self, update: bool) -> SourceOptions {
        SourceOptions {
            mirrors: self.mirror,
            offline: self.offline,
            update,
            cache_dir: self.cache_dir,
            vendor: self.vendor,
        }
    }
}

#[derive(Subcommand)]
enum ImagesCommand {
    /// List every image of a verified bundle with how many objects and lists use it
    /// (`-v`: each use).
    List(ImagesListArgs),
    /// Pull every image a bundle's objects use into an OCI image layout (DIR), by digest
    /// when pinned; blobs already in DIR are kept, so a stopped pull resumes.
    Pull(ImagesPullArgs),
    /// Push every image of an OCI image layout into REGISTRY, each below its repository
    /// path with the same tag and digest.
    Push(ImagesPushArgs),
    /// Build an environment and pin the digest of every image its objects name by tag in
    /// crunch.lock (pins already there are kept; --update looks them up again), so that
    /// `crunch build --relocate` references images by digest.
    Resolve(ImagesResolveArgs),
}

#[derive(Args)]
struct ImagesResolveArgs {
    /// The build whose images are pinned (`--update` also looks every image up again).
    #[command(flatten)]
    input: InputArgs,
    /// Pin the manifest of this platform (os/arch[/variant]) of multi-platform images,
    /// the one `crunch images pull --platform` takes; without it, the tag's own digest.
    #[arg(long, value_parser = crunch::images::Platform::parse)]
    platform: Option<crunch::images::Platform>,
    #[command(flatten)]
    access: RegistryAccessArgs,
}

#[derive(Args)]
struct ImagesPullArgs {
    /// The bundle: a directory written by `crunch build`, an archive of one, or an
    /// oci:// artifact.
    bundle: PathBuf,
    /// The OCI image layout to pull into (created if missing).
    #[arg(long = "to", value_name = "DIR")]
    to: PathBuf,
    /// Take only this platform's manifest (os/arch[/variant]) of multi-platform images;
    /// without it, every platform's.
    #[arg(long, value_parser = crunch::images::Platform::parse)]
    platform: Option<crunch::images::Platform>,
    /// Pull images whose `oci://REGISTRY/REPOSITORY` starts with FROM from TO instead
    /// (repeatable); they keep their names in the layout.
    #[arg(long, value_name = "FROM=TO", value_parser = parse_mirror)]
    mirror: Vec<Mirror>,
    #[command(flatten)]
    access: RegistryAccessArgs,
    #[command(flatten)]
    display: TransferDisplayArgs,
}

/// The image mirrors `--mirror` rules make.
fn image_mirrors(rules: &[Mirror]) -> crunch::source::Mirrors {
    crunch::source::Mirrors::new(rules.iter().map(|m| (m.from.clone(), m.to.clone())))
}

#[derive(Args)]
struct ImagesPushArgs {
    /// The OCI image layout (written by `crunch images pull`).
    dir: PathBuf,
    /// The registry (host[:port][/path]) that gets the images.
    #[arg(long = "to", value_name = "REGISTRY")]
    to: String,
    #[command(flatten)]
    access: RegistryAccessArgs,
    #[command(flatten)]
    display: TransferDisplayArgs,
}

/// How registries are reached.
#[derive(Args)]
struct RegistryAccessArgs {
    /// A Docker config.json with the registries' credentials (default: $REGISTRY_AUTH_FILE,
    /// $DOCKER_CONFIG/config.json, ~/.docker/config.json).
    #[arg(long, value_name = "FILE")]
    registry_config: Option<PathBuf>,
    /// CA certificates (PEM) to trust besides the system's (default: $GIT_SSL_CAINFO).
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Talk plain HTTP to the registries instead of HTTPS.
    #[arg(long)]
    plain_http: bool,
}

impl RegistryAccessArgs {
    fn open(&self) -> Result<crunch::images::RegistryAccess, Error> {
        let options = crunch::images::AccessOptions {
            registry_config: self.registry_config.clone(),
            ca_file: self.ca_file.clone(),
            plain_http: self.plain_http,
        }
        .with_environment(|name| std::env::var_os(name));
        crunch::images::RegistryAccess::new(&options).map_err(Error::new)
    }
}

/// How a transfer shows its progress.
#[derive(Args)]
struct TransferDisplayArgs {
    /// Show no progress.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Print a line for each image moved (also when standard error is not a terminal).
    #[arg(short, long)]
    verbose: bool,
}

impl TransferDisplayArgs {
    fn display(&self) -> terminal::Display {
        terminal::Display::for_transfers(self.quiet, self.verbose, std::io::stderr().is_terminal())
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
        Command::Vendor(args) => vendor_command(args).map(Output::from).map_err(failed),
        Command::Push(args) => push_command(args).map(Output::from).map_err(failed),
        Command::Sign(args) => sign_command(args).map(Output::from).map_err(failed),
        Command::Images(ImagesCommand::List(args)) => images_list_command(args),
        Command::Build(args) => build_command(args).map(Output::from).map_err(failed),
        Command::Helm(HelmCommand::Template(args)) => helm_template_command(args)
            .map(Output::from)
            .map_err(failed),
        Command::Kustomize(args) => kustomize_command(args).map(Output::from).map_err(failed),
        Command::Images(ImagesCommand::Pull(args)) => images_pull_command(args),
        Command::Images(ImagesCommand::Resolve(args)) => images_resolve_command(args)
            .map(Output::from)
            .map_err(failed),
        Command::Images(ImagesCommand::Push(args)) => {
            images_push_command(args).map(Output::from).map_err(failed)
        }
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
    let OpenedBundle {
        mut bundle,
        signed_by,
    } = open_bundle(&args.bundle, &args.keys, &args.access)?;
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
                "signature": {
                    "present": bundle.signature.is_some(),
                    "verifiedWith": signed_by,
                },
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
            text.push_str(&match (&signed_by, bundle.signature.is_some()) {
                (Some(key), _) => format!("signature: verified with {key}\n"),
                (None, true) => format!(
                    "signature: {} present, not checked (pass --key)\n",
                    bundle::SIGNATURE_FILE
                ),
                (None, false) => "signature: none\n".to_string(),
            });
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
    let verified = open_bundle(&args.bundle, &args.keys, &args.access)?;
    let options = apply::Options {
        bundle: args.bundle,
        verified: Some(verified.bundle),
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

/// Reads and verifies the bundle at `location`: a directory, an archive, or an
/// `oci://` artifact.
fn read_bundle(
    location: &std::path::Path,
    access: &RegistryAccessArgs,
) -> Result<bundle::VerifiedBundle, (Error, u8)> {
    use crunch::publish::oci::BundleRef;
    let text = location.to_string_lossy();
    if BundleRef::is_oci(&text) {
        let source = BundleRef::parse(&text).map_err(|e| (Error::new(e), 2))?;
        let access = access.open().map_err(|e| (e, 2))?;
        return crunch::publish::oci::pull(&source, &access)
            .map_err(|e| (e, apply::EXIT_VERIFICATION));
    }
    bundle::read(location).map_err(|e| {
        (
            Error::new(format!("{}: {e}", location.display())),
            apply::EXIT_VERIFICATION,
        )
    })
}

/// A bundle read and verified, and the key its signature verified with (when keys were
/// given).
struct OpenedBundle {
    bundle: bundle::VerifiedBundle,
    signed_by: Option<String>,
}

/// Reads and verifies the bundle at `location`; with keys, its signature must verify
/// with one of them. Nothing else is done with a bundle that fails here.
fn open_bundle(
    location: &std::path::Path,
    keys: &KeyArgs,
    access: &RegistryAccessArgs,
) -> Result<OpenedBundle, (Error, u8)> {
    let refused = |e: String| {
        (
            Error::new(format!("{}: {e}", location.display())),
            apply::EXIT_VERIFICATION,
        )
    };
    let bundle = read_bundle(location, access)?;
    if keys.keys.is_empty() {
        return Ok(OpenedBundle {
            bundle,
            signed_by: None,
        });
    }
    let public = crunch::source::cosign::PublicKeys::from_files(&keys.keys).map_err(refused)?;
    let signed_by = crunch::publish::sign::verify(&bundle, &public).map_err(refused)?;
    Ok(OpenedBundle {
        bundle,
        signed_by: Some(signed_by),
    })
}

/// A build whose bundle is not wanted (it goes to a directory removed afterwards), for
/// what else the build reports or writes.
fn scratch_build(options: BuildOptions) -> Result<crunch::compile::BuildReport, Error> {
    let scratch = std::env::temp_dir().join(format!("crunch-scratch-{}", std::process::id()));
    let built = build(
        &BuildOptions {
            out: bundle::Destination::directory(scratch.join("bundle")),
            ..options
        },
        &crunch::progress::Silent,
    );
    // Best effort: a leftover scratch directory is only disk.
    let _ = std::fs::remove_dir_all(&scratch);
    built
}

fn images_resolve_command(args: ImagesResolveArgs) -> Result<String, Error> {
    let (offline, update) = (args.input.sources.offline, args.input.update);
    // The --mirror rules also say where images are looked up.
    let access = args
        .access
        .open()?
        .with_mirrors(image_mirrors(&args.input.sources.mirror));
    let report = scratch_build(args.input.options(bundle::Destination::default()))?;
    let pins = crunch::compile::pin_images(
        &report.images,
        &report.lock,
        args.platform.as_ref(),
        &access,
        offline,
        update,
    )?;
    let mut text = String::new();
    for pin in &pins.images {
        let how = if pin.resolved { "resolved" } else { "kept" };
        text.push_str(&format!("{how} {} {}\n", pin.image, pin.digest));
    }
    for skipped in &pins.skipped {
        text.push_str(&format!("skipped: {skipped}\n"));
    }
    text.push_str(&format!(
        "{} images pinned in {}\n",
        pins.images.len(),
        pins.lock.display()
    ));
    Ok(text)
}

fn vendor_command(args: VendorArgs) -> Result<String, Error> {
    let report = scratch_build(BuildOptions {
        vendor_out: Some(args.out.clone()),
        ..args.input.options(bundle::Destination::default())
    })?;
    let vendored = report.vendored.unwrap_or_default();
    Ok(format!(
        "wrote {}: {} git trees, {} blobs, {} files\nfor the bundle {}\n",
        args.out.display(),
        vendored.trees,
        vendored.blobs,
        vendored.files,
        report.digest
    ))
}

fn push_command(args: PushArgs) -> Result<String, Error> {
    use crunch::publish::oci::{BundleRef, push};
    let target = BundleRef::parse(&args.target).map_err(Error::new)?;
    let pushed = push(&args.bundle, &target, &args.access.open()?)?;
    Ok(format!(
        "pushed {} ({}) to {target}\nmanifest {} ({} bytes)\n",
        args.bundle.display(),
        pushed.bundle_digest,
        pushed.manifest_digest,
        pushed.size
    ))
}

fn sign_command(args: SignArgs) -> Result<String, Error> {
    let pem = std::fs::read(&args.key)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", args.key.display())))?;
    let password = std::env::var("COSIGN_PASSWORD").ok();
    let key = crunch::publish::sign::SigningKey::from_pem(
        &args.key.display().to_string(),
        &pem,
        password.as_deref(),
    )
    .map_err(Error::new)?;
    let signed = crunch::publish::sign_bundle(&args.bundle, &key)?;
    Ok(format!(
        "signed {} ({}): {}\n",
        args.bundle.display(),
        signed.digest,
        bundle::SIGNATURE_FILE
    ))
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
        ([old, new], false) => return diff_bundles(old, new, &args.access),
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
        verified: Some(read_bundle(bundle, &args.access)?),
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
fn diff_bundles(
    old: &std::path::Path,
    new: &std::path::Path,
    access: &RegistryAccessArgs,
) -> Result<Output, (Error, u8)> {
    let (old, new) = (read_bundle(old, access)?, read_bundle(new, access)?);
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

/// `crunch images list`: the verified bundle's image entries, as a table or JSON.
fn images_list_command(args: ImagesListArgs) -> Result<Output, (Error, u8)> {
    let bundle = read_bundle(&args.bundle, &args.access)?;
    let images = &bundle.index.images;
    let text = match args.output {
        OutputFormat::Text => bundle::image_table(images, args.verbose),
        OutputFormat::Json => serde_json::to_string_pretty(images)
            .map(|json| json + "\n")
            .map_err(|e| (Error::new(format!("cannot encode the images: {e}")), 1))?,
    };
    Ok(Output::from(text))
}

fn build_command(args: BuildArgs) -> Result<String, Error> {
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build_global()
            .map_err(|e| Error::new(format!("cannot start {jobs} threads: {e}")))?;
    }
    let display = terminal::Display::new(args.quiet, args.verbose, std::io::stderr().is_terminal());
    let out = bundle::Destination {
        directory: args.out.clone(),
        archive: args.archive.clone(),
    };
    let built = build(
        &BuildOptions {
            relocate: args.relocate,
            strict: args.strict,
            ..args.input.options(out)
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
            [&args.out, &args.archive]
                .into_iter()
                .flatten()
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(" and "),
            report.components.len(),
            report.objects,
            report.digest,
            report.lock.display()
        )),
    }
}

/// `crunch images pull`: the bundle (verified) read for its images, which are pulled.
fn images_pull_command(args: ImagesPullArgs) -> Result<Output, (Error, u8)> {
    let bundle = read_bundle(&args.bundle, &args.access)?;
    let failed = |e: Error| (e, 1);
    let requests = bundle::image_pulls(&bundle.index).map_err(|e| failed(Error::new(e)))?;
    let access = args
        .access
        .open()
        .map_err(failed)?
        .with_mirrors(image_mirrors(&args.mirror));
    let display = args.display.display();
    let pulled = crunch::images::pull(
        &requests,
        &args.to,
        args.platform.as_ref(),
        &access,
        display.observer(),
    );
    display.done();
    let report = pulled.map_err(|e| failed(Error::new(e)))?;
    let mut text = String::new();
    for image in &report.images {
        text.push_str(&format!(
            "{} {} ({} blobs fetched, {} in place)\n",
            image.image, image.digest, image.fetched_blobs, image.present_blobs
        ));
    }
    text.push_str(&format!(
        "pulled {} images into {}\n",
        report.images.len(),
        args.to.display()
    ));
    Ok(text.into())
}

/// `crunch images push`: every image of the layout into the registry.
fn images_push_command(args: ImagesPushArgs) -> Result<String, Error> {
    let access = args.access.open()?;
    let display = args.display.display();
    let pushed = crunch::images::push(&args.dir, &args.to, &access, display.observer());
    display.done();
    let report = pushed.map_err(Error::new)?;
    let mut text = String::new();
    for image in &report.images {
        text.push_str(&format!(
            "{} {} ({} blobs pushed, {} already there)\n",
            image.target, image.digest, image.pushed_blobs, image.existing_blobs
        ));
    }
    text.push_str(&format!(
        "pushed {} images to {}\n",
        report.images.len(),
        args.to
    ));
    Ok(text)
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

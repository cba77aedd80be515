//! The `crunch` command line: parses flags, calls the library, prints, sets the exit code.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crunch::build::{BuildOptions, SourceOptions, build};
use crunch::commands::{self, HelmTemplate};
use crunch::config::Mirror;
use crunch::error::Error;
use crunch::helm::SetFlag;
use crunch::kustomize::LoadRestrictor;

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
}

#[derive(Args)]
struct BuildArgs {
    /// The environment directory (a kustomization, e.g. `customer/dev`).
    #[arg(default_value = ".")]
    env_dir: PathBuf,
    /// Where to write the bundle (replaced whole).
    #[arg(short, long)]
    out: PathBuf,
    /// Config file; `crunch.yaml` in the environment directory or a parent by default.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    sources: SourceArgs,
    /// Resolve every reference again instead of using the lock's pins.
    #[arg(long)]
    update: bool,
    /// Render with this many threads (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
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
    /// Release name.
    name: String,
    /// Chart directory or .tgz archive.
    chart: PathBuf,
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
    /// Set .Release.IsUpgrade instead of .Release.IsInstall.
    #[arg(long)]
    is_upgrade: bool,
    /// Seed for random template functions (same seed, same output).
    #[arg(long, default_value = "")]
    seed: String,
}

#[derive(Args)]
struct KustomizeArgs {
    /// The kustomization directory.
    dir: PathBuf,
    /// Whether files outside the kustomization's root may be loaded.
    #[arg(long, value_enum, default_value_t = Restrictor::LoadRestrictionsRootOnly)]
    load_restrictor: Restrictor,
    #[command(flatten)]
    sources: SourceArgs,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "verbatim")]
enum Restrictor {
    LoadRestrictionsRootOnly,
    LoadRestrictionsNone,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(output.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write output: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<String, Error> {
    match command {
        Command::Build(args) => {
            if let Some(jobs) = args.jobs {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(jobs)
                    .build_global()
                    .map_err(|e| Error::new(format!("cannot start {jobs} threads: {e}")))?;
            }
            let report = build(&BuildOptions {
                env_dir: args.env_dir,
                out: args.out.clone(),
                config: args.config,
                sources: args.sources.options(args.update),
            })?;
            Ok(format!(
                "wrote {}: {} components, {} objects\ndigest {}\nlock {}\n",
                args.out.display(),
                report.components,
                report.objects,
                report.digest,
                report.lock.display()
            ))
        }
        Command::Helm(HelmCommand::Template(args)) => commands::helm_template(&HelmTemplate {
            name: args.name,
            chart: args.chart,
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
            is_upgrade: args.is_upgrade,
            seed: args.seed,
        }),
        Command::Kustomize(args) => {
            let restrictor = match args.load_restrictor {
                Restrictor::LoadRestrictionsRootOnly => LoadRestrictor::RootOnly,
                Restrictor::LoadRestrictionsNone => LoadRestrictor::None,
            };
            commands::kustomize(&args.dir, restrictor, &args.sources.options(false))
        }
    }
}

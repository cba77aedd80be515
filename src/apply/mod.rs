//! `crunch apply`: pushes a verified bundle into a cluster and waits for it — the only
//! module of crunch that talks to a cluster.
//!
//! The bundle is verified in full before the first request ([`crate::bundle::read`]),
//! and its sealed Secret values opened in memory with the operator's age identities
//! (never written anywhere): a bundle that cannot be opened sends nothing.
//! `plan` orders components by `dependsOn` (and by the component that declared them) and
//! sorts each component's objects; `component` applies one component with server-side
//! apply and waits for it by kstatus rules (`status`, `wait`); independent components
//! run in parallel up to a bound. What each component applied is recorded in the cluster
//! (`inventory`) before it is sent, and what earlier bundles applied that this one lacks
//! is pruned once every component is ready (`prune`). `preview` is the server-side dry
//! run behind `--dry-run=server` and `crunch diff --cluster`.
//!
//! The public surface is [`apply()`], [`diff()`], their [`Options`] and [`Report`], and
//! the [`Cluster`] client (which tests use to read what a run left behind); the
//! submodules are private.

mod cluster;
mod component;
mod inventory;
mod normalize;
mod plan;
mod preflight;
mod preview;
mod progress;
mod prune;
mod report;
mod retry;
mod status;
mod wait;
mod webhooks;

pub use cluster::{Cluster, REQUEST_TIMEOUT};
pub use component::{ComponentReport, Counts, Outcome};
pub use plan::parse_duration;
pub use preview::SIDES;
pub use progress::Sink;
pub use prune::Scope as PruneScope;
pub use report::{EXIT_APPLY, EXIT_INTERRUPTED, EXIT_OK, EXIT_TIMEOUT, EXIT_VERIFICATION, Report};

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::bundle::VerifiedBundle;
use crate::diff::Change;
use crate::seal::Identities;
use cluster::ObjectRef;
use component::{Run, Start};
use inventory::Inventory;
use plan::{ComponentPlan, Plan};
use progress::Progress;
use retry::{Stop, retry};

/// What `crunch apply` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The bundle directory or archive (or, with `verified`, the name it is known by).
    pub bundle: PathBuf,
    /// The bundle, already read and verified by the caller (pulled from a registry, its
    /// signature checked): applied as it is, so that what was checked is what is sent.
    pub verified: Option<VerifiedBundle>,
    /// The kubeconfig file (default: `KUBECONFIG`, `~/.kube/config`, in-cluster).
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current one).
    pub context: Option<String>,
    /// Overrides every component's timeout.
    pub timeout: Option<Duration>,
    /// Ask the server what would change instead of changing it.
    pub dry_run: bool,
    /// Take over fields other field managers own.
    pub force_conflicts: bool,
    /// Apply even when the cluster would refuse fields or apiVersions of the bundle
    /// (its Kubernetes version is older than the bundle's, or it lacks an API group): the
    /// findings become warnings.
    pub force: bool,
    /// Delete what earlier bundles applied and this one lacks.
    pub prune: bool,
    /// Which cluster-wide kinds pruning may delete.
    pub prune_scope: PruneScope,
    /// How many components may be applied at once.
    pub jobs: usize,
    /// The digest the bundle must have (`sha256:…`), when the operator knows it.
    pub expect_digest: Option<String>,
    /// age identity files that open the bundle's sealed Secrets (`--identity`).
    pub identities: Vec<PathBuf>,
    /// How long one API request may take before it is abandoned and retried (default
    /// [`REQUEST_TIMEOUT`]).
    pub request_timeout: Option<Duration>,
    /// Stop cleanly on Ctrl-C (SIGINT), as the command line does. This takes SIGINT over
    /// for the rest of the process, so a program that embeds the applier (a test suite,
    /// say) leaves it off unless Ctrl-C should stop the run rather than the program.
    pub stop_on_ctrl_c: bool,
}

/// Why `crunch apply` could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// The bundle is unreadable, tampered with, or not the expected one: nothing was sent.
    Verification(String),
    /// The bundle is inconsistent (unknown dependencies, cycles) or the cluster cannot be
    /// reached or read.
    Setup(String),
    /// The bundle's sealed Secrets cannot be opened (no identity, a wrong one, a value
    /// that does not open): nothing was sent.
    Sealed(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Verification(m) | Self::Setup(m) | Self::Sealed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StartError {}

/// Verifies, plans and applies a bundle; progress lines go to `sink`. With
/// [`Options::stop_on_ctrl_c`], Ctrl-C stops the run cleanly (the report says so);
/// running again completes the work.
pub fn apply(options: &Options, sink: Sink) -> Result<Report, StartError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::Setup(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let (raise, stop) = Stop::new();
        if options.stop_on_ctrl_c {
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ = raise.send(true);
                }
            });
        }
        apply_async(options, sink, stop).await
    })
}

/// What `crunch diff --cluster` shows: the server's dry run of every object.
pub fn diff(options: &Options) -> Result<Vec<(String, Vec<Change>)>, StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::Setup(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let (_, stop) = Stop::new();
        let (plan, run) = prepare(options, stop, Unseal::IfIdentified, None).await?;
        let mut all = Vec::new();
        for component in &plan.components {
            let deadline = Instant::now() + component.timeout;
            let (changes, _) = preview::preview(&run, component, deadline)
                .await
                .map_err(|e| StartError::Setup(format!("{}: {e}", component.id)))?;
            all.push((component.id.clone(), changes));
        }
        Ok(all)
    })
}

/// Whether a run needs the plaintext of sealed Secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unseal {
    /// Applying: without an identity, a bundle with sealed Secrets is refused.
    Required,
    /// Comparing: without an identity, sealed Secrets are shown as not comparable.
    IfIdentified,
}

/// Opens the bundle's sealed Secrets in memory with the identities of `options`.
fn open_secrets(
    bundle: &mut VerifiedBundle,
    options: &Options,
    unseal: Unseal,
) -> Result<(), StartError> {
    let Some(sealing) = &bundle.index.sealing else {
        return Ok(());
    };
    let path = options.bundle.display();
    let failed = |e: String| StartError::Sealed(format!("{path}: {e}"));
    if options.identities.is_empty() {
        return match unseal {
            Unseal::IfIdentified => Ok(()),
            Unseal::Required => Err(failed(format!(
                "bundle holds sealed Secrets for {}: pass --identity",
                sealing.recipients.join(", ")
            ))),
        };
    }
    let identities = Identities::load(&options.identities).map_err(StartError::Sealed)?;
    let key = bundle.sealing_key(&identities).map_err(failed)?;
    bundle.unseal(&key).map_err(failed)?;
    Ok(())
}

/// Verifies the bundle, opens its Secrets and connects: nothing is sent before the
/// bundle is proven whole. With `preflight`, the cluster's version and API groups are
/// checked against the bundle before anything is written ([`preflight`]); its notes go
/// there.
async fn prepare(
    options: &Options,
    stop: Stop,
    unseal: Unseal,
    preflight: Option<&Progress>,
) -> Result<(Plan, Run), StartError> {
    let mut bundle = match &options.verified {
        Some(bundle) => bundle.clone(),
        None => crate::bundle::read(&options.bundle)
            .map_err(|e| StartError::Verification(format!("{}: {e}", options.bundle.display())))?,
    };
    if let Some(expected) = &options.expect_digest
        && *expected != bundle.digest
    {
        return Err(StartError::Verification(format!(
            "{}: the bundle's digest is {}, not the expected {expected}",
            options.bundle.display(),
            bundle.digest
        )));
    }
    open_secrets(&mut bundle, options, unseal)?;
    let mut plan =
        plan::plan(&bundle, options.timeout).map_err(|e| StartError::Setup(e.to_string()))?;
    let cluster = Cluster::connect(
        options.kubeconfig.as_deref(),
        options.context.as_deref(),
        options.request_timeout.unwrap_or(cluster::REQUEST_TIMEOUT),
    )
    .await
    .map_err(StartError::Setup)?;
    if let Some(progress) = preflight {
        for note in preflight::check(&cluster, &bundle, options.force).await? {
            progress.note(&note);
        }
    }
    let mut schemas = plan.schemas();
    for (api_version, kind) in plan.unknown_kinds(&schemas) {
        if let Some(crd) = cluster.definition(&api_version, &kind).await {
            schemas.add(&crd);
        }
    }
    plan.normalize(&schemas);
    let run = Run {
        cluster,
        force_conflicts: options.force_conflicts,
        environment: plan.environment.clone(),
        bundle: plan.digest.clone(),
        stop,
        webhooks: webhooks::Gate::new(&plan),
    };
    Ok((plan, run))
}

async fn apply_async(options: &Options, sink: Sink, stop: Stop) -> Result<Report, StartError> {
    let began = Instant::now();
    let progress = Progress::new(sink);
    let (plan, run) = prepare(options, stop, Unseal::Required, Some(&progress)).await?;
    progress.note(&format!(
        "bundle {} ({} components) verified; applying to {}",
        plan.digest,
        plan.components.len(),
        run.cluster.server
    ));
    let setup_deadline = Instant::now() + Duration::from_secs(120);
    let previous = if options.dry_run {
        Vec::new()
    } else {
        retry(setup_deadline, &run.stop, || async {
            inventory::prepare(&run.cluster).await?;
            inventory::load(&run.cluster).await
        })
        .await
        .map_err(|e| StartError::Setup(format!("cannot read the inventory: {e}")))?
    };
    let run = Arc::new(run);
    let reports = if options.dry_run {
        dry_run(&run, &plan, &progress).await
    } else {
        apply_components(&run, &plan, &previous, options.jobs.max(1), &progress).await
    };
    let mut report = Report::new(&plan, options.dry_run, reports.0);
    let all_ready = report
        .components
        .iter()
        .all(|c| c.outcome == Outcome::Ready);
    if options.prune && !options.dry_run && all_ready {
        // The records as this run left them, plus those of components the bundle lost.
        let mut records: BTreeMap<String, Inventory> = previous
            .into_iter()
            .map(|i| (i.component.clone(), i))
            .collect();
        records.extend(reports.1.into_iter().map(|i| (i.component.clone(), i)));
        let deadline = Instant::now() + options.timeout.unwrap_or(plan::DEFAULT_TIMEOUT);
        match prune::prune(
            &run,
            records.into_values().collect(),
            &plan.components,
            options.prune_scope,
            deadline,
            &progress,
        )
        .await
        {
            Ok(pruned) => report.pruned = Some(pruned),
            Err(e) => report.prune_error = Some(e),
        }
    }
    report.interrupted = run.stop.is_raised();
    report.seconds = component::round_seconds(began.elapsed());
    report.requests = run.cluster.requests();
    Ok(report)
}

/// Applies every component, each once all it needs is ready, `jobs` at a time.
async fn apply_components(
    run: &Arc<Run>,
    plan: &Plan,
    previous: &[Inventory],
    jobs: usize,
    progress: &Progress,
) -> (Vec<ComponentReport>, Vec<Inventory>) {
    let recorded: Arc<BTreeSet<ObjectRef>> = Arc::new(
        previous
            .iter()
            .flat_map(|i| i.objects.iter().cloned())
            .collect(),
    );
    let previous: Arc<BTreeMap<String, Inventory>> = Arc::new(
        previous
            .iter()
            .map(|i| (i.component.clone(), i.clone()))
            .collect(),
    );
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut reports = Vec::new();
    let mut records = Vec::new();
    let mut started: BTreeSet<String> = BTreeSet::new();
    let mut running = JoinSet::new();
    loop {
        for component in &plan.components {
            if started.contains(&component.id) || running.len() >= jobs {
                continue;
            }
            let blocked = component
                .needs
                .iter()
                .find(|n| matches!(outcomes.get(*n), Some(o) if *o != Outcome::Ready));
            if let Some(need) = blocked {
                started.insert(component.id.clone());
                let outcome = if run.stop.is_raised() {
                    Outcome::Interrupted
                } else {
                    Outcome::Skipped(format!("{need} did not become ready"))
                };
                outcomes.insert(component.id.clone(), outcome.clone());
                reports.push(skipped(component, outcome));
                continue;
            }
            if !component.needs.iter().all(|n| outcomes.contains_key(n)) {
                continue;
            }
            started.insert(component.id.clone());
            let (run, component, recorded, previous) = (
                run.clone(),
                component.clone(),
                recorded.clone(),
                previous.clone(),
            );
            let progress = progress.component(&component.id);
            running.spawn(async move {
                if run.stop.is_raised() {
                    return (skipped(&component, Outcome::Interrupted), None);
                }
                let start = Start {
                    plan: &component,
                    previous: previous.get(&component.id),
                    recorded: &recorded,
                };
                component::apply(&run, start, &progress).await
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        match done {
            Ok((report, record)) => {
                if let Outcome::Failed(m) | Outcome::TimedOut(m) = &report.outcome {
                    progress.component(&report.id).note(m);
                }
                outcomes.insert(report.id.clone(), report.outcome.clone());
                records.extend(record);
                reports.push(report);
            }
            Err(e) => progress.note(&format!("a component task ended abnormally: {e}")),
        }
    }
    reports.sort_by_key(|r| {
        plan.components
            .iter()
            .position(|c| c.id == r.id)
            .unwrap_or(usize::MAX)
    });
    (reports, records)
}

/// Previews every component in order.
async fn dry_run(
    run: &Arc<Run>,
    plan: &Plan,
    progress: &Progress,
) -> (Vec<ComponentReport>, Vec<Inventory>) {
    let mut reports = Vec::new();
    for component in &plan.components {
        let began = Instant::now();
        let deadline = began + component.timeout;
        let (outcome, counts) = match preview::preview(run, component, deadline).await {
            Ok((_, counts)) => (Outcome::Ready, counts),
            Err(_) if run.stop.is_raised() => (Outcome::Interrupted, Counts::default()),
            Err(e) => (Outcome::Failed(e), Counts::default()),
        };
        progress.component(&component.id).note(&format!(
            "would create {}, change {}, leave {} unchanged",
            counts.created, counts.changed, counts.unchanged
        ));
        reports.push(ComponentReport {
            id: component.id.clone(),
            outcome,
            objects: component.kept().count(),
            counts,
            hooks: 0,
            seconds: component::round_seconds(began.elapsed()),
        });
    }
    (reports, Vec::new())
}

fn skipped(component: &ComponentPlan, outcome: Outcome) -> ComponentReport {
    ComponentReport {
        id: component.id.clone(),
        outcome,
        objects: component.kept().count(),
        counts: Counts::default(),
        hooks: 0,
        seconds: 0.0,
    }
}

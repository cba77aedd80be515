//! Flux, run ahead of time. The environment directory is built as Flux's bootstrap
//! Kustomization would build it; every HelmRelease and Kustomization that appears in the
//! output becomes a node, rendered once its source and values exist; their outputs may
//! declare more nodes (Big Bang's umbrella chart emits one HelmRelease per component).
//! The graph runs in waves to a fixpoint; nodes of one wave render in parallel, and
//! results are merged in node order so that thread scheduling never shows in the output.

mod artifact_generator;
mod chart;
mod cluster;
mod decrypt;
mod generator;
mod remote;
mod render_cache;
mod sources;
mod spec;
mod substitute;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component as PathPart, Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde_json::Value;

use crate::bundle::{self, Bundle, Component, ComponentKind, Provenance, SourceRecord};
use crate::config::{ClusterProfile, Config};
use crate::error::{Context, Error};
use crate::object::{ObjectKey, ObjectRef, Scope, qualified_kind};
use crate::progress::{Event, Progress};
use crate::source::{self, Origin, Store, Tree};
use crate::{helm, kustomize, yaml};
use artifact_generator::ArtifactGeneratorSpec;
use cluster::Cluster;
pub use decrypt::Collected as DecryptedSecrets;
use decrypt::{Decryptor, KeyRing, Secrets};
use spec::{
    ChartSpec, GitRepositorySpec, HelmReleaseSpec, HelmRepositorySpec, KustomizationSpec,
    OciRepositorySpec, PostRenderStrategy, SourceReference,
};
use substitute::PostBuild;

/// Waves after which the graph is taken to be unbounded.
const MAX_WAVES: usize = 64;
/// Components after which the graph is taken to be unbounded.
const MAX_COMPONENTS: usize = 10_000;

const HELM_GROUP: &str = "helm.toolkit.fluxcd.io";
const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";
/// Flux's extension sources (source-watcher's ArtifactGenerator).
const SOURCE_EXTENSIONS_GROUP: &str = "source.extensions.fluxcd.io";

/// Whether objects of `group` are Flux's own, which crunch stands in for: kept in the
/// bundle for review, not applied.
fn is_flux_group(group: &str) -> bool {
    group.ends_with(".toolkit.fluxcd.io") || group == SOURCE_EXTENSIONS_GROUP
}

/// The environment to build: where it starts and the settings in force for it.
pub struct Environment<'a> {
    /// What the cluster gets first: a kustomization directory (`customer/dev`, a
    /// cluster's `flux-system`, any directory of manifests, built as Flux would build it
    /// when it has no kustomization file) or a manifest file applied by hand (Big Bang's
    /// `dev/bigbang.yaml`).
    pub entry: &'a Path,
    /// Its name, the first step of every error chain (e.g. `dev`).
    pub name: &'a str,
    /// The customer repository's root: paths in messages are shown relative to it.
    pub root: &'a Path,
    /// Settings for this environment.
    pub config: &'a Config,
    /// The repository being built: GitRepositories that name it read its working tree.
    pub working_tree: &'a source::WorkingTree,
}

/// A build's output: the bundle, and what SOPS decryption left for writing it.
pub struct Built {
    /// Every component and object.
    pub bundle: Bundle,
    /// Data keys, plaintext values and warnings of the decryption.
    pub secrets: DecryptedSecrets,
}

/// Renders `env` and everything it deploys into a [`Bundle`], telling `progress` what
/// it fetches and renders.
pub fn build(env: &Environment, store: &Store, progress: &dyn Progress) -> Result<Built, Error> {
    let remote = source::Recorder::with_progress(store, progress);
    let root_chain = vec![env.name.to_string()];
    progress.event(&Event::ComponentsFound { total: 1 });
    let started = Instant::now();
    let keys = KeyRing::new(env.config.sops.clone());
    let secrets = Secrets::new(progress);
    let what = format!("environment {}", env.name);
    let decryptor = Decryptor::new(env.config.decryption.as_ref(), &keys, &secrets, &what);
    let relative = |e: Error| {
        let root = format!("{}/", env.root.display());
        Error::new(e.to_string().replace(&root, "")).with_chain(&root_chain)
    };
    let shown = env
        .entry
        .strip_prefix(env.root)
        .unwrap_or(env.entry)
        .display()
        .to_string();
    let (mut objects, sources) = if env.entry.is_dir() {
        // A directory with a kustomization file is built as kustomize builds it (the
        // bootstrap's `kubectl apply -k`); one without, as Flux would generate one.
        let has_file = kustomize::KUSTOMIZATION_FILE_NAMES
            .iter()
            .any(|name| env.entry.join(name).is_file());
        let generated = if has_file {
            None
        } else {
            let flux_defaults = serde_json::json!({"spec": {}});
            Some(generator::kustomization(env.entry, &flux_defaults).map_err(relative)?)
        };
        let replaced = decryptor
            .decrypt_sources(env.root, env.entry, generated.as_ref())
            .map_err(relative)?;
        let options = kustomize::Options {
            replaced_files: Some(&replaced),
            kustomization: generated.as_ref(),
            ..kustomize::Options::default()
        };
        let traced = kustomize::build_traced(env.entry, &remote, &options)
            .map_err(|e| relative(Error::new(e)))?;
        untrace(traced, &what, &shown)
    } else {
        let objects = read_manifest(env.entry).map_err(relative)?;
        let sources = vec![Some(format!("{shown} ({what})")); objects.len()];
        (objects, sources)
    };
    decryptor.decrypt_objects(&mut objects).map_err(relative)?;
    let mut graph = Graph::default();
    graph.absorb(
        Rendered {
            component: Component::new(env.name, ComponentKind::Environment, None),
            objects,
            sources,
        },
        &root_chain,
    )?;
    progress.event(&Event::ComponentRendered {
        component: &format!("environment {}", env.name),
        elapsed: started.elapsed(),
    });
    let render = Render {
        env,
        remote: &remote,
        renders: render_cache::RenderCache::new(store.cache_dir()),
        progress,
        keys: &keys,
        secrets: &secrets,
        verified: Default::default(),
    };
    graph.run(&render)?;
    place_custom_kinds(&mut graph.components, &env.config.cluster)
        .map_err(|e| e.with_chain(&root_chain))?;
    graph
        .check_dependencies()
        .map_err(|e| e.with_chain(&root_chain))?;
    Ok(Built {
        bundle: Bundle {
            environment: env.name.to_string(),
            kube_version: env.config.cluster.kube_version.clone(),
            sources: source_records(remote.into_origins()),
            components: graph.components,
        },
        secrets: secrets.take(),
    })
}

/// A rendered HelmRelease as the render cache keeps it: the CustomResourceDefinitions of
/// the chart's `crds/` (applied by the CRD policies), everything else, and the image lists
/// of the rendered charts' annotations.
#[derive(serde::Serialize, serde::Deserialize)]
struct ReleaseObjects {
    crds: Vec<Value>,
    objects: Vec<Value>,
    chart_images: Vec<bundle::ChartImageList>,
}

/// A rendered node (or the environment): its component, its objects, and where each
/// object came from where that is known (`sources` may be shorter than `objects`).
struct Rendered {
    component: Component,
    objects: Vec<Value>,
    sources: Vec<Option<String>>,
}

/// The objects of a manifest file applied by hand (`kubectl apply -f`): each YAML
/// document read as the Kubernetes decoder reads it, empty ones skipped.
fn read_manifest(path: &Path) -> Result<Vec<Value>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))?;
    let documents = yaml::parse_stream(&text, yaml::Dialect::GoYamlV2)
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    let mut objects = Vec::new();
    for (index, document) in documents.into_iter().enumerate() {
        match document {
            Value::Null => {}
            Value::Object(_) => objects.push(document),
            _ => {
                return Err(Error::new(format!(
                    "{}: document {} is not an object",
                    path.display(),
                    index + 1
                )));
            }
        }
    }
    Ok(objects)
}

/// Objects and their provenance from a traced kustomize build of `dir` (a path inside
/// a source, for messages), built for `what`: `dev/../base/secrets.enc.yaml (environment
/// dev)`.
fn untrace(
    traced: Vec<kustomize::Traced>,
    what: &str,
    dir: &str,
) -> (Vec<Value>, Vec<Option<String>>) {
    traced
        .into_iter()
        .map(|t| {
            let source = t.origin.map(|origin| {
                // A generator's origin reads `Kind in file`: the file is the path.
                let (kind, file) = match origin.split_once(" in ") {
                    Some((kind, file)) => (format!("{kind} in "), file.to_string()),
                    None => (String::new(), origin),
                };
                let file = if file.contains("://") {
                    file
                } else {
                    crate::gostd::path::join([dir, file.as_str()])
                };
                format!("{kind}{file} ({what})")
            });
            (t.object, source)
        })
        .unzip()
}

/// The Flux objects that render something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    HelmRelease,
    Kustomization,
}

impl NodeKind {
    /// The node kind of an object with this key, if it is one.
    fn of(key: &ObjectKey) -> Option<Self> {
        match (key.group.as_str(), key.kind.as_str()) {
            (HELM_GROUP, "HelmRelease") => Some(Self::HelmRelease),
            (KUSTOMIZE_GROUP, "Kustomization") => Some(Self::Kustomization),
            _ => None,
        }
    }

    /// The kind's name, as node ids and `dependsOn` ids begin.
    fn name(self) -> &'static str {
        match self {
            Self::HelmRelease => "HelmRelease",
            Self::Kustomization => "Kustomization",
        }
    }
}

/// A HelmRelease or Kustomization waiting to be rendered.
struct Node {
    kind: NodeKind,
    id: String,
    chain: Vec<String>,
    namespace: String,
    name: String,
    object: Value,
    parent: String,
}

#[derive(Default)]
struct Graph {
    cluster: Cluster,
    pending: Vec<Node>,
    components: Vec<Component>,
    seen: BTreeSet<String>,
}

impl Graph {
    /// Adds a rendered component's objects to the cluster and its Flux objects to the
    /// pending nodes.
    ///
    /// An object an ancestor component rendered already is taken over by a Kustomization,
    /// as kustomize-controller's server-side apply takes over what the bootstrap applied
    /// (`flux-system` applies its own directory again): it moves to this component. A Flux object taken over stays one
    /// node, so its spec may not change. Anyone else rendering the same object is an
    /// error: both would fight over it in a cluster.
    fn absorb(&mut self, rendered: Rendered, chain: &[String]) -> Result<(), Error> {
        let Rendered {
            mut component,
            objects,
            mut sources,
        } = rendered;
        sources.resize(objects.len(), None);
        let fail = |e: String| Error::new(e).with_chain(chain);
        for (object, source) in objects.into_iter().zip(sources) {
            let key = ObjectKey::of(&object).map_err(fail)?;
            let is_flux = is_flux_group(&key.group);
            let taken_over = match self.cluster.owner(&key) {
                None => false,
                // Server-side apply takes over; Helm refuses what its release did not
                // create ("invalid ownership metadata").
                Some((owner, _))
                    if component.kind == ComponentKind::Kustomization
                        && self.is_ancestor(owner, &component) =>
                {
                    true
                }
                Some((owner, _)) => {
                    return Err(fail(format!(
                        "{key} is rendered by both {owner} and {}",
                        component.id
                    )));
                }
            };
            if taken_over {
                self.take_over(&key, &object, &component.id).map_err(fail)?;
            } else if let Some(kind) = NodeKind::of(&key) {
                self.declare(kind, &key, &object, &component.id, chain)
                    .map_err(fail)?;
            }
            self.cluster.insert(key, object.clone(), &component.id);
            component.objects.push(bundle::Object {
                value: object,
                apply: !is_flux,
                source,
            });
        }
        self.components.push(component);
        if self.components.len() > MAX_COMPONENTS {
            return Err(fail(format!(
                "more than {MAX_COMPONENTS} components: the deployment does not converge"
            )));
        }
        Ok(())
    }

    /// Queues the HelmRelease or Kustomization `object` that `parent` rendered.
    fn declare(
        &mut self,
        kind: NodeKind,
        key: &ObjectKey,
        object: &Value,
        parent: &str,
        chain: &[String],
    ) -> Result<(), String> {
        let namespace = if key.namespace.is_empty() {
            "default".to_string()
        } else {
            key.namespace.clone()
        };
        let id = format!("{}/{namespace}/{}", key.kind, key.name);
        if !self.seen.insert(id.clone()) {
            return Err(format!("{id} is declared twice"));
        }
        let mut node_chain = chain.to_vec();
        node_chain.push(format!("{} {namespace}/{}", key.kind, key.name));
        self.pending.push(Node {
            kind,
            id,
            chain: node_chain,
            namespace,
            name: key.name.clone(),
            object: object.clone(),
            parent: parent.to_string(),
        });
        Ok(())
    }

    /// Moves the object with `key` from the component that rendered it to `component`,
    /// which renders it again as `object`.
    fn take_over(
        &mut self,
        key: &ObjectKey,
        object: &Value,
        component: &str,
    ) -> Result<(), String> {
        let Some((owner, stored)) = self.cluster.owner(key) else {
            return Ok(());
        };
        if NodeKind::of(key).is_some() && stored["spec"] != object["spec"] {
            return Err(format!(
                "{key} is rendered by {owner} and again, with another spec, by {component}: \
                 crunch renders each HelmRelease and Kustomization once"
            ));
        }
        let owner = owner.to_string();
        if let Some(previous) = self.components.iter_mut().find(|c| c.id == owner) {
            previous
                .objects
                .retain(|o| ObjectKey::of(&o.value).ok().as_ref() != Some(key));
        }
        Ok(())
    }

    /// Whether `owner` is `component`'s parent, or its parent's, and so on.
    fn is_ancestor(&self, owner: &str, component: &Component) -> bool {
        let mut at = component.parent.clone();
        let mut steps = 0;
        while let Some(id) = at {
            if id == owner {
                return true;
            }
            steps += 1;
            if steps > self.components.len() {
                return false;
            }
            at = self
                .components
                .iter()
                .find(|c| c.id == id)
                .and_then(|c| c.parent.clone());
        }
        false
    }

    /// Renders pending nodes wave by wave until none is left.
    fn run(&mut self, render: &Render) -> Result<(), Error> {
        for _ in 0..MAX_WAVES {
            if self.pending.is_empty() {
                return Ok(());
            }
            render.progress.event(&Event::ComponentsFound {
                // The environment is a component, not a node.
                total: 1 + self.seen.len(),
            });
            self.pending.sort_by(|a, b| a.id.cmp(&b.id));
            let pending: BTreeSet<String> = self.pending.iter().map(|n| n.id.clone()).collect();
            let (ready, waiting): (Vec<Node>, Vec<Node>) = std::mem::take(&mut self.pending)
                .into_iter()
                .partition(|node| {
                    render.missing_inputs(node, &self.cluster).is_empty()
                        && render
                            .awaited_dependencies(node, &self.cluster, &pending)
                            .is_empty()
                });
            if ready.is_empty() {
                let node = &waiting[0];
                let mut missing = render.missing_inputs(node, &self.cluster);
                missing.extend(
                    render
                        .awaited_dependencies(node, &self.cluster, &pending)
                        .into_iter()
                        .map(|id| format!("{id} (dependsOn, before an optional input)")),
                );
                return Err(Error::new(format!(
                    "never becomes ready: missing {}",
                    missing.join(", ")
                ))
                .with_chain(&node.chain));
            }
            self.pending = waiting;
            let cluster = &self.cluster;
            render.prefetch(&ready, cluster);
            let results: Vec<Result<Rendered, Error>> = ready
                .par_iter()
                .map(|node| render.node(node, cluster))
                .collect();
            for (node, result) in ready.iter().zip(results) {
                self.absorb(result?, &node.chain)?;
            }
        }
        Err(Error::new(format!(
            "still rendering new HelmReleases/Kustomizations after {MAX_WAVES} waves: the deployment does not converge"
        )))
    }

    /// Every `dependsOn` names a component, and they form no cycle.
    fn check_dependencies(&self) -> Result<(), Error> {
        let ids: BTreeSet<&str> = self.components.iter().map(|c| c.id.as_str()).collect();
        for component in &self.components {
            for dependency in &component.depends_on {
                if !ids.contains(dependency.as_str()) {
                    return Err(Error::new(format!(
                        "dependsOn {dependency}, which nothing declares"
                    ))
                    .within(&component.id));
                }
            }
        }
        let edges: BTreeMap<&str, &[String]> = self
            .components
            .iter()
            .map(|c| (c.id.as_str(), c.depends_on.as_slice()))
            .collect();
        let mut done = BTreeSet::new();
        for start in edges.keys() {
            let mut path = Vec::new();
            visit(start, &edges, &mut path, &mut done)?;
        }
        Ok(())
    }
}

/// Depth-first search for a dependency cycle through `id`.
fn visit<'a>(
    id: &'a str,
    edges: &BTreeMap<&'a str, &'a [String]>,
    path: &mut Vec<&'a str>,
    done: &mut BTreeSet<&'a str>,
) -> Result<(), Error> {
    if done.contains(id) {
        return Ok(());
    }
    if let Some(at) = path.iter().position(|p| *p == id) {
        let cycle: Vec<&str> = path[at..].iter().copied().chain([id]).collect();
        return Err(Error::new(format!(
            "dependsOn cycle: {}",
            cycle.join(" → ")
        )));
    }
    path.push(id);
    for next in edges.get(id).copied().unwrap_or_default() {
        visit(next, edges, path, done)?;
    }
    path.pop();
    done.insert(id);
    Ok(())
}

/// What every node's rendering shares.
struct Render<'a> {
    env: &'a Environment<'a>,
    remote: &'a source::Recorder<'a>,
    /// Rendered HelmReleases, beside the source cache.
    renders: render_cache::RenderCache,
    /// Told of every node rendered.
    progress: &'a dyn Progress,
    /// The SOPS keys Kustomizations decrypt with.
    keys: &'a KeyRing,
    /// What decryption found.
    secrets: &'a Secrets<'a>,
    /// Commits whose signature a Secret's keys verified: (URL, commit, Secret). Every
    /// node a GitRepository feeds fetches it, and prefetching does too; one check each.
    verified: std::sync::Mutex<BTreeSet<(String, String, String)>>,
}

impl Render<'_> {
    /// What the node still waits for; empty when it can render.
    fn missing_inputs(&self, node: &Node, cluster: &Cluster) -> Vec<String> {
        let mut missing = awaited_sources(node, cluster);
        if node.kind == NodeKind::HelmRelease
            && let Ok(spec) = HelmReleaseSpec::read(&node.object)
        {
            missing.extend(values::missing(&spec.values_from, cluster, &node.namespace));
        }
        if node.kind == NodeKind::Kustomization
            && let Ok(Some(post_build)) = PostBuild::read(&node.object)
        {
            missing.extend(post_build.missing(cluster, &node.namespace));
        }
        missing
    }

    /// The `dependsOn` nodes `node` still waits for: none, unless an optional input of
    /// it (a `valuesFrom` or `substituteFrom` object) is absent. Flux starts it only once
    /// its dependencies are ready, so what they apply is there by then; crunch renders it
    /// after the pending ones (`pending`) rendered, so that such an input they render is
    /// seen. A dependency nothing declares is `check_dependencies`' to report.
    fn awaited_dependencies(
        &self,
        node: &Node,
        cluster: &Cluster,
        pending: &BTreeSet<String>,
    ) -> Vec<String> {
        let absent = match node.kind {
            NodeKind::HelmRelease => HelmReleaseSpec::read(&node.object)
                .map(|spec| values::absent_optional(&spec.values_from, cluster, &node.namespace))
                .unwrap_or_default(),
            NodeKind::Kustomization => PostBuild::read(&node.object)
                .ok()
                .flatten()
                .map(|post_build| post_build.absent_optional(cluster, &node.namespace))
                .unwrap_or_default(),
        };
        if absent.is_empty() {
            return Vec::new();
        }
        let dependencies: Vec<spec::Dependency> =
            serde_json::from_value(node.object["spec"]["dependsOn"].clone()).unwrap_or_default();
        dependency_ids(node.kind.name(), &dependencies, &node.namespace)
            .into_iter()
            .filter(|id| id != &node.id && pending.contains(id))
            .collect()
    }

    /// Renders one node into its component and objects.
    fn node(&self, node: &Node, cluster: &Cluster) -> Result<Rendered, Error> {
        let started = Instant::now();
        let result = match node.kind {
            NodeKind::HelmRelease => self.helm_release(node, cluster),
            NodeKind::Kustomization => self.kustomization(node, cluster),
        };
        if result.is_ok()
            && let Some(step) = node.chain.last()
        {
            self.progress.event(&Event::ComponentRendered {
                component: step,
                elapsed: started.elapsed(),
            });
        }
        result.map_err(|e| e.with_chain(&node.chain))
    }

    /// Fetches the sources of `nodes` ahead of their rendering, many at once: a fetch
    /// mostly waits on git and the disk, so it is not bounded by the rendering threads.
    /// Failures are left for the rendering to report, with their chains.
    fn prefetch(&self, nodes: &[Node], cluster: &Cluster) {
        const FETCHES_AT_ONCE: usize = 8;
        let Ok(pool) = rayon::ThreadPoolBuilder::new()
            .num_threads(FETCHES_AT_ONCE.min(nodes.len()).max(1))
            .build()
        else {
            return;
        };
        pool.install(|| {
            nodes.par_iter().for_each(|node| match node.kind {
                NodeKind::HelmRelease => {
                    if let Ok(spec) = HelmReleaseSpec::read(&node.object) {
                        let _ = self.chart_source(&spec, node, cluster);
                    }
                }
                NodeKind::Kustomization => {
                    if let Ok(spec) = KustomizationSpec::read(&node.object) {
                        let _ = self.source_files(&spec.source_ref, &node.namespace, cluster);
                    }
                }
            });
        });
    }

    /// The files of the source `source` names (in `namespace` unless it names one), as
    /// its controller serves them to kustomize-controller.
    fn source_files(
        &self,
        source: &SourceReference,
        namespace: &str,
        cluster: &Cluster,
    ) -> Result<SourceFiles, Error> {
        let namespace = source.namespace.as_deref().unwrap_or(namespace);
        match source.kind.as_str() {
            "GitRepository" => {
                let (tree, url) =
                    self.git_repository(namespace, &source.name, cluster, &mut Vec::new())?;
                Ok(SourceFiles::of(tree, url))
            }
            "OCIRepository" => {
                let (spec, artifact) = self.oci_repository(namespace, &source.name, cluster)?;
                let step = format!("OCIRepository {namespace}/{}", source.name);
                // A copied layer reaches kustomize-controller as is, unfiltered.
                let root = self
                    .remote
                    .oci_files(&artifact, !spec.copies_layer(), spec.ignore.as_deref())
                    .within(&step)?;
                Ok(SourceFiles {
                    root,
                    url: spec.url,
                    revision: artifact.origin.revision(),
                })
            }
            "ExternalArtifact" => {
                self.external_artifact(namespace, &source.name, cluster, &mut Vec::new())
            }
            other => Err(Error::new(format!(
                "sourceRef kind {other} is not supported: crunch reads GitRepository, OCIRepository and ExternalArtifact sources"
            ))),
        }
    }

    /// The files of the ExternalArtifact `namespace/name`, as the ArtifactGenerator of
    /// `namespace` that generates it makes them (source-watcher) from its sources' files;
    /// cached under `<cache>/artifacts/`, keyed by the plan and the sources' contents.
    /// `generating` holds the ExternalArtifacts whose generators led here, so that a cycle
    /// is an error rather than endless.
    fn external_artifact(
        &self,
        namespace: &str,
        name: &str,
        cluster: &Cluster,
        generating: &mut Vec<String>,
    ) -> Result<SourceFiles, Error> {
        let step = format!("ExternalArtifact {namespace}/{name}");
        if generating.contains(&step) {
            return Err(Error::new(format!(
                "ArtifactGenerator cycle: {} → {step}",
                generating.join(" → ")
            )));
        }
        for (generator, object) in
            cluster.list(SOURCE_EXTENSIONS_GROUP, "ArtifactGenerator", namespace)
        {
            let within = format!("ArtifactGenerator {namespace}/{generator}");
            let spec = ArtifactGeneratorSpec::read(object).within(&within)?;
            // Only the artifacts' names are needed to find the generator (a pathPattern's
            // need its source's files).
            let needs_files = spec.path_pattern.is_some();
            if !needs_files && !spec.artifacts.iter().any(|a| a.name == name) {
                continue;
            }
            generating.push(step.clone());
            let sources = self.generator_sources(&spec, namespace, cluster, generating);
            generating.pop();
            let sources = sources.map_err(|e| e.within(&within))?;
            let roots = |alias: &str| sources.get(alias).map(|files| files.root.clone());
            let planned = spec
                .artifacts(&roots)
                .map_err(|e| Error::new(e).within(&within))?;
            let Some(artifact) = planned.into_iter().find(|a| a.name == name) else {
                continue;
            };
            let key = format!(
                "external-artifact-v1\0{artifact:?}\0{}",
                sources
                    .iter()
                    .map(|(alias, files)| format!("{alias}={}", files.root.display()))
                    .collect::<Vec<_>>()
                    .join("\0")
            );
            let digest = crate::gostd::sha256::hex(&key);
            let dest = self.remote.cache_dir().join("artifacts").join(&digest);
            if !dest.is_dir() {
                let temp = dest.with_extension(format!("tmp-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&temp);
                let built = artifact_generator::build(&artifact, &roots, &temp).and_then(|()| {
                    std::fs::rename(&temp, &dest).or_else(|e| {
                        // Another process may have won the race with the same content.
                        if dest.is_dir() {
                            Ok(())
                        } else {
                            Err(format!("{}: {e}", dest.display()))
                        }
                    })
                });
                let _ = std::fs::remove_dir_all(&temp);
                built.map_err(|e| Error::new(e).within(&within))?;
            }
            // source-watcher's revision: the named source's, else `latest@<digest>` of the
            // content (here the digest of what it is made of).
            let revision = artifact
                .revision
                .as_ref()
                .and_then(|alias| sources.get(alias))
                .map_or_else(
                    || format!("latest@sha256:{digest}"),
                    |files| files.revision.clone(),
                );
            return Ok(SourceFiles {
                root: dest,
                url: format!("{within} artifact {name}"),
                revision,
            });
        }
        Err(Error::new(format!(
            "{step} not found: no ArtifactGenerator of namespace {namespace} generates it"
        )))
    }

    /// The files of every source of an ArtifactGenerator of `namespace`, by alias.
    fn generator_sources(
        &self,
        spec: &ArtifactGeneratorSpec,
        namespace: &str,
        cluster: &Cluster,
        generating: &mut Vec<String>,
    ) -> Result<BTreeMap<String, SourceFiles>, Error> {
        let mut sources = BTreeMap::new();
        for source in &spec.sources {
            let namespace = source.namespace.as_deref().unwrap_or(namespace);
            let files = match source.kind {
                artifact_generator::SourceKind::GitRepository => {
                    let (tree, url) =
                        self.git_repository(namespace, &source.name, cluster, &mut Vec::new())?;
                    SourceFiles::of(tree, url)
                }
                artifact_generator::SourceKind::OciRepository => {
                    let reference = SourceReference {
                        kind: "OCIRepository".to_string(),
                        name: source.name.clone(),
                        namespace: Some(namespace.to_string()),
                    };
                    self.source_files(&reference, namespace, cluster)?
                }
                artifact_generator::SourceKind::ExternalArtifact => {
                    self.external_artifact(namespace, &source.name, cluster, generating)?
                }
                kind @ (artifact_generator::SourceKind::Bucket
                | artifact_generator::SourceKind::HelmChart) => {
                    return Err(Error::new(format!(
                        "source {} of kind {kind:?} is not supported yet: crunch reads GitRepository, OCIRepository and ExternalArtifact sources of an ArtifactGenerator",
                        source.alias
                    )));
                }
            };
            sources.insert(source.alias.clone(), files);
        }
        Ok(sources)
    }

    /// The chart a HelmRelease renders: from its `chart.spec` (a chart directory of a
    /// GitRepository, a chart of a HelmRepository) or its `chartRef` (an OCIRepository's
    /// artifact, a HelmChart).
    fn chart_source(
        &self,
        spec: &HelmReleaseSpec,
        node: &Node,
        cluster: &Cluster,
    ) -> Result<ChartSource, Error> {
        if let Some(reference) = &spec.chart_ref {
            let namespace = reference.namespace.as_deref().unwrap_or(&node.namespace);
            let name = &reference.name;
            if reference.kind == "OCIRepository" {
                let (_, artifact) = self.oci_repository(namespace, name, cluster)?;
                return Ok(ChartSource::Artifact(artifact));
            }
            let step = format!("HelmChart {namespace}/{name}");
            let object = cluster
                .get(SOURCE_GROUP, "HelmChart", namespace, name)
                .ok_or_else(|| Error::new(format!("{step} not found")))?;
            let chart = ChartSpec::read_helm_chart(object).within(&step)?;
            return self
                .chart_of(&chart, namespace, cluster)
                .map_err(|e| e.within(&step));
        }
        let chart = spec
            .chart
            .as_ref()
            .map(|c| &c.spec)
            .ok_or_else(|| Error::new("HelmRelease has no spec.chart"))?;
        self.chart_of(chart, &node.namespace, cluster)
    }

    /// The chart a HelmChart (or a HelmRelease's `chart.spec`, its template) of
    /// `namespace` names, as source-controller's HelmChart reconciler makes it.
    fn chart_of(
        &self,
        spec: &ChartSpec,
        namespace: &str,
        cluster: &Cluster,
    ) -> Result<ChartSource, Error> {
        let source = &spec.source_ref;
        let packaging = spec.packaging();
        let namespace = source.namespace.as_deref().unwrap_or(namespace);
        let name = &source.name;
        match source.kind.as_str() {
            "GitRepository" => {
                let (tree, url) = self.git_repository(namespace, name, cluster, &mut Vec::new())?;
                Ok(ChartSource::Directory {
                    files: SourceFiles::of(tree, url),
                    path: spec.chart.clone(),
                    packaging,
                })
            }
            "HelmRepository" => {
                let step = format!("HelmRepository {namespace}/{name}");
                let object = cluster
                    .get(SOURCE_GROUP, "HelmRepository", namespace, name)
                    .ok_or_else(|| Error::new(format!("{step} not found")))?;
                let repository = HelmRepositorySpec::read(object).within(&step)?;
                let config = self.env.config;
                let access = sources::access(
                    config,
                    cluster,
                    namespace,
                    repository.secret_ref.as_ref(),
                    repository.cert_secret_ref.as_ref(),
                    repository.insecure,
                    repository.pass_credentials,
                )
                .within(&step)?;
                let keys = spec
                    .verify
                    .as_ref()
                    .map(|verify| {
                        let secret = verify.key_secret("HelmRelease chart")?;
                        sources::cosign_keys(config, cluster, namespace, secret)
                    })
                    .transpose()
                    .within(&step)?;
                let archive = self
                    .remote
                    .helm_chart(&source::ChartRequest {
                        repository: &repository.url,
                        chart: &spec.chart,
                        version: spec.version.as_deref().unwrap_or_default(),
                        access: &access,
                        verify: keys.as_ref(),
                    })
                    .within(&step)?;
                Ok(ChartSource::Package { archive, packaging })
            }
            other => Err(Error::new(format!(
                "chart sourceRef kind {other} is not supported: crunch reads charts of GitRepository and HelmRepository sources"
            ))),
        }
    }

    /// The spec of the OCIRepository `namespace/name` and its artifact's selected layer,
    /// its signature verified when the spec asks.
    fn oci_repository(
        &self,
        namespace: &str,
        name: &str,
        cluster: &Cluster,
    ) -> Result<(OciRepositorySpec, source::OciArtifact), Error> {
        let step = format!("OCIRepository {namespace}/{name}");
        let object = cluster
            .get(SOURCE_GROUP, "OCIRepository", namespace, name)
            .ok_or_else(|| Error::new(format!("{step} not found")))?;
        let spec = OciRepositorySpec::read(object).within(&step)?;
        let config = self.env.config;
        let access = sources::access(
            config,
            cluster,
            namespace,
            spec.secret_ref.as_ref(),
            spec.cert_secret_ref.as_ref(),
            spec.insecure,
            false,
        )
        .within(&step)?;
        let keys = spec
            .verify
            .as_ref()
            .map(|verify| {
                let secret = verify.key_secret("OCIRepository")?;
                sources::cosign_keys(config, cluster, namespace, secret)
            })
            .transpose()
            .within(&step)?;
        let wanted = spec.reference.clone().unwrap_or_default();
        let pick = |field: &Option<String>| field.clone().filter(|v| !v.is_empty());
        let reference = if let Some(digest) = pick(&wanted.digest) {
            source::OciRef::Digest(digest)
        } else if let Some(range) = pick(&wanted.semver) {
            source::OciRef::Semver {
                range,
                filter: pick(&wanted.semver_filter),
            }
        } else {
            source::OciRef::Tag(pick(&wanted.tag).unwrap_or_else(|| "latest".to_string()))
        };
        let media_type = spec
            .layer_selector
            .as_ref()
            .and_then(|l| l.media_type.as_deref());
        let artifact = self
            .remote
            .oci_artifact(&source::OciArtifactRequest {
                url: &spec.url,
                reference: &reference,
                media_type,
                access: &access,
                verify: keys.as_ref(),
            })
            .within(&step)?;
        Ok((spec, artifact))
    }

    /// The artifact of the GitRepository `namespace/name`: its checkout
    /// (recursive with `spec.recurseSubmodules`, the working tree when the URL names the
    /// repository being built), its includes' artifacts moved in, filtered as
    /// source-controller archives it. `including` holds the GitRepositories whose
    /// includes led here, so that a cycle is an error rather than endless.
    fn git_repository(
        &self,
        namespace: &str,
        name: &str,
        cluster: &Cluster,
        including: &mut Vec<String>,
    ) -> Result<(Tree, String), Error> {
        let step = format!("GitRepository {namespace}/{name}");
        if including.contains(&step) {
            return Err(Error::new(format!(
                "spec.include cycle: {} → {step}",
                including.join(" → ")
            )));
        }
        let repository = cluster
            .get(SOURCE_GROUP, "GitRepository", namespace, name)
            .ok_or_else(|| Error::new(format!("{step} not found")))?;
        let spec = GitRepositorySpec::read(repository).within(&step)?;
        let reference = spec.git_ref().reference();
        let working_tree = self.env.working_tree;
        let from_working_tree = working_tree.stands_for(&spec.url, &reference);
        let checkout = if from_working_tree {
            if spec.recurse_submodules {
                return Err(Error::new(
                    "GitRepository spec.recurseSubmodules is not supported yet for the repository being built (its working tree)",
                )
                .within(&step));
            }
            self.remote
                .working_tree(working_tree, &spec.url, &reference)
        } else if spec.recurse_submodules && spec.sparse_checkout.is_empty() {
            // A sparse clone checks out no submodule: go-git updates them only when the
            // clone itself checks out, which source-controller's sparse clone does not.
            self.remote.git_recursive(&spec.url, &reference)
        } else {
            self.remote.git(&spec.url, &reference)
        }
        .within(&step)?;
        if let Some(verify) = &spec.verify {
            self.verify(verify, &spec.url, &checkout, from_working_tree)
                .map_err(|e| Error::new(e).within(&step))?;
        }
        including.push(step.clone());
        let included = spec
            .include
            .iter()
            .map(|include| {
                let (tree, _) =
                    self.git_repository(namespace, &include.repository.name, cluster, including)?;
                Ok((tree, include))
            })
            .collect::<Result<Vec<_>, Error>>();
        including.pop();
        let included = included.map_err(|e| e.within(&step))?;
        let includes: Vec<source::Include> = included
            .iter()
            .map(|(artifact, include)| source::Include {
                name: &include.repository.name,
                artifact,
                from_path: &include.from_path,
                to_path: &include.to_path,
            })
            .collect();
        let recipe = source::ArtifactRecipe {
            ignore: spec.ignore.as_deref(),
            sparse_checkout: &spec.sparse_checkout,
            includes: &includes,
        };
        // Charts and kustomizations see the artifact, not the checkout.
        let tree = self
            .remote
            .flux_artifact(&checkout, &recipe)
            .within(&step)?;
        Ok((tree, spec.url))
    }

    /// source-controller's `spec.verify` (mode `HEAD`): the checked-out commit carries an
    /// OpenPGP signature by one of the keys `crunch.yaml` maps the named Secret to.
    fn verify(
        &self,
        verify: &spec::GitVerification,
        url: &str,
        checkout: &Tree,
        from_working_tree: bool,
    ) -> Result<(), String> {
        let secret = &verify.secret_ref.name;
        let files = self.env.config.verify.secrets.get(secret).ok_or_else(|| {
            format!(
                "spec.verify names Secret {secret}: map it to public key files in crunch.yaml under verify.secrets.{secret}"
            )
        })?;
        let commit = &checkout.origin.commit;
        let done = (url.to_string(), commit.clone(), secret.clone());
        let verified = || {
            self.verified
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if verified().contains(&done) {
            return Ok(());
        }
        let keys = source::Keyring::load(files)?;
        let object = if from_working_tree {
            self.env.working_tree.head_commit_object(checkout)
        } else {
            self.remote.commit_object(url, commit)
        }
        .map_err(|e| e.to_string())?;
        keys.verify_commit(&object)
            .map_err(|e| format!("commit {commit} cannot be verified: {e}"))?;
        verified().insert(done);
        Ok(())
    }

    fn helm_release(&self, node: &Node, cluster: &Cluster) -> Result<Rendered, Error> {
        let spec = HelmReleaseSpec::read(&node.object).map_err(Error::new)?;
        let chart_source = self.chart_source(&spec, node, cluster)?;
        let values = values::compose(
            &spec.values_from,
            spec.values.as_ref(),
            cluster,
            &node.namespace,
        )
        .map_err(Error::new)?;
        let release_namespace = spec
            .target_namespace
            .clone()
            .unwrap_or_else(|| node.namespace.clone());
        let release_name = release_name(&spec, &node.name);
        let cluster_profile = &self.env.config.cluster;
        let config = self.env.config;
        let provenance = chart_source.provenance();
        let key = render_cache::Key::of(&[
            b"HelmRelease",
            &serde_json::to_vec(&node.object).map_err(|e| Error::new(e.to_string()))?,
            node.namespace.as_bytes(),
            // The chart's files: a directory named by the digest of its content, or an
            // archive named by its own digest; the revision (commit, `version@digest`)
            // stamps versions.
            chart_source.location().as_os_str().as_encoded_bytes(),
            provenance.commit.as_bytes(),
            provenance.path.as_bytes(),
            &serde_json::to_vec(&values).map_err(|e| Error::new(e.to_string()))?,
            cluster_profile.kube_version.as_bytes(),
            cluster_profile.api_versions.join("\n").as_bytes(),
            config.seed.as_bytes(),
            format!("{:?}", config.now).as_bytes(),
        ]);
        let rendered: ReleaseObjects = match self.renders.get(&key) {
            Some(rendered) => rendered,
            None => {
                let chart = chart_source.load()?;
                let rendered = self.render_chart(
                    chart,
                    values,
                    &spec,
                    node,
                    &release_name,
                    &release_namespace,
                )?;
                self.renders.put(&key, &rendered);
                rendered
            }
        };
        let crds: Vec<String> = rendered
            .crds
            .iter()
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut objects = rendered.crds;
        objects.extend(rendered.objects);
        let component = Component {
            id: node.id.clone(),
            kind: ComponentKind::HelmRelease,
            parent: Some(node.parent.clone()),
            depends_on: dependency_ids(node.kind.name(), &spec.depends_on, &node.namespace),
            timeout: spec.timeout.clone(),
            release: Some(spec.release_entry(release_name, release_namespace, crds)),
            health_checks: Vec::new(),
            kustomization: None,
            service_account: service_account(spec.service_account_name.as_deref(), &node.namespace),
            source: Some(provenance),
            objects: Vec::new(),
            chart_images: rendered.chart_images,
        };
        Ok(Rendered {
            component,
            objects,
            sources: Vec::new(),
        })
    }

    /// Renders `chart` as helm-controller would install it, post-renders it, and puts
    /// namespaced objects in the release namespace.
    fn render_chart(
        &self,
        chart: helm::Chart,
        values: serde_json::Map<String, Value>,
        spec: &HelmReleaseSpec,
        node: &Node,
        release_name: &str,
        release_namespace: &str,
    ) -> Result<ReleaseObjects, Error> {
        let cluster_profile = &self.env.config.cluster;
        let options = helm::RenderOptions {
            release_name: release_name.to_string(),
            namespace: release_namespace.to_string(),
            revision: 1,
            is_upgrade: false,
            // The profile lists what the cluster serves beyond Helm's defaults.
            capabilities: helm::Capabilities::helm_template(
                Some(&cluster_profile.kube_version),
                &cluster_profile.api_versions,
            ),
            include_crds: spec.applies_crds(),
            skip_tests: true,
            no_hooks: !spec.runs_hooks(),
            skip_schema_validation: !spec.validates_schema(),
            seed: self.env.config.seed.clone(),
            now: self.env.config.now,
        };
        let rendered = helm::render_values(chart, &values, &options).map_err(Error::new)?;
        let chart_images = rendered
            .charts
            .iter()
            .flat_map(|chart| {
                bundle::IMAGE_LIST_ANNOTATIONS
                    .iter()
                    .filter_map(|annotation| {
                        Some(bundle::ChartImageList {
                            chart: chart.name.clone(),
                            version: chart.version.clone(),
                            annotation: annotation.to_string(),
                            list: chart.annotations.get(*annotation)?.clone(),
                        })
                    })
            })
            .collect();
        let origin = origin_labels(&node.namespace, &node.name);
        // helm-controller applies only the CustomResourceDefinitions of `crds/`, straight
        // from the files (go-yaml v2), with its origin labels.
        let crds = if spec.applies_crds() {
            let crds = parse_manifests(&rendered.crds, Delivery::Raw)?
                .into_iter()
                .filter(|o| {
                    o["apiVersion"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("apiextensions.k8s.io/")
                        && o["kind"] == "CustomResourceDefinition"
                })
                .collect();
            kustomize::add_labels(crds, &origin).within("origin labels")?
        } else {
            Vec::new()
        };
        let mut objects = Vec::new();
        // Flux runs no Helm tests (`test.enable` aside, crunch has no cluster to run them in).
        let hooks: Vec<helm::Manifest> = rendered
            .hooks
            .into_iter()
            .filter(|hook| !hook.is_test())
            .map(|hook| hook.manifest)
            .collect();
        let manifests = parse_manifests(&rendered.manifests, Delivery::PostRendered)?;
        let hooks = parse_manifests(&hooks, Delivery::PostRendered)?;
        match spec.post_render_strategy {
            PostRenderStrategy::Combined => {
                let mut all = manifests;
                all.extend(hooks);
                objects.extend(post_render(all, spec, node)?);
            }
            PostRenderStrategy::Separate => {
                objects.extend(post_render(manifests, spec, node)?);
                objects.extend(post_render(hooks, spec, node)?);
            }
            PostRenderStrategy::NoHooks => {
                objects.extend(post_render(manifests, spec, node)?);
                objects.extend(hooks);
            }
        }
        for object in &mut objects {
            default_namespace(object, release_namespace);
        }
        Ok(ReleaseObjects {
            crds,
            objects,
            chart_images,
        })
    }

    fn kustomization(&self, node: &Node, cluster: &Cluster) -> Result<Rendered, Error> {
        let spec = KustomizationSpec::read(&node.object).map_err(Error::new)?;
        let files = self.source_files(&spec.source_ref, &node.namespace, cluster)?;
        let url = files.url.clone();
        let path = spec.path.clone().unwrap_or_else(|| "./".to_string());
        let dir = inside(&files.root, &path)?;
        if !dir.is_dir() {
            return Err(Error::new(format!(
                "kustomization path not found: {path} is not a directory in {url}"
            )));
        }
        let kustomization = generator::kustomization(&dir, &node.object)?;
        let what = format!("Kustomization {}/{}", node.namespace, node.name);
        let decryptor = Decryptor::new(spec.decryption.as_ref(), self.keys, self.secrets, &what);
        let replaced = decryptor.decrypt_sources(&files.root, &dir, Some(&kustomization))?;
        let options = kustomize::Options {
            replaced_files: Some(&replaced),
            kustomization: Some(&kustomization),
            ..kustomize::Options::default()
        };
        // Files of the artifact are named by their place in the source.
        let artifact = format!("{}/", files.root.display());
        let in_source = format!("{url}//");
        let traced = kustomize::build_traced(&dir, self.remote, &options)
            .map_err(|e| Error::new(e.to_string().replace(&artifact, &in_source)))?;
        let (mut objects, sources) = untrace(traced, &what, &path);
        decryptor.decrypt_objects(&mut objects)?;
        if let Some(post_build) = PostBuild::read(&node.object).map_err(Error::new)? {
            let strict = self.env.config.strict_substitutions;
            post_build
                .apply(&mut objects, cluster, &node.namespace, strict)
                .map_err(Error::new)?;
        }
        set_owner_labels(&mut objects, &node.name, &node.namespace);
        if let Some(common) = &spec.common_metadata {
            set_common_metadata(&mut objects, common);
        }
        let component = Component {
            id: node.id.clone(),
            kind: ComponentKind::Kustomization,
            parent: Some(node.parent.clone()),
            depends_on: dependency_ids(node.kind.name(), &spec.depends_on, &node.namespace),
            timeout: spec.timeout.clone(),
            release: None,
            kustomization: Some(spec.apply_policy()),
            service_account: service_account(spec.service_account_name.as_deref(), &node.namespace),
            health_checks: spec
                .health_checks
                .iter()
                .map(|check| ObjectRef {
                    api_version: check.api_version.clone(),
                    kind: check.kind.clone(),
                    namespace: check
                        .namespace
                        .clone()
                        .unwrap_or_else(|| node.namespace.clone()),
                    name: check.name.clone(),
                })
                .collect(),
            source: Some(Provenance {
                url,
                commit: files.revision,
                path,
            }),
            objects: Vec::new(),
            chart_images: Vec::new(),
        };
        Ok(Rendered {
            component,
            objects,
            sources,
        })
    }
}

/// A source's files as its controller serves them, and what they are.
struct SourceFiles {
    /// The directory holding them, named by a digest of its content.
    root: PathBuf,
    /// The source's URL as the deployment names it.
    url: String,
    /// The git commit, or an OCI artifact's `<tag>@<digest>`.
    revision: String,
}

impl SourceFiles {
    /// The files of a GitRepository's artifact.
    fn of(tree: Tree, url: String) -> SourceFiles {
        SourceFiles {
            root: tree.root,
            url,
            revision: tree.origin.commit,
        }
    }
}

/// A HelmRelease's chart, fetched.
enum ChartSource {
    /// A chart directory inside a GitRepository's artifact.
    Directory {
        files: SourceFiles,
        path: String,
        packaging: chart::Packaging,
    },
    /// A chart archive of a Helm repository.
    Package {
        archive: source::ChartArchive,
        packaging: chart::Packaging,
    },
    /// The chart of an OCIRepository's artifact.
    Artifact(source::OciArtifact),
}

impl ChartSource {
    /// Where the chart's files are: a directory or an archive, either named by a digest of
    /// what it holds.
    fn location(&self) -> &Path {
        match self {
            ChartSource::Directory { files, .. } => &files.root,
            ChartSource::Package { archive, .. } => &archive.path,
            ChartSource::Artifact(artifact) => &artifact.blob,
        }
    }

    /// What the bundle records as the component's source.
    fn provenance(&self) -> Provenance {
        match self {
            ChartSource::Directory { files, path, .. } => Provenance {
                url: files.url.clone(),
                commit: files.revision.clone(),
                path: path.clone(),
            },
            ChartSource::Package { archive, .. } => Provenance {
                url: archive.origin.url.clone(),
                commit: format!("{}@{}", archive.origin.version, archive.origin.digest),
                path: archive.origin.chart.clone(),
            },
            ChartSource::Artifact(artifact) => Provenance {
                url: artifact.origin.url.clone(),
                commit: artifact.origin.revision(),
                path: String::new(),
            },
        }
    }

    /// The chart as source-controller packages it and helm-controller loads it.
    fn load(&self) -> Result<helm::Chart, Error> {
        match self {
            ChartSource::Directory {
                files,
                path,
                packaging,
            } => {
                let dir = inside(&files.root, path)?;
                chart::load(&files.root, &dir, packaging, &files.revision)
            }
            ChartSource::Package { archive, packaging } => {
                chart::load_package(&archive.path, packaging)
            }
            ChartSource::Artifact(artifact) => chart::load_oci(
                &artifact.blob,
                &artifact.origin.tag,
                &artifact.origin.digest,
            ),
        }
    }
}

/// helm-controller's post-rendering (`postrender.BuildPostRenderers`): the HelmRelease's
/// kustomize post renderers in order (each a kustomize build of the stream), then its
/// `commonMetadata` (kustomize's label and annotation transformers), then its origin labels
/// (the label transformer), which win over common labels of the same key.
fn post_render(
    mut objects: Vec<Value>,
    spec: &HelmReleaseSpec,
    node: &Node,
) -> Result<Vec<Value>, Error> {
    for renderer in &spec.post_renderers {
        let Some(kustomize) = &renderer.kustomize else {
            continue;
        };
        objects = kustomize::post_render(objects, &kustomize.patches, &kustomize.images)
            .within("postRenderers")?;
    }
    if let Some(common) = &spec.common_metadata {
        let pairs = |map: &BTreeMap<String, String>| -> Vec<(String, String)> {
            map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        objects =
            kustomize::add_metadata(objects, &pairs(&common.labels), &pairs(&common.annotations))
                .within("commonMetadata")?;
    }
    kustomize::add_labels(objects, &origin_labels(&node.namespace, &node.name))
        .within("origin labels")
}

/// A Flux object's `serviceAccountName`, which its controller impersonates: a service
/// account in the object's own namespace.
fn service_account(name: Option<&str>, namespace: &str) -> Option<bundle::ServiceAccount> {
    name.filter(|name| !name.is_empty())
        .map(|name| bundle::ServiceAccount {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
}

/// kustomize-controller's ownership labels (fluxcd/pkg/ssa `SetOwnerLabels`), put on every
/// object a Kustomization applies.
fn set_owner_labels(objects: &mut [Value], name: &str, namespace: &str) {
    let labels = [
        (format!("{KUSTOMIZE_GROUP}/name"), name),
        (format!("{KUSTOMIZE_GROUP}/namespace"), namespace),
    ];
    for object in objects {
        let map = metadata_map(object, "labels");
        for (key, value) in &labels {
            map.insert(key.clone(), Value::String((*value).to_string()));
        }
    }
}

/// A Kustomization's `commonMetadata` (fluxcd/pkg/ssa `SetCommonMetadata`): its labels and
/// annotations set on every object's metadata, over the object's own; an object gains no
/// empty map.
fn set_common_metadata(objects: &mut [Value], common: &spec::CommonMetadata) {
    for object in objects {
        for (field, pairs) in [
            ("labels", &common.labels),
            ("annotations", &common.annotations),
        ] {
            if pairs.is_empty() {
                continue;
            }
            let map = metadata_map(object, field);
            for (key, value) in pairs {
                map.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
}

/// `object.metadata[field]` as a map, made one (replacing `null` or a scalar, as Go's
/// unstructured setters do) when it is not.
fn metadata_map<'a>(object: &'a mut Value, field: &str) -> &'a mut serde_json::Map<String, Value> {
    let metadata = as_map(object).entry("metadata").or_insert(Value::Null);
    as_map(as_map(metadata).entry(field).or_insert(Value::Null))
}

fn as_map(value: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(serde_json::Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("replaced by a map above"),
    }
}

/// The bundle's list of sources: everything the build fetched, once each, sorted.
fn source_records(fetched: source::Fetched) -> Vec<SourceRecord> {
    let git = fetched.git.into_iter().map(|origin: Origin| SourceRecord {
        url: origin.url,
        reference: origin.reference.to_string(),
        commit: origin.commit,
        tree: origin.tree_id,
        chart: String::new(),
        version: String::new(),
        digest: String::new(),
    });
    let charts = fetched.charts.into_iter().map(|origin| SourceRecord {
        url: origin.url,
        reference: if origin.requested.is_empty() {
            "latest".to_string()
        } else {
            format!("version {}", origin.requested)
        },
        commit: String::new(),
        tree: String::new(),
        chart: origin.chart,
        version: origin.version,
        digest: origin.digest,
    });
    let artifacts = fetched.artifacts.into_iter().map(|origin| SourceRecord {
        url: origin.url,
        reference: origin.reference,
        commit: String::new(),
        tree: String::new(),
        chart: String::new(),
        version: origin.tag,
        digest: origin.digest,
    });
    let records: BTreeSet<SourceRecord> = git.chain(charts).chain(artifacts).collect();
    records.into_iter().collect()
}

/// The sources `node` reads that are not in the cluster yet: its source and, as
/// source-controller waits for them, the GitRepositories a GitRepository includes and the
/// source of a HelmChart, transitively.
fn awaited_sources(node: &Node, cluster: &Cluster) -> Vec<String> {
    const SOURCE_KINDS: [&str; 4] = [
        "GitRepository",
        "HelmRepository",
        "OCIRepository",
        "HelmChart",
    ];
    // A spec that does not read fails when rendered, with its reason.
    if node.kind == NodeKind::HelmRelease && HelmReleaseSpec::read(&node.object).is_err() {
        return Vec::new();
    }
    let spec = &node.object["spec"];
    let first = match node.kind {
        NodeKind::Kustomization => &spec["sourceRef"],
        NodeKind::HelmRelease if !spec["chartRef"].is_null() => &spec["chartRef"],
        NodeKind::HelmRelease => &spec["chart"]["spec"]["sourceRef"],
    };
    let mut pending = Vec::new();
    let push = |reference: &Value, namespace: &str, pending: &mut Vec<(String, String, String)>| {
        if let Ok(source) = serde_json::from_value::<SourceReference>(reference.clone())
            && SOURCE_KINDS.contains(&source.kind.as_str())
        {
            let namespace = source.namespace.unwrap_or_else(|| namespace.to_string());
            pending.push((source.kind, namespace, source.name));
        }
    };
    push(first, &node.namespace, &mut pending);
    let mut seen = BTreeSet::new();
    let mut missing = Vec::new();
    while let Some((kind, namespace, name)) = pending.pop() {
        if !seen.insert((kind.clone(), namespace.clone(), name.clone())) {
            continue;
        }
        if kind == "ExternalArtifact" {
            // Made by an ArtifactGenerator of its namespace, from that generator's sources.
            let generators = cluster.list(SOURCE_EXTENSIONS_GROUP, "ArtifactGenerator", &namespace);
            if generators.is_empty() {
                missing.push(format!(
                    "an ArtifactGenerator for ExternalArtifact {namespace}/{name}"
                ));
            }
            for (_, generator) in generators {
                for source in generator["spec"]["sources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    push(source, &namespace, &mut pending);
                }
            }
            continue;
        }
        match cluster.get(SOURCE_GROUP, &kind, &namespace, &name) {
            None => missing.push(format!("{kind} {namespace}/{name}")),
            Some(object) if kind == "GitRepository" => {
                for include in object["spec"]["include"].as_array().into_iter().flatten() {
                    let reference = serde_json::json!({"kind": "GitRepository", "name": include["repository"]["name"]});
                    push(&reference, &namespace, &mut pending);
                }
            }
            Some(object) if kind == "HelmChart" => {
                push(&object["spec"]["sourceRef"], &namespace, &mut pending);
            }
            Some(_) => {}
        }
    }
    missing
}

fn dependency_ids(kind: &str, dependencies: &[spec::Dependency], namespace: &str) -> Vec<String> {
    let mut ids: Vec<String> = dependencies
        .iter()
        .map(|d| {
            let ns = d.namespace.as_deref().unwrap_or(namespace);
            format!("{kind}/{ns}/{}", d.name)
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// `path` inside `root`, refusing absolute paths and `..` that would leave the source.
/// `.` components are dropped, so that paths in messages read cleanly.
fn inside(root: &Path, path: &str) -> Result<PathBuf, Error> {
    let mut depth = 0usize;
    let mut joined = root.to_path_buf();
    for part in Path::new(path).components() {
        match part {
            PathPart::Normal(name) => {
                depth += 1;
                joined.push(name);
            }
            PathPart::CurDir => {}
            PathPart::ParentDir if depth > 0 => {
                depth -= 1;
                joined.push("..");
            }
            _ => {
                return Err(Error::new(format!(
                    "path {path} leaves the source it points into"
                )));
            }
        }
    }
    Ok(joined)
}

/// Helm-controller's release name: `spec.releaseName`, else `<targetNamespace>-<name>`,
/// else the name; shortened to 53 characters with a hash suffix when longer.
fn release_name(spec: &HelmReleaseSpec, name: &str) -> String {
    let full = match (&spec.release_name, &spec.target_namespace) {
        (Some(release), _) if !release.is_empty() => release.clone(),
        (_, Some(target)) if !target.is_empty() => format!("{target}-{name}"),
        _ => name.to_string(),
    };
    const MAX: usize = 53;
    const HASH: usize = 12;
    if full.len() <= MAX {
        return full;
    }
    let digest = crate::gostd::sha256::hex(&full);
    format!("{}-{}", &full[..MAX - HASH - 1], &digest[..HASH])
}

/// How a stream of Helm's documents reaches the cluster.
#[derive(Clone, Copy)]
enum Delivery {
    /// Templates and hooks: helm-controller post-renders them through kustomize (origin
    /// labels at least), which reads them as kyaml does (go-yaml v3), each document
    /// followed by a line break (Helm trims them, the post-renderer stream adds one).
    PostRendered,
    /// CRDs from `crds/`: file data straight to the Kubernetes decoder (go-yaml v2).
    Raw,
}

/// Parses Helm's rendered documents into objects, dropping empty ones.
fn parse_manifests(manifests: &[helm::Manifest], delivery: Delivery) -> Result<Vec<Value>, Error> {
    let mut objects = Vec::new();
    for manifest in manifests {
        let parsed = match delivery {
            Delivery::PostRendered => {
                yaml::parse_stream(&format!("{}\n", manifest.content), yaml::Dialect::GoYamlV3)
            }
            Delivery::Raw => yaml::parse_stream(&manifest.content, yaml::Dialect::GoYamlV2),
        };
        let documents = parsed.map_err(|e| Error::new(format!("{}: {e}", manifest.source)))?;
        objects.extend(documents.into_iter().filter(|d| !d.is_null()));
    }
    Ok(objects)
}

/// helm-controller's origin labels, put on every manifest it applies.
fn origin_labels(namespace: &str, name: &str) -> [(String, String); 2] {
    [
        (format!("{HELM_GROUP}/name"), name.to_string()),
        (format!("{HELM_GROUP}/namespace"), namespace.to_string()),
    ]
}

/// The scope of a kind whose objects Flux and Kubernetes define, or `None` for a custom
/// kind that only its CustomResourceDefinition describes.
fn known_scope(group: &str, kind: &str) -> Option<Scope> {
    if is_flux_group(group) {
        // Every Flux kind is namespaced; the bundle need not carry Flux's CRDs.
        return Some(Scope::Namespaced);
    }
    Scope::builtin(group, kind)
}

/// Puts an object of a namespaced kind that names no namespace into the release namespace,
/// as Helm's client does when it creates it. Custom kinds are left for
/// [`place_custom_kinds`], which runs once every CustomResourceDefinition is known.
fn default_namespace(object: &mut Value, namespace: &str) {
    let Ok(key) = ObjectKey::of(object) else {
        return;
    };
    if key.namespace.is_empty() && known_scope(&key.group, &key.kind) == Some(Scope::Namespaced) {
        set_namespace(object, namespace);
    }
}

fn set_namespace(object: &mut Value, namespace: &str) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert(
            "namespace".to_string(),
            Value::String(namespace.to_string()),
        );
    }
}

/// The steps from the environment to the component `id` (`HelmRelease bigbang/bigbang`, …),
/// outermost first, the environment left out.
fn component_chain(id: &str, parents: &BTreeMap<String, Option<String>>) -> Vec<String> {
    let mut chain = Vec::new();
    let mut at = Some(id.to_string());
    while let Some(id) = at {
        at = parents.get(&id).cloned().flatten();
        if at.is_some() {
            // Node ids are `Kind/namespace/name`; chains read `Kind namespace/name`.
            chain.push(id.replacen('/', " ", 1));
        }
        if chain.len() > parents.len() {
            break;
        }
    }
    chain.reverse();
    chain
}

/// Gives the objects of custom kinds that a HelmRelease rendered without a namespace the
/// release namespace when their kind is namespaced. A kind's scope comes from its
/// CustomResourceDefinition anywhere in the bundle (any component, any chart's `crds/`),
/// else from the cluster profile's `kinds`; a kind neither defines is an error, since
/// guessing would put the object where the API server will not.
fn place_custom_kinds(components: &mut [Component], profile: &ClusterProfile) -> Result<(), Error> {
    let scopes: BTreeMap<String, Scope> = components
        .iter()
        .flat_map(|c| &c.objects)
        .filter_map(|object| Scope::of_crd(&object.value))
        .collect();
    let parents: BTreeMap<String, Option<String>> = components
        .iter()
        .map(|c| (c.id.clone(), c.parent.clone()))
        .collect();
    for component in components.iter_mut() {
        let Some(release) = &component.release else {
            continue;
        };
        let namespace = &release.namespace;
        for object in &mut component.objects {
            let Ok(key) = ObjectKey::of(&object.value) else {
                continue;
            };
            if !key.namespace.is_empty() || known_scope(&key.group, &key.kind).is_some() {
                continue;
            }
            let kind = qualified_kind(&key.group, &key.kind);
            let scope = scopes.get(&kind).or_else(|| profile.kinds.get(&kind));
            match scope {
                Some(Scope::Namespaced) => set_namespace(&mut object.value, namespace),
                Some(Scope::Cluster) => {}
                None => {
                    return Err(Error::new(format!(
                        "{key}: no CustomResourceDefinition in the bundle defines kind {kind}, \
                         so its scope is unknown; declare it in crunch.yaml under \
                         cluster.kinds (`{kind}: Namespaced` or `Cluster`)"
                    ))
                    .with_chain(&component_chain(&component.id, &parents)));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(release: Option<&str>, target: Option<&str>) -> HelmReleaseSpec {
        let mut v = serde_json::json!({"chart": {"spec": {"chart": "./chart",
            "sourceRef": {"kind": "GitRepository", "name": "x"}}}});
        if let Some(r) = release {
            v["releaseName"] = r.into();
        }
        if let Some(t) = target {
            v["targetNamespace"] = t.into();
        }
        HelmReleaseSpec::read(&serde_json::json!({"spec": v})).unwrap()
    }

    #[test]
    fn release_names_follow_helm_controller() {
        assert_eq!(release_name(&spec(None, None), "logging"), "logging");
        assert_eq!(
            release_name(&spec(None, Some("logging")), "loki"),
            "logging-loki"
        );
        assert_eq!(release_name(&spec(Some("x"), Some("logging")), "loki"), "x");
        let long = release_name(&spec(None, Some(&"n".repeat(40))), &"m".repeat(20));
        assert_eq!(long.len(), 53);
        assert!(long.starts_with(&"n".repeat(40)));
    }

    #[test]
    fn paths_may_not_leave_the_source() {
        let root = Path::new("/src");
        assert_eq!(inside(root, "./chart").unwrap(), Path::new("/src/chart"));
        assert!(inside(root, "a/../../etc").is_err());
        assert!(inside(root, "/etc").is_err());
    }

    #[test]
    fn origin_labels_fill_null_label_maps_and_expand_lists() {
        let objects = vec![
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "labels": null, "annotations": {}}}),
            serde_json::json!({"apiVersion": "v1", "kind": "ServiceList", "items": [
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}]}),
        ];
        let out = kustomize::add_labels(objects, &origin_labels("flux-system", "app")).unwrap();
        let names: Vec<&str> = out
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "s"]);
        for o in &out {
            assert_eq!(o["metadata"]["labels"][format!("{HELM_GROUP}/name")], "app");
        }
        // Only a kustomize post-renderer's build drops empty annotation maps.
        assert_eq!(out[0]["metadata"]["annotations"], serde_json::json!({}));
    }

    #[test]
    fn origin_labels_refuse_unnamed_objects() {
        let objects = vec![serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap"})];
        let e = kustomize::add_labels(objects, &origin_labels("flux-system", "app")).unwrap_err();
        assert!(e.to_string().contains("missing metadata.name"), "{e}");
    }

    fn rendered(
        id: &str,
        kind: ComponentKind,
        parent: Option<&str>,
        objects: Vec<Value>,
    ) -> Rendered {
        Rendered {
            component: Component::new(id, kind, parent.map(str::to_string)),
            objects,
            sources: Vec::new(),
        }
    }

    #[test]
    fn kustomizations_take_over_what_their_ancestors_applied_and_helm_does_not() {
        let config_map = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "shared", "namespace": "apps"}});
        let flux_system = serde_json::json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization", "metadata": {"name": "flux-system", "namespace": "flux-system"},
            "spec": {"path": "./clusters/dev"}});
        let mut graph = Graph::default();
        let env = rendered(
            "dev",
            ComponentKind::Environment,
            None,
            vec![config_map.clone(), flux_system.clone()],
        );
        graph.absorb(env, &[]).unwrap();
        let id = "Kustomization/flux-system/flux-system";
        let again = rendered(
            id,
            ComponentKind::Kustomization,
            Some("dev"),
            vec![config_map.clone(), flux_system.clone()],
        );
        graph.absorb(again, &[]).unwrap();
        assert!(
            graph.components[0].objects.is_empty(),
            "moved out of the environment"
        );
        assert_eq!(graph.components[1].objects.len(), 2);
        assert_eq!(graph.pending.len(), 1, "flux-system stays one node");
        let mut changed = flux_system.clone();
        changed["spec"]["path"] = "./elsewhere".into();
        let child = rendered(
            "Kustomization/flux-system/child",
            ComponentKind::Kustomization,
            Some(id),
            vec![changed],
        );
        let e = graph.absorb(child, &[]).unwrap_err();
        assert!(e.to_string().contains("with another spec"), "{e}");
        let helm = rendered(
            "HelmRelease/apps/app",
            ComponentKind::HelmRelease,
            Some(id),
            vec![config_map],
        );
        let e = graph.absorb(helm, &[]).unwrap_err();
        assert!(
            e.to_string().contains("ConfigMap apps/shared is rendered by both Kustomization/flux-system/flux-system and HelmRelease/apps/app"),
            "{e}"
        );
    }

    #[test]
    fn cycles_are_named() {
        let to_a = ["a".to_string()];
        let to_b = ["b".to_string()];
        let edges: BTreeMap<&str, &[String]> =
            [("a", &to_b[..]), ("b", &to_a[..])].into_iter().collect();
        let e = visit("a", &edges, &mut Vec::new(), &mut BTreeSet::new()).unwrap_err();
        assert_eq!(e.to_string(), "dependsOn cycle: a → b → a");
    }
}

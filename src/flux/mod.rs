//! Flux, run ahead of time. The environment directory is built as Flux's bootstrap
//! Kustomization would build it; every HelmRelease and Kustomization that appears in the
//! output becomes a node, rendered once its source and values exist; their outputs may
//! declare more nodes (Big Bang's umbrella chart emits one HelmRelease per component).
//! The graph runs in waves to a fixpoint; nodes of one wave render in parallel, and
//! results are merged in node order so that thread scheduling never shows in the output.

mod chart;
mod cluster;
mod decrypt;
mod remote;
mod render_cache;
mod spec;
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
use cluster::Cluster;
pub use decrypt::Collected as DecryptedSecrets;
use decrypt::{Decryptor, KeyRing, Secrets};
use spec::{
    GitRepositorySpec, HelmReleaseSpec, KustomizationSpec, PostRenderStrategy, SourceReference,
};

/// Waves after which the graph is taken to be unbounded.
const MAX_WAVES: usize = 64;
/// Components after which the graph is taken to be unbounded.
const MAX_COMPONENTS: usize = 10_000;

const HELM_GROUP: &str = "helm.toolkit.fluxcd.io";
const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";

/// The environment to build: a kustomization directory and the settings in force for it.
pub struct Environment<'a> {
    /// The environment's kustomization directory (e.g. `customer/dev`).
    pub dir: &'a Path,
    /// Its name, the first step of every error chain (e.g. `dev`).
    pub name: &'a str,
    /// The customer repository's root: paths in messages are shown relative to it.
    pub root: &'a Path,
    /// Settings for this environment.
    pub config: &'a Config,
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
    let replaced = decryptor
        .decrypt_sources(env.root, env.dir)
        .map_err(relative)?;
    let options = kustomize::Options {
        replaced_files: Some(&replaced),
        ..kustomize::Options::default()
    };
    let traced =
        kustomize::build_traced(env.dir, &remote, &options).map_err(|e| relative(Error::new(e)))?;
    let env_dir = env
        .dir
        .strip_prefix(env.root)
        .unwrap_or(env.dir)
        .display()
        .to_string();
    let (mut objects, sources) = untrace(traced, &format!("environment {}", env.name), &env_dir);
    decryptor.decrypt_objects(&mut objects).map_err(relative)?;
    let mut graph = Graph::default();
    graph.absorb(
        Rendered {
            component: Component {
                id: env.name.to_string(),
                kind: ComponentKind::Environment,
                parent: None,
                depends_on: Vec::new(),
                timeout: None,
                release: None,
                source: None,
                health_checks: Vec::new(),
                objects: Vec::new(),
            },
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
/// the chart's `crds/` (applied by the CRD policies) and everything else.
#[derive(serde::Serialize, serde::Deserialize)]
struct ReleaseObjects {
    crds: Vec<Value>,
    objects: Vec<Value>,
}

/// A rendered node (or the environment): its component, its objects, and where each
/// object came from where that is known (`sources` may be shorter than `objects`).
struct Rendered {
    component: Component,
    objects: Vec<Value>,
    sources: Vec<Option<String>>,
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
            let is_flux = key.group.ends_with(".toolkit.fluxcd.io");
            if let Some(kind) = NodeKind::of(&key) {
                let namespace = if key.namespace.is_empty() {
                    "default".to_string()
                } else {
                    key.namespace.clone()
                };
                let id = format!("{}/{namespace}/{}", key.kind, key.name);
                if !self.seen.insert(id.clone()) {
                    return Err(fail(format!("{id} is declared twice")));
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
                    parent: component.id.clone(),
                });
            }
            self.cluster
                .insert(key, object.clone(), &component.id)
                .map_err(fail)?;
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
            let (ready, waiting): (Vec<Node>, Vec<Node>) = std::mem::take(&mut self.pending)
                .into_iter()
                .partition(|node| render.missing_inputs(node, &self.cluster).is_empty());
            if ready.is_empty() {
                let node = &waiting[0];
                let missing = render.missing_inputs(node, &self.cluster).join(", ");
                return Err(
                    Error::new(format!("never becomes ready: missing {missing}"))
                        .with_chain(&node.chain),
                );
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
}

impl Render<'_> {
    /// What the node still waits for; empty when it can render.
    fn missing_inputs(&self, node: &Node, cluster: &Cluster) -> Vec<String> {
        let source = match source_ref(node) {
            Ok(source) => source,
            Err(_) => return Vec::new(),
        };
        let namespace = source.namespace.as_deref().unwrap_or(&node.namespace);
        let mut missing = Vec::new();
        if source.kind == "GitRepository"
            && cluster
                .get(SOURCE_GROUP, "GitRepository", namespace, &source.name)
                .is_none()
        {
            missing.push(format!("GitRepository {namespace}/{}", source.name));
        }
        if node.kind == NodeKind::HelmRelease
            && let Ok(spec) = HelmReleaseSpec::read(&node.object)
        {
            missing.extend(values::missing(&spec.values_from, cluster, &node.namespace));
        }
        missing
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
            nodes.par_iter().for_each(|node| {
                if let Ok(source) = source_ref(node) {
                    let _ = self.fetch(&source, node, cluster);
                }
            });
        });
    }

    /// Fetches the GitRepository `source` names, relative to `node`'s namespace.
    fn fetch(
        &self,
        source: &SourceReference,
        node: &Node,
        cluster: &Cluster,
    ) -> Result<(Tree, String), Error> {
        if source.kind != "GitRepository" {
            return Err(Error::new(format!(
                "sourceRef kind {} is not supported yet (only GitRepository)",
                source.kind
            )));
        }
        let namespace = source.namespace.as_deref().unwrap_or(&node.namespace);
        let repository = cluster
            .get(SOURCE_GROUP, "GitRepository", namespace, &source.name)
            .ok_or_else(|| {
                Error::new(format!(
                    "GitRepository {namespace}/{} not found",
                    source.name
                ))
            })?;
        let step = format!("GitRepository {namespace}/{}", source.name);
        let spec = GitRepositorySpec::read(repository).within(&step)?;
        let tree = self
            .remote
            .git(&spec.url, &spec.git_ref().reference())
            .and_then(|checkout| {
                // Charts and kustomizations see the artifact, not the checkout.
                self.remote.flux_artifact(&checkout, spec.ignore.as_deref())
            })
            .within(&step)?;
        Ok((tree, spec.url))
    }

    fn helm_release(&self, node: &Node, cluster: &Cluster) -> Result<Rendered, Error> {
        let spec = HelmReleaseSpec::read(&node.object).map_err(Error::new)?;
        let chart_spec = spec
            .chart
            .as_ref()
            .map(|c| &c.spec)
            .ok_or_else(|| Error::new("HelmRelease has no spec.chart"))?;
        let (tree, url) = self.fetch(&chart_spec.source_ref, node, cluster)?;
        let chart_dir = inside(&tree.root, &chart_spec.chart)?;
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
        let key = render_cache::Key::of(&[
            b"HelmRelease",
            &serde_json::to_vec(&node.object).map_err(|e| Error::new(e.to_string()))?,
            node.namespace.as_bytes(),
            tree.origin.tree_id.as_bytes(),
            // `reconcileStrategy: Revision` stamps the chart version with the commit.
            tree.origin.commit.as_bytes(),
            // The artifact's directory name is the digest of what it holds.
            tree.root.as_os_str().as_encoded_bytes(),
            chart_spec.chart.as_bytes(),
            &serde_json::to_vec(&values).map_err(|e| Error::new(e.to_string()))?,
            cluster_profile.kube_version.as_bytes(),
            cluster_profile.api_versions.join("\n").as_bytes(),
            config.seed.as_bytes(),
            format!("{:?}", config.now).as_bytes(),
        ]);
        let rendered: ReleaseObjects = match self.renders.get(&key) {
            Some(rendered) => rendered,
            None => {
                let chart = chart::load(&tree.root, &chart_dir, &spec, &tree.origin.commit)?;
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
            depends_on: dependency_ids("HelmRelease", &spec.depends_on, &node.namespace),
            timeout: spec.timeout.clone(),
            release: Some(spec.release_entry(release_name, release_namespace, crds)),
            health_checks: Vec::new(),
            source: Some(Provenance {
                url,
                commit: tree.origin.commit.clone(),
                path: chart_spec.chart.clone(),
            }),
            objects: Vec::new(),
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
        Ok(ReleaseObjects { crds, objects })
    }

    fn kustomization(&self, node: &Node, cluster: &Cluster) -> Result<Rendered, Error> {
        let spec: KustomizationSpec = serde_json::from_value(node.object["spec"].clone())
            .map_err(|e| Error::new(format!("Kustomization spec: {e}")))?;
        let overlay = spec::kustomization_overlay(&node.object).map_err(Error::new)?;
        let (tree, url) = self.fetch(&spec.source_ref, node, cluster)?;
        let path = spec.path.clone().unwrap_or_else(|| "./".to_string());
        let dir = inside(&tree.root, &path)?;
        let what = format!("Kustomization {}/{}", node.namespace, node.name);
        let decryptor = Decryptor::new(spec.decryption.as_ref(), self.keys, self.secrets, &what);
        let replaced = decryptor.decrypt_sources(&tree.root, &dir)?;
        let options = kustomize::Options {
            replaced_files: Some(&replaced),
            ..kustomize::Options::default()
        };
        let traced = kustomize::build_with_overlay_traced(&dir, &overlay, self.remote, &options)
            .map_err(Error::new)?;
        let (mut objects, sources) = untrace(traced, &what, &path);
        decryptor.decrypt_objects(&mut objects)?;
        let component = Component {
            id: node.id.clone(),
            kind: ComponentKind::Kustomization,
            parent: Some(node.parent.clone()),
            depends_on: dependency_ids("Kustomization", &spec.depends_on, &node.namespace),
            timeout: spec.timeout.clone(),
            release: None,
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
                commit: tree.origin.commit.clone(),
                path,
            }),
            objects: Vec::new(),
        };
        Ok(Rendered {
            component,
            objects,
            sources,
        })
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
        let pairs = |map: &Option<BTreeMap<String, String>>| -> Vec<(String, String)> {
            map.iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        objects =
            kustomize::add_metadata(objects, &pairs(&common.labels), &pairs(&common.annotations))
                .within("commonMetadata")?;
    }
    kustomize::add_labels(objects, &origin_labels(&node.namespace, &node.name))
        .within("origin labels")
}

/// The bundle's list of sources: every tree the build fetched, once each, sorted.
fn source_records(origins: Vec<Origin>) -> Vec<SourceRecord> {
    let records: BTreeSet<SourceRecord> = origins
        .into_iter()
        .map(|origin| SourceRecord {
            url: origin.url,
            reference: origin.reference.to_string(),
            commit: origin.commit,
            tree: origin.tree_id,
        })
        .collect();
    records.into_iter().collect()
}

fn source_ref(node: &Node) -> Result<SourceReference, String> {
    let spec = &node.object["spec"];
    let reference = match node.kind {
        NodeKind::HelmRelease => &spec["chart"]["spec"]["sourceRef"],
        NodeKind::Kustomization => &spec["sourceRef"],
    };
    serde_json::from_value(reference.clone()).map_err(|e| e.to_string())
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
fn inside(root: &Path, path: &str) -> Result<PathBuf, Error> {
    let mut depth = 0usize;
    for part in Path::new(path).components() {
        match part {
            PathPart::Normal(_) => depth += 1,
            PathPart::CurDir => {}
            PathPart::ParentDir if depth > 0 => depth -= 1,
            _ => {
                return Err(Error::new(format!(
                    "path {path} leaves the source it points into"
                )));
            }
        }
    }
    Ok(root.join(path))
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
    if group.ends_with(".toolkit.fluxcd.io") {
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
        assert_eq!(inside(root, "./chart").unwrap(), Path::new("/src/./chart"));
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

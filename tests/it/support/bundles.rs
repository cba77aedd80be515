//! What the apply suites read from a bundle.

use std::path::Path;

use crunch::bundle;
use crunch::object::ObjectRef;

/// The objects a bundle keeps in the cluster (Helm hooks come and go).
pub fn kept_objects(path: &Path) -> Vec<ObjectRef> {
    let bundle = bundle::read(path).expect("read bundle");
    bundle
        .index
        .components
        .iter()
        .flat_map(|c| bundle.objects(c))
        .filter(|(o, value)| o.apply && value["metadata"]["annotations"]["helm.sh/hook"].is_null())
        .map(|(o, _)| ObjectRef {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            namespace: o.namespace.clone(),
            name: o.name.clone(),
        })
        .collect()
}

//! Finds the container images an object runs, for the bundle's image list (what an
//! airgapped site must mirror).

use serde_json::Value;

/// Pod-spec fields that hold containers.
const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Every `image` of every container in `object`, wherever a pod spec sits in it
/// (Pod, Deployment, CronJob's job template, custom resources embedding pod specs).
pub fn images(object: &Value, found: &mut Vec<String>) {
    match object {
        Value::Object(map) => {
            for (key, child) in map {
                if CONTAINER_LISTS.contains(&key.as_str()) {
                    for container in child.as_array().into_iter().flatten() {
                        if let Some(image) = container.get("image").and_then(Value::as_str) {
                            found.push(image.to_string());
                        }
                    }
                }
                images(child, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| images(item, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_images_in_nested_pod_specs() {
        let cronjob = json!({
            "kind": "CronJob",
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {
                "initContainers": [{"name": "i", "image": "reg/init:1"}],
                "containers": [{"name": "c", "image": "reg/app:2"}, {"name": "noimage"}]
            }}}}}
        });
        let mut found = Vec::new();
        images(&cronjob, &mut found);
        assert_eq!(found, ["reg/init:1", "reg/app:2"]);
    }
}

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn v(text: &str) -> KubeVersion {
    text.parse().unwrap()
}

fn check(object: &Value, version: &str) -> Vec<String> {
    validate(object, v(version), &CustomResources::new())
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn deployment(pod_security: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "securityContext": pod_security,
                    "containers": [{
                        "name": "web", "image": "nginx",
                        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                        "ports": [{"containerPort": 80}],
                    }],
                },
            },
        },
        "status": {"whatever": true},
    })
}

#[test]
fn versions_parse_as_kubernetes_and_providers_write_them() {
    assert_eq!(
        v("1.28"),
        KubeVersion {
            major: 1,
            minor: 28
        }
    );
    assert_eq!(v("v1.28.3"), v("1.28"));
    assert_eq!(v("v1.30.2-eks-1de2ab1"), v("1.30"));
    assert_eq!(v("1.29+"), v("1.29"));
    assert!("latest".parse::<KubeVersion>().is_err());
    assert!("v1".parse::<KubeVersion>().is_err());
    assert_eq!(v("1.28").to_string(), "1.28");
}

#[test]
fn the_table_covers_every_minor_from_1_23_to_1_36() {
    let known = known_versions();
    assert_eq!(known.first(), Some(&v("1.23")));
    assert_eq!(known.last(), Some(&v("1.36")));
    assert!(known.windows(2).all(|w| w[1].minor == w[0].minor + 1));
}

#[test]
fn a_field_added_in_1_30_is_refused_by_1_29_and_accepted_by_1_30() {
    let object =
        deployment(json!({"runAsNonRoot": true, "appArmorProfile": {"type": "RuntimeDefault"}}));
    assert_eq!(
        check(&object, "1.29"),
        [
            ".spec.template.spec.securityContext.appArmorProfile: field not in Kubernetes 1.29: introduced in 1.30"
        ]
    );
    let found = validate(&object, v("1.28"), &CustomResources::new());
    assert_eq!(found[0].introduced(), Some(v("1.30")));
    assert!(check(&object, "1.30").is_empty());
    assert!(check(&object, "v1.36.2").is_empty());
}

#[test]
fn fields_no_version_knows_are_named_as_such() {
    let mut object = deployment(json!({}));
    object["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = json!("Always");
    object["metadata"]["labelz"] = json!({});
    assert_eq!(
        check(&object, "1.36"),
        [
            ".metadata.labelz: not a field of this kind in any known Kubernetes version (1.23–1.36)",
            ".spec.template.spec.containers[0].imagePullPolice: not a field of this kind in any known Kubernetes version (1.23–1.36)",
        ]
    );
}

#[test]
fn maps_and_free_form_values_accept_any_key() {
    let object = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "annotations": {"a.b/c": "d"}},
        "data": {"any key": "x", "other.key": "y"},
    });
    assert!(check(&object, "1.23").is_empty());
    // RawExtension and JSON hold anything.
    let object = json!({
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": "r"}, "revision": 1,
        "data": {"spec": {"anything": {"at": ["all"]}}},
    });
    assert!(check(&object, "1.28").is_empty());
}

#[test]
fn removed_and_future_api_versions_name_the_versions_that_serve_them() {
    let psp = json!({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
                     "metadata": {"name": "p"}, "spec": {}});
    assert!(check(&psp, "1.24").is_empty());
    assert_eq!(
        check(&psp, "1.25"),
        ["policy/v1beta1 PodSecurityPolicy is not served by Kubernetes 1.25 (served by 1.23–1.24)"]
    );
    let flow = json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta2", "kind": "FlowSchema",
                      "metadata": {"name": "f"}});
    assert!(check(&flow, "1.28").is_empty());
    assert_eq!(
        check(&flow, "1.29"),
        [
            "flowcontrol.apiserver.k8s.io/v1beta2 FlowSchema is not served by Kubernetes 1.29 (served by 1.23–1.28)"
        ]
    );
    let vap = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                     "metadata": {"name": "p"}});
    assert_eq!(
        check(&vap, "1.28"),
        [
            "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy is not served by Kubernetes 1.28 (introduced in 1.30)"
        ]
    );
}

#[test]
fn unknown_kinds_of_built_in_groups_are_findings_custom_groups_are_not() {
    let newer = json!({"apiVersion": "apps/v2", "kind": "Deployment", "metadata": {"name": "x"}});
    assert_eq!(
        check(&newer, "1.36"),
        [
            "apps/v2 Deployment is not served by Kubernetes 1.36 nor by any known version (1.23–1.36)"
        ]
    );
    let custom = json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
                        "metadata": {"name": "x"}, "spec": {"anything": 1}});
    assert!(check(&custom, "1.23").is_empty());
    assert!(check(&json!({"kind": "ConfigMap"}), "1.28").is_empty());
}

/// A Kyverno-like CRD: `selectableFields` arrived in CustomResourceDefinition versions in
/// Kubernetes 1.30.
fn kyverno_like_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "policies.example.io"},
        "spec": {
            "group": "example.io", "scope": "Namespaced",
            "names": {"kind": "Policy", "plural": "policies"},
            "versions": [
                {"name": "v1", "served": true, "storage": false,
                 "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                     "spec": {"type": "object", "properties": {"rules": {"type": "array"}}}}}}},
                {"name": "v2", "served": true, "storage": true,
                 "selectableFields": [{"jsonPath": ".spec.admission"}],
                 "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                     "spec": {"type": "object", "properties": {
                         "admission": {"type": "boolean"},
                         "rules": {"type": "array", "items": {"type": "object", "properties": {
                             "name": {"type": "string"},
                             "match": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                             "port": {"x-kubernetes-int-or-string": true},
                             "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                          "properties": {"spec": {"type": "object"}}},
                             "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                         }}},
                     }},
                 }}}},
            ],
        },
    })
}

#[test]
fn selectable_fields_of_a_crd_arrived_in_1_30() {
    let crd = kyverno_like_crd();
    assert_eq!(
        check(&crd, "1.28"),
        [".spec.versions[1].selectableFields: field not in Kubernetes 1.28: introduced in 1.30"]
    );
    assert!(check(&crd, "1.30").is_empty());
    assert!(check(&crd, "1.31").is_empty());
}

#[test]
fn custom_resources_follow_their_crds_structural_schema() {
    let mut crds = CustomResources::new();
    crds.add(&kyverno_like_crd());
    crds.add(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ignored"}}));
    let policy = json!({
        "apiVersion": "example.io/v2", "kind": "Policy",
        "metadata": {"name": "p", "namespace": "n", "labels": {"x": "y"}},
        "spec": {"admission": true, "rules": [{
            "name": "r",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "port": 8080,
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"free": 1}},
            "labels": {"any": "value"},
            "colour": "red",
        }]},
        "status": {"ready": true},
    });
    let found: Vec<String> = validate(&policy, v("1.28"), &crds)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        found,
        [
            ".spec.rules[0].colour: not a field of the schema CustomResourceDefinition policies.example.io gives this version"
        ]
    );
    let old = json!({"apiVersion": "example.io/v1", "kind": "Policy", "metadata": {"name": "p"},
                     "spec": {"admission": true}});
    assert_eq!(validate(&old, v("1.28"), &crds).len(), 1);
    let gone = json!({"apiVersion": "example.io/v3", "kind": "Policy", "metadata": {"name": "p"}});
    assert_eq!(
        validate(&gone, v("1.28"), &crds)[0].to_string(),
        "example.io/v3 is not served by CustomResourceDefinition policies.example.io (it serves v1, v2)"
    );
}

#[test]
fn versions_outside_the_table_are_checked_as_the_nearest() {
    let object = deployment(json!({"appArmorProfile": {"type": "RuntimeDefault"}}));
    assert!(check(&object, "1.40").is_empty());
    assert_eq!(check(&object, "1.20").len(), 1);
}

/// Any JSON value, nested a few levels, with keys that are sometimes real field names.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("spec".to_string()),
            Just("template".to_string()),
            Just("containers".to_string()),
            Just("metadata".to_string()),
            Just("versions".to_string()),
            Just("schema".to_string()),
            Just("openAPIV3Schema".to_string()),
            Just("properties".to_string()),
            Just("items".to_string()),
            "[a-zA-Z.]{0,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_json_gives_findings_or_none_never_a_panic(
        body in any_json(),
        schema in any_json(),
        kind in prop::sample::select(vec![
            ("apps/v1", "Deployment"), ("v1", "Pod"), ("example.io/v2", "Policy"),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition"), ("policy/v1beta1", "PodSecurityPolicy"),
        ]),
        minor in 0u32..60,
    ) {
        let mut crds = CustomResources::new();
        crds.add(&kyverno_like_crd());
        let mut crd = kyverno_like_crd();
        crd["spec"]["versions"][1]["schema"]["openAPIV3Schema"] = schema.clone();
        crds.add(&crd);
        let mut object = body.clone();
        if let Some(fields) = object.as_object_mut() {
            fields.insert("apiVersion".into(), kind.0.into());
            fields.insert("kind".into(), kind.1.into());
        }
        let version = KubeVersion { major: 1, minor };
        for finding in validate(&object, version, &crds) {
            prop_assert!(!finding.to_string().is_empty());
        }
        crds.add(&body);
        validate(&body, version, &crds);
    }
}

//! Name references: after names changed (prefix, suffix, namespace, hash), every field
//! that names another object (a pod's ConfigMap volume, a RoleBinding's roleRef, a
//! HelmRelease's valuesFrom with a custom configuration, …) is updated to the new name.

use serde_json::Value;

use super::config::NameBackRefs;
use super::error::Error;
use super::fieldspec::{CreateKind, FieldSpec};
use super::resid::{Gvk, ResId};
use super::resource::Resource;
use super::util::ensure_map;

/// What the filter needs to know about a possible referral target.
struct Candidate {
    cur: ResId,
    /// Precomputed: whether `cur` is cluster-scoped, and its effective namespace (the
    /// filters compare every referrer with every candidate).
    cluster: bool,
    namespace: String,
    prev: Vec<ResId>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Candidate {
    fn of(r: &Resource) -> Candidate {
        let cur = r.cur_id();
        Candidate {
            cluster: cur.gvk.is_cluster_scoped(),
            namespace: cur.effective_namespace().to_string(),
            cur,
            prev: r.prev_ids(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        }
    }
}

/// Fixes every back reference in `rs`.
pub(crate) fn fix(rs: &mut [Resource], backrefs: &[NameBackRefs]) -> Result<(), Error> {
    let candidates: Vec<Candidate> = rs.iter().map(Candidate::of).collect();
    for (i, r) in rs.iter_mut().enumerate() {
        let org = r.org_id();
        let referrer = &candidates[i];
        let in_reach = reachable(r, referrer, &candidates)?;
        for br in backrefs {
            for spec in &br.referrers {
                if !org.gvk.is_selected_by(&spec.gvk) {
                    continue;
                }
                let f = Fix {
                    target: &br.gvk,
                    referrer,
                    role_ref: role_ref_gvk(r, spec),
                    candidates: &in_reach,
                };
                let fs = FieldSpec {
                    gvk: Gvk::default(),
                    ..spec.clone()
                };
                fs.apply(&mut r.obj, CreateKind::None, &mut |node| f.set(node))
                    .map_err(|e| {
                        Error::new(format!(
                            "updating name reference in '{}' field of '{}': {}",
                            spec.path,
                            referrer.cur,
                            e.message()
                        ))
                    })?;
            }
        }
    }
    Ok(())
}

/// kustomize's `SubsetThatCouldBeReferencedByResource`.
fn reachable<'a>(
    r: &Resource,
    referrer: &Candidate,
    all: &'a [Candidate],
) -> Result<Vec<&'a Candidate>, Error> {
    if referrer.cluster {
        return Ok(all.iter().collect());
    }
    let mut binding_namespaces = Vec::new();
    if r.kind() == "RoleBinding" {
        for s in r
            .obj
            .get("subjects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount") {
                match s.get("namespace") {
                    Some(Value::String(ns)) => binding_namespaces.push(ns.clone()),
                    Some(_) => {
                        return Err(Error::new(format!(
                            "Invalid Input: namespace is blank for resource \"{}\"",
                            referrer.cur
                        )));
                    }
                    None => {}
                }
            }
        }
    }
    Ok(all
        .iter()
        .filter(|c| {
            c.cluster
                || c.namespace == referrer.namespace
                || binding_namespaces.contains(&c.cur.namespace)
        })
        .collect())
}

/// For `roleRef/name` fields: the kind and group the roleRef names.
fn role_ref_gvk(r: &Resource, spec: &FieldSpec) -> Option<Gvk> {
    if !spec.path.ends_with("roleRef/name") {
        return None;
    }
    let rr = r.obj.get("roleRef")?;
    Some(Gvk {
        group: rr.get("apiGroup")?.as_str()?.to_string(),
        version: String::new(),
        kind: rr.get("kind")?.as_str()?.to_string(),
    })
}

struct Fix<'a> {
    target: &'a Gvk,
    referrer: &'a Candidate,
    role_ref: Option<Gvk>,
    candidates: &'a [&'a Candidate],
}

impl Fix<'_> {
    fn set(&self, node: &mut Value) -> Result<(), Error> {
        match node {
            Value::Null => Ok(()),
            Value::Array(items) => items.iter_mut().try_for_each(|item| match item {
                Value::Null => Ok(()),
                Value::Array(_) => Err(Error::new(
                    "a name reference list must hold strings or maps",
                )),
                other => self.set(other),
            }),
            Value::Object(_) => self.set_mapping(node),
            _ => self.set_scalar(node),
        }
    }

    fn set_scalar(&self, node: &mut Value) -> Result<(), Error> {
        let old = super::resource::scalar_string(node);
        let Some(referral) = self.select(&old, self.candidates.to_vec(), false)? else {
            return Ok(());
        };
        if referral.cur.name != old {
            *node = Value::String(referral.cur.name.clone());
        }
        Ok(())
    }

    fn set_mapping(&self, node: &mut Value) -> Result<(), Error> {
        let Some(name) = node.get("name") else {
            return Err(Error::new("path config error; no 'name' field in node"));
        };
        let old = super::resource::scalar_string(name);
        let candidates: Vec<&Candidate> = match node.get("namespace") {
            None => self.candidates.to_vec(),
            Some(ns) => {
                let ns = super::resource::scalar_string(ns);
                let by_original: Vec<&Candidate> = self
                    .candidates
                    .iter()
                    .copied()
                    .filter(|c| {
                        let org = c.prev.first().unwrap_or(&c.cur);
                        !org.gvk.is_cluster_scoped() && org.effective_namespace() == ns
                    })
                    .collect();
                if by_original.is_empty() {
                    self.candidates
                        .iter()
                        .copied()
                        .filter(|c| {
                            !c.cur.gvk.is_cluster_scoped() && c.cur.effective_namespace() == ns
                        })
                        .collect()
                } else {
                    by_original
                }
            }
        };
        let Some(referral) = self.select(&old, candidates, true)? else {
            return Ok(());
        };
        if referral.cur.name == old && referral.cur.namespace.is_empty() {
            return Ok(());
        }
        let map = ensure_map(node);
        map.insert("name".into(), Value::String(referral.cur.name.clone()));
        if !referral.cur.namespace.is_empty() {
            map.insert(
                "namespace".into(),
                Value::String(referral.cur.namespace.clone()),
            );
        }
        Ok(())
    }

    /// kustomize's `selectReferral`: sieve by earlier name, type, roleRef, namespace, then
    /// by name prefixes/suffixes; ambiguity is an error unless the survivors agree.
    fn select<'c>(
        &self,
        old: &str,
        candidates: Vec<&'c Candidate>,
        compare_namespaces: bool,
    ) -> Result<Option<&'c Candidate>, Error> {
        let mut c: Vec<&Candidate> = candidates
            .into_iter()
            .filter(|c| c.prev.iter().any(|id| id.name == old))
            .filter(|c| c.prev.iter().any(|id| id.gvk.is_selected_by(self.target)))
            .filter(|c| {
                self.role_ref
                    .as_ref()
                    .is_none_or(|g| c.prev.iter().any(|id| id.gvk.is_selected_by(g)))
            })
            .filter(|c| {
                self.referrer.cluster
                    || c.cluster
                    || c.cur.gvk.kind == "ServiceAccount"
                    || self.referrer.namespace == c.namespace
            })
            .collect();
        if c.len() == 1 {
            return Ok(c.pop());
        }
        c.retain(|c| affixes_match(c, self.referrer, true));
        if c.len() > 1 {
            c.retain(|c| affixes_match(c, self.referrer, false));
        }
        match c.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            [first, rest @ ..] => {
                let same = rest.iter().all(|o| {
                    o.cur.name == first.cur.name
                        && (!compare_namespaces || o.cur.namespace == first.cur.namespace)
                });
                if same {
                    Ok(Some(first))
                } else {
                    let ids: Vec<String> = c.iter().map(|c| c.cur.to_string()).collect();
                    Err(Error::new(format!(
                        "found multiple possible referrals: {}",
                        ids.join(", ")
                    )))
                }
            }
        }
    }
}

fn affixes_match(a: &Candidate, b: &Candidate, allow_empty: bool) -> bool {
    let ok = |x: &[String], y: &[String]| {
        (allow_empty && (x.is_empty() || y.is_empty())) || same_ending(x, y)
    };
    ok(&a.prefixes, &b.prefixes) && ok(&a.suffixes, &b.suffixes)
}

/// Whether the shorter list is a suffix of the longer (two empty lists match).
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long.ends_with(short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TransformerConfig;
    use serde_json::json;

    fn renamed(obj: Value, new_name: &str) -> Resource {
        let mut r = Resource::new(obj);
        r.store_previous_id();
        r.set_name(new_name);
        r
    }

    #[test]
    fn hashed_config_map_reaches_pod_volume_and_env() {
        let cm = renamed(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}),
            "cfg-abc",
        );
        let pod = Resource::new(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"volumes": [{"name": "v", "configMap": {"name": "cfg"}}],
                     "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "cfg"}}]}]}}),
        );
        let mut rs = vec![cm, pod];
        fix(&mut rs, &TransformerConfig::defaults().name_reference).expect("fix");
        assert_eq!(
            rs[1].obj["spec"]["volumes"][0]["configMap"]["name"],
            json!("cfg-abc")
        );
        assert_eq!(
            rs[1].obj["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"],
            json!("cfg-abc")
        );
    }

    #[test]
    fn role_ref_kind_must_match() {
        let role = renamed(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                   "metadata": {"name": "r"}}),
            "x-r",
        );
        let binding = |kind: &str| {
            Resource::new(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": format!("b-{kind}")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": "r"}}),
            )
        };
        let mut rs = vec![role, binding("Role"), binding("ClusterRole")];
        fix(&mut rs, &TransformerConfig::defaults().name_reference).expect("fix");
        assert_eq!(rs[1].obj["roleRef"]["name"], json!("x-r"));
        assert_eq!(rs[2].obj["roleRef"]["name"], json!("r"));
    }

    #[test]
    fn suffix_lists_compare_from_the_end() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(same_ending(&s(&["a", "b"]), &s(&["b"])));
        assert!(!same_ending(&s(&["a", "b"]), &s(&["a"])));
        assert!(same_ending(&s(&[]), &s(&[])));
        assert!(!same_ending(&s(&["a"]), &s(&[])));
    }
}

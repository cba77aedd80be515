//! Services: the load balancer (every LoadBalancer Service without a class of its own
//! gets an ingress address 10.231.0.n, n from 200 up) and the ports Services send to pods.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::Log;

/// The range of the last octet of ingress addresses.
pub const FIRST_INGRESS: u8 = 200;
const LAST_INGRESS: u8 = 254;

fn ingress_ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 231, 0, n)
}

/// Gives every LoadBalancer Service among `services` that has none an ingress address.
pub async fn sync(client: &kube::Client, services: &[Service], log: &mut Log) {
    let ingresses = |service: &Service| -> Vec<String> {
        let status = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref());
        status
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.ip.clone())
            .collect()
    };
    let mut taken: BTreeSet<Ipv4Addr> = services
        .iter()
        .flat_map(ingresses)
        .filter_map(|ip| ip.parse().ok())
        .collect();
    for service in services {
        let Some(spec) = &service.spec else {
            continue;
        };
        if spec.type_.as_deref() != Some("LoadBalancer")
            || spec.load_balancer_class.is_some()
            || service.metadata.deletion_timestamp.is_some()
            || !ingresses(service).is_empty()
        {
            continue;
        }
        let namespace = service.metadata.namespace.as_deref().unwrap_or_default();
        let name = service.metadata.name.as_deref().unwrap_or_default();
        let Some(ip) = (FIRST_INGRESS..=LAST_INGRESS)
            .map(ingress_ip)
            .find(|ip| !taken.contains(ip))
        else {
            log.error(
                format!("Service {namespace}/{name}"),
                format!(
                    "no free ingress address from {} to {}",
                    ingress_ip(FIRST_INGRESS),
                    ingress_ip(LAST_INGRESS)
                ),
            );
            continue;
        };
        let patch = json!({"status": {"loadBalancer": {"ingress": [{"ip": ip.to_string()}]}}});
        let patched = Api::<Service>::namespaced(client.clone(), namespace)
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await;
        match patched {
            Ok(_) => {
                taken.insert(ip);
            }
            Err(error) => log.error(
                format!("writing the ingress of Service {namespace}/{name}"),
                error,
            ),
        }
    }
}

/// The numeric TCP target ports of the Services in `namespace` that select a pod with
/// `labels` (a named target port is one of the pod's declared ports already).
pub fn target_ports(services: &[Service], namespace: &str, labels: &Value) -> BTreeSet<u16> {
    let selects = |service: &&Service| {
        let selector = service.spec.as_ref().and_then(|s| s.selector.as_ref());
        service.metadata.namespace.as_deref() == Some(namespace)
            && selector.is_some_and(|selector| {
                !selector.is_empty()
                    && selector
                        .iter()
                        .all(|(key, value)| labels[key] == value.as_str())
            })
    };
    services
        .iter()
        .filter(selects)
        .flat_map(|s| {
            s.spec
                .as_ref()
                .and_then(|s| s.ports.as_ref())
                .into_iter()
                .flatten()
        })
        .filter(|p| p.protocol.as_deref().unwrap_or("TCP") == "TCP")
        .filter_map(|p| match &p.target_port {
            Some(IntOrString::Int(port)) => Some(*port),
            Some(IntOrString::String(_)) => None,
            None => Some(p.port),
        })
        .filter_map(|port| u16::try_from(port).ok())
        .collect()
}

//! Pod addresses on `dummy0`, the interface that carries the first node's address in the
//! control plane's network namespace: an address there can be listened on, so a pod can be
//! served. The other nodes' addresses go there too while a host-network pod needs one.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::Command;

use super::{Log, Node};

const INTERFACE: &str = "dummy0";

/// The first and last pod address.
pub const FIRST_POD_IP: Ipv4Addr = Ipv4Addr::new(10, 231, 1, 0);
pub const LAST_POD_IP: Ipv4Addr = Ipv4Addr::new(10, 231, 255, 254);

/// Whether `ip` is a pod address.
pub fn is_pod_ip(ip: Ipv4Addr) -> bool {
    (FIRST_POD_IP..=LAST_POD_IP).contains(&ip)
}

/// Whether `ip` is one a data plane puts on `dummy0`: a pod address, or the address of a
/// node other than the first (the first's is `tools/control-plane`'s).
fn is_added_by_data_plane(ip: Ipv4Addr) -> bool {
    is_pod_ip(ip) || Node::all().any(|node| node != Node::FIRST && node.ip() == ip)
}

/// The addresses a data plane put on `dummy0`.
pub struct Dummy {
    /// False when there is no `dummy0` (not in the control plane's namespace): pods are
    /// then reported with addresses nobody serves.
    available: bool,
    added: BTreeSet<Ipv4Addr>,
}

impl Dummy {
    /// Looks at `dummy0`. Addresses an earlier data plane put there count as added, so
    /// that the first [`Dummy::retain`] removes the stale ones.
    pub fn open(log: &mut Log) -> Dummy {
        let listed = Command::new("ip")
            .args(["-o", "-4", "addr", "show", "dev", INTERFACE])
            .output();
        let output = match listed {
            Ok(output) if output.status.success() => output,
            Ok(output) => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                log.error(
                    format!("no {INTERFACE}; pods will not be served"),
                    stderr.trim(),
                );
                return Dummy {
                    available: false,
                    added: BTreeSet::new(),
                };
            }
            Err(error) => {
                log.error(format!("running `ip addr show dev {INTERFACE}`"), error);
                return Dummy {
                    available: false,
                    added: BTreeSet::new(),
                };
            }
        };
        // Lines read `2: dummy0    inet 10.231.1.3/32 scope global dummy0 ...`.
        let added = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                words.find(|w| *w == "inet")?;
                words.next()?.split('/').next()?.parse().ok()
            })
            .filter(|ip| is_added_by_data_plane(*ip))
            .collect();
        Dummy {
            available: true,
            added,
        }
    }

    /// Puts `ip` on `dummy0` unless it is there.
    pub fn add(&mut self, ip: Ipv4Addr) -> Result<(), String> {
        if !self.available || self.added.contains(&ip) {
            return Ok(());
        }
        match ip_addr("add", ip) {
            Ok(()) => {}
            // Added by an earlier data plane after this one looked.
            Err(error) if error.contains("File exists") => {}
            Err(error) => return Err(error),
        }
        self.added.insert(ip);
        Ok(())
    }

    /// Removes every address this data plane added that is not in `in_use`.
    pub fn retain(&mut self, in_use: &BTreeSet<Ipv4Addr>, log: &mut Log) {
        let stale: Vec<Ipv4Addr> = self.added.difference(in_use).copied().collect();
        for ip in stale {
            match ip_addr("del", ip) {
                Ok(()) => {
                    self.added.remove(&ip);
                }
                // Someone else removed it.
                Err(error) if error.contains("Cannot assign requested address") => {
                    self.added.remove(&ip);
                }
                Err(error) => log.error(format!("removing {ip} from {INTERFACE}"), error),
            }
        }
    }
}

/// `ip addr add|del IP/32 dev dummy0`. It takes milliseconds, so the runtime's thread
/// waits for it.
fn ip_addr(verb: &str, ip: Ipv4Addr) -> Result<(), String> {
    let output = Command::new("ip")
        .args(["addr", verb, &format!("{ip}/32"), "dev", INTERFACE])
        .output()
        .map_err(|e| format!("running `ip addr {verb}`: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip addr {verb} {ip}/32 dev {INTERFACE}`: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

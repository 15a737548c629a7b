//! The firewall in the kernel: `nft` run in the node namespace (`ip netns
//! exec`) or in the current one; our maps and sets read back from `nft -j`;
//! and the bridge netfilter switch the inet rules depend on.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde_json::Value;
use tracing::{debug, error, info, warn};

use super::{Element, Observed, Transaction, TxKind, FROM_PORT, TABLE, ZONES};
use crate::dataplane::{exec, DataplaneError};
use crate::nat::valid_device;

/// The per-namespace switches that pass bridged IPv4 and IPv6 to the inet hooks.
const BRIDGE_NF: [&str; 2] = ["bridge-nf-call-iptables", "bridge-nf-call-ip6tables"];

/// Runs `nft ARGS…` (in `netns` when set), feeding it `input`; returns stdout.
async fn nft(netns: Option<&str>, args: &[&str], input: Option<&str>) -> Result<String, DataplaneError> {
    exec(netns, "nft", args, input).await
}

/// What the kernel has of the firewall in `netns` (see [`parse_observed`]).
/// Also turns bridge netfilter on in a node namespace, so the firewall's
/// rules see bridged traffic.
pub(crate) async fn observe(netns: Option<&str>) -> Result<Observed, DataplaneError> {
    bridge_netfilter(netns).await;
    let maps = nft(netns, &["-j", "list", "maps"], None).await?;
    let sets = nft(netns, &["-j", "list", "sets", "inet"], None).await?;
    parse_observed(&maps, &sets).map_err(|reason| DataplaneError::Parse { tool: "nft", reason })
}

/// Applies one transaction in `netns`, then deletes the conntrack entries
/// of the zones it gave up and of the addresses that left their ports.
pub(crate) async fn apply(netns: Option<&str>, tx: &Transaction) -> Result<(), DataplaneError> {
    if tx.kind == TxKind::Replace {
        bridge_netfilter(netns).await;
    }
    if !tx.text.is_empty() {
        nft(netns, &["-f", "-"], Some(&tx.text)).await?;
    }
    for zone in &tx.flush_zones {
        forget(netns, *zone, None).await;
    }
    for (zone, ip) in &tx.forget {
        forget(netns, *zone, Some(*ip)).await;
    }
    Ok(())
}

/// Deletes the conntrack entries of `zone` (`conntrack -D -w ZONE`), or
/// only those from or to `ip` in it; a failure is only a warning (the
/// entries time out anyway).
async fn forget(netns: Option<&str>, zone: u16, ip: Option<IpAddr>) {
    let zone_arg = zone.to_string();
    let base = ["-D", "-w", zone_arg.as_str()];
    let runs: Vec<Vec<String>> = match ip {
        None => vec![base.iter().map(|s| s.to_string()).collect()],
        Some(ip) => {
            let family = if ip.is_ipv4() { "ipv4" } else { "ipv6" };
            ["-s", "-d"]
                .iter()
                .map(|dir| {
                    let mut a: Vec<String> = base.iter().map(|s| s.to_string()).collect();
                    a.extend(["-f".into(), family.into(), (*dir).into(), ip.to_string()]);
                    a
                })
                .collect()
        }
    };
    for args in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match exec(netns, "conntrack", &args, None).await {
            Ok(_) => debug!(zone, ?ip, "conntrack entries deleted"),
            // conntrack exits 1 when nothing matched.
            Err(DataplaneError::Failed { stderr, .. }) if stderr.contains("0 flow entries") => {}
            Err(e) => warn!(zone, ?ip, error = %e, "cannot delete conntrack entries"),
        }
    }
}

/// Makes bridged IP traverse the inet hooks in `netns`; in the host's own
/// namespace (no `netns`) it is only checked, with a warning when off.
async fn bridge_netfilter(netns: Option<&str>) {
    let ns = netns.map(str::to_string);
    let (tx, rx) = tokio::sync::oneshot::channel();
    // A thread of its own: entering another namespace changes the calling thread.
    std::thread::spawn(move || {
        let _ = tx.send(bridge_netfilter_here(ns.as_deref()));
    });
    match rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warn!(namespace = ?netns, error = %e, "cannot check bridge netfilter"),
        Err(_) => warn!(namespace = ?netns, "the bridge netfilter check did not finish"),
    }
}

fn bridge_netfilter_here(netns: Option<&str>) -> Result<(), String> {
    if let Some(ns) = netns {
        let path = format!("/run/netns/{ns}");
        let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns {path}: {e}"))?;
    }
    for key in BRIDGE_NF {
        let path = Path::new("/proc/sys/net/bridge").join(key);
        let Ok(value) = std::fs::read_to_string(&path) else {
            error!(namespace = ?netns, "br_netfilter is not loaded: security groups cannot filter bridged traffic");
            return Ok(());
        };
        if value.trim() == "1" {
            continue;
        }
        if netns.is_some() {
            std::fs::write(&path, "1").map_err(|e| format!("{}: {e}", path.display()))?;
            info!(namespace = ?netns, sysctl = %format!("net.bridge.{key}"), "turned on so that bridged traffic meets the security group rules");
        } else {
            error!(
                sysctl = %format!("net.bridge.{key}"),
                "is 0 in the host namespace: bridged traffic bypasses the security group rules (set it to 1)"
            );
        }
    }
    Ok(())
}

/// The JSON array of an `nft -j list …` answer.
fn items(text: &str) -> Result<Vec<Value>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    v.get("nftables").and_then(Value::as_array).cloned().ok_or_else(|| "no \"nftables\" array".to_string())
}

fn elems(v: &Value) -> &[Value] {
    v.get("elem").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// An address set element as `nft -j` prints it: an address, a prefix or a range.
fn element(v: &Value) -> Option<Element> {
    if let Some(s) = v.as_str() {
        return s.parse::<IpAddr>().ok().map(|a| Element::Net(IpNet::from(a)));
    }
    if let Some(p) = v.get("prefix") {
        let addr = p.get("addr").and_then(Value::as_str)?.parse::<IpAddr>().ok()?;
        let len = u8::try_from(p.get("len").and_then(Value::as_u64)?).ok()?;
        return IpNet::new(addr, len).ok().map(|n| Element::Net(n.trunc()));
    }
    match v.get("range").and_then(Value::as_array).map(Vec::as_slice) {
        Some([a, b]) => Some(Element::Range(a.as_str()?.parse().ok()?, b.as_str()?.parse().ok()?)),
        _ => None,
    }
}

/// Reads our tables back from `nft -j list maps` and `nft -j list sets
/// inet`: the fingerprints (comments of the `from_port` and `zones` maps)
/// and the elements of the inet table's sets and zones map. An element
/// that cannot be read clears the inet fingerprint, so the tables are
/// replaced rather than patched.
pub fn parse_observed(maps: &str, sets: &str) -> Result<Observed, String> {
    let mut o = Observed::default();
    let mut unreadable = false;
    let ours = |v: &Value, family: &str| {
        v.get("table").and_then(Value::as_str) == Some(TABLE) && v.get("family").and_then(Value::as_str) == Some(family)
    };
    for item in items(maps)? {
        let Some(m) = item.get("map") else { continue };
        let comment = m.get("comment").and_then(Value::as_str).map(String::from);
        let name = m.get("name").and_then(Value::as_str);
        if ours(m, "bridge") {
            o.present = true;
            if name == Some(FROM_PORT) {
                o.bridge = comment;
            }
        } else if ours(m, "inet") {
            o.present = true;
            if name != Some(ZONES) {
                continue;
            }
            o.inet = comment;
            let mut zones = BTreeSet::new();
            for e in elems(m) {
                let pair = match e.as_array().map(Vec::as_slice) {
                    Some([k, v]) => k.as_str().zip(v.as_u64().and_then(|z| u16::try_from(z).ok())),
                    _ => None,
                };
                match pair {
                    Some((bridge, zone)) if valid_device(bridge) => {
                        zones.insert(Element::Zone(bridge.to_string(), zone));
                    }
                    _ => unreadable = true,
                }
            }
            o.elements.insert(ZONES.to_string(), zones);
        }
    }
    for item in items(sets)? {
        let Some(s) = item.get("set") else { continue };
        if !ours(s, "inet") {
            continue;
        }
        o.present = true;
        let Some(name) = s.get("name").and_then(Value::as_str) else { continue };
        let mut set = BTreeSet::new();
        for e in elems(s) {
            match element(e) {
                Some(x) => {
                    set.insert(x);
                }
                None => unreadable = true,
            }
        }
        o.elements.insert(name.to_string(), set);
    }
    if unreadable {
        o.inet = None;
    }
    Ok(o)
}

//! What a router should have, computed from its [`RouterState`] (devices
//! with their addresses, routes, the NAT entries gone stale between two
//! states), and what its namespace has (read with `ip -j`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use ipnet::IpNet;
use neutrino_model::l3::{RouterPort, RouterState};
use neutrino_model::names;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::process::Command;
use tracing::{debug, warn};

use crate::dataplane::IpRoute;
use crate::nat;

/// What a round applied to one router (kept across restarts).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Applied {
    /// The router as last applied.
    pub(super) router: RouterState,
    /// The nft text last loaded.
    pub(super) nft: String,
    /// `nft list table` right after loading it.
    pub(super) listing: String,
}

/// A device in a router's namespace, as `ip -j -d addr` shows it.
#[derive(Debug, Clone, Default)]
pub(super) struct Device {
    pub(super) mac: String,
    pub(super) mtu: u32,
    pub(super) up: bool,
    pub(super) veth: bool,
    /// Global addresses (link-local ones are the kernel's).
    pub(super) addrs: BTreeSet<(IpAddr, u8)>,
}

/// A router port as its namespace should have it.
#[derive(Debug, Clone)]
pub(super) struct WantedDevice<'a> {
    pub(super) name: String,
    pub(super) tap: String,
    pub(super) port: &'a RouterPort,
    pub(super) addrs: BTreeSet<(IpAddr, u8)>,
    pub(super) gateway: bool,
}

/// One router's `ip -batch`, in the order the kernel needs: routes leave
/// before their devices go down or away (the kernel drops them with the
/// device, and a second delete would fail); addresses leave before they
/// arrive (a removed primary address takes its secondaries along);
/// devices come up after their addresses and before the routes that need
/// them.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub(super) route_del: Vec<String>,
    pub(super) links: Vec<String>,
    pub(super) addr_del: Vec<String>,
    pub(super) addr_add: Vec<String>,
    pub(super) ups: Vec<String>,
    pub(super) route_add: Vec<String>,
}

impl Batch {
    pub(super) fn lines(self) -> Vec<String> {
        [self.route_del, self.links, self.addr_del, self.addr_add, self.ups, self.route_add].concat()
    }
}

/// A route of ours: destination and next hop (and, for defaults, the device).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Route {
    pub(super) dst: IpNet,
    pub(super) via: IpAddr,
    pub(super) dev: Option<String>,
}

impl Route {
    pub(super) fn key(&self) -> (IpNet, IpAddr) {
        (self.dst, self.via)
    }
}

/// Whether an id may name a namespace and a file (ids are UUIDs; this
/// keeps anything else out of paths and arguments).
pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Whether `mac` is six colon-separated hex octets.
pub(super) fn valid_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6 && parts.iter().all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Writes `text` to `path` atomically.
pub(super) fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The addresses a port should carry, with their subnets' prefix lengths.
pub(super) fn port_addresses(router: &str, port: &RouterPort) -> BTreeSet<(IpAddr, u8)> {
    let mut out = BTreeSet::new();
    for fixed in &port.fixed_ips {
        let Some(subnet) = port.subnets.iter().find(|s| s.id == fixed.subnet_id) else {
            warn!(router, port = %port.id, subnet = %fixed.subnet_id, "fixed IP on a subnet the state does not describe; skipped");
            continue;
        };
        match (fixed.ip_address.parse::<IpAddr>(), subnet.cidr.parse::<IpNet>()) {
            (Ok(addr), Ok(net)) if addr.is_ipv4() == net.addr().is_ipv4() => {
                out.insert((addr, net.prefix_len()));
            }
            _ => {
                warn!(router, port = %port.id, ip = %fixed.ip_address.escape_debug(), "fixed IP or subnet CIDR does not parse; skipped")
            }
        }
    }
    out
}

/// The floating addresses (floating IPs and port forwardings' addresses) a router's `qg-…` carries, as /32.
pub(super) fn floating_addresses(r: &RouterState) -> BTreeSet<(IpAddr, u8)> {
    let texts = r
        .floating_ips
        .iter()
        .map(|f| &f.floating_ip_address)
        .chain(r.port_forwardings.iter().map(|p| &p.floating_ip_address));
    let mut out = BTreeSet::new();
    for t in texts {
        match t.parse::<IpAddr>() {
            Ok(a @ IpAddr::V4(_)) => {
                out.insert((a, 32));
            }
            Ok(IpAddr::V6(_)) => {}
            Err(_) => warn!(router = %r.id, ip = %t.escape_debug(), "floating IP does not parse; skipped"),
        }
    }
    out
}

/// The devices a router's namespace should have.
pub(super) fn wanted_devices(r: &RouterState) -> Vec<WantedDevice<'_>> {
    let mut out = Vec::new();
    let ports = r.gateway.iter().map(|g| (g, true)).chain(r.interfaces.iter().map(|p| (p, false)));
    for (port, gateway) in ports {
        let name =
            if gateway { names::router_gateway_device(&port.id) } else { names::router_interface_device(&port.id) };
        let tap = names::tap_device(&port.id);
        if !nat::valid_device(&name) || !nat::valid_device(&tap) || !valid_mac(&port.mac_address) {
            warn!(router = %r.id, port = %port.id.escape_debug(), "router port with an unusable id or MAC; skipped");
            continue;
        }
        let mut addrs = port_addresses(&r.id, port);
        if gateway {
            addrs.extend(floating_addresses(r));
        }
        out.push(WantedDevice { name, tap, port, addrs, gateway });
    }
    out
}

/// A destination as the kernel prints it (`default`, `10.0.0.0/24`, `10.0.0.5`).
pub(super) fn parse_dst(text: &str, v6: bool) -> Option<IpNet> {
    if text == "default" {
        return if v6 { "::/0".parse().ok() } else { "0.0.0.0/0".parse().ok() };
    }
    text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// The routes a router should have: a default per family via the external
/// subnets' gateways on `qg-…`, and the extra routes. None while it is down.
pub(super) fn wanted_routes(r: &RouterState) -> BTreeSet<Route> {
    let mut out = BTreeSet::new();
    if !r.admin_state_up {
        return out;
    }
    if let Some(g) = &r.gateway {
        let dev = names::router_gateway_device(&g.id);
        let mut families = BTreeSet::new();
        for s in &g.subnets {
            let Some(gw) = s.gateway_ip.as_deref() else { continue };
            let Ok(via) = gw.parse::<IpAddr>() else {
                warn!(router = %r.id, gateway = %gw.escape_debug(), "external gateway IP does not parse; skipped");
                continue;
            };
            if families.insert(via.is_ipv4()) {
                if let Some(dst) = parse_dst("default", via.is_ipv6()) {
                    out.insert(Route { dst, via, dev: Some(dev.clone()) });
                }
            }
        }
    }
    for route in &r.routes {
        match (route.destination.parse::<IpNet>(), route.nexthop.parse::<IpAddr>()) {
            (Ok(dst), Ok(via)) if dst.addr().is_ipv4() == via.is_ipv4() => {
                out.insert(Route { dst: dst.trunc(), via, dev: None });
            }
            _ => warn!(router = %r.id, destination = %route.destination.escape_debug(),
                       nexthop = %route.nexthop.escape_debug(), "extra route does not parse; skipped"),
        }
    }
    out
}

/// The devices of a namespace, from `ip -j -d addr show`.
pub(super) async fn read_devices(ns: &str) -> Result<BTreeMap<String, Device>, String> {
    let rows = IpRoute { netns: Some(ns.to_string()) }.json("ip", &["-d", "addr", "show"]).await?;
    let mut out = BTreeMap::new();
    for v in rows {
        let Some(name) = v.get("ifname").and_then(Value::as_str) else { continue };
        let addrs = v
            .get("addr_info")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|a| a.get("scope").and_then(Value::as_str) == Some("global"))
            .filter_map(|a| {
                let ip = a.get("local")?.as_str()?.parse().ok()?;
                let len = u8::try_from(a.get("prefixlen")?.as_u64()?).ok()?;
                Some((ip, len))
            })
            .collect();
        let device = Device {
            mac: v.get("address").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase(),
            mtu: v.get("mtu").and_then(Value::as_u64).and_then(|m| u32::try_from(m).ok()).unwrap_or(0),
            up: v.get("flags").and_then(Value::as_array).is_some_and(|f| f.iter().any(|x| x == "UP")),
            veth: v.pointer("/linkinfo/info_kind").and_then(Value::as_str) == Some("veth"),
            addrs,
        };
        out.insert(name.to_string(), device);
    }
    Ok(out)
}

/// Our routes (`proto static`) of one family in a namespace, with their devices.
pub(super) async fn read_routes(ns: &str, v6: bool) -> Result<BTreeMap<(IpNet, IpAddr), Option<String>>, String> {
    let family = if v6 { "-6" } else { "-4" };
    let rows =
        IpRoute { netns: Some(ns.to_string()) }.json("ip", &[family, "route", "show", "proto", "static"]).await?;
    Ok(rows
        .iter()
        .filter_map(|v| {
            let dst = parse_dst(v.get("dst")?.as_str()?, v6)?;
            let via = v.get("gateway")?.as_str()?.parse().ok()?;
            let dev = v.get("dev").and_then(Value::as_str).filter(|d| nat::valid_device(d)).map(str::to_string);
            Some(((dst, via), dev))
        })
        .collect())
}

/// Runs `TOOL ARGS…` in `ns` (with `input` on stdin); errors as text.
pub(super) async fn in_ns(ns: &str, tool: &'static str, args: &[&str], input: Option<&str>) -> Result<String, String> {
    crate::dataplane::exec(Some(ns), tool, args, input).await.map_err(|e| e.to_string())
}

/// Drops the conntrack entries selected by `filter` in `ns` (none matching is fine).
pub(super) async fn conntrack_delete(ns: &str, filter: &[&str]) {
    let mut args = vec!["-D"];
    args.extend_from_slice(filter);
    if let Err(e) = in_ns(ns, "conntrack", &args, None).await {
        if !e.contains("0 flow entries") {
            warn!(namespace = %ns, error = %e, "cannot drop conntrack entries");
        }
    }
}

/// Sends gratuitous ARP for `addr` from `dev` in `ns`, in the background
/// (a failure is only a warning: neighbours learn the address anyway).
pub(super) fn announce(ns: &str, dev: &str, addr: IpAddr) {
    let args: Vec<String> = ["netns", "exec", ns, "arping", "-U", "-c", "2", "-I", dev]
        .iter()
        .map(|s| s.to_string())
        .chain([addr.to_string()])
        .collect();
    tokio::spawn(async move {
        let run = Command::new("ip")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output();
        match tokio::time::timeout(Duration::from_secs(10), run).await {
            Ok(Ok(out)) if out.status.success() => debug!(%addr, "gratuitous ARP sent"),
            Ok(Ok(out)) => {
                warn!(%addr, error = %String::from_utf8_lossy(&out.stderr).trim(), "gratuitous ARP failed")
            }
            Ok(Err(e)) => warn!(%addr, error = %e, "cannot run arping (iputils-arping)"),
            Err(_) => warn!(%addr, "arping did not finish"),
        }
    });
}

/// The conntrack filters of what left or changed between two router states:
/// floating IPs (both directions) and port forwardings.
pub(super) fn stale_nat(old: &RouterState, new: &RouterState) -> (BTreeSet<String>, BTreeSet<(String, String, u16)>) {
    let now: BTreeMap<&str, &str> =
        new.floating_ips.iter().map(|f| (f.floating_ip_address.as_str(), f.fixed_ip_address.as_str())).collect();
    let fips = old
        .floating_ips
        .iter()
        .filter(|f| now.get(f.floating_ip_address.as_str()) != Some(&f.fixed_ip_address.as_str()))
        .map(|f| f.floating_ip_address.clone())
        .collect();
    let key = |p: &neutrino_model::l3::PortForwardingState| {
        (
            p.floating_ip_address.clone(),
            p.protocol.clone(),
            p.external_port,
            p.internal_ip_address.clone(),
            p.internal_port,
        )
    };
    let kept: BTreeSet<_> = new.port_forwardings.iter().map(key).collect();
    let forwardings = old
        .port_forwardings
        .iter()
        .filter(|p| !kept.contains(&key(p)))
        .map(|p| (p.floating_ip_address.clone(), p.protocol.clone(), p.external_port))
        .collect();
    (fips, forwardings)
}

//! The security-group firewall of the L2 agents (Neutron's firewall
//! driver), in nftables, in the node namespace: the Linux bridge agent's,
//! whose instance ports sit on their network's bridge, and the Open vSwitch
//! agent's with the hybrid plug ([`Plug`]), whose instance ports each sit on
//! a bridge of their own (`qbr…`) wired to `br-int` — the same rules see
//! the same `tap…` devices either way.
//!
//! The nftables bridge family is stateless on this kernel (no
//! `nf_conntrack_bridge`), so filtering is split in two tables, both ours
//! and replaced together (dataplane-proofs/05, variant C):
//!
//! - `bridge neutrino-sg`: a prerouting chain at priority −300 (before
//!   br_netfilter hands bridged IP to the inet hooks at 0) sends each frame
//!   from a filtered port's `tap…` (map `from_port`) to the port's
//!   `spoof-<port>` chain, which marks it with the port's index and drops
//!   what the port may not send: other MACs; other ethertypes than ARP,
//!   IPv4 and IPv6; ARP and IP from outside its (MAC, address) pairs —
//!   fixed IPs, allowed address pairs, IPv6 link-local — except DHCP
//!   discovery from 0.0.0.0, ARP probes and duplicate address detection
//!   from `::`; DHCP and DHCPv6 server traffic and router advertisements
//!   (a port without fixed IPs may use any address from its MAC); a forward
//!   chain at −200 (before br_netfilter's forward hook at −1) marks frames
//!   going out of a filtered port (map `to_port`, chain `to-<port>`) and
//!   drops non-IP, non-ARP frames to it (they would bypass the inet hooks).
//! - `inet neutrino-sg`: `ct zone set` at raw priority gives every network
//!   its own conntrack zone, keyed by its bridges (in inet hooks the input
//!   device of bridged traffic is the bridge: `brq<net>`, or each of the
//!   network's `qbr<port>` with the hybrid plug), so overlapping addresses
//!   on two networks never share state; the forward chain jumps by mark to the
//!   sending port's `egress-…` and the receiving port's `ingress-…` chain
//!   (the input chain to `egress-…` for traffic to the host itself). Ports
//!   whose groups give the same rules share one chain, named after the
//!   first of them, so the rules count per distinct set of groups. Remote groups are named interval sets
//!   `rg4-<group>`/`rg6-<group>` of their members' addresses.
//!
//! Marks: bits 0–11 are the sending port's index, bits 12–23 the receiving
//! port's; bits 24–31 are left alone. Ports are indexed by sorted id, so at
//! most [`MAX_PORTS`] ports per host are filtered; a port beyond that (or
//! one whose MAC does not parse) gets all its traffic dropped, never none.
//!
//! Not filtered at all, as in Neutron: ports with port security off and
//! ports whose `device_owner` starts with `network:` (routers, DHCP).
//!
//! Level-triggered: the two tables' text (without set elements) is hashed
//! into a comment on the `from_port` and `zones` maps, which `nft -j list
//! maps` shows. A round compares the wanted tables with what the kernel
//! has — as the agent's own record of what it applied ([`Firewall`]), or read
//! back from the kernel (the maps and the sets) by a fresh agent, after a
//! failure and every [`RESYNC`]: when both comments match only the set and
//! map elements are compared, and only their difference is applied (remote
//! group members, network zones) as one small transaction; otherwise the
//! tables are replaced in one atomic transaction, which keeps every
//! conntrack entry (established connections survive, zones are read back
//! from the kernel and kept). An unchanged state applies nothing. The
//! conntrack entries of an address that left its port, and of a zone given
//! up, are deleted.

mod kernel;
pub(crate) mod port;
pub(crate) mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use neutrino_model::names;
use neutrino_model::sg::SecurityGroupState;
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

pub use kernel::parse_observed;
pub(crate) use kernel::{apply as apply_in, observe as observe_in};

use crate::dataplane::{Dataplane, DataplaneError};
use crate::nat::valid_device;
use crate::state::{HostState, PortState};

/// The name of both tables (families `bridge` and `inet`).
pub const TABLE: &str = "neutrino-sg";

/// The first conntrack zone given to a network (below it: other users' zones,
/// as Neutron's iptables driver keeps 1–4096 free).
pub const ZONE_START: u16 = 4097;

/// How many filtered ports a host can have (12 bits of the packet mark).
pub const MAX_PORTS: usize = 4095;

/// Bridge prerouting priority: before br_netfilter (0) passes IP to the inet hooks.
const BRIDGE_PREROUTING_PRIORITY: i32 = -300;
/// Bridge forward priority: before br_netfilter's forward hook (−1).
const BRIDGE_FORWARD_PRIORITY: i32 = -200;
/// Mark bits of the sending port's index.
const FROM_MASK: u32 = 0x0000_0fff;
/// Mark bits of the receiving port's index.
const TO_MASK: u32 = 0x00ff_f000;
/// Mark bits this firewall leaves alone.
const KEEP_MASK: u32 = 0xff00_0000;
/// The inet map of conntrack zones by bridge.
const ZONES: &str = "zones";
/// The bridge map of filtered ports' anti-spoofing chains (carries the fingerprint).
const FROM_PORT: &str = "from_port";

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    fn nfproto(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }

    fn ip(self) -> &'static str {
        match self {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        }
    }

    fn ethertype(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    fn set_type(self) -> &'static str {
        match self {
            Family::V4 => "ipv4_addr",
            Family::V6 => "ipv6_addr",
        }
    }

    /// The set of a remote group's members of this family.
    fn set_name(self, group: &str) -> String {
        match self {
            Family::V4 => format!("rg4-{group}"),
            Family::V6 => format!("rg6-{group}"),
        }
    }
}

/// Whether an id (a UUID) may be part of an nftables chain or set name.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// An element of one of the inet table's named sets or maps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Element {
    /// An address or prefix (remote group sets).
    Net(IpNet),
    /// An address range (only as the kernel may list one).
    Range(IpAddr, IpAddr),
    /// A bridge and the conntrack zone of its network (the zones map).
    Zone(String, u16),
}

impl Element {
    /// The element as `delete element` names it (a map element by its key).
    fn key(&self) -> String {
        match self {
            Element::Zone(bridge, _) => format!("\"{bridge}\""),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Element::Net(n) if n.prefix_len() == n.max_prefix_len() => write!(f, "{}", n.addr()),
            Element::Net(n) => write!(f, "{}/{}", n.network(), n.prefix_len()),
            Element::Range(a, b) => write!(f, "{a}-{b}"),
            Element::Zone(bridge, zone) => write!(f, "\"{bridge}\" : {zone}"),
        }
    }
}

/// What the kernel has of this firewall.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Whether any map or set of our tables exists.
    pub present: bool,
    /// The comment of the bridge table's `from_port` map.
    pub bridge: Option<String>,
    /// The comment of the inet table's `zones` map (none when an element
    /// could not be read back, which forces a replace).
    pub inet: Option<String>,
    /// The elements of the inet table's named sets and maps, by name.
    pub elements: BTreeMap<String, BTreeSet<Element>>,
}

impl Observed {
    /// The conntrack zones the kernel gives each bridge.
    pub fn zones(&self) -> BTreeMap<String, u16> {
        self.elements
            .get(ZONES)
            .into_iter()
            .flatten()
            .filter_map(|e| match e {
                Element::Zone(bridge, zone) => Some((bridge.clone(), *zone)),
                _ => None,
            })
            .collect()
    }
}

/// The firewall a host should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    /// Both tables (chains, rules, set declarations, no set elements), or
    /// none when no port here is filtered.
    pub tables: Option<String>,
    /// The comment that identifies `tables` (`neutrino-sg <hash>`).
    pub comment: String,
    /// The elements of the inet table's named sets and maps, by name
    /// (every declared one, empty or not).
    pub elements: BTreeMap<String, BTreeSet<Element>>,
}

/// What a transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    /// Both tables replaced atomically (rules changed, or not ours yet).
    Replace,
    /// Set and map elements added and deleted (remote group members, zones).
    Elements,
    /// Both tables deleted (no port here is filtered any more).
    Remove,
}

/// One `nft -f -` transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// What it does.
    pub kind: TxKind,
    /// Its text.
    pub text: String,
    /// What the kernel shows once it is applied.
    pub after: Observed,
    /// Conntrack zones given up (their networks left the host): their
    /// entries are deleted after the transaction, so a zone later given to
    /// another network starts empty.
    pub flush_zones: Vec<u16>,
    /// Addresses that left a port (the port went, or its address changed),
    /// with their network's zone: their conntrack entries are deleted after
    /// the transaction, so an address taken over by another port does not
    /// inherit connections its rules would refuse.
    pub forget: Vec<(u16, IpAddr)>,
}

/// The text that deletes both tables (and is harmless when they are absent).
fn delete_tables() -> String {
    format!(
        "table bridge {TABLE} {{}}\ndelete table bridge {TABLE}\ntable inet {TABLE} {{}}\ndelete table inet {TABLE}\n"
    )
}

impl Ruleset {
    /// The transaction that replaces both tables and fills their sets.
    pub fn replace(&self) -> Transaction {
        let Some(tables) = &self.tables else {
            return Transaction {
                kind: TxKind::Remove,
                text: delete_tables(),
                after: Observed::default(),
                flush_zones: Vec::new(),
                forget: Vec::new(),
            };
        };
        let mut text = delete_tables() + tables;
        for (name, elements) in self.elements.iter().filter(|(_, e)| !e.is_empty()) {
            let items: Vec<String> = elements.iter().map(Element::to_string).collect();
            let _ = writeln!(text, "add element inet {TABLE} {name} {{ {} }}", items.join(", "));
        }
        Transaction { kind: TxKind::Replace, text, after: self.observed(), flush_zones: Vec::new(), forget: Vec::new() }
    }

    /// The zones in `observed` that this ruleset no longer gives to any network.
    fn zones_given_up(&self, observed: &Observed) -> Vec<u16> {
        let kept: BTreeSet<u16> = self
            .elements
            .get(ZONES)
            .into_iter()
            .flatten()
            .filter_map(|e| match e {
                Element::Zone(_, z) => Some(*z),
                _ => None,
            })
            .collect();
        let gone: BTreeSet<u16> = observed.zones().into_values().filter(|z| !kept.contains(z)).collect();
        gone.into_iter().collect()
    }

    /// What the kernel shows once this ruleset is loaded.
    pub fn observed(&self) -> Observed {
        match &self.tables {
            None => Observed::default(),
            Some(_) => Observed {
                present: true,
                bridge: Some(self.comment.clone()),
                inet: Some(self.comment.clone()),
                elements: self.elements.clone(),
            },
        }
    }
}

/// Whether a port is filtered: port security on, and not a network
/// service's port (`network:*`, which Neutron trusts).
pub fn filtered(port: &PortState) -> bool {
    port.port_security_enabled && !port.device_owner.starts_with("network:")
}

/// How the host's ports reach their network, which decides the bridge
/// where their traffic meets the firewall and its conntrack zone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Plug {
    /// Each port's `tap…` on its network's Linux bridge (`brq…`): the
    /// Linux bridge agent.
    #[default]
    NetworkBridge,
    /// Each instance port's `tap…` on a bridge of its own (`qbr…`), wired to
    /// Open vSwitch through a veth: the OVS agent's hybrid plug. Network
    /// service ports (`network:*`) sit on Open vSwitch directly.
    Hybrid,
}

/// Whether a port is plugged through a bridge of its own with `plug`.
pub fn hybrid_plugged(plug: Plug, port: &PortState) -> bool {
    plug == Plug::Hybrid && !port.device_owner.starts_with("network:")
}

/// The bridges whose traffic is tracked in a network's conntrack zone,
/// with their network (in inet hooks the input device of bridged traffic
/// is the bridge): each network's bridge, or with the hybrid plug each
/// instance port's.
pub fn zone_bridges(state: &HostState, plug: Plug) -> BTreeMap<String, String> {
    let usable = |id: &&String| valid_id(id);
    let pairs: Vec<(String, String)> = match plug {
        Plug::NetworkBridge => {
            let ids = state.networks.iter().map(|n| &n.id).chain(state.ports.iter().map(|p| &p.network_id));
            ids.filter(usable).map(|id| (names::bridge(id), id.clone())).collect()
        }
        Plug::Hybrid => state
            .ports
            .iter()
            .filter(|p| hybrid_plugged(plug, p) && valid_id(&p.id) && valid_id(&p.network_id))
            .map(|p| (names::hybrid_bridge(&p.id), p.network_id.clone()))
            .collect(),
    };
    pairs.into_iter().filter(|(b, _)| valid_device(b)).collect()
}

/// Conntrack zones of the networks of `bridges` (from [`zone_bridges`]):
/// the one the kernel (`observed`, by bridge) gives one of a network's
/// bridges, so a zone never changes under live connections; the lowest
/// free zone from [`ZONE_START`] for the others. By network.
pub fn assign_zones(bridges: &BTreeMap<String, String>, observed: &BTreeMap<String, u16>) -> BTreeMap<String, u16> {
    let mut out: BTreeMap<String, u16> = BTreeMap::new();
    let mut used = BTreeSet::new();
    for (bridge, network) in bridges {
        if out.contains_key(network) {
            continue;
        }
        if let Some(z) = observed.get(bridge).filter(|z| **z >= ZONE_START && !used.contains(*z)) {
            used.insert(*z);
            out.insert(network.clone(), *z);
        }
    }
    let mut next = ZONE_START;
    let fresh: BTreeSet<&String> = bridges.values().filter(|n| !out.contains_key(*n)).collect();
    for network in fresh {
        while used.contains(&next) && next < u16::MAX {
            next += 1;
        }
        if used.contains(&next) {
            warn!(network = %network, "no conntrack zone left; the network shares the default zone");
            continue;
        }
        used.insert(next);
        out.insert(network.clone(), next);
    }
    out
}

/// Each of `bridges` with its network's zone (the firewall's zones map).
pub fn bridge_zones(bridges: &BTreeMap<String, String>, zones: &BTreeMap<String, u16>) -> BTreeMap<String, u16> {
    bridges.iter().filter_map(|(b, n)| Some((b.clone(), *zones.get(n)?))).collect()
}

/// A filtered port with what its rules need.
struct Filtered<'a> {
    port: &'a PortState,
    tap: String,
    index: u32,
    allowed: port::Allowed,
    chains: Rc<port::GroupChains>,
}

/// The firewall for `state`'s filtered ports, with `zones` by bridge (from
/// [`bridge_zones`]). Pure; an unchanged input gives an identical ruleset.
pub fn ruleset(state: &HostState, zones: &BTreeMap<String, u16>) -> Ruleset {
    let groups: BTreeMap<&str, &SecurityGroupState> =
        state.firewall.security_groups.iter().map(|g| (g.id.as_str(), g)).collect();
    let mut candidates: Vec<&PortState> = state.ports.iter().filter(|p| filtered(p)).collect();
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    candidates.dedup_by(|a, b| a.id == b.id);
    let (mut ports, mut blocked, mut taps) = (Vec::new(), BTreeSet::new(), BTreeSet::new());
    // Translated once per distinct set of groups (ports mostly share them).
    let mut translated: BTreeMap<BTreeSet<&str>, Rc<port::GroupChains>> = BTreeMap::new();
    for p in candidates {
        let tap = names::tap_device(&p.id);
        if !valid_id(&p.id) || !valid_device(&tap) {
            warn!(port = %p.id.escape_debug(), "port id unusable in device and chain names; not filtered");
            continue;
        }
        if !taps.insert(tap.clone()) {
            warn!(port = %p.id, device = %tap, "another port has the same device name; not filtered separately");
            continue;
        }
        match port::Mac::parse(&p.mac_address.to_ascii_lowercase()) {
            Some(_) if ports.len() >= MAX_PORTS => {
                warn!(port = %p.id, "more filtered ports than the firewall can mark ({MAX_PORTS}); its traffic is dropped");
                blocked.insert(tap);
            }
            Some(mac) => {
                let index = u32::try_from(ports.len() + 1).unwrap_or(u32::MAX);
                let allowed = port::allowed(p, mac);
                let key: BTreeSet<&str> = p.security_groups.iter().map(String::as_str).collect();
                let chains = translated.entry(key).or_insert_with(|| Rc::new(port::group_chains(p, &groups))).clone();
                ports.push(Filtered { port: p, tap, index, allowed, chains });
            }
            None => {
                warn!(port = %p.id, mac = %p.mac_address.escape_debug(), "port MAC does not parse; its traffic is dropped");
                blocked.insert(tap);
            }
        }
    }
    if ports.is_empty() && blocked.is_empty() {
        return Ruleset { tables: None, comment: String::new(), elements: BTreeMap::new() };
    }

    let mut elements: BTreeMap<String, BTreeSet<Element>> = BTreeMap::new();
    let zone_elements =
        zones.iter().filter(|(b, z)| valid_device(b) && **z > 0).map(|(b, z)| Element::Zone(b.clone(), *z)).collect();
    elements.insert(ZONES.to_string(), zone_elements);
    let remote: BTreeSet<(String, Family)> = ports.iter().flat_map(|f| f.chains.remote.iter().cloned()).collect();
    for (group, family) in &remote {
        elements.insert(family.set_name(group), members(state, group, *family));
    }

    let render = |comment: &str| -> String {
        let mut t = String::new();
        bridge_table(&mut t, &ports, &blocked, comment);
        inet_table(&mut t, &ports, &remote, comment);
        t
    };
    let hash = Sha256::digest(render("").as_bytes());
    let hex: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let comment = format!("{TABLE} {hex}");
    Ruleset { tables: Some(render(&comment)), comment, elements }
}

/// The members of a remote group of one family, as non-overlapping prefixes.
pub(crate) fn members(state: &HostState, group: &str, family: Family) -> BTreeSet<Element> {
    let Some(addresses) = state.firewall.remote_groups.get(group) else {
        debug!(group = %group, "remote group without members in the state");
        return BTreeSet::new();
    };
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for a in addresses {
        let net = a.parse::<IpNet>().map(|n| n.trunc()).or_else(|_| a.parse::<IpAddr>().map(IpNet::from));
        match net {
            Ok(IpNet::V4(n)) => v4.push(n),
            Ok(IpNet::V6(n)) => v6.push(n),
            Err(_) => {
                warn!(group = %group, address = %a.escape_debug(), "remote group member address does not parse; skipped")
            }
        }
    }
    let nets = match family {
        Family::V4 => v4.into_iter().map(IpNet::V4).collect(),
        Family::V6 => v6.into_iter().map(IpNet::V6).collect(),
    };
    uncovered(nets).into_iter().map(Element::Net).collect()
}

/// The prefixes not inside another one: an interval set refuses overlaps,
/// while adjacent prefixes stay apart so that a member joining or leaving
/// is one element added or deleted.
pub(crate) fn uncovered(mut nets: Vec<IpNet>) -> Vec<IpNet> {
    nets.sort_by_key(|n| (n.prefix_len(), *n));
    nets.dedup();
    let mut kept: Vec<IpNet> = Vec::new();
    for n in nets {
        if !kept.iter().any(|k| k.contains(&n)) {
            kept.push(n);
        }
    }
    kept.sort();
    kept
}

fn chain(t: &mut String, name: &str, hook: Option<(&str, String)>, lines: &[String]) {
    let _ = writeln!(t, "\tchain {name} {{");
    if let Some((hook, priority)) = hook {
        let _ = writeln!(t, "\t\ttype filter hook {hook} priority {priority}; policy accept;");
    }
    for l in lines {
        let _ = writeln!(t, "\t\t{l}");
    }
    t.push_str("\t}\n");
}

fn quoted_set<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let items: Vec<String> = items.map(|i| format!("\"{i}\"")).collect();
    format!("{{ {} }}", items.join(", "))
}

fn verdict_map(t: &mut String, name: &str, comment: Option<&str>, items: &[String]) {
    let _ = writeln!(t, "\tmap {name} {{\n\t\ttype ifname : verdict");
    if let Some(c) = comment {
        let _ = writeln!(t, "\t\tcomment \"{c}\"");
    }
    if !items.is_empty() {
        let _ = writeln!(t, "\t\telements = {{ {} }}", items.join(", "));
    }
    t.push_str("\t}\n");
}

fn bridge_table(t: &mut String, ports: &[Filtered<'_>], blocked: &BTreeSet<String>, comment: &str) {
    let _ = writeln!(t, "table bridge {TABLE} {{");
    let from: Vec<String> = ports.iter().map(|f| format!("\"{}\" : jump spoof-{}", f.tap, f.port.id)).collect();
    let to: Vec<String> = ports.iter().map(|f| format!("\"{}\" : jump to-{}", f.tap, f.port.id)).collect();
    verdict_map(t, FROM_PORT, Some(comment), &from);
    verdict_map(t, "to_port", None, &to);
    let mut pre = vec![format!("meta mark set meta mark & {KEEP_MASK:#010x}")];
    let mut fwd = Vec::new();
    if !blocked.is_empty() {
        pre.push(format!("iifname {} drop", quoted_set(blocked.iter())));
        fwd.push(format!("oifname {} drop", quoted_set(blocked.iter())));
    }
    pre.push(format!("iifname vmap @{FROM_PORT}"));
    fwd.push("oifname vmap @to_port".into());
    chain(t, "prerouting", Some(("prerouting", BRIDGE_PREROUTING_PRIORITY.to_string())), &pre);
    chain(t, "forward", Some(("forward", BRIDGE_FORWARD_PRIORITY.to_string())), &fwd);
    for f in ports {
        let mut lines = vec![format!("meta mark set meta mark | {:#010x}", f.index)];
        lines.extend(port::anti_spoofing(&f.allowed));
        chain(t, &format!("spoof-{}", f.port.id), None, &lines);
        let to = [
            format!("meta mark set meta mark & {:#010x} | {:#010x}", !TO_MASK, f.index << 12),
            "ether type != { arp, ip, ip6 } drop".to_string(),
        ];
        chain(t, &format!("to-{}", f.port.id), None, &to);
    }
    t.push_str("}\n");
}

fn inet_table(t: &mut String, ports: &[Filtered<'_>], remote: &BTreeSet<(String, Family)>, comment: &str) {
    let _ = writeln!(t, "table inet {TABLE} {{");
    let _ = writeln!(t, "\tmap {ZONES} {{\n\t\ttypeof iifname : ct zone\n\t\tcomment \"{comment}\"\n\t}}");
    for (group, family) in remote {
        let _ = writeln!(
            t,
            "\tset {} {{\n\t\ttype {}\n\t\tflags interval\n\t}}",
            family.set_name(group),
            family.set_type()
        );
    }
    chain(t, "raw", Some(("prerouting", "raw".into())), &[format!("ct zone set iifname map @{ZONES}")]);
    // Ports whose groups give the same chain share it (named after the
    // first such port): rules count per distinct set of groups, not per port.
    let mut egress_owner: BTreeMap<&[String], &str> = BTreeMap::new();
    let mut ingress_owner: BTreeMap<&[String], &str> = BTreeMap::new();
    for f in ports {
        egress_owner.entry(f.chains.egress.as_slice()).or_insert(f.port.id.as_str());
        ingress_owner.entry(f.chains.ingress.as_slice()).or_insert(f.port.id.as_str());
    }
    let owner = |m: &BTreeMap<&[String], &str>, lines: &[String]| m.get(lines).copied().unwrap_or_default().to_string();
    let egress: Vec<String> = ports
        .iter()
        .map(|f| format!("{:#010x} : jump egress-{}", f.index, owner(&egress_owner, &f.chains.egress)))
        .collect();
    let ingress: Vec<String> = ports
        .iter()
        .map(|f| format!("{:#010x} : jump ingress-{}", f.index << 12, owner(&ingress_owner, &f.chains.ingress)))
        .collect();
    let (mut forward, mut input) = (Vec::new(), Vec::new());
    if !ports.is_empty() {
        let from = format!("meta mark & {FROM_MASK:#010x} vmap {{ {} }}", egress.join(", "));
        forward.push(from.clone());
        forward.push(format!("meta mark & {TO_MASK:#010x} vmap {{ {} }}", ingress.join(", ")));
        input.push(from);
    }
    chain(t, "forward", Some(("forward", "filter".into())), &forward);
    chain(t, "input", Some(("input", "filter".into())), &input);
    for f in ports {
        if owner(&egress_owner, &f.chains.egress) == f.port.id {
            chain(t, &format!("egress-{}", f.port.id), None, &f.chains.egress);
        }
        if owner(&ingress_owner, &f.chains.ingress) == f.port.id {
            chain(t, &format!("ingress-{}", f.port.id), None, &f.chains.ingress);
        }
    }
    t.push_str("}\n");
}

/// The transaction that makes the kernel (`observed`) what `desired` says,
/// if anything is to change: a replace when the tables' text differs, only
/// the element changes (deletions first) when it does not, a removal when
/// no port is filtered any more.
pub fn plan(desired: &Ruleset, observed: &Observed) -> Option<Transaction> {
    let flush_zones = desired.zones_given_up(observed);
    if desired.tables.is_none() {
        return observed.present.then(|| Transaction { flush_zones, ..desired.replace() });
    }
    let ours = Some(&desired.comment);
    if observed.bridge.as_ref() != ours || observed.inet.as_ref() != ours {
        return Some(Transaction { flush_zones, ..desired.replace() });
    }
    let empty = BTreeSet::new();
    let (mut deletes, mut adds) = (String::new(), String::new());
    for (name, want) in &desired.elements {
        let have = observed.elements.get(name).unwrap_or(&empty);
        let gone: Vec<String> = have.difference(want).map(Element::key).collect();
        if !gone.is_empty() {
            let _ = writeln!(deletes, "delete element inet {TABLE} {name} {{ {} }}", gone.join(", "));
        }
        let new: Vec<String> = want.difference(have).map(Element::to_string).collect();
        if !new.is_empty() {
            let _ = writeln!(adds, "add element inet {TABLE} {name} {{ {} }}", new.join(", "));
        }
    }
    let text = deletes + &adds;
    (!text.is_empty()).then(|| Transaction {
        kind: TxKind::Elements,
        text,
        after: desired.observed(),
        flush_zones,
        forget: Vec::new(),
    })
}

/// How long the firewall trusts its record of what it applied before it
/// reads the kernel back (a table changed behind its back is restored then).
pub const RESYNC: Duration = Duration::from_secs(60);

/// One agent's firewall: what it last applied, so that a round plans
/// against its own record instead of reading the kernel back (two `nft -j`
/// runs and the sets of every remote group), and the addresses its ports
/// had, so those that leave a port lose their connection tracking. The
/// record is dropped on any failure and after [`RESYNC`]; the next round
/// then reads the kernel, as a fresh agent does.
#[derive(Debug, Default)]
pub struct Firewall {
    /// How the host's ports are plugged.
    plug: Plug,
    /// What the kernel has, as of the last round, and when it was last read.
    applied: Option<(Observed, Instant)>,
    /// The filtered ports' addresses (port, zone, address) at the last round.
    endpoints: BTreeSet<(String, u16, IpAddr)>,
}

impl Firewall {
    /// The firewall of a host whose ports are plugged as `plug` says.
    pub fn new(plug: Plug) -> Firewall {
        Firewall { plug, ..Firewall::default() }
    }

    /// Whether the kernel is due to be read back (no record, or an old one).
    pub fn resync_due(&self) -> bool {
        self.applied.as_ref().is_none_or(|(_, read)| read.elapsed() >= RESYNC)
    }

    /// One round against `dp`: plan against the record (or the kernel when
    /// [`Firewall::resync_due`]), apply. When an element transaction fails
    /// (the kernel's sets are not what they seemed), the tables are replaced
    /// instead. Returns what was applied.
    pub async fn sync<D: Dataplane>(&mut self, dp: &D, state: &HostState) -> Result<Option<TxKind>, DataplaneError> {
        let (observed, read) = match self.applied.take() {
            Some((observed, read)) if read.elapsed() < RESYNC => (observed, read),
            _ => (dp.observe_firewall().await?, Instant::now()),
        };
        let bridges = zone_bridges(state, self.plug);
        let zones = assign_zones(&bridges, &observed.zones());
        let desired = ruleset(state, &bridge_zones(&bridges, &zones));
        let endpoints = endpoints(state, &zones);
        let forget: Vec<(u16, IpAddr)> = self
            .endpoints
            .difference(&endpoints)
            .map(|(_, zone, ip)| (*zone, *ip))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let tx = match plan(&desired, &observed) {
            Some(tx) => Transaction { forget, ..tx },
            None if forget.is_empty() => {
                self.applied = Some((observed, read));
                self.endpoints = endpoints;
                return Ok(None);
            }
            None => Transaction {
                kind: TxKind::Elements,
                text: String::new(),
                after: observed,
                flush_zones: Vec::new(),
                forget,
            },
        };
        debug!(kind = ?tx.kind, text = %tx.text, "firewall transaction");
        let kind = match dp.apply_firewall(&tx).await {
            Ok(()) => tx.kind,
            Err(e) if tx.kind == TxKind::Elements => {
                warn!(error = %e, "updating the firewall's sets failed; replacing its tables");
                let replace = Transaction { flush_zones: tx.flush_zones, forget: tx.forget, ..desired.replace() };
                dp.apply_firewall(&replace).await?;
                TxKind::Replace
            }
            Err(e) => return Err(e),
        };
        self.applied = Some((desired.observed(), read));
        self.endpoints = endpoints;
        let filtered = state.ports.iter().filter(|p| filtered(p)).count();
        match kind {
            TxKind::Replace => info!(filtered_ports = filtered, "security group firewall loaded"),
            TxKind::Elements => info!("security group firewall sets updated"),
            TxKind::Remove => info!("security group firewall removed: no port here is filtered"),
        }
        Ok(Some(kind))
    }
}

/// The addresses of the filtered ports, with the zone of their network (`zones` by network).
fn endpoints(state: &HostState, zones: &BTreeMap<String, u16>) -> BTreeSet<(String, u16, IpAddr)> {
    let mut out = BTreeSet::new();
    for p in state.ports.iter().filter(|p| filtered(p)) {
        let Some(zone) = zones.get(&p.network_id) else { continue };
        for f in &p.fixed_ips {
            if let Ok(ip) = f.ip_address.parse::<IpAddr>() {
                out.insert((p.id.clone(), *zone, ip));
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;

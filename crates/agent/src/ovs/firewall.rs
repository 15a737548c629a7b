//! The `openvswitch` firewall driver: security groups as OpenFlow flows on
//! the integration bridge with Open vSwitch's own connection tracking,
//! instance ports plugged straight into `br-int` (no hybrid plug). The
//! tables follow Neutron's, so an operator's `ovs-ofctl dump-flows` reads
//! the same:
//!
//! - 60 (transient): traffic from a filtered port goes to its egress
//!   tables with `reg5` = the port's index and `reg6` = its network's local
//!   VLAN (the conntrack zone); unicast to a filtered port's MAC — tagged,
//!   from the tunnel or a provider patch, or from an unfiltered port on its
//!   network — to its ingress tables; unfiltered ports and the patch ports
//!   switch normally; anything else (a port the agent has not seen yet) is
//!   dropped, so no port passes traffic before its rules exist.
//! - 71 (egress): anti-spoofing as the nftables firewall's — the port's
//!   (MAC, address) pairs, fixed IPs, allowed address pairs, IPv6
//!   link-local, DHCP discovery from 0.0.0.0, ARP probes, duplicate address
//!   detection from `::`; no DHCP/DHCPv6 server traffic or router
//!   advertisements — then neighbour discovery and MLD from the port's
//!   addresses straight to 73 (conntrack would call them invalid), other IP
//!   through conntrack to 72.
//! - 72 (egress rules): established and related pass, invalid is dropped,
//!   new connections that a rule allows are committed; then 73.
//! - 73: to a filtered port on the same network, its ingress tables; else
//!   normal switching.
//! - 81/82 (ingress, ingress rules): ARP, DHCP replies and neighbour
//!   discovery pass; IP through conntrack, established/related or allowed
//!   by a rule (committed), out of the port; the rest is dropped.
//!
//! Stateless groups (every group of the port stateless) skip conntrack:
//! their rules must allow each direction. A rule with a remote group is a
//! conjunction with the group's member addresses ([`Conjunctions`]). Broadcast and multicast reach ports by normal
//! switching, unfiltered, as with Neutron's driver.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use ipnet::IpNet;
use neutrino_model::sg::SecurityGroupState;
use tracing::warn;

use super::flows::Flow;
use crate::firewall::port::{self, Mac};
use crate::firewall::rules::{self, Direction, Protocol, Remote, Rule};
use crate::firewall::{filtered, members, Element, Family};
use crate::state::{HostState, PortState};

/// Table of the first classification.
pub const TRANSIENT: u8 = 60;
/// Egress: anti-spoofing.
pub const EGRESS: u8 = 71;
/// Egress: security group rules.
pub const EGRESS_RULES: u8 = 72;
/// Accepted egress: to a filtered port's ingress, or switched.
pub const ACCEPT_OR_INGRESS: u8 = 73;
/// Ingress: what always passes, and conntrack.
pub const INGRESS: u8 = 81;
/// Ingress: security group rules.
pub const INGRESS_RULES: u8 = 82;

/// ICMPv6 an instance may always send from its addresses: MLD (130–132,
/// 143), router solicitation (133), neighbour solicitation and
/// advertisement (135, 136). Not connections — conntrack calls them
/// invalid — so they pass before it.
const ICMPV6_OUT: [u8; 7] = [130, 131, 132, 133, 135, 136, 143];

/// The conntrack zone: the network's local VLAN, in `reg6`.
const ZONE: &str = "zone=NXM_NX_REG6[0..15]";

/// A port on the integration bridge with its network's local VLAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgePort<'a> {
    /// The Neutron port.
    pub port: &'a PortState,
    /// Its device (the Open vSwitch port's name).
    pub device: String,
    /// Its network's local VLAN (also its conntrack zone).
    pub local_vlan: u16,
}

/// One rule's flows for a port: its matches (several for a port range
/// that is not one prefix), and the remote group (with its family) whose
/// members the remote end must be, if any.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RuleFlows {
    /// The matches, without the remote group.
    pub(crate) matches: Vec<String>,
    /// The remote group and family, matched through a conjunction.
    pub(crate) group: Option<(String, Family)>,
}

/// A filtered port with what its flows need.
struct Filtered<'a> {
    at: &'a BridgePort<'a>,
    index: u32,
    allowed: port::Allowed,
    stateful: bool,
    egress: Vec<RuleFlows>,
    ingress: Vec<RuleFlows>,
}

/// Remote-group rules as OpenFlow conjunctions: each such rule of a port
/// is one conjunction id, whose first dimension is the port's rule match
/// and whose second is the group's member addresses — one flow per member
/// and rules table, shared by every port and rule naming the group, so the
/// flows grow with ports × rules plus members, not with their product.
#[derive(Debug, Default)]
struct Conjunctions {
    /// The last id given.
    last: u32,
    /// The ids of each (table, group, family).
    by_group: BTreeMap<(u8, String, Family), Vec<u32>>,
}

impl Conjunctions {
    /// A new id for a rule of `table` whose remote end is `group`.
    fn add(&mut self, table: u8, group: &(String, Family)) -> u32 {
        self.last += 1;
        self.by_group.entry((table, group.0.clone(), group.1)).or_default().push(self.last);
        self.last
    }

    /// The second dimension: for each group, one flow per member address
    /// (its source in the ingress rules table, its destination in the
    /// egress one). A group without members completes no conjunction.
    fn member_flows(&self, state: &HostState, out: &mut Vec<Flow>) {
        for ((table, group, family), ids) in &self.by_group {
            let direction = if *table == INGRESS_RULES { Direction::Ingress } else { Direction::Egress };
            let field = remote_field(direction, *family);
            let ip = if *family == Family::V6 { "ipv6" } else { "ip" };
            let actions: Vec<String> = ids.iter().map(|id| format!("conjunction({id},2/2)")).collect();
            for member in members(state, group, *family) {
                if let Element::Net(n) = member {
                    out.push(Flow::new(
                        *table,
                        CONJUNCTION,
                        &format!("{ip},{field}={}", Element::Net(n)),
                        &actions.join(","),
                    ));
                }
            }
        }
    }
}

/// Priority of a rule's flows.
const RULE: u16 = 70;
/// Priority of conjunction dimension flows (apart from the plain rules',
/// whose overlap with them OpenFlow leaves undefined).
const CONJUNCTION: u16 = 71;

/// The integration bridge's firewall tables for `ports` (those this agent
/// wired on it; `patches` are its patch ports, whose traffic arrives
/// tagged). Filtered ports (port security on, not `network:*`) get their
/// rules; the others switch normally. Pure: the same input gives the same
/// flows, so a restart replaces nothing.
pub fn flows(state: &HostState, ports: &[BridgePort<'_>], patches: &[String]) -> Vec<Flow> {
    let groups: BTreeMap<&str, &SecurityGroupState> =
        state.firewall.security_groups.iter().map(|g| (g.id.as_str(), g)).collect();
    let mut sorted: Vec<&BridgePort<'_>> = ports.iter().collect();
    sorted.sort_by(|a, b| a.port.id.cmp(&b.port.id));
    let (mut fw, mut open) = (Vec::new(), Vec::new());
    for at in sorted {
        if !filtered(at.port) {
            open.push(at);
            continue;
        }
        let Some(mac) = Mac::parse(&at.port.mac_address.to_ascii_lowercase()) else {
            warn!(port = %at.port.id, "port MAC does not parse; its traffic is dropped");
            continue;
        };
        let index = u32::try_from(fw.len() + 1).unwrap_or(u32::MAX);
        let (stateful, egress, ingress) = rule_matches(at.port, &groups);
        fw.push(Filtered { at, index, allowed: port::allowed(at.port, mac), stateful, egress, ingress });
    }
    let mut out = vec![Flow::new(TRANSIENT, 0, "", "drop"), Flow::new(ACCEPT_OR_INGRESS, 0, "", "NORMAL")];
    for p in patches {
        out.push(Flow::new(TRANSIENT, 50, &format!("in_port={p}"), "NORMAL"));
    }
    for o in &open {
        out.push(Flow::new(TRANSIENT, 50, &format!("in_port={}", o.device), "NORMAL"));
    }
    let mut conjunctions = Conjunctions::default();
    for f in &fw {
        let (i, lv, dev) = (f.index, f.at.local_vlan, &f.at.device);
        let regs = format!("set_field:{i}->reg5,set_field:{lv}->reg6");
        out.push(Flow::new(TRANSIENT, 100, &format!("in_port={dev}"), &format!("{regs},resubmit(,{EGRESS})")));
        for mac in &f.allowed.macs {
            let to_ingress = format!("{regs},resubmit(,{INGRESS})");
            out.push(Flow::new(
                TRANSIENT,
                90,
                &format!("dl_vlan={lv},dl_dst={mac}"),
                &format!("{regs},strip_vlan,resubmit(,{INGRESS})"),
            ));
            for o in open.iter().filter(|o| o.local_vlan == lv) {
                out.push(Flow::new(TRANSIENT, 90, &format!("in_port={},dl_dst={mac}", o.device), &to_ingress));
            }
            out.push(Flow::new(
                ACCEPT_OR_INGRESS,
                90,
                &format!("reg6={lv},dl_dst={mac}"),
                &format!("set_field:{i}->reg5,resubmit(,{INGRESS})"),
            ));
        }
        egress(&mut out, f, &mut conjunctions);
        ingress(&mut out, f, &mut conjunctions);
    }
    conjunctions.member_flows(state, &mut out);
    out
}

/// Whether `port` is filtered statefully, and the flows of its groups'
/// egress and ingress rules.
fn rule_matches(
    port: &PortState,
    groups: &BTreeMap<&str, &SecurityGroupState>,
) -> (bool, Vec<RuleFlows>, Vec<RuleFlows>) {
    let (found, stateful) = port::port_groups(port, groups);
    let (mut egress, mut ingress) = (BTreeSet::new(), BTreeSet::new());
    for g in found {
        for rule in &g.rules {
            let written = rules::parse(rule).and_then(|r| Ok((r.direction, openflow_matches(&r)?)));
            match written {
                Ok((Direction::Egress, m)) => egress.insert(m),
                Ok((Direction::Ingress, m)) => ingress.insert(m),
                Err(why) => {
                    warn!(port = %port.id, group = %g.id, rule = %rule.id.escape_debug(), "security group rule skipped: {why}");
                    false
                }
            };
        }
    }
    (stateful, egress.into_iter().collect(), ingress.into_iter().collect())
}

/// The field of a rule's remote end: the source of what comes in, the
/// destination of what goes out.
fn remote_field(direction: Direction, family: Family) -> &'static str {
    match (direction, family) {
        (Direction::Ingress, Family::V4) => "nw_src",
        (Direction::Egress, Family::V4) => "nw_dst",
        (Direction::Ingress, Family::V6) => "ipv6_src",
        (Direction::Egress, Family::V6) => "ipv6_dst",
    }
}

/// The OpenFlow flows of one rule: its matches (several for a port range
/// that is not one prefix) and its remote group, if any.
pub(crate) fn openflow_matches(r: &Rule) -> Result<RuleFlows, String> {
    let v6 = r.family == Family::V6;
    let ip = if v6 { "ipv6" } else { "ip" };
    let (mut base, ports) = match r.protocol {
        Protocol::Any => (ip.to_string(), None),
        Protocol::Ports(keyword @ ("tcp" | "udp" | "sctp"), _, range) => {
            (if v6 { format!("{keyword}6") } else { keyword.to_string() }, range)
        }
        Protocol::Ports(keyword, _, Some(_)) => {
            return Err(format!("OpenFlow cannot match {keyword} ports"));
        }
        Protocol::Ports(_, n, None) | Protocol::Other(n) => (format!("{ip},nw_proto={n}"), None),
        Protocol::Icmp(limit) | Protocol::Icmpv6(limit) => {
            let mut m = if v6 { "icmp6".to_string() } else { "icmp".to_string() };
            if let Some((t, code)) = limit {
                let _ = write!(m, ",icmp_type={t}");
                if let Some(c) = code {
                    let _ = write!(m, ",icmp_code={c}");
                }
            }
            (m, None)
        }
    };
    let group = match &r.remote {
        Remote::Any => None,
        Remote::Net(n) => {
            let _ = write!(base, ",{}={}", remote_field(r.direction, r.family), Element::Net(*n));
            None
        }
        Remote::Group(g) => Some((g.clone(), r.family)),
    };
    let matches = match ports {
        None => vec![base],
        Some((lo, hi)) => range_masks(lo, hi)
            .into_iter()
            .map(|(value, mask)| match mask {
                0xffff => format!("{base},tp_dst={value}"),
                _ => format!("{base},tp_dst={value:#x}/{mask:#x}"),
            })
            .collect(),
    };
    Ok(RuleFlows { matches, group })
}

/// A port range as value/mask pairs (each a power-of-two aligned block).
pub(crate) fn range_masks(lo: u16, hi: u16) -> Vec<(u16, u16)> {
    let mut out = Vec::new();
    let (mut at, hi) = (u32::from(lo), u32::from(hi));
    while at <= hi {
        let mut size = 1u32;
        while at % (size * 2) == 0 && at + size * 2 - 1 <= hi && size * 2 <= 0x1_0000 {
            size *= 2;
        }
        let mask = u16::try_from(0xffff & !(size - 1)).unwrap_or(0);
        out.push((u16::try_from(at).unwrap_or(u16::MAX), mask));
        at += size;
    }
    out
}

/// Table 71 and 72: what may leave port `f`, then what its rules allow.
fn egress(out: &mut Vec<Flow>, f: &Filtered<'_>, conjunctions: &mut Conjunctions) {
    let i = f.index;
    let accept = format!("resubmit(,{ACCEPT_OR_INGRESS})");
    let track = to_rules(f, EGRESS_RULES);
    // Never a DHCP or DHCPv6 server, nor a router.
    for m in ["udp,tp_src=67", "udp6,tp_src=547", "icmp6,icmp_type=134"] {
        out.push(Flow::new(EGRESS, 100, &format!("reg5={i},{m}"), "drop"));
    }
    for mac in &f.allowed.macs {
        out.push(Flow::new(
            EGRESS,
            95,
            &format!("reg5={i},udp,dl_src={mac},nw_src=0.0.0.0,nw_dst=255.255.255.255,tp_src=68,tp_dst=67"),
            &accept,
        ));
        out.push(Flow::new(EGRESS, 95, &format!("reg5={i},arp,dl_src={mac},arp_sha={mac},arp_spa=0.0.0.0"), &accept));
        for t in [131, 135, 143] {
            out.push(Flow::new(
                EGRESS,
                95,
                &format!("reg5={i},icmp6,dl_src={mac},ipv6_src=::,ipv6_dst=ff02::/16,icmp_type={t}"),
                &accept,
            ));
        }
    }
    for (mac, nets) in &f.allowed.v4 {
        for n in nets {
            let net = Element::Net(IpNet::V4(*n));
            out.push(Flow::new(EGRESS, 90, &format!("reg5={i},arp,dl_src={mac},arp_sha={mac},arp_spa={net}"), &accept));
            out.push(Flow::new(EGRESS, 90, &format!("reg5={i},ip,dl_src={mac},nw_src={net}"), &track));
        }
    }
    for (mac, nets) in &f.allowed.v6 {
        for n in nets {
            let net = Element::Net(IpNet::V6(*n));
            for t in ICMPV6_OUT {
                let m = format!("reg5={i},icmp6,dl_src={mac},ipv6_src={net},icmp_type={t}");
                out.push(Flow::new(EGRESS, 95, &m, &accept));
            }
            out.push(Flow::new(EGRESS, 90, &format!("reg5={i},ipv6,dl_src={mac},ipv6_src={net}"), &track));
        }
    }
    out.push(Flow::new(EGRESS, 10, &format!("reg5={i}"), "drop"));
    // DHCP and DHCPv6 clients may always ask.
    let always = ["udp,tp_src=68,tp_dst=67", "udp6,tp_src=546,tp_dst=547"];
    rules_table(out, EGRESS_RULES, f, &accept, &always, &f.egress, conjunctions);
}

/// Table 81 and 82: what reaches port `f`.
fn ingress(out: &mut Vec<Flow>, f: &Filtered<'_>, conjunctions: &mut Conjunctions) {
    let (i, dev) = (f.index, &f.at.device);
    let deliver = format!("output:{dev}");
    out.push(Flow::new(INGRESS, 100, &format!("reg5={i},arp"), &deliver));
    let always = ["udp,tp_src=67,tp_dst=68", "udp6,tp_src=547,tp_dst=546", "icmp6,ipv6_src=fe80::/10,icmp_type=134"]
        .into_iter()
        .map(String::from)
        .chain([130, 135, 136].into_iter().map(|t| format!("icmp6,icmp_type={t}")));
    for m in always {
        out.push(Flow::new(INGRESS, 95, &format!("reg5={i},{m}"), &deliver));
    }
    let track = to_rules(f, INGRESS_RULES);
    for ip in ["ip", "ipv6"] {
        out.push(Flow::new(INGRESS, 90, &format!("reg5={i},{ip}"), &track));
    }
    out.push(Flow::new(INGRESS, 10, &format!("reg5={i}"), "drop"));
    rules_table(out, INGRESS_RULES, f, &deliver, &[], &f.ingress, conjunctions);
}

/// How port `f`'s IP goes on to its rules `table`: through conntrack
/// (in the network's zone) when stateful.
fn to_rules(f: &Filtered<'_>, table: u8) -> String {
    if f.stateful {
        format!("ct(table={table},{ZONE})")
    } else {
        format!("resubmit(,{table})")
    }
}

/// Port `f`'s flows in rules `table`: when stateful, invalid dropped and
/// established/related passed on (`pass`); what `always` or a rule allows
/// (a new connection, committed, when stateful) passed on; the rest
/// dropped. A rule with a remote group is a conjunction with the group's
/// members.
fn rules_table(
    out: &mut Vec<Flow>,
    table: u8,
    f: &Filtered<'_>,
    pass: &str,
    always: &[&str],
    rules: &[RuleFlows],
    conjunctions: &mut Conjunctions,
) {
    let i = f.index;
    let (new, commit) =
        if f.stateful { ("ct_state=+new+trk,", format!("ct(commit,{ZONE}),{pass}")) } else { ("", pass.to_string()) };
    if f.stateful {
        out.push(Flow::new(table, 100, &format!("reg5={i},ct_state=+inv+trk"), "drop"));
        out.push(Flow::new(table, 90, &format!("reg5={i},ct_state=+est-inv+trk"), pass));
        out.push(Flow::new(table, 90, &format!("reg5={i},ct_state=+rel-inv+trk"), pass));
    }
    for m in always {
        out.push(Flow::new(table, 80, &format!("reg5={i},{new}{m}"), &commit));
    }
    for r in rules {
        match &r.group {
            None => {
                for m in &r.matches {
                    out.push(Flow::new(table, RULE, &format!("reg5={i},{new}{m}"), &commit));
                }
            }
            Some(group) => {
                let id = conjunctions.add(table, group);
                for m in &r.matches {
                    out.push(Flow::new(
                        table,
                        CONJUNCTION,
                        &format!("reg5={i},{new}{m}"),
                        &format!("conjunction({id},1/2)"),
                    ));
                }
                let ip = if group.1 == Family::V6 { "ipv6" } else { "ip" };
                out.push(Flow::new(table, RULE, &format!("conj_id={id},{ip}"), &commit));
            }
        }
    }
    out.push(Flow::new(table, 10, &format!("reg5={i}"), "drop"));
}

#[cfg(test)]
mod tests;

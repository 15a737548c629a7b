//! What the server tells an L2 agent about the security groups of its
//! host's ports (part of `/agent/v1/state`): the pieces both sides share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A security group used by a port bound to the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupState {
    /// Group id.
    pub id: String,
    /// Stateful (conntrack) or stateless filtering.
    pub stateful: bool,
    /// Its rules.
    pub rules: Vec<SecurityGroupRuleState>,
}

/// One rule, as the API stores it (Neutron's field values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRuleState {
    /// Rule id.
    pub id: String,
    /// `ingress` (to the port) or `egress` (from the port).
    pub direction: String,
    /// `IPv4` or `IPv6`.
    pub ethertype: String,
    /// Protocol: a name (`tcp`, `udp`, `icmp`, `ipv6-icmp`, …), a number as
    /// text, or none for any.
    pub protocol: Option<String>,
    /// First port, or the ICMP type.
    pub port_range_min: Option<u32>,
    /// Last port, or the ICMP code.
    pub port_range_max: Option<u32>,
    /// Remote CIDR.
    pub remote_ip_prefix: Option<String>,
    /// Remote group: its members' addresses are in [`HostFirewall::remote_groups`].
    pub remote_group_id: Option<String>,
}

/// The firewall part of a host's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFirewall {
    /// The groups of the host's ports (with port security on).
    #[serde(default)]
    pub security_groups: Vec<SecurityGroupState>,
    /// For each group a rule here names as remote: the addresses (fixed IPs
    /// and allowed address pair prefixes) of every port in it, on any host.
    #[serde(default)]
    pub remote_groups: BTreeMap<String, Vec<String>>,
}

/// Protocols by name, as Neutron (neutron-lib `IP_PROTOCOL_MAP`) knows them.
pub const IP_PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("dccp", 33),
    ("egp", 8),
    ("esp", 50),
    ("gre", 47),
    ("hopopt", 0),
    ("icmp", 1),
    ("icmpv6", 58),
    ("igmp", 2),
    ("ip", 0),
    ("ipip", 4),
    ("ipv6-encap", 41),
    ("ipv6-frag", 44),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("ipv6-route", 43),
    ("ospf", 89),
    ("pgm", 113),
    ("rsvp", 46),
    ("sctp", 132),
    ("tcp", 6),
    ("udp", 17),
    ("udplite", 136),
    ("vrrp", 112),
];

/// The number of a protocol given by name or number, if known.
pub fn protocol_number(p: &str) -> Option<u8> {
    p.parse().ok().or_else(|| IP_PROTOCOLS.iter().find(|(n, _)| *n == p).map(|(_, v)| *v))
}

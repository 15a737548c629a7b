//! What the server tells an L3 agent about the routers it hosts (the agent
//! channel's `/agent/v1/l3-state?host=H`): the pieces both sides share.

use serde::{Deserialize, Serialize};

use crate::FixedIp;

/// The routers an L3 agent hosts, at a change-log position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L3State {
    /// Change-log position the state was read at (long-poll from here).
    pub last: i64,
    /// The routers scheduled to this agent.
    pub routers: Vec<RouterState>,
}

/// One router as its L3 agent builds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterState {
    /// Router id (names the `qrouter-<id>` namespace).
    pub id: String,
    /// `admin_state_up`: a router that is down forwards nothing (its
    /// namespace stays, its ports are down).
    pub admin_state_up: bool,
    /// `external_gateway_info.enable_snat`: internal subnets leave by the
    /// gateway IP.
    pub enable_snat: bool,
    /// The gateway port on the external network (`qg-…`), if any.
    pub gateway: Option<RouterPort>,
    /// The internal ports (`qr-…`), one per attached network.
    pub interfaces: Vec<RouterPort>,
    /// Extra routes (`routes` attribute).
    #[serde(default)]
    pub routes: Vec<ExtraRoute>,
    /// Floating IPs associated with an internal port through this router.
    #[serde(default)]
    pub floating_ips: Vec<FloatingIpState>,
    /// Port forwardings of this router's floating IPs.
    #[serde(default)]
    pub port_forwardings: Vec<PortForwardingState>,
}

/// A router port: the veth `tap<port>` on the network's bridge (which the
/// host's L2 agent wires) and `qr-<port>`/`qg-<port>` in the namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterPort {
    /// Port id.
    pub id: String,
    /// Its network.
    pub network_id: String,
    /// MAC address.
    pub mac_address: String,
    /// The network's MTU.
    pub mtu: u32,
    /// Addresses on the port.
    pub fixed_ips: Vec<FixedIp>,
    /// The subnets of those addresses.
    pub subnets: Vec<RouterSubnet>,
}

/// A subnet a router port is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterSubnet {
    /// Id.
    pub id: String,
    /// CIDR.
    pub cidr: String,
    /// 4 or 6.
    pub ip_version: u8,
    /// Gateway (for the external subnet: the next hop of the default route).
    pub gateway_ip: Option<String>,
    /// IPv6: how the router advertises the prefix (`slaac`,
    /// `dhcpv6-stateful`, `dhcpv6-stateless`); none: it does not.
    #[serde(default)]
    pub ipv6_ra_mode: Option<String>,
    /// IPv6: how instances get addresses.
    #[serde(default)]
    pub ipv6_address_mode: Option<String>,
}

/// An extra route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraRoute {
    /// Destination CIDR.
    pub destination: String,
    /// Next hop (on one of the router's subnets).
    pub nexthop: String,
}

/// An associated floating IP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloatingIpState {
    /// Floating IP id.
    pub id: String,
    /// The address on the external network.
    pub floating_ip_address: String,
    /// The internal address it maps to.
    pub fixed_ip_address: String,
    /// The internal port.
    pub port_id: String,
}

/// A port forwarding: `floating_ip_address:external_port` → `internal_ip_address:internal_port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortForwardingState {
    /// Port forwarding id.
    pub id: String,
    /// The floating IP's address.
    pub floating_ip_address: String,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Port on the floating IP.
    pub external_port: u16,
    /// Internal address.
    pub internal_ip_address: String,
    /// Port on the internal address.
    pub internal_port: u16,
}

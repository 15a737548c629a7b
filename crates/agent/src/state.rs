//! The desired state of a host as the server sends it (`/agent/v1/state`).

pub use neutrino_model::l2::{NetworkState, PeerPort};
pub use neutrino_model::sg::HostFirewall;
pub use neutrino_model::{AllowedAddressPair, FixedIp};
use serde::Deserialize;

/// A port bound to this host.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PortState {
    /// Id.
    pub id: String,
    /// Network.
    pub network_id: String,
    /// MAC.
    pub mac_address: String,
    /// Fixed IPs.
    #[serde(default)]
    pub fixed_ips: Vec<FixedIp>,
    /// Whether it forwards.
    pub admin_state_up: bool,
    /// `ACTIVE`, `DOWN`, `BUILD`.
    pub status: String,
    /// `compute:…`, `network:dhcp`, `network:router_interface`, …
    #[serde(default)]
    pub device_owner: String,
    /// Whether the port is filtered (security groups, anti-spoofing).
    #[serde(default = "yes")]
    pub port_security_enabled: bool,
    /// Its security groups.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Other addresses (and MACs) it may use.
    #[serde(default)]
    pub allowed_address_pairs: Vec<AllowedAddressPair>,
}

fn yes() -> bool {
    true
}

/// Everything this host should have.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HostState {
    /// Change-log position included.
    pub last: i64,
    /// The host.
    pub host: String,
    /// Networks.
    pub networks: Vec<NetworkState>,
    /// Ports bound here.
    pub ports: Vec<PortState>,
    /// Other hosts' ports on those networks.
    pub peers: Vec<PeerPort>,
    /// Security groups of the ports here and the members of remote groups.
    #[serde(default, flatten)]
    pub firewall: HostFirewall,
}

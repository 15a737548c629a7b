//! The desired state of a host as the server sends it (`/agent/v1/state`).

use serde::Deserialize;

/// A network with ports on this host.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NetworkState {
    /// Id.
    pub id: String,
    /// MTU.
    pub mtu: u32,
    /// Whether it forwards.
    pub admin_state_up: bool,
    /// `vxlan`, `flat`, `vlan`, `local`, `gre`.
    pub network_type: String,
    /// Physical network (flat, vlan).
    pub physical_network: Option<String>,
    /// VNI or VLAN id.
    pub segmentation_id: Option<u32>,
}

/// A fixed IP of a port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FixedIp {
    /// Subnet.
    pub subnet_id: String,
    /// Address.
    pub ip_address: String,
}

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
}

/// A port on another host (l2population).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PeerPort {
    /// Port id.
    pub port_id: String,
    /// Network.
    pub network_id: String,
    /// Host.
    pub host: String,
    /// That host's VTEP.
    pub vtep: String,
    /// MAC.
    pub mac_address: String,
    /// Fixed IPs.
    #[serde(default)]
    pub ips: Vec<String>,
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
}

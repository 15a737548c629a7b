//! What the server tells an L2 agent about its host (the agent channel's
//! `/agent/v1/state`): the pieces both sides share.

use serde::{Deserialize, Serialize};

/// A network with ports on the host, as its L2 agent needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A port on another host of the same network (l2population).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerPort {
    /// The port.
    pub port_id: String,
    /// Its network.
    pub network_id: String,
    /// Its host.
    pub host: String,
    /// That host's tunnel endpoint (`local_ip` of its L2 agent).
    pub vtep: String,
    /// MAC.
    pub mac_address: String,
    /// Fixed IPs.
    #[serde(default)]
    pub ips: Vec<String>,
}

//! The desired state of a host as the server sends it (`/agent/v1/state`).

pub use neutrino_model::l2::{NetworkState, PeerPort};
pub use neutrino_model::FixedIp;
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

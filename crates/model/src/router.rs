//! The `router` resource (L3 service plugin, with the extraroute and
//! ext-gw-mode extensions).

use serde::{Deserialize, Serialize};

use crate::subnet::HostRoute;

/// An address of the gateway port on the external network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalFixedIp {
    /// Subnet of the external network.
    pub subnet_id: String,
    /// Address.
    pub ip_address: String,
}

/// `external_gateway_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalGatewayInfo {
    /// The external network.
    pub network_id: String,
    /// Whether internal subnets are SNATed to the gateway address.
    pub enable_snat: bool,
    /// The gateway port's addresses.
    pub external_fixed_ips: Vec<ExternalFixedIp>,
}

/// A router as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Router {
    /// UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Owning project.
    pub project_id: String,
    /// Same as `project_id`.
    pub tenant_id: String,
    /// Administrative state.
    pub admin_state_up: bool,
    /// `ACTIVE` (or `DOWN` when administratively down).
    pub status: String,
    /// The gateway, or null.
    pub external_gateway_info: Option<ExternalGatewayInfo>,
    /// Extra routes.
    pub routes: Vec<HostRoute>,
    /// Distributed (DVR): always false, DVR is not built.
    pub distributed: bool,
    /// HA (VRRP): always false, L3 HA is not built.
    pub ha: bool,
    /// Availability zone hints.
    pub availability_zone_hints: Vec<String>,
    /// Availability zones.
    pub availability_zones: Vec<String>,
    /// Flavor: none.
    pub flavor_id: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// Incremented on every change.
    pub revision_number: u64,
}

/// A floating IP as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloatingIp {
    /// UUID.
    pub id: String,
    /// Owning project.
    pub project_id: String,
    /// Same as `project_id`.
    pub tenant_id: String,
    /// Description.
    pub description: String,
    /// The external network.
    pub floating_network_id: String,
    /// The address on it.
    pub floating_ip_address: String,
    /// The associated port, or null.
    pub port_id: Option<String>,
    /// The associated fixed IP, or null.
    pub fixed_ip_address: Option<String>,
    /// The router that carries it (derived), or null.
    pub router_id: Option<String>,
    /// `ACTIVE` when associated, `DOWN` otherwise.
    pub status: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// Incremented on every change.
    pub revision_number: u64,
}

/// A port forwarding of a floating IP as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortForwarding {
    /// UUID.
    pub id: String,
    /// The floating IP it belongs to (stored; the API leaves it out).
    pub floatingip_id: String,
    /// Port on the floating IP.
    pub external_port: u16,
    /// Port on the internal address.
    pub internal_port: u16,
    /// The internal address (a fixed IPv4 of `internal_port_id`).
    pub internal_ip_address: String,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// The internal port.
    pub internal_port_id: String,
    /// Description.
    pub description: String,
}

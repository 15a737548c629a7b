//! The `network` resource.

use serde::{Deserialize, Serialize};

/// A network as the API shows it (and as the store keeps it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// UUID.
    pub id: String,
    /// Name, may be empty.
    pub name: String,
    /// Description, may be empty.
    pub description: String,
    /// Owning project.
    pub project_id: String,
    /// Same as `project_id` (legacy name).
    pub tenant_id: String,
    /// Administrative state.
    pub admin_state_up: bool,
    /// `ACTIVE`, `DOWN`, `BUILD` or `ERROR`.
    pub status: String,
    /// Visible to every project.
    pub shared: bool,
    /// An external network (floating IP pool, router gateways).
    #[serde(rename = "router:external")]
    pub router_external: bool,
    /// MTU, computed from the segment type and configuration.
    pub mtu: u32,
    /// Default port security of the network's ports.
    pub port_security_enabled: bool,
    /// Availability zone hints.
    pub availability_zone_hints: Vec<String>,
    /// Availability zones the network is in.
    pub availability_zones: Vec<String>,
    /// Segment type (`local`, `flat`, `vlan`, `vxlan`, `gre`).
    #[serde(rename = "provider:network_type")]
    pub provider_network_type: Option<String>,
    /// Physical network of a `flat` or `vlan` segment.
    #[serde(rename = "provider:physical_network")]
    pub provider_physical_network: Option<String>,
    /// VLAN id, VNI or GRE key.
    #[serde(rename = "provider:segmentation_id")]
    pub provider_segmentation_id: Option<u32>,
    /// Ids of the network's subnets.
    pub subnets: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// Incremented on every change.
    pub revision_number: u64,
}

/// Keys of [`Network`] only administrators see (Neutron's policy for `provider:*`).
pub const ADMIN_ONLY_KEYS: &[&str] =
    &["provider:network_type", "provider:physical_network", "provider:segmentation_id"];

//! The `subnet` resource.

use serde::{Deserialize, Serialize};

/// An allocation pool: an inclusive range of addresses handed out to ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationPool {
    /// First address.
    pub start: String,
    /// Last address.
    pub end: String,
}

/// A static route handed to instances by DHCP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRoute {
    /// Destination CIDR.
    pub destination: String,
    /// Next hop address.
    pub nexthop: String,
}

/// A subnet as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subnet {
    /// UUID.
    pub id: String,
    /// Name, may be empty.
    pub name: String,
    /// Description, may be empty.
    pub description: String,
    /// Owning project.
    pub project_id: String,
    /// Same as `project_id`.
    pub tenant_id: String,
    /// The network this subnet belongs to.
    pub network_id: String,
    /// 4 or 6.
    pub ip_version: u8,
    /// The subnet's CIDR, normalised.
    pub cidr: String,
    /// Gateway address, or null for none.
    pub gateway_ip: Option<String>,
    /// Address ranges for ports.
    pub allocation_pools: Vec<AllocationPool>,
    /// DNS servers for DHCP.
    pub dns_nameservers: Vec<String>,
    /// Static routes for DHCP.
    pub host_routes: Vec<HostRoute>,
    /// Whether DHCP serves this subnet.
    pub enable_dhcp: bool,
    /// IPv6 router advertisement mode.
    pub ipv6_ra_mode: Option<String>,
    /// IPv6 address mode.
    pub ipv6_address_mode: Option<String>,
    /// Subnet pool; always null until subnet pools exist.
    pub subnetpool_id: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// Incremented on every change.
    pub revision_number: u64,
}

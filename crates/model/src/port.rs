//! The `port` resource.

use serde::{Deserialize, Serialize};

/// One fixed IP of a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedIp {
    /// The subnet the address belongs to.
    pub subnet_id: String,
    /// The address.
    pub ip_address: String,
}

/// An extra (MAC, IP) pair allowed to leave the port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedAddressPair {
    /// Address or CIDR.
    pub ip_address: String,
    /// MAC; the port's own when not given.
    pub mac_address: String,
}

/// An extra DHCP option for the port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraDhcpOpt {
    /// Option name (dnsmasq's) or number.
    pub opt_name: String,
    /// Option value; null removes the option on update.
    pub opt_value: Option<String>,
    /// 4 or 6.
    pub ip_version: u8,
}

/// A port as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Port {
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
    /// The port's network.
    pub network_id: String,
    /// Administrative state.
    pub admin_state_up: bool,
    /// MAC address, lower-case colon form.
    pub mac_address: String,
    /// Fixed IPs.
    pub fixed_ips: Vec<FixedIp>,
    /// The device using the port (instance, router, DHCP agent).
    pub device_id: String,
    /// What owns the port, e.g. `compute:nova`, `network:dhcp`.
    pub device_owner: String,
    /// `ACTIVE`, `DOWN`, `BUILD` or `ERROR`.
    pub status: String,
    /// Extra allowed (MAC, IP) pairs.
    pub allowed_address_pairs: Vec<AllowedAddressPair>,
    /// Extra DHCP options.
    pub extra_dhcp_opts: Vec<ExtraDhcpOpt>,
    /// Security group ids.
    pub security_groups: Vec<String>,
    /// Whether anti-spoofing and security groups apply.
    pub port_security_enabled: bool,
    /// Host the port is bound to.
    #[serde(rename = "binding:host_id")]
    pub binding_host_id: String,
    /// `unbound`, `binding_failed`, `bridge`, `ovs`, …
    #[serde(rename = "binding:vif_type")]
    pub binding_vif_type: String,
    /// Details for the VIF plugging code.
    #[serde(rename = "binding:vif_details")]
    pub binding_vif_details: serde_json::Map<String, serde_json::Value>,
    /// `normal`, `direct`, `macvtap`, …
    #[serde(rename = "binding:vnic_type")]
    pub binding_vnic_type: String,
    /// Free-form dictionary from the compute side.
    #[serde(rename = "binding:profile")]
    pub binding_profile: serde_json::Map<String, serde_json::Value>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// Incremented on every change.
    pub revision_number: u64,
}

/// Keys of [`Port`] only administrators see (Neutron's policy for `binding:*`).
pub const ADMIN_ONLY_KEYS: &[&str] = &["binding:host_id", "binding:vif_type", "binding:vif_details", "binding:profile"];

/// Device owner of DHCP ports.
pub const OWNER_DHCP: &str = "network:dhcp";
/// Prefix of device owners that belong to the network service itself.
pub const OWNER_NETWORK_PREFIX: &str = "network:";

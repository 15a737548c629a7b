//! The `security_group` and `security_group_rule` resources.

use serde::{Deserialize, Serialize};

/// A security group rule as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    /// UUID.
    pub id: String,
    /// Owning project.
    pub project_id: String,
    /// Same as `project_id`.
    pub tenant_id: String,
    /// The group it belongs to.
    pub security_group_id: String,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `IPv4` or `IPv6`.
    pub ethertype: String,
    /// Protocol name or number (as given, normalised), or null for any.
    pub protocol: Option<String>,
    /// First port, or the ICMP type.
    pub port_range_min: Option<u32>,
    /// Last port, or the ICMP code.
    pub port_range_max: Option<u32>,
    /// Remote CIDR.
    pub remote_ip_prefix: Option<String>,
    /// Remote group.
    pub remote_group_id: Option<String>,
    /// Remote address group (not built: always null).
    pub remote_address_group_id: Option<String>,
    /// Description.
    pub description: String,
    /// Whether the rule belongs to the project's default group's defaults.
    pub belongs_to_default_sg: bool,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// Incremented on every change.
    pub revision_number: u64,
}

/// A security group as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    /// UUID.
    pub id: String,
    /// Name (`default` for a project's default group).
    pub name: String,
    /// Description.
    pub description: String,
    /// Owning project.
    pub project_id: String,
    /// Same as `project_id`.
    pub tenant_id: String,
    /// Stateful (conntrack) filtering.
    pub stateful: bool,
    /// Shared with the caller through RBAC (not built: always false).
    pub shared: bool,
    /// Its rules (filled in when shown).
    pub security_group_rules: Vec<SecurityGroupRule>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// Incremented on every change.
    pub revision_number: u64,
}

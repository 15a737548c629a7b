//! The resource tables and their indexed columns.

use crate::query::SqlValue;

/// A table of resource documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// `networks`
    Networks,
    /// `subnets`
    Subnets,
    /// `ports`
    Ports,
    /// `rbac_policies`
    RbacPolicies,
    /// `routers`
    Routers,
    /// `floatingips`
    FloatingIps,
    /// `port_forwardings`
    PortForwardings,
    /// `security_groups`
    SecurityGroups,
    /// `security_group_rules`
    SecurityGroupRules,
    /// `identity_domains`
    Domains,
    /// `identity_projects`
    Projects,
    /// `identity_users`
    Users,
    /// `identity_roles`
    Roles,
    /// `identity_role_assignments`
    RoleAssignments,
    /// `identity_regions`
    Regions,
    /// `identity_services`
    Services,
    /// `identity_endpoints`
    Endpoints,
    /// `agents`
    Agents,
}

impl Table {
    /// SQL table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Networks => "networks",
            Table::Subnets => "subnets",
            Table::Ports => "ports",
            Table::RbacPolicies => "rbac_policies",
            Table::Routers => "routers",
            Table::FloatingIps => "floatingips",
            Table::PortForwardings => "port_forwardings",
            Table::SecurityGroups => "security_groups",
            Table::SecurityGroupRules => "security_group_rules",
            Table::Domains => "identity_domains",
            Table::Projects => "identity_projects",
            Table::Users => "identity_users",
            Table::Roles => "identity_roles",
            Table::RoleAssignments => "identity_role_assignments",
            Table::Regions => "identity_regions",
            Table::Services => "identity_services",
            Table::Endpoints => "identity_endpoints",
            Table::Agents => "agents",
        }
    }

    /// Whether the table belongs to the built-in identity (administered by
    /// identity admins, never visible through a project scope).
    pub fn is_identity(self) -> bool {
        !matches!(
            self,
            Table::Networks
                | Table::Subnets
                | Table::Ports
                | Table::RbacPolicies
                | Table::Routers
                | Table::FloatingIps
                | Table::PortForwardings
                | Table::SecurityGroups
                | Table::SecurityGroupRules
                | Table::Agents
        )
    }

    /// The resource type name used in the tags table.
    pub fn resource_type(self) -> &'static str {
        match self {
            Table::Networks => "network",
            Table::Subnets => "subnet",
            Table::Ports => "port",
            Table::RbacPolicies => "rbac_policy",
            Table::Routers => "router",
            Table::FloatingIps => "floatingip",
            Table::PortForwardings => "port_forwarding",
            Table::SecurityGroups => "security_group",
            Table::SecurityGroupRules => "security_group_rule",
            Table::Domains => "domain",
            Table::Projects => "project",
            Table::Users => "user",
            Table::Roles => "role",
            Table::RoleAssignments => "role_assignment",
            Table::Regions => "region",
            Table::Services => "service",
            Table::Endpoints => "endpoint",
            Table::Agents => "agent",
        }
    }

    /// Indexed columns besides `id` and `doc`, in insert order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Networks => &["project_id", "name", "shared", "router_external"],
            Table::Subnets => &["project_id", "network_id", "name", "ip_version", "cidr"],
            Table::Ports => &["project_id", "network_id", "name", "mac_address", "device_id", "device_owner"],
            Table::RbacPolicies => &["project_id", "object_type", "object_id", "target_tenant", "action"],
            Table::Routers => &["project_id", "name", "gw_network_id"],
            Table::FloatingIps => &[
                "project_id",
                "floating_network_id",
                "floating_ip_address",
                "port_id",
                "fixed_ip_address",
                "router_id",
            ],
            Table::PortForwardings => &[
                "floatingip_id",
                "protocol",
                "external_port",
                "internal_port_id",
                "internal_ip_address",
                "internal_port",
            ],
            Table::SecurityGroups => &["project_id", "name"],
            Table::SecurityGroupRules => {
                &["project_id", "security_group_id", "remote_group_id", "direction", "ethertype", "fingerprint"]
            }
            Table::Domains => &["name", "enabled"],
            Table::Projects | Table::Users => &["domain_id", "name", "enabled"],
            Table::Roles => &["name"],
            Table::RoleAssignments => &["project_id", "user_id", "role_id"],
            Table::Regions => &["parent_region_id"],
            Table::Services => &["type", "name", "enabled"],
            Table::Endpoints => &["service_id", "region_id", "interface", "enabled"],
            Table::Agents => &["agent_type", "host", "agent_binary"],
        }
    }

    /// The column holding API attribute `attr`, if it has one.
    pub(crate) fn column_for(self, attr: &str) -> Option<&'static str> {
        let attr = match attr {
            "tenant_id" => "project_id",
            "router:external" => "router_external",
            "binary" if self == Table::Agents => "agent_binary",
            other => other,
        };
        if attr == "id" {
            return Some("id");
        }
        self.columns().iter().copied().find(|c| *c == attr)
    }
}

/// One row to insert or update: the id, the indexed column values (in
/// [`Table::columns`] order) and the document.
#[derive(Debug, Clone)]
pub struct DocRow {
    /// Resource id.
    pub id: String,
    /// Values of [`Table::columns`], same order.
    pub columns: Vec<SqlValue>,
    /// The API document, JSON text.
    pub doc: String,
}

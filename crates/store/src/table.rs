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
}

impl Table {
    /// SQL table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Networks => "networks",
            Table::Subnets => "subnets",
            Table::Ports => "ports",
            Table::RbacPolicies => "rbac_policies",
        }
    }

    /// The resource type name used in the tags table.
    pub fn resource_type(self) -> &'static str {
        match self {
            Table::Networks => "network",
            Table::Subnets => "subnet",
            Table::Ports => "port",
            Table::RbacPolicies => "rbac_policy",
        }
    }

    /// Indexed columns besides `id` and `doc`, in insert order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Networks => &["project_id", "name", "shared", "router_external"],
            Table::Subnets => &["project_id", "network_id", "name", "ip_version", "cidr"],
            Table::Ports => &["project_id", "network_id", "name", "mac_address", "device_id", "device_owner"],
            Table::RbacPolicies => &["project_id", "object_type", "object_id", "target_tenant", "action"],
        }
    }

    /// The column holding API attribute `attr`, if it has one.
    pub(crate) fn column_for(self, attr: &str) -> Option<&'static str> {
        let attr = match attr {
            "tenant_id" => "project_id",
            "router:external" => "router_external",
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

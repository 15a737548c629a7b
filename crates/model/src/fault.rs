//! The error shape every layer maps to: Neutron's `NeutronError` body.

use serde::Serialize;

/// A client-visible error: HTTP status plus the three fields of Neutron's
/// `{"NeutronError": {"type", "message", "detail"}}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// HTTP status code.
    #[serde(skip)]
    pub status: u16,
    /// Neutron's exception class name, e.g. `NetworkNotFound`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable message, Neutron's wording.
    pub message: String,
    /// Extra detail; usually empty.
    pub detail: String,
}

impl Fault {
    /// A fault with an empty detail.
    pub fn new(status: u16, kind: impl Into<String>, message: impl Into<String>) -> Self {
        Fault { status, kind: kind.into(), message: message.into(), detail: String::new() }
    }

    /// 400 `HTTPBadRequest`, as Neutron's API layer raises for malformed input.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Fault::new(400, "HTTPBadRequest", message)
    }

    /// 400 `InvalidInput` ("Invalid input for operation: …").
    pub fn invalid_input(message: impl std::fmt::Display) -> Self {
        Fault::new(400, "InvalidInput", format!("Invalid input for operation: {message}."))
    }

    /// 404 `HTTPNotFound` for a path that names no resource type.
    pub fn not_found(message: impl Into<String>) -> Self {
        Fault::new(404, "HTTPNotFound", message)
    }

    /// 404 for a missing resource, e.g. `NetworkNotFound`.
    pub fn resource_not_found(resource: Resource, id: &str) -> Self {
        let (kind, label) = match resource {
            Resource::Network => ("NetworkNotFound", "Network"),
            Resource::Subnet => ("SubnetNotFound", "Subnet"),
            Resource::Port => ("PortNotFound", "Port"),
            Resource::Router => ("RouterNotFound", "Router"),
            Resource::FloatingIp => ("FloatingIPNotFound", "Floating IP"),
            Resource::SecurityGroup => {
                return Fault::new(404, "SecurityGroupNotFound", format!("Security group {id} does not exist"))
            }
            Resource::SecurityGroupRule => {
                return Fault::new(404, "SecurityGroupRuleNotFound", format!("Security group rule {id} does not exist"))
            }
            Resource::RbacPolicy => {
                return Fault::new(
                    404,
                    "RbacPolicyNotFound",
                    format!("RBAC policy of type network with ID {id} not found"),
                )
            }
        };
        Fault::new(404, kind, format!("{label} {id} could not be found."))
    }

    /// The JSON body `{"NeutronError": {...}}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "NeutronError": self })
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.kind, self.message)
    }
}

/// The core resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `network`
    Network,
    /// `subnet`
    Subnet,
    /// `port`
    Port,
    /// `rbac_policy`
    RbacPolicy,
    /// `router`
    Router,
    /// `floatingip`
    FloatingIp,
    /// `security_group`
    SecurityGroup,
    /// `security_group_rule`
    SecurityGroupRule,
}

impl Resource {
    /// Singular JSON key, e.g. `network`.
    pub fn singular(self) -> &'static str {
        match self {
            Resource::Network => "network",
            Resource::Subnet => "subnet",
            Resource::Port => "port",
            Resource::RbacPolicy => "rbac_policy",
            Resource::Router => "router",
            Resource::FloatingIp => "floatingip",
            Resource::SecurityGroup => "security_group",
            Resource::SecurityGroupRule => "security_group_rule",
        }
    }

    /// The URL segment of the collection, e.g. `networks`, `rbac-policies`.
    pub fn collection_path(self) -> &'static str {
        match self {
            Resource::RbacPolicy => "rbac-policies",
            Resource::SecurityGroup => "security-groups",
            Resource::SecurityGroupRule => "security-group-rules",
            other => other.plural(),
        }
    }

    /// Plural JSON key, e.g. `networks`.
    pub fn plural(self) -> &'static str {
        match self {
            Resource::Network => "networks",
            Resource::Subnet => "subnets",
            Resource::Port => "ports",
            Resource::RbacPolicy => "rbac_policies",
            Resource::Router => "routers",
            Resource::FloatingIp => "floatingips",
            Resource::SecurityGroup => "security_groups",
            Resource::SecurityGroupRule => "security_group_rules",
        }
    }
}

//! The `rbac_policy` resource: sharing a network with other projects.

use serde::{Deserialize, Serialize};

/// `access_as_shared`: the target may see the network and plug ports into it.
pub const ACCESS_AS_SHARED: &str = "access_as_shared";
/// `access_as_external`: the target may use the network as an external network.
pub const ACCESS_AS_EXTERNAL: &str = "access_as_external";
/// The target meaning "every project".
pub const EVERY_PROJECT: &str = "*";

/// An RBAC policy as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RbacPolicy {
    /// UUID.
    pub id: String,
    /// Owning project (the object's owner, or an admin's choice).
    pub project_id: String,
    /// Same as `project_id`.
    pub tenant_id: String,
    /// Type of the object; `network`.
    pub object_type: String,
    /// The object's id.
    pub object_id: String,
    /// The project given access, or `*`.
    pub target_tenant: String,
    /// `access_as_shared` or `access_as_external`.
    pub action: String,
}

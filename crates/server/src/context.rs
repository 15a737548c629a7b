//! Who is calling: project and roles of a request.

use neutrino_store::Scope;

/// The caller of one API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The project the request acts for.
    pub project_id: String,
    /// Whether the caller has the admin role.
    pub is_admin: bool,
    /// Whether the caller may change anything: the admin or member role
    /// (a `reader` only reads, as in Neutron's default policies).
    pub can_write: bool,
}

/// Project used by noauth requests that name none.
pub const NOAUTH_PROJECT: &str = "noauth-project";

impl RequestContext {
    /// An administrator acting in `project_id`.
    pub fn admin(project_id: impl Into<String>) -> Self {
        RequestContext { project_id: project_id.into(), is_admin: true, can_write: true }
    }

    /// A member of `project_id`.
    pub fn member(project_id: impl Into<String>) -> Self {
        RequestContext { project_id: project_id.into(), is_admin: false, can_write: true }
    }

    /// The store visibility rule for this caller.
    pub fn scope(&self) -> Scope {
        if self.is_admin {
            Scope::Admin
        } else {
            Scope::Project(self.project_id.clone())
        }
    }

    /// A reader of `project_id`: may look, not touch.
    pub fn reader(project_id: impl Into<String>) -> Self {
        RequestContext { project_id: project_id.into(), is_admin: false, can_write: false }
    }

    /// Whether the caller may modify a resource of `owner`.
    pub fn owns(&self, owner: &str) -> bool {
        self.is_admin || self.project_id == owner
    }
}

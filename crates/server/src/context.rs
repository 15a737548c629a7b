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
    /// The caller's roles, lower case, implied ones included.
    pub roles: Vec<String>,
    /// The authenticated user, when there is one (not under noauth).
    pub user_id: Option<String>,
}

/// Project used by noauth requests that name none.
pub const NOAUTH_PROJECT: &str = "noauth-project";

impl RequestContext {
    /// A caller of `project_id` with `roles`, expanded by Keystone's default
    /// role inference (admin implies member implies reader).
    pub fn with_roles(project_id: impl Into<String>, user_id: Option<String>, roles: &[&str]) -> Self {
        let mut all: Vec<String> = roles.iter().map(|r| r.to_ascii_lowercase()).collect();
        if all.iter().any(|r| r == "admin") {
            all.push("member".into());
        }
        if all.iter().any(|r| r == "member") {
            all.push("reader".into());
        }
        all.sort();
        all.dedup();
        let is_admin = all.iter().any(|r| r == "admin");
        let can_write = all.iter().any(|r| r == "member");
        RequestContext { project_id: project_id.into(), is_admin, can_write, roles: all, user_id }
    }

    /// An administrator acting in `project_id`.
    pub fn admin(project_id: impl Into<String>) -> Self {
        RequestContext::with_roles(project_id, None, &["admin"])
    }

    /// A member of `project_id`.
    pub fn member(project_id: impl Into<String>) -> Self {
        RequestContext::with_roles(project_id, None, &["member"])
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
        RequestContext::with_roles(project_id, None, &["reader"])
    }

    /// Whether the caller may modify a resource of `owner`.
    pub fn owns(&self, owner: &str) -> bool {
        self.is_admin || self.project_id == owner
    }
}

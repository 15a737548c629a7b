//! Who is calling: project and roles of a request, and the policy that
//! decides what they may do.

use std::sync::{Arc, OnceLock};

use neutrino_store::Scope;
use serde_json::{Map, Value};

use crate::error::{PluginError, PluginResult};
use crate::policy::{Credentials, Policy};

/// The caller of one API request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The project the request acts for.
    pub project_id: String,
    /// Whether the caller has the admin role.
    pub is_admin: bool,
    /// Whether the caller may change anything: the member role (implied by
    /// manager and admin; a `reader` only reads).
    pub can_write: bool,
    /// The caller's roles, lower case, implied ones included.
    pub roles: Vec<String>,
    /// The authenticated user, when there is one (not under noauth).
    pub user_id: Option<String>,
    /// The API policy in force.
    pub policy: Arc<Policy>,
}

/// Project used by noauth requests that name none.
pub const NOAUTH_PROJECT: &str = "noauth-project";

/// Neutron's default policy, shared.
pub fn default_policy() -> Arc<Policy> {
    static DEFAULT: OnceLock<Arc<Policy>> = OnceLock::new();
    DEFAULT.get_or_init(|| Arc::new(Policy::defaults())).clone()
}

/// Keystone's default role inference: admin implies manager implies member
/// implies reader.
const IMPLIES: &[(&str, &str)] = &[("admin", "manager"), ("manager", "member"), ("member", "reader")];

impl RequestContext {
    /// A caller of `project_id` with `roles`, expanded by role inference,
    /// under the default policy.
    pub fn with_roles(project_id: impl Into<String>, user_id: Option<String>, roles: &[&str]) -> Self {
        let mut all: Vec<String> = roles.iter().map(|r| r.to_ascii_lowercase()).collect();
        for (role, implied) in IMPLIES {
            if all.iter().any(|r| r == role) {
                all.push((*implied).to_string());
            }
        }
        all.sort();
        all.dedup();
        let is_admin = all.iter().any(|r| r == "admin");
        let can_write = all.iter().any(|r| r == "member");
        RequestContext {
            project_id: project_id.into(),
            is_admin,
            can_write,
            roles: all,
            user_id,
            policy: default_policy(),
        }
    }

    /// The same caller under `policy`.
    pub fn under(mut self, policy: Arc<Policy>) -> Self {
        self.policy = policy;
        self
    }

    /// An administrator acting in `project_id`.
    pub fn admin(project_id: impl Into<String>) -> Self {
        RequestContext::with_roles(project_id, None, &["admin"])
    }

    /// A member of `project_id`.
    pub fn member(project_id: impl Into<String>) -> Self {
        RequestContext::with_roles(project_id, None, &["member"])
    }

    /// A reader of `project_id`: may look, not touch.
    pub fn reader(project_id: impl Into<String>) -> Self {
        RequestContext::with_roles(project_id, None, &["reader"])
    }

    /// The store visibility rule for this caller.
    pub fn scope(&self) -> Scope {
        if self.is_admin {
            Scope::Admin
        } else {
            Scope::Project(self.project_id.clone())
        }
    }

    /// Whether the caller may modify a resource of `owner`.
    pub fn owns(&self, owner: &str) -> bool {
        self.is_admin || self.project_id == owner
    }

    fn credentials(&self) -> Credentials {
        Credentials {
            user_id: self.user_id.clone(),
            project_id: self.project_id.clone(),
            roles: self.roles.clone(),
            is_admin: self.is_admin,
        }
    }

    /// Whether the policy allows `action` on `target`.
    pub fn allowed(&self, action: &str, target: &Map<String, Value>) -> bool {
        self.policy.enforce(action, &self.credentials(), target)
    }

    /// 403 naming the rule unless the policy allows `action` on `target`.
    pub fn enforce(&self, action: &str, target: &Map<String, Value>) -> PluginResult<()> {
        if self.allowed(action, target) {
            Ok(())
        } else {
            Err(PluginError::Forbidden(action.to_string()))
        }
    }
}

/// A policy target for a resource of `owner` on a network of
/// `network_owner`: the ids under Neutron's names (`project_id`,
/// `tenant_id`, `network:project_id`, `network:tenant_id`).
pub fn target(owner: &str, network_owner: &str) -> Map<String, Value> {
    let mut t = Map::new();
    for (k, v) in [
        ("project_id", owner),
        ("tenant_id", owner),
        ("network:project_id", network_owner),
        ("network:tenant_id", network_owner),
    ] {
        t.insert(k.to_string(), Value::String(v.to_string()));
    }
    t
}

/// A policy target from a resource document plus its network's owner.
pub fn doc_target(doc: &Value, network_owner: Option<&str>) -> Map<String, Value> {
    let mut t = doc.as_object().cloned().unwrap_or_default();
    let owner = t.get("project_id").and_then(Value::as_str).unwrap_or_default().to_string();
    t.entry("tenant_id").or_insert_with(|| Value::String(owner.clone()));
    let net = network_owner.unwrap_or(&owner).to_string();
    t.insert("network:project_id".into(), Value::String(net.clone()));
    t.insert("network:tenant_id".into(), Value::String(net));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_inference_follows_keystone() {
        assert_eq!(RequestContext::admin("p").roles, ["admin", "manager", "member", "reader"]);
        let m = RequestContext::with_roles("p", None, &["Manager"]);
        assert_eq!(m.roles, ["manager", "member", "reader"]);
        assert!(!m.is_admin && m.can_write);
        assert!(!RequestContext::reader("p").can_write);
    }

    #[test]
    fn default_policy_personas() {
        let own = target("p", "p");
        let other = target("q", "q");
        assert!(RequestContext::member("p").allowed("create_network", &own));
        assert!(!RequestContext::member("p").allowed("create_network", &other));
        assert!(!RequestContext::reader("p").allowed("create_network", &own));
        assert!(!RequestContext::member("p").allowed("create_network:shared", &own));
        assert!(RequestContext::admin("p").allowed("create_network:shared", &other));
        // Own quota: managers and admins, not plain members (Neutron's defaults).
        assert!(!RequestContext::member("p").allowed("get_quota", &own));
        assert!(RequestContext::with_roles("p", None, &["manager"]).allowed("get_quota", &own));
        assert!(RequestContext::member("p").enforce("update_quota", &own).is_err());
    }
}

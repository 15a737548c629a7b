//! `neutrino identity bootstrap`, as `keystone-manage bootstrap`: the
//! default domain, an admin project and user, the roles admin, manager,
//! member and reader, a region and the identity and network endpoints. Idempotent:
//! what exists is kept, except the admin's password, which is set.

use neutrino_store::SqlValue;
use serde_json::{json, Value};

use crate::admin::Input;
use crate::error::IdentityResult;
use crate::identity::{eq, Identity};
use crate::records::{
    Assignment, Domain, Endpoint, Project, Region, Role, Service, User, DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME,
};

/// What to bootstrap.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// The admin user's name.
    pub admin_username: String,
    /// The admin user's password.
    pub admin_password: String,
    /// The admin project's name.
    pub project_name: String,
    /// The region of the endpoints.
    pub region_id: String,
    /// The identity URL (`…/v3`) for the catalog.
    pub identity_url: String,
    /// The network API URL for the catalog.
    pub network_url: String,
}

/// What bootstrap did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootstrapReport {
    /// Records created, as `kind name`.
    pub created: Vec<String>,
    /// The admin user's id.
    pub admin_user_id: String,
    /// The admin project's id.
    pub admin_project_id: String,
}

fn obj(v: Value) -> Input {
    match v {
        Value::Object(m) => m,
        _ => Input::new(),
    }
}

impl Identity {
    /// Whether any user exists (an empty identity is bootstrapped on the
    /// all-in-one's first start).
    pub async fn is_empty(&self) -> IdentityResult<bool> {
        Ok(self.list_records::<User>(Vec::new()).await?.is_empty())
    }

    /// Runs the bootstrap.
    pub async fn bootstrap(&self, b: &Bootstrap) -> IdentityResult<BootstrapReport> {
        let mut report = BootstrapReport::default();
        if self.list_records::<Domain>(vec![eq("name", SqlValue::Text(DEFAULT_DOMAIN_NAME.into()))]).await?.is_empty() {
            let d = obj(json!({"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME,
                "description": "The default domain"}));
            self.create_domain_with_id(d).await?;
            report.created.push(format!("domain {DEFAULT_DOMAIN_NAME}"));
        }
        let by_name = |name: &str| {
            vec![eq("domain_id", SqlValue::Text(DEFAULT_DOMAIN_ID.into())), eq("name", SqlValue::Text(name.into()))]
        };
        let project = match self.list_records::<Project>(by_name(&b.project_name)).await?.into_iter().next() {
            Some(p) => p,
            None => {
                report.created.push(format!("project {}", b.project_name));
                self.create_project(&obj(json!({"name": b.project_name, "description": "Bootstrap project"}))).await?
            }
        };
        let user = match self.list_records::<User>(by_name(&b.admin_username)).await?.into_iter().next() {
            Some(u) => {
                self.update_user(&u.id, &obj(json!({"password": b.admin_password}))).await?;
                u
            }
            None => {
                report.created.push(format!("user {}", b.admin_username));
                self.create_user(&obj(json!({"name": b.admin_username, "password": b.admin_password,
                    "default_project_id": project.id})))
                    .await?
            }
        };
        let mut admin_role = None;
        for name in ["admin", "manager", "member", "reader"] {
            let role = match self.list_records::<Role>(vec![eq("name", SqlValue::Text(name.into()))]).await?.pop() {
                Some(r) => r,
                None => {
                    report.created.push(format!("role {name}"));
                    self.create_role(&obj(json!({"name": name}))).await?
                }
            };
            if name == "admin" {
                admin_role = Some(role);
            }
        }
        if let Some(role) = admin_role {
            self.grant(&Assignment { project_id: project.id.clone(), user_id: user.id.clone(), role_id: role.id })
                .await?;
        }
        if self.list_records::<Region>(vec![eq("id", SqlValue::Text(b.region_id.clone()))]).await?.is_empty() {
            report.created.push(format!("region {}", b.region_id));
            self.create_region(&obj(json!({"id": b.region_id}))).await?;
        }
        for (kind, name, description, url) in [
            ("identity", "keystone", "Identity (Neutrino built-in)", &b.identity_url),
            ("network", "neutron", "OpenStack Networking", &b.network_url),
        ] {
            if self.list_records::<Service>(vec![eq("type", SqlValue::Text(kind.into()))]).await?.is_empty() {
                report.created.push(format!("service {name}"));
                let s =
                    self.create_service(&obj(json!({"type": kind, "name": name, "description": description}))).await?;
                for interface in ["public", "internal", "admin"] {
                    self.create_endpoint(&obj(json!({"service_id": s.id, "interface": interface, "url": url,
                        "region_id": b.region_id})))
                        .await?;
                }
            }
        }
        report.admin_user_id = user.id;
        report.admin_project_id = project.id;
        Ok(report)
    }

    async fn create_domain_with_id(&self, input: Input) -> IdentityResult<Domain> {
        let d: Domain = serde_json::from_value(Value::Object({
            let mut m = input;
            m.insert("enabled".into(), Value::Bool(true));
            m
        }))
        .map_err(|e| crate::error::IdentityError::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        Self::insert(&mut tx, &d).await?;
        tx.commit().await?;
        Ok(d)
    }

    /// Points the endpoints of the bootstrapped services (`keystone` of type
    /// identity, `neutron` of type network) at `identity_url` and
    /// `network_url`: the all-in-one does this on every start, so its
    /// catalog follows its listeners. Returns how many endpoints changed.
    pub async fn sync_catalog(&self, identity_url: &str, network_url: &str) -> IdentityResult<usize> {
        let mut changed = 0;
        for (kind, name, url) in [("identity", "keystone", identity_url), ("network", "neutron", network_url)] {
            let services = self
                .list_records::<Service>(vec![
                    eq("type", SqlValue::Text(kind.into())),
                    eq("name", SqlValue::Text(name.into())),
                ])
                .await?;
            for s in services {
                for e in self.list_records::<Endpoint>(vec![eq("service_id", SqlValue::Text(s.id))]).await? {
                    if e.url != url {
                        self.update_endpoint(&e.id, &obj(json!({"url": url}))).await?;
                        changed += 1;
                    }
                }
            }
        }
        Ok(changed)
    }

    /// Endpoints of services of `kind` (for tests and the CLI).
    pub async fn endpoints_of(&self, kind: &str) -> IdentityResult<Vec<Endpoint>> {
        let mut out = Vec::new();
        for s in self.list_records::<Service>(vec![eq("type", SqlValue::Text(kind.into()))]).await? {
            out.extend(self.list_records::<Endpoint>(vec![eq("service_id", SqlValue::Text(s.id))]).await?);
        }
        Ok(out)
    }
}

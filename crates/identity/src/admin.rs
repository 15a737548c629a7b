//! Administration of the identity's records: domains, projects, users,
//! roles and assignments, regions, services and endpoints. Callers are
//! authorised by the API layer; here inputs are validated and stored.

use neutrino_store::{Filter, SqlValue};
use serde_json::{json, Map, Value};

use crate::error::{IdentityError, IdentityResult};
use crate::identity::{eq, Identity, Record};
use crate::records::{Assignment, Domain, Endpoint, Project, Region, Role, Service, User, DEFAULT_DOMAIN_ID};

/// A JSON object from the request body.
pub type Input = Map<String, Value>;

const INTERFACES: [&str; 3] = ["public", "internal", "admin"];

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `base` overlaid with `input` (minus `skip`), as a record; `immutable`
/// attributes may not be given.
fn merge<R: Record>(base: Value, input: &Input, immutable: &[&str], skip: &[&str]) -> IdentityResult<R> {
    if let Some(k) = immutable.iter().find(|k| input.contains_key(**k)) {
        return Err(IdentityError::Validation(format!("Cannot change {} of a {}.", k, R::KIND)));
    }
    let Value::Object(mut merged) = base else {
        return Err(IdentityError::Internal("record is not an object".into()));
    };
    for (k, v) in input.iter().filter(|(k, _)| !skip.contains(&k.as_str()) && k.as_str() != "links") {
        merged.insert(k.clone(), v.clone());
    }
    serde_json::from_value(Value::Object(merged))
        .map_err(|e| IdentityError::Validation(format!("Invalid input for {}: {e}", R::KIND)))
}

fn check_name(kind: &str, name: &str) -> IdentityResult<()> {
    if name.trim().is_empty() || name.len() > 255 {
        Err(IdentityError::Validation(format!("The {kind} name must be 1 to 255 characters.")))
    } else {
        Ok(())
    }
}

fn to_value<R: serde::Serialize>(r: &R) -> IdentityResult<Value> {
    serde_json::to_value(r).map_err(|e| IdentityError::Internal(e.to_string()))
}

/// Equality filters from query parameters: `(attribute, value)`; values of
/// boolean attributes are `true`/`false`.
pub fn filters(pairs: &[(String, String)], allowed: &[&str]) -> Vec<Filter> {
    pairs
        .iter()
        .filter(|(k, _)| allowed.contains(&k.as_str()))
        .map(|(k, v)| {
            let value = if k == "enabled" {
                SqlValue::Int(i64::from(!matches!(v.to_ascii_lowercase().as_str(), "false" | "0" | "no")))
            } else {
                SqlValue::Text(v.clone())
            };
            eq(k, value)
        })
        .collect()
}

impl Identity {
    /// Lists records of one kind matching `filters`.
    pub(crate) async fn list_records<R: Record>(&self, filters: Vec<Filter>) -> IdentityResult<Vec<R>> {
        let mut db = self.store.read().await?;
        Self::list_in(&mut db, filters).await
    }

    /// One record.
    pub(crate) async fn show<R: Record>(&self, id: &str) -> IdentityResult<R> {
        let mut db = self.store.read().await?;
        Self::get(&mut db, id).await
    }

    /// Deletes one record.
    pub(crate) async fn delete_record<R: Record>(&self, id: &str) -> IdentityResult<()> {
        let mut tx = self.store.begin().await?;
        Self::remove::<R>(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a domain.
    pub async fn create_domain(&self, input: &Input) -> IdentityResult<Domain> {
        let d: Domain = merge(json!({"id": new_id(), "enabled": true}), input, &["id"], &[])?;
        check_name("domain", &d.name)?;
        let mut tx = self.store.begin().await?;
        Self::insert(&mut tx, &d).await?;
        tx.commit().await?;
        Ok(d)
    }

    /// Updates a domain (`enabled`, `name`, `description`).
    pub async fn update_domain(&self, id: &str, input: &Input) -> IdentityResult<Domain> {
        let mut tx = self.store.begin().await?;
        let old: Domain = Self::get(&mut tx, id).await?;
        let d: Domain = merge(to_value(&old)?, input, &["id"], &[])?;
        check_name("domain", &d.name)?;
        Self::replace(&mut tx, &d).await?;
        tx.commit().await?;
        Ok(d)
    }

    /// Deletes a domain: it must be disabled first, as in Keystone.
    pub async fn delete_domain(&self, id: &str) -> IdentityResult<()> {
        let d: Domain = self.show(id).await?;
        if d.enabled {
            return Err(IdentityError::Forbidden(format!(
                "Cannot delete domain {id}: it is enabled; disable it first."
            )));
        }
        self.delete_record::<Domain>(id).await
    }

    /// Creates a project (in the default domain unless `domain_id` says otherwise).
    pub async fn create_project(&self, input: &Input) -> IdentityResult<Project> {
        let domain_id = input.get("domain_id").and_then(Value::as_str).unwrap_or(DEFAULT_DOMAIN_ID).to_string();
        let base = json!({"id": new_id(), "enabled": true, "domain_id": domain_id, "parent_id": domain_id});
        let p: Project = merge(base, input, &["id", "is_domain"], &[])?;
        check_name("project", &p.name)?;
        let mut tx = self.store.begin().await?;
        Self::get::<Domain>(&mut tx, &p.domain_id).await?;
        Self::insert(&mut tx, &p).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Updates a project.
    pub async fn update_project(&self, id: &str, input: &Input) -> IdentityResult<Project> {
        let mut tx = self.store.begin().await?;
        let old: Project = Self::get(&mut tx, id).await?;
        let p: Project = merge(to_value(&old)?, input, &["id", "domain_id", "parent_id", "is_domain"], &[])?;
        check_name("project", &p.name)?;
        Self::replace(&mut tx, &p).await?;
        if old.enabled && !p.enabled {
            self.revoke_all(&mut tx, &format!("project:{}", p.id)).await?;
        }
        tx.commit().await?;
        Ok(p)
    }

    /// Creates a user, with a password when one is given.
    pub async fn create_user(&self, input: &Input) -> IdentityResult<User> {
        let domain_id = input.get("domain_id").and_then(Value::as_str).unwrap_or(DEFAULT_DOMAIN_ID).to_string();
        let base = json!({"id": new_id(), "enabled": true, "domain_id": domain_id, "password_expires_at": null});
        let u: User = merge(base, input, &["id", "password_expires_at"], &["password"])?;
        check_name("user", &u.name)?;
        let hash = match input.get("password") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(crate::password::hash(p).await?),
            Some(_) => return Err(IdentityError::Validation("The password must be a string.".into())),
        };
        let mut tx = self.store.begin().await?;
        Self::get::<Domain>(&mut tx, &u.domain_id).await?;
        if let Some(pid) = &u.default_project_id {
            Self::get::<Project>(&mut tx, pid).await?;
        }
        Self::insert(&mut tx, &u).await?;
        if let Some(h) = hash {
            tx.set_password_hash(&u.id, &h).await?;
        }
        tx.commit().await?;
        Ok(u)
    }

    /// Updates a user (a `password` attribute sets a new password).
    pub async fn update_user(&self, id: &str, input: &Input) -> IdentityResult<User> {
        let hash = match input.get("password") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(crate::password::hash(p).await?),
            Some(_) => return Err(IdentityError::Validation("The password must be a string.".into())),
        };
        let mut tx = self.store.begin().await?;
        let old: User = Self::get(&mut tx, id).await?;
        let u: User = merge(to_value(&old)?, input, &["id", "domain_id"], &["password"])?;
        check_name("user", &u.name)?;
        if let Some(pid) = u.default_project_id.as_ref().filter(|p| Some(*p) != old.default_project_id.as_ref()) {
            Self::get::<Project>(&mut tx, pid).await?;
        }
        Self::replace(&mut tx, &u).await?;
        if let Some(h) = &hash {
            tx.set_password_hash(&u.id, h).await?;
        }
        // As Keystone: a new password or disabling ends the user's sessions
        // (for good: enabling the user again does not revive them).
        if hash.is_some() || (old.enabled && !u.enabled) {
            self.revoke_all(&mut tx, &format!("user:{}", u.id)).await?;
        }
        tx.commit().await?;
        Ok(u)
    }

    /// Revokes every token of `subject` issued until now.
    async fn revoke_all(&self, tx: &mut neutrino_store::Tx, subject: &str) -> IdentityResult<()> {
        let expires = crate::records::now() + self.settings.token_expiration;
        tx.revoke_tokens_before(subject, crate::records::now_ms(), expires).await?;
        Ok(())
    }

    /// Creates a role.
    pub async fn create_role(&self, input: &Input) -> IdentityResult<Role> {
        let r: Role = merge(json!({"id": new_id()}), input, &["id"], &[])?;
        check_name("role", &r.name)?;
        let mut tx = self.store.begin().await?;
        Self::insert(&mut tx, &r).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Updates a role (`name`, `description`).
    pub async fn update_role(&self, id: &str, input: &Input) -> IdentityResult<Role> {
        let mut tx = self.store.begin().await?;
        let old: Role = Self::get(&mut tx, id).await?;
        let r: Role = merge(to_value(&old)?, input, &["id", "domain_id"], &[])?;
        check_name("role", &r.name)?;
        Self::replace(&mut tx, &r).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Grants `role` to `user` on `project` (idempotent).
    pub async fn grant(&self, a: &Assignment) -> IdentityResult<()> {
        let mut tx = self.store.begin().await?;
        Self::get::<Project>(&mut tx, &a.project_id).await?;
        Self::get::<User>(&mut tx, &a.user_id).await?;
        Self::get::<Role>(&mut tx, &a.role_id).await?;
        if Self::find::<Assignment>(&mut tx, &a.id()).await?.is_none() {
            Self::insert(&mut tx, a).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether the assignment exists; 404 naming what is missing otherwise.
    pub async fn check_grant(&self, a: &Assignment) -> IdentityResult<()> {
        let mut db = self.store.read().await?;
        Self::get::<Project>(&mut db, &a.project_id).await?;
        Self::get::<User>(&mut db, &a.user_id).await?;
        Self::get::<Role>(&mut db, &a.role_id).await?;
        match Self::find::<Assignment>(&mut db, &a.id()).await? {
            Some(_) => Ok(()),
            None => Err(IdentityError::NotFound { kind: "role assignment", id: a.id() }),
        }
    }

    /// Removes a grant.
    pub async fn revoke_grant(&self, a: &Assignment) -> IdentityResult<()> {
        self.check_grant(a).await?;
        self.delete_record::<Assignment>(&a.id()).await
    }

    /// Role assignments matching the filters (`user_id`, `project_id`, `role_id`).
    pub async fn assignments(&self, filters: Vec<Filter>) -> IdentityResult<Vec<Assignment>> {
        self.list_records(filters).await
    }

    /// The enabled projects on which a user has a role.
    pub async fn projects_of_user(&self, user_id: &str) -> IdentityResult<Vec<Project>> {
        let mut db = self.store.read().await?;
        let grants = Self::list_in::<Assignment>(&mut db, vec![eq("user_id", SqlValue::Text(user_id.into()))]).await?;
        let mut ids: Vec<String> = grants.into_iter().map(|g| g.project_id).collect();
        ids.sort();
        ids.dedup();
        let mut out = Vec::new();
        for id in ids {
            if let Some(p) = Self::find::<Project>(&mut db, &id).await? {
                if p.enabled {
                    out.push(p);
                }
            }
        }
        Ok(out)
    }

    /// Creates a region (the id may be given, as `RegionOne`).
    pub async fn create_region(&self, input: &Input) -> IdentityResult<Region> {
        let r: Region = merge(json!({"id": new_id()}), input, &[], &[])?;
        check_name("region", &r.id)?;
        let mut tx = self.store.begin().await?;
        if let Some(parent) = &r.parent_region_id {
            Self::get::<Region>(&mut tx, parent).await?;
        }
        Self::insert(&mut tx, &r).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Updates a region.
    pub async fn update_region(&self, id: &str, input: &Input) -> IdentityResult<Region> {
        let mut tx = self.store.begin().await?;
        let old: Region = Self::get(&mut tx, id).await?;
        let r: Region = merge(to_value(&old)?, input, &["id"], &[])?;
        if let Some(parent) = &r.parent_region_id {
            if parent == &r.id {
                return Err(IdentityError::Validation("A region cannot be its own parent.".into()));
            }
            Self::get::<Region>(&mut tx, parent).await?;
        }
        Self::replace(&mut tx, &r).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Creates a service.
    pub async fn create_service(&self, input: &Input) -> IdentityResult<Service> {
        let s: Service = merge(json!({"id": new_id(), "enabled": true}), input, &["id"], &[])?;
        check_name("service type", &s.kind)?;
        let mut tx = self.store.begin().await?;
        Self::insert(&mut tx, &s).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Updates a service.
    pub async fn update_service(&self, id: &str, input: &Input) -> IdentityResult<Service> {
        let mut tx = self.store.begin().await?;
        let old: Service = Self::get(&mut tx, id).await?;
        let s: Service = merge(to_value(&old)?, input, &["id"], &[])?;
        check_name("service type", &s.kind)?;
        Self::replace(&mut tx, &s).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Creates an endpoint (`region` is accepted for `region_id`).
    pub async fn create_endpoint(&self, input: &Input) -> IdentityResult<Endpoint> {
        let e: Endpoint = merge(json!({"id": new_id(), "enabled": true}), &region_alias(input), &["id"], &[])?;
        let mut tx = self.store.begin().await?;
        Self::check_endpoint(&mut tx, &e).await?;
        Self::insert(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(e)
    }

    /// Updates an endpoint.
    pub async fn update_endpoint(&self, id: &str, input: &Input) -> IdentityResult<Endpoint> {
        let mut tx = self.store.begin().await?;
        let old: Endpoint = Self::get(&mut tx, id).await?;
        let e: Endpoint = merge(to_value(&old)?, &region_alias(input), &["id"], &[])?;
        Self::check_endpoint(&mut tx, &e).await?;
        Self::replace(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(e)
    }

    async fn check_endpoint(tx: &mut neutrino_store::Tx, e: &Endpoint) -> IdentityResult<()> {
        if !INTERFACES.contains(&e.interface.as_str()) {
            return Err(IdentityError::Validation(format!(
                "Invalid interface '{}': expected public, internal or admin.",
                e.interface
            )));
        }
        if !(e.url.starts_with("http://") || e.url.starts_with("https://")) {
            return Err(IdentityError::Validation(format!("Invalid endpoint URL '{}'.", e.url)));
        }
        Self::get::<Service>(tx, &e.service_id).await?;
        if let Some(region) = &e.region_id {
            Self::get::<Region>(tx, region)
                .await
                .map_err(|_| IdentityError::Validation(format!("Region {region} does not exist: create it first.")))?;
        }
        Ok(())
    }
}

/// Keystone takes `region` (legacy) or `region_id`; both end up equal.
fn region_alias(input: &Input) -> Input {
    let mut out = input.clone();
    let region = input.get("region_id").or_else(|| input.get("region")).cloned();
    if let Some(r) = region {
        out.insert("region_id".into(), r.clone());
        out.insert("region".into(), r);
    }
    out
}

//! Tokens: issuing them for a password (or another token), validating them
//! and revoking them; a token's roles and catalog are computed here.

use std::collections::BTreeSet;

use neutrino_store::SqlValue;
use serde::Deserialize;

use crate::error::{IdentityError, IdentityResult};
use crate::identity::{eq, Docs, Identity};
use crate::records::{
    self, Assignment, CatalogEndpoint, CatalogEntry, Domain, Endpoint, IdName, Project, Role, Scoped, Service,
    TokenBody, User,
};
use crate::token::{self, TokenFormatError, TokenPayload, TokenScope};

/// `{"id": …}` or `{"name": …}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Reference {
    /// Id.
    pub id: Option<String>,
    /// Name.
    pub name: Option<String>,
}

/// A user in a password credential.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserCredential {
    /// Id.
    pub id: Option<String>,
    /// Name (needs `domain`).
    pub name: Option<String>,
    /// The user's domain.
    pub domain: Option<Reference>,
    /// The password.
    #[serde(default)]
    pub password: Option<String>,
}

/// The `password` method.
#[derive(Debug, Clone, Deserialize)]
pub struct PasswordMethod {
    /// Who.
    pub user: UserCredential,
}

/// The `token` method.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenMethod {
    /// The token.
    pub id: String,
}

/// `auth.identity`.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthIdentity {
    /// Methods used.
    pub methods: Vec<String>,
    /// Password credentials.
    pub password: Option<PasswordMethod>,
    /// An existing token.
    pub token: Option<TokenMethod>,
}

/// A project in a scope.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProjectScope {
    /// Id.
    pub id: Option<String>,
    /// Name (needs `domain`).
    pub name: Option<String>,
    /// The project's domain.
    pub domain: Option<Reference>,
}

/// `auth.scope`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthScope {
    /// Project scope.
    pub project: Option<ProjectScope>,
    /// Domain scope.
    pub domain: Option<Reference>,
    /// System scope (not supported).
    pub system: Option<serde_json::Value>,
}

/// `{"auth": {"identity": …, "scope": …}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthRequest {
    /// Who.
    pub identity: AuthIdentity,
    /// For what.
    #[serde(default)]
    pub scope: Option<AuthScope>,
}

/// A validated token.
#[derive(Debug, Clone)]
pub struct ValidToken {
    /// What it says.
    pub payload: TokenPayload,
    /// Its body as the API shows it.
    pub body: TokenBody,
}

impl ValidToken {
    /// Whether the token carries `role` (case-insensitive).
    pub fn has_role(&self, role: &str) -> bool {
        self.body.roles.iter().flatten().any(|r| r.name.eq_ignore_ascii_case(role))
    }

    /// Whether the caller is an identity administrator.
    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }
}

fn unauthorized() -> IdentityError {
    IdentityError::unauthenticated()
}

/// Roles implied by a role name, as Keystone's bootstrap sets them up:
/// admin implies manager, manager implies member, member implies reader.
fn implied(name: &str) -> &'static [&'static str] {
    match name {
        "admin" => &["manager", "member", "reader"],
        "manager" => &["member", "reader"],
        "member" => &["reader"],
        _ => &[],
    }
}

impl Identity {
    async fn resolve_domain(db: &mut impl Docs, r: &Reference) -> IdentityResult<Domain> {
        if let Some(id) = &r.id {
            return Self::get::<Domain>(db, id).await;
        }
        let Some(name) = &r.name else {
            return Err(IdentityError::Validation("A domain needs an id or a name.".into()));
        };
        let found = Self::list_in::<Domain>(db, vec![eq("name", SqlValue::Text(name.clone()))]).await?;
        found.into_iter().next().ok_or_else(|| IdentityError::NotFound { kind: "domain", id: name.clone() })
    }

    async fn resolve_user(db: &mut impl Docs, u: &UserCredential) -> IdentityResult<User> {
        if let Some(id) = &u.id {
            return Self::get::<User>(db, id).await;
        }
        let (Some(name), Some(domain)) = (&u.name, &u.domain) else {
            return Err(IdentityError::Validation("A user needs an id, or a name and a domain.".into()));
        };
        let domain = Self::resolve_domain(db, domain).await?;
        let found = Self::list_in::<User>(
            db,
            vec![eq("domain_id", SqlValue::Text(domain.id)), eq("name", SqlValue::Text(name.clone()))],
        )
        .await?;
        found.into_iter().next().ok_or_else(|| IdentityError::NotFound { kind: "user", id: name.clone() })
    }

    async fn resolve_project(db: &mut impl Docs, p: &ProjectScope) -> IdentityResult<Project> {
        if let Some(id) = &p.id {
            return Self::get::<Project>(db, id).await;
        }
        let (Some(name), Some(domain)) = (&p.name, &p.domain) else {
            return Err(IdentityError::Validation("A project needs an id, or a name and a domain.".into()));
        };
        let domain = Self::resolve_domain(db, domain).await?;
        let found = Self::list_in::<Project>(
            db,
            vec![eq("domain_id", SqlValue::Text(domain.id)), eq("name", SqlValue::Text(name.clone()))],
        )
        .await?;
        found.into_iter().next().ok_or_else(|| IdentityError::NotFound { kind: "project", id: name.clone() })
    }

    /// A user's effective roles on a project (assigned and implied), by name.
    pub(crate) async fn effective_roles(
        db: &mut impl Docs,
        user_id: &str,
        project_id: &str,
    ) -> IdentityResult<Vec<IdName>> {
        let assigned = Self::list_in::<Assignment>(
            db,
            vec![eq("user_id", SqlValue::Text(user_id.into())), eq("project_id", SqlValue::Text(project_id.into()))],
        )
        .await?;
        let mut out: Vec<IdName> = Vec::new();
        let mut names = BTreeSet::new();
        for a in assigned {
            if let Some(role) = Self::find::<Role>(db, &a.role_id).await? {
                names.insert(role.name.clone());
                out.push(IdName { id: role.id, name: role.name });
            }
        }
        let wanted: BTreeSet<&str> = names.iter().flat_map(|n| implied(n).iter().copied()).collect();
        for name in wanted.into_iter().filter(|n| !names.contains(*n)) {
            let roles = Self::list_in::<Role>(db, vec![eq("name", SqlValue::Text(name.into()))]).await?;
            out.extend(roles.into_iter().map(|r| IdName { id: r.id, name: r.name }));
        }
        Ok(out)
    }

    /// The service catalog: enabled services with their enabled endpoints.
    pub(crate) async fn catalog(db: &mut impl Docs) -> IdentityResult<Vec<CatalogEntry>> {
        let services = Self::list_in::<Service>(db, vec![eq("enabled", SqlValue::Int(1))]).await?;
        let endpoints = Self::list_in::<Endpoint>(db, vec![eq("enabled", SqlValue::Int(1))]).await?;
        Ok(services
            .into_iter()
            .map(|s| CatalogEntry {
                endpoints: endpoints
                    .iter()
                    .filter(|e| e.service_id == s.id)
                    .map(|e| CatalogEndpoint {
                        id: e.id.clone(),
                        interface: e.interface.clone(),
                        region: e.region_id.clone(),
                        region_id: e.region_id.clone(),
                        url: e.url.clone(),
                    })
                    .collect(),
                id: s.id,
                kind: s.kind,
                name: s.name,
            })
            .collect())
    }

    /// The service catalog as tokens carry it.
    pub async fn service_catalog(&self) -> IdentityResult<Vec<CatalogEntry>> {
        let mut db = self.store.read().await?;
        Self::catalog(&mut db).await
    }

    /// The body of a token whose user, scope and roles are still valid;
    /// `None` when they are not (disabled, deleted, no role left).
    async fn body_of(db: &mut impl Docs, p: &TokenPayload, catalog: bool) -> IdentityResult<Option<TokenBody>> {
        let Some(user) = Self::find::<User>(db, &p.user_id).await? else { return Ok(None) };
        let Some(user_domain) = Self::find::<Domain>(db, &user.domain_id).await? else { return Ok(None) };
        if !user.enabled || !user_domain.enabled {
            return Ok(None);
        }
        let mut body = TokenBody {
            methods: p.methods.clone(),
            user: Scoped {
                id: user.id.clone(),
                name: user.name.clone(),
                domain: IdName { id: user_domain.id.clone(), name: user_domain.name.clone() },
            },
            audit_ids: p.audit_ids.clone(),
            expires_at: records::iso_time(p.expires_at),
            issued_at: records::iso_time(p.issued_at_ms / 1000),
            project: None,
            domain: None,
            roles: None,
            catalog: None,
            is_domain: false,
        };
        match &p.scope {
            TokenScope::Unscoped => {}
            TokenScope::Project(project_id) => {
                let Some(project) = Self::find::<Project>(db, project_id).await? else { return Ok(None) };
                let Some(domain) = Self::find::<Domain>(db, &project.domain_id).await? else { return Ok(None) };
                if !project.enabled || !domain.enabled {
                    return Ok(None);
                }
                let roles = Self::effective_roles(db, &user.id, &project.id).await?;
                if roles.is_empty() {
                    return Ok(None);
                }
                body.project = Some(Scoped {
                    id: project.id,
                    name: project.name,
                    domain: IdName { id: domain.id, name: domain.name },
                });
                body.roles = Some(roles);
                if catalog {
                    body.catalog = Some(Self::catalog(db).await?);
                }
            }
            TokenScope::Domain(domain_id) => {
                let Some(domain) = Self::find::<Domain>(db, domain_id).await? else { return Ok(None) };
                let roles = Self::domain_roles(db, &user.id, &domain.id).await?;
                if !domain.enabled || roles.is_empty() {
                    return Ok(None);
                }
                body.domain = Some(IdName { id: domain.id, name: domain.name });
                body.roles = Some(roles);
                if catalog {
                    body.catalog = Some(Self::catalog(db).await?);
                }
            }
        }
        Ok(Some(body))
    }

    /// Roles on a domain: there are no domain role assignments here, so a
    /// domain-scoped token is for administrators: the admin role on a
    /// project of the domain gives the admin (and implied) roles on it.
    async fn domain_roles(db: &mut impl Docs, user_id: &str, domain_id: &str) -> IdentityResult<Vec<IdName>> {
        let assigned = Self::list_in::<Assignment>(db, vec![eq("user_id", SqlValue::Text(user_id.into()))]).await?;
        for a in assigned {
            let Some(role) = Self::find::<Role>(db, &a.role_id).await? else { continue };
            let Some(project) = Self::find::<Project>(db, &a.project_id).await? else { continue };
            if role.name == "admin" && project.domain_id == domain_id {
                return Self::effective_roles(db, user_id, &project.id).await;
            }
        }
        Ok(Vec::new())
    }

    /// Issues a token: `POST /v3/auth/tokens`. Returns the token and its body.
    pub async fn authenticate(&self, req: &AuthRequest) -> IdentityResult<(String, TokenBody)> {
        let now = records::now();
        let mut db = self.store.read().await?;
        let mut methods: Vec<String> = Vec::new();
        let mut audit_ids = vec![token::new_audit_id()];
        let mut expires_at = now + self.settings.token_expiration;
        let user =
            if req.identity.methods.iter().any(|m| m == "password") {
                let cred = req.identity.password.as_ref().ok_or_else(|| {
                    IdentityError::Validation("The password method needs auth.identity.password.".into())
                })?;
                let user = match Self::resolve_user(&mut db, &cred.user).await {
                    Ok(u) => u,
                    Err(IdentityError::NotFound { .. }) => return Err(unauthorized()),
                    Err(e) => return Err(e),
                };
                let hash = db.password_hash(&user.id).await?;
                let given = cred.user.password.as_deref().unwrap_or("");
                let ok = match hash {
                    Some(h) => crate::password::verify(&h, given).await,
                    None => false,
                };
                if !ok {
                    tracing::info!(user = %user.id, "authentication failed: wrong password");
                    return Err(unauthorized());
                }
                methods.push("password".into());
                user
            } else if req.identity.methods.iter().any(|m| m == "token") {
                let t = req.identity.token.as_ref().ok_or_else(|| {
                    IdentityError::Validation("The token method needs auth.identity.token.id.".into())
                })?;
                let valid = self.validate(&t.id).await.map_err(|e| match e {
                    IdentityError::NotFound { .. } => unauthorized(),
                    other => other,
                })?;
                methods.extend(valid.payload.methods.iter().cloned());
                methods.push("token".into());
                audit_ids.push(valid.payload.audit_ids.first().cloned().unwrap_or_default());
                expires_at = valid.payload.expires_at;
                Self::get::<User>(&mut db, &valid.payload.user_id).await.map_err(|_| unauthorized())?
            } else {
                return Err(IdentityError::Unauthorized(format!(
                    "Unsupported authentication method: {}.",
                    req.identity.methods.join(", ")
                )));
            };
        let domain = Self::get::<Domain>(&mut db, &user.domain_id).await?;
        if !user.enabled || !domain.enabled {
            return Err(unauthorized());
        }
        methods.dedup();
        let scope = self.scope_for(&mut db, &user, req.scope.as_ref()).await?;
        let payload = TokenPayload {
            user_id: user.id.clone(),
            scope,
            methods,
            issued_at_ms: records::now_ms(),
            expires_at,
            audit_ids,
        };
        let body = Self::body_of(&mut db, &payload, true).await?.ok_or_else(unauthorized)?;
        let key = self.signing_key()?;
        let token = token::sign(&key, &payload).ok_or_else(|| IdentityError::Internal("cannot sign a token".into()))?;
        Ok((token, body))
    }

    async fn scope_for(
        &self,
        db: &mut impl Docs,
        user: &User,
        scope: Option<&AuthScope>,
    ) -> IdentityResult<TokenScope> {
        let Some(scope) = scope else {
            // As Keystone: no scope asked, the user's default project if
            // they have a role there.
            if let Some(pid) = &user.default_project_id {
                if let Some(p) = Self::find::<Project>(db, pid).await? {
                    if p.enabled && !Self::effective_roles(db, &user.id, pid).await?.is_empty() {
                        return Ok(TokenScope::Project(pid.clone()));
                    }
                }
            }
            return Ok(TokenScope::Unscoped);
        };
        if scope.system.is_some() {
            return Err(IdentityError::Validation("System scope is not supported by Neutrino's identity.".into()));
        }
        if let Some(p) = &scope.project {
            let project = match Self::resolve_project(db, p).await {
                Ok(p) => p,
                Err(IdentityError::NotFound { .. }) => return Err(unauthorized()),
                Err(e) => return Err(e),
            };
            let domain = Self::get::<Domain>(db, &project.domain_id).await?;
            if !project.enabled || !domain.enabled {
                return Err(IdentityError::Unauthorized(format!("Project {} is disabled.", project.id)));
            }
            if Self::effective_roles(db, &user.id, &project.id).await?.is_empty() {
                return Err(IdentityError::Unauthorized(format!(
                    "User {} has no access to project {}.",
                    user.id, project.id
                )));
            }
            return Ok(TokenScope::Project(project.id));
        }
        if let Some(d) = &scope.domain {
            let domain = Self::resolve_domain(db, d).await.map_err(|_| unauthorized())?;
            if !domain.enabled || Self::domain_roles(db, &user.id, &domain.id).await?.is_empty() {
                return Err(IdentityError::Unauthorized(format!(
                    "User {} has no access to domain {}.",
                    user.id, domain.id
                )));
            }
            return Ok(TokenScope::Domain(domain.id));
        }
        Ok(TokenScope::Unscoped)
    }

    /// The payload of a token with a good signature (reloading the keys
    /// once if another server signed it with a key not seen yet).
    async fn verified(&self, token: &str) -> IdentityResult<TokenPayload> {
        let not_found = || IdentityError::NotFound { kind: "token", id: short(token) };
        match token::verify(&self.all_keys()?, token) {
            Ok(p) => Ok(p),
            Err(TokenFormatError::UnknownKey(_)) => {
                self.reload_keys().await?;
                token::verify(&self.all_keys()?, token).map_err(|_| not_found())
            }
            Err(_) => Err(not_found()),
        }
    }

    /// Validates a token: signature, expiry, revocation, and that its
    /// user, scope and roles still hold. 404 when any fails, as Keystone.
    pub async fn validate(&self, token: &str) -> IdentityResult<ValidToken> {
        self.validate_with(token, true).await
    }

    /// Validates a token, with or without computing its catalog (the API
    /// needs only the scope and roles).
    pub async fn validate_with(&self, token: &str, catalog: bool) -> IdentityResult<ValidToken> {
        let not_found = || IdentityError::NotFound { kind: "token", id: short(token) };
        let payload = self.verified(token).await?;
        if payload.expires_at <= records::now() {
            return Err(not_found());
        }
        let mut db = self.store.read().await?;
        for audit in &payload.audit_ids {
            if db.is_revoked(audit).await? {
                return Err(not_found());
            }
        }
        let mut subjects = vec![format!("user:{}", payload.user_id)];
        if let TokenScope::Project(p) = &payload.scope {
            subjects.push(format!("project:{p}"));
        }
        for subject in &subjects {
            if db.revoked_before(subject).await?.is_some_and(|before| payload.issued_at_ms < before) {
                return Err(not_found());
            }
        }
        let body = Self::body_of(&mut db, &payload, catalog).await?.ok_or_else(not_found)?;
        Ok(ValidToken { payload, body })
    }

    /// Revokes a token (and every token re-scoped from it).
    pub async fn revoke(&self, token: &str) -> IdentityResult<()> {
        let valid = self.validate(token).await?;
        let audit = valid.payload.audit_ids.first().cloned().unwrap_or_default();
        let mut tx = self.store.begin().await?;
        tx.revoke_token(&audit, valid.payload.expires_at, records::now()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The start of a token, for messages (tokens are credentials).
fn short(token: &str) -> String {
    let head: String = token.chars().take(12).collect();
    format!("{head}…")
}

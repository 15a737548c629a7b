//! The identity's records as the v3 API shows them (without `links`, which
//! the API layer adds), and the token body.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The id (and name) of Keystone's default domain.
pub const DEFAULT_DOMAIN_ID: &str = "default";
/// The default domain's name.
pub const DEFAULT_DOMAIN_NAME: &str = "Default";

/// A domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Whether its users and projects may authenticate.
    pub enabled: bool,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Options (none are interpreted).
    #[serde(default)]
    pub options: Map<String, Value>,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// Id.
    pub id: String,
    /// Name, unique in its domain.
    pub name: String,
    /// Owning domain.
    pub domain_id: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Whether tokens may be scoped to it.
    pub enabled: bool,
    /// Parent (the domain, as Keystone for top-level projects).
    pub parent_id: Option<String>,
    /// Always false here (projects acting as domains are not supported).
    #[serde(default)]
    pub is_domain: bool,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Options (none are interpreted).
    #[serde(default)]
    pub options: Map<String, Value>,
    /// Any other attribute given on create/update (Keystone keeps them).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A user (the password hash is kept apart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: String,
    /// Name, unique in its domain.
    pub name: String,
    /// Owning domain.
    pub domain_id: String,
    /// Whether the user may authenticate.
    pub enabled: bool,
    /// Project a token without scope is scoped to.
    #[serde(default)]
    pub default_project_id: Option<String>,
    /// Never: passwords do not expire here.
    #[serde(default)]
    pub password_expires_at: Option<String>,
    /// Options (none are interpreted).
    #[serde(default)]
    pub options: Map<String, Value>,
    /// Any other attribute (`email`, `description`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Always null: domain-specific roles are not supported.
    #[serde(default)]
    pub domain_id: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Options.
    #[serde(default)]
    pub options: Map<String, Value>,
}

/// A role of a user on a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The project.
    pub project_id: String,
    /// The user.
    pub user_id: String,
    /// The role.
    pub role_id: String,
}

/// A region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Id (chosen by the creator, e.g. `RegionOne`).
    pub id: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Parent region.
    #[serde(default)]
    pub parent_region_id: Option<String>,
}

/// A service of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Id.
    pub id: String,
    /// Type (`network`, `identity`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Name (`neutron`).
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Whether it is in the catalog.
    pub enabled: bool,
}

/// An endpoint of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Id.
    pub id: String,
    /// The service.
    pub service_id: String,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// The URL.
    pub url: String,
    /// The region.
    #[serde(default)]
    pub region_id: Option<String>,
    /// Same as `region_id` (Keystone's legacy attribute).
    #[serde(default)]
    pub region: Option<String>,
    /// Whether it is in the catalog.
    pub enabled: bool,
}

/// An id and a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdName {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A user or project as a token shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scoped {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Its domain.
    pub domain: IdName,
}

/// One endpoint in a token's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEndpoint {
    /// Id.
    pub id: String,
    /// `public`, `internal`, `admin`.
    pub interface: String,
    /// Region (Keystone sends both spellings).
    #[serde(default)]
    pub region: Option<String>,
    /// Region id.
    #[serde(default)]
    pub region_id: Option<String>,
    /// URL.
    pub url: String,
}

/// One service in a token's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// Service id.
    pub id: String,
    /// Service type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Service name.
    #[serde(default)]
    pub name: String,
    /// Its enabled endpoints.
    pub endpoints: Vec<CatalogEndpoint>,
}

/// A token as `POST`/`GET /v3/auth/tokens` return it (the value of
/// `"token"`). Also what the remote validator parses from Keystone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBody {
    /// Authentication methods.
    pub methods: Vec<String>,
    /// The user.
    pub user: Scoped,
    /// Audit ids.
    #[serde(default)]
    pub audit_ids: Vec<String>,
    /// Expiry (ISO 8601).
    pub expires_at: String,
    /// Issue time (ISO 8601).
    pub issued_at: String,
    /// The project of a project-scoped token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<Scoped>,
    /// The domain of a domain-scoped token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<IdName>,
    /// Effective roles (with implied ones) on the scope; absent when unscoped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<IdName>>,
    /// The service catalog; absent when unscoped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<Vec<CatalogEntry>>,
    /// Keystone's flag for a domain-acting project: always false here.
    #[serde(default)]
    pub is_domain: bool,
}

impl TokenBody {
    /// The role names, lower case.
    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().flatten().map(|r| r.name.to_ascii_lowercase()).collect()
    }
}

/// Keystone's timestamp form: `2026-11-27T10:00:00.000000Z`.
pub fn iso_time(unix_secs: i64) -> String {
    let t = neutrino_model::time::format_timestamp(unix_secs);
    format!("{}.000000Z", t.trim_end_matches('Z'))
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_time_is_keystones_form() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(iso_time(1_476_110_147), "2016-10-10T14:35:47.000000Z");
        assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00.000000Z");
    }
}

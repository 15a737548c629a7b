//! Token validation against an external Keystone, as keystonemiddleware
//! does it: the service user (`[keystone_authtoken]` credentials) gets its
//! own token, then asks `GET /v3/auth/tokens` about each user token. Answers
//! are cached for `token_cache_time`, never past the token's expiry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{IdentityError, IdentityResult};
use crate::records::{now, TokenBody};

/// At most this many validated tokens are cached.
const CACHE_CAPACITY: usize = 10_000;

/// Where the external Keystone is and how this service authenticates to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSettings {
    /// Keystone's identity URL, ending in `/v3`.
    pub auth_url: String,
    /// The service user.
    pub username: String,
    /// Its password.
    pub password: String,
    /// Its domain (name).
    pub user_domain_name: String,
    /// The service project.
    pub project_name: String,
    /// The project's domain (name).
    pub project_domain_name: String,
    /// Seconds a validation is trusted; `None` = every request asks.
    pub cache_time: Option<i64>,
    /// HTTP timeout.
    pub timeout: Duration,
}

/// A cached validation: the body, and until when it is trusted.
#[derive(Debug, Clone)]
struct Cached {
    body: TokenBody,
    until: i64,
}

/// The client of an external Keystone.
#[derive(Debug)]
pub struct RemoteKeystone {
    settings: RemoteSettings,
    client: reqwest::Client,
    service_token: tokio::sync::Mutex<Option<(String, i64)>>,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
}

fn unavailable(e: impl std::fmt::Display) -> IdentityError {
    IdentityError::Unavailable(e.to_string())
}

impl RemoteKeystone {
    /// A client for `settings`.
    pub fn new(settings: RemoteSettings) -> IdentityResult<RemoteKeystone> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| IdentityError::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(RemoteKeystone {
            settings,
            client,
            service_token: tokio::sync::Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The service user's token, fetched when missing or about to expire.
    async fn service_token(&self, refresh: bool) -> IdentityResult<String> {
        let mut slot = self.service_token.lock().await;
        if let Some((token, expires)) = slot.as_ref() {
            if !refresh && *expires > now() + 30 {
                return Ok(token.clone());
            }
        }
        let s = &self.settings;
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": s.username, "password": s.password, "domain": {"name": s.user_domain_name}}}},
            "scope": {"project": {"name": s.project_name, "domain": {"name": s.project_domain_name}}}
        }});
        let resp =
            self.client.post(format!("{}/auth/tokens", s.auth_url)).json(&body).send().await.map_err(unavailable)?;
        if !resp.status().is_success() {
            return Err(IdentityError::Unavailable(format!(
                "the service user {} cannot authenticate with {}: HTTP {}",
                s.username,
                s.auth_url,
                resp.status()
            )));
        }
        let token = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| unavailable("Keystone returned no X-Subject-Token"))?;
        let parsed: serde_json::Value = resp.json().await.map_err(unavailable)?;
        let expires = parsed["token"]["expires_at"]
            .as_str()
            .and_then(neutrino_model::time::parse_timestamp)
            .unwrap_or_else(|| now() + 300);
        *slot = Some((token.clone(), expires));
        Ok(token)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<TokenBody> {
        let mut cache = self.cache.lock().ok()?;
        match cache.get(key) {
            Some(c) if c.until > now() => Some(c.body.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn remember(&self, key: [u8; 32], body: &TokenBody) {
        let Some(cache_time) = self.settings.cache_time else { return };
        let expires = neutrino_model::time::parse_timestamp(&body.expires_at).unwrap_or(0);
        let until = expires.min(now() + cache_time);
        let Ok(mut cache) = self.cache.lock() else { return };
        if cache.len() >= CACHE_CAPACITY {
            let t = now();
            cache.retain(|_, c| c.until > t);
        }
        if cache.len() >= CACHE_CAPACITY {
            // Still full of live entries: drop the one trusted least long.
            if let Some(k) = cache.iter().min_by_key(|(_, c)| c.until).map(|(k, _)| *k) {
                cache.remove(&k);
            }
        }
        cache.insert(key, Cached { body: body.clone(), until });
    }

    /// Validates a user token. 401 when Keystone does not know it (or it
    /// expired); 503 when Keystone cannot be asked.
    pub async fn validate(&self, token: &str) -> IdentityResult<TokenBody> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(body) = self.cached(&key) {
            return Ok(body);
        }
        let mut refresh = false;
        loop {
            let service = self.service_token(refresh).await?;
            let resp = self
                .client
                .get(format!("{}/auth/tokens", self.settings.auth_url))
                .header("X-Auth-Token", service)
                .header("X-Subject-Token", token)
                .send()
                .await
                .map_err(unavailable)?;
            match resp.status().as_u16() {
                200 => {
                    let v: serde_json::Value = resp.json().await.map_err(unavailable)?;
                    let body: TokenBody = serde_json::from_value(v["token"].clone())
                        .map_err(|e| unavailable(format!("Keystone's token body does not parse: {e}")))?;
                    let expires = neutrino_model::time::parse_timestamp(&body.expires_at).unwrap_or(0);
                    if expires <= now() {
                        return Err(IdentityError::unauthenticated());
                    }
                    self.remember(key, &body);
                    return Ok(body);
                }
                404 => return Err(IdentityError::unauthenticated()),
                // Our service token went stale: get a new one, once.
                401 | 403 if !refresh => refresh = true,
                status => return Err(unavailable(format!("Keystone answered HTTP {status} to a token validation"))),
            }
        }
    }
}

//! `auth_strategy = keystone`: the API validates `X-Auth-Token` with the
//! built-in identity (revocation is immediate) or with an external Keystone
//! (here a second process-local identity behind HTTP), whose answers are
//! cached for `token_cache_time` and never past the token's expiry.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use neutrino_identity::api::{router, IdentityApi};
use neutrino_identity::{Bootstrap, Identity, IdentitySettings, RemoteKeystone, RemoteSettings, Validator};
use neutrino_server::api::Auth;
use neutrino_server::Plugin;
use neutrino_store::{Store, StoreOptions};
use serde_json::{json, Value};

use common::TempDir;

/// A Keystone: the built-in identity on its own listener and store.
struct Keystone {
    url: String,
    identity: Arc<Identity>,
    client: reqwest::Client,
    _dir: TempDir,
}

async fn keystone(token_expiration: i64) -> Keystone {
    let dir = TempDir::new();
    let store =
        Store::open(&format!("sqlite:///{}", dir.0.join("ks.db").display()), &StoreOptions::default()).await.unwrap();
    store.upgrade().await.unwrap();
    let identity = Arc::new(Identity::open(store, IdentitySettings { token_expiration }).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    identity
        .bootstrap(&Bootstrap {
            admin_username: "admin".into(),
            admin_password: "adminpw".into(),
            project_name: "admin".into(),
            region_id: "RegionOne".into(),
            identity_url: format!("{url}/v3"),
            network_url: "http://127.0.0.1:9696".into(),
        })
        .await
        .unwrap();
    let ks = Keystone { url: url.clone(), identity: identity.clone(), client: reqwest::Client::new(), _dir: dir };
    let app = router(IdentityApi { identity, base_url: url });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // The service user of the seed's install guide: neutron, admin in project service.
    let admin = ks.token("admin", "adminpw", Some("admin")).await;
    for (user, project, role) in [("neutron", "service", "admin"), ("alice", "pa", "member"), ("bob", "pb", "member")] {
        ks.provision(&admin, user, project, role).await;
    }
    ks
}

impl Keystone {
    async fn token(&self, user: &str, password: &str, project: Option<&str>) -> String {
        let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}}});
        if let Some(p) = project {
            auth["scope"] = json!({"project": {"name": p, "domain": {"name": "Default"}}});
        }
        let r =
            self.client.post(format!("{}/v3/auth/tokens", self.url)).json(&json!({"auth": auth})).send().await.unwrap();
        assert_eq!(r.status(), 201);
        r.headers()["x-subject-token"].to_str().unwrap().to_string()
    }

    async fn admin_call(&self, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self.client.request(method, format!("{}{path}", self.url)).header("X-Auth-Token", token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap_or(Value::Null)
    }

    async fn provision(&self, admin: &str, user: &str, project: &str, role: &str) {
        use reqwest::Method;
        let p = self.admin_call(admin, Method::POST, "/v3/projects", Some(json!({"project": {"name": project}}))).await;
        let pid = p["project"]["id"].as_str().unwrap().to_string();
        let u = self
            .admin_call(admin, Method::POST, "/v3/users", Some(json!({"user": {"name": user, "password": "pw"}})))
            .await;
        let uid = u["user"]["id"].as_str().unwrap().to_string();
        let roles = self.admin_call(admin, Method::GET, &format!("/v3/roles?name={role}"), None).await;
        let rid = roles["roles"][0]["id"].as_str().unwrap().to_string();
        self.admin_call(admin, Method::PUT, &format!("/v3/projects/{pid}/users/{uid}/roles/{rid}"), None).await;
    }

    async fn revoke(&self, token: &str) {
        let r = self
            .client
            .delete(format!("{}/v3/auth/tokens", self.url))
            .header("X-Auth-Token", token)
            .header("X-Subject-Token", token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
}

/// A Neutron API with the given authentication.
struct Api {
    base: String,
    client: reqwest::Client,
    _dir: TempDir,
}

async fn api(auth: Auth) -> Api {
    let dir = TempDir::new();
    let store =
        Store::open(&format!("sqlite:///{}", dir.0.join("n.db").display()), &StoreOptions::default()).await.unwrap();
    store.upgrade().await.unwrap();
    let plugin = Arc::new(Plugin::from_config(store, &neutrino_config::Config::default()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        neutrino_server::serve::serve(listener, plugin, auth, std::future::pending()).await.unwrap();
    });
    Api { base, client: reqwest::Client::new(), _dir: dir }
}

impl Api {
    async fn call(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.header("X-Auth-Token", t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), headers)
    }

    async fn get(&self, token: Option<&str>, path: &str) -> u16 {
        self.call(token, reqwest::Method::GET, path, None).await.0
    }
}

fn remote(ks: &Keystone, cache_time: Option<i64>) -> Auth {
    let settings = RemoteSettings {
        auth_url: format!("{}/v3", ks.url),
        username: "neutron".into(),
        password: "pw".into(),
        user_domain_name: "Default".into(),
        project_name: "service".into(),
        project_domain_name: "Default".into(),
        cache_time,
        timeout: Duration::from_secs(5),
    };
    Auth::Keystone {
        validator: Validator::Remote(Arc::new(RemoteKeystone::new(settings).unwrap())),
        www_authenticate_uri: ks.url.clone(),
    }
}

#[tokio::test]
async fn tokens_are_required_and_isolate_projects() {
    let ks = keystone(3600).await;
    let api = api(remote(&ks, Some(300))).await;
    let (status, body, headers) = api.call(None, reqwest::Method::GET, "/v2.0/networks", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(headers["www-authenticate"].to_str().unwrap(), format!("Keystone uri=\"{}\"", ks.url));
    assert_eq!(api.get(Some("garbage"), "/v2.0/networks").await, 401);
    assert_eq!(api.get(None, "/").await, 200, "versions need no token");
    assert_eq!(api.get(None, "/healthcheck").await, 200);
    // Unscoped: no project, no service.
    let unscoped = ks.token("alice", "pw", None).await;
    assert_eq!(api.get(Some(&unscoped), "/v2.0/networks").await, 401);

    let alice = ks.token("alice", "pw", Some("pa")).await;
    let bob = ks.token("bob", "pw", Some("pb")).await;
    let (s, net, _) = api
        .call(Some(&alice), reqwest::Method::POST, "/v2.0/networks", Some(json!({"network": {"name": "a-private"}})))
        .await;
    assert_eq!(s, 201, "{net}");
    let id = net["network"]["id"].as_str().unwrap().to_string();
    let pa = ks.identity.validate(&alice).await.unwrap().body.project.unwrap().id;
    assert_eq!(net["network"]["project_id"], pa.as_str(), "owned by the token's project");
    // A member may not act for another project (400, as Neutron).
    let (s, _, _) = api
        .call(
            Some(&alice),
            reqwest::Method::POST,
            "/v2.0/networks",
            Some(json!({"network": {"name": "x", "project_id": "other"}})),
        )
        .await;
    assert_eq!(s, 400);
    // Bob sees nothing of it.
    assert_eq!(api.get(Some(&bob), &format!("/v2.0/networks/{id}")).await, 404);
    let (_, list, _) = api.call(Some(&bob), reqwest::Method::GET, "/v2.0/networks", None).await;
    assert_eq!(list["networks"], json!([]));
    let (s, _, _) = api.call(Some(&bob), reqwest::Method::DELETE, &format!("/v2.0/networks/{id}"), None).await;
    assert_eq!(s, 404);
    let (s, _, _) =
        api.call(Some(&bob), reqwest::Method::POST, "/v2.0/ports", Some(json!({"port": {"network_id": id}}))).await;
    assert_eq!(s, 404);
    // The service user (admin) sees everything.
    let neutron = ks.token("neutron", "pw", Some("service")).await;
    assert_eq!(api.get(Some(&neutron), &format!("/v2.0/networks/{id}")).await, 200);
}

#[tokio::test]
async fn the_agent_channel_takes_service_tokens_not_member_ones() {
    let ks = keystone(3600).await;
    let api = api(remote(&ks, Some(300))).await;
    let neutron = ks.token("neutron", "pw", Some("service")).await;
    let alice = ks.token("alice", "pw", Some("pa")).await;
    assert_eq!(api.get(None, "/agent/v1/changes").await, 401);
    assert_eq!(api.get(Some("garbage"), "/agent/v1/changes").await, 401);
    assert_eq!(api.get(Some(&alice), "/agent/v1/changes").await, 403);
    assert_eq!(api.get(Some(&neutron), "/agent/v1/changes").await, 200);
}

#[tokio::test]
async fn built_in_validation_sees_revocation_at_once() {
    let ks = keystone(3600).await;
    let api = api(Auth::Keystone {
        validator: Validator::BuiltIn(ks.identity.clone()),
        www_authenticate_uri: ks.url.clone(),
    })
    .await;
    let alice = ks.token("alice", "pw", Some("pa")).await;
    assert_eq!(api.get(Some(&alice), "/v2.0/networks").await, 200);
    ks.revoke(&alice).await;
    assert_eq!(api.get(Some(&alice), "/v2.0/networks").await, 401);
}

#[tokio::test]
async fn remote_validation_caches_for_token_cache_time() {
    let ks = keystone(3600).await;
    let api = api(remote(&ks, Some(2))).await;
    let alice = ks.token("alice", "pw", Some("pa")).await;
    assert_eq!(api.get(Some(&alice), "/v2.0/networks").await, 200);
    ks.revoke(&alice).await;
    // Within token_cache_time the cached answer stands, as keystonemiddleware's.
    assert_eq!(api.get(Some(&alice), "/v2.0/networks").await, 200);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(api.get(Some(&alice), "/v2.0/networks").await, 401, "revocation seen after the cache time");

    // Without a cache (-1), every request asks.
    let uncached = self::api(remote(&ks, None)).await;
    let bob = ks.token("bob", "pw", Some("pb")).await;
    assert_eq!(uncached.get(Some(&bob), "/v2.0/networks").await, 200);
    ks.revoke(&bob).await;
    assert_eq!(uncached.get(Some(&bob), "/v2.0/networks").await, 401);
}

#[tokio::test]
async fn cached_tokens_still_expire() {
    let ks = keystone(2).await;
    let api = api(remote(&ks, Some(300))).await;
    let alice = ks.token("alice", "pw", Some("pa")).await;
    assert_eq!(api.get(Some(&alice), "/v2.0/networks").await, 200);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(api.get(Some(&alice), "/v2.0/networks").await, 401, "expired, cache or not");
}

#[tokio::test]
async fn an_unreachable_keystone_is_a_503_not_a_pass() {
    let ks = keystone(3600).await;
    let alice = ks.token("alice", "pw", Some("pa")).await;
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let settings = RemoteSettings {
        auth_url: format!("http://{gone}/v3"),
        username: "neutron".into(),
        password: "pw".into(),
        user_domain_name: "Default".into(),
        project_name: "service".into(),
        project_domain_name: "Default".into(),
        cache_time: Some(300),
        timeout: Duration::from_secs(2),
    };
    let api = api(Auth::Keystone {
        validator: Validator::Remote(Arc::new(RemoteKeystone::new(settings).unwrap())),
        www_authenticate_uri: ks.url.clone(),
    })
    .await;
    assert_eq!(api.get(Some(&alice), "/v2.0/networks").await, 503);
}

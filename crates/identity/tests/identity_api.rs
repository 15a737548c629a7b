//! The identity's v3 API over a real SQLite store and HTTP listener.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use neutrino_identity::api::{router, IdentityApi};
use neutrino_identity::{Bootstrap, Identity, IdentitySettings};
use neutrino_store::{Store, StoreOptions};
use serde_json::{json, Value};

struct Ks {
    base: String,
    client: reqwest::Client,
    identity: Arc<Identity>,
    admin_token: String,
    dir: std::path::PathBuf,
}

impl Drop for Ks {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Resp {
    status: u16,
    token: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

const ADMIN_PASSWORD: &str = "s3cret-admin";

async fn start(token_expiration: i64) -> Ks {
    let dir = std::env::temp_dir().join(format!("neutrino-identity-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store =
        Store::open(&format!("sqlite:///{}", dir.join("db").display()), &StoreOptions::default()).await.unwrap();
    store.upgrade().await.unwrap();
    let identity = Arc::new(Identity::open(store, IdentitySettings { token_expiration }).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    identity
        .bootstrap(&Bootstrap {
            admin_username: "admin".into(),
            admin_password: ADMIN_PASSWORD.into(),
            project_name: "admin".into(),
            region_id: "RegionOne".into(),
            identity_url: format!("{base}/v3"),
            network_url: "http://127.0.0.1:9696".into(),
        })
        .await
        .unwrap();
    let app = router(IdentityApi { identity: identity.clone(), base_url: base.clone() });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut ks = Ks { base, client: reqwest::Client::new(), identity, admin_token: String::new(), dir };
    let r = ks.auth(password_auth("admin", ADMIN_PASSWORD, Some("admin"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    ks.admin_token = r.token.unwrap();
    ks
}

fn password_auth(user: &str, password: &str, project: Option<&str>) -> Value {
    let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}}});
    if let Some(p) = project {
        auth["scope"] = json!({"project": {"name": p, "domain": {"id": "default"}}});
    }
    json!({ "auth": auth })
}

impl Ks {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        subject: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self.client.request(m, format!("{}{}", self.base, path));
        if let Some(t) = token {
            r = r.header("X-Auth-Token", t);
        }
        if let Some(s) = subject {
            r = r.header("X-Subject-Token", s);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let token = headers.get("x-subject-token").map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
        Resp { status, token, headers, body }
    }

    async fn auth(&self, body: Value) -> Resp {
        self.call("POST", "/v3/auth/tokens", None, None, Some(body)).await
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.call(method, path, Some(&self.admin_token), None, body).await
    }

    async fn id_of(&self, path: &str, name: &str) -> String {
        let r = self.admin("GET", &format!("{path}?name={name}"), None).await;
        let key = path.trim_start_matches("/v3/");
        r.body[key][0]["id"].as_str().unwrap_or_else(|| panic!("{name} in {}", r.body)).to_string()
    }

    /// A project with a user holding `role` on it; returns (project id, user id).
    async fn tenant(&self, project: &str, user: &str, password: &str, role: &str) -> (String, String) {
        let p = self.admin("POST", "/v3/projects", Some(json!({"project": {"name": project}}))).await;
        assert_eq!(p.status, 201, "{}", p.body);
        let pid = p.body["project"]["id"].as_str().unwrap().to_string();
        let u = self
            .admin(
                "POST",
                "/v3/users",
                Some(json!({"user": {"name": user, "password": password,
                "default_project_id": pid, "email": format!("{user}@example.org")}})),
            )
            .await;
        assert_eq!(u.status, 201, "{}", u.body);
        assert!(u.body["user"].get("password").is_none(), "no password in {}", u.body);
        assert_eq!(u.body["user"]["email"], format!("{user}@example.org"));
        let uid = u.body["user"]["id"].as_str().unwrap().to_string();
        let rid = self.id_of("/v3/roles", role).await;
        let g = self.admin("PUT", &format!("/v3/projects/{pid}/users/{uid}/roles/{rid}"), None).await;
        assert_eq!(g.status, 204, "{}", g.body);
        (pid, uid)
    }
}

fn role_names(body: &Value) -> Vec<String> {
    let mut names: Vec<String> =
        body["token"]["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn versions_and_admin_token_body() {
    let ks = start(3600).await;
    let root = ks.call("GET", "/", None, None, None).await;
    assert_eq!(root.status, 300);
    assert_eq!(root.body["versions"]["values"][0]["id"], "v3.14");
    let v3 = ks.call("GET", "/v3", None, None, None).await;
    assert_eq!(v3.body["version"]["links"][0]["href"], format!("{}/v3/", ks.base));

    let r = ks.auth(password_auth("admin", ADMIN_PASSWORD, Some("admin"))).await;
    let t = &r.body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["name"], "admin");
    assert_eq!(t["user"]["domain"], json!({"id": "default", "name": "Default"}));
    assert_eq!(t["project"]["name"], "admin");
    assert_eq!(
        role_names(&r.body),
        ["admin", "manager", "member", "reader"],
        "admin implies manager implies member implies reader"
    );
    assert!(t["expires_at"].as_str().unwrap().ends_with(".000000Z"));
    assert_eq!(t["audit_ids"].as_array().unwrap().len(), 1);
    let catalog = t["catalog"].as_array().unwrap();
    let network = catalog.iter().find(|s| s["type"] == "network").unwrap();
    let mut interfaces: Vec<&str> =
        network["endpoints"].as_array().unwrap().iter().map(|e| e["interface"].as_str().unwrap()).collect();
    interfaces.sort();
    assert_eq!(interfaces, ["admin", "internal", "public"]);
    assert_eq!(network["endpoints"][0]["region_id"], "RegionOne");
    assert_eq!(network["endpoints"][0]["url"], "http://127.0.0.1:9696");
    assert!(catalog.iter().any(|s| s["type"] == "identity"));

    // GET validates; nocatalog drops the catalog; HEAD checks.
    let v = ks.call("GET", "/v3/auth/tokens?nocatalog", Some(&ks.admin_token), Some(&ks.admin_token), None).await;
    assert_eq!(v.status, 200);
    assert!(v.body["token"].get("catalog").is_none());
    assert_eq!(v.token.as_deref(), Some(ks.admin_token.as_str()));
    let h = ks.call("HEAD", "/v3/auth/tokens", Some(&ks.admin_token), Some(&ks.admin_token), None).await;
    assert_eq!(h.status, 200);
}

#[tokio::test]
async fn bad_credentials_and_scopes_are_refused() {
    let ks = start(3600).await;
    let (pid, uid) = ks.tenant("pa", "ua", "pw-a", "member").await;
    for body in [
        password_auth("admin", "wrong", Some("admin")),
        password_auth("nobody", "x", None),
        password_auth("ua", "pw-a", Some("admin")), // no role there
        password_auth("ua", "pw-a", Some("no-such-project")),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": uid, "password": ""}}}}}),
        json!({"auth": {"identity": {"methods": ["totp"]}}}),
    ] {
        let r = ks.auth(body.clone()).await;
        assert_eq!(r.status, 401, "{body}: {}", r.body);
        assert_eq!(r.body["error"]["code"], 401);
        assert_eq!(r.body["error"]["title"], "Unauthorized");
        assert!(r.token.is_none());
        assert!(r.headers.get("www-authenticate").unwrap().to_str().unwrap().starts_with("Keystone uri="));
    }
    let malformed = ks.auth(json!({"auth": {"identity": "password"}})).await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);

    // No scope asked: the default project.
    let r = ks.auth(password_auth("ua", "pw-a", None)).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["token"]["project"]["id"], pid);
    assert_eq!(role_names(&r.body), ["member", "reader"]);

    // A disabled project: no token for it, and its existing tokens stop validating.
    let t = r.token.unwrap();
    let d = ks.admin("PATCH", &format!("/v3/projects/{pid}"), Some(json!({"project": {"enabled": false}}))).await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(ks.auth(password_auth("ua", "pw-a", Some("pa"))).await.status, 401);
    assert_eq!(ks.call("GET", "/v3/auth/tokens", Some(&ks.admin_token), Some(&t), None).await.status, 404);
    let e = ks.admin("PATCH", &format!("/v3/projects/{pid}"), Some(json!({"project": {"enabled": true}}))).await;
    assert_eq!(e.status, 200);
    assert_eq!(
        ks.call("GET", "/v3/auth/tokens", Some(&ks.admin_token), Some(&t), None).await.status,
        404,
        "disabling revoked the project's tokens for good"
    );
    let t = ks.auth(password_auth("ua", "pw-a", Some("pa"))).await.token.unwrap();

    // A new password ends the user's sessions; a token taken right after works.
    let pw = ks.admin("PATCH", &format!("/v3/users/{uid}"), Some(json!({"user": {"password": "pw-a2"}}))).await;
    assert_eq!(pw.status, 200, "{}", pw.body);
    assert_eq!(ks.call("GET", "/v3/auth/tokens", Some(&ks.admin_token), Some(&t), None).await.status, 404);
    assert_eq!(ks.auth(password_auth("ua", "pw-a", Some("pa"))).await.status, 401);
    let t = ks.auth(password_auth("ua", "pw-a2", Some("pa"))).await.token.unwrap();
    assert_eq!(ks.call("GET", "/v3/auth/tokens", Some(&ks.admin_token), Some(&t), None).await.status, 200);

    // A disabled user: no token, and its tokens stay revoked once it is enabled again.
    ks.admin("PATCH", &format!("/v3/users/{uid}"), Some(json!({"user": {"enabled": false}}))).await;
    assert_eq!(ks.auth(password_auth("ua", "pw-a2", Some("pa"))).await.status, 401);
    assert_eq!(ks.call("GET", "/v3/auth/tokens", Some(&ks.admin_token), Some(&t), None).await.status, 404);
    ks.admin("PATCH", &format!("/v3/users/{uid}"), Some(json!({"user": {"enabled": true}}))).await;
    assert_eq!(ks.call("GET", "/v3/auth/tokens", Some(&ks.admin_token), Some(&t), None).await.status, 404);
    assert_eq!(ks.auth(password_auth("ua", "pw-a2", Some("pa"))).await.status, 201);

    // Garbage tokens.
    for bad in ["garbage", "nt1.x.y.z", &format!("{}x", ks.admin_token)] {
        let r = ks.call("GET", "/v3/projects", Some(bad), None, None).await;
        assert_eq!(r.status, 401, "{bad}");
    }
    assert_eq!(ks.call("GET", "/v3/projects", None, None, None).await.status, 401);
}

#[tokio::test]
async fn revocation_expiry_and_rescoping() {
    let ks = start(2).await;
    let (_, _) = ks.tenant("pr", "ur", "pw", "member").await;
    let t = ks.auth(password_auth("ur", "pw", Some("pr"))).await.token.unwrap();
    // Re-scope with the token method: carries both audit ids.
    let body = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": t}},
        "scope": {"project": {"name": "pr", "domain": {"name": "Default"}}}}});
    let r2 = ks.auth(body).await;
    assert_eq!(r2.status, 201, "{}", r2.body);
    assert_eq!(r2.body["token"]["methods"], json!(["password", "token"]));
    assert_eq!(r2.body["token"]["audit_ids"].as_array().unwrap().len(), 2);
    let t2 = r2.token.unwrap();
    // A user may validate (and revoke) its own token; revoking the first
    // revokes the re-scoped one too.
    assert_eq!(ks.call("GET", "/v3/auth/tokens", Some(&t), Some(&t), None).await.status, 200);
    assert_eq!(ks.call("DELETE", "/v3/auth/tokens", Some(&t), Some(&t), None).await.status, 204);
    assert_eq!(ks.call("GET", "/v3/auth/tokens", Some(&ks.admin_token), Some(&t), None).await.status, 404);
    assert_eq!(ks.call("GET", "/v3/auth/tokens", Some(&ks.admin_token), Some(&t2), None).await.status, 404);
    assert_eq!(ks.call("GET", "/v3/users", Some(&t), None, None).await.status, 401);
    // Expiry (2 s here).
    let fresh = ks.auth(password_auth("ur", "pw", Some("pr"))).await.token.unwrap();
    assert!(ks.identity.validate(&fresh).await.is_ok());
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert!(ks.identity.validate(&fresh).await.is_err(), "expired");
}

#[tokio::test]
async fn members_cannot_administer() {
    let ks = start(3600).await;
    let (pid, uid) = ks.tenant("pm", "um", "pw", "member").await;
    let t = ks.auth(password_auth("um", "pw", Some("pm"))).await.token.unwrap();
    for (method, path, body) in [
        ("POST", "/v3/projects", Some(json!({"project": {"name": "evil"}}))),
        ("POST", "/v3/users", Some(json!({"user": {"name": "evil"}}))),
        ("PUT", "/v3/projects/x/users/y/roles/z", None),
        ("POST", "/v3/services", Some(json!({"service": {"type": "network"}}))),
        ("GET", &format!("/v3/projects/{}", ks.id_of("/v3/projects", "admin").await), None),
    ] {
        let r = ks.call(method, path, Some(&t), None, body).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
    // It may read itself and its project; lists show it nothing else.
    let users = ks.call("GET", "/v3/users", Some(&t), None, None).await;
    assert_eq!(users.status, 200);
    assert_eq!(users.body["users"].as_array().unwrap().len(), 1);
    assert_eq!(users.body["users"][0]["id"], uid.as_str());
    assert_eq!(ks.call("GET", "/v3/roles", Some(&t), None, None).await.status, 403);
    assert_eq!(ks.call("GET", &format!("/v3/users/{uid}"), Some(&t), None, None).await.status, 200);
    assert_eq!(ks.call("GET", &format!("/v3/projects/{pid}"), Some(&t), None, None).await.status, 200);
    let mine = ks.call("GET", "/v3/auth/projects", Some(&t), None, None).await;
    assert_eq!(mine.body["projects"].as_array().unwrap().len(), 1);
    // Nothing was created.
    assert_eq!(ks.admin("GET", "/v3/projects?name=evil", None).await.body["projects"], json!([]));
}

#[tokio::test]
async fn records_conflicts_and_grants() {
    let ks = start(3600).await;
    let dup = ks.admin("POST", "/v3/projects", Some(json!({"project": {"name": "admin"}}))).await;
    assert_eq!(dup.status, 409, "{}", dup.body);
    let bad = ks.admin("POST", "/v3/projects", Some(json!({"project": {"name": "x", "enabled": "yes"}}))).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let nodomain = ks.admin("POST", "/v3/projects", Some(json!({"project": {"name": "x", "domain_id": "nope"}}))).await;
    assert_eq!(nodomain.status, 404, "{}", nodomain.body);
    assert_eq!(ks.admin("GET", "/v3/projects?name=x", None).await.body["projects"], json!([]));

    // Services, regions and endpoints shape the catalog.
    let s = ks.admin("POST", "/v3/services", Some(json!({"service": {"type": "dns", "name": "designate"}}))).await;
    assert_eq!(s.status, 201);
    let sid = s.body["service"]["id"].as_str().unwrap().to_string();
    let e = ks
        .admin(
            "POST",
            "/v3/endpoints",
            Some(json!({"endpoint": {"service_id": sid, "interface": "public",
            "url": "http://dns:9001", "region": "RegionOne"}})),
        )
        .await;
    assert_eq!(e.status, 201, "{}", e.body);
    assert_eq!(e.body["endpoint"]["region_id"], "RegionOne");
    let badif = ks
        .admin(
            "POST",
            "/v3/endpoints",
            Some(json!({"endpoint": {"service_id": sid, "interface": "private",
            "url": "http://dns:9001"}})),
        )
        .await;
    assert_eq!(badif.status, 400);
    let noregion = ks
        .admin(
            "POST",
            "/v3/endpoints",
            Some(json!({"endpoint": {"service_id": sid, "interface": "public",
            "url": "http://dns:9001", "region_id": "Mars"}})),
        )
        .await;
    assert_eq!(noregion.status, 400);
    let t = ks.auth(password_auth("admin", ADMIN_PASSWORD, Some("admin"))).await;
    assert!(t.body["token"]["catalog"].as_array().unwrap().iter().any(|s| s["type"] == "dns"));
    // Deleting the service removes its endpoints.
    assert_eq!(ks.admin("DELETE", &format!("/v3/services/{sid}"), None).await.status, 204);
    assert_eq!(ks.admin("GET", &format!("/v3/endpoints?service_id={sid}"), None).await.body["endpoints"], json!([]));

    // Grants: check, list, revoke; 404 naming what is missing.
    let (pid, uid) = ks.tenant("pg", "ug", "pw", "reader").await;
    let rid = ks.id_of("/v3/roles", "reader").await;
    let path = format!("/v3/projects/{pid}/users/{uid}/roles/{rid}");
    assert_eq!(ks.admin("HEAD", &path, None).await.status, 204);
    let listed = ks.admin("GET", &format!("/v3/role_assignments?user.id={uid}&include_names"), None).await;
    assert_eq!(listed.body["role_assignments"][0]["role"]["name"], "reader");
    assert_eq!(listed.body["role_assignments"][0]["scope"]["project"]["domain"]["name"], "Default");
    let t = ks.auth(password_auth("ug", "pw", Some("pg"))).await;
    assert_eq!(role_names(&t.body), ["reader"], "reader implies nothing");
    assert_eq!(ks.admin("DELETE", &path, None).await.status, 204);
    assert_eq!(ks.admin("HEAD", &path, None).await.status, 404);
    assert_eq!(ks.auth(password_auth("ug", "pw", Some("pg"))).await.status, 401, "no role left");
    let missing = ks.admin("PUT", &format!("/v3/projects/{pid}/users/{uid}/roles/nope"), None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.body["error"]["message"].as_str().unwrap().contains("role"));
    // Deleting a project removes its grants; deleting a user too.
    assert_eq!(ks.admin("DELETE", &format!("/v3/projects/{pid}"), None).await.status, 204);
    assert_eq!(ks.admin("DELETE", &format!("/v3/users/{uid}"), None).await.status, 204);
    assert_eq!(ks.admin("GET", &format!("/v3/users/{uid}"), None).await.status, 404);
}

#[tokio::test]
async fn bootstrap_is_idempotent_and_sets_the_password() {
    let ks = start(3600).await;
    let before = ks.admin("GET", "/v3/users", None).await.body["users"].as_array().unwrap().len();
    let report = ks
        .identity
        .bootstrap(&Bootstrap {
            admin_username: "admin".into(),
            admin_password: "new-password".into(),
            project_name: "admin".into(),
            region_id: "RegionOne".into(),
            identity_url: format!("{}/v3", ks.base),
            network_url: "http://127.0.0.1:9696".into(),
        })
        .await
        .unwrap();
    assert!(report.created.is_empty(), "{:?}", report.created);
    assert_eq!(ks.admin("GET", "/v3/users", None).await.status, 401, "the new password ended the old sessions");
    assert_eq!(ks.auth(password_auth("admin", ADMIN_PASSWORD, Some("admin"))).await.status, 401);
    let fresh = ks.auth(password_auth("admin", "new-password", Some("admin"))).await;
    assert_eq!(fresh.status, 201);
    let users = ks.call("GET", "/v3/users", fresh.token.as_deref(), None, None).await;
    assert_eq!(users.body["users"].as_array().unwrap().len(), before);
    assert_eq!(ks.identity.endpoints_of("network").await.unwrap().len(), 3);
}

#[tokio::test]
async fn tokens_survive_a_restart_and_validate_on_another_server() {
    let ks = start(3600).await;
    // A second identity over the same store (another server, or a restart).
    let other = Identity::open(ks.identity.store().clone(), IdentitySettings::default()).await.unwrap();
    let v = other.validate(&ks.admin_token).await.unwrap();
    assert_eq!(v.body.user.name, "admin");
    // Revocation seen by both at once.
    other.revoke(&ks.admin_token).await.unwrap();
    assert!(ks.identity.validate(&ks.admin_token).await.is_err());
}

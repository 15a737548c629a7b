//! Test harness: a real server on 127.0.0.1 over a fresh database (SQLite,
//! or PostgreSQL with NEUTRINO_TEST_STORE=postgres: `neutrino_store::testing`).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use neutrino_server::Plugin;
use neutrino_store::{Store, StoreOptions};
use serde_json::Value;

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!("neutrino-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub plugin: Arc<Plugin>,
    _dir: TempDir,
    _db: Option<neutrino_store::testing::TestDb>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A caller: admin by default, or a member of a project.
#[derive(Clone, Debug)]
pub enum Who {
    Admin,
    Member(&'static str),
    /// A project manager (Keystone's role between member and admin).
    Manager(&'static str),
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Resp {
    pub fn error_type(&self) -> &str {
        self.body["NeutronError"]["type"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["NeutronError"]["message"].as_str().unwrap_or("")
    }
}

impl Server {
    /// Starts a server whose configuration is `ini` (Neutron INI text), on
    /// a database of its own.
    pub async fn start(ini: &str) -> Server {
        let db = neutrino_store::testing::TestDb::new();
        let url = db.url.clone();
        let mut s = Server::start_on(ini, &url).await;
        s._db = Some(db);
        s
    }

    /// Starts a server on the database at `url` (which it migrates, as
    /// every server does at start; another may be doing the same).
    pub async fn start_on(ini: &str, url: &str) -> Server {
        let dir = TempDir::new();
        let conf = dir.0.join("neutron.conf");
        std::fs::write(&conf, ini).unwrap();
        let loaded = neutrino_config::load(&[conf], &[]).unwrap();
        let store = Store::open(url, &StoreOptions::default()).await.unwrap();
        store.upgrade().await.unwrap();
        let plugin = Arc::new(Plugin::from_config(store, &loaded.config).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let p = plugin.clone();
        tokio::spawn(async move {
            neutrino_server::serve::serve(listener, p, neutrino_server::api::Auth::Noauth, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Server {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            plugin,
            _dir: dir,
            _db: None,
            stop: Some(tx),
        }
    }

    pub async fn default() -> Server {
        Server::start("[DEFAULT]\nallow_overlapping_ips = true\nservice_plugins = router\n").await
    }

    pub async fn req(
        &self,
        who: &Who,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self.client.request(m, format!("{}{}", self.base, path));
        match who {
            Who::Admin => {}
            Who::Member(p) => r = r.header("X-Roles", "member").header("X-Project-Id", *p),
            Who::Manager(p) => r = r.header("X-Roles", "manager").header("X-Project-Id", *p),
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Resp { status, body }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req(&Who::Admin, "GET", path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.req(&Who::Admin, "POST", path, Some(body), &[]).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.req(&Who::Admin, "PUT", path, Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.req(&Who::Admin, "DELETE", path, None, &[]).await
    }

    /// Creates a network, returns its id.
    pub async fn network(&self, body: Value) -> String {
        let r = self.post("/v2.0/networks", serde_json::json!({ "network": body })).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["network"]["id"].as_str().unwrap().to_string()
    }

    /// Creates a subnet, returns its id.
    pub async fn subnet(&self, network_id: &str, cidr: &str, extra: Value) -> String {
        let mut b = serde_json::json!({"network_id": network_id, "cidr": cidr, "ip_version": if cidr.contains(':') { 6 } else { 4 }});
        if let (Some(m), Value::Object(e)) = (b.as_object_mut(), extra) {
            m.extend(e);
        }
        let r = self.post("/v2.0/subnets", serde_json::json!({ "subnet": b })).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["subnet"]["id"].as_str().unwrap().to_string()
    }

    /// Creates a port, returns the whole port.
    pub async fn port(&self, body: Value) -> Value {
        let r = self.post("/v2.0/ports", serde_json::json!({ "port": body })).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["port"].clone()
    }
}

//! The agent side of the agent channel: state reports, the host's desired
//! state, the change stream and device status, over HTTP to any server.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::state::HostState;

/// Channel errors.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The server could not be reached.
    #[error("cannot reach the server at {url}: {source}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The server refused or failed a call.
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Response body.
        body: String,
    },
    /// An answer did not parse.
    #[error("{url}: unexpected answer: {reason}")]
    Parse {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// A page of the change log.
#[derive(Debug, Clone, Deserialize)]
pub struct Changes {
    /// The changes (only what agents filter on is read).
    pub changes: Vec<ChangeRef>,
    /// The newest position.
    pub last: i64,
    /// The agent's position was lost: read the full state again.
    pub resync: bool,
}

/// What an agent needs of a change to decide whether it concerns it.
#[derive(Debug, Clone, Deserialize)]
pub struct ChangeRef {
    /// Position.
    pub seq: i64,
    /// Resource type.
    pub resource: String,
    /// Network concerned.
    pub network_id: Option<String>,
    /// Host concerned.
    pub host: Option<String>,
}

/// A client of the agent channel.
#[derive(Debug, Clone)]
pub struct Channel {
    base: String,
    client: reqwest::Client,
}

impl Channel {
    /// A client of the server at `server_url`, presenting `secret` if set.
    pub fn new(server_url: &str, secret: Option<&str>) -> Result<Channel, ChannelError> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(s) = secret {
            if let Ok(v) = reqwest::header::HeaderValue::from_str(s) {
                headers.insert("x-neutrino-agent-secret", v);
            }
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(90))
            .build()
            .map_err(|source| ChannelError::Unreachable { url: server_url.into(), source })?;
        Ok(Channel { base: server_url.trim_end_matches('/').to_string(), client })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, ChannelError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.client.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|source| ChannelError::Unreachable { url: url.clone(), source })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|source| ChannelError::Unreachable { url: url.clone(), source })?;
        if !(200..300).contains(&status) {
            return Err(ChannelError::Status { url, status, body: text });
        }
        serde_json::from_str(&text).map_err(|e| ChannelError::Parse { url, reason: e.to_string() })
    }

    /// Reports the agent's state (registration and heartbeat).
    pub async fn report(&self, report: &Value) -> Result<Value, ChannelError> {
        self.call(reqwest::Method::POST, "/agent/v1/report", Some(json!({ "agent": report }))).await
    }

    /// The host's desired state.
    pub async fn state(&self, host: &str) -> Result<HostState, ChannelError> {
        let query = form_urlencoded::Serializer::new(String::new()).append_pair("host", host).finish();
        let path = format!("/agent/v1/state?{query}");
        let v = self.call(reqwest::Method::GET, &path, None).await?;
        serde_json::from_value(v).map_err(|e| ChannelError::Parse { url: path, reason: e.to_string() })
    }

    /// Changes after `after`, waiting up to `wait` seconds for one.
    pub async fn changes(&self, after: i64, wait: u64) -> Result<Changes, ChannelError> {
        let path = format!("/agent/v1/changes?after={after}&wait={wait}");
        let v = self.call(reqwest::Method::GET, &path, None).await?;
        serde_json::from_value(v).map_err(|e| ChannelError::Parse { url: path, reason: e.to_string() })
    }

    /// Reports ports being wired (`build`), wired (`up`) and unwired (`down`) on `host`.
    pub async fn devices(
        &self,
        host: &str,
        build: &[String],
        up: &[String],
        down: &[String],
    ) -> Result<(), ChannelError> {
        let body = json!({"host": host, "build": build, "up": up, "down": down});
        self.call(reqwest::Method::POST, "/agent/v1/devices", Some(body)).await.map(|_| ())
    }

    /// Binds a port to `host` (the compute side); an empty host unbinds.
    /// Returns the port and its network's MTU.
    pub async fn bind(
        &self,
        port_id: &str,
        host: &str,
        device_id: &str,
        device_owner: &str,
    ) -> Result<(Value, u32), ChannelError> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/agent/v1/bind",
                Some(json!({"port_id": port_id, "host": host, "device_id": device_id, "device_owner": device_owner})),
            )
            .await?;
        let mtu = v.get("mtu").and_then(Value::as_u64).and_then(|m| u32::try_from(m).ok()).unwrap_or(1500);
        Ok((v.get("port").cloned().unwrap_or(Value::Null), mtu))
    }

    /// A GET of the channel, parsed.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ChannelError> {
        let v = self.call(reqwest::Method::GET, path, None).await?;
        serde_json::from_value(v).map_err(|e| ChannelError::Parse { url: path.to_string(), reason: e.to_string() })
    }
}

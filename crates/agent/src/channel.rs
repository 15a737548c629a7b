//! The agent side of the agent channel: state reports, the host's desired
//! state, the change stream and device status — over HTTP to any server
//! (`[agent] channel = direct`) or through the message broker
//! (`channel = rabbit`, [`neutrino_bus`]), with the same calls and answers.

use std::time::{Duration, Instant};

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
    /// The message broker failed a call (unreachable, lost, no reply).
    #[error("{path}: {source}")]
    Bus {
        /// The call.
        path: String,
        /// Why.
        source: neutrino_bus::BusError,
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

/// A client of the agent channel: over HTTP, one server or several of one
/// deployment (any serves any agent: they share the database), used in
/// turn — a call that cannot reach the current one is made to the next;
/// or over the message broker, where whichever server is free answers.
#[derive(Debug, Clone)]
pub struct Channel {
    bases: Vec<String>,
    current: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    client: reqwest::Client,
    bus: Option<neutrino_bus::BusClient>,
}

impl Channel {
    /// A client of the server at `server_url` (several comma-separated),
    /// presenting `secret` if set.
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
        let bases: Vec<String> = server_url
            .split(',')
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
            .collect();
        Ok(Channel { bases, current: std::sync::Arc::default(), client, bus: None })
    }

    /// A client that makes its calls and hears of changes through the
    /// message broker of `settings`, presenting `secret` if set.
    pub fn over_bus(settings: neutrino_bus::BusSettings, secret: Option<&str>) -> Result<Channel, ChannelError> {
        let mut c = Channel::new("", None)?;
        c.bus = Some(neutrino_bus::BusClient::new(settings, secret));
        Ok(c)
    }

    /// One call, to the current server, then to each other one while the
    /// server cannot be reached (a server that answers, even with an
    /// error, is the one to believe: they all share one database).
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, ChannelError> {
        if let Some(bus) = &self.bus {
            let reply = bus
                .call(method.as_str(), path, body.as_ref())
                .await
                .map_err(|source| ChannelError::Bus { path: path.to_string(), source })?;
            if !(200..300).contains(&reply.status) {
                return Err(ChannelError::Status { url: path.to_string(), status: reply.status, body: reply.body });
            }
            return serde_json::from_str(&reply.body)
                .map_err(|e| ChannelError::Parse { url: path.to_string(), reason: e.to_string() });
        }
        let n = self.bases.len().max(1);
        let first = self.current.load(std::sync::atomic::Ordering::SeqCst);
        let mut last_err = None;
        for k in 0..n {
            let i = (first + k) % n;
            match self.call_one(i, method.clone(), path, body.as_ref()).await {
                Err(e @ ChannelError::Unreachable { .. }) => {
                    tracing::warn!(error = %e, "server unreachable");
                    last_err = Some(e);
                }
                other => {
                    if k > 0 {
                        tracing::info!(server = %self.bases.get(i).map_or("", String::as_str), "using another server");
                        self.current.store(i, std::sync::atomic::Ordering::SeqCst);
                    }
                    return other;
                }
            }
        }
        Err(last_err.unwrap_or_else(|| ChannelError::Parse { url: path.to_string(), reason: "no server URL".into() }))
    }

    async fn call_one(
        &self,
        i: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ChannelError> {
        let url = format!("{}{path}", self.bases.get(i).map_or("", String::as_str));
        let mut req = self.client.request(method, &url);
        if let Some(b) = body {
            req = req.json(b);
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

    /// The host's desired state, asked again every second until a server answers.
    pub async fn state_retrying(&self, host: &str) -> HostState {
        loop {
            match self.state(host).await {
                Ok(s) => return s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read this host's state; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Changes after `after`, waiting up to `wait` seconds for one.
    pub async fn changes(&self, after: i64, wait: u64) -> Result<Changes, ChannelError> {
        self.changes_filtered(after, wait, String::new()).await
    }

    /// Changes after `after` that concern the L2 agent of `host` (the
    /// server skips the others), waiting up to `wait` seconds for one.
    /// `firewall`: it filters ports; `remote_groups`: its groups' rules
    /// name remote groups (so any port's change may concern it).
    pub async fn host_changes(
        &self,
        after: i64,
        wait: u64,
        host: &str,
        firewall: bool,
        remote_groups: bool,
    ) -> Result<Changes, ChannelError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("host", host)
            .append_pair("firewall", if firewall { "1" } else { "0" })
            .append_pair("remote_groups", if remote_groups { "1" } else { "0" })
            .finish();
        self.changes_filtered(after, wait, format!("&{query}")).await
    }

    async fn changes_filtered(&self, after: i64, wait: u64, filter: String) -> Result<Changes, ChannelError> {
        let Some(bus) = &self.bus else { return self.changes_now(after, wait, &filter).await };
        // Over the broker: read what is there; if nothing, wait for a
        // server's notice (a wake-up only) and read again. A connection
        // lost meanwhile may have lost notices: the full state is read again.
        let epoch = bus.connect().await.map_err(|source| ChannelError::Bus { path: "connect".into(), source })?;
        let now = self.changes_now(after, 0, &filter).await?;
        if !now.changes.is_empty() || now.resync {
            return Ok(now);
        }
        match bus.wait(epoch, now.last, Duration::from_secs(wait)).await {
            neutrino_bus::Wake::Lost => Ok(Changes { changes: Vec::new(), last: now.last, resync: true }),
            neutrino_bus::Wake::Advanced | neutrino_bus::Wake::Timeout => self.changes_now(now.last, 0, &filter).await,
        }
    }

    /// One read of the changes after `after` (the server waits up to `wait` seconds for one).
    async fn changes_now(&self, after: i64, wait: u64, filter: &str) -> Result<Changes, ChannelError> {
        let path = format!("/agent/v1/changes?after={after}&wait={wait}{filter}");
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

/// When an agent reports its state: at once on start (with `start_flag`
/// until a report has gone through), then every report interval; a failed
/// report is tried again at the next chance.
#[derive(Debug)]
pub struct Heartbeat {
    interval: Duration,
    last: Option<Instant>,
}

impl Heartbeat {
    /// A heartbeat every `report_interval` seconds (at least 1).
    pub fn new(report_interval: u64) -> Heartbeat {
        Heartbeat { interval: Duration::from_secs(report_interval.max(1)), last: None }
    }

    /// Reports `body(start)` to the server when a report is due.
    pub async fn beat(&mut self, channel: &Channel, body: impl FnOnce(bool) -> Value) {
        if self.last.is_some_and(|t| t.elapsed() < self.interval) {
            return;
        }
        match channel.report(&body(self.last.is_none())).await {
            Ok(_) => self.last = Some(Instant::now()),
            Err(e) => tracing::warn!(error = %e, "state report failed"),
        }
    }

    /// Whole seconds until the next report is due, between 1 and 30.
    pub fn wait_secs(&self) -> u64 {
        self.last.map_or(Duration::ZERO, |t| self.interval.saturating_sub(t.elapsed())).as_secs().clamp(1, 30)
    }
}

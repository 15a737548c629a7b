//! The agent channel (`/agent/v1/…`, outside `/v2.0`): agents report their
//! state and stream the change log. Authenticated by `[agent]
//! channel_secret` (header `X-Neutrino-Agent-Secret`) or, under keystone, a
//! token with the admin or service role; open under noauth without a secret.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use neutrino_model::Fault;
use serde_json::{json, Value};

use super::auth::Auth;
use super::{ApiError, ApiResult, AppState};
use crate::core::agents::AgentReport;

/// Header carrying the channel secret.
pub const SECRET_HEADER: &str = "x-neutrino-agent-secret";

/// Most changes returned by one call.
const PAGE: i64 = 500;
/// Longest wait a client may ask for.
const MAX_WAIT: u64 = 60;

fn unauthorized() -> ApiError {
    ApiError(Fault::new(401, "HTTPUnauthorized", "The agent channel requires the channel secret or a service token."))
}

/// Constant-time comparison of two secrets.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks the caller of a channel request.
async fn authorize(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    if let (Some(secret), Some(given)) = (&state.plugin.settings.channel_secret, header(SECRET_HEADER)) {
        return if same_secret(secret.as_bytes(), given.as_bytes()) { Ok(()) } else { Err(unauthorized()) };
    }
    match &state.auth {
        Auth::Noauth if state.plugin.settings.channel_secret.is_none() => Ok(()),
        Auth::Noauth => Err(unauthorized()),
        Auth::Keystone { validator, .. } => {
            let token = header("x-auth-token").ok_or_else(unauthorized)?;
            let body = validator.validate(token).await.map_err(|_| unauthorized())?;
            let roles = body.role_names();
            if roles.iter().any(|r| r == "admin" || r == "service") {
                Ok(())
            } else {
                Err(ApiError(Fault::new(403, "HTTPForbidden", "The agent channel needs the admin or service role.")))
            }
        }
    }
}

/// `POST /agent/v1/report` with `{"agent": {agent_type, binary, host, configurations, …}}`.
pub(crate) async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> ApiResult<Json<Value>> {
    authorize(&state, &headers).await?;
    let report: AgentReport = serde_json::from_value(body.get("agent").cloned().unwrap_or(Value::Null))
        .map_err(|e| ApiError(Fault::bad_request(format!("Invalid agent report: {e}"))))?;
    let agent = state.plugin.report_agent_state(report).await?;
    Ok(Json(json!({ "agent": state.plugin.agent_view(&agent) })))
}

/// What an L2 agent's change stream is limited to (`host=H`): the changes
/// of ports bound to `H`, of the networks `H` has ports on (as the request
/// starts: joining a network is a change of one of its own ports), and, if
/// it filters ports (`firewall`, default on), of security groups and rules
/// — and of any port, when its groups have rules naming remote groups
/// (`remote_groups`, default on), whose members may be anywhere.
#[derive(Debug)]
struct Interest {
    host: String,
    networks: std::collections::BTreeSet<String>,
    firewall: bool,
    remote_groups: bool,
}

impl Interest {
    fn wants(&self, c: &neutrino_store::Change) -> bool {
        c.host.as_deref() == Some(self.host.as_str())
            || c.network_id.as_ref().is_some_and(|n| self.networks.contains(n))
            || c.resource == "agent"
            || (self.firewall
                && (c.resource == "security_group"
                    || c.resource == "security_group_rule"
                    || (c.resource == "port" && self.remote_groups)))
    }
}

/// `GET /agent/v1/changes?after=N&wait=S[&host=H[&firewall=0|1][&remote_groups=0|1]]`:
/// the changes after `after`, or — when there are none yet — the first to be
/// committed within `wait` seconds; with `host`, only those that concern
/// that host's L2 agent ([`Interest`]), the others skipped (`last` moves past
/// them). `resync` is true when changes after `after` were compacted away:
/// the agent must read its full state again.
pub(crate) async fn changes(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    authorize(&state, &headers).await?;
    let mut after = 0i64;
    let mut wait = 0u64;
    let (mut host, mut firewall, mut remote_groups) = (None, true, true);
    for (k, v) in form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned() {
        let bad = || ApiError(Fault::bad_request(format!("Invalid value for {k}: '{v}'")));
        let flag = |v: &str| match v {
            "1" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            _ => Err(bad()),
        };
        match k.as_str() {
            "after" => after = v.parse().map_err(|_| bad())?,
            "wait" => wait = v.parse::<u64>().map_err(|_| bad())?.min(MAX_WAIT),
            "host" if !v.is_empty() && v.len() <= 255 => host = Some(v),
            "host" => return Err(bad()),
            "firewall" => firewall = flag(&v)?,
            "remote_groups" => remote_groups = flag(&v)?,
            _ => return Err(ApiError(Fault::bad_request(format!("Unknown parameter '{k}'")))),
        }
    }
    let interest = match host {
        Some(host) => {
            let networks = state.plugin.host_networks(&host).await?;
            Some(Interest { host, networks, firewall, remote_groups })
        }
        None => None,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    // Woken when the server's change feed moves (a local commit at once,
    // another server's within the feed's poll), not by polling per agent;
    // the newest changes are read from the feed's memory.
    let mut feed = state.plugin.feed.subscribe();
    loop {
        feed.borrow_and_update();
        let (page, reach) = match state.plugin.feed.since(after, PAGE as usize) {
            Some(held) => held,
            None => {
                let mut r = state.plugin.store.read().await?;
                let (oldest, last) = r.change_bounds().await?;
                if after < oldest - 1 || after > last {
                    return Ok(Json(json!({"changes": [], "last": last, "resync": true})));
                }
                let page = r.changes_after(after, PAGE).await?;
                // A page cut short reaches its last change, not the log's end.
                let reach = if page.len() as i64 == PAGE { page.last().map_or(last, |c| c.seq) } else { last };
                (page, reach)
            }
        };
        let more = page.len() as i64 == PAGE;
        let changes: Vec<neutrino_store::Change> = match &interest {
            Some(i) => page.into_iter().filter(|c| i.wants(c)).collect(),
            None => page,
        };
        // Whatever was read and not wanted is behind this agent now.
        after = reach;
        let now = tokio::time::Instant::now();
        if !changes.is_empty() || now >= deadline {
            return Ok(Json(json!({"changes": changes, "last": reach, "resync": false})));
        }
        if more {
            continue;
        }
        let mut nap = deadline - now;
        if !state.plugin.feed.is_running() {
            // No feed task (no runtime when the plugin was built): look again every second.
            nap = nap.min(Duration::from_secs(1));
        }
        let _ = tokio::time::timeout(nap, feed.changed()).await;
    }
}

/// The `host` query parameter (required).
fn host_param(q: Option<&str>) -> ApiResult<String> {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v)
        .filter(|h| !h.is_empty() && h.len() <= 255)
        .ok_or_else(|| ApiError(Fault::bad_request("The host parameter is required")))
}

/// `GET /agent/v1/state?host=H`: everything `H`'s L2 agent should have,
/// and the change-log position to stream from.
pub(crate) async fn state(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<crate::core::l2state::HostState>> {
    authorize(&state, &headers).await?;
    Ok(Json(state.plugin.host_state(&host_param(q.as_deref())?).await?))
}

/// `GET /agent/v1/dhcp-state?host=H`: the networks `H`'s DHCP agent serves.
pub(crate) async fn dhcp_state(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<crate::core::dhcp::DhcpState>> {
    authorize(&state, &headers).await?;
    Ok(Json(state.plugin.dhcp_state(&host_param(q.as_deref())?).await?))
}

/// `GET /agent/v1/l3-state?host=H`: the routers `H`'s L3 agent builds.
pub(crate) async fn l3_state(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<neutrino_model::l3::L3State>> {
    authorize(&state, &headers).await?;
    Ok(Json(state.plugin.l3_state(&host_param(q.as_deref())?).await?))
}

/// `GET /agent/v1/metadata-lookup?network_id=N&ip=A` (or `router_id=R&ip=A`,
/// from a router's proxy): the instance behind an address.
pub(crate) async fn metadata_lookup(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    authorize(&state, &headers).await?;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let found = match pairs.iter().any(|(k, _)| k == "router_id") {
        true => state.plugin.metadata_lookup_by_router(&get("router_id"), &get("ip")).await?,
        false => state.plugin.metadata_lookup(&get("network_id"), &get("ip")).await?,
    };
    match found {
        Some((instance, project)) => Ok(Json(json!({"instance_id": instance, "project_id": project}))),
        None => Err(ApiError(Fault::not_found("No instance has that address on that network"))),
    }
}

/// `POST /agent/v1/devices` with `{"host": H, "build"|"up"|"down": [port ids]}`:
/// the agent wired (or unwired) these ports; their status follows.
pub(crate) async fn devices(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> ApiResult<Json<Value>> {
    authorize(&state, &headers).await?;
    let host = body
        .get("host")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError(Fault::bad_request("host is required")))?;
    let ids = |k: &str| -> ApiResult<Vec<String>> {
        match body.get(k) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| ApiError(Fault::bad_request(format!("{k} must list port ids"))))
                })
                .collect(),
            Some(_) => Err(ApiError(Fault::bad_request(format!("{k} must list port ids")))),
        }
    };
    let (changed, skipped) = state.plugin.set_device_status(host, &ids("build")?, &ids("up")?, &ids("down")?).await?;
    Ok(Json(json!({"changed": changed, "skipped": skipped})))
}

/// `POST /agent/v1/bind` with `{"port_id", "host", "device_id", "device_owner"}`
/// (the compute side, `neutrino vif plug`): binds the port to the host, or
/// unbinds it with an empty host. Returns the port and its network's MTU.
pub(crate) async fn bind(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> ApiResult<Json<Value>> {
    authorize(&state, &headers).await?;
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let port_id = text("port_id").ok_or_else(|| ApiError(Fault::bad_request("port_id is required")))?;
    let host = text("host").unwrap_or_default();
    let mut update = serde_json::Map::new();
    update.insert("binding:host_id".into(), Value::String(host.clone()));
    if host.is_empty() {
        update.insert("device_id".into(), Value::String(String::new()));
        update.insert("device_owner".into(), Value::String(String::new()));
    } else {
        update.insert("device_id".into(), Value::String(text("device_id").unwrap_or_default()));
        update.insert(
            "device_owner".into(),
            Value::String(text("device_owner").unwrap_or_else(|| "compute:nova".into())),
        );
    }
    let ctx = crate::context::RequestContext::admin("").under(state.plugin.policy.clone());
    let port =
        state.plugin.update(&ctx, neutrino_model::fault::Resource::Port, &port_id, Value::Object(update), None).await?;
    let network_id = port.get("network_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let network: Value =
        serde_json::from_str(&state.plugin.get(&ctx, neutrino_model::fault::Resource::Network, &network_id).await?)
            .map_err(|e| ApiError(Fault::bad_request(e.to_string())))?;
    Ok(Json(json!({"port": port, "mtu": network.get("mtu").cloned().unwrap_or(Value::Null)})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cret", b"s3cre"));
        assert!(!same_secret(b"s3cret", b"s3creT"));
    }
}

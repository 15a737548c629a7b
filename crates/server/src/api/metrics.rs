//! Prometheus metrics at `GET /metrics` (text exposition format, public
//! like `/healthcheck`): per route, the requests by status
//! (`neutrino_http_requests_total`) and their latency
//! (`neutrino_http_request_duration_seconds`); transaction conflicts run
//! again (`neutrino_db_conflicts_total`); and, sampled at each scrape, the
//! database pool (`neutrino_db_pool_connections{state}`), the change log's
//! position (`neutrino_change_log_last_seq`) and each agent's heartbeat
//! (`neutrino_agent_heartbeat_age_seconds`, `neutrino_agent_alive`).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use neutrino_store::{ListQuery, Scope, Table};

use super::AppState;

/// Request latency buckets, seconds.
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder (installed on first use; None if another
/// recorder was installed first, then metrics are not exported).
fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("neutrino_http_request_duration_seconds".into()), BUCKETS)
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "a metrics recorder is already installed; /metrics stays empty");
                    None
                }
            }
        })
        .as_ref()
}

/// Installs the recorder (so counts start with the first request).
pub(crate) fn install() {
    let _ = handle();
}

/// The collections the generic routes serve (the `{collection}` label is
/// replaced by one of these, never by arbitrary text from a URL).
const COLLECTIONS: &[&str] = &[
    "networks",
    "subnets",
    "ports",
    "rbac-policies",
    "routers",
    "floatingips",
    "security-groups",
    "security-group-rules",
];

/// The route label: the matched route with a known collection filled in
/// (`/v2.0/{collection}/{id}` → `/v2.0/ports/{id}`).
fn route_label(matched: &str, path: &str) -> String {
    let actual: Vec<&str> = path.split('/').collect();
    let parts: Vec<String> = matched
        .split('/')
        .enumerate()
        .map(|(i, seg)| {
            let given = actual.get(i).map(|a| a.strip_suffix(".json").unwrap_or(a));
            match given {
                Some(c) if seg == "{collection}" && COLLECTIONS.contains(&c) => c.to_string(),
                _ => seg.to_string(),
            }
        })
        .collect();
    parts.join("/")
}

/// Counts and times each routed request.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| route_label(p.as_str(), req.uri().path()));
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("neutrino_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("neutrino_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    resp
}

/// `GET /metrics`.
pub(crate) async fn render(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable\n").into_response();
    };
    let (size, idle) = state.plugin.store.pool_stats();
    metrics::gauge!("neutrino_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("neutrino_db_pool_connections", "state" => "in_use").set(size.saturating_sub(idle) as f64);
    // Samples that need the database are skipped while it is unavailable.
    if let Ok(mut r) = state.plugin.store.read().await {
        if let Ok((_, last)) = r.change_bounds().await {
            metrics::gauge!("neutrino_change_log_last_seq").set(last as f64);
        }
    }
    if let Ok((docs, _)) = state.plugin.store.list_docs(Table::Agents, ListQuery::all(Scope::Admin)).await {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        for doc in docs {
            let Ok(a) = serde_json::from_str::<neutrino_model::Agent>(&doc) else { continue };
            let labels = [("agent_type", a.agent_type.clone()), ("host", a.host.clone())];
            if let Some(t) = neutrino_model::agent::parse_agent_time(&a.heartbeat_timestamp) {
                metrics::gauge!("neutrino_agent_heartbeat_age_seconds", &labels).set((now - t) as f64);
            }
            let alive = if state.plugin.is_alive(&a) { 1.0 } else { 0.0 };
            metrics::gauge!("neutrino_agent_alive", &labels).set(alive);
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn known_collections_fill_the_route_and_nothing_else_does() {
        assert_eq!(route_label("/v2.0/{collection}/{id}", "/v2.0/ports/abc"), "/v2.0/ports/{id}");
        assert_eq!(route_label("/v2.0/{collection}", "/v2.0/networks.json"), "/v2.0/networks");
        assert_eq!(route_label("/v2.0/{collection}", "/v2.0/made-up-1234"), "/v2.0/{collection}");
        assert_eq!(route_label("/agent/v1/report", "/agent/v1/report"), "/agent/v1/report");
    }
}

//! The HTTP API: routing, JSON shapes, fields, paging links and errors.
//! Handlers parse the request into typed values and call the plugin; they
//! do nothing else.

mod agents;
pub mod auth;
pub mod bus;
pub mod channel;
mod error;
mod extensions;
pub mod listing;
mod metrics;
mod quotas;
mod resources;
mod retry;
mod routers;
mod versions;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tower_http::trace::TraceLayer;

pub use auth::Auth;
pub use error::{ApiError, ApiResult};

use crate::core::Plugin;

/// Shared state of the API handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The core plugin.
    pub plugin: Arc<Plugin>,
    /// How callers are authenticated.
    pub auth: Auth,
}

/// The API router (`/`, `/v2.0/…`, `/healthcheck`).
pub fn app(state: AppState) -> Router {
    metrics::install();
    Router::new()
        .route("/", get(versions::root))
        .route("/healthcheck", get(healthcheck).head(healthcheck))
        .route("/metrics", get(metrics::render))
        .route("/v2.0", get(versions::v2))
        .route("/v2.0/", get(versions::v2))
        .route("/v2.0/extensions", get(extensions::list))
        .route("/v2.0/extensions.json", get(extensions::list))
        .route("/v2.0/extensions/{alias}", get(extensions::show))
        .route("/v2.0/agents", get(agents::list))
        .route("/v2.0/agents.json", get(agents::list))
        .route("/v2.0/agents/{id}", get(agents::show).put(agents::update).delete(agents::delete))
        .route("/v2.0/agents/{id}/dhcp-networks", get(agents::dhcp_networks).post(agents::add_dhcp_network))
        .route("/v2.0/agents/{id}/dhcp-networks/{network_id}", axum::routing::delete(agents::remove_dhcp_network))
        .route("/v2.0/networks/{id}/dhcp-agents", get(agents::network_dhcp_agents))
        .route("/v2.0/agents/{id}/l3-routers", get(routers::agent_routers).post(routers::add_agent_router))
        .route("/v2.0/agents/{id}/l3-routers/{router_id}", axum::routing::delete(routers::remove_agent_router))
        .route("/v2.0/routers/{id}/l3-agents", get(routers::router_agents))
        .route(
            "/v2.0/floatingips/{id}/port_forwardings",
            get(routers::list_port_forwardings).post(routers::create_port_forwarding),
        )
        .route(
            "/v2.0/floatingips/{id}/port_forwardings/{pf}",
            get(routers::show_port_forwarding)
                .put(routers::update_port_forwarding)
                .delete(routers::delete_port_forwarding),
        )
        .route("/v2.0/routers/{id}/{action}", axum::routing::put(routers::action))
        .route("/agent/v1/report", axum::routing::post(channel::report))
        .route("/agent/v1/changes", get(channel::changes))
        .route("/agent/v1/state", get(channel::state))
        .route("/agent/v1/dhcp-state", get(channel::dhcp_state))
        .route("/agent/v1/l3-state", get(channel::l3_state))
        .route("/agent/v1/metadata-lookup", get(channel::metadata_lookup))
        .route("/agent/v1/devices", axum::routing::post(channel::devices))
        .route("/agent/v1/bind", axum::routing::post(channel::bind))
        .route("/v2.0/quotas", get(quotas::list))
        .route("/v2.0/quotas.json", get(quotas::list))
        .route("/v2.0/quotas/{project_id}", get(quotas::show).put(quotas::update).delete(quotas::reset))
        .route("/v2.0/quotas/{project_id}/default", get(quotas::defaults))
        .route("/v2.0/quotas/{project_id}/details", get(quotas::details))
        .route("/v2.0/{collection}", get(resources::list).post(resources::create))
        .route("/v2.0/{collection}/{id}", get(resources::show).put(resources::update).delete(resources::delete))
        .route(
            "/v2.0/{collection}/{id}/tags",
            get(resources::tags_get)
                .post(resources::tags_add)
                .put(resources::tags_replace)
                .delete(resources::tags_clear),
        )
        .route(
            "/v2.0/{collection}/{id}/tags/{tag}",
            get(resources::tag_check).put(resources::tag_add).delete(resources::tag_remove),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(retry::conflicts))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(axum::middleware::from_fn(request_id))
        .with_state(state)
}

/// Header carrying the request id, as Neutron (oslo.middleware) names it.
const REQUEST_ID: &str = "x-openstack-request-id";

/// Gives every request an id (`req-<uuid>`), returned in
/// `X-Openstack-Request-Id` and carried by the request's log span.
async fn request_id(mut req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let id = format!("req-{}", uuid::Uuid::new_v4());
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v.clone());
        let mut resp = next.run(req).await;
        resp.headers_mut().insert(REQUEST_ID, v);
        resp
    } else {
        next.run(req).await
    }
}

fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
}

async fn healthcheck() -> (StatusCode, &'static str) {
    (StatusCode::OK, "OK")
}

async fn method_not_allowed() -> ApiError {
    ApiError(neutrino_model::Fault::new(
        405,
        "HTTPMethodNotAllowed",
        "The server could not comply with the request since it is either malformed or otherwise incorrect.",
    ))
}

async fn not_found() -> ApiError {
    ApiError(neutrino_model::Fault::not_found("The resource could not be found."))
}

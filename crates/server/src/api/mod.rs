//! The HTTP API: routing, JSON shapes, fields, paging links and errors.
//! Handlers parse the request into typed values and call the plugin; they
//! do nothing else.

mod auth;
mod error;
mod extensions;
pub mod listing;
mod resources;
mod versions;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult};

use crate::core::Plugin;

/// Shared state of the API handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The core plugin.
    pub plugin: Arc<Plugin>,
}

/// The API router (`/`, `/v2.0/…`, `/healthcheck`).
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(versions::root))
        .route("/healthcheck", get(healthcheck).head(healthcheck))
        .route("/v2.0", get(versions::v2))
        .route("/v2.0/", get(versions::v2))
        .route("/v2.0/extensions", get(extensions::list))
        .route("/v2.0/extensions.json", get(extensions::list))
        .route("/v2.0/extensions/{alias}", get(extensions::show))
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
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthcheck() -> (StatusCode, &'static str) {
    (StatusCode::OK, "OK")
}

async fn not_found() -> ApiError {
    ApiError(neutrino_model::Fault::not_found("The resource could not be found."))
}

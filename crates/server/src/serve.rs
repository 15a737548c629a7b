//! Serving the API on a listener until shutdown.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::{app, AppState, Auth};
use crate::core::Plugin;

/// Serves the API on `listener` until `shutdown` completes, then drains
/// in-flight requests.
pub async fn serve(
    listener: TcpListener,
    plugin: Arc<Plugin>,
    auth: Auth,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(AppState { plugin, auth });
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

/// Serves the agent channel on the message broker of `settings` and
/// announces this server's commits there; runs until its task is aborted,
/// reconnecting whenever the broker is lost.
pub async fn serve_bus(settings: neutrino_bus::BusSettings, plugin: Arc<Plugin>, auth: Auth) {
    let commits = plugin.feed.commits();
    let router = app(AppState { plugin, auth });
    neutrino_bus::serve(settings, crate::api::bus::handler(router), commits).await;
}

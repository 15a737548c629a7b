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

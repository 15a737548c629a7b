//! Serving the API on a listener until shutdown.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::{app, AppState};
use crate::core::Plugin;

/// Serves the API on `listener` until `shutdown` completes, then drains
/// in-flight requests.
pub async fn serve(
    listener: TcpListener,
    plugin: Arc<Plugin>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(AppState { plugin });
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

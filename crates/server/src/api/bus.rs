//! The agent channel served over the message broker: each call is the
//! channel request it stands for, run through the same router (so the same
//! authentication, handlers and answers as over HTTP). Only the agent
//! channel (`/agent/v1/…`) is reachable this way, never the API.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use neutrino_bus::{Call, Handler, Reply};
use tower::ServiceExt;

use super::channel::SECRET_HEADER;

/// Largest answer read back from the router (a host's full state).
const MAX_REPLY: usize = 256 * 1024 * 1024;

/// The bus handler of `router` (the API's).
pub fn handler(router: Router) -> Handler {
    Arc::new(move |call: Call| {
        let router = router.clone();
        Box::pin(async move { run(router, call).await })
    })
}

fn refuse(status: u16, message: &str) -> Reply {
    let kind = match status {
        404 => "HTTPNotFound",
        500 => "HTTPInternalServerError",
        _ => "HTTPBadRequest",
    };
    let body = serde_json::json!({"NeutronError": {"type": kind, "message": message, "detail": ""}});
    Reply { status, body: body.to_string() }
}

async fn run(router: Router, call: Call) -> Reply {
    if !call.path.starts_with("/agent/v1/") {
        return refuse(404, "Only the agent channel (/agent/v1/…) is served over the message broker.");
    }
    let Ok(method) = Method::from_bytes(call.method.as_bytes()) else {
        return refuse(400, "Invalid method.");
    };
    let mut req = Request::builder().method(method).uri(&call.path).header("content-type", "application/json");
    if let Some(secret) = &call.secret {
        req = req.header(SECRET_HEADER, secret);
    }
    let body = match &call.body {
        Some(b) => Body::from(b.to_string()),
        None => Body::empty(),
    };
    let request = match req.body(body) {
        Ok(r) => r,
        Err(e) => return refuse(400, &format!("Invalid call: {e}")),
    };
    let response = match router.oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    match axum::body::to_bytes(response.into_body(), MAX_REPLY).await {
        Ok(bytes) => Reply { status, body: String::from_utf8_lossy(&bytes).into_owned() },
        Err(e) => refuse(500, &format!("Cannot read the answer: {e}")),
    }
}

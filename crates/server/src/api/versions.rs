//! Version discovery: `GET /` and `GET /v2.0`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;

/// The base URL the client used (from the Host header).
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost:9696");
    let proto =
        headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).filter(|p| *p == "https").unwrap_or("http");
    format!("{proto}://{host}")
}

pub(crate) async fn root(headers: HeaderMap) -> Json<Value> {
    let base = base_url(&headers);
    Json(json!({
        "versions": [{
            "id": "v2.0",
            "status": "CURRENT",
            "links": [{"href": format!("{base}/v2.0/"), "rel": "self"}]
        }]
    }))
}

pub(crate) async fn v2(State(_): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&headers);
    let resources: Vec<Value> = [("network", "networks"), ("subnet", "subnets"), ("port", "ports")]
        .iter()
        .map(|(name, collection)| {
            json!({
                "name": name,
                "collection": collection,
                "links": [{"href": format!("{base}/v2.0/{collection}"), "rel": "self"}]
            })
        })
        .collect();
    Json(json!({ "resources": resources }))
}

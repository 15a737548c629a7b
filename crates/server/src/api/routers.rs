//! The router member actions (`add_router_interface`, `remove_router_interface`,
//! `add_extraroutes`, `remove_extraroutes`) and L3 agent scheduling
//! (`/agents/{id}/l3-routers`, `/routers/{id}/l3-agents`).

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::Json;
use neutrino_model::Fault;
use serde_json::{json, Value};

use super::{ApiError, ApiResult, AppState};
use crate::context::RequestContext;

fn strip(id: &str) -> &str {
    id.strip_suffix(".json").unwrap_or(id)
}

fn body_of(bytes: &Bytes) -> ApiResult<Value> {
    if bytes.is_empty() {
        return Err(ApiError(Fault::bad_request("Resource body required")));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError(Fault::new(400, "MalformedRequestBody", format!("Malformed request body: {e}"))))
}

/// `PUT /v2.0/routers/{id}/{action}`.
pub(crate) async fn action(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, action)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let body = body_of(&bytes)?;
    let p = &state.plugin;
    let out = match action.as_str() {
        "add_router_interface" => p.add_router_interface(&ctx, &id, &body).await?,
        "remove_router_interface" => p.remove_router_interface(&ctx, &id, &body).await?,
        "add_extraroutes" => p.change_extraroutes(&ctx, &id, &body, true).await?,
        "remove_extraroutes" => p.change_extraroutes(&ctx, &id, &body, false).await?,
        _ => return Err(ApiError(Fault::not_found("The resource could not be found."))),
    };
    Ok(Json(out))
}

/// `GET /v2.0/agents/{id}/l3-routers`
pub(crate) async fn agent_routers(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "routers": state.plugin.l3_routers_of(&ctx, strip(&id)).await? })))
}

/// `POST /v2.0/agents/{id}/l3-routers` with `{"router_id": …}`
pub(crate) async fn add_agent_router(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = body_of(&bytes)?;
    let router_id = body
        .get("router_id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError(Fault::bad_request("router_id is required")))?;
    state.plugin.add_router_to_agent(&ctx, strip(&id), router_id).await?;
    Ok((StatusCode::CREATED, Json(json!({}))))
}

/// `DELETE /v2.0/agents/{id}/l3-routers/{router_id}`
pub(crate) async fn remove_agent_router(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, router_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.plugin.remove_router_from_agent(&ctx, strip(&id), strip(&router_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2.0/routers/{id}/l3-agents`
pub(crate) async fn router_agents(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "agents": state.plugin.l3_agents_of(&ctx, strip(&id)).await? })))
}

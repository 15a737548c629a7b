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

/// 404 unless `service_plugins` loads the L3 router plugin.
fn l3_on(state: &AppState) -> ApiResult<()> {
    if state.plugin.settings.l3_router {
        Ok(())
    } else {
        Err(ApiError(Fault::not_found("The resource could not be found.")))
    }
}

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
    l3_on(&state)?;
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

/// The `port_forwarding` object of a request body.
fn pf_body(bytes: &Bytes) -> ApiResult<Value> {
    match body_of(bytes)? {
        Value::Object(mut m) => m
            .remove("port_forwarding")
            .ok_or_else(|| ApiError(Fault::bad_request("Resource body required: {\"port_forwarding\": {...}}"))),
        _ => Err(ApiError(Fault::bad_request("Body contains invalid data"))),
    }
}

/// `GET /v2.0/floatingips/{id}/port_forwardings`
pub(crate) async fn list_port_forwardings(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(fip): Path<String>,
) -> ApiResult<Json<Value>> {
    l3_on(&state)?;
    Ok(Json(json!({ "port_forwardings": state.plugin.list_port_forwardings(&ctx, &fip).await? })))
}

/// `POST /v2.0/floatingips/{id}/port_forwardings`
pub(crate) async fn create_port_forwarding(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(fip): Path<String>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    l3_on(&state)?;
    let body = pf_body(&bytes)?;
    let pf = state.plugin.create_port_forwarding(&ctx, &fip, body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "port_forwarding": pf }))))
}

/// `GET /v2.0/floatingips/{id}/port_forwardings/{pf}`
pub(crate) async fn show_port_forwarding(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((fip, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    l3_on(&state)?;
    Ok(Json(json!({ "port_forwarding": state.plugin.get_port_forwarding(&ctx, &fip, strip(&id)).await? })))
}

/// `PUT /v2.0/floatingips/{id}/port_forwardings/{pf}`
pub(crate) async fn update_port_forwarding(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((fip, id)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    l3_on(&state)?;
    let body = pf_body(&bytes)?;
    Ok(Json(json!({ "port_forwarding": state.plugin.update_port_forwarding(&ctx, &fip, strip(&id), body).await? })))
}

/// `DELETE /v2.0/floatingips/{id}/port_forwardings/{pf}`
pub(crate) async fn delete_port_forwarding(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((fip, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    l3_on(&state)?;
    state.plugin.delete_port_forwarding(&ctx, &fip, strip(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2.0/agents/{id}/l3-routers`
pub(crate) async fn agent_routers(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    l3_on(&state)?;
    Ok(Json(json!({ "routers": state.plugin.l3_routers_of(&ctx, strip(&id)).await? })))
}

/// `POST /v2.0/agents/{id}/l3-routers` with `{"router_id": …}`
pub(crate) async fn add_agent_router(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    l3_on(&state)?;
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
    l3_on(&state)?;
    state.plugin.remove_router_from_agent(&ctx, strip(&id), strip(&router_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2.0/routers/{id}/l3-agents`
pub(crate) async fn router_agents(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    l3_on(&state)?;
    Ok(Json(json!({ "agents": state.plugin.l3_agents_of(&ctx, strip(&id)).await? })))
}

//! `/v2.0/quotas`: show, defaults, details, update and reset of per-project limits.

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::Json;
use neutrino_model::Fault;
use serde_json::{json, Map, Value};

use super::{ApiError, ApiResult, AppState};
use crate::context::RequestContext;

fn project(raw: &str) -> ApiResult<&str> {
    let p = raw.strip_suffix(".json").unwrap_or(raw);
    if p.is_empty() || p.len() > 255 {
        return Err(ApiError(Fault::bad_request(format!("Invalid project id '{p}'"))));
    }
    Ok(p)
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Json<Value>> {
    let rows = state.plugin.quota_list(&ctx).await?;
    let quotas: Vec<Value> = rows
        .into_iter()
        .map(|(p, mut limits)| {
            limits.insert("project_id".into(), Value::from(p.clone()));
            limits.insert("tenant_id".into(), Value::from(p));
            Value::Object(limits)
        })
        .collect();
    Ok(Json(json!({ "quotas": quotas })))
}

/// `GET /v2.0/quotas/tenant` and `/project`: the caller's own project.
pub(crate) async fn own_project(
    Path(which): Path<String>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Json<Value>> {
    match which.strip_suffix(".json").unwrap_or(&which) {
        "tenant" => Ok(Json(json!({"tenant": {"tenant_id": ctx.project_id}}))),
        "project" => Ok(Json(json!({"project": {"project_id": ctx.project_id}}))),
        _ => Err(ApiError(Fault::not_found("The resource could not be found."))),
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Json<Value>> {
    let p = project(&project_id)?;
    if p == "tenant" || p == "project" {
        return own_project(Path(project_id.clone()), Extension(ctx)).await;
    }
    Ok(Json(json!({ "quota": state.plugin.quota_show(&ctx, p).await? })))
}

pub(crate) async fn defaults(State(state): State<AppState>, Path(project_id): Path<String>) -> ApiResult<Json<Value>> {
    project(&project_id)?;
    Ok(Json(json!({ "quota": state.plugin.quota_defaults() })))
}

pub(crate) async fn details(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Json<Value>> {
    let details = state.plugin.quota_details(&ctx, project(&project_id)?).await?;
    let quota: Map<String, Value> = details
        .into_iter()
        .map(|(r, d)| (r.to_string(), json!({"limit": d.limit, "used": d.used, "reserved": 0})))
        .collect();
    Ok(Json(json!({ "quota": quota })))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    Extension(ctx): Extension<RequestContext>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut body: Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|e| ApiError(Fault::new(400, "MalformedRequestBody", format!("Malformed request body: {e}"))))?;
    let quota =
        body.remove("quota").ok_or_else(|| ApiError(Fault::bad_request("Unable to find 'quota' in request body")))?;
    Ok(Json(json!({ "quota": state.plugin.quota_update(&ctx, project(&project_id)?, quota).await? })))
}

pub(crate) async fn reset(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<StatusCode> {
    state.plugin.quota_delete(&ctx, project(&project_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/v3/auth/tokens` (issue, validate, check, revoke) and what a token
//! holder may ask about itself: its catalog and its projects.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::records::query_pairs;
use super::{ApiResult, Caller, IdentityApi};
use crate::auth::{AuthRequest, ValidToken};
use crate::error::IdentityError;
use crate::records::{Project, TokenBody};

fn token_response(status: StatusCode, token: &str, body: &TokenBody, catalog: bool) -> Response {
    let mut body = body.clone();
    if !catalog {
        body.catalog = None;
    }
    let mut resp = (status, Json(json!({"token": body}))).into_response();
    if let Ok(v) = HeaderValue::from_str(token) {
        resp.headers_mut().insert("x-subject-token", v);
    }
    resp
}

/// `POST /v3/auth/tokens`
pub(crate) async fn issue(
    State(api): State<IdentityApi>,
    RawQuery(q): RawQuery,
    Json(body): Json<Value>,
) -> ApiResult<Response> {
    let req: AuthRequest = serde_json::from_value(body.get("auth").cloned().unwrap_or(Value::Null))
        .map_err(|e| api.err(IdentityError::Validation(format!("Invalid authentication request: {e}"))))?;
    let (token, body) = api.identity.authenticate(&req).await.map_err(|e| api.err(e))?;
    tracing::info!(user = %body.user.id, project = ?body.project.as_ref().map(|p| &p.id), "token issued");
    Ok(token_response(StatusCode::CREATED, &token, &body, !no_catalog(q.as_deref())))
}

fn no_catalog(q: Option<&str>) -> bool {
    query_pairs(q).iter().any(|(k, _)| k == "nocatalog")
}

/// The subject token of a validation, which the caller may ask about when
/// it is an admin, a service, or the subject itself.
async fn subject(api: &IdentityApi, caller: &Caller, headers: &HeaderMap) -> ApiResult<(String, ValidToken)> {
    let token = headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| api.err(IdentityError::Validation("X-Subject-Token is required.".into())))?;
    let valid = api.identity.validate(token).await.map_err(|e| api.err(e))?;
    let allowed = caller.0.is_admin() || caller.0.has_role("service") || valid.body.user.id == caller.user_id();
    if !allowed {
        return Err(api.forbidden());
    }
    Ok((token.to_string(), valid))
}

/// `GET /v3/auth/tokens`
pub(crate) async fn validate(
    State(api): State<IdentityApi>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let (token, valid) = subject(&api, &caller, &headers).await?;
    Ok(token_response(StatusCode::OK, &token, &valid.body, !no_catalog(q.as_deref())))
}

/// `HEAD /v3/auth/tokens`
pub(crate) async fn check(State(api): State<IdentityApi>, caller: Caller, headers: HeaderMap) -> ApiResult<StatusCode> {
    subject(&api, &caller, &headers).await?;
    Ok(StatusCode::OK)
}

/// `DELETE /v3/auth/tokens`
pub(crate) async fn revoke(
    State(api): State<IdentityApi>,
    caller: Caller,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let (token, valid) = subject(&api, &caller, &headers).await?;
    api.identity.revoke(&token).await.map_err(|e| api.err(e))?;
    tracing::info!(user = %valid.body.user.id, by = %caller.user_id(), "token revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/auth/catalog`
pub(crate) async fn catalog(State(api): State<IdentityApi>, caller: Caller) -> ApiResult<Response> {
    let scoped = caller.0.body.project.is_some() || caller.0.body.domain.is_some();
    let catalog = if scoped { api.identity.service_catalog().await.map_err(|e| api.err(e))? } else { Vec::new() };
    Ok(Json(json!({"catalog": catalog, "links": {"self": api.link("auth/catalog"), "previous": null, "next": null}}))
        .into_response())
}

async fn projects_of(api: &IdentityApi, user_id: &str, path: &str) -> ApiResult<Response> {
    let projects = api.identity.projects_of_user(user_id).await.map_err(|e| api.err(e))?;
    let items: Vec<Value> = projects
        .iter()
        .map(|p: &Project| {
            let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
            v["links"] = json!({"self": api.link(&format!("projects/{}", p.id))});
            v
        })
        .collect();
    Ok(Json(json!({"projects": items, "links": {"self": api.link(path), "previous": null, "next": null}}))
        .into_response())
}

/// `GET /v3/auth/projects`: the projects the caller may scope to.
pub(crate) async fn my_projects(State(api): State<IdentityApi>, caller: Caller) -> ApiResult<Response> {
    projects_of(&api, caller.user_id(), "auth/projects").await
}

/// `GET /v3/users/{id}/projects`
pub(crate) async fn user_projects(
    State(api): State<IdentityApi>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    if id != caller.user_id() {
        caller.require_admin(&api)?;
    }
    projects_of(&api, &id, &format!("users/{id}/projects")).await
}

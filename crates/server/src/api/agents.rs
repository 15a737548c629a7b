//! `/v2.0/agents`: list, show, update (`admin_state_up`, `description`)
//! and delete of the agents that reported themselves (administrators only:
//! others see none, as Neutron's `get_agent` policy).

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use neutrino_store::{Filter, ListQuery, SqlValue, Table};
use serde_json::{json, Map, Value};

use super::{ApiError, ApiResult, AppState};
use crate::context::RequestContext;

/// Attributes a list may filter on (indexed columns).
const FILTERS: &[&str] = &["id", "agent_type", "host", "binary"];

fn strip(id: &str) -> &str {
    id.strip_suffix(".json").unwrap_or(id)
}

/// Keeps only `fields` (all when empty).
fn select(v: Value, fields: &[String]) -> Value {
    match v {
        Value::Object(m) if !fields.is_empty() => {
            Value::Object(m.into_iter().filter(|(k, _)| fields.iter().any(|f| f == k)).collect::<Map<_, _>>())
        }
        other => other,
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut query = ListQuery::all(ctx.scope());
    let mut fields = Vec::new();
    let mut by_attr: Vec<(String, Vec<SqlValue>)> = Vec::new();
    for (k, v) in form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned() {
        if k == "fields" {
            fields.push(v);
        } else if FILTERS.contains(&k.as_str()) {
            match by_attr.iter_mut().find(|(a, _)| *a == k) {
                Some((_, vals)) => vals.push(SqlValue::Text(v)),
                None => by_attr.push((k, vec![SqlValue::Text(v)])),
            }
        } else if !matches!(k.as_str(), "alive" | "admin_state_up" | "topic" | "description") {
            return Err(ApiError(neutrino_model::Fault::bad_request(format!(
                "[{k}] is invalid attribute for filtering"
            ))));
        }
    }
    query.filters = by_attr.into_iter().map(|(attr, values)| Filter::Eq { attr, values }).collect();
    let (docs, _) = state.plugin.store.list_docs(Table::Agents, query).await?;
    let mut agents = Vec::with_capacity(docs.len());
    for d in docs {
        let a: neutrino_model::Agent = serde_json::from_str(&d)
            .map_err(|e| ApiError(neutrino_model::Fault::new(500, "HTTPInternalServerError", e.to_string())))?;
        agents.push(select(state.plugin.agent_view(&a), &fields));
    }
    Ok(Json(json!({ "agents": agents })))
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let a = state.plugin.get_agent(&ctx, strip(&id)).await?;
    Ok(Json(json!({ "agent": state.plugin.agent_view(&a) })))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<Json<Value>> {
    let a = state.plugin.update_agent(&ctx, strip(&id), &body).await?;
    Ok(Json(json!({ "agent": state.plugin.agent_view(&a) })))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.plugin.delete_agent(&ctx, strip(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2.0/agents/{id}/dhcp-networks`
pub(crate) async fn dhcp_networks(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "networks": state.plugin.dhcp_networks_of(&ctx, strip(&id)).await? })))
}

/// `POST /v2.0/agents/{id}/dhcp-networks` with `{"network_id": …}`
pub(crate) async fn add_dhcp_network(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let network_id = body
        .get("network_id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError(neutrino_model::Fault::bad_request("network_id is required")))?;
    state.plugin.add_dhcp_network(&ctx, strip(&id), network_id).await?;
    Ok((StatusCode::CREATED, Json(json!({}))))
}

/// `DELETE /v2.0/agents/{id}/dhcp-networks/{network_id}`
pub(crate) async fn remove_dhcp_network(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, network_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.plugin.remove_dhcp_network(&ctx, strip(&id), strip(&network_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2.0/networks/{id}/dhcp-agents`
pub(crate) async fn network_dhcp_agents(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "agents": state.plugin.dhcp_agents_of(&ctx, strip(&id)).await? })))
}

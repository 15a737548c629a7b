//! Handlers of `/v2.0/{networks,subnets,ports}[/{id}[/tags[/{tag}]]]`.

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use neutrino_model::fault::Resource;
use neutrino_model::Fault;
use serde_json::{Map, Value};

use super::listing::{self, ListRequest};
use super::versions::base_url;
use super::{ApiError, ApiResult, AppState};
use crate::context::RequestContext;
use crate::core::TagTarget;

fn strip_json(s: &str) -> &str {
    s.strip_suffix(".json").unwrap_or(s)
}

fn resource_of(state: &AppState, collection: &str) -> ApiResult<Resource> {
    let l3 = state.plugin.settings.l3_router;
    match strip_json(collection) {
        "networks" => Ok(Resource::Network),
        "subnets" => Ok(Resource::Subnet),
        "ports" => Ok(Resource::Port),
        "rbac-policies" => Ok(Resource::RbacPolicy),
        "routers" if l3 => Ok(Resource::Router),
        "floatingips" if l3 => Ok(Resource::FloatingIp),
        "security-groups" => Ok(Resource::SecurityGroup),
        "security-group-rules" => Ok(Resource::SecurityGroupRule),
        _ => Err(ApiError(Fault::not_found("The resource could not be found."))),
    }
}

/// `If-Match: revision_number=N`.
fn if_match(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(v) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = v.to_str().unwrap_or_default().trim();
    let n = text
        .strip_prefix("revision_number=")
        .and_then(|n| n.trim().parse::<u64>().ok())
        .ok_or_else(|| ApiError(Fault::bad_request(format!("If-Match header without revision_number=N: '{text}'"))))?;
    Ok(Some(n))
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn parse_body(bytes: &Bytes) -> ApiResult<Value> {
    if bytes.is_empty() {
        return Err(ApiError(Fault::bad_request("Resource body required")));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError(Fault::new(400, "MalformedRequestBody", format!("Malformed request body: {e}"))))
}

/// Removes what the caller may not see and keeps only `fields`.
fn shape(ctx: &RequestContext, resource: Resource, mut v: Map<String, Value>, fields: &[String]) -> Map<String, Value> {
    if !ctx.is_admin {
        let hidden: &[&str] = match resource {
            Resource::Network => neutrino_model::network::ADMIN_ONLY_KEYS,
            Resource::Port => neutrino_model::port::ADMIN_ONLY_KEYS,
            Resource::Router => &["distributed", "ha"],
            Resource::Subnet
            | Resource::RbacPolicy
            | Resource::FloatingIp
            | Resource::SecurityGroup
            | Resource::SecurityGroupRule => &[],
        };
        for k in hidden {
            v.remove(*k);
        }
        // A network a member sees without owning it, and that is neither
        // shared with everyone nor external, is shared with its project by
        // an RBAC policy: Neutron shows it as shared to that project.
        if resource == Resource::Network {
            let foreign = v.get("project_id").and_then(Value::as_str).is_some_and(|p| p != ctx.project_id);
            let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
            if foreign && !flag("shared") && !flag("router:external") {
                v.insert("shared".into(), Value::Bool(true));
            }
        }
    }
    if !fields.is_empty() {
        v.retain(|k, _| fields.iter().any(|f| f == k));
    }
    v
}

fn shape_doc(ctx: &RequestContext, resource: Resource, doc: &str, fields: &[String]) -> ApiResult<String> {
    if ctx.is_admin && fields.is_empty() {
        return Ok(doc.to_string());
    }
    let v: Map<String, Value> = serde_json::from_str(doc).map_err(|e| {
        ApiError::from(neutrino_store::StoreError::Corrupt {
            table: resource.plural(),
            id: String::new(),
            reason: e.to_string(),
        })
    })?;
    Ok(Value::Object(shape(ctx, resource, v, fields)).to_string())
}

fn id_of(doc: &str) -> Option<String> {
    serde_json::from_str::<Value>(doc).ok().and_then(|v| v.get("id").and_then(Value::as_str).map(String::from))
}

fn links(headers: &HeaderMap, resource: Resource, req: &ListRequest, docs: &[String], more: bool) -> Vec<Value> {
    let Some(limit) = req.query.limit else { return Vec::new() };
    let base = format!("{}/v2.0/{}", base_url(headers), resource.collection_path());
    let href = |marker: &str, reverse: bool| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &req.params {
            if k != "marker" && k != "page_reverse" && k != "limit" {
                ser.append_pair(k, v);
            }
        }
        ser.append_pair("limit", &limit.to_string());
        ser.append_pair("marker", marker);
        if reverse {
            ser.append_pair("page_reverse", "True");
        }
        format!("{base}?{}", ser.finish())
    };
    let (first, last) = (docs.first().and_then(|d| id_of(d)), docs.last().and_then(|d| id_of(d)));
    let mut out = Vec::new();
    // Paging forward, the last page has no `next`; paging backwards, the
    // first page has no `previous` (the API guide's rule).
    let (has_next, has_prev) = if req.query.page_reverse { (true, more) } else { (more, true) };
    if let (true, Some(last)) = (has_next, &last) {
        out.push(serde_json::json!({"rel": "next", "href": href(last, false)}));
    }
    if let (true, Some(first)) = (has_prev, &first) {
        out.push(serde_json::json!({"rel": "previous", "href": href(first, true)}));
    }
    out
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    RawQuery(query): RawQuery,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let resource = resource_of(&state, &collection)?;
    let req = listing::parse(resource, query.as_deref(), ctx.scope(), state.plugin.settings.pagination_max_limit)?;
    // Neutron makes a project's default group when the project first looks.
    if resource == Resource::SecurityGroup {
        state.plugin.ensure_default_group_of(&ctx).await?;
    }
    let (docs, more) = state.plugin.list(resource, &req.query).await?;
    let mut body = String::with_capacity(docs.iter().map(|d| d.len() + 1).sum::<usize>() + 64);
    body.push_str("{\"");
    body.push_str(resource.plural());
    body.push_str("\":[");
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&shape_doc(&ctx, resource, d, &req.fields)?);
    }
    body.push(']');
    let links = links(&headers, resource, &req, &docs, more);
    if !links.is_empty() {
        body.push_str(&format!(",\"{}_links\":{}", resource.plural(), Value::from(links)));
    }
    body.push('}');
    Ok(json_response(StatusCode::OK, body))
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Response> {
    let resource = resource_of(&state, &collection)?;
    let fields: Vec<String> = query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == "fields")
                .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()).collect::<Vec<_>>())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let doc = state.plugin.get(&ctx, resource, strip_json(&id)).await?;
    let body = format!("{{\"{}\":{}}}", resource.singular(), shape_doc(&ctx, resource, &doc, &fields)?);
    Ok(json_response(StatusCode::OK, body))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    Extension(ctx): Extension<RequestContext>,
    body: Bytes,
) -> ApiResult<Response> {
    let resource = resource_of(&state, &collection)?;
    let mut body = match parse_body(&body)? {
        Value::Object(m) => m,
        _ => return Err(ApiError(Fault::bad_request("Body contains invalid data"))),
    };
    let (items, bulk) = if let Some(list) = body.remove(resource.plural()) {
        match list {
            Value::Array(items) if !items.is_empty() => (items, true),
            Value::Array(_) => return Err(ApiError(Fault::bad_request("Resources required"))),
            _ => {
                return Err(ApiError(Fault::bad_request(format!(
                    "Bulk operation requires a list of {}",
                    resource.plural()
                ))))
            }
        }
    } else if let Some(item) = body.remove(resource.singular()) {
        (vec![item], false)
    } else {
        return Err(ApiError(Fault::bad_request(format!("Unable to find '{}' in request body", resource.singular()))));
    };
    let created = state.plugin.create(&ctx, resource, items).await?;
    let shaped: Vec<Value> = created
        .into_iter()
        .map(|v| match v {
            Value::Object(m) => Value::Object(shape(&ctx, resource, m, &[])),
            other => other,
        })
        .collect();
    let out = if bulk {
        serde_json::json!({ resource.plural(): shaped })
    } else {
        serde_json::json!({ resource.singular(): shaped.into_iter().next().unwrap_or(Value::Null) })
    };
    Ok(json_response(StatusCode::CREATED, out.to_string()))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let resource = resource_of(&state, &collection)?;
    let revision = if_match(&headers)?;
    let mut body = match parse_body(&body)? {
        Value::Object(m) => m,
        _ => return Err(ApiError(Fault::bad_request("Body contains invalid data"))),
    };
    let item = body.remove(resource.singular()).ok_or_else(|| {
        ApiError(Fault::bad_request(format!("Unable to find '{}' in request body", resource.singular())))
    })?;
    let updated = state.plugin.update(&ctx, resource, strip_json(&id), item, revision).await?;
    let shaped = match updated {
        Value::Object(m) => Value::Object(shape(&ctx, resource, m, &[])),
        other => other,
    };
    Ok(json_response(StatusCode::OK, serde_json::json!({ resource.singular(): shaped }).to_string()))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let resource = resource_of(&state, &collection)?;
    let revision = if_match(&headers)?;
    state.plugin.delete(&ctx, resource, strip_json(&id), revision).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn current_tags(state: &AppState, ctx: &RequestContext, resource: Resource, id: &str) -> ApiResult<Vec<String>> {
    if resource == Resource::RbacPolicy {
        return Err(ApiError(Fault::not_found("The resource could not be found.")));
    }
    let doc = state.plugin.get(ctx, resource, id).await?;
    let v: Value = serde_json::from_str(&doc).unwrap_or(Value::Null);
    Ok(v.get("tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
        .unwrap_or_default())
}

pub(crate) async fn tags_get(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Response> {
    let resource = resource_of(&state, &collection)?;
    let tags = current_tags(&state, &ctx, resource, &id).await?;
    Ok(json_response(StatusCode::OK, serde_json::json!({ "tags": tags }).to_string()))
}

fn tag_list(body: &Bytes) -> ApiResult<Vec<String>> {
    let body = parse_body(body)?;
    match body.get("tags") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| {
                t.as_str().map(String::from).ok_or_else(|| {
                    ApiError(Fault::bad_request(format!(
                        "Invalid input for tags. Reason: '{t}' is not a valid string."
                    )))
                })
            })
            .collect::<ApiResult<Vec<String>>>(),
        _ => Err(ApiError(Fault::bad_request("Invalid input for tags. Reason: a list of tags is required."))),
    }
}

/// `PUT …/tags` replaces the tags, `POST …/tags` ("Create tags") adds them.
async fn set_tags(
    state: AppState,
    collection: &str,
    id: &str,
    ctx: &RequestContext,
    body: &Bytes,
    change: fn(Vec<String>) -> TagTarget,
) -> ApiResult<Response> {
    let resource = resource_of(&state, collection)?;
    let tags = state.plugin.change_tags(ctx, resource, id, change(tag_list(body)?)).await?;
    Ok(json_response(StatusCode::OK, serde_json::json!({ "tags": tags }).to_string()))
}

pub(crate) async fn tags_replace(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    Extension(ctx): Extension<RequestContext>,
    body: Bytes,
) -> ApiResult<Response> {
    set_tags(state, &collection, &id, &ctx, &body, TagTarget::ReplaceAll).await
}

pub(crate) async fn tags_add(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    Extension(ctx): Extension<RequestContext>,
    body: Bytes,
) -> ApiResult<Response> {
    set_tags(state, &collection, &id, &ctx, &body, TagTarget::AddAll).await
}

pub(crate) async fn tags_clear(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<StatusCode> {
    let resource = resource_of(&state, &collection)?;
    state.plugin.change_tags(&ctx, resource, &id, TagTarget::RemoveAll).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn tag_check(
    State(state): State<AppState>,
    Path((collection, id, tag)): Path<(String, String, String)>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<StatusCode> {
    let resource = resource_of(&state, &collection)?;
    if current_tags(&state, &ctx, resource, &id).await?.contains(&tag) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(crate::error::PluginError::TagNotFound { tag, resource: resource.singular(), resource_id: id }.into())
    }
}

pub(crate) async fn tag_add(
    State(state): State<AppState>,
    Path((collection, id, tag)): Path<(String, String, String)>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<StatusCode> {
    let resource = resource_of(&state, &collection)?;
    state.plugin.change_tags(&ctx, resource, &id, TagTarget::Add(tag)).await?;
    Ok(StatusCode::CREATED)
}

pub(crate) async fn tag_remove(
    State(state): State<AppState>,
    Path((collection, id, tag)): Path<(String, String, String)>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<StatusCode> {
    let resource = resource_of(&state, &collection)?;
    state.plugin.change_tags(&ctx, resource, &id, TagTarget::Remove(tag)).await?;
    Ok(StatusCode::NO_CONTENT)
}

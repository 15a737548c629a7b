//! Create, list, show, update and delete of identity records, and role
//! grants. Administration needs the admin role; a user may read itself,
//! its domain and the project its token is scoped to.

use std::future::Future;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{ApiResult, Caller, IdentityApi};
use crate::admin::{filters, Input};
use crate::error::{IdentityError, IdentityResult};
use crate::identity::{Identity, Record};
use crate::records::{Assignment, Domain, Endpoint, Project, Region, Role, Service, User};

/// A record kind as the API names and handles it.
pub(crate) trait ApiKind: Record + Serialize + Send + Sync + 'static {
    /// `project`
    const SINGULAR: &'static str;
    /// `projects`
    const PLURAL: &'static str;
    /// Query parameters that filter lists.
    const FILTERS: &'static [&'static str];
    /// Creates one.
    fn create(i: &Identity, input: &Input) -> impl Future<Output = IdentityResult<Self>> + Send;
    /// Updates one.
    fn update(i: &Identity, id: &str, input: &Input) -> impl Future<Output = IdentityResult<Self>> + Send;
    /// Deletes one.
    fn delete(i: &Identity, id: &str) -> impl Future<Output = IdentityResult<()>> + Send {
        i.delete_record::<Self>(id)
    }
    /// Whether a caller without the admin role may read it.
    fn readable_by(&self, _caller: &Caller) -> bool {
        false
    }
}

impl ApiKind for Domain {
    const SINGULAR: &'static str = "domain";
    const PLURAL: &'static str = "domains";
    const FILTERS: &'static [&'static str] = &["name", "enabled"];
    async fn create(i: &Identity, input: &Input) -> IdentityResult<Self> {
        i.create_domain(input).await
    }
    async fn update(i: &Identity, id: &str, input: &Input) -> IdentityResult<Self> {
        i.update_domain(id, input).await
    }
    async fn delete(i: &Identity, id: &str) -> IdentityResult<()> {
        i.delete_domain(id).await
    }
    fn readable_by(&self, caller: &Caller) -> bool {
        caller.0.body.user.domain.id == self.id
    }
}

impl ApiKind for Project {
    const SINGULAR: &'static str = "project";
    const PLURAL: &'static str = "projects";
    const FILTERS: &'static [&'static str] = &["name", "domain_id", "enabled", "parent_id"];
    async fn create(i: &Identity, input: &Input) -> IdentityResult<Self> {
        i.create_project(input).await
    }
    async fn update(i: &Identity, id: &str, input: &Input) -> IdentityResult<Self> {
        i.update_project(id, input).await
    }
    fn readable_by(&self, caller: &Caller) -> bool {
        caller.0.body.project.as_ref().is_some_and(|p| p.id == self.id)
    }
}

impl ApiKind for User {
    const SINGULAR: &'static str = "user";
    const PLURAL: &'static str = "users";
    const FILTERS: &'static [&'static str] = &["name", "domain_id", "enabled"];
    async fn create(i: &Identity, input: &Input) -> IdentityResult<Self> {
        i.create_user(input).await
    }
    async fn update(i: &Identity, id: &str, input: &Input) -> IdentityResult<Self> {
        i.update_user(id, input).await
    }
    fn readable_by(&self, caller: &Caller) -> bool {
        caller.user_id() == self.id
    }
}

impl ApiKind for Role {
    const SINGULAR: &'static str = "role";
    const PLURAL: &'static str = "roles";
    const FILTERS: &'static [&'static str] = &["name"];
    async fn create(i: &Identity, input: &Input) -> IdentityResult<Self> {
        i.create_role(input).await
    }
    async fn update(i: &Identity, id: &str, input: &Input) -> IdentityResult<Self> {
        i.update_role(id, input).await
    }
}

impl ApiKind for Region {
    const SINGULAR: &'static str = "region";
    const PLURAL: &'static str = "regions";
    const FILTERS: &'static [&'static str] = &["parent_region_id"];
    async fn create(i: &Identity, input: &Input) -> IdentityResult<Self> {
        i.create_region(input).await
    }
    async fn update(i: &Identity, id: &str, input: &Input) -> IdentityResult<Self> {
        i.update_region(id, input).await
    }
}

impl ApiKind for Service {
    const SINGULAR: &'static str = "service";
    const PLURAL: &'static str = "services";
    const FILTERS: &'static [&'static str] = &["type", "name"];
    async fn create(i: &Identity, input: &Input) -> IdentityResult<Self> {
        i.create_service(input).await
    }
    async fn update(i: &Identity, id: &str, input: &Input) -> IdentityResult<Self> {
        i.update_service(id, input).await
    }
}

impl ApiKind for Endpoint {
    const SINGULAR: &'static str = "endpoint";
    const PLURAL: &'static str = "endpoints";
    const FILTERS: &'static [&'static str] = &["service_id", "interface", "region_id"];
    async fn create(i: &Identity, input: &Input) -> IdentityResult<Self> {
        i.create_endpoint(input).await
    }
    async fn update(i: &Identity, id: &str, input: &Input) -> IdentityResult<Self> {
        i.update_endpoint(id, input).await
    }
}

/// The record as JSON with its `links`.
fn shown<R: ApiKind>(api: &IdentityApi, r: &R) -> ApiResult<Value> {
    let mut v = serde_json::to_value(r).map_err(|e| api.err(IdentityError::Internal(e.to_string())))?;
    if let Value::Object(m) = &mut v {
        m.insert("links".into(), json!({"self": api.link(&format!("{}/{}", R::PLURAL, r.id()))}));
    }
    Ok(v)
}

fn one<R: ApiKind>(api: &IdentityApi, status: StatusCode, r: &R) -> ApiResult<Response> {
    let mut body = Map::new();
    body.insert(R::SINGULAR.into(), shown(api, r)?);
    Ok((status, Json(Value::Object(body))).into_response())
}

/// The query string as pairs.
pub(crate) fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes()).into_owned().collect()
}

fn body_of<R: ApiKind>(api: &IdentityApi, body: &Value) -> ApiResult<Input> {
    match body.get(R::SINGULAR) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(api.err(IdentityError::Validation(format!("The request body needs a '{}' object.", R::SINGULAR)))),
    }
}

/// `GET /v3/<kind>s`
pub(crate) async fn list<R: ApiKind>(
    State(api): State<IdentityApi>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(q.as_deref());
    let records = api.identity.list_records::<R>(filters(&pairs, R::FILTERS)).await.map_err(|e| api.err(e))?;
    let admin = caller.0.is_admin();
    let visible: Vec<&R> = records.iter().filter(|r| admin || r.readable_by(&caller)).collect();
    if !admin && visible.is_empty() {
        return Err(api.forbidden());
    }
    let items = visible.into_iter().map(|r| shown(&api, r)).collect::<ApiResult<Vec<_>>>()?;
    let mut body = Map::new();
    body.insert(R::PLURAL.into(), Value::Array(items));
    body.insert("links".into(), json!({"self": api.link(R::PLURAL), "previous": null, "next": null}));
    Ok(Json(Value::Object(body)).into_response())
}

/// `GET /v3/<kind>s/{id}`
pub(crate) async fn show<R: ApiKind>(
    State(api): State<IdentityApi>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let admin = caller.0.is_admin();
    match api.identity.show::<R>(&id).await {
        Ok(r) if admin || r.readable_by(&caller) => one(&api, StatusCode::OK, &r),
        Err(e) if admin => Err(api.err(e)),
        // Non-admins learn nothing about what exists.
        _ => Err(api.forbidden()),
    }
}

/// `POST /v3/<kind>s`
pub(crate) async fn create<R: ApiKind>(
    State(api): State<IdentityApi>,
    caller: Caller,
    Json(body): Json<Value>,
) -> ApiResult<Response> {
    caller.require_admin(&api)?;
    let input = body_of::<R>(&api, &body)?;
    let r = R::create(&api.identity, &input).await.map_err(|e| api.err(e))?;
    tracing::info!(kind = R::SINGULAR, id = %r.id(), by = %caller.user_id(), "identity record created");
    one(&api, StatusCode::CREATED, &r)
}

/// `PATCH /v3/<kind>s/{id}`
pub(crate) async fn update<R: ApiKind>(
    State(api): State<IdentityApi>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<Response> {
    caller.require_admin(&api)?;
    let input = body_of::<R>(&api, &body)?;
    let r = R::update(&api.identity, &id, &input).await.map_err(|e| api.err(e))?;
    one(&api, StatusCode::OK, &r)
}

/// `DELETE /v3/<kind>s/{id}`
pub(crate) async fn delete<R: ApiKind>(
    State(api): State<IdentityApi>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_admin(&api)?;
    R::delete(&api.identity, &id).await.map_err(|e| api.err(e))?;
    tracing::info!(kind = R::SINGULAR, %id, by = %caller.user_id(), "identity record deleted");
    Ok(StatusCode::NO_CONTENT)
}

fn assignment((project_id, user_id, role_id): (String, String, String)) -> Assignment {
    Assignment { project_id, user_id, role_id }
}

/// `PUT /v3/projects/{p}/users/{u}/roles/{r}`
pub(crate) async fn grant(
    State(api): State<IdentityApi>,
    caller: Caller,
    Path(ids): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    caller.require_admin(&api)?;
    api.identity.grant(&assignment(ids)).await.map_err(|e| api.err(e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `HEAD`/`GET /v3/projects/{p}/users/{u}/roles/{r}`
pub(crate) async fn check_grant(
    State(api): State<IdentityApi>,
    caller: Caller,
    Path(ids): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    caller.require_admin(&api)?;
    api.identity.check_grant(&assignment(ids)).await.map_err(|e| api.err(e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v3/projects/{p}/users/{u}/roles/{r}`
pub(crate) async fn revoke_grant(
    State(api): State<IdentityApi>,
    caller: Caller,
    Path(ids): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    caller.require_admin(&api)?;
    api.identity.revoke_grant(&assignment(ids)).await.map_err(|e| api.err(e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/projects/{p}/users/{u}/roles`
pub(crate) async fn grants_of(
    State(api): State<IdentityApi>,
    caller: Caller,
    Path((project, user)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.require_admin(&api)?;
    let pairs = vec![("project_id".to_string(), project), ("user_id".to_string(), user)];
    let grants = api.identity.assignments(filters(&pairs, &["project_id", "user_id"])).await.map_err(|e| api.err(e))?;
    let mut roles = Vec::new();
    for g in grants {
        let role: Role = api.identity.show(&g.role_id).await.map_err(|e| api.err(e))?;
        roles.push(shown(&api, &role)?);
    }
    Ok(Json(json!({"roles": roles, "links": {"self": null, "previous": null, "next": null}})).into_response())
}

/// `GET /v3/role_assignments?user.id=&scope.project.id=&role.id=&include_names`
pub(crate) async fn role_assignments(
    State(api): State<IdentityApi>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(q.as_deref());
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let user = get("user.id");
    if !caller.0.is_admin() && user.as_deref() != Some(caller.user_id()) {
        caller.require_admin(&api)?;
    }
    let mut wanted = Vec::new();
    for (param, column) in [("user.id", "user_id"), ("scope.project.id", "project_id"), ("role.id", "role_id")] {
        if let Some(v) = get(param) {
            wanted.push((column.to_string(), v));
        }
    }
    let names = pairs.iter().any(|(k, v)| k == "include_names" && v != "false" && v != "0");
    let grants = api
        .identity
        .assignments(filters(&wanted, &["user_id", "project_id", "role_id"]))
        .await
        .map_err(|e| api.err(e))?;
    let mut out = Vec::new();
    for g in grants {
        let (mut role, mut user, mut project) =
            (json!({"id": g.role_id}), json!({"id": g.user_id}), json!({"id": g.project_id}));
        if names {
            let r: Role = api.identity.show(&g.role_id).await.map_err(|e| api.err(e))?;
            let u: User = api.identity.show(&g.user_id).await.map_err(|e| api.err(e))?;
            let p: Project = api.identity.show(&g.project_id).await.map_err(|e| api.err(e))?;
            let ud: Domain = api.identity.show(&u.domain_id).await.map_err(|e| api.err(e))?;
            let pd: Domain = api.identity.show(&p.domain_id).await.map_err(|e| api.err(e))?;
            role["name"] = json!(r.name);
            user["name"] = json!(u.name);
            user["domain"] = json!({"id": ud.id, "name": ud.name});
            project["name"] = json!(p.name);
            project["domain"] = json!({"id": pd.id, "name": pd.name});
        }
        out.push(json!({
            "role": role, "user": user, "scope": {"project": project},
            "links": {"assignment": api.link(&format!("projects/{}/users/{}/roles/{}", g.project_id, g.user_id, g.role_id))},
        }));
    }
    Ok(Json(json!({"role_assignments": out, "links": {"self": api.link("role_assignments"), "previous": null, "next": null}}))
        .into_response())
}

//! The Identity v3 HTTP API (the subset the `openstack` CLI, openstacksdk
//! and test tooling use), on its own listener.

mod records;
mod tokens;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::ValidToken;
use crate::error::IdentityError;
use crate::identity::Identity;
use crate::records::{Domain, Endpoint, Project, Region, Role, Service, User};

/// State of the identity API.
#[derive(Debug, Clone)]
pub struct IdentityApi {
    /// The service.
    pub identity: Arc<Identity>,
    /// The public base URL (without `/v3`), for links.
    pub base_url: String,
}

/// An API error: the identity error plus, for 401, `WWW-Authenticate`.
#[derive(Debug)]
pub struct ApiError(IdentityError, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let mut resp = self.0.into_response();
        if status == StatusCode::UNAUTHORIZED {
            if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{}\"", self.1)) {
                resp.headers_mut().insert("www-authenticate", v);
            }
        }
        resp
    }
}

/// Result of API handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl IdentityApi {
    pub(crate) fn err(&self, e: IdentityError) -> ApiError {
        ApiError(e, self.base_url.clone())
    }

    pub(crate) fn forbidden(&self) -> ApiError {
        self.err(IdentityError::Forbidden(
            "You are not authorized to perform the requested action: the admin role is required.".into(),
        ))
    }

    pub(crate) fn link(&self, path: &str) -> String {
        format!("{}/v3/{path}", self.base_url)
    }
}

/// The authenticated caller of a request (its `X-Auth-Token`).
pub struct Caller(pub ValidToken);

impl<S> FromRequestParts<S> for Caller
where
    IdentityApi: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let api = IdentityApi::from_ref(state);
        let token = parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| api.err(IdentityError::unauthenticated()))?;
        // The caller's own catalog is needed only by /v3/auth/catalog.
        match api.identity.validate_with(token, false).await {
            Ok(v) => Ok(Caller(v)),
            Err(IdentityError::NotFound { .. }) => Err(api.err(IdentityError::unauthenticated())),
            Err(e) => Err(api.err(e)),
        }
    }
}

impl Caller {
    /// Only identity administrators (the admin role) pass.
    pub(crate) fn require_admin(&self, api: &IdentityApi) -> ApiResult<()> {
        if self.0.is_admin() {
            Ok(())
        } else {
            Err(api.forbidden())
        }
    }

    /// The caller's user id.
    pub(crate) fn user_id(&self) -> &str {
        &self.0.body.user.id
    }
}

fn version(api: &IdentityApi) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{}/v3/", api.base_url)}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

async fn root(axum::extract::State(api): axum::extract::State<IdentityApi>) -> Response {
    (StatusCode::MULTIPLE_CHOICES, Json(json!({"versions": {"values": [version(&api)]}}))).into_response()
}

async fn v3(axum::extract::State(api): axum::extract::State<IdentityApi>) -> Json<Value> {
    Json(json!({"version": version(&api)}))
}

async fn not_found(axum::extract::State(api): axum::extract::State<IdentityApi>) -> ApiError {
    api.err(IdentityError::NotFound { kind: "resource", id: "the requested URL".into() })
}

/// The identity router.
pub fn router(api: IdentityApi) -> Router {
    use records::{create, delete, list, show, update};
    Router::new()
        .route("/", get(root))
        .route("/v3", get(v3))
        .route("/v3/", get(v3))
        .route("/v3/auth/tokens", get(tokens::validate).head(tokens::check).post(tokens::issue).delete(tokens::revoke))
        .route("/v3/auth/catalog", get(tokens::catalog))
        .route("/v3/auth/projects", get(tokens::my_projects))
        .route("/v3/users/{id}/projects", get(tokens::user_projects))
        .route("/v3/domains", get(list::<Domain>).post(create::<Domain>))
        .route("/v3/domains/{id}", get(show::<Domain>).patch(update::<Domain>).delete(delete::<Domain>))
        .route("/v3/projects", get(list::<Project>).post(create::<Project>))
        .route("/v3/projects/{id}", get(show::<Project>).patch(update::<Project>).delete(delete::<Project>))
        .route("/v3/users", get(list::<User>).post(create::<User>))
        .route("/v3/users/{id}", get(show::<User>).patch(update::<User>).delete(delete::<User>))
        .route("/v3/roles", get(list::<Role>).post(create::<Role>))
        .route("/v3/roles/{id}", get(show::<Role>).patch(update::<Role>).delete(delete::<Role>))
        .route("/v3/regions", get(list::<Region>).post(create::<Region>))
        .route("/v3/regions/{id}", get(show::<Region>).patch(update::<Region>).delete(delete::<Region>))
        .route("/v3/services", get(list::<Service>).post(create::<Service>))
        .route("/v3/services/{id}", get(show::<Service>).patch(update::<Service>).delete(delete::<Service>))
        .route("/v3/endpoints", get(list::<Endpoint>).post(create::<Endpoint>))
        .route("/v3/endpoints/{id}", get(show::<Endpoint>).patch(update::<Endpoint>).delete(delete::<Endpoint>))
        .route("/v3/projects/{project}/users/{user}/roles", get(records::grants_of))
        .route(
            "/v3/projects/{project}/users/{user}/roles/{role}",
            put(records::grant).head(records::check_grant).get(records::check_grant).delete(records::revoke_grant),
        )
        .route("/v3/role_assignments", get(records::role_assignments))
        .fallback(not_found)
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<axum::body::Body>| {
            tracing::info_span!("identity", method = %req.method(), path = %req.uri().path())
        }))
        .with_state(api)
}

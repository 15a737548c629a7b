//! Who is calling. Under `auth_strategy = keystone` every request but the
//! version document and the health check carries an `X-Auth-Token`, which
//! the validator (the built-in identity or an external Keystone) turns into
//! the caller's project and roles; 401 with `WWW-Authenticate` otherwise.
//! Under `noauth` the caller is an admin unless `X-Roles` lists other roles,
//! of the project in `X-Project-Id` / `X-Tenant-Id`, else `noauth-project`
//! (the body's `project_id` is applied by the plugin on create).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use neutrino_identity::{IdentityError, Validator};

use super::AppState;
use crate::context::{RequestContext, NOAUTH_PROJECT};

/// How API callers are authenticated.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Trust the headers (tests, deployments behind another gateway).
    Noauth,
    /// Validate `X-Auth-Token`.
    Keystone {
        /// Who validates.
        validator: Validator,
        /// Where clients get tokens, for `WWW-Authenticate: Keystone uri=…`.
        www_authenticate_uri: String,
    },
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The request context of a noauth request.
pub fn noauth_context(headers: &HeaderMap) -> RequestContext {
    let project = header(headers, "x-project-id").or_else(|| header(headers, "x-tenant-id")).unwrap_or(NOAUTH_PROJECT);
    let roles: Vec<&str> = match header(headers, "x-roles") {
        None => vec!["admin"],
        Some(roles) => roles.split(',').map(str::trim).filter(|r| !r.is_empty()).collect(),
    };
    RequestContext::with_roles(project, None, &roles)
}

/// Paths that need no token, as in Neutron's paste pipeline; the agent
/// channel authenticates its callers itself.
fn is_public(path: &str) -> bool {
    matches!(path, "/" | "/healthcheck" | "/metrics") || path.starts_with("/agent/")
}

fn unauthorized(uri: &str, error: &IdentityError) -> Response {
    let mut resp = (StatusCode::UNAUTHORIZED, axum::Json(error.body())).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{uri}\"")) {
        resp.headers_mut().insert("www-authenticate", v);
    }
    resp
}

/// Puts the caller's [`RequestContext`] in the request's extensions.
pub(crate) async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let ctx = match &state.auth {
        Auth::Noauth => noauth_context(req.headers()),
        Auth::Keystone { validator, www_authenticate_uri } => {
            let Some(token) = header(req.headers(), "x-auth-token") else {
                return unauthorized(www_authenticate_uri, &IdentityError::unauthenticated());
            };
            let body = match validator.validate(token).await {
                Ok(body) => body,
                Err(e @ IdentityError::Unauthorized(_)) => return unauthorized(www_authenticate_uri, &e),
                Err(e) => {
                    tracing::error!(error = %e, "token validation failed");
                    return (e.status(), axum::Json(e.body())).into_response();
                }
            };
            let Some(project) = &body.project else {
                let e = IdentityError::Unauthorized("The token is not scoped to a project.".into());
                return unauthorized(www_authenticate_uri, &e);
            };
            let roles = body.role_names();
            let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
            RequestContext::with_roles(project.id.clone(), Some(body.user.id.clone()), &roles)
        }
    };
    tracing::debug!(project = %ctx.project_id, roles = ?ctx.roles, "caller");
    req.extensions_mut().insert(ctx.under(state.plugin.policy.clone()));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noauth_defaults_to_admin_in_the_fixed_project() {
        let ctx = noauth_context(&HeaderMap::new());
        assert!(ctx.is_admin);
        assert_eq!(ctx.project_id, "noauth-project");
        assert_eq!(ctx.roles, ["admin", "manager", "member", "reader"]);
    }

    #[test]
    fn roles_and_project_headers_apply() {
        let mut h = HeaderMap::new();
        h.insert("x-roles", HeaderValue::from_static("member,reader"));
        h.insert("x-tenant-id", HeaderValue::from_static("p2"));
        let ctx = noauth_context(&h);
        assert!(!ctx.is_admin);
        assert!(ctx.can_write);
        assert_eq!(ctx.project_id, "p2");
        let mut r = HeaderMap::new();
        r.insert("x-roles", HeaderValue::from_static("reader"));
        let ctx = noauth_context(&r);
        assert!(!ctx.is_admin && !ctx.can_write);
        h.insert("x-project-id", HeaderValue::from_static("p1"));
        h.insert("x-roles", HeaderValue::from_static("Admin"));
        let ctx = noauth_context(&h);
        assert!(ctx.is_admin);
        assert_eq!(ctx.project_id, "p1");
    }

    #[test]
    fn only_versions_and_health_are_public() {
        assert!(is_public("/") && is_public("/healthcheck") && is_public("/metrics"));
        assert!(!is_public("/v2.0/networks") && !is_public("/v2.0") && !is_public("/v2.0/extensions"));
    }
}

//! The caller of a request under `auth_strategy = noauth`: an admin unless
//! `X-Roles` lists other roles; the project from `X-Project-Id` /
//! `X-Tenant-Id`, else `noauth-project` (the body's `project_id` is applied
//! by the plugin on create).

use axum::http::HeaderMap;

use crate::context::{RequestContext, NOAUTH_PROJECT};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The request context of a noauth request.
pub fn noauth_context(headers: &HeaderMap) -> RequestContext {
    let project = header(headers, "x-project-id")
        .or_else(|| header(headers, "x-tenant-id"))
        .unwrap_or(NOAUTH_PROJECT)
        .to_string();
    let roles: Vec<String> = match header(headers, "x-roles") {
        None => vec!["admin".into()],
        Some(roles) => roles.split(',').map(|r| r.trim().to_ascii_lowercase()).filter(|r| !r.is_empty()).collect(),
    };
    let is_admin = roles.iter().any(|r| r == "admin");
    // Role inference as Keystone's defaults: admin implies member implies reader.
    let can_write = is_admin || roles.iter().any(|r| r == "member");
    RequestContext { project_id: project, is_admin, can_write }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn noauth_defaults_to_admin_in_the_fixed_project() {
        let ctx = noauth_context(&HeaderMap::new());
        assert!(ctx.is_admin);
        assert_eq!(ctx.project_id, "noauth-project");
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
}

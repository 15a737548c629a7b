//! The one place errors become HTTP: `{"NeutronError": {...}}` with a status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use neutrino_model::Fault;

use crate::error::PluginError;

/// An API failure, rendered as Neutron's error body.
#[derive(Debug)]
pub struct ApiError(pub Fault);

impl From<PluginError> for ApiError {
    fn from(e: PluginError) -> Self {
        ApiError(e.fault())
    }
}

impl From<Fault> for ApiError {
    fn from(f: Fault) -> Self {
        ApiError(f)
    }
}

impl From<neutrino_store::StoreError> for ApiError {
    fn from(e: neutrino_store::StoreError) -> Self {
        ApiError(PluginError::Store(e).fault())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retryable = super::retry::is_conflict(&self.0.kind);
        let mut resp = (status, axum::Json(self.0.body())).into_response();
        if retryable {
            resp.extensions_mut().insert(super::retry::Retryable);
        }
        resp
    }
}

/// Result of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

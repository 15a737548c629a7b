//! Identity errors, answered in Keystone's shape:
//! `{"error": {"code": 401, "title": "Unauthorized", "message": "…"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use neutrino_store::StoreError;

/// Errors of the identity service and of token validation.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The request is malformed or a value is invalid (400).
    #[error("{0}")]
    Validation(String),
    /// Authentication failed or is missing (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such record (404).
    #[error("Could not find {kind}: {id}.")]
    NotFound {
        /// What was looked for: `user`, `project`, `token`, …
        kind: &'static str,
        /// The id or name asked for.
        id: String,
    },
    /// A duplicate or a record still in use (409).
    #[error("{0}")]
    Conflict(String),
    /// The Keystone that validates tokens cannot be reached or answered
    /// something else than a validation (503).
    #[error("the identity service is unavailable: {0}")]
    Unavailable(String),
    /// The store failed (500).
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Anything else that is this server's fault (500).
    #[error("{0}")]
    Internal(String),
}

/// Result of identity operations.
pub type IdentityResult<T> = Result<T, IdentityError>;

impl IdentityError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            IdentityError::Validation(_) => StatusCode::BAD_REQUEST,
            IdentityError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            IdentityError::Forbidden(_) => StatusCode::FORBIDDEN,
            IdentityError::NotFound { .. } => StatusCode::NOT_FOUND,
            IdentityError::Conflict(_) => StatusCode::CONFLICT,
            IdentityError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            IdentityError::Store(_) | IdentityError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Keystone's title for the status.
    pub fn title(&self) -> &'static str {
        match self.status().as_u16() {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            409 => "Conflict",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        }
    }

    /// The standard 401 for a missing or unusable token or credentials.
    pub fn unauthenticated() -> Self {
        IdentityError::Unauthorized("The request you have made requires authentication.".into())
    }

    /// The message shown to the client: server faults are not described.
    pub fn public_message(&self) -> String {
        match self {
            IdentityError::Store(_) | IdentityError::Internal(_) => {
                "An unexpected error prevented the server from fulfilling your request.".into()
            }
            other => other.to_string(),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {
            "code": self.status().as_u16(),
            "title": self.title(),
            "message": self.public_message(),
        }})
    }

    /// Maps a unique-key violation to a Keystone conflict about `what`.
    pub(crate) fn conflict_on(err: StoreError, what: impl FnOnce() -> String) -> Self {
        match err {
            StoreError::UniqueViolation(_) => IdentityError::Conflict(format!("Conflict occurred attempting to store {}. Duplicate entry.", what())),
            StoreError::ForeignKeyViolation(_) => IdentityError::Conflict(format!("Conflict occurred attempting to store {}: a record it refers to, or that refers to it, is missing or in use.", what())),
            other => IdentityError::Store(other),
        }
    }
}

impl IntoResponse for IdentityError {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::error!(error = %self, "identity request failed");
        }
        (self.status(), axum::Json(self.body())).into_response()
    }
}

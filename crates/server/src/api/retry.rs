//! Whole-request retries of transactions the database gave up (PostgreSQL
//! runs them SERIALIZABLE; a concurrent one may force a serialisation
//! failure or deadlock, see `neutrino_store::StoreError::Conflict`). The
//! request is run again from the start, body included, as Neutron's
//! `retry_db_errors` does; only after the last attempt does the client see
//! the 409.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;

use crate::error::CONFLICT_KIND;

/// Attempts in all (Neutron's `MAX_RETRIES` is also 20).
const ATTEMPTS: u32 = 20;
/// Longest pause between two attempts.
const MAX_BACKOFF_MS: u64 = 500;
/// Largest request body kept for a retry.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Marks a response whose transaction was given up by the database.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retryable;

/// Runs a request again while its transaction conflicts (reads too: the
/// agents' state reads may schedule, which writes).
pub(crate) async fn conflicts(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return crate::api::error::ApiError(neutrino_model::Fault::new(
                413,
                "HTTPRequestEntityTooLarge",
                "Request Failed: the request body is too large.",
            ))
            .into_response()
        }
    };
    let mut attempt = 1;
    loop {
        let req = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
        let resp = next.clone().run(req).await;
        if resp.extensions().get::<Retryable>().is_none() || attempt >= ATTEMPTS {
            return resp;
        }
        metrics::counter!("neutrino_db_conflicts_total").increment(1);
        // Exponential backoff with full jitter, so the conflicting requests do not meet again.
        let ceiling = (5u64 << attempt.min(10)).min(MAX_BACKOFF_MS);
        let ms = rand::thread_rng().gen_range(1..=ceiling);
        tracing::debug!(attempt, backoff_ms = ms, "transaction conflict; running the request again");
        tokio::time::sleep(Duration::from_millis(ms)).await;
        attempt += 1;
    }
}

/// Whether a fault is a transaction conflict.
pub(crate) fn is_conflict(kind: &str) -> bool {
    kind == CONFLICT_KIND
}

//! The agent channel over a message broker, for sites that mandate one
//! (`[DEFAULT] transport_url = rabbit://…`, `[agent] channel = rabbit`).
//!
//! It carries what the direct channel carries, with the same meaning:
//! - **calls** agent → server ([`Call`]/[`Reply`]): published to one queue
//!   that every server consumes (whichever is free answers; they share one
//!   database), answered on the agent's own exclusive queue;
//! - **notices** server → agents ([`Notice`]): the change-log position after
//!   a commit the server made, fanned out to every agent's queue.
//!
//! A notice is a wake-up, never the data: the agent reads the changes with
//! a call, so a lost notice costs at most one wait, and a lost connection
//! (broker restart, network cut) makes the agent read its full state again.
//! Both sides reconnect by themselves; publishing uses publisher confirms.

mod broker;
pub mod client;
pub mod server;
mod url;
mod wire;

use std::time::Duration;

pub use client::{BusClient, Wake};
pub use server::{serve, Handler};
pub use url::broker_urls;
pub use wire::{Call, Notice, Reply};

/// Where the broker is and how this deployment's names are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusSettings {
    /// AMQP URIs of the broker (several: a cluster, tried in turn).
    pub urls: Vec<String>,
    /// `[DEFAULT] control_exchange`: the prefix of the queue and exchange
    /// names, so deployments (or tests) sharing a broker stay apart.
    pub control_exchange: String,
    /// How long a call waits for its reply.
    pub call_timeout: Duration,
}

impl BusSettings {
    /// Settings for `transport_url` (oslo.messaging's form) and `control_exchange`.
    pub fn new(transport_url: &str, control_exchange: &str) -> Result<BusSettings, BusError> {
        Ok(BusSettings {
            urls: broker_urls(transport_url)?,
            control_exchange: control_exchange.to_string(),
            call_timeout: Duration::from_secs(30),
        })
    }

    /// The queue every server consumes calls from.
    pub fn calls_queue(&self) -> String {
        format!("{}.agent-calls", self.control_exchange)
    }

    /// The fanout exchange of change notices.
    pub fn notices_exchange(&self) -> String {
        format!("{}.agent-notices", self.control_exchange)
    }
}

/// Bus errors.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// `transport_url` is not one this transport understands.
    #[error("invalid transport_url: {0}")]
    Url(String),
    /// No broker of the list could be reached.
    #[error("cannot reach the message broker: {0}")]
    Unreachable(String),
    /// The connection to the broker failed during an operation.
    #[error("message broker: {0}")]
    Broker(#[from] lapin::Error),
    /// The broker refused a message (nack, or no queue to route it to).
    #[error("the message broker refused the message: {0}")]
    Refused(String),
    /// No reply came in time.
    #[error("no reply to {0} within {1:?}")]
    Timeout(String, Duration),
    /// The connection was lost while a call waited for its reply.
    #[error("the connection to the broker was lost during {0}")]
    Lost(String),
}

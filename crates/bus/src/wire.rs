//! What travels on the bus: calls, replies and notices, as JSON bodies
//! told apart by the AMQP `type` property.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `type` of a call message.
pub(crate) const CALL: &str = "call";
/// The `type` of a reply message.
pub(crate) const REPLY: &str = "reply";
/// The `type` of a notice message.
pub(crate) const NOTICE: &str = "notice";

/// An agent's call: a request of the agent channel (`/agent/v1/…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// HTTP method of the channel's request.
    pub method: String,
    /// Path and query, e.g. `/agent/v1/state?host=node-1`.
    pub path: String,
    /// The channel secret the agent presents, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The JSON body, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// A server's answer to a call: what the direct channel would have answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The response body (JSON text).
    pub body: String,
}

/// A server committed changes up to `last` in the change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The change-log position.
    pub last: i64,
}

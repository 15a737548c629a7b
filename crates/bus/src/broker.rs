//! Connecting to the broker and declaring the deployment's queue and exchange.

use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

use crate::url::mask;
use crate::{BusError, BusSettings};

/// How long connecting to one broker may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to the first broker of `settings` that answers.
pub(crate) async fn connect(settings: &BusSettings, name: &str) -> Result<Connection, BusError> {
    let mut errors = Vec::new();
    for url in &settings.urls {
        let props = ConnectionProperties::default().with_connection_name(name.into());
        match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(url, props)).await {
            Ok(Ok(c)) => return Ok(c),
            Ok(Err(e)) => errors.push(format!("{}: {e}", mask(url))),
            Err(_) => errors.push(format!("{}: no answer within {CONNECT_TIMEOUT:?}", mask(url))),
        }
    }
    if errors.is_empty() {
        errors.push("no broker URL".into());
    }
    Err(BusError::Unreachable(errors.join("; ")))
}

/// Declares the calls queue (every server consumes it; calls are
/// short-lived: not durable, each expires with its caller's patience).
/// Both sides declare it, with the same arguments, so that whichever
/// comes first after a broker restart makes it.
pub(crate) async fn declare_calls_queue(channel: &Channel, settings: &BusSettings) -> Result<(), BusError> {
    channel
        .queue_declare(settings.calls_queue().as_str().into(), QueueDeclareOptions::default(), FieldTable::default())
        .await?;
    Ok(())
}

/// Declares the notices exchange (fanout: every agent's queue gets each notice).
pub(crate) async fn declare_notices_exchange(channel: &Channel, settings: &BusSettings) -> Result<(), BusError> {
    channel
        .exchange_declare(
            settings.notices_exchange().as_str().into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

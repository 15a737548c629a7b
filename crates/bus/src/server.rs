//! The server's side: answers the calls of the queue every server shares,
//! and publishes a notice for each change-log position this server commits.
//! Runs until dropped (the caller aborts its task), reconnecting after any
//! loss of the broker.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation};
use tokio::sync::watch;

use crate::wire::{self, Call, Notice, Reply};
use crate::{broker, BusError, BusSettings};

/// What answers calls: the agent channel's request handling.
pub type Handler = Arc<dyn Fn(Call) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

/// Calls one server works on at once.
const PREFETCH: u16 = 64;
/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Serves the bus of `settings`: calls go to `handler`; each new value of
/// `commits` (the change-log position after this server's commits) is
/// published as a notice. Runs until its task is aborted (or `commits`
/// closes: the plugin is gone).
pub async fn serve(settings: BusSettings, handler: Handler, mut commits: watch::Receiver<i64>) {
    const FIRST: Duration = Duration::from_millis(250);
    let mut backoff = FIRST;
    loop {
        metrics::gauge!("neutrino_bus_connected").set(0.0);
        let mut served = false;
        match session(&settings, &handler, &mut commits, &mut served).await {
            Ok(()) => return,
            Err(e) => {
                // A connection that served is retried promptly; refusals back off.
                if served {
                    backoff = FIRST;
                }
                tracing::warn!(error = %e, retry_in = ?backoff, "message broker: connection lost or refused");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection's life: returns when it fails (or `commits` closes);
/// `served` tells whether it got as far as serving.
async fn session(
    settings: &BusSettings,
    handler: &Handler,
    commits: &mut watch::Receiver<i64>,
    served: &mut bool,
) -> Result<(), BusError> {
    let conn = broker::connect(settings, "neutrino-server").await?;
    let calls = conn.create_channel().await?;
    calls.basic_qos(PREFETCH, BasicQosOptions::default()).await?;
    broker::declare_calls_queue(&calls, settings).await?;
    let out = conn.create_channel().await?;
    out.confirm_select(ConfirmSelectOptions::default()).await?;
    broker::declare_notices_exchange(&out, settings).await?;
    let mut consumer = calls
        .basic_consume(
            settings.calls_queue().as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %settings.calls_queue(), "serving agents over the message broker");
    metrics::counter!("neutrino_bus_connects_total", "side" => "server").increment(1);
    metrics::gauge!("neutrino_bus_connected").set(1.0);
    *served = true;
    // Agents that lost the broker resync on their own; this tells those
    // that did not where the log is.
    let position = *commits.borrow_and_update();
    publish_notice(&out, settings, position).await?;
    loop {
        tokio::select! {
            d = consumer.next() => match d {
                Some(Ok(d)) => {
                    let (handler, out) = (handler.clone(), out.clone());
                    tokio::spawn(async move { answer(d, &handler, &out).await });
                }
                Some(Err(e)) => return Err(e.into()),
                None => return Err(BusError::Unreachable("the broker cancelled the calls consumer".into())),
            },
            changed = commits.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                let position = *commits.borrow_and_update();
                publish_notice(&out, settings, position).await?;
            }
        }
    }
}

/// Publishes one notice and waits for the broker's confirm.
async fn publish_notice(out: &Channel, settings: &BusSettings, last: i64) -> Result<(), BusError> {
    let body = serde_json::to_vec(&Notice { last }).map_err(|e| BusError::Refused(e.to_string()))?;
    let props = BasicProperties::default().with_type(wire::NOTICE.into()).with_content_type("application/json".into());
    let confirm = out
        .basic_publish(
            settings.notices_exchange().as_str().into(),
            "".into(),
            BasicPublishOptions::default(),
            &body,
            props,
        )
        .await?
        .await?;
    if let Confirmation::Nack(_) = confirm {
        metrics::counter!("neutrino_bus_notices_total", "outcome" => "nack").increment(1);
        return Err(BusError::Refused("notice nacked".into()));
    }
    metrics::counter!("neutrino_bus_notices_total", "outcome" => "ack").increment(1);
    Ok(())
}

/// Runs one call and publishes its reply to the caller's queue; the call
/// is acknowledged once answered (a server lost mid-call leaves it to another).
async fn answer(d: Delivery, handler: &Handler, out: &Channel) {
    let reply_to = d.properties.reply_to().as_ref().map(|r| r.as_str().to_string());
    let correlation = d.properties.correlation_id().clone();
    let reply = match serde_json::from_slice::<Call>(&d.data) {
        Ok(call) => handler(call).await,
        Err(e) => Reply { status: 400, body: serde_json::json!({"error": format!("not a call: {e}")}).to_string() },
    };
    metrics::counter!("neutrino_bus_calls_total", "status" => reply.status.to_string()).increment(1);
    if let (Some(reply_to), Ok(body)) = (reply_to, serde_json::to_vec(&reply)) {
        let mut props =
            BasicProperties::default().with_type(wire::REPLY.into()).with_content_type("application/json".into());
        if let Some(c) = correlation {
            props = props.with_correlation_id(c);
        }
        let sent = out.basic_publish("".into(), reply_to.as_str().into(), BasicPublishOptions::default(), &body, props);
        match sent.await {
            Ok(confirm) => {
                let _ = confirm.await;
            }
            Err(e) => tracing::debug!(error = %e, "cannot send a reply"),
        }
    }
    if let Err(e) = d.acker.ack(BasicAckOptions::default()).await {
        tracing::debug!(error = %e, "cannot acknowledge a call");
    }
}

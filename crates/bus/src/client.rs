//! The agent's side: calls to whichever server is free, and the notices
//! every server publishes, on one exclusive queue of this agent's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use tokio::sync::{oneshot, watch};

use crate::wire::{self, Call, Notice, Reply};
use crate::{broker, BusError, BusSettings};

/// What ended a wait for a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A server committed changes after the position waited from.
    Advanced,
    /// Nothing came in time.
    Timeout,
    /// The connection to the broker was lost or replaced: notices may
    /// have been missed, so the full state must be read again.
    Lost,
}

/// The newest notice heard, and which connection heard it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Heard {
    /// Bumped when a connection is made and when it is lost.
    epoch: u64,
    /// The highest position any notice carried.
    last: i64,
}

/// One live connection.
#[derive(Clone)]
struct Session {
    conn: Arc<Connection>,
    channel: Channel,
    reply_to: String,
    epoch: u64,
    alive: Arc<std::sync::atomic::AtomicBool>,
}

/// Calls waiting for their reply: correlation id → (the session's epoch, the waiter).
type Pending = Arc<Mutex<HashMap<String, (u64, oneshot::Sender<Reply>)>>>;

/// A client of the bus, cheap to clone; connects on first use and again
/// after a loss.
#[derive(Clone)]
pub struct BusClient {
    settings: Arc<BusSettings>,
    secret: Option<String>,
    session: Arc<tokio::sync::Mutex<Option<Session>>>,
    pending: Pending,
    heard: Arc<watch::Sender<Heard>>,
}

impl std::fmt::Debug for BusClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusClient").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl BusClient {
    /// A client of the deployment `settings` names, presenting `secret`
    /// (the agent channel's) with each call.
    pub fn new(settings: BusSettings, secret: Option<&str>) -> BusClient {
        BusClient {
            settings: Arc::new(settings),
            secret: secret.map(str::to_string),
            session: Arc::default(),
            pending: Arc::default(),
            heard: Arc::new(watch::Sender::new(Heard::default())),
        }
    }

    /// The live session, connecting if there is none.
    async fn session(&self) -> Result<Session, BusError> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_ref().filter(|s| s.alive.load(std::sync::atomic::Ordering::SeqCst)) {
            return Ok(s.clone());
        }
        // A connection given up on (a call failed on it) is closed, not left behind.
        if let Some(old) = guard.take() {
            tokio::spawn(async move {
                let _ = old.conn.close(200, "replaced".into()).await;
            });
        }
        let s = self.open().await?;
        *guard = Some(s.clone());
        Ok(s)
    }

    async fn open(&self) -> Result<Session, BusError> {
        let conn = broker::connect(&self.settings, "neutrino-agent").await?;
        let channel = conn.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        broker::declare_calls_queue(&channel, &self.settings).await?;
        broker::declare_notices_exchange(&channel, &self.settings).await?;
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions { exclusive: true, auto_delete: true, ..QueueDeclareOptions::default() },
                FieldTable::default(),
            )
            .await?;
        let reply_to = queue.name().to_string();
        channel
            .queue_bind(
                reply_to.as_str().into(),
                self.settings.notices_exchange().as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let consumer = channel
            .basic_consume(
                reply_to.as_str().into(),
                "".into(),
                BasicConsumeOptions { no_ack: true, ..BasicConsumeOptions::default() },
                FieldTable::default(),
            )
            .await?;
        let mut epoch = 0;
        self.heard.send_modify(|h| {
            h.epoch += 1;
            epoch = h.epoch;
        });
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        tracing::info!(queue = %reply_to, "connected to the message broker");
        metrics::counter!("neutrino_bus_connects_total", "side" => "agent").increment(1);
        // Deliveries until the connection ends; then its waiters learn it
        // (not those of a connection made since).
        let (pending, heard, flag) = (self.pending.clone(), self.heard.clone(), alive.clone());
        tokio::spawn(async move {
            let mut consumer = consumer;
            while let Some(d) = consumer.next().await {
                match d {
                    Ok(d) => deliver(&d, &pending, &heard),
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the message broker");
                        break;
                    }
                }
            }
            flag.store(false, std::sync::atomic::Ordering::SeqCst);
            heard.send_if_modified(|h| {
                let current = h.epoch == epoch;
                if current {
                    h.epoch += 1;
                }
                current
            });
            if let Ok(mut p) = pending.lock() {
                p.retain(|_, (e, _)| *e != epoch);
            }
        });
        Ok(Session { conn: Arc::new(conn), channel, reply_to, epoch, alive })
    }

    /// Makes sure a connection is up; returns its epoch (see [`BusClient::wait`]).
    pub async fn connect(&self) -> Result<u64, BusError> {
        Ok(self.session().await?.epoch)
    }

    /// A call of the agent channel, answered by whichever server takes it.
    pub async fn call(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> Result<Reply, BusError> {
        let call = Call {
            method: method.to_string(),
            path: path.to_string(),
            secret: self.secret.clone(),
            body: body.cloned(),
        };
        let payload = serde_json::to_vec(&call).map_err(|e| BusError::Refused(e.to_string()))?;
        let s = self.session().await?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.pending.lock() {
            p.insert(id.clone(), (s.epoch, tx));
        }
        let result = self.send(&s, &id, &payload, &call.path, rx).await;
        if let Ok(mut p) = self.pending.lock() {
            p.remove(&id);
        }
        if matches!(result, Err(BusError::Broker(_))) {
            s.alive.store(false, std::sync::atomic::Ordering::SeqCst);
        }
        result
    }

    async fn send(
        &self,
        s: &Session,
        id: &str,
        payload: &[u8],
        path: &str,
        rx: oneshot::Receiver<Reply>,
    ) -> Result<Reply, BusError> {
        let timeout = self.settings.call_timeout;
        let props = BasicProperties::default()
            .with_type(wire::CALL.into())
            .with_content_type("application/json".into())
            .with_correlation_id(id.into())
            .with_reply_to(s.reply_to.as_str().into())
            // A call nobody took while its caller waited is not run later.
            .with_expiration(timeout.as_millis().to_string().as_str().into());
        let confirm = s
            .channel
            .basic_publish(
                "".into(),
                self.settings.calls_queue().as_str().into(),
                BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
                payload,
                props,
            )
            .await?
            .await?;
        match confirm {
            Confirmation::Ack(None) | Confirmation::NotRequested => {}
            Confirmation::Ack(Some(_)) => return Err(BusError::Refused(format!("{path}: no queue for calls"))),
            Confirmation::Nack(_) => return Err(BusError::Refused(format!("{path}: nack"))),
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(BusError::Lost(path.to_string())),
            Err(_) => Err(BusError::Timeout(path.to_string(), timeout)),
        }
    }

    /// Waits up to `wait` for a notice of a position after `after`, on the
    /// connection of `epoch` (from [`BusClient::connect`]).
    pub async fn wait(&self, epoch: u64, after: i64, wait: Duration) -> Wake {
        let mut rx = self.heard.subscribe();
        let woke = tokio::time::timeout(wait, rx.wait_for(|h| h.epoch != epoch || h.last > after)).await;
        match woke {
            Err(_) => Wake::Timeout,
            Ok(Err(_)) => Wake::Lost,
            Ok(Ok(h)) if h.epoch != epoch => Wake::Lost,
            Ok(Ok(_)) => Wake::Advanced,
        }
    }
}

/// One message on the agent's queue: a reply to its waiter, a notice to
/// the position heard.
fn deliver(d: &Delivery, pending: &Pending, heard: &watch::Sender<Heard>) {
    let kind = d.properties.kind().as_ref().map(|k| k.as_str().to_string()).unwrap_or_default();
    match kind.as_str() {
        wire::REPLY => {
            let Some(id) = d.properties.correlation_id().as_ref().map(|c| c.as_str().to_string()) else { return };
            let waiter = pending.lock().ok().and_then(|mut p| p.remove(&id)).map(|(_, w)| w);
            match (waiter, serde_json::from_slice::<Reply>(&d.data)) {
                (Some(w), Ok(reply)) => {
                    let _ = w.send(reply);
                }
                (Some(_), Err(e)) => tracing::warn!(error = %e, "a reply that does not parse"),
                (None, _) => tracing::debug!(%id, "a reply nobody waits for (late)"),
            }
        }
        wire::NOTICE => match serde_json::from_slice::<Notice>(&d.data) {
            Ok(n) => {
                heard.send_if_modified(|h| {
                    let newer = n.last > h.last;
                    if newer {
                        h.last = n.last;
                    }
                    newer
                });
            }
            Err(e) => tracing::warn!(error = %e, "a notice that does not parse"),
        },
        other => tracing::debug!(kind = other, "ignored a message of unknown type"),
    }
}

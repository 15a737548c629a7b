//! The change feed of one server: the newest change-log position it knows
//! committed, for the agents' long polls to wait on. Local commits nudge
//! it at once; commits of other servers on the same database are seen by
//! one read of the log's position every [`POLL`] while any agent waits,
//! whatever their number (each wait is a `watch` receiver, not a database
//! poll). The positions reached by this server's own commits are kept
//! apart too ([`ChangeFeed::commits`]): they are what this server announces
//! on the message broker, so each commit is announced once, by the server
//! that made it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use neutrino_store::Store;
use tokio::sync::{watch, Notify};

/// How often the feed reads the log's position for other servers' commits.
pub const POLL: Duration = Duration::from_millis(250);

/// The feed: the newest position, and a nudge for local commits.
#[derive(Debug)]
pub struct ChangeFeed {
    last: watch::Sender<i64>,
    commits: watch::Sender<i64>,
    local: std::sync::atomic::AtomicBool,
    nudge: Notify,
    running: std::sync::atomic::AtomicBool,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        ChangeFeed {
            last: watch::Sender::new(0),
            commits: watch::Sender::new(0),
            local: false.into(),
            nudge: Notify::new(),
            running: false.into(),
        }
    }
}

impl ChangeFeed {
    /// A receiver of the newest known position.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.last.subscribe()
    }

    /// A receiver of the newest position reached by this server's own commits.
    pub fn commits(&self) -> watch::Receiver<i64> {
        self.commits.subscribe()
    }

    /// A local commit appended to the log: read the position now.
    pub fn nudge(&self) {
        self.local.store(true, std::sync::atomic::Ordering::SeqCst);
        self.nudge.notify_one();
    }

    /// Whether the task that advances the feed runs (else waiters must look
    /// at the log themselves now and then).
    pub fn is_running(&self) -> bool {
        self.running.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Starts the task that advances the feed from `store`, if a runtime is
    /// there to run it; it ends when the feed is dropped.
    pub fn start(self: &Arc<Self>, store: Store) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        self.running.store(true, std::sync::atomic::Ordering::SeqCst);
        let feed: Weak<ChangeFeed> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(f) = feed.upgrade() else { return };
                // A commit of ours matters to whoever announces them (the bus).
                let local = f.local.swap(false, std::sync::atomic::Ordering::SeqCst) && f.commits.receiver_count() > 0;
                // Nobody waiting and nothing to announce: nothing to read (a
                // new waiter reads the log itself first).
                if local || f.last.receiver_count() > 0 {
                    let position = match store.read().await {
                        Ok(mut r) => r.change_bounds().await.map(|(_, last)| last),
                        Err(e) => Err(e),
                    };
                    match position {
                        Ok(last) => {
                            advance(&f.last, last);
                            if local {
                                advance(&f.commits, last);
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "change feed: cannot read the log's position"),
                    }
                }
                // Wait for a nudge or the next poll without keeping the feed alive.
                let nudged = async move { f.nudge.notified().await };
                let _ = tokio::time::timeout(POLL, nudged).await;
            }
        });
    }
}

/// Moves `w` forward to `position` (never back), waking its receivers.
fn advance(w: &watch::Sender<i64>, position: i64) {
    w.send_if_modified(|known| {
        let newer = position > *known;
        if newer {
            *known = position;
        }
        newer
    });
}

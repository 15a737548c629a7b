//! The change feed of one server: the newest change-log position it knows
//! committed, and the changes up to it, for the agents' long polls. Local
//! commits nudge it at once; commits of other servers on the same database
//! are seen by one read of the log every [`POLL`] while any agent waits,
//! whatever their number: each wait is a `watch` receiver, and the newest
//! changes are kept here ([`RECENT`] of them), so a thousand agents woken
//! by one commit read it from memory, not each from the database. The
//! positions reached by this server's own commits are kept apart too
//! ([`ChangeFeed::commits`]): they are what this server announces on the
//! message broker, so each commit is announced once, by the server that
//! made it.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use neutrino_store::{Change, Store};
use tokio::sync::{watch, Notify};

/// How often the feed reads the log for other servers' commits.
pub const POLL: Duration = Duration::from_millis(250);

/// How many of the newest changes the feed keeps in memory.
pub const RECENT: usize = 10_000;

/// Most changes read from the log at once.
const READ: i64 = 1_000;

/// The newest changes: every change with `from < seq <= to`, in order.
#[derive(Debug, Default)]
struct Recent {
    /// Whether `from`/`to` were set from the log yet.
    known: bool,
    from: i64,
    to: i64,
    changes: VecDeque<Change>,
}

/// The feed: the newest position, the changes up to it, and a nudge for local commits.
#[derive(Debug)]
pub struct ChangeFeed {
    last: watch::Sender<i64>,
    commits: watch::Sender<i64>,
    recent: RwLock<Recent>,
    local: std::sync::atomic::AtomicBool,
    nudge: Notify,
    running: std::sync::atomic::AtomicBool,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        ChangeFeed {
            last: watch::Sender::new(0),
            commits: watch::Sender::new(0),
            recent: RwLock::default(),
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

    /// A local commit appended to the log: read it now.
    pub fn nudge(&self) {
        self.local.store(true, std::sync::atomic::Ordering::SeqCst);
        self.nudge.notify_one();
    }

    /// Whether the task that advances the feed runs (else waiters must look
    /// at the log themselves now and then).
    pub fn is_running(&self) -> bool {
        self.running.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Up to `limit` changes after `after` and the position they reach
    /// (the last one's when `limit` cut them short), from memory; `None`
    /// when `after` is outside what the feed holds (read the log instead).
    pub fn since(&self, after: i64, limit: usize) -> Option<(Vec<Change>, i64)> {
        let recent = self.recent.read().ok()?;
        if !recent.known || after < recent.from || after > recent.to {
            return None;
        }
        // Changes are in seq order: skip those at or before `after`.
        let start = recent.changes.partition_point(|c| c.seq <= after);
        let page: Vec<Change> = recent.changes.iter().skip(start).take(limit).cloned().collect();
        let reach = if page.len() == limit { page.last().map_or(recent.to, |c| c.seq) } else { recent.to };
        Some((page, reach))
    }

    /// Forgets the changes up to `seq` (compacted away from the log).
    pub fn forget_upto(&self, seq: i64) {
        if let Ok(mut r) = self.recent.write() {
            while r.changes.front().is_some_and(|c| c.seq <= seq) {
                r.changes.pop_front();
            }
            if r.from < seq {
                r.from = seq.min(r.to);
            }
        }
    }

    /// Reads the changes after the newest held one; returns the position reached.
    async fn read(&self, store: &Store) -> Result<i64, neutrino_store::StoreError> {
        let mut r = store.read().await?;
        let (known, to) = self.recent.read().map(|x| (x.known, x.to)).unwrap_or((false, 0));
        if !known {
            // From now on: older positions are read from the log.
            let (_, last) = r.change_bounds().await?;
            if let Ok(mut x) = self.recent.write() {
                *x = Recent { known: true, from: last, to: last, changes: VecDeque::new() };
            }
            return Ok(last);
        }
        let mut to = to;
        loop {
            // Seq order is commit order: a change seen means all before it are.
            let page = r.changes_after(to, READ).await?;
            let full = page.len() as i64 == READ;
            if let Ok(mut x) = self.recent.write() {
                for c in page {
                    if c.seq > x.to {
                        x.to = c.seq;
                        x.changes.push_back(c);
                    }
                }
                while x.changes.len() > RECENT {
                    if let Some(c) = x.changes.pop_front() {
                        x.from = c.seq;
                    }
                }
                to = x.to;
            }
            if !full {
                return Ok(to);
            }
        }
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
                    match f.read(&store).await {
                        Ok(last) => {
                            advance(&f.last, last);
                            if local {
                                advance(&f.commits, last);
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "change feed: cannot read the log"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: i64) -> Change {
        Change {
            seq,
            resource: "port".into(),
            resource_id: format!("p{seq}"),
            revision: 1,
            op: "create".into(),
            network_id: None,
            host: None,
            committed_at: String::new(),
        }
    }

    fn feed(from: i64, seqs: &[i64]) -> ChangeFeed {
        let f = ChangeFeed::default();
        if let Ok(mut r) = f.recent.write() {
            *r = Recent {
                known: true,
                from,
                to: seqs.last().copied().unwrap_or(from),
                changes: seqs.iter().map(|s| change(*s)).collect(),
            };
        }
        f
    }

    #[test]
    fn changes_are_served_from_memory_within_what_it_holds() {
        let f = feed(10, &[11, 12, 14, 15]);
        let seqs =
            |v: Option<(Vec<Change>, i64)>| v.map(|(c, reach)| (c.iter().map(|c| c.seq).collect::<Vec<_>>(), reach));
        assert_eq!(seqs(f.since(10, 100)), Some((vec![11, 12, 14, 15], 15)));
        assert_eq!(seqs(f.since(12, 100)), Some((vec![14, 15], 15)));
        assert_eq!(seqs(f.since(15, 100)), Some((vec![], 15)));
        // A page cut short reaches its last change only, never past what it returns.
        assert_eq!(seqs(f.since(10, 2)), Some((vec![11, 12], 12)));
        // Before or after what is held: read the log.
        assert_eq!(seqs(f.since(9, 100)), None);
        assert_eq!(seqs(f.since(16, 100)), None);
        assert_eq!(seqs(ChangeFeed::default().since(0, 100)), None, "nothing read yet");
        // Compacted changes are forgotten: positions before the cut read the log (and resync).
        f.forget_upto(12);
        assert_eq!(seqs(f.since(11, 100)), None);
        assert_eq!(seqs(f.since(12, 100)), Some((vec![14, 15], 15)));
    }
}

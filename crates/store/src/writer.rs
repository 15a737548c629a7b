//! The single SQLite writer, with group commit.
//!
//! Every API call gets its own transaction semantics through a savepoint;
//! calls that queue behind each other share one SQLite transaction, and one
//! COMMIT (one WAL write) makes them all durable. A call returns only after
//! the COMMIT of its group, so a client that got an answer reads its write
//! from any connection. A failing call rolls back to its savepoint and
//! leaves the group's other calls untouched.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

use crate::error::StoreError;

/// Most calls in one group: bounds the wait of the group's first call.
const MAX_GROUP: usize = 16;
/// How long a call waits for its group's COMMIT before closing the group
/// itself (when the call that was to follow it went away).
const GROUP_WAIT: Duration = Duration::from_millis(2);
/// Outcomes of finished groups kept for calls still to read theirs.
const OUTCOMES_KEPT: usize = 1024;

/// The writer connection and its open group.
pub(crate) struct Writer {
    pub(crate) conn: Connection,
    open: bool,
    group: u64,
    members: usize,
}

/// The writer, the calls queued for it, and the outcomes of past groups.
pub(crate) struct Shared {
    lock: Arc<Mutex<Writer>>,
    waiting: AtomicUsize,
    outcomes: StdMutex<VecDeque<(u64, Option<String>)>>,
    finished: watch::Sender<u64>,
}

/// Counts a call waiting for the writer, until it holds it or goes away.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Waiting(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    pub(crate) fn new(conn: Connection) -> Arc<Shared> {
        let (finished, _) = watch::channel(0);
        Arc::new(Shared {
            lock: Arc::new(Mutex::new(Writer { conn, open: false, group: 0, members: 0 })),
            waiting: AtomicUsize::new(0),
            outcomes: StdMutex::new(VecDeque::with_capacity(OUTCOMES_KEPT)),
            finished,
        })
    }

    /// The writer with no group open (for migrations).
    pub(crate) async fn exclusive(&self) -> OwnedMutexGuard<Writer> {
        let mut g = self.lock.clone().lock_owned().await;
        if g.open {
            self.finish(&mut g);
        }
        g
    }

    /// Waits for the writer, joins (or opens) a group and sets the call's savepoint.
    pub(crate) async fn begin(&self) -> Result<(OwnedMutexGuard<Writer>, u64), StoreError> {
        let mut g = {
            let _queued = Waiting::new(&self.waiting);
            self.lock.clone().lock_owned().await
        };
        if !g.open {
            g.conn.execute_batch("BEGIN IMMEDIATE")?;
            g.open = true;
            g.group += 1;
            g.members = 0;
        }
        if let Err(e) = g.conn.execute_batch("SAVEPOINT api") {
            self.close_if_idle(&mut g);
            return Err(e.into());
        }
        let group = g.group;
        Ok((g, group))
    }

    /// Keeps the call's work in the group; commits the group unless another
    /// call is queued to join it. Returns once the group is committed.
    pub(crate) async fn commit(&self, mut g: OwnedMutexGuard<Writer>, group: u64) -> Result<(), StoreError> {
        if let Err(e) = g.conn.execute_batch("RELEASE api") {
            let _ = g.conn.execute_batch("ROLLBACK TO api; RELEASE api");
            self.close_if_idle(&mut g);
            return Err(e.into());
        }
        g.members += 1;
        if self.waiting.load(Ordering::SeqCst) == 0 || g.members >= MAX_GROUP {
            self.finish(&mut g);
            drop(g);
            return self.outcome(group).unwrap_or(Ok(()));
        }
        drop(g);
        self.wait_for(group).await
    }

    /// Undoes the call's work; closes the group if nobody follows.
    pub(crate) fn rollback(&self, mut g: OwnedMutexGuard<Writer>) {
        if let Err(e) = g.conn.execute_batch("ROLLBACK TO api; RELEASE api") {
            tracing::error!(error = %e, "rollback to savepoint failed");
        }
        self.close_if_idle(&mut g);
    }

    fn close_if_idle(&self, g: &mut Writer) {
        if self.waiting.load(Ordering::SeqCst) > 0 || !g.open {
            return;
        }
        if g.members == 0 {
            let _ = g.conn.execute_batch("ROLLBACK");
            g.open = false;
        } else {
            self.finish(g);
        }
    }

    /// COMMITs the open group and publishes its outcome.
    fn finish(&self, g: &mut Writer) {
        let outcome = match g.conn.execute_batch("COMMIT") {
            Ok(()) => None,
            Err(e) => {
                // A failed COMMIT leaves the transaction open: undo it.
                let _ = g.conn.execute_batch("ROLLBACK");
                tracing::error!(error = %e, group = g.group, "group commit failed");
                Some(e.to_string())
            }
        };
        g.open = false;
        if let Ok(mut o) = self.outcomes.lock() {
            if o.len() == OUTCOMES_KEPT {
                o.pop_front();
            }
            o.push_back((g.group, outcome));
        }
        self.finished.send_replace(g.group);
    }

    fn outcome(&self, group: u64) -> Option<Result<(), StoreError>> {
        let o = self.outcomes.lock().ok()?;
        o.iter().rev().find(|(g, _)| *g == group).map(|(_, err)| match err {
            None => Ok(()),
            Some(e) => Err(StoreError::GroupCommit(e.clone())),
        })
    }

    async fn wait_for(&self, group: u64) -> Result<(), StoreError> {
        let mut rx = self.finished.subscribe();
        loop {
            if let Some(r) = self.outcome(group) {
                return r;
            }
            tokio::select! {
                _ = rx.changed() => {}
                () = tokio::time::sleep(GROUP_WAIT) => {
                    // The call that was to follow went away: close the group.
                    let mut g = self.lock.clone().lock_owned().await;
                    if g.open && g.group == group {
                        self.finish(&mut g);
                    }
                }
            }
        }
    }
}

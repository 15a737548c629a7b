//! Opening the database, migrations, and transactions.
//!
//! SQLite runs in-process: statements execute inline on the calling task
//! (they take microseconds), with no hand-off to another thread per
//! statement. Measured on our 2-vCPU VMs, such a hand-off (what a
//! thread-per-connection driver does) cost more than the SQL itself. There
//! is one writer connection, behind an async mutex, so writers queue
//! instead of failing with SQLITE_BUSY; readers have their own pool and
//! never block the writer (WAL).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex, Weak};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::migrations;
use crate::writer::{self, Writer};

/// Tuning of the connection pools.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections serving reads.
    pub read_connections: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { read_connections: 8 }
    }
}

/// Where the schema stands relative to this binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaState {
    /// Newest applied migration (None: empty database).
    pub current: Option<i64>,
    /// Newest migration this binary knows.
    pub latest: i64,
    /// Applied migrations this binary does not know (a newer binary ran).
    pub unknown: Vec<i64>,
}

impl SchemaState {
    /// True when the schema is exactly what this binary expects.
    pub fn is_current(&self) -> bool {
        self.current == Some(self.latest) && self.unknown.is_empty()
    }
}

struct Inner {
    path: PathBuf,
    writer: Arc<writer::Shared>,
    readers: StdMutex<Vec<Connection>>,
    read_slots: Arc<Semaphore>,
}

/// The store (cheap to clone).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    dialect: Dialect,
    url: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("url", &self.url).finish()
    }
}

/// The file path of an SQLAlchemy-style URL (`sqlite:////abs/path`,
/// `sqlite:///relative/path`).
fn sqlite_path(url: &str) -> Result<PathBuf, StoreError> {
    let path = url.strip_prefix("sqlite:///").or_else(|| url.strip_prefix("sqlite://")).ok_or_else(|| {
        StoreError::UnsupportedUrl(url.to_string(), "only sqlite:// connections are built yet".into())
    })?;
    if path.is_empty() || path.contains('?') || path == ":memory:" {
        return Err(StoreError::UnsupportedUrl(
            url.to_string(),
            "expected sqlite:///relative/path or sqlite:////absolute/path".into(),
        ));
    }
    Ok(PathBuf::from(path))
}

/// Opens one connection with the per-connection settings.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // WAL + NORMAL: a commit survives a process crash without an fsync;
    // checkpoints (which fsync) run in the background, never inside an API
    // call's commit.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// How often the WAL is copied back into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Checkpoints the WAL off the request path while the store lives.
fn spawn_checkpointer(inner: Weak<Inner>, path: PathBuf) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let conn = match connect(&path) {
            Ok(c) => Arc::new(StdMutex::new(c)),
            Err(e) => {
                tracing::warn!(error = %e, "no checkpoint connection; the WAL is checkpointed at close only");
                return;
            }
        };
        loop {
            tick.tick().await;
            if inner.upgrade().is_none() {
                break;
            }
            let conn = conn.clone();
            let done = tokio::task::spawn_blocking(move || {
                let guard = conn.lock().map_err(|_| "checkpoint connection poisoned".to_string())?;
                guard.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).map_err(|e| e.to_string())
            })
            .await;
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "wal checkpoint failed"),
                Err(e) => tracing::warn!(error = %e, "wal checkpoint task failed"),
            }
        }
    });
}

impl Store {
    /// Opens (creating if needed) the database at `url`. Does not migrate.
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        let path = sqlite_path(url)?;
        let writer = connect(&path)?;
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(journal_mode = %mode, "sqlite refused WAL mode");
        }
        let n = opts.read_connections.max(1);
        let mut readers = Vec::with_capacity(n);
        for _ in 0..n {
            readers.push(connect(&path)?);
        }
        let inner = Arc::new(Inner {
            path: path.clone(),
            writer: writer::Shared::new(writer),
            readers: StdMutex::new(readers),
            read_slots: Arc::new(Semaphore::new(n)),
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            spawn_checkpointer(Arc::downgrade(&inner), path);
        }
        Ok(Store { inner, dialect: Dialect::Sqlite, url: url.to_string() })
    }

    /// The URL the store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The engine's dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Applied and known migrations.
    pub async fn schema_state(&self) -> Result<SchemaState, StoreError> {
        let mut r = self.read().await?;
        migrations::state(r.conn().0)
    }

    /// Applies pending migrations, each in its own transaction; refuses a
    /// schema a newer binary wrote. Returns the versions applied.
    pub async fn upgrade(&self) -> Result<Vec<i64>, StoreError> {
        let mut w = self.inner.writer.exclusive().await;
        migrations::upgrade(&mut w.conn)
    }

    /// Fails unless the schema is exactly what this binary expects.
    pub async fn check_schema(&self) -> Result<SchemaState, StoreError> {
        let state = self.schema_state().await?;
        if let Some(v) = state.unknown.first() {
            return Err(StoreError::SchemaAhead(*v));
        }
        if state.current != Some(state.latest) {
            return Err(StoreError::SchemaBehind { current: state.current, latest: state.latest });
        }
        Ok(state)
    }

    /// Begins a write transaction (one per API call); waits for the writer.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let (guard, group) = self.inner.writer.begin().await?;
        Ok(Tx { guard: Some(guard), shared: self.inner.writer.clone(), group, dialect: self.dialect })
    }

    /// A read connection for lists and shows outside a transaction.
    pub async fn read(&self) -> Result<Reader, StoreError> {
        let permit = self.inner.read_slots.clone().acquire_owned().await.map_err(|_| StoreError::Closed)?;
        let conn = match self.inner.readers.lock() {
            Ok(mut pool) => pool.pop(),
            Err(_) => None,
        };
        let conn = match conn {
            Some(c) => c,
            None => connect(&self.inner.path)?,
        };
        Ok(Reader { conn: Some(conn), inner: self.inner.clone(), dialect: self.dialect, _permit: permit })
    }

    /// Stops handing out read connections (the writer finishes its queue).
    pub async fn close(&self) {
        self.inner.read_slots.close();
    }
}

/// A write transaction (a savepoint in the writer's current group).
/// Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    guard: Option<OwnedMutexGuard<Writer>>,
    shared: Arc<writer::Shared>,
    group: u64,
    pub(crate) dialect: Dialect,
}

impl Tx {
    /// Commits; returns once the work is durable and visible to readers.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let guard = self.guard.take().ok_or(StoreError::Closed)?;
        self.shared.commit(guard, self.group).await
    }

    pub(crate) fn conn(&mut self) -> (&Connection, Dialect) {
        match &self.guard {
            Some(g) => (&g.conn, self.dialect),
            None => unreachable!("transaction used after commit"),
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            self.shared.rollback(guard);
        }
    }
}

/// A pooled read connection.
pub struct Reader {
    conn: Option<Connection>,
    inner: Arc<Inner>,
    dialect: Dialect,
    _permit: OwnedSemaphorePermit,
}

impl Reader {
    pub(crate) fn conn(&mut self) -> (&Connection, Dialect) {
        // Present from construction until drop.
        match &self.conn {
            Some(c) => (c, self.dialect),
            None => unreachable!("reader connection taken before drop"),
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let (Some(c), Ok(mut pool)) = (self.conn.take(), self.inner.readers.lock()) {
            pool.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_urls_map_to_paths() {
        assert_eq!(sqlite_path("sqlite:////var/lib/n.db").ok(), Some(PathBuf::from("/var/lib/n.db")));
        assert_eq!(sqlite_path("sqlite:///n.db").ok(), Some(PathBuf::from("n.db")));
        assert!(sqlite_path("mysql://x/y").is_err());
        assert!(sqlite_path("sqlite://").is_err());
        assert!(sqlite_path("sqlite:///:memory:").is_err());
    }
}

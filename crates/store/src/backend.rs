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

use crate::conn::Conn;
use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::migrations;
use crate::writer::{self, Writer};

/// Tuning of the connection pools.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections serving reads (SQLite).
    pub read_connections: usize,
    /// Connections to a database server (PostgreSQL, MySQL).
    pub pool_size: u32,
    /// How long a call waits for a pooled connection (a database server
    /// that is down: until the connection attempts give up) before the
    /// database counts as unavailable.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { read_connections: 8, pool_size: 16, acquire_timeout: Duration::from_secs(3) }
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
    read_slots_total: usize,
}

/// The engine behind a store.
#[derive(Clone)]
enum Engine {
    /// SQLite: one writer with group commit, a pool of readers.
    Sqlite(Arc<Inner>),
    /// PostgreSQL: a pool of connections.
    Postgres(sqlx::PgPool),
    /// MySQL / MariaDB: a pool of connections.
    Mysql(sqlx::MySqlPool),
}

/// The store (cheap to clone).
#[derive(Clone)]
pub struct Store {
    engine: Engine,
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
    let path = url
        .strip_prefix("sqlite:///")
        .or_else(|| url.strip_prefix("sqlite://"))
        .ok_or_else(|| StoreError::UnsupportedUrl(url.to_string(), "expected sqlite:// or postgresql://".into()))?;
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
    /// Opens the database at `url` (SQLAlchemy style, as in neutron.conf:
    /// `sqlite:///path`, `postgresql://user:pass@host/db`, with an optional
    /// `+driver` after the scheme). SQLite creates the file. Does not migrate.
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        if let Some(pg) = server_url(url, &["postgresql", "postgres"], "postgresql") {
            return Store::open_postgres(url, &pg, opts).await;
        }
        if let Some(my) = server_url(url, &["mysql", "mariadb"], "mysql") {
            return Store::open_mysql(url, &my, opts).await;
        }
        Store::open_sqlite(url, opts).await
    }

    async fn open_mysql(url: &str, my: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        let options: sqlx::mysql::MySqlConnectOptions =
            my.parse().map_err(|e: sqlx::Error| StoreError::UnsupportedUrl(redact(url), e.to_string()))?;
        let pool = sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(opts.pool_size.max(1))
            .acquire_timeout(opts.acquire_timeout)
            // Every transaction SERIALIZABLE (as on PostgreSQL); a lock wait
            // gives up well before a client would.
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // Two statements: MySQL and MariaDB name the isolation variable differently.
                    sqlx::Executor::execute(&mut *conn, "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE").await?;
                    sqlx::Executor::execute(&mut *conn, "SET SESSION innodb_lock_wait_timeout = 10").await?;
                    Ok(())
                })
            })
            .connect_lazy_with(options.charset("utf8mb4"));
        Ok(Store { engine: Engine::Mysql(pool), dialect: Dialect::Mysql, url: url.to_string() })
    }

    async fn open_postgres(url: &str, pg: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(opts.pool_size.max(1))
            .acquire_timeout(opts.acquire_timeout)
            // Every transaction SERIALIZABLE, set once per connection (not per BEGIN).
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(
                        &mut *conn,
                        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_lazy(pg)
            .map_err(|e| StoreError::UnsupportedUrl(redact(url), e.to_string()))?;
        Ok(Store { engine: Engine::Postgres(pool), dialect: Dialect::Postgres, url: url.to_string() })
    }

    async fn open_sqlite(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
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
            read_slots_total: n,
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            spawn_checkpointer(Arc::downgrade(&inner), path);
        }
        Ok(Store { engine: Engine::Sqlite(inner), dialect: Dialect::Sqlite, url: url.to_string() })
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
        migrations::state(r.conn()).await
    }

    /// Applies pending migrations, each in its own transaction; refuses a
    /// schema a newer binary wrote. Returns the versions applied.
    pub async fn upgrade(&self) -> Result<Vec<i64>, StoreError> {
        match &self.engine {
            Engine::Sqlite(inner) => {
                let mut w = inner.writer.exclusive().await;
                migrations::upgrade(Conn::Sqlite(&mut w.conn)).await
            }
            Engine::Postgres(pool) => {
                let mut c = pool.acquire().await?;
                migrations::upgrade(Conn::Pg(&mut c)).await
            }
            Engine::Mysql(pool) => {
                let mut c = pool.acquire().await?;
                migrations::upgrade(Conn::My(&mut c)).await
            }
        }
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

    /// Begins a write transaction (one per API call); on SQLite it waits for
    /// the writer, on PostgreSQL it is SERIALIZABLE (a conflict with a
    /// concurrent transaction fails with [`StoreError::Conflict`]).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        match &self.engine {
            Engine::Sqlite(inner) => {
                let (guard, group) = inner.writer.begin().await?;
                Ok(Tx { inner: TxInner::Sqlite { guard: Some(guard), shared: inner.writer.clone(), group } })
            }
            Engine::Postgres(pool) => Ok(Tx { inner: TxInner::Pg(Some(pool.begin().await?)) }),
            Engine::Mysql(pool) => Ok(Tx { inner: TxInner::My(Some(pool.begin().await?)) }),
        }
    }

    /// A read connection for lists and shows outside a transaction.
    pub async fn read(&self) -> Result<Reader, StoreError> {
        match &self.engine {
            Engine::Sqlite(inner) => {
                let permit = inner.read_slots.clone().acquire_owned().await.map_err(|_| StoreError::Closed)?;
                let conn = match inner.readers.lock() {
                    Ok(mut pool) => pool.pop(),
                    Err(_) => None,
                };
                let conn = match conn {
                    Some(c) => c,
                    None => connect(&inner.path)?,
                };
                Ok(Reader { inner: ReaderInner::Sqlite { conn: Some(conn), inner: inner.clone(), _permit: permit } })
            }
            Engine::Postgres(pool) => Ok(Reader { inner: ReaderInner::Pg(pool.acquire().await?) }),
            Engine::Mysql(pool) => Ok(Reader { inner: ReaderInner::My(pool.acquire().await?) }),
        }
    }

    /// The connections of the pool: (size, idle) — the database server's
    /// pool, or SQLite's readers.
    pub fn pool_stats(&self) -> (usize, usize) {
        match &self.engine {
            Engine::Sqlite(inner) => (inner.read_slots_total, inner.read_slots.available_permits()),
            Engine::Postgres(pool) => (pool.size() as usize, pool.num_idle()),
            Engine::Mysql(pool) => (pool.size() as usize, pool.num_idle()),
        }
    }

    /// Stops handing out read connections (the writer finishes its queue).
    pub async fn close(&self) {
        match &self.engine {
            Engine::Sqlite(inner) => inner.read_slots.close(),
            Engine::Postgres(pool) => pool.close().await,
            Engine::Mysql(pool) => pool.close().await,
        }
    }
}

/// The URL sqlx takes (`<scheme>://…`) for an SQLAlchemy-style one whose
/// engine is one of `engines` (`postgresql+psycopg2://…`,
/// `mysql+pymysql://…?charset=utf8`: the driver and the query, which name
/// Python drivers' options, are dropped), or None for other engines.
fn server_url(url: &str, engines: &[&str], scheme: &str) -> Option<String> {
    let (given, rest) = url.split_once("://")?;
    let engine = given.split('+').next().unwrap_or_default();
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    engines.contains(&engine).then(|| format!("{scheme}://{rest}"))
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) => {
            let (creds, host) = rest.rsplit_once('@').unwrap_or(("", rest));
            let user = creds.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

enum TxInner {
    Sqlite { guard: Option<OwnedMutexGuard<Writer>>, shared: Arc<writer::Shared>, group: u64 },
    Pg(Option<sqlx::Transaction<'static, sqlx::Postgres>>),
    My(Option<sqlx::Transaction<'static, sqlx::MySql>>),
}

/// A write transaction: on SQLite a savepoint in the writer's current
/// group, on PostgreSQL a database transaction. Dropped without
/// [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: TxInner,
}

impl Tx {
    /// Commits; returns once the work is durable and visible to readers.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        match &mut self.inner {
            TxInner::Sqlite { guard, shared, group } => {
                let guard = guard.take().ok_or(StoreError::Closed)?;
                shared.commit(guard, *group).await
            }
            TxInner::Pg(tx) => Ok(tx.take().ok_or(StoreError::Closed)?.commit().await?),
            TxInner::My(tx) => Ok(tx.take().ok_or(StoreError::Closed)?.commit().await?),
        }
    }

    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            TxInner::Sqlite { guard: Some(g), .. } => Conn::Sqlite(&mut g.conn),
            TxInner::Pg(Some(tx)) => Conn::Pg(tx),
            TxInner::My(Some(tx)) => Conn::My(tx),
            _ => unreachable!("transaction used after commit"),
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        // A database server's transaction rolls back when its connection returns to the pool.
        if let TxInner::Sqlite { guard, shared, .. } = &mut self.inner {
            if let Some(guard) = guard.take() {
                shared.rollback(guard);
            }
        }
    }
}

enum ReaderInner {
    Sqlite { conn: Option<Connection>, inner: Arc<Inner>, _permit: OwnedSemaphorePermit },
    Pg(sqlx::pool::PoolConnection<sqlx::Postgres>),
    My(sqlx::pool::PoolConnection<sqlx::MySql>),
}

/// A pooled read connection.
pub struct Reader {
    inner: ReaderInner,
}

impl Reader {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            // Present from construction until drop.
            ReaderInner::Sqlite { conn: Some(c), .. } => Conn::Sqlite(c),
            ReaderInner::Sqlite { conn: None, .. } => unreachable!("reader connection taken before drop"),
            ReaderInner::Pg(c) => Conn::Pg(c),
            ReaderInner::My(c) => Conn::My(c),
        }
    }

    /// Whether its statements run on the calling thread (SQLite).
    pub(crate) fn is_inline(&self) -> bool {
        matches!(self.inner, ReaderInner::Sqlite { .. })
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let ReaderInner::Sqlite { conn, inner, .. } = &mut self.inner {
            if let (Some(c), Ok(mut pool)) = (conn.take(), inner.readers.lock()) {
                pool.push(c);
            }
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

    #[test]
    fn server_urls_in_sqlalchemy_style() {
        let pg = |u: &str| server_url(u, &["postgresql", "postgres"], "postgresql");
        let my = |u: &str| server_url(u, &["mysql", "mariadb"], "mysql");
        assert_eq!(pg("postgresql+psycopg2://u:p@h/db").as_deref(), Some("postgresql://u:p@h/db"));
        assert_eq!(pg("postgres://u@h:5432/db").as_deref(), Some("postgresql://u@h:5432/db"));
        assert_eq!(pg("sqlite:///x.db"), None);
        assert_eq!(
            my("mysql+pymysql://neutron:pw@ctl/neutron?charset=utf8").as_deref(),
            Some("mysql://neutron:pw@ctl/neutron")
        );
        assert_eq!(my("postgresql://u@h/db"), None);
        assert_eq!(redact("postgresql://neutron:secret@db/neutron"), "postgresql://neutron:***@db/neutron");
    }
}

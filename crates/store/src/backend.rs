//! Opening the database, migrations, and transactions.

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Row};

use crate::dialect::Dialect;
use crate::error::StoreError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Tuning of the connection pools.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections serving reads.
    pub read_connections: u32,
    /// How long a call waits for a connection.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            read_connections: 8,
            acquire_timeout: Duration::from_secs(30),
        }
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

/// The store: a writer pool (one connection on SQLite, which has a single
/// writer anyway, so writers queue instead of failing with SQLITE_BUSY) and
/// a reader pool.
#[derive(Clone, Debug)]
pub struct Store {
    dialect: Dialect,
    writer: AnyPool,
    reader: AnyPool,
    url: String,
}

/// Converts an SQLAlchemy-style URL (`sqlite:////abs/path`, `sqlite:///rel`)
/// or a plain path into the URL sqlx takes.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let path = if let Some(rest) = url.strip_prefix("sqlite:///") {
        rest.to_string()
    } else if let Some(rest) = url.strip_prefix("sqlite://") {
        rest.to_string()
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        rest.to_string()
    } else {
        return Err(StoreError::UnsupportedUrl(
            url.to_string(),
            "only sqlite:// connections are built yet".into(),
        ));
    };
    if path.is_empty() || path.contains('?') {
        return Err(StoreError::UnsupportedUrl(
            url.to_string(),
            "expected sqlite:///relative/path or sqlite:////absolute/path".into(),
        ));
    }
    Ok(format!("sqlite://{path}?mode=rwc"))
}

async fn sqlite_session(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    // foreign keys and busy timeout are per connection; WAL is per file.
    conn.execute("PRAGMA foreign_keys = ON").await?;
    conn.execute("PRAGMA busy_timeout = 10000").await?;
    // WAL + NORMAL: a commit is durable against a process crash without an
    // fsync; checkpoints (which do fsync) run in the background task below,
    // never inside an API call's commit.
    conn.execute("PRAGMA synchronous = NORMAL").await?;
    conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
    Ok(())
}

/// How often the background task copies the WAL back into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Checkpoints the WAL off the request path until the pool closes.
fn spawn_checkpointer(pool: AnyPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            let Ok(mut conn) = pool.acquire().await else { break };
            if let Err(e) = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").await {
                tracing::warn!(error = %e, "wal checkpoint failed");
            }
        }
    });
}

impl Store {
    /// Opens (creating if needed) the database at `url`. Does not migrate.
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let sqlx_url = sqlite_url(url)?;
        let connect: AnyConnectOptions = sqlx_url.parse().map_err(StoreError::Db)?;
        {
            let mut conn = AnyConnection::connect_with(&connect).await?;
            conn.execute("PRAGMA journal_mode = WAL").await?;
            conn.close().await?;
        }
        // Connections are local files: no liveness ping before each use.
        let writer = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(opts.acquire_timeout)
            .after_connect(|conn, _| Box::pin(async move { sqlite_session(conn).await }))
            .connect_with(connect.clone())
            .await?;
        let reader = AnyPoolOptions::new()
            .max_connections(opts.read_connections.max(1))
            .test_before_acquire(false)
            .acquire_timeout(opts.acquire_timeout)
            .after_connect(|conn, _| Box::pin(async move { sqlite_session(conn).await }))
            .connect_with(connect)
            .await?;
        spawn_checkpointer(reader.clone());
        Ok(Store {
            dialect: Dialect::Sqlite,
            writer,
            reader,
            url: url.to_string(),
        })
    }

    /// The URL the store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The engine's dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn migrator(&self) -> &'static Migrator {
        match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
        }
    }

    /// Applied and known migrations.
    pub async fn schema_state(&self) -> Result<SchemaState, StoreError> {
        let migrator = self.migrator();
        let latest = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let mut conn = self.reader.acquire().await?;
        let exists: i64 = sqlx::query(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
        if exists == 0 {
            return Ok(SchemaState {
                current: None,
                latest,
                unknown: Vec::new(),
            });
        }
        let rows = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = 1 ORDER BY version")
            .fetch_all(&mut *conn)
            .await?;
        let mut applied = Vec::with_capacity(rows.len());
        for row in rows {
            applied.push(row.try_get::<i64, _>(0)?);
        }
        let unknown = applied
            .iter()
            .copied()
            .filter(|v| !migrator.iter().any(|m| m.version == *v))
            .collect();
        Ok(SchemaState {
            current: applied.last().copied(),
            latest,
            unknown,
        })
    }

    /// Applies pending migrations; refuses a schema a newer binary wrote.
    /// Returns the versions applied.
    pub async fn upgrade(&self) -> Result<Vec<i64>, StoreError> {
        let before = self.schema_state().await?;
        if let Some(v) = before.unknown.first() {
            return Err(StoreError::SchemaAhead(*v));
        }
        self.migrator().run(&self.writer).await?;
        let after = self.schema_state().await?;
        Ok(self
            .migrator()
            .iter()
            .map(|m| m.version)
            .filter(|v| after.current.is_some_and(|c| *v <= c) && before.current.is_none_or(|c| *v > c))
            .collect())
    }

    /// Fails unless the schema is exactly what this binary expects.
    pub async fn check_schema(&self) -> Result<SchemaState, StoreError> {
        let state = self.schema_state().await?;
        if let Some(v) = state.unknown.first() {
            return Err(StoreError::SchemaAhead(*v));
        }
        if state.current != Some(state.latest) {
            return Err(StoreError::SchemaBehind {
                current: state.current,
                latest: state.latest,
            });
        }
        Ok(state)
    }

    /// Begins a write transaction (one per API call).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = self.writer.begin().await?;
        Ok(Tx {
            inner,
            dialect: self.dialect,
        })
    }

    /// A read-only connection for lists and shows outside a transaction.
    pub async fn read(&self) -> Result<Reader, StoreError> {
        Ok(Reader {
            conn: self.reader.acquire().await?,
            dialect: self.dialect,
        })
    }

    /// Closes the pools.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// A write transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    pub(crate) inner: sqlx::Transaction<'static, Any>,
    pub(crate) dialect: Dialect,
}

impl Tx {
    /// Commits.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.inner.commit().await?;
        Ok(())
    }

    pub(crate) fn conn(&mut self) -> (&mut AnyConnection, Dialect) {
        (&mut self.inner, self.dialect)
    }
}

/// A pooled read connection.
pub struct Reader {
    conn: sqlx::pool::PoolConnection<Any>,
    dialect: Dialect,
}

impl Reader {
    pub(crate) fn conn(&mut self) -> (&mut AnyConnection, Dialect) {
        (&mut self.conn, self.dialect)
    }
}



#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_urls_map_to_sqlx() {
        assert_eq!(
            sqlite_url("sqlite:////var/lib/n.db").ok().as_deref(),
            Some("sqlite:///var/lib/n.db?mode=rwc")
        );
        assert_eq!(sqlite_url("sqlite:///n.db").ok().as_deref(), Some("sqlite://n.db?mode=rwc"));
        assert!(sqlite_url("mysql://x/y").is_err());
        assert!(sqlite_url("sqlite://").is_err());
    }
}

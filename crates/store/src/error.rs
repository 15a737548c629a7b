//! Store errors.

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key was violated (the caller maps it to a domain error).
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    /// A foreign key was violated (the caller maps it to a domain error).
    #[error("foreign key constraint violated: {0}")]
    ForeignKeyViolation(String),
    /// The database URL is not one this build supports.
    #[error("unsupported database connection '{0}': {1}")]
    UnsupportedUrl(String, String),
    /// The schema is older than this binary: run `neutrino db upgrade`.
    #[error("the database schema is at version {current:?}, this binary needs {latest}: run `neutrino db upgrade`")]
    SchemaBehind {
        /// Newest applied migration, if any.
        current: Option<i64>,
        /// Newest migration this binary knows.
        latest: i64,
    },
    /// The schema is newer than this binary: refuse to touch it.
    #[error("the database schema has migration {0}, unknown to this binary: it was upgraded by a newer neutrino; run that version")]
    SchemaAhead(i64),
    /// A list's `marker` names no row.
    #[error("marker {0} not found")]
    MarkerNotFound(String),
    /// A stored document did not parse: the row is corrupt.
    #[error("corrupt document in {table} {id}: {reason}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Row id.
        id: String,
        /// Parser message.
        reason: String,
    },
    /// The COMMIT shared by a group of calls failed; none of them took effect.
    #[error("commit failed: {0}")]
    GroupCommit(String),
    /// The store was closed.
    #[error("the store is closed")]
    Closed,
    /// The database gave up the transaction to keep concurrent ones
    /// serialisable (serialisation failure, deadlock): run it again.
    #[error("transaction conflict, to be retried: {0}")]
    Conflict(String),
    /// The database cannot be reached (or the pool has no connection).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A row did not have the shape the store expects.
    #[error("unexpected row: {0}")]
    Decode(String),
    /// Any other SQLite error.
    #[error("database error: {0}")]
    Db(rusqlite::Error),
    /// Any other error of a database server.
    #[error("database error: {0}")]
    Server(sqlx::Error),
}

impl StoreError {
    /// Whether running the whole transaction again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }
}

/// SQLSTATE classes and codes (PostgreSQL's, MySQL's where they share them).
const UNIQUE_VIOLATION: &str = "23505";
const FOREIGN_KEY_VIOLATION: &str = "23503";
const SERIALIZATION_FAILURE: &str = "40001";
const DEADLOCK_DETECTED: &str = "40P01";
/// MySQL's error numbers of a deadlock and of a lock wait that timed out.
const MYSQL_DEADLOCK: u16 = 1213;
const MYSQL_LOCK_WAIT_TIMEOUT: u16 = 1205;

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) => {
                let msg = db.message().to_string();
                let mysql = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(|e| e.number());
                match (db.kind(), db.code().as_deref(), mysql) {
                    (sqlx::error::ErrorKind::UniqueViolation, _, _) | (_, Some(UNIQUE_VIOLATION), _) => {
                        StoreError::UniqueViolation(msg)
                    }
                    (sqlx::error::ErrorKind::ForeignKeyViolation, _, _) | (_, Some(FOREIGN_KEY_VIOLATION), _) => {
                        StoreError::ForeignKeyViolation(msg)
                    }
                    (_, Some(SERIALIZATION_FAILURE | DEADLOCK_DETECTED), _)
                    | (_, _, Some(MYSQL_DEADLOCK | MYSQL_LOCK_WAIT_TIMEOUT)) => StoreError::Conflict(msg),
                    _ => StoreError::Server(err),
                }
            }
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::ColumnNotFound(_) | sqlx::Error::Decode(_) => {
                StoreError::Decode(err.to_string())
            }
            _ => StoreError::Server(err),
        }
    }
}

/// SQLite's extended result codes for constraint failures.
const SQLITE_CONSTRAINT_FOREIGNKEY: i32 = 787;
const SQLITE_CONSTRAINT_PRIMARYKEY: i32 = 1555;
const SQLITE_CONSTRAINT_UNIQUE: i32 = 2067;

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(e, msg) = &err {
            let text = msg.clone().unwrap_or_else(|| e.to_string());
            match e.extended_code {
                SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY => return StoreError::UniqueViolation(text),
                SQLITE_CONSTRAINT_FOREIGNKEY => return StoreError::ForeignKeyViolation(text),
                _ => {}
            }
        }
        StoreError::Db(err)
    }
}

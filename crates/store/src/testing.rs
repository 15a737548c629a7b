//! Scratch databases for tests, on the engine `NEUTRINO_TEST_STORE` names:
//! `sqlite` (the default), `postgres` (needs `NEUTRINO_TEST_POSTGRES_URL`,
//! e.g. `postgres://postgres@127.0.0.1:5432/test`) or `mysql` (needs
//! `NEUTRINO_TEST_MYSQL_URL`, e.g. `mysql://root@127.0.0.1:3306/test`).
//! Each [`TestDb`] is a database of its own (a file in a temporary
//! directory, or a database `neutrino_t_<pid>_<n>` on the server), removed
//! on drop.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::dialect::Dialect;
use crate::error::StoreError;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A scratch database.
#[derive(Debug)]
pub struct TestDb {
    /// The URL to open it with (`[database] connection`).
    pub url: String,
    /// Its engine.
    pub dialect: Dialect,
    dir: Option<std::path::PathBuf>,
    server: Option<(String, String)>,
}

/// The engine the tests run on.
pub fn engine() -> Dialect {
    match std::env::var("NEUTRINO_TEST_STORE").as_deref() {
        Ok("postgres" | "postgresql") => Dialect::Postgres,
        Ok("mysql" | "mariadb") => Dialect::Mysql,
        _ => Dialect::Sqlite,
    }
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst), nanos)
}

/// Runs `f` to completion on a runtime of its own, on a thread of its own
/// (usable from sync code and from inside another runtime).
fn on_own_runtime<T: Send + 'static>(
    f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>> + Send + 'static,
) -> Option<T> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        Some(rt.block_on(f()))
    })
    .join()
    .ok()
    .flatten()
}

/// Runs `sql` (statements separated by `;`) on a fresh connection to `url`.
fn admin_sql(dialect: Dialect, url: &str, sql: &str) -> Result<(), StoreError> {
    let (url, sql) = (url.to_string(), sql.to_string());
    let done = on_own_runtime(move || {
        Box::pin(async move {
            use sqlx::Connection;
            if dialect == Dialect::Postgres {
                let mut c = sqlx::PgConnection::connect(&url).await?;
                sqlx::Executor::execute(&mut c, sql.as_str()).await?;
                c.close().await
            } else {
                let mut c = sqlx::MySqlConnection::connect(&url).await?;
                for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    if let Some(name) = stmt.strip_prefix("DROP DATABASE IF EXISTS ") {
                        // Sessions of the dropped store may linger (their pool closes them
                        // after the test's runtime is gone) and would block the DROP.
                        let ids: Vec<(i64,)> =
                            sqlx::query_as("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ?")
                                .bind(name)
                                .fetch_all(&mut c)
                                .await?;
                        for (id,) in ids {
                            let _ = sqlx::Executor::execute(&mut c, format!("KILL {id}").as_str()).await;
                        }
                    }
                    sqlx::Executor::execute(&mut c, stmt).await?;
                }
                c.close().await
            }
        })
    });
    match done {
        Some(r) => Ok(r?),
        None => Err(StoreError::Closed),
    }
}

impl TestDb {
    /// A new empty database on the engine the tests run on.
    ///
    /// # Panics
    /// When the engine is PostgreSQL and `NEUTRINO_TEST_POSTGRES_URL` is
    /// unset or the server refuses to create a database: a test run that
    /// asked for PostgreSQL must not quietly test SQLite instead.
    pub fn new() -> TestDb {
        match engine() {
            Dialect::Sqlite => {
                let dir = std::env::temp_dir().join(format!("neutrino-test-{}", unique()));
                if let Err(e) = std::fs::create_dir_all(&dir) {
                    panic!("cannot create {}: {e}", dir.display());
                }
                let url = format!("sqlite:///{}", dir.join("n.db").display());
                TestDb { url, dialect: Dialect::Sqlite, dir: Some(dir), server: None }
            }
            dialect => {
                let var =
                    if dialect == Dialect::Postgres { "NEUTRINO_TEST_POSTGRES_URL" } else { "NEUTRINO_TEST_MYSQL_URL" };
                let admin = std::env::var(var).unwrap_or_else(|_| panic!("NEUTRINO_TEST_STORE needs {var}"));
                let name = format!("neutrino_t_{}", unique());
                if let Err(e) = admin_sql(dialect, &admin, &format!("CREATE DATABASE {name}")) {
                    panic!("cannot create test database {name} at {admin}: {e}");
                }
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                let url = format!("{base}/{name}");
                TestDb { url, dialect, dir: None, server: Some((admin, name)) }
            }
        }
    }

    /// The SQLite file, if the engine is SQLite.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        self.dir.as_ref().map(|d| d.join("n.db"))
    }

    /// Runs `sql` (several statements allowed) on the database directly,
    /// beside any store (to corrupt or rewind it in a test).
    pub fn raw(&self, sql: &str) -> Result<(), StoreError> {
        if let Some(file) = self.sqlite_file() {
            let conn = rusqlite::Connection::open(file)?;
            return Ok(conn.execute_batch(sql)?);
        }
        admin_sql(self.dialect, &self.url, sql)
    }
}

impl Default for TestDb {
    fn default() -> Self {
        TestDb::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin, name)) = self.server.take() {
            let force = if self.dialect == Dialect::Postgres { " WITH (FORCE)" } else { "" };
            if let Err(e) = admin_sql(self.dialect, &admin, &format!("DROP DATABASE IF EXISTS {name}{force}")) {
                eprintln!("warning: test database {name} not dropped: {e}");
            }
        }
    }
}

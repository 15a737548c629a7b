//! Scratch databases for tests, on the engine `NEUTRINO_TEST_STORE` names
//! (`sqlite`, the default, or `postgres`, which needs
//! `NEUTRINO_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/test`).
//! Each [`TestDb`] is a database of its own (a file in a temporary
//! directory, or a PostgreSQL database `neutrino_t_<pid>_<n>`), removed on
//! drop.

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
    pg: Option<(String, String)>,
}

/// The engine the tests run on.
pub fn engine() -> Dialect {
    match std::env::var("NEUTRINO_TEST_STORE").as_deref() {
        Ok("postgres" | "postgresql") => Dialect::Postgres,
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
                TestDb { url, dialect: Dialect::Sqlite, dir: Some(dir), pg: None }
            }
            Dialect::Postgres => {
                let admin = std::env::var("NEUTRINO_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| panic!("NEUTRINO_TEST_STORE=postgres needs NEUTRINO_TEST_POSTGRES_URL"));
                let name = format!("neutrino_t_{}", unique());
                let (a, n) = (admin.clone(), name.clone());
                let made = on_own_runtime(move || {
                    Box::pin(async move {
                        use sqlx::Connection;
                        let mut c = sqlx::PgConnection::connect(&a).await?;
                        sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {n}").as_str()).await?;
                        c.close().await
                    })
                });
                match made {
                    Some(Ok(())) => {}
                    Some(Err(e)) => panic!("cannot create test database {name} at {admin}: {e}"),
                    None => panic!("cannot create test database {name}: no runtime"),
                }
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                let url = format!("{base}/{name}");
                TestDb { url, dialect: Dialect::Postgres, dir: None, pg: Some((admin, name)) }
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
        let (url, sql) = (self.url.clone(), sql.to_string());
        let done = on_own_runtime(move || {
            Box::pin(async move {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect(&url).await?;
                sqlx::Executor::execute(&mut c, sql.as_str()).await?;
                c.close().await
            })
        });
        match done {
            Some(r) => Ok(r?),
            None => Err(StoreError::Closed),
        }
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
        if let Some((admin, name)) = self.pg.take() {
            let _ = on_own_runtime(move || {
                Box::pin(async move {
                    use sqlx::Connection;
                    let mut c = sqlx::PgConnection::connect(&admin).await?;
                    sqlx::Executor::execute(&mut c, format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await?;
                    c.close().await
                })
            });
        }
    }
}

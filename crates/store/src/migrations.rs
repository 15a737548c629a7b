//! Schema migrations: numbered SQL files embedded in the binary, applied in
//! order, each in its own transaction, recorded in `neutrino_migrations`.

use crate::conn::Conn;
use crate::dialect::Dialect;
use crate::query::SqlValue;

use crate::backend::SchemaState;
use crate::error::StoreError;

/// One migration, in each engine's SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version (a timestamp).
    pub version: i64,
    /// What it does.
    pub description: &'static str,
    /// The SQLite SQL.
    pub sqlite: &'static str,
    /// The PostgreSQL SQL.
    pub postgres: &'static str,
    /// The MySQL (MariaDB) SQL.
    pub mysql: &'static str,
}

impl Migration {
    fn sql(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
            Dialect::Mysql => self.mysql,
        }
    }
}

macro_rules! migration {
    ($version:literal, $file:literal, $description:literal) => {
        Migration {
            version: $version,
            description: $description,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../migrations/postgres/", $file)),
            mysql: include_str!(concat!("../migrations/mysql/", $file)),
        }
    };
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    migration!(20261127000001, "20261127000001_core.sql", "core resources"),
    migration!(20261127000002, "20261127000002_quotas.sql", "quotas"),
    migration!(20261127000003, "20261127000003_rbac.sql", "rbac policies"),
    migration!(20261127000004, "20261127000004_identity.sql", "built-in identity"),
    migration!(20261127000005, "20261127000005_agents.sql", "agents and the change log"),
    migration!(20261127000006, "20261127000006_dhcp.sql", "DHCP agent scheduling"),
    migration!(20261127000007, "20261127000007_l3.sql", "routers, floating IPs, port forwardings, L3 agent scheduling"),
    migration!(
        20261127000008,
        "20261127000008_security_groups.sql",
        "security groups and rules, port bindings to groups"
    ),
];

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS neutrino_migrations (\
     version BIGINT PRIMARY KEY NOT NULL, description TEXT NOT NULL, applied_at TEXT NOT NULL)";

/// A lock key every server takes while it migrates (PostgreSQL advisory lock).
const MIGRATION_LOCK: i64 = 0x6e65_7574_7269_6e6f;

async fn applied(conn: &mut Conn<'_>) -> Result<Vec<i64>, StoreError> {
    let exists = match conn.dialect() {
        Dialect::Sqlite => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'neutrino_migrations'",
        Dialect::Postgres => {
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name = 'neutrino_migrations'"
        }
        Dialect::Mysql => {
            "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() \
             AND table_name = 'neutrino_migrations'"
        }
    };
    if conn.row(exists, &[]).await?.is_none() {
        return Ok(Vec::new());
    }
    let rows = conn.rows("SELECT version FROM neutrino_migrations ORDER BY version", &[]).await?;
    rows.iter().map(|r| r.int(0)).collect()
}

fn schema_state(applied: &[i64]) -> SchemaState {
    let latest = MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
    let unknown = applied.iter().copied().filter(|v| !MIGRATIONS.iter().any(|m| m.version == *v)).collect();
    SchemaState { current: applied.last().copied(), latest, unknown }
}

/// Applied versus known migrations.
pub(crate) async fn state(mut conn: Conn<'_>) -> Result<SchemaState, StoreError> {
    Ok(schema_state(&applied(&mut conn).await?))
}

/// Applies what is pending, each migration in its own transaction;
/// refuses a schema with unknown migrations. On PostgreSQL and MySQL the
/// servers take turns (an advisory lock), so several may start at once.
/// (MySQL commits each schema statement by itself: a migration that fails
/// halfway there leaves its first statements applied, as with Neutron.)
pub(crate) async fn upgrade(mut conn: Conn<'_>) -> Result<Vec<i64>, StoreError> {
    let dialect = conn.dialect();
    match dialect {
        Dialect::Sqlite => {}
        Dialect::Postgres => {
            conn.execute("SELECT pg_advisory_lock(?)", &[SqlValue::Int(MIGRATION_LOCK)]).await?;
        }
        Dialect::Mysql => {
            let got = conn.row("SELECT GET_LOCK('neutrino_migrations', 300)", &[]).await?;
            if got.and_then(|r| r.opt_int(0).ok().flatten()) != Some(1) {
                return Err(StoreError::Unavailable("another server holds the migration lock".into()));
            }
        }
    }
    let result = upgrade_locked(&mut conn).await;
    match dialect {
        Dialect::Sqlite => {}
        Dialect::Postgres => {
            conn.execute("SELECT pg_advisory_unlock(?)", &[SqlValue::Int(MIGRATION_LOCK)]).await?;
        }
        Dialect::Mysql => {
            conn.execute("SELECT RELEASE_LOCK('neutrino_migrations')", &[]).await?;
        }
    }
    result
}

async fn upgrade_locked(conn: &mut Conn<'_>) -> Result<Vec<i64>, StoreError> {
    let dialect = conn.dialect();
    let done = applied(conn).await?;
    if let Some(v) = schema_state(&done).unknown.first() {
        return Err(StoreError::SchemaAhead(*v));
    }
    let mut out = Vec::new();
    let mut ledger = done.is_empty();
    for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
        conn.batch("BEGIN").await?;
        let step = async {
            if ledger {
                conn.batch(LEDGER).await?;
            }
            conn.batch(m.sql(dialect)).await?;
            conn.execute(
                "INSERT INTO neutrino_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                &[SqlValue::Int(m.version), SqlValue::Text(m.description.into()), SqlValue::Text(now_utc())],
            )
            .await?;
            conn.batch("COMMIT").await
        }
        .await;
        if let Err(e) = step {
            let _ = conn.batch("ROLLBACK").await;
            return Err(e);
        }
        ledger = false;
        tracing::info!(version = m.version, description = m.description, "migration applied");
        out.push(m.version);
    }
    Ok(out)
}

/// The current UTC time as `YYYY-MM-DD HH:MM:SS`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    neutrino_model::time::format_timestamp(i64::try_from(secs).unwrap_or(0)).replace('T', " ").replace('Z', "")
}

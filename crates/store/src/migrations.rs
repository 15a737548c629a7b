//! Schema migrations: numbered SQL files embedded in the binary, applied in
//! order, each in its own transaction, recorded in `neutrino_migrations`.

use rusqlite::{Connection, OptionalExtension};

use crate::backend::SchemaState;
use crate::error::StoreError;

/// One migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version (a timestamp).
    pub version: i64,
    /// What it does.
    pub description: &'static str,
    /// The SQL.
    pub sql: &'static str,
}

/// Every migration of the SQLite schema, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 20261127000001,
        description: "core resources",
        sql: include_str!("../migrations/sqlite/20261127000001_core.sql"),
    },
    Migration {
        version: 20261127000002,
        description: "quotas",
        sql: include_str!("../migrations/sqlite/20261127000002_quotas.sql"),
    },
    Migration {
        version: 20261127000003,
        description: "rbac policies",
        sql: include_str!("../migrations/sqlite/20261127000003_rbac.sql"),
    },
    Migration {
        version: 20261127000004,
        description: "built-in identity",
        sql: include_str!("../migrations/sqlite/20261127000004_identity.sql"),
    },
    Migration {
        version: 20261127000005,
        description: "agents and the change log",
        sql: include_str!("../migrations/sqlite/20261127000005_agents.sql"),
    },
    Migration {
        version: 20261127000006,
        description: "DHCP agent scheduling",
        sql: include_str!("../migrations/sqlite/20261127000006_dhcp.sql"),
    },
    Migration {
        version: 20261127000007,
        description: "routers, floating IPs, port forwardings, L3 agent scheduling",
        sql: include_str!("../migrations/sqlite/20261127000007_l3.sql"),
    },
    Migration {
        version: 20261127000008,
        description: "security groups and rules, port bindings to groups",
        sql: include_str!("../migrations/sqlite/20261127000008_security_groups.sql"),
    },
];

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS neutrino_migrations (\
     version INTEGER PRIMARY KEY NOT NULL, description TEXT NOT NULL, applied_at TEXT NOT NULL)";

fn applied(conn: &Connection) -> Result<Vec<i64>, StoreError> {
    let exists: Option<i64> = conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'neutrino_migrations'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT version FROM neutrino_migrations ORDER BY version")?;
    let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

/// Applied versus known migrations.
pub(crate) fn state(conn: &Connection) -> Result<SchemaState, StoreError> {
    let applied = applied(conn)?;
    let latest = MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
    let unknown = applied.iter().copied().filter(|v| !MIGRATIONS.iter().any(|m| m.version == *v)).collect();
    Ok(SchemaState { current: applied.last().copied(), latest, unknown })
}

/// Applies what is pending; refuses a schema with unknown migrations.
pub(crate) fn upgrade(conn: &mut Connection) -> Result<Vec<i64>, StoreError> {
    let before = state(conn)?;
    if let Some(v) = before.unknown.first() {
        return Err(StoreError::SchemaAhead(*v));
    }
    let done = applied(conn)?;
    let mut out = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
        let tx = conn.transaction()?;
        tx.execute_batch(LEDGER)?;
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO neutrino_migrations (version, description, applied_at) VALUES (?1, ?2, datetime('now'))",
            rusqlite::params![m.version, m.description],
        )?;
        tx.commit()?;
        tracing::info!(version = m.version, description = m.description, "migration applied");
        out.push(m.version);
    }
    Ok(out)
}

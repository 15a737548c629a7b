//! What differs between database engines: JSON access, NULL ordering,
//! substring search. Placeholders are always `?` in the store's SQL; the
//! PostgreSQL connection renumbers them ([`crate::conn`]).

use crate::query::SqlValue;

/// The database engine behind a [`crate::Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3 (embedded).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL / MariaDB (InnoDB).
    Mysql,
}

impl Dialect {
    /// An SQL expression extracting the scalar at top-level `key` of the
    /// JSON document column `doc`: JSON booleans as 1/0, numbers and strings
    /// as themselves (text on PostgreSQL), null or absent as NULL. `doc` and
    /// `key` are the store's own names (never user text).
    pub fn json_scalar(self, doc: &str, key: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({doc}, '$.\"{key}\"')"),
            Dialect::Postgres => format!(
                "(CASE jsonb_typeof(({doc})::jsonb -> '{key}') \
                 WHEN 'boolean' THEN (CASE WHEN (({doc})::jsonb -> '{key}') = 'true'::jsonb THEN '1' ELSE '0' END) \
                 ELSE (({doc})::jsonb ->> '{key}') END)"
            ),
            Dialect::Mysql => format!(
                "(CASE JSON_TYPE(JSON_EXTRACT({doc}, '$.\"{key}\"')) \
                 WHEN 'BOOLEAN' THEN IF(JSON_EXTRACT({doc}, '$.\"{key}\"') = 'true', '1', '0') \
                 WHEN 'NULL' THEN NULL \
                 ELSE JSON_UNQUOTE(JSON_EXTRACT({doc}, '$.\"{key}\"')) END)"
            ),
        }
    }

    /// A value compared with a [`Dialect::json_scalar`] expression.
    pub fn json_arg(self, v: SqlValue) -> SqlValue {
        match (self, v) {
            (Dialect::Postgres | Dialect::Mysql, SqlValue::Int(i)) => SqlValue::Text(i.to_string()),
            (_, v) => v,
        }
    }

    /// `ORDER BY` direction with SQLite's NULL placement (first ascending).
    pub fn order(self, ascending: bool) -> &'static str {
        match (self, ascending) {
            (Dialect::Sqlite | Dialect::Mysql, true) => "ASC",
            (Dialect::Sqlite | Dialect::Mysql, false) => "DESC",
            (Dialect::Postgres, true) => "ASC NULLS FIRST",
            (Dialect::Postgres, false) => "DESC NULLS LAST",
        }
    }

    /// The SQL function that finds a substring (`f(haystack, needle) > 0`).
    pub fn position_fn(self) -> &'static str {
        match self {
            Dialect::Sqlite | Dialect::Mysql => "instr",
            Dialect::Postgres => "strpos",
        }
    }

    /// `INSERT INTO table (columns) VALUES (?, …)` that does nothing when a
    /// unique key already holds the row.
    pub fn insert_or_ignore(self, table: &str, columns: &[&str]) -> String {
        let marks = vec!["?"; columns.len()].join(", ");
        let cols = columns.join(", ");
        match self {
            Dialect::Sqlite | Dialect::Postgres => {
                format!("INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING")
            }
            Dialect::Mysql => format!("INSERT IGNORE INTO {table} ({cols}) VALUES ({marks})"),
        }
    }

    /// `INSERT INTO table (columns) VALUES (?, …)` that, when the row with
    /// the same `key` exists, sets its `update` columns instead.
    pub fn upsert(self, table: &str, columns: &[&str], key: &[&str], update: &[&str]) -> String {
        let marks = vec!["?"; columns.len()].join(", ");
        let cols = columns.join(", ");
        match self {
            Dialect::Sqlite | Dialect::Postgres => {
                let sets: Vec<String> = update.iter().map(|c| format!("{c} = excluded.{c}")).collect();
                format!(
                    "INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT ({}) DO UPDATE SET {}",
                    key.join(", "),
                    sets.join(", ")
                )
            }
            Dialect::Mysql => {
                let sets: Vec<String> = update.iter().map(|c| format!("{c} = VALUES({c})")).collect();
                format!("INSERT INTO {table} ({cols}) VALUES ({marks}) ON DUPLICATE KEY UPDATE {}", sets.join(", "))
            }
        }
    }
}

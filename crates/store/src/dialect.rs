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
}

impl Dialect {
    /// The placeholder for the `n`-th (1-based) bound parameter.
    pub fn placeholder(self, _n: usize) -> String {
        "?".to_string()
    }

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
        }
    }

    /// A value compared with a [`Dialect::json_scalar`] expression.
    pub fn json_arg(self, v: SqlValue) -> SqlValue {
        match (self, v) {
            (Dialect::Postgres, SqlValue::Int(i)) => SqlValue::Text(i.to_string()),
            (_, v) => v,
        }
    }

    /// `ORDER BY` direction with SQLite's NULL placement (first ascending).
    pub fn order(self, ascending: bool) -> &'static str {
        match (self, ascending) {
            (Dialect::Sqlite, true) => "ASC",
            (Dialect::Sqlite, false) => "DESC",
            (Dialect::Postgres, true) => "ASC NULLS FIRST",
            (Dialect::Postgres, false) => "DESC NULLS LAST",
        }
    }

    /// The SQL function that finds a substring (`f(haystack, needle) > 0`).
    pub fn position_fn(self) -> &'static str {
        match self {
            Dialect::Sqlite => "instr",
            Dialect::Postgres => "strpos",
        }
    }
}

//! What differs between database engines: placeholders and JSON access.

/// The database engine behind a [`crate::Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3 (embedded).
    Sqlite,
}

impl Dialect {
    /// The placeholder for the `n`-th (1-based) bound parameter.
    pub fn placeholder(self, _n: usize) -> String {
        match self {
            Dialect::Sqlite => "?".to_string(),
        }
    }

    /// An SQL expression extracting the scalar at top-level `key` of the
    /// document column. `key` must be a known attribute name (never user text).
    pub fn json_scalar(self, key: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract(doc, '$.\"{key}\"')"),
        }
    }
}

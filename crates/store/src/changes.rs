//! The change log: every committed change of a resource, in commit order,
//! for agents to stream (level-triggered: a change only says what changed;
//! the agent reads the current state).

use rusqlite::{params, Connection, OptionalExtension};

use crate::backend::{Reader, Tx};
use crate::error::StoreError;

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// Position in the log (assigned on append).
    pub seq: i64,
    /// Resource type: `network`, `subnet`, `port`, `rbac_policy`, `agent`.
    pub resource: String,
    /// Resource id.
    pub resource_id: String,
    /// The resource's revision after the change.
    pub revision: i64,
    /// `create`, `update` or `delete`.
    pub op: String,
    /// The network it concerns, if any (agents filter on it).
    pub network_id: Option<String>,
    /// The host it concerns, if any (a port's binding host).
    pub host: Option<String>,
    /// Commit time (RFC 3339).
    pub committed_at: String,
}

fn changes_after(conn: &Connection, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, resource, resource_id, revision, op, network_id, host, committed_at FROM change_log \
         WHERE seq > ? ORDER BY seq LIMIT ?",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok(Change {
            seq: r.get(0)?,
            resource: r.get(1)?,
            resource_id: r.get(2)?,
            revision: r.get(3)?,
            op: r.get(4)?,
            network_id: r.get(5)?,
            host: r.get(6)?,
            committed_at: r.get(7)?,
        })
    })?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

fn bounds(conn: &Connection) -> Result<(i64, i64), StoreError> {
    let (min, max): (Option<i64>, Option<i64>) = conn
        .prepare_cached("SELECT MIN(seq), MAX(seq) FROM change_log")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let last = match max {
        Some(m) => m,
        // An empty log still has a position: what AUTOINCREMENT handed out last.
        None => conn
            .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'")?
            .query_row([], |r| r.get(0))
            .optional()?
            .unwrap_or(0),
    };
    Ok((min.map_or(last + 1, |m| m), last))
}

macro_rules! change_reads {
    ($ty:ty) => {
        impl $ty {
            /// Up to `limit` changes after `after`, oldest first.
            pub async fn changes_after(&mut self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
                changes_after(self.conn().0, after, limit)
            }

            /// `(oldest seq kept, newest seq)`; an agent whose position is
            /// below `oldest - 1` missed compacted changes and must resync.
            pub async fn change_bounds(&mut self) -> Result<(i64, i64), StoreError> {
                bounds(self.conn().0)
            }
        }
    };
}

change_reads!(Tx);
change_reads!(Reader);

impl Tx {
    /// Appends a change (committed with the transaction). Returns its seq.
    pub async fn append_change(&mut self, c: &Change) -> Result<i64, StoreError> {
        let conn = self.conn().0;
        conn.prepare_cached(
            "INSERT INTO change_log (resource, resource_id, revision, op, network_id, host, committed_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )?
        .execute(params![
            c.resource,
            c.resource_id,
            c.revision,
            c.op,
            c.network_id,
            c.host,
            c.committed_at
        ])?;
        Ok(conn.last_insert_rowid())
    }

    /// Drops changes up to and including `upto` (agents behind it resync).
    pub async fn compact_changes(&mut self, upto: i64) -> Result<usize, StoreError> {
        Ok(self.conn().0.prepare_cached("DELETE FROM change_log WHERE seq <= ?")?.execute(params![upto])?)
    }
}

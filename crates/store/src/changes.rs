//! The change log: every committed change of a resource, in commit order,
//! for agents to stream (level-triggered: a change only says what changed;
//! the agent reads the current state).

use crate::backend::{Reader, Tx};
use crate::conn::{ot, t, Conn};
use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::query::SqlValue;

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

async fn changes_after(mut conn: Conn<'_>, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
    let sql = "SELECT seq, resource, resource_id, revision, op, network_id, host, committed_at FROM change_log \
               WHERE seq > ? ORDER BY seq LIMIT ?";
    let rows = conn.rows(sql, &[SqlValue::Int(after), SqlValue::Int(limit)]).await?;
    rows.iter()
        .map(|r| {
            Ok(Change {
                seq: r.int(0)?,
                resource: r.text(1)?,
                resource_id: r.text(2)?,
                revision: r.int(3)?,
                op: r.text(4)?,
                network_id: r.opt_text(5)?,
                host: r.opt_text(6)?,
                committed_at: r.text(7)?,
            })
        })
        .collect()
}

async fn bounds(mut conn: Conn<'_>) -> Result<(i64, i64), StoreError> {
    let (min, max) = match conn.row("SELECT MIN(seq), MAX(seq) FROM change_log", &[]).await? {
        Some(r) => (r.opt_int(0)?, r.opt_int(1)?),
        None => (None, None),
    };
    let last = match max {
        Some(m) => m,
        // An empty log still has a position: the last seq handed out.
        None => {
            let sql = match conn.dialect() {
                Dialect::Sqlite => "SELECT seq FROM sqlite_sequence WHERE name = 'change_log'",
                Dialect::Postgres => "SELECT pg_sequence_last_value('change_log_seq_seq')",
                Dialect::Mysql => {
                    "SELECT AUTO_INCREMENT - 1 FROM information_schema.TABLES \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'change_log'"
                }
            };
            match conn.row(sql, &[]).await? {
                Some(r) => r.opt_int(0)?.unwrap_or(0),
                None => 0,
            }
        }
    };
    Ok((min.map_or(last + 1, |m| m), last))
}

/// A lock key every server takes before appending to the change log
/// (PostgreSQL advisory lock, held until the transaction ends; on MySQL the
/// lock of the one row of `change_log_order`): appends are
/// serialised, so seq order is commit order and an agent reading after a
/// position never misses a change committed later with a smaller seq.
const CHANGE_LOG_LOCK: i64 = 0x6e65_7574_6c6f_6721;

macro_rules! change_reads {
    ($ty:ty) => {
        impl $ty {
            /// Up to `limit` changes after `after`, oldest first.
            pub async fn changes_after(&mut self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
                changes_after(self.conn(), after, limit).await
            }

            /// `(oldest seq kept, newest seq)`; an agent whose position is
            /// below `oldest - 1` missed compacted changes and must resync.
            pub async fn change_bounds(&mut self) -> Result<(i64, i64), StoreError> {
                bounds(self.conn()).await
            }
        }
    };
}

change_reads!(Tx);
change_reads!(Reader);

impl Tx {
    /// Appends a change (committed with the transaction). Returns its seq.
    pub async fn append_change(&mut self, c: &Change) -> Result<i64, StoreError> {
        let mut conn = self.conn();
        let args = [
            t(&c.resource),
            t(&c.resource_id),
            SqlValue::Int(c.revision),
            t(&c.op),
            ot(c.network_id.as_deref()),
            ot(c.host.as_deref()),
            t(&c.committed_at),
        ];
        let insert = "INSERT INTO change_log (resource, resource_id, revision, op, network_id, host, committed_at) \
                      VALUES (?, ?, ?, ?, ?, ?, ?)";
        match conn.dialect() {
            Dialect::Sqlite => {
                conn.execute(insert, &args).await?;
                match conn.row("SELECT last_insert_rowid()", &[]).await? {
                    Some(r) => r.int(0),
                    None => Err(StoreError::Decode("no last_insert_rowid".into())),
                }
            }
            Dialect::Postgres => {
                conn.execute("SELECT pg_advisory_xact_lock(?)", &[SqlValue::Int(CHANGE_LOG_LOCK)]).await?;
                match conn.row(&format!("{insert} RETURNING seq"), &args).await? {
                    Some(r) => r.int(0),
                    None => Err(StoreError::Decode("no seq returned".into())),
                }
            }
            Dialect::Mysql => {
                // The order row's lock, held to the end of the transaction.
                conn.execute("UPDATE change_log_order SET n = n + 1 WHERE id = 1", &[]).await?;
                conn.execute(insert, &args).await?;
                match conn.row("SELECT LAST_INSERT_ID()", &[]).await? {
                    Some(r) => r.int(0),
                    None => Err(StoreError::Decode("no LAST_INSERT_ID".into())),
                }
            }
        }
    }

    /// Drops changes up to and including `upto` (agents behind it resync).
    pub async fn compact_changes(&mut self, upto: i64) -> Result<usize, StoreError> {
        let n = self.conn().execute("DELETE FROM change_log WHERE seq <= ?", &[SqlValue::Int(upto)]).await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}

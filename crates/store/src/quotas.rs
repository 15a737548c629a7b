//! Quota limits set per project, and the counts they are checked against.

use rusqlite::{params, Connection};

use crate::backend::{Reader, Tx};
use crate::error::StoreError;
use crate::table::Table;

fn overrides(conn: &Connection, project_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT resource, hard_limit FROM quotas WHERE project_id = ? ORDER BY resource")?;
    let rows = stmt.query_map(params![project_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

fn all_overrides(conn: &Connection) -> Result<Vec<(String, String, i64)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT project_id, resource, hard_limit FROM quotas ORDER BY project_id, resource")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

fn count_owned(conn: &Connection, table: Table, project_id: &str) -> Result<i64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM {} WHERE project_id = ?", table.name());
    Ok(conn.prepare_cached(&sql)?.query_row(params![project_id], |r| r.get(0))?)
}

macro_rules! quota_reads {
    ($ty:ty) => {
        impl $ty {
            /// The limits set for a project (resource, limit).
            pub async fn quota_overrides(&mut self, project_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
                overrides(self.conn().0, project_id)
            }

            /// Every project's set limits (project, resource, limit).
            pub async fn all_quota_overrides(&mut self) -> Result<Vec<(String, String, i64)>, StoreError> {
                all_overrides(self.conn().0)
            }

            /// How many rows of `table` a project owns.
            pub async fn count_owned(&mut self, table: Table, project_id: &str) -> Result<i64, StoreError> {
                count_owned(self.conn().0, table, project_id)
            }
        }
    };
}

quota_reads!(Tx);
quota_reads!(Reader);

impl Tx {
    /// Sets a project's limit for one resource.
    pub async fn set_quota(&mut self, project_id: &str, resource: &str, limit: i64) -> Result<(), StoreError> {
        self.conn()
            .0
            .prepare_cached(
                "INSERT INTO quotas (project_id, resource, hard_limit) VALUES (?, ?, ?) \
                 ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
            )?
            .execute(params![project_id, resource, limit])?;
        Ok(())
    }

    /// Forgets a project's limits (back to the defaults).
    pub async fn delete_quotas(&mut self, project_id: &str) -> Result<(), StoreError> {
        self.conn().0.prepare_cached("DELETE FROM quotas WHERE project_id = ?")?.execute(params![project_id])?;
        Ok(())
    }
}

//! Quota limits set per project, and the counts they are checked against.

use crate::backend::{Reader, Tx};
use crate::conn::t;
use crate::error::StoreError;
use crate::query::SqlValue;
use crate::table::Table;

macro_rules! quota_reads {
    ($ty:ty) => {
        impl $ty {
            /// The limits set for a project (resource, limit).
            pub async fn quota_overrides(&mut self, project_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
                let sql = "SELECT resource, hard_limit FROM quotas WHERE project_id = ? ORDER BY resource";
                let rows = self.conn().rows(sql, &[t(project_id)]).await?;
                rows.iter().map(|r| Ok((r.text(0)?, r.int(1)?))).collect()
            }

            /// Every project's set limits (project, resource, limit).
            pub async fn all_quota_overrides(&mut self) -> Result<Vec<(String, String, i64)>, StoreError> {
                let sql = "SELECT project_id, resource, hard_limit FROM quotas ORDER BY project_id, resource";
                let rows = self.conn().rows(sql, &[]).await?;
                rows.iter().map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?))).collect()
            }

            /// How many rows of `table` a project owns.
            pub async fn count_owned(&mut self, table: Table, project_id: &str) -> Result<i64, StoreError> {
                let sql = format!("SELECT COUNT(*) FROM {} WHERE project_id = ?", table.name());
                match self.conn().row(&sql, &[t(project_id)]).await? {
                    Some(r) => r.int(0),
                    None => Ok(0),
                }
            }
        }
    };
}

quota_reads!(Tx);
quota_reads!(Reader);

impl Tx {
    /// Sets a project's limit for one resource.
    pub async fn set_quota(&mut self, project_id: &str, resource: &str, limit: i64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let sql = conn.dialect().upsert(
            "quotas",
            &["project_id", "resource", "hard_limit"],
            &["project_id", "resource"],
            &["hard_limit"],
        );
        conn.execute(&sql, &[t(project_id), t(resource), SqlValue::Int(limit)]).await?;
        Ok(())
    }

    /// Forgets a project's limits (back to the defaults).
    pub async fn delete_quotas(&mut self, project_id: &str) -> Result<(), StoreError> {
        self.conn().execute("DELETE FROM quotas WHERE project_id = ?", &[t(project_id)]).await?;
        Ok(())
    }
}

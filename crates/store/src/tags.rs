//! Tags of any resource.

use rusqlite::params;

use crate::backend::Tx;
use crate::error::StoreError;
use crate::table::Table;

impl Tx {
    /// Replaces the tags of a resource.
    pub async fn set_tags(&mut self, table: Table, id: &str, tags: &[String]) -> Result<(), StoreError> {
        self.delete_tags(table, id).await?;
        let (conn, _) = self.conn();
        let mut stmt = conn.prepare_cached("INSERT INTO tags (resource_type, resource_id, tag) VALUES (?, ?, ?)")?;
        for tag in tags {
            stmt.execute(params![table.resource_type(), id, tag])?;
        }
        Ok(())
    }

    /// Removes every tag of a resource.
    pub async fn delete_tags(&mut self, table: Table, id: &str) -> Result<(), StoreError> {
        let (conn, _) = self.conn();
        conn.prepare_cached("DELETE FROM tags WHERE resource_type = ? AND resource_id = ?")?
            .execute(params![table.resource_type(), id])?;
        Ok(())
    }
}

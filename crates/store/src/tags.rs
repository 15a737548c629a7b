//! Tags of any resource.

use crate::backend::Tx;
use crate::conn::t;
use crate::error::StoreError;
use crate::table::Table;

impl Tx {
    /// Replaces the tags of a resource.
    pub async fn set_tags(&mut self, table: Table, id: &str, tags: &[String]) -> Result<(), StoreError> {
        self.delete_tags(table, id).await?;
        let mut conn = self.conn();
        for tag in tags {
            let sql = "INSERT INTO tags (resource_type, resource_id, tag) VALUES (?, ?, ?)";
            conn.execute(sql, &[t(table.resource_type()), t(id), t(tag)]).await?;
        }
        Ok(())
    }

    /// Removes every tag of a resource.
    pub async fn delete_tags(&mut self, table: Table, id: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM tags WHERE resource_type = ? AND resource_id = ?";
        self.conn().execute(sql, &[t(table.resource_type()), t(id)]).await?;
        Ok(())
    }
}

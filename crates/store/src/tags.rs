//! Tags of any resource.

use crate::backend::Tx;
use crate::error::StoreError;
use crate::table::Table;

impl Tx {
    /// Replaces the tags of a resource.
    pub async fn set_tags(&mut self, table: Table, id: &str, tags: &[String]) -> Result<(), StoreError> {
        self.delete_tags(table, id).await?;
        let (conn, d) = self.conn();
        let text = format!(
            "INSERT INTO tags (resource_type, resource_id, tag) VALUES ({}, {}, {})",
            d.placeholder(1),
            d.placeholder(2),
            d.placeholder(3)
        );
        for tag in tags {
            sqlx::query(&text)
                .bind(table.resource_type())
                .bind(id)
                .bind(tag.as_str())
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// Removes every tag of a resource.
    pub async fn delete_tags(&mut self, table: Table, id: &str) -> Result<(), StoreError> {
        let (conn, d) = self.conn();
        let text = format!(
            "DELETE FROM tags WHERE resource_type = {} AND resource_id = {}",
            d.placeholder(1),
            d.placeholder(2)
        );
        sqlx::query(&text)
            .bind(table.resource_type())
            .bind(id)
            .execute(conn)
            .await?;
        Ok(())
    }
}

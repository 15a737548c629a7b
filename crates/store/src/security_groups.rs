//! Which ports use which security groups.

use rusqlite::{params, Connection};

use crate::backend::{Reader, Tx};
use crate::error::StoreError;

fn column(conn: &Connection, sql: &str, key: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![key], |r| r.get(0))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

macro_rules! group_reads {
    ($ty:ty) => {
        impl $ty {
            /// The ports using a security group.
            pub async fn group_ports(&mut self, group_id: &str) -> Result<Vec<String>, StoreError> {
                column(
                    self.conn().0,
                    "SELECT port_id FROM port_security_group_bindings WHERE security_group_id = ? ORDER BY port_id",
                    group_id,
                )
            }

            /// The security groups of a port.
            pub async fn port_groups(&mut self, port_id: &str) -> Result<Vec<String>, StoreError> {
                column(
                    self.conn().0,
                    "SELECT security_group_id FROM port_security_group_bindings WHERE port_id = ? ORDER BY security_group_id",
                    port_id,
                )
            }
        }
    };
}

group_reads!(Tx);
group_reads!(Reader);

impl Tx {
    /// Makes `groups` exactly the security groups of `port_id`.
    pub async fn set_port_groups(&mut self, port_id: &str, groups: &[String]) -> Result<(), StoreError> {
        let conn = self.conn().0;
        conn.prepare_cached("DELETE FROM port_security_group_bindings WHERE port_id = ?")?.execute(params![port_id])?;
        let mut insert = conn.prepare_cached(
            "INSERT INTO port_security_group_bindings (port_id, security_group_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )?;
        for g in groups {
            insert.execute(params![port_id, g])?;
        }
        Ok(())
    }
}

//! Which ports use which security groups.

use crate::backend::{Reader, Tx};
use crate::conn::t;
use crate::error::StoreError;

macro_rules! group_reads {
    ($ty:ty) => {
        impl $ty {
            /// The ports using a security group.
            pub async fn group_ports(&mut self, group_id: &str) -> Result<Vec<String>, StoreError> {
                let sql = "SELECT port_id FROM port_security_group_bindings WHERE security_group_id = ? ORDER BY port_id";
                self.conn().texts(sql, &[t(group_id)]).await
            }

            /// The security groups of a port.
            pub async fn port_groups(&mut self, port_id: &str) -> Result<Vec<String>, StoreError> {
                let sql =
                    "SELECT security_group_id FROM port_security_group_bindings WHERE port_id = ? ORDER BY security_group_id";
                self.conn().texts(sql, &[t(port_id)]).await
            }
        }
    };
}

group_reads!(Tx);
group_reads!(Reader);

impl Tx {
    /// Makes `groups` exactly the security groups of `port_id`.
    pub async fn set_port_groups(&mut self, port_id: &str, groups: &[String]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        conn.execute("DELETE FROM port_security_group_bindings WHERE port_id = ?", &[t(port_id)]).await?;
        let sql = conn.dialect().insert_or_ignore("port_security_group_bindings", &["port_id", "security_group_id"]);
        for g in groups {
            conn.execute(&sql, &[t(port_id), t(g)]).await?;
        }
        Ok(())
    }
}

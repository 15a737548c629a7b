//! Which DHCP agents host which networks.

use rusqlite::{params, Connection};

use crate::backend::{Reader, Tx};
use crate::error::StoreError;

fn bindings(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT network_id, agent_id FROM network_dhcp_agents ORDER BY network_id, agent_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

macro_rules! dhcp_reads {
    ($ty:ty) => {
        impl $ty {
            /// Every (network, DHCP agent) hosting pair.
            pub async fn dhcp_bindings(&mut self) -> Result<Vec<(String, String)>, StoreError> {
                bindings(self.conn().0)
            }
        }
    };
}

dhcp_reads!(Tx);
dhcp_reads!(Reader);

impl Tx {
    /// Makes `agent_id` host `network_id` (idempotent).
    pub async fn bind_dhcp(&mut self, network_id: &str, agent_id: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .0
            .prepare_cached(
                "INSERT INTO network_dhcp_agents (network_id, agent_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            )?
            .execute(params![network_id, agent_id])?;
        Ok(n == 1)
    }

    /// Stops `agent_id` hosting `network_id`. Returns whether it did.
    pub async fn unbind_dhcp(&mut self, network_id: &str, agent_id: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .0
            .prepare_cached("DELETE FROM network_dhcp_agents WHERE network_id = ? AND agent_id = ?")?
            .execute(params![network_id, agent_id])?;
        Ok(n == 1)
    }
}

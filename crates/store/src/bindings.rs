//! Which agents host what: networks on DHCP agents, routers on L3 agents.

use rusqlite::{params, Connection};

use crate::backend::{Reader, Tx};
use crate::error::StoreError;

/// A kind of hosting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hosting {
    /// Networks served by DHCP agents (`network_dhcp_agents`).
    Dhcp,
    /// Routers built by L3 agents (`router_l3_agents`).
    L3,
}

impl Hosting {
    /// The table and its object column.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Hosting::Dhcp => ("network_dhcp_agents", "network_id"),
            Hosting::L3 => ("router_l3_agents", "router_id"),
        }
    }
}

fn bindings(conn: &Connection, kind: Hosting) -> Result<Vec<(String, String)>, StoreError> {
    let (table, object) = kind.table();
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {object}, agent_id FROM {table} ORDER BY {object}, agent_id"))?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

macro_rules! binding_reads {
    ($ty:ty) => {
        impl $ty {
            /// Every (network, DHCP agent) hosting pair.
            pub async fn dhcp_bindings(&mut self) -> Result<Vec<(String, String)>, StoreError> {
                bindings(self.conn().0, Hosting::Dhcp)
            }

            /// Every (object, agent) pair of a kind of hosting.
            pub async fn agent_bindings(&mut self, kind: Hosting) -> Result<Vec<(String, String)>, StoreError> {
                bindings(self.conn().0, kind)
            }
        }
    };
}

binding_reads!(Tx);
binding_reads!(Reader);

impl Tx {
    /// Makes `agent_id` host `network_id` (idempotent).
    pub async fn bind_dhcp(&mut self, network_id: &str, agent_id: &str) -> Result<bool, StoreError> {
        self.bind_agent(Hosting::Dhcp, network_id, agent_id).await
    }

    /// Stops `agent_id` hosting `network_id`. Returns whether it did.
    pub async fn unbind_dhcp(&mut self, network_id: &str, agent_id: &str) -> Result<bool, StoreError> {
        self.unbind_agent(Hosting::Dhcp, network_id, agent_id).await
    }

    /// Makes `agent_id` host `object_id` (idempotent); returns whether it is new.
    pub async fn bind_agent(&mut self, kind: Hosting, object_id: &str, agent_id: &str) -> Result<bool, StoreError> {
        let (table, object) = kind.table();
        let n = self
            .conn()
            .0
            .prepare_cached(&format!("INSERT INTO {table} ({object}, agent_id) VALUES (?, ?) ON CONFLICT DO NOTHING"))?
            .execute(params![object_id, agent_id])?;
        Ok(n == 1)
    }

    /// Stops `agent_id` hosting `object_id`. Returns whether it did.
    pub async fn unbind_agent(&mut self, kind: Hosting, object_id: &str, agent_id: &str) -> Result<bool, StoreError> {
        let (table, object) = kind.table();
        let n = self
            .conn()
            .0
            .prepare_cached(&format!("DELETE FROM {table} WHERE {object} = ? AND agent_id = ?"))?
            .execute(params![object_id, agent_id])?;
        Ok(n == 1)
    }
}

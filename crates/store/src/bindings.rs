//! Which agents host what: networks on DHCP agents, routers on L3 agents.

use crate::backend::{Reader, Tx};
use crate::conn::{t, Conn};
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

async fn bindings(mut conn: Conn<'_>, kind: Hosting) -> Result<Vec<(String, String)>, StoreError> {
    let (table, object) = kind.table();
    let rows = conn.rows(&format!("SELECT {object}, agent_id FROM {table} ORDER BY {object}, agent_id"), &[]).await?;
    rows.iter().map(|r| Ok((r.text(0)?, r.text(1)?))).collect()
}

macro_rules! binding_reads {
    ($ty:ty) => {
        impl $ty {
            /// Every (network, DHCP agent) hosting pair.
            pub async fn dhcp_bindings(&mut self) -> Result<Vec<(String, String)>, StoreError> {
                bindings(self.conn(), Hosting::Dhcp).await
            }

            /// Every (object, agent) pair of a kind of hosting.
            pub async fn agent_bindings(&mut self, kind: Hosting) -> Result<Vec<(String, String)>, StoreError> {
                bindings(self.conn(), kind).await
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
        let mut conn = self.conn();
        let sql = conn.dialect().insert_or_ignore(table, &[object, "agent_id"]);
        Ok(conn.execute(&sql, &[t(object_id), t(agent_id)]).await? == 1)
    }

    /// Stops `agent_id` hosting `object_id`. Returns whether it did.
    pub async fn unbind_agent(&mut self, kind: Hosting, object_id: &str, agent_id: &str) -> Result<bool, StoreError> {
        let (table, object) = kind.table();
        let sql = format!("DELETE FROM {table} WHERE {object} = ? AND agent_id = ?");
        Ok(self.conn().execute(&sql, &[t(object_id), t(agent_id)]).await? == 1)
    }
}

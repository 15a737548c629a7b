//! IP allocations: one row per (subnet, address), the key that makes a
//! duplicate address impossible whatever the concurrency.

use sqlx::Row;

use crate::backend::Tx;
use crate::error::StoreError;

/// One allocated address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// Subnet id.
    pub subnet_id: String,
    /// The address, canonical text.
    pub ip_address: String,
    /// Port holding it.
    pub port_id: String,
    /// The port's network.
    pub network_id: String,
}

impl Tx {
    /// Records an allocation; a taken address is a unique violation.
    pub async fn insert_allocation(&mut self, a: &Allocation) -> Result<(), StoreError> {
        let (conn, d) = self.conn();
        let text = format!(
            "INSERT INTO ipallocations (subnet_id, ip_address, port_id, network_id) VALUES ({}, {}, {}, {})",
            d.placeholder(1),
            d.placeholder(2),
            d.placeholder(3),
            d.placeholder(4)
        );
        sqlx::query(&text)
            .bind(a.subnet_id.as_str())
            .bind(a.ip_address.as_str())
            .bind(a.port_id.as_str())
            .bind(a.network_id.as_str())
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Records an allocation unless the address is taken; returns whether it
    /// was recorded. The transaction stays usable either way.
    pub async fn try_insert_allocation(&mut self, a: &Allocation) -> Result<bool, StoreError> {
        // SQLite undoes only the failed statement, so the transaction goes on.
        match self.insert_allocation(a).await {
            Ok(()) => Ok(true),
            Err(StoreError::UniqueViolation(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether `ip` is allocated in `subnet_id`.
    pub async fn is_allocated(&mut self, subnet_id: &str, ip: &str) -> Result<bool, StoreError> {
        let (conn, d) = self.conn();
        let text = format!(
            "SELECT 1 FROM ipallocations WHERE subnet_id = {} AND ip_address = {}",
            d.placeholder(1),
            d.placeholder(2)
        );
        Ok(sqlx::query(&text)
            .bind(subnet_id)
            .bind(ip)
            .fetch_optional(conn)
            .await?
            .is_some())
    }

    /// Every allocated address of a subnet (unsorted text).
    pub async fn allocated_addresses(&mut self, subnet_id: &str) -> Result<Vec<String>, StoreError> {
        let (conn, d) = self.conn();
        let text = format!(
            "SELECT ip_address FROM ipallocations WHERE subnet_id = {}",
            d.placeholder(1)
        );
        let rows = sqlx::query(&text).bind(subnet_id).fetch_all(conn).await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(StoreError::from))
            .collect()
    }

    /// Allocations of a subnet with the owning port's device_owner.
    pub async fn allocations_in_subnet(
        &mut self,
        subnet_id: &str,
    ) -> Result<Vec<(Allocation, String)>, StoreError> {
        let (conn, d) = self.conn();
        let text = format!(
            "SELECT a.subnet_id, a.ip_address, a.port_id, a.network_id, p.device_owner \
             FROM ipallocations a JOIN ports p ON p.id = a.port_id WHERE a.subnet_id = {} ORDER BY a.port_id",
            d.placeholder(1)
        );
        let rows = sqlx::query(&text).bind(subnet_id).fetch_all(conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push((
                Allocation {
                    subnet_id: r.try_get(0)?,
                    ip_address: r.try_get(1)?,
                    port_id: r.try_get(2)?,
                    network_id: r.try_get(3)?,
                },
                r.try_get(4)?,
            ));
        }
        Ok(out)
    }

    /// Releases one address of a port.
    pub async fn delete_allocation(&mut self, subnet_id: &str, ip: &str) -> Result<(), StoreError> {
        let (conn, d) = self.conn();
        let text = format!(
            "DELETE FROM ipallocations WHERE subnet_id = {} AND ip_address = {}",
            d.placeholder(1),
            d.placeholder(2)
        );
        sqlx::query(&text).bind(subnet_id).bind(ip).execute(conn).await?;
        Ok(())
    }

    /// Releases every address of a port.
    pub async fn delete_port_allocations(&mut self, port_id: &str) -> Result<(), StoreError> {
        let (conn, d) = self.conn();
        let text = format!("DELETE FROM ipallocations WHERE port_id = {}", d.placeholder(1));
        sqlx::query(&text).bind(port_id).execute(conn).await?;
        Ok(())
    }
}

//! IP allocations: one row per (subnet, address), the key that makes a
//! duplicate address impossible whatever the concurrency.

use crate::backend::Tx;
use crate::conn::t;
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
        self.conn()
            .guarded(
                "INSERT INTO ipallocations (subnet_id, ip_address, port_id, network_id) VALUES (?, ?, ?, ?)",
                &[t(&a.subnet_id), t(&a.ip_address), t(&a.port_id), t(&a.network_id)],
            )
            .await?;
        Ok(())
    }

    /// Records an allocation unless the address is taken; returns whether it
    /// was recorded. The transaction stays usable either way.
    pub async fn try_insert_allocation(&mut self, a: &Allocation) -> Result<bool, StoreError> {
        // The failed statement alone is undone (a savepoint on PostgreSQL).
        match self.insert_allocation(a).await {
            Ok(()) => Ok(true),
            Err(StoreError::UniqueViolation(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether `ip` is allocated in `subnet_id`.
    pub async fn is_allocated(&mut self, subnet_id: &str, ip: &str) -> Result<bool, StoreError> {
        let sql = "SELECT 1 FROM ipallocations WHERE subnet_id = ? AND ip_address = ?";
        Ok(self.conn().row(sql, &[t(subnet_id), t(ip)]).await?.is_some())
    }

    /// Every allocated address of a subnet (unsorted text).
    pub async fn allocated_addresses(&mut self, subnet_id: &str) -> Result<Vec<String>, StoreError> {
        self.conn().texts("SELECT ip_address FROM ipallocations WHERE subnet_id = ?", &[t(subnet_id)]).await
    }

    /// Allocations of a subnet with the owning port's device_owner.
    pub async fn allocations_in_subnet(&mut self, subnet_id: &str) -> Result<Vec<(Allocation, String)>, StoreError> {
        let rows = self
            .conn()
            .rows(
                "SELECT a.subnet_id, a.ip_address, a.port_id, a.network_id, p.device_owner \
                 FROM ipallocations a JOIN ports p ON p.id = a.port_id WHERE a.subnet_id = ? ORDER BY a.port_id",
                &[t(subnet_id)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let a = Allocation {
                    subnet_id: r.text(0)?,
                    ip_address: r.text(1)?,
                    port_id: r.text(2)?,
                    network_id: r.text(3)?,
                };
                Ok((a, r.text(4)?))
            })
            .collect()
    }

    /// Releases one address of a port.
    pub async fn delete_allocation(&mut self, subnet_id: &str, ip: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM ipallocations WHERE subnet_id = ? AND ip_address = ?", &[t(subnet_id), t(ip)])
            .await?;
        Ok(())
    }

    /// Releases every address of a port.
    pub async fn delete_port_allocations(&mut self, port_id: &str) -> Result<(), StoreError> {
        self.conn().execute("DELETE FROM ipallocations WHERE port_id = ?", &[t(port_id)]).await?;
        Ok(())
    }
}

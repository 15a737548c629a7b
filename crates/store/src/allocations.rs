//! IP allocations: one row per (subnet, address), the key that makes a
//! duplicate address impossible whatever the concurrency.

use rusqlite::{params, OptionalExtension};

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
        let (conn, _) = self.conn();
        conn.prepare_cached(
            "INSERT INTO ipallocations (subnet_id, ip_address, port_id, network_id) VALUES (?, ?, ?, ?)",
        )?
        .execute(params![a.subnet_id, a.ip_address, a.port_id, a.network_id])?;
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
        let (conn, _) = self.conn();
        Ok(conn
            .prepare_cached("SELECT 1 FROM ipallocations WHERE subnet_id = ? AND ip_address = ?")?
            .query_row(params![subnet_id, ip], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Every allocated address of a subnet (unsorted text).
    pub async fn allocated_addresses(&mut self, subnet_id: &str) -> Result<Vec<String>, StoreError> {
        let (conn, _) = self.conn();
        let mut stmt = conn.prepare_cached("SELECT ip_address FROM ipallocations WHERE subnet_id = ?")?;
        let rows = stmt.query_map(params![subnet_id], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r?);
        }
        Ok(out)
    }

    /// Allocations of a subnet with the owning port's device_owner.
    pub async fn allocations_in_subnet(&mut self, subnet_id: &str) -> Result<Vec<(Allocation, String)>, StoreError> {
        let (conn, _) = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT a.subnet_id, a.ip_address, a.port_id, a.network_id, p.device_owner \
             FROM ipallocations a JOIN ports p ON p.id = a.port_id WHERE a.subnet_id = ? ORDER BY a.port_id",
        )?;
        let rows = stmt.query_map(params![subnet_id], |r| {
            Ok((
                Allocation { subnet_id: r.get(0)?, ip_address: r.get(1)?, port_id: r.get(2)?, network_id: r.get(3)? },
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r?);
        }
        Ok(out)
    }

    /// Releases one address of a port.
    pub async fn delete_allocation(&mut self, subnet_id: &str, ip: &str) -> Result<(), StoreError> {
        let (conn, _) = self.conn();
        conn.prepare_cached("DELETE FROM ipallocations WHERE subnet_id = ? AND ip_address = ?")?
            .execute(params![subnet_id, ip])?;
        Ok(())
    }

    /// Releases every address of a port.
    pub async fn delete_port_allocations(&mut self, port_id: &str) -> Result<(), StoreError> {
        let (conn, _) = self.conn();
        conn.prepare_cached("DELETE FROM ipallocations WHERE port_id = ?")?.execute(params![port_id])?;
        Ok(())
    }
}

//! Network segments and the allocation of segmentation ids.

use rusqlite::params;

use crate::backend::Tx;
use crate::error::StoreError;

/// A segment of a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRow {
    /// Segment id.
    pub id: String,
    /// Network id.
    pub network_id: String,
    /// `local`, `flat`, `vlan`, `vxlan`, `gre`.
    pub network_type: String,
    /// Physical network for flat/vlan.
    pub physical_network: Option<String>,
    /// VLAN id / VNI / GRE key.
    pub segmentation_id: Option<i64>,
    /// Order within the network.
    pub segment_index: i64,
}

/// A reserved segmentation id (or a flat physical network, id 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentAllocation {
    /// Type.
    pub network_type: String,
    /// Physical network, '' for tunnels.
    pub physical_network: String,
    /// The id.
    pub segmentation_id: i64,
    /// Holder.
    pub network_id: String,
}

impl Tx {
    /// Records a segment.
    pub async fn insert_segment(&mut self, s: &SegmentRow) -> Result<(), StoreError> {
        let (conn, _) = self.conn();
        conn.prepare_cached(
            "INSERT INTO network_segments (id, network_id, network_type, physical_network, segmentation_id, segment_index) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )?
        .execute(params![s.id, s.network_id, s.network_type, s.physical_network, s.segmentation_id, s.segment_index])?;
        Ok(())
    }

    /// Segments of a network in order.
    pub async fn segments_of(&mut self, network_id: &str) -> Result<Vec<SegmentRow>, StoreError> {
        let (conn, _) = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, network_id, network_type, physical_network, segmentation_id, segment_index \
             FROM network_segments WHERE network_id = ? ORDER BY segment_index",
        )?;
        let rows = stmt.query_map(params![network_id], |r| {
            Ok(SegmentRow {
                id: r.get(0)?,
                network_id: r.get(1)?,
                network_type: r.get(2)?,
                physical_network: r.get(3)?,
                segmentation_id: r.get(4)?,
                segment_index: r.get(5)?,
            })
        })?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r?);
        }
        Ok(out)
    }

    /// Reserves a segmentation id; taken → unique violation.
    pub async fn allocate_segment(&mut self, a: &SegmentAllocation) -> Result<(), StoreError> {
        let (conn, _) = self.conn();
        conn.prepare_cached(
            "INSERT INTO segment_allocations (network_type, physical_network, segmentation_id, network_id) VALUES (?, ?, ?, ?)",
        )?
        .execute(params![a.network_type, a.physical_network, a.segmentation_id, a.network_id])?;
        Ok(())
    }

    /// Reserved ids of a type and physical network within `[min, max]`, ascending.
    pub async fn allocated_segment_ids(
        &mut self,
        network_type: &str,
        physical_network: &str,
        min: i64,
        max: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let (conn, _) = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT segmentation_id FROM segment_allocations WHERE network_type = ? AND physical_network = ? \
             AND segmentation_id >= ? AND segmentation_id <= ? ORDER BY segmentation_id",
        )?;
        let rows = stmt.query_map(params![network_type, physical_network, min, max], |r| r.get::<_, i64>(0))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r?);
        }
        Ok(out)
    }
}

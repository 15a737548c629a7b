//! Network segments and the allocation of segmentation ids.

use crate::backend::Tx;
use crate::conn::{oi, ot, t};
use crate::error::StoreError;
use crate::query::SqlValue;

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
        let sql = "INSERT INTO network_segments \
                   (id, network_id, network_type, physical_network, segmentation_id, segment_index) \
                   VALUES (?, ?, ?, ?, ?, ?)";
        let args = [
            t(&s.id),
            t(&s.network_id),
            t(&s.network_type),
            ot(s.physical_network.as_deref()),
            oi(s.segmentation_id),
            SqlValue::Int(s.segment_index),
        ];
        self.conn().guarded(sql, &args).await?;
        Ok(())
    }

    /// Segments of a network in order.
    pub async fn segments_of(&mut self, network_id: &str) -> Result<Vec<SegmentRow>, StoreError> {
        let sql = "SELECT id, network_id, network_type, physical_network, segmentation_id, segment_index \
                   FROM network_segments WHERE network_id = ? ORDER BY segment_index";
        let rows = self.conn().rows(sql, &[t(network_id)]).await?;
        rows.iter()
            .map(|r| {
                Ok(SegmentRow {
                    id: r.text(0)?,
                    network_id: r.text(1)?,
                    network_type: r.text(2)?,
                    physical_network: r.opt_text(3)?,
                    segmentation_id: r.opt_int(4)?,
                    segment_index: r.int(5)?,
                })
            })
            .collect()
    }

    /// Reserves a segmentation id; taken → unique violation.
    pub async fn allocate_segment(&mut self, a: &SegmentAllocation) -> Result<(), StoreError> {
        let sql = "INSERT INTO segment_allocations (network_type, physical_network, segmentation_id, network_id) \
                   VALUES (?, ?, ?, ?)";
        let args = [t(&a.network_type), t(&a.physical_network), SqlValue::Int(a.segmentation_id), t(&a.network_id)];
        self.conn().guarded(sql, &args).await?;
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
        let sql = "SELECT segmentation_id FROM segment_allocations WHERE network_type = ? AND physical_network = ? \
                   AND segmentation_id >= ? AND segmentation_id <= ? ORDER BY segmentation_id";
        let args = [t(network_type), t(physical_network), SqlValue::Int(min), SqlValue::Int(max)];
        let rows = self.conn().rows(sql, &args).await?;
        rows.iter().map(|r| r.int(0)).collect()
    }
}

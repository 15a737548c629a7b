//! Network segments and the allocation of segmentation ids.

use sqlx::Row;

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
        let (conn, d) = self.conn();
        let ph: Vec<String> = (1..=6).map(|i| d.placeholder(i)).collect();
        let text = format!(
            "INSERT INTO network_segments (id, network_id, network_type, physical_network, segmentation_id, segment_index) \
             VALUES ({})",
            ph.join(", ")
        );
        sqlx::query(&text)
            .bind(s.id.as_str())
            .bind(s.network_id.as_str())
            .bind(s.network_type.as_str())
            .bind(s.physical_network.as_deref())
            .bind(s.segmentation_id)
            .bind(s.segment_index)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Segments of a network in order.
    pub async fn segments_of(&mut self, network_id: &str) -> Result<Vec<SegmentRow>, StoreError> {
        let (conn, d) = self.conn();
        let text = format!(
            "SELECT id, network_id, network_type, physical_network, segmentation_id, segment_index \
             FROM network_segments WHERE network_id = {} ORDER BY segment_index",
            d.placeholder(1)
        );
        let rows = sqlx::query(&text).bind(network_id).fetch_all(conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(SegmentRow {
                id: r.try_get(0)?,
                network_id: r.try_get(1)?,
                network_type: r.try_get(2)?,
                physical_network: r.try_get(3)?,
                segmentation_id: r.try_get(4)?,
                segment_index: r.try_get(5)?,
            });
        }
        Ok(out)
    }

    /// Reserves a segmentation id; taken → unique violation.
    pub async fn allocate_segment(&mut self, a: &SegmentAllocation) -> Result<(), StoreError> {
        let (conn, d) = self.conn();
        let text = format!(
            "INSERT INTO segment_allocations (network_type, physical_network, segmentation_id, network_id) \
             VALUES ({}, {}, {}, {})",
            d.placeholder(1),
            d.placeholder(2),
            d.placeholder(3),
            d.placeholder(4)
        );
        sqlx::query(&text)
            .bind(a.network_type.as_str())
            .bind(a.physical_network.as_str())
            .bind(a.segmentation_id)
            .bind(a.network_id.as_str())
            .execute(conn)
            .await?;
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
        let (conn, d) = self.conn();
        let text = format!(
            "SELECT segmentation_id FROM segment_allocations WHERE network_type = {} AND physical_network = {} \
             AND segmentation_id >= {} AND segmentation_id <= {} ORDER BY segmentation_id",
            d.placeholder(1),
            d.placeholder(2),
            d.placeholder(3),
            d.placeholder(4)
        );
        let rows = sqlx::query(&text)
            .bind(network_type)
            .bind(physical_network)
            .bind(min)
            .bind(max)
            .fetch_all(conn)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>(0).map_err(StoreError::from))
            .collect()
    }
}

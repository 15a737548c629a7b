//! Type drivers: which segments exist and how tenant networks get one.
//!
//! Allocation is "first free id in the configured ranges": the ids in use are
//! read in order and the first gap is taken; the reservation is a row whose
//! primary key makes a concurrent double allocation fail (and be retried)
//! instead of succeeding twice.

use std::collections::BTreeMap;

use neutrino_config::Config;
use neutrino_store::{SegmentAllocation, StoreError, Tx};

use crate::error::{PluginError, PluginResult};
use crate::settings::Settings;

/// A network type with its driver's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkType {
    /// Host-local network, no segmentation.
    Local,
    /// Untagged on a physical network; `None` in the list means `*`.
    Flat {
        /// Allowed physical networks; empty with `any` set = all.
        physnets: Vec<String>,
        /// `flat_networks = *`.
        any: bool,
    },
    /// 802.1q on a physical network.
    Vlan {
        /// physnet → tenant ranges (empty: provider networks only).
        ranges: BTreeMap<String, Vec<(u32, u32)>>,
    },
    /// VXLAN VNIs.
    Vxlan {
        /// Tenant VNI ranges.
        ranges: Vec<(u32, u32)>,
    },
    /// GRE keys.
    Gre {
        /// Tenant key ranges.
        ranges: Vec<(u32, u32)>,
    },
}

impl NetworkType {
    /// The `provider:network_type` name.
    pub fn name(&self) -> &'static str {
        match self {
            NetworkType::Local => "local",
            NetworkType::Flat { .. } => "flat",
            NetworkType::Vlan { .. } => "vlan",
            NetworkType::Vxlan { .. } => "vxlan",
            NetworkType::Gre { .. } => "gre",
        }
    }

    fn id_bounds(&self) -> (u32, u32) {
        match self {
            NetworkType::Vlan { .. } => (1, 4094),
            NetworkType::Vxlan { .. } => (1, 16_777_215),
            NetworkType::Gre { .. } => (1, u32::MAX),
            NetworkType::Local | NetworkType::Flat { .. } => (0, 0),
        }
    }
}

/// The provider attributes of a create request (or none of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentRequest {
    /// `provider:network_type`.
    pub network_type: Option<String>,
    /// `provider:physical_network`.
    pub physical_network: Option<String>,
    /// `provider:segmentation_id`.
    pub segmentation_id: Option<u32>,
}

impl SegmentRequest {
    /// True when no provider attribute was given.
    pub fn is_empty(&self) -> bool {
        self.network_type.is_none() && self.physical_network.is_none() && self.segmentation_id.is_none()
    }
}

/// A segment decided for a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Type name.
    pub network_type: &'static str,
    /// Physical network (flat/vlan).
    pub physical_network: Option<String>,
    /// VLAN id / VNI / key.
    pub segmentation_id: Option<u32>,
    /// The MTU of this segment.
    pub mtu: u32,
}

/// The configured type drivers and tenant network types.
#[derive(Debug, Clone)]
pub struct TypeManager {
    drivers: BTreeMap<&'static str, NetworkType>,
    tenant_types: Vec<&'static str>,
    settings: MtuSettings,
}

#[derive(Debug, Clone)]
struct MtuSettings {
    global: u32,
    path: u32,
    physnets: Vec<(String, u32)>,
    overlay_ip_version: u8,
}

const VXLAN_OVERHEAD: u32 = 30;
const GRE_OVERHEAD: u32 = 22;
const IPV4_HEADER: u32 = 20;
const IPV6_HEADER: u32 = 40;

fn bad(msg: impl Into<String>) -> PluginError {
    PluginError::InvalidInput(msg.into())
}

impl TypeManager {
    /// Builds the drivers named in `[ml2] type_drivers` from their sections.
    pub fn from_config(cfg: &Config, settings: &Settings) -> Result<TypeManager, String> {
        let mut drivers = BTreeMap::new();
        for name in &cfg.ml2.type_drivers {
            let driver = match name.as_str() {
                "local" => NetworkType::Local,
                "flat" => {
                    let list = &cfg.ml2_type_flat.flat_networks;
                    NetworkType::Flat {
                        any: list.iter().any(|p| p == "*"),
                        physnets: list.iter().filter(|p| *p != "*").cloned().collect(),
                    }
                }
                "vlan" => {
                    let mut ranges: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
                    for r in &cfg.ml2_type_vlan.network_vlan_ranges {
                        let entry = ranges.entry(r.physical_network.clone()).or_default();
                        if let Some((lo, hi)) = r.range {
                            entry.push((u32::from(lo), u32::from(hi)));
                        }
                    }
                    NetworkType::Vlan { ranges }
                }
                "vxlan" => NetworkType::Vxlan { ranges: cfg.ml2_type_vxlan.vni_ranges.clone() },
                "gre" => NetworkType::Gre { ranges: cfg.ml2_type_gre.tunnel_id_ranges.clone() },
                // Drivers not built (geneve) were warned about by the config loader.
                _ => continue,
            };
            drivers.insert(driver.name(), driver);
        }
        let mut tenant_types = Vec::new();
        for t in &cfg.ml2.tenant_network_types {
            match drivers.get(t.as_str()) {
                Some(d) => tenant_types.push(d.name()),
                None => return Err(format!("tenant network type '{t}' has no loaded type driver")),
            }
        }
        Ok(TypeManager {
            drivers,
            tenant_types,
            settings: MtuSettings {
                global: settings.global_physnet_mtu,
                path: settings.path_mtu,
                physnets: settings.physical_network_mtus.clone(),
                overlay_ip_version: settings.overlay_ip_version,
            },
        })
    }

    /// Loaded type names.
    pub fn loaded(&self) -> Vec<&'static str> {
        self.drivers.keys().copied().collect()
    }

    /// The MTU of a segment, as Neutron computes it.
    pub fn segment_mtu(&self, network_type: &str, physnet: Option<&str>) -> u32 {
        let s = &self.settings;
        match network_type {
            "vxlan" | "gre" => {
                let base = [s.global, s.path].into_iter().filter(|m| *m > 0).min().unwrap_or(0);
                let ip = if s.overlay_ip_version == 6 { IPV6_HEADER } else { IPV4_HEADER };
                let encap = if network_type == "vxlan" { VXLAN_OVERHEAD } else { GRE_OVERHEAD };
                base.saturating_sub(encap + ip)
            }
            "flat" | "vlan" => {
                let phys = physnet.and_then(|p| s.physnets.iter().find(|(n, _)| n == p).map(|(_, m)| *m));
                [Some(s.global), phys].into_iter().flatten().filter(|m| *m > 0).min().unwrap_or(0)
            }
            _ => s.global,
        }
    }

    /// Validates provider attributes (without reserving anything).
    pub fn validate_provider(&self, req: &SegmentRequest) -> PluginResult<&NetworkType> {
        let Some(type_name) = req.network_type.as_deref() else {
            return Err(bad("provider:network_type required"));
        };
        let driver = self
            .drivers
            .get(type_name)
            .ok_or_else(|| bad(format!("network_type value '{type_name}' not supported")))?;
        match driver {
            NetworkType::Local => {
                if req.physical_network.is_some() {
                    return Err(bad("provider:physical_network prohibited for local provider network"));
                }
                if req.segmentation_id.is_some() {
                    return Err(bad("provider:segmentation_id prohibited for local provider network"));
                }
            }
            NetworkType::Flat { physnets, any } => {
                let Some(p) = req.physical_network.as_deref() else {
                    return Err(bad("physical_network required for flat provider network"));
                };
                if req.segmentation_id.is_some() {
                    return Err(bad("provider:segmentation_id prohibited for flat provider network"));
                }
                if !*any && !physnets.iter().any(|n| n == p) {
                    return Err(bad(format!("physical_network '{p}' unknown for flat provider network")));
                }
            }
            NetworkType::Vlan { ranges } => {
                if let Some(p) = req.physical_network.as_deref() {
                    if !ranges.contains_key(p) {
                        return Err(bad(format!("physical_network '{p}' unknown for VLAN provider network")));
                    }
                } else if req.segmentation_id.is_some() {
                    return Err(bad("segmentation_id requires physical_network for VLAN provider network"));
                }
                if let Some(id) = req.segmentation_id {
                    if !(1..=4094).contains(&id) {
                        return Err(bad("segmentation_id out of range (1 through 4094)"));
                    }
                }
            }
            NetworkType::Vxlan { .. } | NetworkType::Gre { .. } => {
                if req.physical_network.is_some() {
                    return Err(bad(format!("provider:physical_network specified for {type_name} network")));
                }
                if let Some(id) = req.segmentation_id {
                    let (lo, hi) = driver.id_bounds();
                    if id < lo || id > hi {
                        return Err(bad(format!(
                            "{type_name} segmentation_id {id} is out of range ({lo} through {hi})"
                        )));
                    }
                }
            }
        }
        Ok(driver)
    }

    /// Reserves the segment of a new network: the provider request when
    /// given, else a tenant segment of the first tenant type with room.
    pub async fn reserve(&self, tx: &mut Tx, network_id: &str, req: &SegmentRequest) -> PluginResult<Segment> {
        if !req.is_empty() {
            let driver = self.validate_provider(req)?.clone();
            return self.reserve_provider(tx, network_id, &driver, req).await;
        }
        for t in &self.tenant_types {
            let Some(driver) = self.drivers.get(t) else { continue };
            if let Some(seg) = self.reserve_tenant(tx, network_id, driver).await? {
                return Ok(seg);
            }
        }
        if self.tenant_types.is_empty() {
            // Neutron falls back to a local network when no tenant type is set.
            return Ok(Segment {
                network_type: "local",
                physical_network: None,
                segmentation_id: None,
                mtu: self.settings.global,
            });
        }
        Err(PluginError::NoNetworkAvailable)
    }

    async fn reserve_provider(
        &self,
        tx: &mut Tx,
        network_id: &str,
        driver: &NetworkType,
        req: &SegmentRequest,
    ) -> PluginResult<Segment> {
        let name = driver.name();
        match driver {
            NetworkType::Local => Ok(self.segment(name, None, None)),
            NetworkType::Flat { .. } => {
                let physnet = req.physical_network.clone().unwrap_or_default();
                let row = SegmentAllocation {
                    network_type: name.into(),
                    physical_network: physnet.clone(),
                    segmentation_id: 0,
                    network_id: network_id.into(),
                };
                take(tx, &row, || PluginError::FlatNetworkInUse(physnet.clone())).await?;
                Ok(self.segment(name, Some(physnet), None))
            }
            NetworkType::Vlan { ranges } => {
                let (physnet, id) = match (&req.physical_network, req.segmentation_id) {
                    (Some(p), Some(id)) => (p.clone(), id),
                    (Some(p), None) => {
                        let r = ranges.get(p).cloned().unwrap_or_default();
                        match first_free(tx, name, p, &r).await? {
                            Some(id) => (p.clone(), id),
                            None => return Err(PluginError::NoNetworkAvailable),
                        }
                    }
                    (None, _) => {
                        // Any physical network with tenant ranges.
                        let mut found = None;
                        for (p, r) in ranges {
                            if let Some(id) = first_free(tx, name, p, r).await? {
                                found = Some((p.clone(), id));
                                break;
                            }
                        }
                        found.ok_or(PluginError::NoNetworkAvailable)?
                    }
                };
                let row = SegmentAllocation {
                    network_type: name.into(),
                    physical_network: physnet.clone(),
                    segmentation_id: i64::from(id),
                    network_id: network_id.into(),
                };
                take(tx, &row, || PluginError::VlanIdInUse { vlan_id: id, physical_network: physnet.clone() }).await?;
                Ok(self.segment(name, Some(physnet), Some(id)))
            }
            NetworkType::Vxlan { ranges } | NetworkType::Gre { ranges } => {
                let id = match req.segmentation_id {
                    Some(id) => id,
                    None => first_free(tx, name, "", ranges).await?.ok_or(PluginError::NoNetworkAvailable)?,
                };
                let row = SegmentAllocation {
                    network_type: name.into(),
                    physical_network: String::new(),
                    segmentation_id: i64::from(id),
                    network_id: network_id.into(),
                };
                take(tx, &row, || PluginError::TunnelIdInUse(id)).await?;
                Ok(self.segment(name, None, Some(id)))
            }
        }
    }

    async fn reserve_tenant(
        &self,
        tx: &mut Tx,
        network_id: &str,
        driver: &NetworkType,
    ) -> PluginResult<Option<Segment>> {
        let name = driver.name();
        match driver {
            NetworkType::Local => Ok(Some(self.segment(name, None, None))),
            // Flat networks are never allocated to tenants.
            NetworkType::Flat { .. } => Ok(None),
            NetworkType::Vlan { ranges } => {
                for (p, r) in ranges {
                    if let Some(id) = first_free(tx, name, p, r).await? {
                        let row = SegmentAllocation {
                            network_type: name.into(),
                            physical_network: p.clone(),
                            segmentation_id: i64::from(id),
                            network_id: network_id.into(),
                        };
                        take(tx, &row, || PluginError::VlanIdInUse { vlan_id: id, physical_network: p.clone() })
                            .await?;
                        return Ok(Some(self.segment(name, Some(p.clone()), Some(id))));
                    }
                }
                Ok(None)
            }
            NetworkType::Vxlan { ranges } | NetworkType::Gre { ranges } => {
                let Some(id) = first_free(tx, name, "", ranges).await? else {
                    return Ok(None);
                };
                let row = SegmentAllocation {
                    network_type: name.into(),
                    physical_network: String::new(),
                    segmentation_id: i64::from(id),
                    network_id: network_id.into(),
                };
                take(tx, &row, || PluginError::TunnelIdInUse(id)).await?;
                Ok(Some(self.segment(name, None, Some(id))))
            }
        }
    }

    fn segment(&self, network_type: &'static str, physnet: Option<String>, id: Option<u32>) -> Segment {
        let mtu = self.segment_mtu(network_type, physnet.as_deref());
        Segment { network_type, physical_network: physnet, segmentation_id: id, mtu }
    }
}

async fn take(tx: &mut Tx, row: &SegmentAllocation, on_taken: impl FnOnce() -> PluginError) -> PluginResult<()> {
    match tx.allocate_segment(row).await {
        Ok(()) => Ok(()),
        Err(StoreError::UniqueViolation(_)) => Err(on_taken()),
        Err(e) => Err(e.into()),
    }
}

/// The first id of `ranges` not reserved for (type, physnet).
async fn first_free(
    tx: &mut Tx,
    network_type: &str,
    physnet: &str,
    ranges: &[(u32, u32)],
) -> PluginResult<Option<u32>> {
    for &(lo, hi) in ranges {
        let used = tx.allocated_segment_ids(network_type, physnet, i64::from(lo), i64::from(hi)).await?;
        if let Some(id) = first_gap(lo, hi, &used) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// The smallest id in `[lo, hi]` not in the ascending list `used`.
pub fn first_gap(lo: u32, hi: u32, used: &[i64]) -> Option<u32> {
    let mut want = i64::from(lo);
    for &u in used {
        if u < want {
            continue;
        }
        if u > want {
            break;
        }
        want += 1;
    }
    if want <= i64::from(hi) {
        u32::try_from(want).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_gap_finds_holes_and_exhaustion() {
        assert_eq!(first_gap(1, 10, &[]), Some(1));
        assert_eq!(first_gap(1, 10, &[1, 2, 4]), Some(3));
        assert_eq!(first_gap(5, 7, &[5, 6, 7]), None);
        assert_eq!(first_gap(5, 7, &[1, 2, 5, 7]), Some(6));
        assert_eq!(first_gap(u32::MAX - 1, u32::MAX, &[i64::from(u32::MAX) - 1]), Some(u32::MAX));
    }
}

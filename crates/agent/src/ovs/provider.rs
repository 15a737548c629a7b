//! Provider networks (flat and VLAN) through `bridge_mappings`, as
//! Neutron's agent carries them: `br-int` and each provider bridge are
//! joined by the patch ports `int-<bridge>`/`phy-<bridge>`, and a network's
//! local VLAN on `br-int` becomes its provider VLAN (or no tag, for a flat
//! network) on the way out of the provider bridge, and the other way round
//! on the way into `br-int`. Frames of any other VLAN are dropped at the
//! patch ports, so networks of other types (tunnelled ones, whose local
//! VLANs also reach the patch through `br-int`'s NORMAL switching) never
//! leak onto the physical network, nor do unknown provider VLANs onto
//! `br-int`.

use std::collections::BTreeMap;

use super::flows::Flow;

/// A provider network on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderNetwork {
    /// The provider bridge its physical network maps to.
    pub bridge: String,
    /// Its local VLAN on `br-int`.
    pub local_vlan: u16,
    /// Its provider VLAN id; `None` for a flat network (untagged).
    pub vlan: Option<u16>,
}

/// `br-int`'s patch port towards provider `bridge`.
pub fn int_patch(bridge: &str) -> String {
    format!("int-{bridge}")
}

/// Provider `bridge`'s patch port towards `br-int`.
pub fn phy_patch(bridge: &str) -> String {
    format!("phy-{bridge}")
}

/// Matches untagged frames (no 802.1Q header).
const UNTAGGED: &str = "vlan_tci=0x0000/0x1fff";

/// `br-int`'s table 0: frames from a provider bridge take their network's
/// local VLAN (others are dropped at the patch), then `next` — `NORMAL`
/// switching, or the firewall's first table.
pub fn integration_flows(bridges: &[&str], networks: &[ProviderNetwork], next: &str) -> Vec<Flow> {
    let mut f = vec![Flow::new(0, 0, "", next)];
    for b in bridges {
        f.push(Flow::new(0, 2, &format!("in_port={}", int_patch(b)), "drop"));
    }
    for n in networks {
        let from = match n.vlan {
            Some(vid) => format!("in_port={},dl_vlan={vid}", int_patch(&n.bridge)),
            None => format!("in_port={},{UNTAGGED}", int_patch(&n.bridge)),
        };
        f.push(Flow::new(0, 3, &from, &format!("mod_vlan_vid:{},{next}", n.local_vlan)));
    }
    f
}

/// The tables of each provider bridge in `bridges`: frames from `br-int`
/// leave with their network's provider VLAN (or untagged); frames from the
/// physical side are switched normally (the patch's drop on `br-int`
/// filters them).
pub fn provider_flows(bridges: &[&str], networks: &[ProviderNetwork]) -> BTreeMap<String, Vec<Flow>> {
    let mut tables: BTreeMap<String, Vec<Flow>> = bridges
        .iter()
        .map(|b| {
            let base =
                vec![Flow::new(0, 0, "", "NORMAL"), Flow::new(0, 2, &format!("in_port={}", phy_patch(b)), "drop")];
            (b.to_string(), base)
        })
        .collect();
    for n in networks {
        let Some(table) = tables.get_mut(&n.bridge) else { continue };
        let out = match n.vlan {
            Some(vid) => format!("mod_vlan_vid:{vid},NORMAL"),
            None => "strip_vlan,NORMAL".to_string(),
        };
        let from = format!("in_port={},dl_vlan={}", phy_patch(&n.bridge), n.local_vlan);
        table.push(Flow::new(0, 4, &from, &out));
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlan_and_flat_networks_translate_between_local_and_provider_tags() {
        let nets = [
            ProviderNetwork { bridge: "br-phys".into(), local_vlan: 1, vlan: Some(100) },
            ProviderNetwork { bridge: "br-phys".into(), local_vlan: 2, vlan: None },
        ];
        let int = integration_flows(&["br-phys", "br-ex"], &nets, "NORMAL");
        let has = |f: &[Flow], p: u16, m: &str, a: &str| {
            f.iter().any(|x| x.priority == p && x.matches == m && x.actions == a)
        };
        assert!(has(&int, 3, "in_port=int-br-phys,dl_vlan=100", "mod_vlan_vid:1,NORMAL"));
        assert!(has(&int, 3, "in_port=int-br-phys,vlan_tci=0x0000/0x1fff", "mod_vlan_vid:2,NORMAL"));
        assert!(has(&int, 2, "in_port=int-br-phys", "drop"));
        assert!(has(&int, 2, "in_port=int-br-ex", "drop"), "a bridge without networks lets nothing in");
        let phys = provider_flows(&["br-phys", "br-ex"], &nets);
        let p = &phys["br-phys"];
        assert!(has(p, 4, "in_port=phy-br-phys,dl_vlan=1", "mod_vlan_vid:100,NORMAL"));
        assert!(has(p, 4, "in_port=phy-br-phys,dl_vlan=2", "strip_vlan,NORMAL"));
        assert!(has(p, 2, "in_port=phy-br-phys", "drop"));
        assert_eq!(phys["br-ex"].len(), 2, "only NORMAL and the patch's drop");
    }
}

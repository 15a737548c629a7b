//! The instances' ports on the integration bridge: each tagged with its
//! network's local VLAN (`tag`, as Neutron's agent does), and marked as
//! Neutron marks them — `external_ids` `iface-id` (the port's id),
//! `attached-mac`, `iface-status`, and `other_config` `net_uuid`,
//! `network_type`, `physical_network`, `segmentation_id`, `tag` — so a
//! restarted agent finds each network's local VLAN again and no port's tag
//! changes under its traffic.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::ovsdb::{map, Ovsdb, OvsdbError};
use super::rows::{bridge_ports_and_others, bridge_ports_mutation, insert_port};

/// Highest local VLAN id (4095 is reserved; Neutron's dead VLAN).
pub const MAX_VLAN: u16 = 4094;

/// A port the integration bridge should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedPort {
    /// The device (`tap…`), also the OVS port and interface name.
    pub device: String,
    /// The Neutron port id.
    pub port_id: String,
    /// Its MAC address.
    pub mac: String,
    /// Its network.
    pub network_id: String,
    /// The network's segment: type, physical network, segmentation id.
    pub network_type: String,
    /// Physical network, if any.
    pub physical_network: Option<String>,
    /// Segmentation id, if any.
    pub segmentation_id: Option<u32>,
}

/// A port of the bridge as OVSDB holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualPort {
    /// Port row UUID.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Its `tag`.
    pub tag: Option<u16>,
    /// `other_config` `net_uuid`.
    pub net_uuid: Option<String>,
    /// Its interface's `external_ids` `iface-id` (set on ports the agent plugged).
    pub iface_id: Option<String>,
}

/// The bridge's row UUID and ports.
pub async fn read(db: &mut Ovsdb, bridge: &str) -> Result<(String, Vec<ActualPort>), OvsdbError> {
    read_with_others(db, bridge).await.map(|(uuid, ports, _)| (uuid, ports))
}

/// [`read`], and the names of the ports on other bridges.
pub async fn read_with_others(
    db: &mut Ovsdb,
    bridge: &str,
) -> Result<(String, Vec<ActualPort>, BTreeSet<String>), OvsdbError> {
    let (bridge_uuid, rows, others) = bridge_ports_and_others(db, bridge).await?;
    let ports = rows
        .into_iter()
        .map(|p| ActualPort {
            iface_id: p.interfaces.iter().find_map(|i| i.external_ids.get("iface-id").cloned()),
            net_uuid: p.other_config.get("net_uuid").cloned(),
            tag: p.tag,
            name: p.name,
            uuid: p.uuid,
        })
        .collect();
    Ok((bridge_uuid, ports, others))
}

/// Local VLANs for `networks`: those the bridge's ports already carry are
/// kept (a restart changes no tag); new networks get the lowest free id.
pub fn local_vlans(networks: &BTreeSet<String>, actual: &[ActualPort]) -> BTreeMap<String, u16> {
    let mut vlans: BTreeMap<String, u16> = BTreeMap::new();
    for p in actual {
        if let (Some(net), Some(tag)) = (&p.net_uuid, p.tag) {
            if networks.contains(net) && !vlans.values().any(|t| *t == tag) {
                vlans.entry(net.clone()).or_insert(tag);
            }
        }
    }
    let mut next = 1u16;
    for net in networks {
        if vlans.contains_key(net) {
            continue;
        }
        while vlans.values().any(|t| *t == next) {
            next += 1;
        }
        if next > MAX_VLAN {
            break;
        }
        vlans.insert(net.clone(), next);
    }
    vlans
}

/// The operations that plug `wanted` (whose devices exist) into the bridge
/// with their networks' `vlans`, retag what carries another tag, and
/// unplug the agent's ports (those with an `iface-id`) no longer wanted.
pub fn plan(
    bridge_uuid: &str,
    wanted: &[WantedPort],
    vlans: &BTreeMap<String, u16>,
    actual: &[ActualPort],
) -> Vec<Value> {
    let mut ops = Vec::new();
    let mut added = Vec::new();
    let wanted_names: BTreeSet<&str> = wanted.iter().map(|w| w.device.as_str()).collect();
    for (n, w) in wanted.iter().enumerate() {
        let Some(tag) = vlans.get(&w.network_id).copied() else { continue };
        let seg = w.segmentation_id.map(|s| s.to_string()).unwrap_or_default();
        let tag_text = tag.to_string();
        let other = map([
            ("net_uuid", w.network_id.as_str()),
            ("network_type", w.network_type.as_str()),
            ("physical_network", w.physical_network.as_deref().unwrap_or("")),
            ("segmentation_id", seg.as_str()),
            ("tag", tag_text.as_str()),
        ]);
        match actual.iter().find(|a| a.name == w.device) {
            Some(a) if a.tag == Some(tag) && a.net_uuid.as_deref() == Some(w.network_id.as_str()) => {}
            Some(a) => ops.push(json!({"op": "update", "table": "Port", "where": [["_uuid", "==", ["uuid", a.uuid]]],
                "row": {"tag": tag, "other_config": other}})),
            None => {
                let ext = map([
                    ("iface-id", w.port_id.as_str()),
                    ("attached-mac", w.mac.as_str()),
                    ("iface-status", "active"),
                ]);
                let port = json!({"tag": tag, "other_config": other});
                added.push(insert_port(&mut ops, &n.to_string(), &w.device, json!({"external_ids": ext}), port));
            }
        }
    }
    finish(ops, bridge_uuid, added, actual, &wanted_names)
}

/// Appends to `ops` the insertion of the `added` ports into the bridge and
/// the removal of the ports of ours (with an `iface-id`) not in `wanted`.
fn finish(
    mut ops: Vec<Value>,
    bridge_uuid: &str,
    added: Vec<Value>,
    actual: &[ActualPort],
    wanted: &BTreeSet<&str>,
) -> Vec<Value> {
    let removed: Vec<Value> = actual
        .iter()
        .filter(|a| a.iface_id.is_some() && !wanted.contains(a.name.as_str()))
        .map(|a| json!(["uuid", a.uuid]))
        .collect();
    if !added.is_empty() {
        ops.push(bridge_ports_mutation(bridge_uuid, "insert", added));
    }
    if !removed.is_empty() {
        ops.push(bridge_ports_mutation(bridge_uuid, "delete", removed));
    }
    ops
}

/// A device plugged straight into a bridge, untagged, by the agent that
/// made it (the L3 agent's gateway ports on `external_network_bridge`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainPort {
    /// The device, also the OVS port and interface name.
    pub device: String,
    /// The Neutron port id (`iface-id`).
    pub port_id: String,
    /// Its MAC address.
    pub mac: String,
}

/// The operations that give the bridge exactly the `wanted` plain ports
/// among those marked with an `iface-id` (an operator's NIC is left alone).
pub fn plan_plain(bridge_uuid: &str, wanted: &[PlainPort], actual: &[ActualPort]) -> Vec<Value> {
    let mut ops = Vec::new();
    let mut added = Vec::new();
    for (n, w) in wanted.iter().enumerate() {
        if actual.iter().any(|a| a.name == w.device) {
            continue;
        }
        let ext = map([("iface-id", w.port_id.as_str()), ("attached-mac", w.mac.as_str()), ("iface-status", "active")]);
        added.push(insert_port(&mut ops, &n.to_string(), &w.device, json!({"external_ids": ext}), json!({})));
    }
    let names: BTreeSet<&str> = wanted.iter().map(|w| w.device.as_str()).collect();
    finish(ops, bridge_uuid, added, actual, &names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: &str, tag: Option<u16>, net: Option<&str>, ours: bool) -> ActualPort {
        ActualPort {
            uuid: format!("u-{name}"),
            name: name.into(),
            tag,
            net_uuid: net.map(str::to_string),
            iface_id: ours.then(|| format!("id-{name}")),
        }
    }

    fn wanted(device: &str, net: &str) -> WantedPort {
        WantedPort {
            device: device.into(),
            port_id: format!("id-{device}"),
            mac: "fa:16:3e:00:00:01".into(),
            network_id: net.into(),
            network_type: "vxlan".into(),
            physical_network: None,
            segmentation_id: Some(77),
        }
    }

    #[test]
    fn local_vlans_survive_a_restart_and_new_networks_take_the_lowest_free() {
        let nets = BTreeSet::from(["a".to_string(), "b".to_string(), "c".to_string()]);
        let actual = [port("tap1", Some(2), Some("b"), true), port("tap2", Some(1), Some("gone"), true)];
        let v = local_vlans(&nets, &actual);
        assert_eq!(v.get("b"), Some(&2), "kept");
        assert_eq!(v.get("a"), Some(&1), "the gone network's VLAN is free again");
        assert_eq!(v.get("c"), Some(&3));
    }

    #[test]
    fn ports_are_plugged_retagged_and_unplugged_and_a_right_one_is_left_alone() {
        let vlans = BTreeMap::from([("a".to_string(), 1u16), ("b".to_string(), 2u16)]);
        let actual = [
            port("tap-ok", Some(1), Some("a"), true),
            port("tap-moved", Some(1), Some("a"), true),
            port("tap-old", Some(2), Some("b"), true),
            port("patch-tun", None, None, false),
        ];
        let want = [wanted("tap-ok", "a"), wanted("tap-moved", "b"), wanted("tap-new", "a")];
        let ops = plan("br", &want, &vlans, &actual);
        let kinds: Vec<String> = ops
            .iter()
            .map(|o| format!("{} {}", o["op"].as_str().unwrap_or(""), o["table"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(kinds, ["update Port", "insert Interface", "insert Port", "mutate Bridge", "mutate Bridge"]);
        assert_eq!(ops[0]["row"]["tag"], 2);
        assert_eq!(ops[2]["row"]["tag"], 1);
        assert_eq!(
            ops[4]["mutations"][0][2],
            json!(["set", [["uuid", "u-tap-old"]]]),
            "patch-tun is not ours to remove"
        );
        let settled = [port("tap-ok", Some(1), Some("a"), true)];
        assert!(plan("br", &[wanted("tap-ok", "a")], &vlans, &settled).is_empty());
    }

    #[test]
    fn plain_ports_are_added_and_removed_and_the_operators_nic_is_kept() {
        let actual =
            [port("ens38", None, None, false), port("tapold", None, None, true), port("tapkept", None, None, true)];
        let plain =
            |d: &str| PlainPort { device: d.into(), port_id: format!("id-{d}"), mac: "fa:16:3e:00:00:09".into() };
        let ops = plan_plain("br", &[plain("tapkept"), plain("tapnew")], &actual);
        assert_eq!(ops[0]["row"]["name"], "tapnew");
        assert!(ops[1]["row"].get("tag").is_none(), "untagged");
        assert_eq!(ops[2]["mutations"][0][1], "insert");
        assert_eq!(
            ops[3]["mutations"][0][2],
            json!(["set", [["uuid", "u-tapold"]]]),
            "only the stale one of ours goes"
        );
        assert!(plan_plain("br", &[plain("tapkept"), plain("tapold")], &actual).is_empty());
    }
}

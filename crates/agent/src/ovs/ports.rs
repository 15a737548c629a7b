//! The instances' ports on the integration bridge: each tagged with its
//! network's local VLAN (`tag`, as Neutron's agent does), and marked as
//! Neutron marks them — `external_ids` `iface-id` (the port's id),
//! `attached-mac`, `iface-status`, and `other_config` `net_uuid`,
//! `network_type`, `physical_network`, `segmentation_id`, `tag` — so a
//! restarted agent finds each network's local VLAN again and no port's tag
//! changes under its traffic.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::ovsdb::{items, map, named, pairs, set, uuid, Ovsdb, OvsdbError};

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
    let r = db
        .transact(vec![
            json!({"op": "select", "table": "Bridge", "where": [["name", "==", bridge]], "columns": ["_uuid", "ports"]}),
            json!({"op": "select", "table": "Port", "where": [], "columns": ["_uuid", "name", "tag", "other_config", "interfaces"]}),
            json!({"op": "select", "table": "Interface", "where": [], "columns": ["_uuid", "external_ids"]}),
        ])
        .await?;
    let rows = |i: usize| r.get(i).and_then(|x| x.get("rows")).and_then(Value::as_array).cloned().unwrap_or_default();
    let Some(b) = rows(0).into_iter().next() else {
        return Err(OvsdbError::Refused { what: format!("bridge {bridge}"), error: json!("no such bridge") });
    };
    let bridge_uuid = b.get("_uuid").and_then(uuid).unwrap_or_default().to_string();
    let mine: BTreeSet<String> =
        b.get("ports").map(items).unwrap_or_default().iter().filter_map(|p| uuid(p).map(str::to_string)).collect();
    let iface_ids: BTreeMap<String, String> = rows(2)
        .iter()
        .filter_map(|i| {
            let id = i.get("_uuid").and_then(uuid)?.to_string();
            let ext = i.get("external_ids").map(pairs).unwrap_or_default();
            Some((id, ext.get("iface-id")?.clone()))
        })
        .collect();
    let mut ports = Vec::new();
    for p in rows(1) {
        let Some(id) = p.get("_uuid").and_then(uuid).map(str::to_string) else { continue };
        if !mine.contains(&id) {
            continue;
        }
        let iface = p.get("interfaces").map(items).unwrap_or_default();
        let iface_id = iface.iter().filter_map(uuid).find_map(|i| iface_ids.get(i)).cloned();
        let tag = p.get("tag").and_then(Value::as_u64).and_then(|t| u16::try_from(t).ok());
        ports.push(ActualPort {
            uuid: id,
            name: p.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
            tag,
            net_uuid: p.get("other_config").map(pairs).unwrap_or_default().get("net_uuid").cloned(),
            iface_id,
        });
    }
    Ok((bridge_uuid, ports))
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
    let this = json!([["_uuid", "==", ["uuid", bridge_uuid]]]);
    let mut added = Vec::new();
    let mut removed = Vec::new();
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
                let (iface, port) = (format!("i{n}"), format!("p{n}"));
                let ext = map([
                    ("iface-id", w.port_id.as_str()),
                    ("attached-mac", w.mac.as_str()),
                    ("iface-status", "active"),
                ]);
                ops.push(json!({"op": "insert", "table": "Interface", "row": {"name": w.device, "external_ids": ext}, "uuid-name": iface}));
                ops.push(
                    json!({"op": "insert", "table": "Port", "row": {"name": w.device, "interfaces": named(&iface),
                    "tag": tag, "other_config": other}, "uuid-name": port}),
                );
                added.push(named(&port));
            }
        }
    }
    for a in actual.iter().filter(|a| a.iface_id.is_some() && !wanted_names.contains(a.name.as_str())) {
        removed.push(json!(["uuid", a.uuid]));
    }
    if !added.is_empty() {
        ops.push(
            json!({"op": "mutate", "table": "Bridge", "where": this, "mutations": [["ports", "insert", set(added)]]}),
        );
    }
    if !removed.is_empty() {
        ops.push(
            json!({"op": "mutate", "table": "Bridge", "where": this, "mutations": [["ports", "delete", set(removed)]]}),
        );
    }
    ops
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
}

//! The OVS agent's bridges, as Neutron's agent lays them out: the
//! integration bridge (`br-int`), the tunnel bridge (`br-tun`, when tunnel
//! types are configured) joined by the patch ports `patch-tun`/`patch-int`,
//! and one provider bridge per `bridge_mappings` entry joined to `br-int`
//! by `int-<bridge>`/`phy-<bridge>`. Planned against what OVSDB holds and
//! applied as one transaction that only adds or corrects: a second run, or
//! a restarted agent, changes nothing, and nothing the agent does not own
//! (an operator's port on `br-ex`, say) is touched.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::ovsdb::{items, map, named, pairs, set, uuid, Ovsdb, OvsdbError};
use super::rows::{bridge_ports_mutation, insert_port};

/// The integration bridge's patch port towards the tunnel bridge.
pub const TUNNEL_PATCH: &str = "patch-tun";

/// `[ovs]`/`[agent]` of openvswitch_agent.ini, as far as bridges go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    /// `[ovs] integration_bridge` (default `br-int`).
    pub integration_bridge: String,
    /// `[ovs] tunnel_bridge` (default `br-tun`).
    pub tunnel_bridge: String,
    /// Whether `[agent] tunnel_types` is non-empty (then `br-tun` exists).
    pub tunneling: bool,
    /// `[ovs] bridge_mappings`: physical network → provider bridge.
    pub bridge_mappings: BTreeMap<String, String>,
    /// `[ovs] datapath_type`: `system` or `netdev` (userspace).
    pub datapath_type: String,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            integration_bridge: "br-int".into(),
            tunnel_bridge: "br-tun".into(),
            tunneling: false,
            bridge_mappings: BTreeMap::new(),
            datapath_type: "system".into(),
        }
    }
}

/// One port of a bridge, with its one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// Port and interface name.
    pub name: String,
    /// Interface type: `internal`, `patch`, or empty for a system device.
    pub kind: String,
    /// Interface options (`peer` of a patch port).
    pub options: BTreeMap<String, String>,
}

/// One bridge and the ports the agent owns on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeSpec {
    /// Name.
    pub name: String,
    /// `fail_mode` the agent sets (`secure` on the bridges it programs).
    pub fail_mode: Option<String>,
    /// Its ports (its own internal port first).
    pub ports: Vec<PortSpec>,
}

/// Errors of the layout.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// A name OVS or the kernel cannot take.
    #[error("'{0}' is not a valid bridge or port name (1-15 letters, digits, '-', '_', '.')")]
    Name(String),
    /// OVSDB failed.
    #[error(transparent)]
    Ovsdb(#[from] OvsdbError),
}

fn check_name(name: &str) -> Result<(), LayoutError> {
    let ok =
        !name.is_empty() && name.len() <= 15 && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(LayoutError::Name(name.to_string()))
    }
}

fn internal(name: &str) -> PortSpec {
    PortSpec { name: name.to_string(), kind: "internal".into(), options: BTreeMap::new() }
}

fn patch(name: &str, peer: &str) -> PortSpec {
    PortSpec { name: name.to_string(), kind: "patch".into(), options: BTreeMap::from([("peer".into(), peer.into())]) }
}

/// The bridges `cfg` asks for.
pub fn desired(cfg: &BridgeConfig) -> Result<Vec<BridgeSpec>, LayoutError> {
    let int = &cfg.integration_bridge;
    let mut int_ports = vec![internal(int)];
    let mut bridges = Vec::new();
    if cfg.tunneling {
        let tun = &cfg.tunnel_bridge;
        int_ports.push(patch(TUNNEL_PATCH, "patch-int"));
        bridges.push(BridgeSpec {
            name: tun.clone(),
            fail_mode: Some("secure".into()),
            ports: vec![internal(tun), patch("patch-int", "patch-tun")],
        });
    }
    for bridge in cfg.bridge_mappings.values() {
        let (int_side, phy_side) = (format!("int-{bridge}"), format!("phy-{bridge}"));
        int_ports.push(patch(&int_side, &phy_side));
        bridges.push(BridgeSpec {
            name: bridge.clone(),
            fail_mode: Some("secure".into()),
            ports: vec![internal(bridge), patch(&phy_side, &int_side)],
        });
    }
    bridges.insert(0, BridgeSpec { name: int.clone(), fail_mode: Some("secure".into()), ports: int_ports });
    for b in &bridges {
        check_name(&b.name)?;
        for p in &b.ports {
            check_name(&p.name)?;
        }
    }
    Ok(bridges)
}

/// What OVSDB holds of bridges, ports and interfaces.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    /// Bridge name → (row uuid, datapath_type, fail_mode, port names).
    pub bridges: BTreeMap<String, ActualBridge>,
    /// Interface name → (row uuid, type, options).
    pub interfaces: BTreeMap<String, ActualInterface>,
}

/// A bridge row.
#[derive(Debug, Clone, Default)]
pub struct ActualBridge {
    /// Row UUID.
    pub uuid: String,
    /// `datapath_type`.
    pub datapath_type: String,
    /// `fail_mode` (empty: unset).
    pub fail_mode: String,
    /// Names of its ports.
    pub ports: Vec<String>,
}

/// An interface row.
#[derive(Debug, Clone, Default)]
pub struct ActualInterface {
    /// Row UUID.
    pub uuid: String,
    /// `type`.
    pub kind: String,
    /// `options`.
    pub options: BTreeMap<String, String>,
}

fn rows(result: &Value) -> Vec<Value> {
    result.get("rows").and_then(Value::as_array).cloned().unwrap_or_default()
}

fn text(row: &Value, key: &str) -> String {
    row.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Reads bridges, ports and interfaces.
pub async fn read(db: &mut Ovsdb) -> Result<Actual, OvsdbError> {
    let results = db
        .transact(vec![
            json!({"op": "select", "table": "Bridge", "where": [], "columns": ["_uuid", "name", "datapath_type", "fail_mode", "ports"]}),
            json!({"op": "select", "table": "Port", "where": [], "columns": ["_uuid", "name"]}),
            json!({"op": "select", "table": "Interface", "where": [], "columns": ["_uuid", "name", "type", "options"]}),
        ])
        .await?;
    let empty = Value::Null;
    let port_names: BTreeMap<String, String> = rows(results.get(1).unwrap_or(&empty))
        .iter()
        .filter_map(|r| Some((uuid(r.get("_uuid")?)?.to_string(), text(r, "name"))))
        .collect();
    let mut actual = Actual::default();
    for r in rows(results.first().unwrap_or(&empty)) {
        let ports = r
            .get("ports")
            .map(items)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| uuid(p).and_then(|u| port_names.get(u)).cloned())
            .collect();
        let fail_mode = r.get("fail_mode").and_then(Value::as_str).unwrap_or_default().to_string();
        actual.bridges.insert(
            text(&r, "name"),
            ActualBridge {
                uuid: r.get("_uuid").and_then(uuid).unwrap_or_default().to_string(),
                datapath_type: text(&r, "datapath_type"),
                fail_mode,
                ports,
            },
        );
    }
    for r in rows(results.get(2).unwrap_or(&empty)) {
        actual.interfaces.insert(
            text(&r, "name"),
            ActualInterface {
                uuid: r.get("_uuid").and_then(uuid).unwrap_or_default().to_string(),
                kind: text(&r, "type"),
                options: r.get("options").map(pairs).unwrap_or_default(),
            },
        );
    }
    Ok(actual)
}

/// Inserts a port with its interface; returns the port's named uuid.
fn add_port(ops: &mut Vec<Value>, p: &PortSpec, fresh: &mut dyn FnMut(&str) -> String) -> Value {
    let mut iface = json!({});
    if !p.kind.is_empty() {
        iface["type"] = json!(p.kind);
    }
    if !p.options.is_empty() {
        iface["options"] = map(p.options.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    insert_port(ops, &fresh(""), &p.name, iface, json!({}))
}

/// The operations that make `actual` hold `desired` (with `datapath_type`);
/// empty when nothing is missing.
pub fn plan(desired: &[BridgeSpec], datapath_type: &str, actual: &Actual) -> Vec<Value> {
    let mut ops = Vec::new();
    let mut n = 0;
    let mut fresh = |prefix: &str| {
        n += 1;
        format!("{prefix}{n}")
    };
    for b in desired {
        match actual.bridges.get(&b.name) {
            None => {
                let ports: Vec<Value> = b.ports.iter().map(|p| add_port(&mut ops, p, &mut fresh)).collect();
                let bridge = fresh("b");
                let mut row = json!({"name": b.name, "ports": set(ports), "datapath_type": datapath_type});
                if let Some(f) = &b.fail_mode {
                    row["fail_mode"] = json!(f);
                }
                ops.push(json!({"op": "insert", "table": "Bridge", "row": row, "uuid-name": bridge}));
                ops.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [],
                    "mutations": [["bridges", "insert", set(vec![named(&bridge)])]]}));
            }
            Some(have) => {
                let this = json!([["_uuid", "==", ["uuid", have.uuid]]]);
                let mut update = serde_json::Map::new();
                if have.datapath_type != datapath_type {
                    update.insert("datapath_type".into(), json!(datapath_type));
                }
                if let Some(f) = b.fail_mode.as_ref().filter(|f| **f != have.fail_mode) {
                    update.insert("fail_mode".into(), json!(f));
                }
                if !update.is_empty() {
                    ops.push(json!({"op": "update", "table": "Bridge", "where": this, "row": update}));
                }
                let missing: Vec<Value> = b
                    .ports
                    .iter()
                    .filter(|p| !have.ports.contains(&p.name))
                    .map(|p| add_port(&mut ops, p, &mut fresh))
                    .collect();
                if !missing.is_empty() {
                    ops.push(bridge_ports_mutation(&have.uuid, "insert", missing));
                }
                // A port of ours whose interface is of another type or peer is corrected.
                for p in b.ports.iter().filter(|p| have.ports.contains(&p.name)) {
                    let Some(i) = actual.interfaces.get(&p.name) else { continue };
                    if i.kind != p.kind || i.options != p.options {
                        let opts = map(p.options.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                        ops.push(json!({"op": "update", "table": "Interface",
                            "where": [["_uuid", "==", ["uuid", i.uuid]]], "row": {"type": p.kind, "options": opts}}));
                    }
                }
            }
        }
    }
    ops
}

/// Makes OVSDB hold the bridges of `cfg`; returns how many operations it took (0: all there).
pub async fn ensure(db: &mut Ovsdb, cfg: &BridgeConfig) -> Result<usize, LayoutError> {
    let want = desired(cfg)?;
    let have = read(db).await?;
    let ops = plan(&want, &cfg.datapath_type, &have);
    if !ops.is_empty() {
        db.transact(ops.clone()).await?;
    }
    Ok(ops.len())
}

/// The `Open_vSwitch` table must have its one row (`ovs-vsctl init`); a
/// fresh database gets it.
pub async fn init(db: &mut Ovsdb) -> Result<(), OvsdbError> {
    let r =
        db.transact(vec![json!({"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["_uuid"]})]).await?;
    if r.first().map(rows).unwrap_or_default().is_empty() {
        db.transact(vec![json!({"op": "insert", "table": "Open_vSwitch", "row": {}})]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> BridgeConfig {
        BridgeConfig {
            tunneling: true,
            bridge_mappings: BTreeMap::from([("physnet1".into(), "br-ex".into())]),
            datapath_type: "netdev".into(),
            ..BridgeConfig::default()
        }
    }

    #[test]
    fn the_layout_is_neutrons() {
        let d = desired(&seed()).expect("layout");
        let names: Vec<(&str, Vec<&str>)> =
            d.iter().map(|b| (b.name.as_str(), b.ports.iter().map(|p| p.name.as_str()).collect())).collect();
        assert_eq!(
            names,
            [
                ("br-int", vec!["br-int", "patch-tun", "int-br-ex"]),
                ("br-tun", vec!["br-tun", "patch-int"]),
                ("br-ex", vec!["br-ex", "phy-br-ex"]),
            ]
        );
        assert_eq!(d[0].ports[1].options.get("peer").map(String::as_str), Some("patch-int"));
        assert_eq!(d[2].ports[1].options.get("peer").map(String::as_str), Some("int-br-ex"));
        let no_tunnels = desired(&BridgeConfig::default()).expect("layout");
        assert_eq!(no_tunnels.len(), 1, "no tunnel types: no br-tun");
        let long = BridgeConfig {
            bridge_mappings: BTreeMap::from([("p".into(), "br-a-very-long".into())]),
            ..BridgeConfig::default()
        };
        assert!(matches!(desired(&long), Err(LayoutError::Name(n)) if n == "int-br-a-very-long"));
    }

    #[test]
    fn a_fresh_database_gets_everything_and_a_complete_one_nothing() {
        let d = desired(&seed()).expect("layout");
        let ops = plan(&d, "netdev", &Actual::default());
        // 7 ports (interface + port each), 3 bridges (bridge + Open_vSwitch mutation each).
        assert_eq!(ops.len(), 7 * 2 + 3 * 2);
        let mut complete = Actual::default();
        for b in &d {
            complete.bridges.insert(
                b.name.clone(),
                ActualBridge {
                    uuid: format!("u-{}", b.name),
                    datapath_type: "netdev".into(),
                    fail_mode: "secure".into(),
                    // An operator's own port on the bridge is no concern of ours.
                    ports: b.ports.iter().map(|p| p.name.clone()).chain(["ens38".to_string()]).collect(),
                },
            );
            for p in &b.ports {
                complete.interfaces.insert(
                    p.name.clone(),
                    ActualInterface { uuid: format!("i-{}", p.name), kind: p.kind.clone(), options: p.options.clone() },
                );
            }
        }
        assert_eq!(plan(&d, "netdev", &complete), Vec::<Value>::new());
        // A patch port pointing elsewhere is corrected, and only it.
        if let Some(i) = complete.interfaces.get_mut("patch-int") {
            i.options.insert("peer".into(), "wrong".into());
        }
        let fix = plan(&d, "netdev", &complete);
        assert_eq!(fix.len(), 1);
        assert_eq!(fix[0]["table"], "Interface");
        assert_eq!(fix[0]["where"][0][2][1], "i-patch-int");
    }
}

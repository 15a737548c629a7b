//! What the agent's OVSDB modules share: a bridge's ports with their
//! interfaces read in one transaction, and the operations that add a port
//! (with its one interface) or change a bridge's port set.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::ovsdb::{items, named, pairs, set, uuid, Ovsdb, OvsdbError};

/// An interface row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceRow {
    /// Row UUID.
    pub uuid: String,
    /// `type` (empty: a system device).
    pub kind: String,
    /// `options`.
    pub options: BTreeMap<String, String>,
    /// `external_ids`.
    pub external_ids: BTreeMap<String, String>,
}

/// A port row of a bridge, with its interfaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortRow {
    /// Row UUID.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// `tag`.
    pub tag: Option<u16>,
    /// `other_config`.
    pub other_config: BTreeMap<String, String>,
    /// Its interfaces.
    pub interfaces: Vec<InterfaceRow>,
}

fn rows(result: Option<&Value>) -> Vec<Value> {
    result.and_then(|x| x.get("rows")).and_then(Value::as_array).cloned().unwrap_or_default()
}

fn id(row: &Value) -> Option<String> {
    row.get("_uuid").and_then(uuid).map(str::to_string)
}

/// The row UUID of `bridge` and its ports.
pub async fn bridge_ports(db: &mut Ovsdb, bridge: &str) -> Result<(String, Vec<PortRow>), OvsdbError> {
    bridge_ports_and_others(db, bridge).await.map(|(uuid, ports, _)| (uuid, ports))
}

/// [`bridge_ports`], and the names of the ports of every other bridge (in
/// the same transaction).
pub async fn bridge_ports_and_others(
    db: &mut Ovsdb,
    bridge: &str,
) -> Result<(String, Vec<PortRow>, BTreeSet<String>), OvsdbError> {
    let r = db
        .transact(vec![
            json!({"op": "select", "table": "Bridge", "where": [["name", "==", bridge]], "columns": ["_uuid", "ports"]}),
            json!({"op": "select", "table": "Port", "where": [], "columns": ["_uuid", "name", "tag", "other_config", "interfaces"]}),
            json!({"op": "select", "table": "Interface", "where": [], "columns": ["_uuid", "type", "options", "external_ids"]}),
        ])
        .await?;
    let Some(b) = rows(r.first()).into_iter().next() else {
        return Err(OvsdbError::Refused { what: format!("bridge {bridge}"), error: json!("no such bridge") });
    };
    let bridge_uuid = id(&b).unwrap_or_default();
    let mine: BTreeSet<String> =
        b.get("ports").map(items).unwrap_or_default().iter().filter_map(|p| uuid(p).map(str::to_string)).collect();
    let interfaces: BTreeMap<String, InterfaceRow> = rows(r.get(2))
        .iter()
        .filter_map(|i| {
            let uuid = id(i)?;
            let text = |k: &str| i.get(k).map(pairs).unwrap_or_default();
            let kind = i.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
            Some((
                uuid.clone(),
                InterfaceRow { uuid, kind, options: text("options"), external_ids: text("external_ids") },
            ))
        })
        .collect();
    let mut others = BTreeSet::new();
    let ports = rows(r.get(1))
        .iter()
        .filter_map(|p| {
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            let Some(row) = id(p).filter(|u| mine.contains(u)) else {
                others.insert(name);
                return None;
            };
            let ifaces = p.get("interfaces").map(items).unwrap_or_default();
            Some(PortRow {
                uuid: row,
                name,
                tag: p.get("tag").and_then(Value::as_u64).and_then(|t| u16::try_from(t).ok()),
                other_config: p.get("other_config").map(pairs).unwrap_or_default(),
                interfaces: ifaces.iter().filter_map(uuid).filter_map(|u| interfaces.get(u).cloned()).collect(),
            })
        })
        .collect();
    Ok((bridge_uuid, ports, others))
}

/// Appends the insertion of a port named `name` with one interface
/// (`interface` row, its name added) and the port's `extra` columns;
/// returns the port's named UUID (`key` makes the names unique).
pub fn insert_port(ops: &mut Vec<Value>, key: &str, name: &str, mut interface: Value, mut port: Value) -> Value {
    let (iface, p) = (format!("i{key}"), format!("p{key}"));
    interface["name"] = json!(name);
    port["name"] = json!(name);
    port["interfaces"] = named(&iface);
    ops.push(json!({"op": "insert", "table": "Interface", "row": interface, "uuid-name": iface}));
    ops.push(json!({"op": "insert", "table": "Port", "row": port, "uuid-name": p}));
    named(&p)
}

/// The mutation that inserts (`insert`) or deletes (`delete`) `ports` of a bridge.
pub fn bridge_ports_mutation(bridge_uuid: &str, mutator: &str, ports: Vec<Value>) -> Value {
    json!({"op": "mutate", "table": "Bridge", "where": [["_uuid", "==", ["uuid", bridge_uuid]]],
        "mutations": [["ports", mutator, set(ports)]]})
}

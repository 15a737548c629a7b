//! What an L2 agent's host should have, and what the agent says it has:
//! the full desired state of a host (its bound ports, their networks and
//! segments, and the other hosts' ports on those networks with their VTEPs,
//! for l2population), and port status from device up/down reports.

use std::collections::{BTreeMap, BTreeSet};

use neutrino_model::agent::{LINUX_BRIDGE_AGENT, OVS_AGENT};
use neutrino_model::fault::Resource;
use neutrino_model::l2::{NetworkState, PeerPort};
use neutrino_model::sg::{HostFirewall, SecurityGroupRuleState, SecurityGroupState};
use neutrino_model::{Agent, Network, Port, SecurityGroup};
use neutrino_store::{Filter, ListQuery, Reader, Scope, SqlValue, Table};
use serde::Serialize;
use serde_json::Value;

use super::changes::Op;
use super::{from_doc, port_row, touch, Plugin};
use crate::error::{PluginError, PluginResult};

/// Everything an L2 agent's host should have.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostState {
    /// The change-log position this state includes (stream from here).
    pub last: i64,
    /// The host.
    pub host: String,
    /// Networks with a port bound here.
    pub networks: Vec<NetworkState>,
    /// Ports bound here.
    pub ports: Vec<Port>,
    /// Other hosts' ports on those networks.
    pub peers: Vec<PeerPort>,
    /// The security groups of the ports bound here and their remote groups' members.
    #[serde(flatten)]
    pub firewall: neutrino_model::sg::HostFirewall,
}

fn by(attr: &str, value: &str) -> Filter {
    Filter::Eq { attr: attr.into(), values: vec![SqlValue::Text(value.into())] }
}

async fn docs<T: serde::de::DeserializeOwned>(
    r: &mut Reader,
    table: Table,
    filters: Vec<Filter>,
) -> PluginResult<Vec<T>> {
    let mut q = ListQuery::all(Scope::Admin);
    q.filters = filters;
    let (docs, _) = r.list_docs(table, &q).await?;
    docs.iter().map(|d| from_doc(table, "?", d)).collect()
}

impl Plugin {
    /// The security groups of the filtered ports among `ports` and the
    /// members of every group their rules name as remote.
    async fn host_firewall(&self, r: &mut Reader, ports: &[Port]) -> PluginResult<HostFirewall> {
        let filtered = ports.iter().filter(|p| p.port_security_enabled && !p.device_owner.starts_with("network:"));
        let group_ids: BTreeSet<String> = filtered.flat_map(|p| p.security_groups.iter().cloned()).collect();
        let mut fw = HostFirewall::default();
        if group_ids.is_empty() {
            return Ok(fw);
        }
        let ids =
            Filter::Eq { attr: "id".into(), values: group_ids.iter().map(|g| SqlValue::Text(g.clone())).collect() };
        let groups: Vec<SecurityGroup> = docs(r, Table::SecurityGroups, vec![ids]).await?;
        let mut remotes: BTreeSet<String> = BTreeSet::new();
        for g in groups {
            remotes.extend(g.security_group_rules.iter().filter_map(|x| x.remote_group_id.clone()));
            fw.security_groups.push(SecurityGroupState {
                id: g.id,
                stateful: g.stateful,
                rules: g
                    .security_group_rules
                    .into_iter()
                    .map(|x| SecurityGroupRuleState {
                        id: x.id,
                        direction: x.direction,
                        ethertype: x.ethertype,
                        protocol: x.protocol,
                        port_range_min: x.port_range_min,
                        port_range_max: x.port_range_max,
                        remote_ip_prefix: x.remote_ip_prefix,
                        remote_group_id: x.remote_group_id,
                    })
                    .collect(),
            });
        }
        for gid in remotes {
            let members = r.group_ports(&gid).await?;
            let mut addresses = BTreeSet::new();
            if !members.is_empty() {
                let ids = Filter::Eq { attr: "id".into(), values: members.into_iter().map(SqlValue::Text).collect() };
                for p in docs::<Port>(r, Table::Ports, vec![ids]).await? {
                    addresses.extend(p.fixed_ips.into_iter().map(|f| f.ip_address));
                    addresses.extend(p.allowed_address_pairs.into_iter().map(|a| a.ip_address));
                }
            }
            fw.remote_groups.insert(gid, addresses.into_iter().collect());
        }
        Ok(fw)
    }

    /// The networks `host` has ports on (what its L2 agent's change stream follows).
    pub async fn host_networks(&self, host: &str) -> PluginResult<BTreeSet<String>> {
        let mut r = self.store.read().await?;
        let ports: Vec<Port> = docs(&mut r, Table::Ports, vec![by("binding:host_id", host)]).await?;
        Ok(ports.into_iter().map(|p| p.network_id).collect())
    }

    /// The desired state of `host`'s L2 agent.
    pub async fn host_state(&self, host: &str) -> PluginResult<HostState> {
        let mut r = self.store.read().await?;
        // The position first: whatever commits after it is streamed again.
        let (_, last) = r.change_bounds().await?;
        let ports: Vec<Port> = docs(&mut r, Table::Ports, vec![by("binding:host_id", host)]).await?;
        let network_ids: BTreeSet<String> = ports.iter().map(|p| p.network_id.clone()).collect();
        let mut vteps: BTreeMap<String, String> = BTreeMap::new();
        for t in [LINUX_BRIDGE_AGENT, OVS_AGENT] {
            for a in docs::<Agent>(&mut r, Table::Agents, vec![by("agent_type", t)]).await? {
                if let Some(ip) = a.configurations.get("local_ip").and_then(Value::as_str) {
                    if self.is_alive(&a) {
                        vteps.insert(a.host.clone(), ip.to_string());
                    }
                }
            }
        }
        let mut networks = Vec::new();
        let mut peers = Vec::new();
        for id in &network_ids {
            let Some(doc) = r.get_doc(Table::Networks, id, &Scope::Admin).await? else { continue };
            let n: Network = from_doc(Table::Networks, id, &doc)?;
            networks.push(NetworkState {
                id: n.id.clone(),
                mtu: n.mtu,
                admin_state_up: n.admin_state_up,
                network_type: n.provider_network_type.clone().unwrap_or_else(|| "local".into()),
                physical_network: n.provider_physical_network.clone(),
                segmentation_id: n.provider_segmentation_id,
            });
            for p in docs::<Port>(&mut r, Table::Ports, vec![by("network_id", id)]).await? {
                if p.binding_host_id.is_empty() || p.binding_host_id == host {
                    continue;
                }
                if let Some(vtep) = vteps.get(&p.binding_host_id) {
                    peers.push(PeerPort {
                        port_id: p.id.clone(),
                        network_id: p.network_id.clone(),
                        host: p.binding_host_id.clone(),
                        vtep: vtep.clone(),
                        mac_address: p.mac_address.clone(),
                        ips: p.fixed_ips.iter().map(|f| f.ip_address.clone()).collect(),
                    });
                }
            }
        }
        let firewall = self.host_firewall(&mut r, &ports).await?;
        Ok(HostState { last, host: host.to_string(), networks, ports, peers, firewall })
    }

    /// Sets the status of ports bound to `host`: `BUILD` for those its agent
    /// is wiring, `ACTIVE` for those it wired (`up`), `DOWN` for those it
    /// unwired. Ports not bound there are skipped (the second list).
    pub async fn set_device_status(
        &self,
        host: &str,
        build: &[String],
        up: &[String],
        down: &[String],
    ) -> PluginResult<(Vec<String>, Vec<String>)> {
        let mut tx = self.begin().await?;
        let (mut changed, mut skipped) = (Vec::new(), Vec::new());
        for (ids, status) in [(build, "BUILD"), (up, "ACTIVE"), (down, "DOWN")] {
            for id in ids {
                let Some(doc) = tx.get_doc(Table::Ports, id, &Scope::Admin).await? else {
                    skipped.push(id.clone());
                    continue;
                };
                let mut p: Port = from_doc(Table::Ports, id, &doc)?;
                if p.binding_host_id != host {
                    skipped.push(id.clone());
                    continue;
                }
                if p.status != status {
                    p.status = status.to_string();
                    touch(&mut p.revision_number, &mut p.updated_at);
                    tx.update(Table::Ports, &port_row(&p)?).await?;
                    let v = serde_json::to_value(&p).map_err(|e| PluginError::BadRequest(e.to_string()))?;
                    self.log_change(&mut tx, Resource::Port, Op::Update, &v).await?;
                    changed.push(id.clone());
                }
            }
        }
        tx.commit().await?;
        if !changed.is_empty() {
            self.changed();
        }
        Ok((changed, skipped))
    }
}

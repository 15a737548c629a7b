//! DHCP scheduling: every network with a DHCP-enabled subnet is hosted by
//! `dhcp_agents_per_network` live DHCP agents (least loaded first), each
//! with a DHCP port (`device_owner = network:dhcp`) bound to its host and
//! holding an address of every DHCP subnet. Level-triggered: `schedule_dhcp`
//! makes the whole picture right whenever something it depends on changed
//! (a DHCP agent reported, a subnet changed, an operator moved a network);
//! a network whose agents all died moves to a live one.

use std::collections::{BTreeMap, BTreeSet};

use neutrino_model::fault::Resource;
use neutrino_model::{Agent, Port, Subnet};
use neutrino_store::{Filter, ListQuery, Scope, SqlValue, Table, Tx};
use serde_json::{json, Value};

use super::changes::Op;
use super::{by, docs, from_doc, Plugin};
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};

/// Neutron's `agent_type` of the DHCP agent.
pub const DHCP_AGENT: &str = "DHCP agent";
/// The `device_owner` of DHCP ports.
pub const DHCP_OWNER: &str = "network:dhcp";

/// The `device_id` Neutron gives the DHCP port of `host` on `network_id`.
pub fn dhcp_device_id(host: &str, network_id: &str) -> String {
    format!("dhcp{}-{network_id}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_DNS, host.as_bytes()))
}

impl Plugin {
    /// The DHCP agents, by id.
    async fn dhcp_agents(&self, tx: &mut Tx) -> PluginResult<BTreeMap<String, Agent>> {
        let agents: Vec<Agent> =
            docs(tx, Table::Agents, vec![by("agent_type", SqlValue::Text(DHCP_AGENT.into()))]).await?;
        Ok(agents.into_iter().map(|a| (a.id.clone(), a)).collect())
    }

    /// Networks with at least one DHCP-enabled subnet, with those subnets.
    async fn dhcp_subnets(&self, tx: &mut Tx) -> PluginResult<BTreeMap<String, Vec<Subnet>>> {
        let subnets: Vec<Subnet> = docs(tx, Table::Subnets, vec![by("enable_dhcp", SqlValue::Int(1))]).await?;
        let mut out: BTreeMap<String, Vec<Subnet>> = BTreeMap::new();
        for s in subnets {
            out.entry(s.network_id.clone()).or_default().push(s);
        }
        Ok(out)
    }

    /// The DHCP port of `agent` on `network_id`, if it exists.
    async fn dhcp_port(&self, tx: &mut Tx, host: &str, network_id: &str) -> PluginResult<Option<Port>> {
        let ports: Vec<Port> = docs(
            tx,
            Table::Ports,
            vec![
                by("network_id", SqlValue::Text(network_id.into())),
                by("device_id", SqlValue::Text(dhcp_device_id(host, network_id))),
            ],
        )
        .await?;
        Ok(ports.into_iter().next())
    }

    /// Creates the DHCP port of `host` on a network (one address per DHCP subnet).
    async fn ensure_dhcp_port(
        &self,
        tx: &mut Tx,
        host: &str,
        network_id: &str,
        subnets: &[Subnet],
    ) -> PluginResult<()> {
        if let Some(port) = self.dhcp_port(tx, host, network_id).await? {
            // A DHCP subnet added later: the port takes an address on it too.
            let missing: Vec<&Subnet> =
                subnets.iter().filter(|s| !port.fixed_ips.iter().any(|f| f.subnet_id == s.id)).collect();
            if missing.is_empty() {
                return Ok(());
            }
            let mut fixed: Vec<Value> =
                port.fixed_ips.iter().map(|f| json!({"subnet_id": f.subnet_id, "ip_address": f.ip_address})).collect();
            fixed.extend(missing.iter().map(|s| json!({"subnet_id": s.id})));
            let ctx = RequestContext::admin(port.project_id.clone());
            let updated = self.update_port(tx, &ctx, &port.id, json!({"fixed_ips": fixed}), None).await?;
            let v = serde_json::to_value(&updated).map_err(|e| PluginError::BadRequest(e.to_string()))?;
            return self.log_change(tx, Resource::Port, Op::Update, &v).await;
        }
        let owner = subnets.first().map(|s| s.project_id.clone()).unwrap_or_default();
        let ctx = RequestContext::admin(owner.clone());
        let fixed: Vec<Value> = subnets.iter().map(|s| json!({"subnet_id": s.id})).collect();
        let body = json!({
            "network_id": network_id, "project_id": owner, "device_owner": DHCP_OWNER,
            "device_id": dhcp_device_id(host, network_id), "binding:host_id": host, "fixed_ips": fixed,
        });
        let port = self.create_port_unmetered(tx, &ctx, body).await?;
        let v = serde_json::to_value(&port).map_err(|e| PluginError::BadRequest(e.to_string()))?;
        self.log_change(tx, Resource::Port, Op::Create, &v).await
    }

    /// Removes the DHCP port of `host` on a network, if any.
    async fn drop_dhcp_port(&self, tx: &mut Tx, host: &str, network_id: &str) -> PluginResult<()> {
        if let Some(p) = self.dhcp_port(tx, host, network_id).await? {
            let v = serde_json::to_value(&p).map_err(|e| PluginError::BadRequest(e.to_string()))?;
            self.delete_port(tx, &RequestContext::admin(""), &p.id, None).await?;
            self.log_change(tx, Resource::Port, Op::Delete, &v).await?;
        }
        Ok(())
    }

    /// Makes DHCP hosting right (see the module documentation).
    pub async fn schedule_dhcp(&self) -> PluginResult<()> {
        let mut tx = self.begin().await?;
        let agents = self.dhcp_agents(&mut tx).await?;
        let wanted = self.dhcp_subnets(&mut tx).await?;
        let mut hosting: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut load: BTreeMap<String, usize> = agents.keys().map(|k| (k.clone(), 0)).collect();
        for (net, agent) in tx.dhcp_bindings().await? {
            *load.entry(agent.clone()).or_default() += 1;
            hosting.entry(net).or_default().insert(agent);
        }
        let usable = |id: &str| agents.get(id).is_some_and(|a| a.admin_state_up && self.is_alive(a));
        let per_network = self.settings.dhcp_agents_per_network;
        // Networks without DHCP any more: their agents let go.
        for (net, hosts) in &hosting {
            if !wanted.contains_key(net) {
                for agent in hosts {
                    tx.unbind_dhcp(net, agent).await?;
                    if let Some(a) = agents.get(agent) {
                        self.drop_dhcp_port(&mut tx, &a.host, net).await?;
                    }
                }
            }
        }
        for net in wanted.keys() {
            let current = hosting.get(net).cloned().unwrap_or_default();
            let live: Vec<&String> = current.iter().filter(|a| usable(a)).collect();
            let mut count = live.len();
            let mut candidates: Vec<&String> = agents.keys().filter(|a| usable(a) && !current.contains(*a)).collect();
            candidates.sort_by_key(|a| (load.get(*a).copied().unwrap_or(0), (*a).clone()));
            for agent in candidates {
                if count >= per_network {
                    break;
                }
                tx.bind_dhcp(net, agent).await?;
                *load.entry(agent.clone()).or_default() += 1;
                count += 1;
                tracing::info!(network = %net, agent = %agent, "network scheduled to a DHCP agent");
            }
            // Failover: dead agents give way once live ones host the network.
            if count > 0 {
                for dead in current.iter().filter(|a| !usable(a) && agents.get(*a).is_some_and(|x| !self.is_alive(x))) {
                    tx.unbind_dhcp(net, dead).await?;
                    if let Some(a) = agents.get(dead) {
                        self.drop_dhcp_port(&mut tx, &a.host, net).await?;
                    }
                    tracing::info!(network = %net, agent = %dead, "network moved off a dead DHCP agent");
                }
            }
        }
        let bindings = tx.dhcp_bindings().await?;
        tx.commit().await?;
        // Every hosting agent has its port, each in its own transaction: a
        // network whose pools are exhausted stays without one (and says so)
        // without holding up the others.
        for (net, agent) in bindings {
            if let (Some(subnets), Some(a)) = (wanted.get(&net), agents.get(&agent)) {
                let mut tx = self.begin().await?;
                match self.ensure_dhcp_port(&mut tx, &a.host, &net, subnets).await {
                    Ok(()) => tx.commit().await?,
                    Err(e) => {
                        tracing::warn!(network = %net, host = %a.host, error = %e, "no DHCP port for the network")
                    }
                }
            }
        }
        self.changed();
        Ok(())
    }

    /// Schedules, logging instead of failing the caller (the next trigger retries).
    pub async fn reschedule_dhcp(&self) {
        if let Err(e) = self.schedule_dhcp().await {
            tracing::warn!(error = %e, "DHCP scheduling failed; it will be retried");
        }
    }

    /// Networks hosted by a DHCP agent (admins).
    pub async fn dhcp_networks_of(&self, ctx: &RequestContext, agent_id: &str) -> PluginResult<Vec<Value>> {
        self.get_agent(ctx, agent_id).await?;
        let mut tx = self.begin().await?;
        let ids: Vec<String> =
            tx.dhcp_bindings().await?.into_iter().filter(|(_, a)| a == agent_id).map(|(n, _)| n).collect();
        let mut out = Vec::new();
        for id in ids {
            if let Some(doc) = tx.get_doc(Table::Networks, &id, &Scope::Admin).await? {
                out.push(from_doc(Table::Networks, &id, &doc)?);
            }
        }
        Ok(out)
    }

    /// DHCP agents hosting a network (admins), as the API shows agents.
    pub async fn dhcp_agents_of(&self, ctx: &RequestContext, network_id: &str) -> PluginResult<Vec<Value>> {
        if !ctx.is_admin {
            return Err(PluginError::not_found(Resource::Network, network_id));
        }
        let mut tx = self.begin().await?;
        tx.get_doc(Table::Networks, network_id, &Scope::Admin)
            .await?
            .ok_or_else(|| PluginError::not_found(Resource::Network, network_id))?;
        let agents = self.dhcp_agents(&mut tx).await?;
        Ok(tx
            .dhcp_bindings()
            .await?
            .into_iter()
            .filter(|(n, _)| n == network_id)
            .filter_map(|(_, a)| agents.get(&a).map(|x| self.agent_view(x)))
            .collect())
    }

    /// An operator schedules a network to a DHCP agent.
    pub async fn add_dhcp_network(&self, ctx: &RequestContext, agent_id: &str, network_id: &str) -> PluginResult<()> {
        let agent = self.get_agent(ctx, agent_id).await?;
        if agent.agent_type != DHCP_AGENT {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                409,
                "InvalidDHCPAgent",
                format!("Agent {agent_id} is not a valid DHCP Agent or has been disabled."),
            )));
        }
        let mut tx = self.begin().await?;
        tx.get_doc(Table::Networks, network_id, &Scope::Admin)
            .await?
            .ok_or_else(|| PluginError::not_found(Resource::Network, network_id))?;
        if !tx.bind_dhcp(network_id, agent_id).await? {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                409,
                "NetworkHostedByDHCPAgent",
                format!("The network {network_id} has been already hosted by the DHCP Agent {agent_id}."),
            )));
        }
        let wanted = self.dhcp_subnets(&mut tx).await?;
        if let Some(subnets) = wanted.get(network_id) {
            self.ensure_dhcp_port(&mut tx, &agent.host, network_id, subnets).await?;
        }
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// An operator takes a network off a DHCP agent.
    pub async fn remove_dhcp_network(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        network_id: &str,
    ) -> PluginResult<()> {
        let agent = self.get_agent(ctx, agent_id).await?;
        let mut tx = self.begin().await?;
        if !tx.unbind_dhcp(network_id, agent_id).await? {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                409,
                "NetworkNotHostedByDhcpAgent",
                format!("The network {network_id} is not hosted by the DHCP agent {agent_id}."),
            )));
        }
        self.drop_dhcp_port(&mut tx, &agent.host, network_id).await?;
        tx.commit().await?;
        self.changed();
        Ok(())
    }
}

/// A network as a DHCP agent serves it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DhcpNetwork {
    /// Id.
    pub id: String,
    /// MTU (offered to clients).
    pub mtu: u32,
    /// Its DHCP-enabled subnets.
    pub subnets: Vec<Subnet>,
    /// Every port of the network (the hosts file).
    pub ports: Vec<Port>,
    /// This agent's own DHCP port, once scheduled.
    pub dhcp_port: Option<Port>,
    /// Whether a router has an interface on the network (then the router,
    /// not the DHCP namespace, serves metadata).
    pub routed: bool,
}

/// What a DHCP agent serves.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DhcpState {
    /// The change-log position included.
    pub last: i64,
    /// The host.
    pub host: String,
    /// Hosted networks.
    pub networks: Vec<DhcpNetwork>,
}

impl Plugin {
    async fn read_docs<T: serde::de::DeserializeOwned>(
        &self,
        table: Table,
        filters: Vec<Filter>,
    ) -> PluginResult<Vec<T>> {
        let mut q = ListQuery::all(Scope::Admin);
        q.filters = filters;
        let (docs, _) = self.store.list_docs(table, q).await?;
        docs.iter().map(|d| from_doc(table, "?", d)).collect()
    }

    /// The networks the DHCP agent of `host` serves, with what dnsmasq needs.
    pub async fn dhcp_state(&self, host: &str) -> PluginResult<DhcpState> {
        let last = self.store.read().await?.change_bounds().await?.1;
        let agents: Vec<Agent> = self
            .read_docs(
                Table::Agents,
                vec![by("agent_type", SqlValue::Text(DHCP_AGENT.into())), by("host", SqlValue::Text(host.into()))],
            )
            .await?;
        // An agent the operator disabled serves nothing (its networks stay
        // bound to it and come back when it is enabled), as Neutron's.
        let Some(agent) = agents.into_iter().next().filter(|a| a.admin_state_up) else {
            return Ok(DhcpState { last, host: host.to_string(), networks: Vec::new() });
        };
        let hosted: Vec<String> = {
            let mut r = self.store.read().await?;
            r.dhcp_bindings().await?.into_iter().filter(|(_, a)| *a == agent.id).map(|(n, _)| n).collect()
        };
        let mut networks = Vec::new();
        for id in hosted {
            let nets: Vec<neutrino_model::Network> =
                self.read_docs(Table::Networks, vec![by("id", SqlValue::Text(id.clone()))]).await?;
            let Some(n) = nets.into_iter().next() else { continue };
            let subnets: Vec<Subnet> = self
                .read_docs(Table::Subnets, vec![by("network_id", SqlValue::Text(id.clone()))])
                .await?
                .into_iter()
                .filter(|s: &Subnet| s.enable_dhcp)
                .collect();
            let ports: Vec<Port> =
                self.read_docs(Table::Ports, vec![by("network_id", SqlValue::Text(id.clone()))]).await?;
            let device = dhcp_device_id(host, &id);
            let dhcp_port = ports.iter().find(|p| p.device_id == device).cloned();
            let routed = ports.iter().any(|p| p.device_owner == super::router::ROUTER_INTERFACE);
            networks.push(DhcpNetwork { id, mtu: n.mtu, subnets, ports, dhcp_port, routed });
        }
        Ok(DhcpState { last, host: host.to_string(), networks })
    }
}

impl Plugin {
    /// The instance behind `ip` on `network_id`, for the metadata proxy:
    /// `(device_id, project_id)` of the port holding that address.
    pub async fn metadata_lookup(&self, network_id: &str, ip: &str) -> PluginResult<Option<(String, String)>> {
        let ports: Vec<Port> =
            self.read_docs(Table::Ports, vec![by("network_id", SqlValue::Text(network_id.into()))]).await?;
        Ok(ports
            .into_iter()
            .find(|p| {
                p.fixed_ips.iter().any(|f| f.ip_address == ip)
                    && !p.device_id.is_empty()
                    && !p.device_owner.starts_with("network:")
            })
            .map(|p| (p.device_id, p.project_id)))
    }
}

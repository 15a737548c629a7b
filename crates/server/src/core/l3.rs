//! L3 agent scheduling and what an L3 agent is told.
//!
//! Each router is hosted by one live, enabled L3 agent (legacy routers: no
//! HA, no DVR), the least loaded one when it is scheduled; a router whose
//! agent died moves to a live one. The router's ports are bound to that
//! agent's host, so the host's L2 agent wires their `tap…` ends.

use std::collections::{BTreeMap, BTreeSet};

use neutrino_model::fault::Resource;
use neutrino_model::l3::{
    ExtraRoute, FloatingIpState, L3State, PortForwardingState, RouterPort, RouterState, RouterSubnet,
};
use neutrino_model::{Agent, FloatingIp, Network, Port, Router, Subnet};
use neutrino_store::{Hosting, ListQuery, Scope, SqlValue, Table, Tx};
use serde_json::{json, Value};

use super::changes::Op;
use super::router::{ROUTER_GATEWAY, ROUTER_INTERFACE};
use super::{by, docs, from_doc, load, Plugin};
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};

/// Neutron's `agent_type` of the L3 agent.
pub const L3_AGENT: &str = "L3 agent";

fn agent_not_found(id: &str) -> PluginError {
    PluginError::Fault(neutrino_model::Fault::new(404, "AgentNotFound", format!("Agent {id} could not be found.")))
}

impl Plugin {
    async fn l3_agents(&self, tx: &mut Tx) -> PluginResult<BTreeMap<String, Agent>> {
        let agents: Vec<Agent> =
            docs(tx, Table::Agents, vec![by("agent_type", SqlValue::Text(L3_AGENT.into()))]).await?;
        Ok(agents.into_iter().map(|a| (a.id.clone(), a)).collect())
    }

    /// Binds a router's ports to `host` ("" unbinds them).
    async fn bind_router_ports(&self, tx: &mut Tx, router_id: &str, host: &str) -> PluginResult<()> {
        let admin = RequestContext::admin("");
        for p in self.router_ports(tx, router_id).await? {
            if p.binding_host_id != host {
                let p = self.update_port(tx, &admin, &p.id, json!({"binding:host_id": host}), None).await?;
                let v = serde_json::to_value(&p).map_err(|e| PluginError::BadRequest(e.to_string()))?;
                self.log_change(tx, Resource::Port, Op::Update, &v).await?;
            }
        }
        Ok(())
    }

    /// Makes router hosting right (see the module documentation).
    pub async fn schedule_routers(&self) -> PluginResult<()> {
        let mut tx = self.begin().await?;
        let agents = self.l3_agents(&mut tx).await?;
        let routers: Vec<Router> = docs(&mut tx, Table::Routers, vec![]).await?;
        let mut hosted: BTreeMap<String, String> = BTreeMap::new();
        let mut load_of: BTreeMap<String, usize> = agents.keys().map(|k| (k.clone(), 0)).collect();
        for (router, agent) in tx.agent_bindings(Hosting::L3).await? {
            *load_of.entry(agent.clone()).or_default() += 1;
            hosted.insert(router, agent);
        }
        let usable = |id: &str| agents.get(id).is_some_and(|a| a.admin_state_up && self.is_alive(a));
        for r in &routers {
            let current = hosted.get(&r.id).cloned();
            if current.as_deref().is_some_and(|a| usable(a) || agents.get(a).is_some_and(|x| self.is_alive(x))) {
                continue;
            }
            let pick = agents
                .keys()
                .filter(|a| usable(a))
                .min_by_key(|a| (load_of.get(*a).copied().unwrap_or(0), (*a).clone()))
                .cloned();
            let Some(pick) = pick else { continue };
            if let Some(old) = &current {
                tx.unbind_agent(Hosting::L3, &r.id, old).await?;
                tracing::info!(router = %r.id, agent = %old, "router moved off a dead L3 agent");
            }
            tx.bind_agent(Hosting::L3, &r.id, &pick).await?;
            *load_of.entry(pick.clone()).or_default() += 1;
            hosted.insert(r.id.clone(), pick.clone());
            tracing::info!(router = %r.id, agent = %pick, "router scheduled to an L3 agent");
        }
        // Every router's ports on its agent's host.
        for r in &routers {
            let host = hosted.get(&r.id).and_then(|a| agents.get(a)).map(|a| a.host.clone()).unwrap_or_default();
            self.bind_router_ports(&mut tx, &r.id, &host).await?;
        }
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// Schedules, logging instead of failing the caller (the next trigger retries).
    pub async fn reschedule_l3(&self) {
        if let Err(e) = self.schedule_routers().await {
            tracing::warn!(error = %e, "L3 scheduling failed; it will be retried");
        }
    }

    /// Routers hosted by an L3 agent (admins).
    pub async fn l3_routers_of(&self, ctx: &RequestContext, agent_id: &str) -> PluginResult<Vec<Value>> {
        ctx.enforce("get_l3-routers", &serde_json::Map::new())?;
        self.get_agent(ctx, agent_id).await?;
        let mut tx = self.begin().await?;
        let ids: Vec<String> =
            tx.agent_bindings(Hosting::L3).await?.into_iter().filter(|(_, a)| a == agent_id).map(|(r, _)| r).collect();
        let mut out = Vec::new();
        for id in ids {
            if let Some(doc) = tx.get_doc(Table::Routers, &id, &Scope::Admin).await? {
                out.push(from_doc(Table::Routers, &id, &doc)?);
            }
        }
        Ok(out)
    }

    /// L3 agents hosting a router (admins).
    pub async fn l3_agents_of(&self, ctx: &RequestContext, router_id: &str) -> PluginResult<Vec<Value>> {
        ctx.enforce("get_l3-agents", &serde_json::Map::new())?;
        let mut tx = self.begin().await?;
        let _: Router = load(&mut tx, ctx, Resource::Router, router_id).await?;
        let agents = self.l3_agents(&mut tx).await?;
        Ok(tx
            .agent_bindings(Hosting::L3)
            .await?
            .into_iter()
            .filter(|(r, _)| r == router_id)
            .filter_map(|(_, a)| agents.get(&a).map(|a| self.agent_view(a)))
            .collect())
    }

    /// `POST /agents/{id}/l3-routers {"router_id"}`: moves a router to this agent.
    pub async fn add_router_to_agent(&self, ctx: &RequestContext, agent_id: &str, router_id: &str) -> PluginResult<()> {
        ctx.enforce("add_router_to_l3_agent", &serde_json::Map::new())?;
        let mut tx = self.begin().await?;
        let agents = self.l3_agents(&mut tx).await?;
        let agent = agents.get(agent_id).ok_or_else(|| agent_not_found(agent_id))?;
        if !agent.admin_state_up {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                400,
                "InvalidL3Agent",
                format!("Agent {agent_id} is not a L3 Agent or has been disabled"),
            )));
        }
        let _: Router = load(&mut tx, &RequestContext::admin(""), Resource::Router, router_id).await?;
        for (r, a) in tx.agent_bindings(Hosting::L3).await? {
            if r == router_id && a != agent_id {
                return Err(PluginError::Fault(neutrino_model::Fault::new(
                    409,
                    "RouterHostedByL3Agent",
                    format!("The router {router_id} has been already hosted by the L3 Agent {a}."),
                )));
            }
        }
        tx.bind_agent(Hosting::L3, router_id, agent_id).await?;
        self.bind_router_ports(&mut tx, router_id, &agent.host).await?;
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// `DELETE /agents/{id}/l3-routers/{router}`.
    pub async fn remove_router_from_agent(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        router_id: &str,
    ) -> PluginResult<()> {
        ctx.enforce("remove_router_from_l3_agent", &serde_json::Map::new())?;
        let mut tx = self.begin().await?;
        if !self.l3_agents(&mut tx).await?.contains_key(agent_id) {
            return Err(agent_not_found(agent_id));
        }
        if !tx.unbind_agent(Hosting::L3, router_id, agent_id).await? {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                404,
                "RouterNotHostedByL3Agent",
                format!("The router {router_id} is not hosted by L3 agent {agent_id}."),
            )));
        }
        self.bind_router_ports(&mut tx, router_id, "").await?;
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// What the L3 agent of `host` builds.
    pub async fn l3_state(&self, host: &str) -> PluginResult<L3State> {
        let mut tx = self.begin().await?;
        let (_, last) = tx.change_bounds().await?;
        let agents = self.l3_agents(&mut tx).await?;
        let mine: BTreeSet<String> =
            agents.values().filter(|a| a.host == host && a.admin_state_up).map(|a| a.id.clone()).collect();
        let ids: Vec<String> = tx
            .agent_bindings(Hosting::L3)
            .await?
            .into_iter()
            .filter(|(_, a)| mine.contains(a))
            .map(|(r, _)| r)
            .collect();
        let admin = RequestContext::admin("");
        let mut routers = Vec::new();
        for id in ids {
            let r: Router = load(&mut tx, &admin, Resource::Router, &id).await?;
            let mut gateway = None;
            let mut interfaces = Vec::new();
            for p in self.router_ports(&mut tx, &id).await? {
                let network: Network = load(&mut tx, &admin, Resource::Network, &p.network_id).await?;
                let mut subnets = Vec::new();
                for f in &p.fixed_ips {
                    let s: Subnet = load(&mut tx, &admin, Resource::Subnet, &f.subnet_id).await?;
                    subnets.push(RouterSubnet {
                        id: s.id,
                        cidr: s.cidr,
                        ip_version: s.ip_version,
                        gateway_ip: s.gateway_ip,
                        ipv6_ra_mode: s.ipv6_ra_mode,
                        ipv6_address_mode: s.ipv6_address_mode,
                    });
                }
                let rp = RouterPort {
                    id: p.id.clone(),
                    network_id: p.network_id.clone(),
                    mac_address: p.mac_address.clone(),
                    mtu: network.mtu,
                    fixed_ips: p.fixed_ips.clone(),
                    subnets,
                };
                match p.device_owner.as_str() {
                    ROUTER_GATEWAY => gateway = Some(rp),
                    ROUTER_INTERFACE => interfaces.push(rp),
                    _ => {}
                }
            }
            let fips: Vec<FloatingIp> = self.router_floating_ips(&mut tx, &id).await?;
            let mut port_forwardings = Vec::new();
            for f in &fips {
                for pf in self.fip_port_forwardings(&mut tx, &f.id).await? {
                    port_forwardings.push(PortForwardingState {
                        id: pf.id,
                        floating_ip_address: f.floating_ip_address.clone(),
                        protocol: pf.protocol,
                        external_port: pf.external_port,
                        internal_ip_address: pf.internal_ip_address,
                        internal_port: pf.internal_port,
                    });
                }
            }
            port_forwardings.sort_by(|a, b| a.id.cmp(&b.id));
            interfaces.sort_by(|a, b| a.id.cmp(&b.id));
            let mut fips = fips;
            fips.sort_by(|a, b| a.id.cmp(&b.id));
            routers.push(RouterState {
                id: r.id.clone(),
                admin_state_up: r.admin_state_up,
                enable_snat: r.external_gateway_info.as_ref().is_some_and(|g| g.enable_snat),
                gateway,
                interfaces,
                routes: r
                    .routes
                    .iter()
                    .map(|x| ExtraRoute { destination: x.destination.clone(), nexthop: x.nexthop.clone() })
                    .collect(),
                floating_ips: fips
                    .into_iter()
                    .filter_map(|f| {
                        Some(FloatingIpState {
                            id: f.id,
                            floating_ip_address: f.floating_ip_address,
                            fixed_ip_address: f.fixed_ip_address?,
                            port_id: f.port_id?,
                        })
                    })
                    .collect(),
                port_forwardings,
            });
        }
        Ok(L3State { last, routers })
    }

    /// The instance behind `ip` on one of a router's internal networks:
    /// `(device_id, project_id)`, as the metadata proxy of a router asks.
    pub async fn metadata_lookup_by_router(&self, router_id: &str, ip: &str) -> PluginResult<Option<(String, String)>> {
        let mut tx = self.begin().await?;
        let networks: BTreeSet<String> = self
            .router_ports(&mut tx, router_id)
            .await?
            .into_iter()
            .filter(|p| p.device_owner == ROUTER_INTERFACE)
            .map(|p| p.network_id)
            .collect();
        for net in networks {
            let mut q = ListQuery::all(Scope::Admin);
            q.filters.push(by("network_id", SqlValue::Text(net)));
            let (found, _) = tx.list_docs(Table::Ports, &q).await?;
            for d in found {
                let p: Port = from_doc(Table::Ports, "?", &d)?;
                if !p.device_owner.starts_with("network:") && p.fixed_ips.iter().any(|f| f.ip_address == ip) {
                    return Ok(Some((p.device_id, p.project_id)));
                }
            }
        }
        Ok(None)
    }
}

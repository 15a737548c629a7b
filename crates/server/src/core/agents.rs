//! Agents: their state reports (registration and heartbeats), liveness
//! (`agent_down_time`), the admin API over them, and the live L2 agents a
//! port binding may use.

use neutrino_model::agent::{agent_time, parse_agent_time, LINUX_BRIDGE_AGENT, OVS_AGENT};
use neutrino_model::Agent;
use neutrino_store::{DocRow, Filter, ListQuery, Scope, SqlValue, Table, Tx};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Plugin;
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};
use crate::ml2::{AgentView, MechanismDriver};

/// What an agent reports about itself (Neutron's `report_state`).
#[derive(Debug, Clone, Deserialize)]
pub struct AgentReport {
    /// `Linux bridge agent`, …
    pub agent_type: String,
    /// `neutron-linuxbridge-agent`, …
    pub binary: String,
    /// Its host.
    pub host: String,
    /// Its topic.
    #[serde(default = "default_topic")]
    pub topic: String,
    /// Its configuration (mappings, tunnel types, local_ip, devices, …).
    #[serde(default)]
    pub configurations: Map<String, Value>,
    /// Its availability zone.
    #[serde(default)]
    pub availability_zone: Option<String>,
    /// True on the first report after the process started.
    #[serde(default)]
    pub start_flag: bool,
    /// Whether it has synced its resources since it started.
    #[serde(default)]
    pub resources_synced: Option<bool>,
}

fn default_topic() -> String {
    "N/A".into()
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

fn row(a: &Agent) -> PluginResult<DocRow> {
    Ok(DocRow {
        id: a.id.clone(),
        columns: vec![text(&a.agent_type), text(&a.host), text(&a.binary)],
        doc: serde_json::to_string(a).map_err(|e| PluginError::BadRequest(e.to_string()))?,
    })
}

fn parse(doc: &str) -> PluginResult<Agent> {
    serde_json::from_str(doc).map_err(|e| {
        PluginError::Store(neutrino_store::StoreError::Corrupt {
            table: "agents",
            id: "?".into(),
            reason: e.to_string(),
        })
    })
}

/// The agent type whose agents a mechanism driver binds with.
fn agent_type_of(driver: &MechanismDriver) -> Option<&'static str> {
    match driver {
        MechanismDriver::LinuxBridge => Some(LINUX_BRIDGE_AGENT),
        MechanismDriver::OpenVSwitch => Some(OVS_AGENT),
        MechanismDriver::L2Population => None,
    }
}

/// What a binding needs of an agent's reported configuration: its tunnel
/// types and the physical networks of its interface or bridge mappings.
pub(crate) fn view_of(a: &Agent) -> AgentView {
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let keys = |k: &str| -> Vec<String> {
        a.configurations.get(k).and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default()
    };
    let mut physical_networks = keys("interface_mappings");
    physical_networks.extend(keys("bridge_mappings"));
    let text = |k: &str| a.configurations.get(k).and_then(Value::as_str).map(str::to_string);
    AgentView {
        host: a.host.clone(),
        tunnel_types: strings(a.configurations.get("tunnel_types")),
        physical_networks,
        datapath_type: text("datapath_type"),
        ovs_hybrid_plug: a.configurations.get("ovs_hybrid_plug").and_then(Value::as_bool),
        integration_bridge: text("integration_bridge"),
        port_filter: a.configurations.get("port_filter").and_then(Value::as_bool),
    }
}

impl Plugin {
    /// Whether an agent has reported within `agent_down_time`.
    pub fn is_alive(&self, a: &Agent) -> bool {
        parse_agent_time(&a.heartbeat_timestamp).is_some_and(|t| now_secs() - t <= self.settings.agent_down_time)
    }

    /// The agent as the API shows it (with `alive`).
    pub fn agent_view(&self, a: &Agent) -> Value {
        let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("alive".into(), Value::Bool(self.is_alive(a)));
        }
        v
    }

    /// Records a state report: registers the agent on its first, refreshes
    /// its heartbeat and configuration on every one. Keeps the operator's
    /// `admin_state_up` and description.
    pub async fn report_agent_state(&self, report: AgentReport) -> PluginResult<Agent> {
        for (field, value) in [("agent_type", &report.agent_type), ("binary", &report.binary), ("host", &report.host)] {
            if value.is_empty() || value.len() > 255 {
                return Err(PluginError::BadRequest(format!("Invalid input for {field}: must be 1 to 255 characters")));
            }
        }
        let now = agent_time(now_secs());
        let mut tx = self.begin().await?;
        let existing = Self::find_agent(&mut tx, &report.agent_type, &report.host).await?;
        let created = existing.is_none();
        let agent = match existing {
            Some(mut a) => {
                a.binary = report.binary;
                a.topic = report.topic;
                a.configurations = report.configurations;
                a.heartbeat_timestamp = now.clone();
                a.availability_zone = report.availability_zone;
                a.resources_synced = report.resources_synced;
                if report.start_flag {
                    a.started_at = now;
                }
                tx.update(Table::Agents, &row(&a)?).await?;
                a
            }
            None => {
                let a = Agent {
                    id: uuid::Uuid::new_v4().to_string(),
                    agent_type: report.agent_type,
                    binary: report.binary,
                    host: report.host,
                    topic: report.topic,
                    admin_state_up: true,
                    configurations: report.configurations,
                    created_at: now.clone(),
                    started_at: now.clone(),
                    heartbeat_timestamp: now,
                    description: None,
                    availability_zone: report.availability_zone,
                    resources_synced: report.resources_synced,
                };
                tx.insert(Table::Agents, &row(&a)?).await?;
                a
            }
        };
        if created {
            tracing::info!(agent_type = %agent.agent_type, host = %agent.host, id = %agent.id, "agent registered");
        }
        tx.commit().await?;
        if agent.agent_type == super::dhcp::DHCP_AGENT {
            self.reschedule_dhcp().await;
        }
        if agent.agent_type == super::l3::L3_AGENT {
            self.reschedule_l3().await;
        }
        Ok(agent)
    }

    async fn find_agent(tx: &mut Tx, agent_type: &str, host: &str) -> PluginResult<Option<Agent>> {
        let mut q = ListQuery::all(Scope::Admin);
        q.filters.push(Filter::Eq { attr: "agent_type".into(), values: vec![text(agent_type)] });
        q.filters.push(Filter::Eq { attr: "host".into(), values: vec![text(host)] });
        let (docs, _) = tx.list_docs(Table::Agents, &q).await?;
        docs.first().map(|d| parse(d)).transpose()
    }

    /// The live agents on `host`, per mechanism driver, for a binding.
    pub(crate) async fn live_agents_on(&self, tx: &mut Tx, host: &str) -> PluginResult<Vec<(String, AgentView)>> {
        let mut q = ListQuery::all(Scope::Admin);
        q.filters.push(Filter::Eq { attr: "host".into(), values: vec![text(host)] });
        let (docs, _) = tx.list_docs(Table::Agents, &q).await?;
        let mut out = Vec::new();
        for d in docs {
            let a = parse(&d)?;
            if self.is_alive(&a) && a.admin_state_up {
                out.push((a.agent_type.clone(), view_of(&a)));
            }
        }
        Ok(out)
    }

    /// One agent (admins only; others see none, as Neutron's `get_agent`).
    pub async fn get_agent(&self, ctx: &RequestContext, id: &str) -> PluginResult<Agent> {
        let mut r = self.store.read().await?;
        let doc = r.get_doc(Table::Agents, id, &ctx.scope()).await?.ok_or_else(|| agent_not_found(id))?;
        parse(&doc)
    }

    /// Updates `admin_state_up` and `description`.
    pub async fn update_agent(&self, ctx: &RequestContext, id: &str, body: &Value) -> PluginResult<Agent> {
        let Some(Value::Object(fields)) = body.get("agent") else {
            return Err(PluginError::BadRequest("Resource body required".into()));
        };
        let mut tx = self.begin().await?;
        let doc = tx.get_doc(Table::Agents, id, &ctx.scope()).await?.ok_or_else(|| agent_not_found(id))?;
        ctx.enforce("update_agent", &Map::new())?;
        let mut a = parse(&doc)?;
        for (k, v) in fields {
            match (k.as_str(), v) {
                ("admin_state_up", Value::Bool(b)) => a.admin_state_up = *b,
                ("description", Value::String(s)) if s.len() <= 255 => a.description = Some(s.clone()),
                ("description", Value::Null) => a.description = None,
                ("admin_state_up" | "description", other) => {
                    return Err(PluginError::BadRequest(format!(
                        "Invalid input for {k}. Reason: '{other}' is not valid."
                    )))
                }
                (other, _) => {
                    return Err(PluginError::BadRequest(format!(
                        "Attribute '{other}' not allowed in PUT (only admin_state_up and description)"
                    )))
                }
            }
        }
        tx.update(Table::Agents, &row(&a)?).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Deletes an agent's row (it registers again on its next report).
    pub async fn delete_agent(&self, ctx: &RequestContext, id: &str) -> PluginResult<()> {
        let mut tx = self.begin().await?;
        tx.get_doc(Table::Agents, id, &ctx.scope()).await?.ok_or_else(|| agent_not_found(id))?;
        ctx.enforce("delete_agent", &Map::new())?;
        tx.delete(Table::Agents, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Binds with the live agents of `host`.
    pub(crate) async fn bind_on_host(
        &self,
        tx: &mut Tx,
        host: &str,
        network: &neutrino_model::Network,
        vnic_type: &str,
    ) -> PluginResult<(String, Map<String, Value>)> {
        if host.is_empty() {
            return Ok(("unbound".into(), Map::new()));
        }
        let agents = self.live_agents_on(tx, host).await?;
        let req = crate::ml2::BindRequest {
            host,
            network_type: network.provider_network_type.as_deref().unwrap_or("local"),
            physical_network: network.provider_physical_network.as_deref(),
            vnic_type,
        };
        let for_driver = |d: &MechanismDriver| -> Vec<AgentView> {
            let Some(t) = agent_type_of(d) else { return Vec::new() };
            agents.iter().filter(|(at, _)| at == t).map(|(_, v)| v.clone()).collect()
        };
        Ok(match self.mechanisms.bind(&req, &for_driver) {
            Some(b) => (b.vif_type, b.vif_details),
            None => ("binding_failed".into(), Map::new()),
        })
    }
}

fn agent_not_found(id: &str) -> PluginError {
    PluginError::Fault(neutrino_model::Fault::new(404, "AgentNotFound", format!("Agent {id} could not be found.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_read_mappings_and_tunnel_types() {
        let mut a: Agent = serde_json::from_value(serde_json::json!({
            "id": "a", "agent_type": LINUX_BRIDGE_AGENT, "binary": "neutron-linuxbridge-agent", "host": "n1",
            "topic": "N/A", "admin_state_up": true, "created_at": "", "started_at": "", "heartbeat_timestamp": "",
            "description": null, "availability_zone": null, "resources_synced": null,
            "configurations": {"tunnel_types": ["vxlan"], "interface_mappings": {"physnet1": "eth1"}}
        }))
        .expect("agent");
        let v = view_of(&a);
        assert_eq!(v.tunnel_types, ["vxlan"]);
        assert_eq!(v.physical_networks, ["physnet1"]);
        a.configurations = Map::new();
        assert!(view_of(&a).tunnel_types.is_empty());
    }
}

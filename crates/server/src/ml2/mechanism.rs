//! Mechanism drivers: who can bind a port, on which host, with which VIF.
//!
//! A driver binds a port when the port's host runs a live L2 agent of its
//! kind that covers the network's segment. Agents report themselves through
//! the agent channel (a later capability); until a host has reported one, no
//! driver can bind there and a port with a `binding:host_id` ends up
//! `binding_failed`, exactly as Neutron does for a host without an agent.

/// The result of a successful binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// `binding:vif_type`.
    pub vif_type: String,
    /// `binding:vif_details`.
    pub vif_details: serde_json::Map<String, serde_json::Value>,
}

/// What a driver needs to decide a binding.
#[derive(Debug, Clone)]
pub struct BindRequest<'a> {
    /// The host asked for.
    pub host: &'a str,
    /// Segment type of the network.
    pub network_type: &'a str,
    /// Physical network of the segment.
    pub physical_network: Option<&'a str>,
    /// `binding:vnic_type`.
    pub vnic_type: &'a str,
}

/// A live L2 agent as the binding sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentView {
    /// Its host.
    pub host: String,
    /// Tunnel types it serves (`vxlan`, `gre`).
    pub tunnel_types: Vec<String>,
    /// Physical networks it is wired to.
    pub physical_networks: Vec<String>,
    /// An OVS agent's `datapath_type` (`system`, `netdev`).
    pub datapath_type: Option<String>,
    /// An OVS agent's `ovs_hybrid_plug` (its firewall is the hybrid one).
    pub ovs_hybrid_plug: Option<bool>,
    /// An OVS agent's integration bridge.
    pub integration_bridge: Option<String>,
    /// Whether it filters its ports (an agent that says `false` has no
    /// firewall yet; unsaid means it does).
    pub port_filter: Option<bool>,
}

/// The mechanism drivers of `[ml2] mechanism_drivers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MechanismDriver {
    /// Linux bridge agent ports (`vif_type = bridge`).
    LinuxBridge,
    /// Open vSwitch agent ports (`vif_type = ovs`).
    OpenVSwitch,
    /// Forwarding-table population; binds nothing.
    L2Population,
}

impl MechanismDriver {
    fn vif_type(&self) -> Option<&'static str> {
        match self {
            MechanismDriver::LinuxBridge => Some("bridge"),
            MechanismDriver::OpenVSwitch => Some("ovs"),
            MechanismDriver::L2Population => None,
        }
    }

    /// Tries to bind with one of `agents` (this driver's live agents on the host).
    pub fn try_bind(&self, req: &BindRequest<'_>, agents: &[AgentView]) -> Option<Binding> {
        let vif_type = self.vif_type()?;
        if req.vnic_type != "normal" {
            return None;
        }
        let covers = |a: &AgentView| match req.network_type {
            "local" => true,
            "flat" | "vlan" => req.physical_network.is_some_and(|p| a.physical_networks.iter().any(|x| x == p)),
            t => a.tunnel_types.iter().any(|x| x == t),
        };
        let agent = agents.iter().find(|a| a.host == req.host && covers(a))?;
        let mut vif_details = serde_json::Map::new();
        vif_details.insert("port_filter".into(), serde_json::Value::Bool(agent.port_filter.unwrap_or(true)));
        if matches!(self, MechanismDriver::OpenVSwitch) {
            // What Nova's os-vif needs to plug into this agent's bridge.
            let text = |v: &Option<String>, default: &str| {
                serde_json::Value::String(v.clone().unwrap_or_else(|| default.into()))
            };
            vif_details
                .insert("ovs_hybrid_plug".into(), serde_json::Value::Bool(agent.ovs_hybrid_plug.unwrap_or(false)));
            vif_details.insert("datapath_type".into(), text(&agent.datapath_type, "system"));
            vif_details.insert("bridge_name".into(), text(&agent.integration_bridge, "br-int"));
            vif_details.insert("connectivity".into(), serde_json::Value::String("l2".into()));
        }
        Some(Binding { vif_type: vif_type.into(), vif_details })
    }
}

/// The ordered mechanism drivers.
#[derive(Debug, Clone, Default)]
pub struct MechanismManager {
    ordered: Vec<MechanismDriver>,
}

impl MechanismManager {
    /// Builds the drivers named in config; unknown ones were warned about.
    pub fn from_names(names: &[String]) -> Self {
        let ordered = names
            .iter()
            .filter_map(|n| match n.as_str() {
                "linuxbridge" => Some(MechanismDriver::LinuxBridge),
                "openvswitch" => Some(MechanismDriver::OpenVSwitch),
                "l2population" => Some(MechanismDriver::L2Population),
                _ => None,
            })
            .collect();
        MechanismManager { ordered }
    }

    /// Binds with the first driver that can; `agents` are the host's live
    /// L2 agents per driver (none until agents report).
    pub fn bind(&self, req: &BindRequest<'_>, agents: &dyn Fn(&MechanismDriver) -> Vec<AgentView>) -> Option<Binding> {
        self.ordered.iter().find_map(|d| d.try_bind(req, &agents(d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(host: &'a str, t: &'a str, p: Option<&'a str>) -> BindRequest<'a> {
        BindRequest { host, network_type: t, physical_network: p, vnic_type: "normal" }
    }

    #[test]
    fn binds_only_where_a_live_agent_covers_the_segment() {
        let m = MechanismManager::from_names(&["l2population".into(), "linuxbridge".into()]);
        let agent = AgentView {
            host: "n1".into(),
            tunnel_types: vec!["vxlan".into()],
            physical_networks: vec!["physnet1".into()],
            ..AgentView::default()
        };
        let agents =
            |d: &MechanismDriver| if *d == MechanismDriver::LinuxBridge { vec![agent.clone()] } else { vec![] };
        assert_eq!(m.bind(&req("n1", "vxlan", None), &agents).map(|b| b.vif_type), Some("bridge".into()));
        assert_eq!(m.bind(&req("n1", "flat", Some("physnet1")), &agents).map(|b| b.vif_type), Some("bridge".into()));
        assert!(m.bind(&req("n1", "gre", None), &agents).is_none());
        assert!(m.bind(&req("n2", "vxlan", None), &agents).is_none());
        assert!(m.bind(&req("n1", "vxlan", None), &|_| vec![]).is_none());
    }

    #[test]
    fn ovs_ports_carry_what_os_vif_needs_of_the_agent() {
        let m = MechanismManager::from_names(&["openvswitch".into(), "linuxbridge".into()]);
        let ovs = AgentView {
            host: "n1".into(),
            tunnel_types: vec!["vxlan".into()],
            datapath_type: Some("netdev".into()),
            ovs_hybrid_plug: Some(true),
            ..AgentView::default()
        };
        let agents = |d: &MechanismDriver| if *d == MechanismDriver::OpenVSwitch { vec![ovs.clone()] } else { vec![] };
        let b = m.bind(&req("n1", "vxlan", None), &agents).expect("bound");
        assert_eq!(b.vif_type, "ovs");
        assert_eq!(
            serde_json::Value::Object(b.vif_details),
            serde_json::json!({"port_filter": true, "ovs_hybrid_plug": true, "datapath_type": "netdev",
                               "bridge_name": "br-int", "connectivity": "l2"})
        );
        // Heterogeneous nodes: a host with only a Linux bridge agent still binds there.
        let lb = AgentView { host: "n2".into(), tunnel_types: vec!["vxlan".into()], ..AgentView::default() };
        let agents = |d: &MechanismDriver| match d {
            MechanismDriver::OpenVSwitch => vec![ovs.clone()],
            MechanismDriver::LinuxBridge => vec![lb.clone()],
            MechanismDriver::L2Population => vec![],
        };
        assert_eq!(m.bind(&req("n2", "vxlan", None), &agents).map(|b| b.vif_type), Some("bridge".into()));
    }
}

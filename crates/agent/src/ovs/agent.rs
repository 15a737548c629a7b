//! The Open vSwitch L2 agent of one host: reports as Neutron's "Open
//! vSwitch agent", reads its host's desired state, and makes OVS match it
//! each round — the bridges ([`super::bridges`]), the instances' ports on
//! `br-int` with their networks' local VLANs ([`super::ports`]), the tunnel
//! ports and `br-tun` tables ([`super::tunnels`]) and `br-int`'s table
//! ([`super::flows`]) — then reports the wired ports up and waits for what
//! concerns its host, as the Linux bridge agent does.
//!
//! Provider networks (flat, VLAN) go through `bridge_mappings`
//! ([`super::provider`]); with `arp_responder`, `br-tun` answers ARP for
//! the remote ports' addresses. Security groups ([`OvsFirewallDriver`]):
//! with `iptables_hybrid` instance ports are hybrid-plugged
//! ([`super::hybrid`]) and filtered by the nftables firewall
//! ([`crate::firewall`]) on their own bridge; with `openvswitch` they sit on
//! `br-int` and are filtered by OpenFlow flows with conntrack
//! ([`super::firewall`]). The agent reports `ovs_hybrid_plug` and
//! `port_filter` accordingly, so bindings say so.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::Ipv4Addr;

use serde_json::{json, Value};
use tracing::{info, warn};

use super::bridges::{self, BridgeConfig};
use super::firewall as openflow_firewall;
use super::flows::Switch;
use super::hybrid;
use super::ovsdb::Ovsdb;
use super::ports::{self, WantedPort};
use super::provider::{self, ProviderNetwork};
use super::tunnels::{self, TunnelNetwork};
use crate::channel::{Channel, ChannelError, Heartbeat};
use crate::dataplane::{Dataplane, Op};
use crate::firewall::{self, Firewall, Plug, TxKind};
use crate::state::HostState;

/// openvswitch_agent.ini, as far as this agent goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvsAgentConfig {
    /// The bridges.
    pub bridges: BridgeConfig,
    /// `[ovs] local_ip`: this host's tunnel endpoint.
    pub local_ip: Option<Ipv4Addr>,
    /// `[agent] tunnel_types`.
    pub tunnel_types: Vec<String>,
    /// `[agent] l2_population`.
    pub l2_population: bool,
    /// `[agent] arp_responder` (with l2_population): `br-tun` answers ARP
    /// for the remote ports' addresses instead of flooding the request.
    pub arp_responder: bool,
    /// `[ovs] ovsdb_connection` (default `unix:/var/run/openvswitch/db.sock`).
    pub ovsdb_connection: String,
    /// `[securitygroup] firewall_driver` (with `enable_security_group` on).
    pub firewall: OvsFirewallDriver,
}

/// How the Open vSwitch agent filters its instance ports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OvsFirewallDriver {
    /// `noop` (or security groups off): not at all.
    #[default]
    Noop,
    /// `iptables_hybrid`: each instance port on a Linux bridge of its own
    /// (the hybrid plug), filtered there by the nftables firewall.
    Hybrid,
    /// `openvswitch`: OpenFlow flows with conntrack on `br-int`.
    OpenFlow,
}

/// The OVS agent of one host.
#[derive(Debug)]
pub struct OvsAgent<D> {
    /// The server.
    pub channel: Channel,
    /// The node's kernel (which instance devices exist; link events).
    pub dataplane: D,
    /// Its configuration.
    pub config: OvsAgentConfig,
    /// Its host name.
    pub host: String,
    /// Seconds between heartbeats.
    pub report_interval: u64,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OvsRound {
    /// OVSDB operations applied.
    pub ops: usize,
    /// Ports reported up.
    pub up: usize,
    /// Ports reported down.
    pub down: usize,
    /// What the firewall applied, if anything.
    pub firewall: Option<TxKind>,
}

impl OvsAgentConfig {
    /// `ovs-ofctl`'s way to a bridge: its management socket beside the
    /// database socket (how both the system instance and a per-node one lay
    /// out their run directory), else the bridge's name.
    fn switch(&self, bridge: &str) -> Switch {
        let target = match self.ovsdb_connection.strip_prefix("unix:") {
            Some(sock) => match std::path::Path::new(sock).parent() {
                Some(dir) => format!("unix:{}/{bridge}.mgmt", dir.display()),
                None => bridge.to_string(),
            },
            None => bridge.to_string(),
        };
        Switch { target }
    }
}

/// The provider bridge carrying `n` on this host: a flat or VLAN network
/// (VLAN id 1–4094) whose physical network `bridge_mappings` maps.
fn provider_bridge<'a>(c: &'a OvsAgentConfig, n: &crate::state::NetworkState) -> Option<&'a str> {
    let bridge = c.bridges.bridge_mappings.get(n.physical_network.as_deref()?)?;
    match (n.network_type.as_str(), n.segmentation_id) {
        ("flat", None) => Some(bridge),
        ("vlan", Some(id)) if (1..=u32::from(ports::MAX_VLAN)).contains(&id) => Some(bridge),
        _ => None,
    }
}

impl<D: Dataplane> OvsAgent<D> {
    fn report_body(&self, start: bool, devices: usize, synced: bool) -> Value {
        let c = &self.config;
        let mappings: serde_json::Map<String, Value> =
            c.bridges.bridge_mappings.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        json!({
            "agent_type": neutrino_model::agent::OVS_AGENT,
            "binary": "neutron-openvswitch-agent",
            "host": self.host,
            "topic": "N/A",
            "start_flag": start,
            "resources_synced": synced,
            "configurations": {
                "bridge_mappings": mappings,
                "tunnel_types": c.tunnel_types,
                "tunneling_ip": c.local_ip.map(|i| i.to_string()),
                "local_ip": c.local_ip.map(|i| i.to_string()),
                "l2_population": c.l2_population,
                "arp_responder_enabled": c.arp_responder && c.l2_population,
                "datapath_type": c.bridges.datapath_type,
                "integration_bridge": c.bridges.integration_bridge,
                "ovs_hybrid_plug": c.firewall == OvsFirewallDriver::Hybrid,
                "port_filter": c.firewall != OvsFirewallDriver::Noop,
                "devices": devices,
            }
        })
    }

    /// How this agent plugs instance ports.
    fn plug(&self) -> Plug {
        if self.config.firewall == OvsFirewallDriver::Hybrid {
            Plug::Hybrid
        } else {
            Plug::NetworkBridge
        }
    }

    /// One level-triggered round: OVS made to match `state`, devices
    /// reported. The firewall (when on) comes first, so a port is filtered
    /// before it is wired; if it cannot be loaded, nothing is wired.
    /// `firewall` is what this agent's earlier rounds applied.
    pub async fn round(&self, state: &HostState, firewall: &mut Firewall) -> Result<OvsRound, String> {
        let c = &self.config;
        let fw = if c.firewall == OvsFirewallDriver::Hybrid {
            firewall.sync(&self.dataplane, state).await.map_err(|e| format!("security group firewall: {e}"))?
        } else {
            None
        };
        let mut db = Ovsdb::connect(&c.ovsdb_connection).await.map_err(|e| e.to_string())?;
        bridges::init(&mut db).await.map_err(|e| e.to_string())?;
        let mut ops = bridges::ensure(&mut db, &c.bridges).await.map_err(|e| e.to_string())?;
        let snapshot = self.dataplane.snapshot().await.map_err(|e| e.to_string())?;

        // The ports whose device exists and whose network this host can carry.
        let mut carried: BTreeMap<&str, &crate::state::NetworkState> = BTreeMap::new();
        for n in &state.networks {
            let tunnel = c.tunnel_types.contains(&n.network_type) && c.local_ip.is_some();
            if n.network_type == "local" || (tunnel && n.segmentation_id.is_some()) || provider_bridge(c, n).is_some() {
                carried.insert(n.id.as_str(), n);
            }
        }
        // Devices another agent plugged into another bridge (the L3 agent's
        // gateway ports on its external_network_bridge) are wired already.
        let int = &c.bridges.integration_bridge;
        let (int_uuid, actual, elsewhere) = ports::read_with_others(&mut db, int).await.map_err(|e| e.to_string())?;
        let mut wanted = Vec::new();
        let mut hybrid_ports = Vec::new();
        let mut missing = Vec::new();
        let mut plugged_elsewhere = BTreeSet::new();
        let mut unsupported = BTreeSet::new();
        for p in &state.ports {
            let device = neutrino_model::names::tap_device(&p.id);
            if elsewhere.contains(&device) {
                if snapshot.link(&device).is_some() {
                    plugged_elsewhere.insert(p.id.as_str());
                }
                continue;
            }
            let Some(n) = carried.get(p.network_id.as_str()) else {
                unsupported.insert(p.network_id.as_str());
                continue;
            };
            if snapshot.link(&device).is_none() {
                missing.push(p.id.clone());
                continue;
            }
            let device = if firewall::hybrid_plugged(self.plug(), p) {
                hybrid_ports.push(p.id.clone());
                neutrino_model::names::hybrid_ovs_veth(&p.id)
            } else {
                device
            };
            wanted.push(WantedPort {
                device,
                port_id: p.id.clone(),
                mac: p.mac_address.clone(),
                network_id: p.network_id.clone(),
                network_type: n.network_type.clone(),
                physical_network: n.physical_network.clone(),
                segmentation_id: n.segmentation_id,
            });
        }
        // The compute side creates the device; the agent brings it up, as
        // the Linux bridge agent does, and builds (or removes) hybrid plugs.
        let mut links = hybrid::plan(&hybrid_ports, &snapshot);
        links.extend(
            wanted
                .iter()
                .filter(|w| !hybrid_ports.contains(&w.port_id) && snapshot.link(&w.device).is_some_and(|l| !l.up))
                .map(|w| Op::SetUp { dev: w.device.clone() }),
        );
        if !links.is_empty() {
            tracing::debug!(ops = ?links, "kernel operations");
            self.dataplane.apply(&links).await.map_err(|e| e.to_string())?;
        }
        for net in unsupported {
            let n = state.networks.iter().find(|n| n.id == net);
            let kind = n.map_or("?", |n| n.network_type.as_str());
            warn!(network = %net, network_type = %kind, "network not carried by this host's bridges (tunnel_types, bridge_mappings)");
        }
        let networks: BTreeSet<String> = wanted.iter().map(|w| w.network_id.clone()).collect();
        let vlans = ports::local_vlans(&networks, &actual);
        let plugs = ports::plan(&int_uuid, &wanted, &vlans, &actual);
        ops += plugs.len();
        if !plugs.is_empty() {
            db.transact(plugs).await.map_err(|e| e.to_string())?;
        }
        // Provider networks: local VLAN ↔ provider VLAN (or untagged) across the patch ports.
        let provider_networks: Vec<ProviderNetwork> = vlans
            .iter()
            .filter_map(|(net, vlan)| {
                let n = carried.get(net.as_str())?;
                let bridge = provider_bridge(c, n)?;
                let vlan_id = match n.network_type.as_str() {
                    "vlan" => Some(u16::try_from(n.segmentation_id?).ok()?),
                    _ => None,
                };
                Some(ProviderNetwork { bridge: bridge.to_string(), local_vlan: *vlan, vlan: vlan_id })
            })
            .collect();
        let mapped: Vec<&str> = c.bridges.bridge_mappings.values().map(String::as_str).collect();
        let int_flows = if c.firewall == OvsFirewallDriver::OpenFlow {
            let by_id: BTreeMap<&str, &crate::state::PortState> =
                state.ports.iter().map(|p| (p.id.as_str(), p)).collect();
            let on_int: Vec<openflow_firewall::BridgePort<'_>> = wanted
                .iter()
                .filter_map(|w| {
                    let port = *by_id.get(w.port_id.as_str())?;
                    Some(openflow_firewall::BridgePort {
                        port,
                        device: w.device.clone(),
                        local_vlan: *vlans.get(&w.network_id)?,
                    })
                })
                .collect();
            let mut patches: Vec<String> = mapped.iter().map(|b| provider::int_patch(b)).collect();
            if c.bridges.tunneling {
                patches.push(bridges::TUNNEL_PATCH.to_string());
            }
            let next = format!("resubmit(,{})", openflow_firewall::TRANSIENT);
            let mut f = provider::integration_flows(&mapped, &provider_networks, &next);
            f.extend(openflow_firewall::flows(state, &on_int, &patches));
            f
        } else {
            provider::integration_flows(&mapped, &provider_networks, "NORMAL")
        };
        c.switch(int).apply(&int_flows).map_err(|e| e.to_string())?;
        for (bridge, table) in provider::provider_flows(&mapped, &provider_networks) {
            c.switch(&bridge).apply(&table).map_err(|e| e.to_string())?;
        }

        // Tunnels: one port per peer VTEP and type, br-tun's tables.
        if let (true, Some(local)) = (c.bridges.tunneling, c.local_ip) {
            let mut tunnel_networks = Vec::new();
            let mut remotes: BTreeMap<String, BTreeSet<Ipv4Addr>> = BTreeMap::new();
            for (net, vlan) in &vlans {
                let Some(n) = carried.get(net.as_str()) else { continue };
                let (Some(vni), true) = (n.segmentation_id, n.network_type != "local") else { continue };
                let remote: Vec<&crate::state::PeerPort> = state
                    .peers
                    .iter()
                    .filter(|p| p.network_id == *net && p.vtep.parse::<Ipv4Addr>().is_ok_and(|v| v != local))
                    .collect();
                let peers: Vec<(Ipv4Addr, &str)> = remote
                    .iter()
                    .filter_map(|p| Some((p.vtep.parse::<Ipv4Addr>().ok()?, p.mac_address.as_str())))
                    .collect();
                let arp = if c.l2_population && c.arp_responder {
                    remote
                        .iter()
                        .flat_map(|p| {
                            p.ips.iter().filter_map(|i| i.parse::<Ipv4Addr>().ok()).map(|i| (i, p.mac_address.clone()))
                        })
                        .collect()
                } else {
                    BTreeMap::new()
                };
                let vteps: BTreeSet<Ipv4Addr> = peers.iter().map(|(v, _)| *v).collect();
                remotes.entry(n.network_type.clone()).or_default().extend(vteps.iter().copied());
                let macs = if c.l2_population {
                    peers.iter().map(|(v, m)| (m.to_string(), *v)).collect()
                } else {
                    BTreeMap::new()
                };
                tunnel_networks.push(TunnelNetwork {
                    kind: n.network_type.clone(),
                    local_vlan: *vlan,
                    vni,
                    vteps,
                    macs,
                    arp,
                });
            }
            let tun = &c.bridges.tunnel_bridge;
            // One read serves every type: each plan touches only its own type's ports.
            let (tun_uuid, have) = tunnels::read(&mut db, tun).await.map_err(|e| e.to_string())?;
            for kind in &c.tunnel_types {
                let want = remotes.get(kind).cloned().unwrap_or_default();
                let plan = tunnels::plan(&tun_uuid, kind, local, &want, &have);
                ops += plan.len();
                if !plan.is_empty() {
                    db.transact(plan).await.map_err(|e| e.to_string())?;
                }
            }
            c.switch(tun).apply(&tunnels::flows(&tunnel_networks)).map_err(|e| e.to_string())?;
        }

        let mut wired: BTreeSet<&str> = wanted.iter().map(|w| w.port_id.as_str()).collect();
        wired.extend(plugged_elsewhere);
        let up: Vec<String> = state
            .ports
            .iter()
            .filter(|p| wired.contains(p.id.as_str()) && p.status != "ACTIVE")
            .map(|p| p.id.clone())
            .collect();
        let down: Vec<String> = state
            .ports
            .iter()
            .filter(|p| missing.contains(&p.id) && p.status == "ACTIVE")
            .map(|p| p.id.clone())
            .collect();
        if !up.is_empty() || !down.is_empty() {
            self.channel.devices(&self.host, &[], &up, &down).await.map_err(|e| e.to_string())?;
        }
        Ok(OvsRound { ops: ops + links.len(), up: up.len(), down: down.len(), firewall: fw })
    }

    /// Runs until `shutdown` completes; `ready` is called after the first full sync.
    pub async fn run(&self, shutdown: impl Future<Output = ()>, ready: impl FnOnce()) -> Result<(), ChannelError> {
        tokio::pin!(shutdown);
        let mut ready = Some(ready);
        let links = self.dataplane.watch_links().unwrap_or_else(|| std::sync::Arc::new(tokio::sync::Notify::new()));
        let mut heartbeat = Heartbeat::new(self.report_interval);
        let mut firewall = Firewall::new(self.plug());
        loop {
            let state = tokio::select! {
                () = &mut shutdown => return Ok(()),
                s = self.channel.state_retrying(&self.host) => s,
            };
            let synced = match self.round(&state, &mut firewall).await {
                Ok(r) => {
                    if r.ops > 0 || r.up > 0 || r.down > 0 || r.firewall.is_some() {
                        info!(ops = r.ops, up = r.up, down = r.down, firewall = ?r.firewall, "OVS reconciled");
                    }
                    true
                }
                Err(e) => {
                    warn!(error = %e, "OVS reconcile failed; will retry");
                    false
                }
            };
            heartbeat.beat(&self.channel, |start| self.report_body(start, state.ports.len(), synced)).await;
            if synced {
                if let Some(f) = ready.take() {
                    f();
                }
            }
            let wait = if synced { heartbeat.wait_secs() } else { 1 };
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = links.notified() => {}
                // Any change of the host's stream (with the firewall on, of security
                // groups and remote groups' members too), or the heartbeat's timeout, starts a round.
                _ = self.channel.host_changes(
                    state.last,
                    wait,
                    &self.host,
                    self.config.firewall != OvsFirewallDriver::Noop,
                    !state.firewall.remote_groups.is_empty(),
                ) => {}
            }
        }
    }
}

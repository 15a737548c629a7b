//! The Linux bridge L2 agent's loop: report, read the host's desired state,
//! reconcile, report device status, then wait on the change stream for
//! anything that concerns this host and do it again; heartbeats every
//! `report_interval`; a lost position means a full resync.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};
use tracing::{info, warn};

use crate::channel::{Changes, Channel, ChannelError, Heartbeat};
use crate::dataplane::Dataplane;
use crate::firewall::{Firewall, TxKind};
use crate::reconcile::{plan, L2Config};
use crate::state::HostState;

/// The L2 agent of one host.
#[derive(Debug)]
pub struct L2Agent<D> {
    /// The server.
    pub channel: Channel,
    /// The kernel.
    pub dataplane: D,
    /// Its configuration.
    pub config: L2Config,
    /// Its host name.
    pub host: String,
    /// Seconds between heartbeats.
    pub report_interval: u64,
}

/// What one reconcile round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// The security-group firewall transaction applied, if any.
    pub firewall: Option<TxKind>,
    /// Kernel operations applied.
    pub ops: usize,
    /// Ports reported up.
    pub up: usize,
    /// Ports reported down.
    pub down: usize,
}

impl<D: Dataplane> L2Agent<D> {
    fn report_body(&self, start: bool, devices: usize, synced: bool) -> Value {
        let mappings: serde_json::Map<String, Value> =
            self.config.interface_mappings.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        json!({
            "agent_type": neutrino_model::agent::LINUX_BRIDGE_AGENT,
            "binary": "neutron-linuxbridge-agent",
            "host": self.host,
            "topic": "N/A",
            "start_flag": start,
            "resources_synced": synced,
            "configurations": {
                "interface_mappings": mappings,
                "tunnel_types": if self.config.local_ip.is_some() { json!(["vxlan"]) } else { json!([]) },
                "local_ip": self.config.local_ip,
                "l2_population": self.config.l2_population,
                "devices": devices,
            }
        })
    }

    /// One level-triggered round of a fresh agent (see [`L2Agent::round`]).
    pub async fn reconcile(&self, state: &HostState) -> Result<RoundReport, String> {
        self.round(state, &mut Firewall::default()).await
    }

    /// One level-triggered round: read, plan, apply, report devices. The
    /// firewall (when on) comes first, so a port is filtered before it is
    /// wired to its bridge; if it cannot be loaded, nothing is wired.
    /// `firewall` is what this agent's earlier rounds applied.
    pub async fn round(&self, state: &HostState, firewall: &mut Firewall) -> Result<RoundReport, String> {
        let fw = if self.config.firewall {
            firewall.sync(&self.dataplane, state).await.map_err(|e| format!("security group firewall: {e}"))?
        } else {
            None
        };
        let snapshot = self.dataplane.snapshot().await.map_err(|e| e.to_string())?;
        let p = plan(state, &self.config, &snapshot);
        for (net, why) in &p.skipped {
            warn!(network = %net, "not realised on this host: {why}");
        }
        // Ports about to be wired are BUILD meanwhile, as Neutron's agents report.
        let build: Vec<String> = state
            .ports
            .iter()
            .filter(|port| p.ports_up.contains(&port.id) && port.status == "DOWN")
            .map(|port| port.id.clone())
            .collect();
        if !build.is_empty() {
            self.channel.devices(&self.host, &build, &[], &[]).await.map_err(|e| e.to_string())?;
        }
        if !p.ops.is_empty() {
            info!(ops = p.ops.len(), "reconciling the kernel");
            tracing::debug!(ops = ?p.ops, "operations");
            self.dataplane.apply(&p.ops).await.map_err(|e| e.to_string())?;
        }
        let up: Vec<String> = state
            .ports
            .iter()
            .filter(|port| p.ports_up.contains(&port.id) && port.status != "ACTIVE")
            .map(|port| port.id.clone())
            .collect();
        let down: Vec<String> = state
            .ports
            .iter()
            .filter(|port| p.ports_missing.contains(&port.id) && port.status == "ACTIVE")
            .map(|port| port.id.clone())
            .collect();
        if !up.is_empty() || !down.is_empty() {
            self.channel.devices(&self.host, &[], &up, &down).await.map_err(|e| e.to_string())?;
        }
        Ok(RoundReport { firewall: fw, ops: p.ops.len(), up: up.len(), down: down.len() })
    }

    /// Whether a change may concern this host. With the firewall on, so do
    /// security group and rule changes, and, when this host's rules name
    /// remote groups, port changes anywhere (they may change the members).
    fn concerns(&self, state: &HostState, changes: &Changes) -> bool {
        let networks: BTreeSet<&str> = state.networks.iter().map(|n| n.id.as_str()).collect();
        let remote_groups = !state.firewall.remote_groups.is_empty();
        changes.changes.iter().any(|c| {
            c.host.as_deref() == Some(self.host.as_str())
                || c.network_id.as_deref().is_some_and(|n| networks.contains(n))
                || c.resource == "agent"
                || (self.config.firewall
                    && (c.resource == "security_group"
                        || c.resource == "security_group_rule"
                        || (c.resource == "port" && remote_groups)))
        })
    }

    /// Runs until `shutdown` completes. `ready` is called after the first
    /// full sync.
    pub async fn run(&self, shutdown: impl Future<Output = ()>, ready: impl FnOnce()) -> Result<(), ChannelError> {
        tokio::pin!(shutdown);
        let mut ready = Some(ready);
        // Devices plugged by the compute side trigger a round too.
        let links = self.dataplane.watch_links().unwrap_or_else(|| std::sync::Arc::new(tokio::sync::Notify::new()));
        let mut firewall = Firewall::default();
        let mut heartbeat = Heartbeat::new(self.report_interval);
        loop {
            // Full read of the desired state, then reconcile.
            let state = tokio::select! {
                () = &mut shutdown => return Ok(()),
                s = self.channel.state_retrying(&self.host) => s,
            };
            let synced = match self.round(&state, &mut firewall).await {
                Ok(r) => {
                    if r.ops > 0 || r.up > 0 || r.down > 0 || r.firewall.is_some() {
                        info!(ops = r.ops, up = r.up, down = r.down, firewall = ?r.firewall, "reconciled");
                    }
                    true
                }
                Err(e) => {
                    warn!(error = %e, "reconcile failed; will retry");
                    false
                }
            };
            heartbeat.beat(&self.channel, |start| self.report_body(start, state.ports.len(), synced)).await;
            if synced {
                if let Some(f) = ready.take() {
                    f();
                }
            }
            // Wait for something that concerns this host (or a heartbeat, or a failed round's retry).
            let mut position = state.last;
            loop {
                let wait = if synced { heartbeat.wait_secs() } else { 1 };
                let changes = tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = links.notified() => break,
                    c = self.channel.host_changes(
                        position,
                        wait,
                        &self.host,
                        self.config.firewall,
                        !state.firewall.remote_groups.is_empty(),
                    ) => c,
                };
                match changes {
                    Ok(c) if c.resync || self.concerns(&state, &c) => break,
                    Ok(c) => position = c.last,
                    Err(e) => {
                        warn!(error = %e, "change stream failed; resyncing");
                        tokio::select! {
                            () = &mut shutdown => return Ok(()),
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                        break;
                    }
                }
                // A failed round is retried; the firewall is read back from the kernel now and then.
                if !synced || (self.config.firewall && firewall.resync_due()) {
                    break;
                }
                heartbeat.beat(&self.channel, |start| self.report_body(start, state.ports.len(), true)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::ChangeRef;
    use crate::dataplane::Memory;
    use crate::state::HostFirewall;

    fn agent(firewall: bool) -> L2Agent<Memory> {
        L2Agent {
            channel: Channel::new("http://127.0.0.1:9", None).expect("channel"),
            dataplane: Memory::default(),
            config: L2Config { firewall, ..L2Config::default() },
            host: "node-1".into(),
            report_interval: 30,
        }
    }

    fn change(resource: &str, network_id: Option<&str>) -> Changes {
        Changes {
            changes: vec![ChangeRef {
                seq: 2,
                resource: resource.into(),
                network_id: network_id.map(String::from),
                host: Some("node-2".into()),
            }],
            last: 2,
            resync: false,
        }
    }

    #[test]
    fn security_group_changes_concern_a_filtering_agent() {
        let mut state = HostState {
            last: 1,
            host: "node-1".into(),
            networks: vec![],
            ports: vec![],
            peers: vec![],
            firewall: HostFirewall::default(),
        };
        let (off, on) = (agent(false), agent(true));
        for resource in ["security_group", "security_group_rule"] {
            assert!(!off.concerns(&state, &change(resource, None)), "{resource}: noop firewall");
            assert!(on.concerns(&state, &change(resource, None)), "{resource}");
        }
        let elsewhere = change("port", Some("another-network"));
        assert!(!on.concerns(&state, &elsewhere), "no remote group here: another host's port is not ours");
        state.firewall.remote_groups.insert("g".into(), vec![]);
        assert!(on.concerns(&state, &elsewhere), "it may join or leave a remote group");
        assert!(!off.concerns(&state, &elsewhere));
    }
}

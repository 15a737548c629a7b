//! From a host's desired state and the kernel's snapshot to the smallest
//! list of operations that makes the kernel right. Pure: what is already
//! right produces no operation, so a restarted agent changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use neutrino_model::names;

use crate::dataplane::{FdbEntry, NeighEntry, Op, Snapshot};
use crate::state::HostState;

/// The L2 agent's own configuration (linuxbridge_agent.ini).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct L2Config {
    /// `[vxlan] local_ip`: this host's VTEP; VXLAN networks need it.
    pub local_ip: Option<String>,
    /// `[linux_bridge] physical_interface_mappings`: physnet → interface.
    pub interface_mappings: BTreeMap<String, String>,
    /// `[vxlan] l2_population`: static forwarding entries from the server.
    pub l2_population: bool,
    /// Whether the kernel has 802.1q VLAN devices (this machine's has not).
    pub vlan_supported: bool,
    /// `[securitygroup] firewall_driver`: whether ports are filtered by
    /// their security groups ([`crate::firewall`]); off is Neutron's `noop`.
    pub firewall: bool,
}

/// The plan for one round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Kernel operations, in order.
    pub ops: Vec<Op>,
    /// Ports wired once `ops` are applied (their device exists).
    pub ports_up: Vec<String>,
    /// Ports whose device does not exist (yet).
    pub ports_missing: Vec<String>,
    /// Networks this host cannot realise, and why.
    pub skipped: Vec<(String, String)>,
}

const FLOOD: &str = "00:00:00:00:00:00";

/// Plans the operations that make `actual` match `desired` under `cfg`.
pub fn plan(desired: &HostState, cfg: &L2Config, actual: &Snapshot) -> Plan {
    let mut p = Plan::default();
    let mut wanted_links: BTreeSet<String> = BTreeSet::new();
    let mut wanted_fdb: BTreeSet<FdbEntry> = BTreeSet::new();
    let mut wanted_neigh: BTreeSet<NeighEntry> = BTreeSet::new();

    for net in &desired.networks {
        let bridge = names::bridge(&net.id);
        // The uplink of the network's bridge, if it has one.
        let uplink = match (net.network_type.as_str(), net.segmentation_id) {
            ("local", _) => None,
            ("vxlan", Some(vni)) => match &cfg.local_ip {
                Some(local) => Some((names::vxlan_device(vni), Some((vni, local.clone())))),
                None => {
                    p.skipped.push((net.id.clone(), "vxlan needs [vxlan] local_ip".into()));
                    continue;
                }
            },
            ("flat", _) => match net.physical_network.as_ref().and_then(|pn| cfg.interface_mappings.get(pn)) {
                Some(iface) => Some((iface.clone(), None)),
                None => {
                    p.skipped.push((net.id.clone(), format!("no interface mapping for {:?}", net.physical_network)));
                    continue;
                }
            },
            ("vlan", Some(vid)) => {
                let Some(iface) = net.physical_network.as_ref().and_then(|pn| cfg.interface_mappings.get(pn)) else {
                    p.skipped.push((net.id.clone(), format!("no interface mapping for {:?}", net.physical_network)));
                    continue;
                };
                let name = format!("{iface}.{vid}");
                if !cfg.vlan_supported {
                    p.skipped.push((net.id.clone(), "this kernel has no 802.1q VLAN devices".into()));
                    continue;
                }
                if name.len() > 15 {
                    p.skipped.push((net.id.clone(), format!("VLAN device name {name} is longer than 15 characters")));
                    continue;
                }
                wanted_links.insert(name.clone());
                if actual.link(&name).is_none() {
                    p.ops.push(Op::AddVlan { name: name.clone(), parent: iface.clone(), vid });
                }
                Some((name, None))
            }
            (other, _) => {
                p.skipped.push((net.id.clone(), format!("{other} networks are not supported by this agent here")));
                continue;
            }
        };
        wanted_links.insert(bridge.clone());
        if actual.link(&bridge).is_none() {
            p.ops.push(Op::AddBridge { name: bridge.clone() });
        }
        if let Some((dev, vxlan)) = &uplink {
            if let Some((vni, local)) = vxlan {
                wanted_links.insert(dev.clone());
                match actual.link(dev) {
                    // A device of that name with other parameters is replaced.
                    Some(l) if l.vni != Some(*vni) || l.local.as_deref() != Some(local.as_str()) => {
                        p.ops.push(Op::DelLink { name: dev.clone() });
                        p.ops.push(Op::AddVxlan { name: dev.clone(), vni: *vni, local: local.clone() });
                    }
                    Some(_) => {}
                    None => p.ops.push(Op::AddVxlan { name: dev.clone(), vni: *vni, local: local.clone() }),
                }
                let fresh = actual.link(dev).is_none_or(|l| l.vni != Some(*vni));
                if fresh || actual.link(dev).is_some_and(|l| l.mtu != net.mtu) {
                    p.ops.push(Op::SetMtu { dev: dev.clone(), mtu: net.mtu });
                }
            }
            wire(&mut p, actual, dev, &bridge);
        }
        if actual.link(&bridge).is_none_or(|l| !l.up) {
            p.ops.push(Op::SetUp { dev: bridge.clone() });
        }
        for port in desired.ports.iter().filter(|x| x.network_id == net.id) {
            let tap = names::tap_device(&port.id);
            if actual.link(&tap).is_none() {
                p.ports_missing.push(port.id.clone());
                continue;
            }
            wire(&mut p, actual, &tap, &bridge);
            p.ports_up.push(port.id.clone());
        }
        // l2population: flood to, and know, the other hosts' ports.
        if let (Some((dev, Some(_))), true) = (&uplink, cfg.l2_population) {
            for peer in desired.peers.iter().filter(|x| x.network_id == net.id) {
                wanted_fdb.insert(FdbEntry { dev: dev.clone(), mac: FLOOD.into(), dst: peer.vtep.clone() });
                wanted_fdb.insert(FdbEntry { dev: dev.clone(), mac: peer.mac_address.clone(), dst: peer.vtep.clone() });
                for ip in peer.ips.iter().filter(|ip| !ip.contains(':')) {
                    wanted_neigh.insert(NeighEntry { dev: dev.clone(), ip: ip.clone(), mac: peer.mac_address.clone() });
                }
            }
        }
    }

    // What this agent made and no longer wants (never anyone else's device).
    for l in &actual.links {
        let ours = l.owned && (l.name.starts_with("brq") || l.name.starts_with("vxlan-") || l.kind == "vlan");
        if ours && !wanted_links.contains(&l.name) {
            p.ops.push(Op::DelLink { name: l.name.clone() });
        }
    }
    let have_fdb: BTreeSet<FdbEntry> = actual.fdb.iter().cloned().collect();
    for e in have_fdb.iter().filter(|e| wanted_links.contains(&e.dev) && !wanted_fdb.contains(*e)) {
        p.ops.push(Op::DelFdb(e.clone()));
    }
    for e in wanted_fdb.difference(&have_fdb) {
        p.ops.push(Op::AddFdb(e.clone()));
    }
    let have_neigh: BTreeSet<NeighEntry> = actual.neigh.iter().cloned().collect();
    for n in have_neigh.iter().filter(|n| wanted_links.contains(&n.dev)) {
        if !wanted_neigh.iter().any(|w| w.dev == n.dev && w.ip == n.ip) {
            p.ops.push(Op::DelNeigh(n.clone()));
        }
    }
    for n in wanted_neigh.difference(&have_neigh) {
        p.ops.push(Op::SetNeigh(n.clone()));
    }
    p
}

/// Enslaves `dev` to `bridge` and brings it up, unless it already is.
fn wire(p: &mut Plan, actual: &Snapshot, dev: &str, bridge: &str) {
    let link = actual.link(dev);
    if link.and_then(|l| l.master.as_deref()) != Some(bridge) {
        p.ops.push(Op::SetMaster { dev: dev.to_string(), master: bridge.to_string() });
    }
    if !link.is_some_and(|l| l.up) {
        p.ops.push(Op::SetUp { dev: dev.to_string() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::{Dataplane, Memory};
    use crate::state::{HostFirewall, NetworkState, PeerPort, PortState};

    const NET: &str = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
    const PORT: &str = "11111111-2222-3333-4444-555555555555";

    fn cfg() -> L2Config {
        L2Config { local_ip: Some("192.0.2.1".into()), l2_population: true, ..L2Config::default() }
    }

    fn state(peers: Vec<PeerPort>) -> HostState {
        HostState {
            last: 1,
            host: "node-1".into(),
            networks: vec![NetworkState {
                id: NET.into(),
                mtu: 1450,
                admin_state_up: true,
                network_type: "vxlan".into(),
                physical_network: None,
                segmentation_id: Some(77),
            }],
            ports: vec![PortState {
                id: PORT.into(),
                network_id: NET.into(),
                mac_address: "fa:16:3e:00:00:01".into(),
                fixed_ips: vec![],
                admin_state_up: true,
                status: "DOWN".into(),
                device_owner: "compute:nova".into(),
                port_security_enabled: true,
                security_groups: vec![],
                allowed_address_pairs: vec![],
            }],
            peers,
            firewall: HostFirewall::default(),
        }
    }

    fn peer(mac: &str, ip: &str, vtep: &str) -> PeerPort {
        PeerPort {
            port_id: format!("p-{mac}"),
            network_id: NET.into(),
            host: "node-2".into(),
            vtep: vtep.into(),
            mac_address: mac.into(),
            ips: vec![ip.into()],
        }
    }

    async fn round(k: &Memory, s: &HostState) -> Plan {
        let p = plan(s, &cfg(), &k.snapshot().await.expect("snapshot"));
        k.apply(&p.ops).await.expect("apply");
        p
    }

    #[tokio::test]
    async fn builds_then_changes_nothing() {
        let k = Memory::default();
        let s = state(vec![peer("fa:16:3e:00:00:02", "10.0.0.2", "192.0.2.2")]);
        let first = round(&k, &s).await;
        assert_eq!(first.ports_missing, [PORT], "no tap yet");
        let snap = k.snapshot().await.expect("snapshot");
        let br = snap.link(&names::bridge(NET)).expect("bridge");
        assert!(br.up);
        let vx = snap.link("vxlan-77").expect("vxlan");
        assert_eq!(
            (vx.vni, vx.local.as_deref(), vx.mtu, vx.master.as_deref()),
            (Some(77), Some("192.0.2.1"), 1450, Some(br.name.as_str()))
        );
        assert_eq!(snap.fdb.len(), 2);
        assert_eq!(
            snap.neigh,
            [NeighEntry { dev: "vxlan-77".into(), ip: "10.0.0.2".into(), mac: "fa:16:3e:00:00:02".into() }]
        );
        // The instance's device appears: it is wired, and that is all that changes.
        k.plug(&names::tap_device(PORT));
        let second = round(&k, &s).await;
        assert_eq!(second.ports_up, [PORT]);
        assert_eq!(
            second.ops,
            [
                Op::SetMaster { dev: names::tap_device(PORT), master: names::bridge(NET) },
                Op::SetUp { dev: names::tap_device(PORT) }
            ]
        );
        // Level-triggered and idempotent: another round (a restart) changes nothing.
        let before = k.applied().len();
        assert_eq!(round(&k, &s).await.ops, []);
        assert_eq!(k.applied().len(), before);
    }

    #[tokio::test]
    async fn peers_come_and_go_entry_by_entry() {
        let k = Memory::default();
        k.plug(&names::tap_device(PORT));
        let a = peer("fa:16:3e:00:00:02", "10.0.0.2", "192.0.2.2");
        let b = peer("fa:16:3e:00:00:03", "10.0.0.3", "192.0.2.3");
        round(&k, &state(vec![a.clone(), b.clone()])).await;
        assert_eq!(k.snapshot().await.expect("s").fdb.len(), 4);
        // b's port is deleted: its entries go, a's stay untouched.
        let p = round(&k, &state(vec![a.clone()])).await;
        assert_eq!(
            p.ops,
            [
                Op::DelFdb(FdbEntry { dev: "vxlan-77".into(), mac: FLOOD.into(), dst: "192.0.2.3".into() }),
                Op::DelFdb(FdbEntry {
                    dev: "vxlan-77".into(),
                    mac: "fa:16:3e:00:00:03".into(),
                    dst: "192.0.2.3".into()
                }),
                Op::DelNeigh(NeighEntry {
                    dev: "vxlan-77".into(),
                    ip: "10.0.0.3".into(),
                    mac: "fa:16:3e:00:00:03".into()
                }),
            ]
        );
    }

    #[tokio::test]
    async fn a_network_without_ports_here_is_removed() {
        let k = Memory::default();
        k.plug(&names::tap_device(PORT));
        round(&k, &state(vec![])).await;
        let empty = HostState { networks: vec![], ports: vec![], ..state(vec![]) };
        let p = round(&k, &empty).await;
        assert_eq!(p.ops, [Op::DelLink { name: names::bridge(NET) }, Op::DelLink { name: "vxlan-77".into() }]);
        let snap = k.snapshot().await.expect("s");
        assert_eq!(
            crate::dataplane::names(&snap),
            BTreeSet::from([names::tap_device(PORT)]),
            "the tap is the compute side's"
        );
    }

    #[tokio::test]
    async fn devices_of_others_are_never_removed() {
        let foreign = crate::dataplane::Link {
            name: "vxlan-9".into(),
            kind: "vxlan".into(),
            master: None,
            up: true,
            vni: Some(9),
            local: Some("198.51.100.1".into()),
            mtu: 1500,
            peer: None,
            owned: false,
        };
        let k = Memory::with_links(vec![foreign]);
        let empty = HostState { networks: vec![], ports: vec![], ..state(vec![]) };
        assert_eq!(round(&k, &empty).await.ops, []);
    }

    #[test]
    fn vlan_networks_use_an_8021q_device_where_the_kernel_has_them() {
        let mut s = state(vec![]);
        s.networks[0].network_type = "vlan".into();
        s.networks[0].physical_network = Some("physnet1".into());
        s.networks[0].segmentation_id = Some(100);
        let mut c = cfg();
        c.interface_mappings.insert("physnet1".into(), "eth1".into());
        let p = plan(&s, &c, &Snapshot::default());
        assert_eq!(p.skipped, [(NET.to_string(), "this kernel has no 802.1q VLAN devices".to_string())]);
        assert!(p.ops.is_empty());
        c.vlan_supported = true;
        let p = plan(&s, &c, &Snapshot::default());
        assert!(p.skipped.is_empty());
        assert!(p.ops.contains(&Op::AddVlan { name: "eth1.100".into(), parent: "eth1".into(), vid: 100 }));
        assert!(p.ops.contains(&Op::SetMaster { dev: "eth1.100".into(), master: names::bridge(NET) }));
    }

    #[test]
    fn what_cannot_be_built_is_said() {
        let mut s = state(vec![]);
        s.networks[0].network_type = "gre".into();
        let p = plan(&s, &cfg(), &Snapshot::default());
        assert!(p.ops.is_empty());
        assert_eq!(p.skipped.len(), 1);
        let no_vtep = plan(&state(vec![]), &L2Config::default(), &Snapshot::default());
        assert_eq!(no_vtep.skipped[0].1, "vxlan needs [vxlan] local_ip");
    }
}

//! The tunnel bridge: one tunnel port per remote VTEP and tunnel type, and
//! the flows that carry a network's local VLAN on `br-int` to its VNI on
//! the wire and back, as Neutron's `br-tun` does (tables 0 → 2 → 20/22
//! outbound, 0 → 3/4/6 (GRE/VXLAN/Geneve) → 10 inbound, learning MACs into table 20; with
//! l2population, the peers' MACs are known in table 20 and flooding goes
//! only to the VTEPs that have ports on the network).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use serde_json::{json, Value};

use super::flows::Flow;
use super::ovsdb::{map, Ovsdb, OvsdbError};
use super::rows::{bridge_ports, bridge_ports_mutation, insert_port};

/// Tables of `br-tun` (Neutron's numbers).
pub mod table {
    /// Classification by input port.
    pub const LOCAL_SWITCHING: u8 = 0;
    /// From `br-int`: unicast or flood.
    pub const PATCH_LV_TO_TUN: u8 = 2;
    /// From a GRE tunnel: key to local VLAN.
    pub const GRE_TUN_TO_LV: u8 = 3;
    /// From a VXLAN tunnel: VNI to local VLAN.
    pub const VXLAN_TUN_TO_LV: u8 = 4;
    /// From a Geneve tunnel: VNI to local VLAN.
    pub const GENEVE_TUN_TO_LV: u8 = 6;

    /// The table mapping tunnel ids of `kind` to local VLANs: one per type,
    /// as the same id may name a VXLAN network and a GRE one.
    pub fn tun_to_lv(kind: &str) -> u8 {
        match kind {
            "gre" => GRE_TUN_TO_LV,
            "geneve" => GENEVE_TUN_TO_LV,
            _ => VXLAN_TUN_TO_LV,
        }
    }
    /// Learning, then to `br-int`.
    pub const LEARN_FROM_TUN: u8 = 10;
    /// Known unicast destinations.
    pub const UCAST_TO_TUN: u8 = 20;
    /// ARP requests answered for known remote addresses (`arp_responder`).
    pub const ARP_RESPONDER: u8 = 21;
    /// Flooding.
    pub const FLOOD_TO_TUN: u8 = 22;
}

/// A network carried over tunnels on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelNetwork {
    /// Tunnel type: `vxlan` or `gre`.
    pub kind: String,
    /// Its local VLAN on `br-int`.
    pub local_vlan: u16,
    /// Its VNI (segmentation id).
    pub vni: u32,
    /// The VTEPs (remote IPs) with ports on it, to flood to.
    pub vteps: BTreeSet<Ipv4Addr>,
    /// Known remote MACs: MAC → VTEP (l2population).
    pub macs: BTreeMap<String, Ipv4Addr>,
    /// Remote IPv4 addresses answered locally: address → MAC (`arp_responder`).
    pub arp: BTreeMap<Ipv4Addr, String>,
}

/// The tunnel port's name for `remote` (`vxlan-c0a80687`, as Neutron names it).
pub fn port_name(kind: &str, remote: Ipv4Addr) -> String {
    format!("{kind}-{:08x}", u32::from(remote))
}

/// The flows of `br-tun` for `networks`.
pub fn flows(networks: &[TunnelNetwork]) -> Vec<Flow> {
    use table::*;
    let mut f = vec![
        Flow::new(LOCAL_SWITCHING, 1, "in_port=patch-int", &format!("resubmit(,{PATCH_LV_TO_TUN})")),
        Flow::new(LOCAL_SWITCHING, 0, "", "drop"),
        Flow::new(
            PATCH_LV_TO_TUN,
            0,
            "dl_dst=00:00:00:00:00:00/01:00:00:00:00:00",
            &format!("resubmit(,{UCAST_TO_TUN})"),
        ),
        Flow::new(
            PATCH_LV_TO_TUN,
            0,
            "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00",
            &format!("resubmit(,{FLOOD_TO_TUN})"),
        ),
        Flow::new(GRE_TUN_TO_LV, 0, "", "drop"),
        Flow::new(VXLAN_TUN_TO_LV, 0, "", "drop"),
        Flow::new(GENEVE_TUN_TO_LV, 0, "", "drop"),
        // Learned entries carry cookie 0: not the agent's, so its rounds never delete them.
        Flow::new(
            LEARN_FROM_TUN,
            1,
            "",
            &format!(
                "learn(table={UCAST_TO_TUN},hard_timeout=300,priority=1,cookie=0,NXM_OF_VLAN_TCI[0..11],\
                 NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],\
                 output:OXM_OF_IN_PORT[]),output:patch-int"
            ),
        ),
        Flow::new(UCAST_TO_TUN, 0, "", &format!("resubmit(,{FLOOD_TO_TUN})")),
        Flow::new(FLOOD_TO_TUN, 0, "", "drop"),
        Flow::new(ARP_RESPONDER, 0, "", &format!("resubmit(,{FLOOD_TO_TUN})")),
    ];
    if networks.iter().any(|n| !n.arp.is_empty()) {
        // Broadcast ARP goes by the responder first; what it cannot answer is flooded.
        f.push(Flow::new(PATCH_LV_TO_TUN, 1, "arp,dl_dst=ff:ff:ff:ff:ff:ff", &format!("resubmit(,{ARP_RESPONDER})")));
    }
    let mut ports: BTreeSet<(String, u8)> = BTreeSet::new();
    for n in networks {
        let kind = n.kind.as_str();
        ports.extend(n.vteps.iter().chain(n.macs.values()).map(|r| (port_name(kind, *r), tun_to_lv(kind))));
        f.push(Flow::new(
            tun_to_lv(kind),
            1,
            &format!("tun_id={:#x}", n.vni),
            &format!("mod_vlan_vid:{},resubmit(,{LEARN_FROM_TUN})", n.local_vlan),
        ));
        for (mac, vtep) in &n.macs {
            f.push(Flow::new(
                UCAST_TO_TUN,
                2,
                &format!("dl_vlan={},dl_dst={mac}", n.local_vlan),
                &format!("strip_vlan,load:{:#x}->NXM_NX_TUN_ID[],output:{}", n.vni, port_name(kind, *vtep)),
            ));
        }
        for (ip, mac) in &n.arp {
            f.push(Flow::new(
                ARP_RESPONDER,
                1,
                &format!("arp,dl_vlan={},arp_tpa={ip}", n.local_vlan),
                &arp_reply(*ip, mac),
            ));
        }
        if !n.vteps.is_empty() {
            let outputs: Vec<String> = n.vteps.iter().map(|v| format!("output:{}", port_name(kind, *v))).collect();
            f.push(Flow::new(
                FLOOD_TO_TUN,
                1,
                &format!("dl_vlan={}", n.local_vlan),
                &format!("strip_vlan,set_tunnel:{:#x},{}", n.vni, outputs.join(",")),
            ));
        }
    }
    for (p, table) in ports {
        f.push(Flow::new(LOCAL_SWITCHING, 1, &format!("in_port={p}"), &format!("resubmit(,{table})")));
    }
    f
}

/// The actions that turn an ARP request for `ip` into the reply `mac`
/// would give, sent back where the request came from.
fn arp_reply(ip: Ipv4Addr, mac: &str) -> String {
    let mac_hex = format!("0x{}", mac.replace(':', ""));
    format!(
        "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:{mac},load:0x2->NXM_OF_ARP_OP[],\
         move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],\
         load:{mac_hex}->NXM_NX_ARP_SHA[],load:{:#x}->NXM_OF_ARP_SPA[],in_port",
        u32::from(ip)
    )
}

/// The tunnel ports `br-tun` has: name → (port row uuid, remote_ip).
pub async fn read(db: &mut Ovsdb, bridge: &str) -> Result<(String, BTreeMap<String, (String, String)>), OvsdbError> {
    let (bridge_uuid, rows) = bridge_ports(db, bridge).await?;
    let tunnels = rows
        .into_iter()
        .filter_map(|p| {
            let remote = p
                .interfaces
                .iter()
                .filter(|i| matches!(i.kind.as_str(), "vxlan" | "gre" | "geneve"))
                .find_map(|i| i.options.get("remote_ip").cloned())?;
            Some((p.name, (p.uuid, remote)))
        })
        .collect();
    Ok((bridge_uuid, tunnels))
}

/// The operations that give `br-tun` exactly one `kind` tunnel port per
/// remote in `remotes`, from `local` (`actual`: its tunnel ports of every
/// kind; those of other kinds are left alone).
pub fn plan(
    bridge_uuid: &str,
    kind: &str,
    local: Ipv4Addr,
    remotes: &BTreeSet<Ipv4Addr>,
    actual: &BTreeMap<String, (String, String)>,
) -> Vec<Value> {
    let mut ops = Vec::new();
    let mut added = Vec::new();
    let wanted: BTreeMap<String, Ipv4Addr> = remotes.iter().map(|r| (port_name(kind, *r), *r)).collect();
    for (n, (name, remote)) in wanted.iter().enumerate() {
        if actual.get(name).is_some_and(|(_, r)| *r == remote.to_string()) {
            continue;
        }
        let (remote, local) = (remote.to_string(), local.to_string());
        let options = map([
            ("remote_ip", remote.as_str()),
            ("local_ip", local.as_str()),
            ("key", "flow"),
            ("in_key", "flow"),
            ("out_key", "flow"),
        ]);
        let iface = json!({"type": kind, "options": options});
        added.push(insert_port(&mut ops, &n.to_string(), name, iface, json!({})));
    }
    // Tunnels to VTEPs no longer wanted, and ports of a name about to be made again.
    let removed: Vec<Value> = actual
        .iter()
        .filter(|(name, _)| name.starts_with(&format!("{kind}-")))
        .filter(|(name, (_, r))| wanted.get(*name).is_none_or(|w| w.to_string() != *r))
        .map(|(_, (id, _))| json!(["uuid", id]))
        .collect();
    if !removed.is_empty() {
        ops.insert(0, bridge_ports_mutation(bridge_uuid, "delete", removed));
    }
    if !added.is_empty() {
        ops.push(bridge_ports_mutation(bridge_uuid, "insert", added));
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("ip")
    }

    #[test]
    fn tunnel_ports_are_named_as_neutron_names_them() {
        assert_eq!(port_name("vxlan", ip("192.168.6.135")), "vxlan-c0a80687");
        assert!(port_name("vxlan", ip("255.255.255.255")).len() <= 15);
    }

    #[test]
    fn a_network_maps_its_local_vlan_to_its_vni_both_ways_and_floods_to_its_vteps() {
        let n = TunnelNetwork {
            kind: "vxlan".into(),
            local_vlan: 3,
            vni: 100,
            vteps: BTreeSet::from([ip("10.0.0.2"), ip("10.0.0.3")]),
            macs: BTreeMap::from([("fa:16:3e:00:00:02".to_string(), ip("10.0.0.2"))]),
            arp: BTreeMap::from([(ip("10.1.0.5"), "fa:16:3e:00:00:02".to_string())]),
        };
        let f = flows(&[n]);
        let has = |table: u8, m: &str, a: &str| f.iter().any(|x| x.table == table && x.matches == m && x.actions == a);
        assert!(has(4, "tun_id=0x64", "mod_vlan_vid:3,resubmit(,10)"));
        assert!(has(22, "dl_vlan=3", "strip_vlan,set_tunnel:0x64,output:vxlan-0a000002,output:vxlan-0a000003"));
        assert!(has(
            20,
            "dl_vlan=3,dl_dst=fa:16:3e:00:00:02",
            "strip_vlan,load:0x64->NXM_NX_TUN_ID[],output:vxlan-0a000002"
        ));
        assert!(has(0, "in_port=vxlan-0a000003", "resubmit(,4)"));
        // ARP for a known remote address is answered on the spot, the rest flooded.
        assert!(has(2, "arp,dl_dst=ff:ff:ff:ff:ff:ff", "resubmit(,21)"));
        assert!(has(21, "", "resubmit(,22)"));
        let reply =
            f.iter().find(|x| x.table == 21 && x.matches == "arp,dl_vlan=3,arp_tpa=10.1.0.5").expect("responder");
        assert!(reply.actions.contains("mod_dl_src:fa:16:3e:00:00:02"), "{}", reply.actions);
        assert!(reply.actions.contains("load:0xfa163e000002->NXM_NX_ARP_SHA[]"), "{}", reply.actions);
        assert!(reply.actions.contains("load:0xa010005->NXM_OF_ARP_SPA[]"), "{}", reply.actions);
        assert!(reply.actions.ends_with(",in_port"), "{}", reply.actions);
        // The same id on a GRE network maps in GRE's own table.
        let g = TunnelNetwork {
            kind: "gre".into(),
            local_vlan: 5,
            vni: 100,
            vteps: BTreeSet::from([ip("10.0.0.2")]),
            macs: BTreeMap::new(),
            arp: BTreeMap::new(),
        };
        let both = flows(&[
            TunnelNetwork {
                kind: "vxlan".into(),
                local_vlan: 3,
                vni: 100,
                vteps: BTreeSet::new(),
                macs: BTreeMap::new(),
                arp: BTreeMap::new(),
            },
            g,
        ]);
        let has =
            |table: u8, m: &str, a: &str| both.iter().any(|x| x.table == table && x.matches == m && x.actions == a);
        assert!(has(4, "tun_id=0x64", "mod_vlan_vid:3,resubmit(,10)"));
        assert!(has(3, "tun_id=0x64", "mod_vlan_vid:5,resubmit(,10)"));
        assert!(has(0, "in_port=gre-0a000002", "resubmit(,3)"));
    }

    #[test]
    fn tunnels_follow_the_vteps() {
        let actual = BTreeMap::from([
            ("vxlan-0a000002".to_string(), ("u2".to_string(), "10.0.0.2".to_string())),
            ("vxlan-0a000009".to_string(), ("u9".to_string(), "10.0.0.9".to_string())),
        ]);
        let remotes = BTreeSet::from([ip("10.0.0.2"), ip("10.0.0.3")]);
        let ops = plan("b", "vxlan", ip("10.0.0.1"), &remotes, &actual);
        assert_eq!(ops[0]["mutations"][0][2], json!(["set", [["uuid", "u9"]]]));
        assert_eq!(ops[1]["row"]["name"], "vxlan-0a000003");
        let options = crate::ovs::ovsdb::pairs(&ops[1]["row"]["options"]);
        assert_eq!(options.get("remote_ip").map(String::as_str), Some("10.0.0.3"));
        assert_eq!(options.get("local_ip").map(String::as_str), Some("10.0.0.1"));
        assert_eq!(options.get("key").map(String::as_str), Some("flow"));
        let settled = BTreeMap::from([
            ("vxlan-0a000002".to_string(), ("u2".to_string(), "10.0.0.2".to_string())),
            ("vxlan-0a000003".to_string(), ("u3".to_string(), "10.0.0.3".to_string())),
        ]);
        assert!(plan("b", "vxlan", ip("10.0.0.1"), &remotes, &settled).is_empty());
    }
}

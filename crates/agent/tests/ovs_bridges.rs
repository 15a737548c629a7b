//! The OVS agent's bridges on a real userspace Open vSwitch: an instance
//! of its own (database, sockets, daemons) inside a node namespace of this
//! test; the seed's layout is made through OVSDB (br-int and br-tun joined
//! by patch-tun/patch-int, a provider bridge br-ex joined by
//! int-br-ex/phy-br-ex, fail_mode secure, the userspace datapath), the
//! daemon builds their devices, and a second run changes nothing — an
//! operator's own port included — while a wrong patch peer is put back.
//! Needs root and Open vSwitch; skips without them, except under CI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{delete_namespaces, eventually, ok, sh};
use neutrino_agent::ovs::bridges::{self, BridgeConfig};
use neutrino_agent::ovs::instance::OvsInstance;
use neutrino_agent::ovs::ovsdb::Ovsdb;

/// Removes the test's namespaces and files, even when it fails.
struct Cleanup {
    prefix: String,
    dir: std::path::PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        delete_namespaces(&self.prefix);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn privileged() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let root = sh(&["id", "-u"]).trim() == "0";
    let why = if !root {
        "needs root"
    } else if !OvsInstance::available() {
        "Open vSwitch is not installed (scripts/setup-dataplane.sh)"
    } else {
        return true;
    };
    assert!(!ci, "CI runs as root with scripts/setup-dataplane.sh: the OVS test must not skip ({why})");
    eprintln!("SKIP ovs_bridges: {why}");
    false
}

/// A node namespace `<tag><pid>-node1` with its own OVS and an OVSDB
/// connection to it (its `Open_vSwitch` row made); removed with the Cleanup.
async fn one_node(tag: &str) -> (Cleanup, String, OvsInstance, Ovsdb) {
    let prefix = format!("{tag}{}", std::process::id() % 100_000);
    let node = format!("{prefix}-node1");
    let cleanup = Cleanup { prefix: prefix.clone(), dir: std::env::temp_dir().join(format!("{prefix}-ovs")) };
    sh(&["ip", "netns", "add", &node]);
    sh(&["ip", "-n", &node, "link", "set", "lo", "up"]);
    let ovs = OvsInstance::start(&cleanup.dir, Some(&node)).expect("OVS starts");
    let mut db = Ovsdb::connect(&ovs.ovsdb_connection()).await.expect("ovsdb");
    bridges::init(&mut db).await.expect("init");
    (cleanup, node, ovs, db)
}

#[tokio::test]
async fn the_seed_layout_is_made_once_and_kept() {
    if !privileged() {
        return;
    }
    let (cleanup, node, ovs, mut db) = one_node("ovst").await;

    let cfg = BridgeConfig {
        tunneling: true,
        bridge_mappings: BTreeMap::from([("physnet1".into(), "br-ex".into())]),
        datapath_type: "netdev".into(),
        ..BridgeConfig::default()
    };
    let first = bridges::ensure(&mut db, &cfg).await.expect("layout");
    assert!(first > 0);
    let show = ovs.vsctl(&["show"]).expect("show");
    for want in [
        "Bridge br-int",
        "Bridge br-tun",
        "Bridge br-ex",
        "fail_mode: secure",
        "Port patch-tun",
        "options: {peer=patch-int}",
        "Port patch-int",
        "options: {peer=patch-tun}",
        "Port int-br-ex",
        "options: {peer=phy-br-ex}",
        "Port phy-br-ex",
        "options: {peer=int-br-ex}",
        "type: internal",
    ] {
        assert!(show.contains(want), "missing '{want}' in:\n{show}");
    }
    assert_eq!(ovs.vsctl(&["get", "bridge", "br-int", "datapath_type"]).expect("get").trim(), "netdev");
    // ovs-vswitchd made the bridges real: their internal devices are in the node.
    for dev in ["br-int", "br-tun", "br-ex"] {
        eventually(&format!("{dev} appears in {node}"), || ok(&["ip", "-n", &node, "link", "show", dev]));
    }

    // An operator's own port on br-ex (the seed's ens38) is left alone; nothing else changes.
    sh(&["ip", "-n", &node, "link", "add", "ens38", "type", "veth", "peer", "name", "ens38p"]);
    ovs.vsctl(&["add-port", "br-ex", "ens38"]).expect("operator's port");
    assert_eq!(bridges::ensure(&mut db, &cfg).await.expect("again"), 0, "a second run changes nothing");
    assert!(ovs.vsctl(&["list-ports", "br-ex"]).expect("ports").lines().any(|l| l == "ens38"));

    // A patch port pointing elsewhere is put back, alone.
    ovs.vsctl(&["set", "interface", "patch-int", "options:peer=wrong"]).expect("set");
    assert_eq!(bridges::ensure(&mut db, &cfg).await.expect("repair"), 1);
    assert_eq!(ovs.vsctl(&["get", "interface", "patch-int", "options:peer"]).expect("get").trim(), "patch-tun");
    drop(db);
    drop(ovs);
    drop(cleanup);
}

#[tokio::test]
async fn flows_are_replaced_whole_in_one_bundle_and_others_are_kept() {
    use neutrino_agent::ovs::flows::{Flow, Switch, COOKIE_MARK};
    if !privileged() {
        return;
    }
    let (cleanup, _node, ovs, mut db) = one_node("ovsf").await;
    let cfg = BridgeConfig { tunneling: true, datapath_type: "netdev".into(), ..BridgeConfig::default() };
    bridges::ensure(&mut db, &cfg).await.expect("layout");
    let target = format!("unix:{}/br-int.mgmt", ovs.dir().display());
    eventually("br-int answers OpenFlow", || ok(&["ovs-ofctl", "dump-flows", &target]));
    let dump = || sh(&["ovs-ofctl", "dump-flows", "--no-stats", &target]);
    // The agent's flows (cookie marked as its), without their cookie.
    let ours = |d: &str| -> Vec<String> {
        d.lines()
            .filter(|l| {
                l.trim_start()
                    .strip_prefix("cookie=0x")
                    .and_then(|r| u64::from_str_radix(r.split(',').next().unwrap_or(""), 16).ok())
                    .is_some_and(|c| c >> 32 == COOKIE_MARK >> 32)
            })
            .map(|l| l.split_once(", ").map_or(l, |(_, rest)| rest).trim().to_string())
            .collect()
    };

    let normal = Flow::new(0, 0, "", "NORMAL");
    let vlan = Flow::new(0, 10, "in_port=patch-tun,dl_vlan=100", "mod_vlan_vid:1,NORMAL");
    let miss = Flow::new(23, 0, "", "drop");
    let switch = Switch { target: target.clone() };
    let first = switch.apply(&[normal.clone(), vlan.clone(), miss.clone()]).expect("apply");
    assert_eq!(ours(&dump()).len(), 3, "{}", dump());
    // An operator's flow (another cookie) on the same bridge.
    sh(&["ovs-ofctl", "add-flow", &target, "cookie=0x1,table=0,priority=5,dl_type=0x88cc,actions=drop"]);

    // The same table again: a new cookie, the same flows, the operator's kept.
    let second = switch.apply(&[normal.clone(), vlan.clone(), miss.clone()]).expect("again");
    assert_ne!(first, second);
    let d = dump();
    assert_eq!(ours(&d).len(), 3, "{d}");
    assert!(d.lines().all(|l| !l.contains(&format!("cookie={first:#x}"))), "no flow of the old cookie: {d}");
    assert!(d.contains("cookie=0x1,") && d.contains("dl_type=0x88cc"), "{d}");

    // A table without the VLAN flow: it goes, a new one comes. A restarted
    // agent (a new Switch, no memory) does the same from what it finds.
    let arp = Flow::new(0, 20, "arp", "NORMAL");
    let restarted = Switch { target: target.clone() };
    restarted.apply(&[normal, miss, arp]).expect("shrink");
    let d = dump();
    let now = ours(&d);
    assert_eq!(now.len(), 3, "{d}");
    assert!(!d.contains("dl_vlan=100"), "{d}");
    assert!(now.iter().any(|l| l.contains("priority=20,arp")), "{d}");
    assert!(d.contains("dl_type=0x88cc"), "the operator's flow stays: {d}");
    drop(db);
    drop(ovs);
    drop(cleanup);
}

/// A VM namespace `<prefix>-<name>` whose `eth0` is the peer of `tap` in `node`.
fn vm(prefix: &str, node: &str, name: &str, tap: &str, ip: &str) {
    let ns = format!("{prefix}-{name}");
    sh(&["ip", "netns", "add", &ns]);
    sh(&["ip", "-n", node, "link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
    sh(&["ip", "-n", node, "link", "set", tap, "up"]);
    sh(&["ip", "-n", &ns, "addr", "add", ip, "dev", "eth0"]);
    sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
}

#[tokio::test]
async fn ports_on_br_int_are_isolated_by_their_networks_local_vlans() {
    use neutrino_agent::ovs::flows::{Flow, Switch};
    use neutrino_agent::ovs::ports::{self, WantedPort};
    if !privileged() {
        return;
    }
    let (cleanup, node, ovs, mut db) = one_node("ovsp").await;
    let prefix = cleanup.prefix.clone();
    let cfg = BridgeConfig { datapath_type: "netdev".into(), ..BridgeConfig::default() };
    bridges::ensure(&mut db, &cfg).await.expect("layout");
    let target = format!("unix:{}/br-int.mgmt", ovs.dir().display());
    eventually("br-int answers OpenFlow", || ok(&["ovs-ofctl", "dump-flows", &target]));
    Switch { target }.apply(&[Flow::new(0, 0, "", "NORMAL")]).expect("flows");

    vm(&prefix, &node, "vm1", "tapaaaa0001", "10.0.0.1/24");
    vm(&prefix, &node, "vm2", "tapaaaa0002", "10.0.0.2/24");
    vm(&prefix, &node, "vm3", "tapbbbb0003", "10.0.0.3/24");
    let port = |device: &str, net: &str| WantedPort {
        device: device.into(),
        port_id: format!("port-{device}"),
        mac: "fa:16:3e:00:00:01".into(),
        network_id: net.into(),
        network_type: "vxlan".into(),
        physical_network: None,
        segmentation_id: Some(100),
    };
    let round = |want: Vec<WantedPort>| {
        let nets = want.iter().map(|w| w.network_id.clone()).collect();
        (want, nets)
    };
    async fn apply(db: &mut Ovsdb, want: &[WantedPort], nets: &std::collections::BTreeSet<String>) -> usize {
        let (bridge, actual) = ports::read(db, "br-int").await.expect("read");
        let vlans = ports::local_vlans(nets, &actual);
        let ops = ports::plan(&bridge, want, &vlans, &actual);
        let n = ops.len();
        if n > 0 {
            db.transact(ops).await.expect("plug");
        }
        n
    }
    let vm_ns = |n: &str| format!("{prefix}-{n}");

    // vm1 and vm2 on network A, vm3 on network B: A's two talk, B's is apart.
    let (want, nets) = round(vec![port("tapaaaa0001", "A"), port("tapaaaa0002", "A"), port("tapbbbb0003", "B")]);
    assert!(apply(&mut db, &want, &nets).await > 0);
    assert_eq!(ovs.vsctl(&["get", "port", "tapaaaa0001", "tag"]).expect("tag").trim(), "1");
    assert_eq!(ovs.vsctl(&["get", "port", "tapbbbb0003", "tag"]).expect("tag").trim(), "2");
    assert_eq!(
        ovs.vsctl(&["get", "interface", "tapaaaa0001", "external_ids:iface-id"]).expect("id").trim(),
        "port-tapaaaa0001"
    );
    eventually("vm1 reaches vm2 (same network)", || common::pings(&vm_ns("vm1"), "10.0.0.2"));
    assert!(!common::pings(&vm_ns("vm1"), "10.0.0.3"), "vm3 is on another network");
    assert_eq!(apply(&mut db, &want, &nets).await, 0, "a second round (a restart) changes nothing");

    // vm3's port moves to network A (its tag changes); vm2's goes away.
    let (want, nets) = round(vec![port("tapaaaa0001", "A"), port("tapbbbb0003", "A")]);
    assert!(apply(&mut db, &want, &nets).await > 0);
    eventually("vm1 reaches vm3 once on the same network", || common::pings(&vm_ns("vm1"), "10.0.0.3"));
    assert!(!ovs.vsctl(&["list-ports", "br-int"]).expect("ports").contains("tapaaaa0002"), "vm2 unplugged");
    assert!(!common::pings(&vm_ns("vm1"), "10.0.0.2"));
    drop(db);
    drop(ovs);
    drop(cleanup);
}

/// One node of the tunnel test: its OVS, bridges, underlay bridge with
/// address `underlay`, and `br-int` switching normally.
async fn ovs_node(prefix: &str, name: &str, dir: &std::path::Path, underlay: &str) -> (OvsInstance, Ovsdb) {
    let node = format!("{prefix}-{name}");
    let ovs = OvsInstance::start(&dir.join(name), Some(&node)).expect("OVS starts");
    let mut db = Ovsdb::connect(&ovs.ovsdb_connection()).await.expect("ovsdb");
    bridges::init(&mut db).await.expect("init");
    let cfg = BridgeConfig { tunneling: true, datapath_type: "netdev".into(), ..BridgeConfig::default() };
    bridges::ensure(&mut db, &cfg).await.expect("layout");
    // The operator's part: the underlay NIC in a netdev bridge with the VTEP address on it.
    ovs.underlay("br-phy", "ul0", underlay).expect("underlay");
    let int = format!("unix:{}/br-int.mgmt", ovs.dir().display());
    eventually("br-int answers OpenFlow", || ok(&["ovs-ofctl", "dump-flows", &int]));
    neutrino_agent::ovs::flows::Switch { target: int }
        .apply(&[neutrino_agent::ovs::flows::Flow::new(0, 0, "", "NORMAL")])
        .expect("br-int flows");
    (ovs, db)
}

#[tokio::test]
async fn two_ovs_nodes_carry_a_network_over_vxlan_with_their_own_local_vlans() {
    use neutrino_agent::ovs::flows::Switch;
    use neutrino_agent::ovs::ports::{self, WantedPort};
    use neutrino_agent::ovs::tunnels::{self, TunnelNetwork};
    use std::collections::BTreeSet;
    use std::net::Ipv4Addr;
    if !privileged() {
        return;
    }
    let prefix = format!("ovsv{}", std::process::id() % 100_000);
    let cleanup = Cleanup { prefix: prefix.clone(), dir: std::env::temp_dir().join(format!("{prefix}-ovs")) };
    let (n1, n2) = (format!("{prefix}-node1"), format!("{prefix}-node2"));
    for n in [&n1, &n2] {
        sh(&["ip", "netns", "add", n]);
        sh(&["ip", "-n", n, "link", "set", "lo", "up"]);
    }
    sh(&["ip", "-n", &n1, "link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", &n2]);
    let (ovs1, mut db1) = ovs_node(&prefix, "node1", &cleanup.dir, "192.168.50.11/24").await;
    let (ovs2, mut db2) = ovs_node(&prefix, "node2", &cleanup.dir, "192.168.50.12/24").await;
    let (ip1, ip2): (Ipv4Addr, Ipv4Addr) = ("192.168.50.11".parse().unwrap(), "192.168.50.12".parse().unwrap());
    eventually("the underlay carries", || common::pings(&n1, "192.168.50.12"));

    // Network A (VNI 100) on both nodes; node2 also has network 0-other (VNI 200),
    // which takes its first local VLAN, so A is VLAN 1 on node1 and 2 on node2;
    // and 0-other's instance has the same address as A's instance on node1.
    vm(&prefix, &n1, "a1", "tapa1", "10.9.0.1/24");
    vm(&prefix, &n2, "a2", "tapa2", "10.9.0.2/24");
    vm(&prefix, &n2, "b2", "tapb2", "10.9.0.1/24");
    sh(&["ip", "-n", &format!("{prefix}-a1"), "link", "set", "eth0", "address", "fa:16:3e:00:0a:01"]);
    sh(&["ip", "-n", &format!("{prefix}-b2"), "link", "set", "eth0", "address", "fa:16:3e:00:0b:02"]);
    let port = |device: &str, net: &str, vni: u32| WantedPort {
        device: device.into(),
        port_id: format!("port-{device}"),
        mac: String::new(),
        network_id: net.into(),
        network_type: "vxlan".into(),
        physical_network: None,
        segmentation_id: Some(vni),
    };
    async fn wire(
        db: &mut Ovsdb,
        ovs: &OvsInstance,
        want: &[WantedPort],
        vnis: &[(&str, u32)],
        local: Ipv4Addr,
        peer: Ipv4Addr,
    ) -> std::collections::BTreeMap<String, u16> {
        let nets = want.iter().map(|w| w.network_id.clone()).collect();
        let (bridge, actual) = ports::read(db, "br-int").await.expect("read");
        let vlans = ports::local_vlans(&nets, &actual);
        let ops = ports::plan(&bridge, want, &vlans, &actual);
        if !ops.is_empty() {
            db.transact(ops).await.expect("plug");
        }
        let (tun, have) = tunnels::read(db, "br-tun").await.expect("tunnels");
        let remotes = BTreeSet::from([peer]);
        let ops = tunnels::plan(&tun, "vxlan", local, &remotes, &have);
        if !ops.is_empty() {
            db.transact(ops).await.expect("tunnel ports");
        }
        let networks: Vec<TunnelNetwork> = vnis
            .iter()
            .map(|(net, vni)| TunnelNetwork {
                kind: "vxlan".into(),
                local_vlan: vlans[*net],
                vni: *vni,
                vteps: remotes.clone(),
                macs: Default::default(),
                arp: Default::default(),
            })
            .collect();
        let target = format!("unix:{}/br-tun.mgmt", ovs.dir().display());
        Switch { target }.apply(&tunnels::flows(&networks)).expect("br-tun flows");
        vlans
    }
    let v1 = wire(&mut db1, &ovs1, &[port("tapa1", "A", 100)], &[("A", 100)], ip1, ip2).await;
    let v2 = wire(
        &mut db2,
        &ovs2,
        &[port("tapa2", "A", 100), port("tapb2", "0-other", 200)],
        &[("A", 100), ("0-other", 200)],
        ip2,
        ip1,
    )
    .await;
    assert_eq!((v1["A"], v2["0-other"], v2["A"]), (1, 1, 2), "local VLANs differ per node");

    // a2 reaches a1 across the tunnel — the a1 of network A, not b2 beside it with the same address.
    let a2 = format!("{prefix}-a2");
    eventually("a2 reaches 10.9.0.1 over VXLAN", || common::pings(&a2, "10.9.0.1"));
    let neigh = sh(&["ip", "-n", &a2, "neigh", "show", "10.9.0.1"]);
    assert!(neigh.contains("fa:16:3e:00:0a:01"), "A's instance answered, not 0-other's: {neigh}");
    assert!(common::pings(&format!("{prefix}-a1"), "10.9.0.2"));
    drop((db1, db2, ovs1, ovs2));
    drop(cleanup);
}

/// A node's kernel whose firewall refuses every transaction.
struct FirewallRefused(neutrino_agent::dataplane::IpRoute);

impl neutrino_agent::dataplane::Dataplane for FirewallRefused {
    async fn snapshot(&self) -> Result<neutrino_agent::dataplane::Snapshot, neutrino_agent::dataplane::DataplaneError> {
        self.0.snapshot().await
    }

    async fn apply(
        &self,
        ops: &[neutrino_agent::dataplane::Op],
    ) -> Result<(), neutrino_agent::dataplane::DataplaneError> {
        self.0.apply(ops).await
    }

    async fn observe_firewall(
        &self,
    ) -> Result<neutrino_agent::firewall::Observed, neutrino_agent::dataplane::DataplaneError> {
        self.0.observe_firewall().await
    }

    async fn apply_firewall(
        &self,
        _tx: &neutrino_agent::firewall::Transaction,
    ) -> Result<(), neutrino_agent::dataplane::DataplaneError> {
        Err(neutrino_agent::dataplane::DataplaneError::Failed { tool: "nft", stderr: "refused by the test".into() })
    }
}

#[tokio::test]
async fn a_hybrid_port_is_not_wired_while_its_firewall_cannot_be_loaded() {
    use neutrino_agent::channel::Channel;
    use neutrino_agent::dataplane::{Dataplane, IpRoute};
    use neutrino_agent::firewall::{Firewall, Plug};
    use neutrino_agent::ovs::agent::{OvsAgent, OvsAgentConfig};
    use neutrino_agent::state::{FixedIp, HostState, NetworkState, PortState};
    use neutrino_model::sg::{HostFirewall, SecurityGroupState};
    if !privileged() {
        return;
    }
    let (cleanup, node, ovs, db) = one_node("ovsw").await;
    drop(db);
    let port_id = "0f0f0f0f-1111-4000-8000-000000000001";
    let (tap, qbr, qvo) = (
        neutrino_model::names::tap_device(port_id),
        neutrino_model::names::hybrid_bridge(port_id),
        neutrino_model::names::hybrid_ovs_veth(port_id),
    );
    vm(&cleanup.prefix, &node, "vm1", &tap, "10.0.0.5/24");
    let state = HostState {
        last: 1,
        host: "node1".into(),
        networks: vec![NetworkState {
            id: "0e0e0e0e-1111-4000-8000-000000000001".into(),
            mtu: 1500,
            admin_state_up: true,
            network_type: "local".into(),
            physical_network: None,
            segmentation_id: None,
        }],
        ports: vec![PortState {
            id: port_id.into(),
            network_id: "0e0e0e0e-1111-4000-8000-000000000001".into(),
            mac_address: "fa:16:3e:0f:0f:01".into(),
            fixed_ips: vec![FixedIp { subnet_id: "s".into(), ip_address: "10.0.0.5".into() }],
            admin_state_up: true,
            status: "DOWN".into(),
            device_owner: "compute:nova".into(),
            port_security_enabled: true,
            security_groups: vec!["5a5a5a5a-0000-4000-8000-000000000001".into()],
            allowed_address_pairs: vec![],
        }],
        peers: vec![],
        firewall: HostFirewall {
            security_groups: vec![SecurityGroupState {
                id: "5a5a5a5a-0000-4000-8000-000000000001".into(),
                stateful: true,
                rules: vec![],
            }],
            remote_groups: BTreeMap::new(),
        },
    };
    let config = OvsAgentConfig {
        bridges: BridgeConfig { datapath_type: "netdev".into(), ..BridgeConfig::default() },
        local_ip: None,
        tunnel_types: vec![],
        l2_population: false,
        arp_responder: false,
        ovsdb_connection: ovs.ovsdb_connection(),
        firewall: neutrino_agent::ovs::agent::OvsFirewallDriver::Hybrid,
    };
    // Nothing listens there: this test's rounds never get as far as reporting.
    let channel = || Channel::new("http://127.0.0.1:9", None).expect("channel");
    let kernel = IpRoute { netns: Some(node.clone()) };
    let refused = OvsAgent {
        channel: channel(),
        dataplane: FirewallRefused(kernel.clone()),
        config: config.clone(),
        host: "node1".into(),
        report_interval: 30,
    };
    let e = refused.round(&state, &mut Firewall::new(Plug::Hybrid)).await.expect_err("the firewall is refused");
    assert!(e.contains("security group firewall"), "{e}");
    let links = kernel.snapshot().await.expect("links");
    assert!(links.link(&qbr).is_none() && links.link(&qvo).is_none(), "no plug built");
    assert!(links.link(&tap).is_some_and(|l| l.master.is_none()), "the tap is on no bridge");
    let on_int = ovs.vsctl(&["list-ports", "br-int"]).unwrap_or_default();
    assert!(!on_int.contains(&qvo) && !on_int.contains(&tap), "nothing on br-int: {on_int}");

    // With a firewall that loads, the same round wires the port behind it (and
    // only then fails, reporting to a server that is not there).
    let working =
        OvsAgent { channel: channel(), dataplane: kernel.clone(), config, host: "node1".into(), report_interval: 30 };
    let e = working.round(&state, &mut Firewall::new(Plug::Hybrid)).await.expect_err("no server to report to");
    assert!(!e.contains("security group firewall"), "{e}");
    let links = kernel.snapshot().await.expect("links");
    assert_eq!(links.link(&tap).and_then(|l| l.master.as_deref()), Some(qbr.as_str()));
    assert!(ovs.vsctl(&["list-ports", "br-int"]).unwrap_or_default().lines().any(|p| p == qvo));
    let table = sh(&["ip", "netns", "exec", &node, "nft", "list", "table", "bridge", "neutrino-sg"]);
    assert!(table.contains(&format!("\"{tap}\" : jump spoof-{port_id}")), "{table}");
    drop(ovs);
    drop(cleanup);
}

#[tokio::test]
async fn every_security_group_rule_form_loads_into_br_int() {
    use neutrino_agent::ovs::firewall::{self as of_firewall, BridgePort};
    use neutrino_agent::ovs::flows::Switch;
    use neutrino_agent::ovs::ports::{self, WantedPort};
    use neutrino_agent::state::{AllowedAddressPair, FixedIp, HostState, PortState};
    use neutrino_model::sg::{HostFirewall, SecurityGroupRuleState, SecurityGroupState};
    if !privileged() {
        return;
    }
    let (cleanup, node, ovs, mut db) = one_node("ovsr").await;
    let cfg = BridgeConfig { datapath_type: "netdev".into(), ..BridgeConfig::default() };
    bridges::ensure(&mut db, &cfg).await.expect("layout");
    let port_id = "0f0f0f0f-2222-4000-8000-000000000001";
    let tap = neutrino_model::names::tap_device(port_id);
    vm(&cleanup.prefix, &node, "vm1", &tap, "10.0.0.5/24");
    let want = [WantedPort {
        device: tap.clone(),
        port_id: port_id.into(),
        mac: "fa:16:3e:0f:0f:02".into(),
        network_id: "n".into(),
        network_type: "local".into(),
        physical_network: None,
        segmentation_id: None,
    }];
    let (bridge, actual) = ports::read(&mut db, "br-int").await.expect("read");
    let nets = std::iter::once("n".to_string()).collect();
    let vlans = ports::local_vlans(&nets, &actual);
    db.transact(ports::plan(&bridge, &want, &vlans, &actual)).await.expect("plug");

    let rule = |direction: &str, ethertype: &str, protocol: Option<&str>, range: (Option<u32>, Option<u32>)| {
        SecurityGroupRuleState {
            id: format!("r-{direction}-{ethertype}-{protocol:?}-{range:?}"),
            direction: direction.into(),
            ethertype: ethertype.into(),
            protocol: protocol.map(String::from),
            port_range_min: range.0,
            port_range_max: range.1,
            remote_ip_prefix: None,
            remote_group_id: None,
        }
    };
    let group = "5a5a5a5a-0000-4000-8000-000000000009";
    let mut rules = Vec::new();
    for dir in ["ingress", "egress"] {
        for (eth, prefix) in [("IPv4", "192.0.2.0/24"), ("IPv6", "2001:db8::/64")] {
            for (proto, range) in [
                (None, (None, None)),
                (Some("tcp"), (Some(22), Some(22))),
                (Some("tcp"), (Some(8000), Some(8080))),
                (Some("udp"), (Some(53), None)),
                (Some("sctp"), (Some(5000), Some(5001))),
                (Some("icmp"), (Some(8), Some(0))),
                (Some("icmp"), (None, None)),
                (Some("gre"), (None, None)),
                (Some("dccp"), (None, None)),
                (Some("132"), (None, None)),
            ] {
                let mut r = rule(dir, eth, proto, range);
                rules.push(r.clone());
                r.remote_ip_prefix = Some(prefix.into());
                r.id.push_str("-prefix");
                rules.push(r.clone());
                r.remote_ip_prefix = None;
                r.remote_group_id = Some(group.into());
                r.id.push_str("-group");
                rules.push(r);
            }
        }
    }
    let port = PortState {
        id: port_id.into(),
        network_id: "n".into(),
        mac_address: "fa:16:3e:0f:0f:02".into(),
        fixed_ips: vec![
            FixedIp { subnet_id: "s".into(), ip_address: "10.0.0.5".into() },
            FixedIp { subnet_id: "s6".into(), ip_address: "2001:db8::5".into() },
        ],
        admin_state_up: true,
        status: "ACTIVE".into(),
        device_owner: "compute:nova".into(),
        port_security_enabled: true,
        security_groups: vec![group.into()],
        allowed_address_pairs: vec![
            AllowedAddressPair { ip_address: "10.0.9.0/24".into(), mac_address: "fa:16:3e:0f:0f:99".into() },
            AllowedAddressPair { ip_address: "2001:db8:1::/64".into(), mac_address: String::new() },
        ],
    };
    let mut state = HostState {
        last: 1,
        host: "node1".into(),
        networks: vec![],
        ports: vec![port],
        peers: vec![],
        firewall: HostFirewall {
            security_groups: vec![SecurityGroupState { id: group.into(), stateful: true, rules }],
            remote_groups: BTreeMap::from([(
                group.to_string(),
                vec!["10.0.0.5".into(), "10.0.0.6".into(), "2001:db8::5".into()],
            )]),
        },
    };
    let target = format!("unix:{}/br-int.mgmt", ovs.dir().display());
    eventually("br-int answers OpenFlow", || ok(&["ovs-ofctl", "dump-flows", &target]));
    let switch = Switch { target: target.clone() };
    for stateful in [true, false] {
        state.firewall.security_groups[0].stateful = stateful;
        let on_int = [BridgePort { port: &state.ports[0], device: tap.clone(), local_vlan: 1 }];
        let flows = of_firewall::flows(&state, &on_int, &[]);
        // The bridge may take a moment to see the new port by name.
        let mut applied = switch.apply(&flows);
        for _ in 0..20 {
            if applied.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            applied = switch.apply(&flows);
        }
        applied.unwrap_or_else(|e| panic!("stateful={stateful}: {e}"));
        let dump = sh(&["ovs-ofctl", "-O", "OpenFlow14", "dump-flows", "--no-stats", &target]);
        let ours = dump.lines().filter(|l| l.contains("cookie=0x6e757472")).count();
        assert_eq!(ours, flows.len(), "stateful={stateful}: every flow loaded:\n{dump}");
        assert!(dump.contains("table=82"), "{dump}");
    }
    drop(db);
    drop(ovs);
    drop(cleanup);
}

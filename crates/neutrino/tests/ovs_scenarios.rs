//! The Open vSwitch L2 agent end to end, as root: two node namespaces, each
//! with its own userspace Open vSwitch (netdev datapath, as this kernel has
//! no OVS module) and its own `neutrino agent l2` process configured by an
//! openvswitch_agent.ini; the server on 127.0.0.1 with the `openvswitch`
//! mechanism driver; instances plugged with `neutrino vif plug`. Instances
//! of a VXLAN network ping each other across nodes, those of a GRE network
//! ping and talk TCP (the bridges look like the seed's `ovs-vsctl show`); an agent restart under `ping -i 0.01`
//! loses no reply and leaves the flow tables as they were (cookies and
//! counters aside). VLAN and flat provider networks, a mixed OVS/Linux
//! bridge deployment, the seed's files, and security groups with both
//! firewall drivers (`iptables_hybrid`, `openvswitch`). Skips without root
//! or Open vSwitch, except under CI.
#![allow(clippy::unwrap_used)]

mod world;

use std::process::{Command, Stdio};
use std::time::Duration;

use neutrino_agent::ovs::instance::OvsInstance;
use serde_json::{json, Value};
use world::*;

/// `ovs-ofctl dump-flows` of a bridge without cookies, counters and learned entries, sorted.
fn flows(ovs: &OvsInstance, bridge: &str) -> String {
    let target = format!("unix:{}/{bridge}.mgmt", ovs.dir().display());
    let dump = sh(&["ovs-ofctl", "-O", "OpenFlow14", "dump-flows", "--no-stats", &target]);
    let mut lines: Vec<String> = dump
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("cookie=") && !l.starts_with("cookie=0x0,"))
        .map(|l| l.split_once(", ").map_or(l, |(_, rest)| rest).to_string())
        .collect();
    lines.sort();
    lines.join("\n")
}

/// Sends `message` over a TCP connection from `client` to a listener in
/// `server` (at `server_ip`); returns what the client received.
fn tcp_exchange(w: &mut World, client: &str, server: &str, server_ip: &str, message: &str) -> String {
    let listener = Command::new("ip")
        .args(["netns", "exec", server, "python3", "-c"])
        .arg(format!(
            "import socket\ns=socket.socket()\ns.bind(('0.0.0.0',7000))\ns.listen(1)\nc,_=s.accept()\nc.sendall(b'{message}')\nc.close()"
        ))
        .spawn()
        .unwrap();
    w.children.push(listener);
    let mut said = String::new();
    wait_until("a TCP connection", Duration::from_secs(10), || {
        let out = Command::new("ip")
            .args(["netns", "exec", client, "python3", "-c"])
            .arg(format!(
                "import socket\ns=socket.create_connection(('{server_ip}',7000),timeout=2)\nprint(s.recv(100).decode())"
            ))
            .output()
            .unwrap();
        said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        !said.is_empty()
    });
    said
}

/// Counts the frames from MAC `from` arriving on `vm`'s eth0 for `secs`
/// seconds (a raw socket); returns once the socket listens.
fn count_frames(vm: &str, from: &str, secs: u32) -> FrameCounter {
    use std::io::BufRead;
    let hex = from.replace(':', "");
    let mut child = Command::new("ip")
        .args(["netns", "exec", vm, "python3", "-c"])
        .arg(format!(
            "import socket,time\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3))\n\
             s.bind(('eth0',0))\ns.settimeout(0.2)\nprint('ready',flush=True)\nn=0\nend=time.time()+{secs}\n\
             while time.time()<end:\n try:\n  f,a=s.recvfrom(65535)\n except socket.timeout:\n  continue\n \
             if a[2]!=socket.PACKET_OUTGOING and f[6:12]==bytes.fromhex('{hex}'): n+=1\nprint(n)"
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the frame counter did not start in {vm}");
    FrameCounter { child, out }
}

/// A running [`count_frames`].
struct FrameCounter {
    child: std::process::Child,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl FrameCounter {
    /// The number of frames counted, once the time is up.
    fn counted(mut self) -> u32 {
        use std::io::Read;
        let mut text = String::new();
        self.out.read_to_string(&mut text).unwrap();
        let _ = self.child.wait();
        text.trim().parse().unwrap_or_else(|_| panic!("frame counter said {text:?}"))
    }
}

/// A world for an OVS scenario: `None` (after saying why) without root
/// or Open vSwitch, which under CI is a failure.
fn ovs_world(test: &str, tag: &str) -> Option<World> {
    let w = World::new(test, tag)?;
    if !OvsInstance::available() {
        assert!(std::env::var("CI").is_err(), "CI installs Open vSwitch (scripts/setup-dataplane.sh): must not skip");
        eprintln!("SKIP {test}: Open vSwitch is not installed");
        return None;
    }
    Some(w)
}

/// Node namespaces on one underlay, each with its own userspace Open
/// vSwitch; with the userspace datapath the VTEP address sits on a netdev
/// bridge (`br-phy`) holding the NIC.
fn tunnel_nodes(w: &World, nodes: &[(&str, &str)]) -> Vec<OvsInstance> {
    underlay(w, nodes);
    nodes
        .iter()
        .map(|(node, ip)| {
            let ns = w.ns(node);
            sh(&["ip", "-n", &ns, "addr", "flush", "dev", "eth-u"]);
            let ovs = OvsInstance::start(&w.dir.join(format!("ovs-{node}")), Some(&ns)).unwrap();
            ovs.underlay("br-phy", "eth-u", &format!("{ip}/24")).unwrap();
            ovs
        })
        .collect()
}

/// Writes each node's openvswitch_agent.ini (its host, the server, its
/// namespace and Open vSwitch, netdev datapath, `firewall_driver`, plus
/// `agent_extra` in `[agent]` and `ovs_extra(local ip)` in `[ovs]`) and
/// starts its `neutrino agent l2`; returns the files.
fn start_ovs_agents(
    w: &mut World,
    url: &str,
    nodes: &[(&str, &str)],
    switches: &[OvsInstance],
    agent_extra: &str,
    ovs_extra: impl Fn(&str) -> String,
    firewall_driver: &str,
) -> Vec<std::path::PathBuf> {
    let mut confs = Vec::new();
    for ((node, ip), ovs) in nodes.iter().zip(switches) {
        let p = w.dir.join(format!("{node}-openvswitch_agent.ini"));
        std::fs::write(
            &p,
            format!(
                "[DEFAULT]\nhost = {node}\n[agent]\nserver_url = {url}\nnode_namespace = {}\nreport_interval = 5\n\
                 {agent_extra}[ovs]\n{}datapath_type = netdev\novsdb_connection = {}\n\
                 [securitygroup]\nfirewall_driver = {firewall_driver}\n",
                w.ns(node),
                ovs_extra(ip),
                ovs.ovsdb_connection()
            ),
        )
        .unwrap();
        start(w, bin().args(["agent", "l2", "--config-file"]).arg(&p), "first sync done");
        confs.push(p);
    }
    confs
}

/// One instance per node on `network`: namespace `<name><i>`, address
/// `<prefix>.<11+i>`, plugged with the node's agent configuration, its
/// checksums computed in software (TCP through the userspace datapath
/// needs that). Returns (namespace, address, port id) each, once all are ACTIVE.
fn instance_per_node(
    w: &World,
    api: &Api,
    confs: &[std::path::PathBuf],
    nodes: &[(&str, &str)],
    network: &str,
    name: &str,
    prefix: &str,
) -> Vec<(String, String, String)> {
    let mut vms = Vec::new();
    for (i, (node, _)) in nodes.iter().enumerate() {
        let ip = format!("{prefix}.{}", 11 + i);
        let vm = w.ns(&format!("{name}{i}"));
        let port_id = plug_instance(api, &confs[i], network, node, &vm, &ip);
        sh(&["ip", "netns", "exec", &vm, "ethtool", "-K", "eth0", "tx", "off"]);
        vms.push((vm, ip, port_id));
    }
    for (_, _, port_id) in &vms {
        until_active(api, port_id);
    }
    vms
}

/// Restarts the agent `w.children[child]` (configuration `conf`) while
/// `vm` pings `ip` every 10 ms; asserts that no reply was lost.
fn restart_under_ping(w: &mut World, child: usize, conf: &std::path::Path, vm: &str, ip: &str) {
    let ping = Command::new("ip")
        .args(["netns", "exec", vm, "ping", "-i", "0.01", "-c", "300", "-q", ip])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut agent = w.children.remove(child);
    let _ = Command::new("kill").arg("-TERM").arg(agent.id().to_string()).status();
    let _ = agent.wait();
    start(w, bin().args(["agent", "l2", "--config-file"]).arg(conf), "first sync done");
    let out = ping.wait_with_output().unwrap();
    let summary = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(summary.contains("300 received"), "replies lost across the restart: {summary}");
}

/// Stops the agents, then the server (started first), before their Open vSwitch goes away.
fn stop_processes(w: &mut World) {
    for mut c in w.children.drain(..).rev() {
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        let _ = c.wait();
    }
}

#[test]
fn ovs_agents_carry_vxlan_and_gre_between_two_nodes_and_restart_without_loss() {
    let Some(mut w) = ovs_world("ovs_agents_carry_vxlan", "novs") else { return };
    let nodes = [("node1", "192.0.2.1"), ("node2", "192.0.2.2")];
    let switches = tunnel_nodes(&w, &nodes);

    let url = start_server(
        &mut w,
        "[DEFAULT]\nauth_strategy = noauth\nallow_overlapping_ips = true\n[identity]\nenabled = false\n\
         [ml2]\ntype_drivers = vxlan,gre,flat,local\ntenant_network_types = vxlan\n\
         mechanism_drivers = openvswitch,l2population\n[ml2_type_vxlan]\nvni_ranges = 1:1000\n\
         [ml2_type_gre]\ntunnel_id_ranges = 1:1000\n",
    );
    // openvswitch_agent.ini as the seed's, with local_ip, datapath_type and ovsdb_connection set for the test.
    let confs = start_ovs_agents(
        &mut w,
        &url,
        &nodes,
        &switches,
        "tunnel_types = vxlan,gre\nl2_population = True\narp_responder = True\n",
        |ip| format!("tunnel_bridge = br-tun\nlocal_ip = {ip}\nbridge_mappings =\n"),
        "noop",
    );
    let api = Api { base: url.clone(), rt: tokio::runtime::Runtime::new().unwrap(), client: reqwest::Client::new() };
    let agents = api.get("/v2.0/agents");
    let types: Vec<&str> =
        agents["agents"].as_array().unwrap().iter().filter_map(|a| a["agent_type"].as_str()).collect();
    assert_eq!(types, ["Open vSwitch agent", "Open vSwitch agent"], "{agents}");

    let net_id = api.create("/v2.0/networks", "network", json!({"name": "ovs-net"}));
    api.static_subnet(&net_id, "10.5.0.0/24");
    let vms = instance_per_node(&w, &api, &confs, &nodes, &net_id, "vm", "10.5.0");
    let bound = api.get(&format!("/v2.0/ports/{}", vms[0].2));
    assert_eq!(bound["port"]["binding:vif_type"], "ovs", "{bound}");
    assert_eq!(bound["port"]["binding:vif_details"]["datapath_type"], "netdev", "{bound}");
    wait_until("vm0 (node1) reaches vm1 (node2) over VXLAN", Duration::from_secs(10), || pings(&vms[0].0, &vms[1].1));
    assert!(pings(&vms[1].0, &vms[0].1));
    // arp_responder: node1's br-tun answers vm0's ARP for vm1 itself, with vm1's MAC.
    sh(&["ip", "-n", &vms[0].0, "neigh", "flush", "all"]);
    assert!(pings(&vms[0].0, &vms[1].1));
    let tun = format!("unix:{}/br-tun.mgmt", switches[0].dir().display());
    let responder =
        sh(&["ovs-ofctl", "-O", "OpenFlow14", "dump-flows", &tun, &format!("table=21,arp,arp_tpa={}", vms[1].1)]);
    let answered: u64 = responder
        .split("n_packets=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(answered >= 1, "the ARP responder answered nothing:\n{responder}");
    let mac1 = api.get(&format!("/v2.0/ports/{}", vms[1].2))["port"]["mac_address"].as_str().unwrap().to_string();
    let neigh = sh(&["ip", "-n", &vms[0].0, "neigh", "show", &vms[1].1]);
    assert!(neigh.contains(&mac1), "vm0 learned {neigh}, not vm1's {mac1}");

    // A GRE network too (this kernel has no GRE device; the userspace datapath does
    // GRE itself), carrying TCP as well as ping.
    let gre = api.post("/v2.0/networks", json!({"network": {"name": "gre-net", "provider:network_type": "gre"}}));
    assert_eq!(gre["network"]["provider:network_type"], "gre", "{gre}");
    let gre_id = gre["network"]["id"].as_str().unwrap().to_string();
    api.static_subnet(&gre_id, "10.7.0.0/24");
    let gre_vms = instance_per_node(&w, &api, &confs, &nodes, &gre_id, "gre", "10.7.0");
    wait_until("gre0 (node1) reaches gre1 (node2) over GRE", Duration::from_secs(10), || {
        pings(&gre_vms[0].0, &gre_vms[1].1)
    });
    assert_eq!(tcp_exchange(&mut w, &gre_vms[0].0, &gre_vms[1].0, &gre_vms[1].1, "over gre"), "over gre");

    // The seed's layout on each node.
    let show = switches[0].vsctl(&["show"]).unwrap();
    for want in [
        "Bridge br-int",
        "Bridge br-tun",
        "Port patch-tun",
        "Port patch-int",
        "fail_mode: secure",
        "Port vxlan-c0000202",
        "type: vxlan",
        "Port gre-c0000202",
        "type: gre",
        "remote_ip=\"192.0.2.2\"",
    ] {
        assert!(show.contains(want), "missing '{want}' in:\n{show}");
    }

    // An agent restart under traffic: no lost reply, the same flows.
    let before = (flows(&switches[0], "br-int"), flows(&switches[0], "br-tun"));
    restart_under_ping(&mut w, 1, &confs[0], &vms[0].0, &vms[1].1);
    let after = (flows(&switches[0], "br-int"), flows(&switches[0], "br-tun"));
    assert_eq!(before, after, "the restart changed the flow tables");
    stop_processes(&mut w);
    drop(switches);
}

#[test]
fn an_ovs_node_and_a_linux_bridge_node_share_a_vxlan_network() {
    let Some(mut w) = ovs_world("ovs_and_linuxbridge", "nmix") else { return };
    let nodes = [("ovs1", "192.0.2.1"), ("lb2", "192.0.2.2")];
    underlay(&w, &nodes);
    let ovs_ns = w.ns("ovs1");
    sh(&["ip", "-n", &ovs_ns, "addr", "flush", "dev", "eth-u"]);
    let ovs = OvsInstance::start(&w.dir.join("ovs-ovs1"), Some(&ovs_ns)).unwrap();
    ovs.underlay("br-phy", "eth-u", "192.0.2.1/24").unwrap();
    // The kernel's VXLAN leaves the UDP checksum to the NIC; a veth never fills
    // it in, and the userspace datapath drops what does not check out: the
    // Linux bridge node's underlay "NIC" computes it in software (as a real one would in hardware).
    sh(&["ip", "netns", "exec", &w.ns("lb2"), "ethtool", "-K", "eth-u", "tx", "off"]);

    let url = start_server(
        &mut w,
        "[DEFAULT]\nauth_strategy = noauth\n[identity]\nenabled = false\n\
         [ml2]\ntype_drivers = vxlan,flat,local\ntenant_network_types = vxlan\n\
         mechanism_drivers = openvswitch,linuxbridge,l2population\n[ml2_type_vxlan]\nvni_ranges = 1:1000\n",
    );
    // Heterogeneous nodes, as ML2 allows: an openvswitch_agent.ini on one, a linuxbridge_agent.ini on the other.
    let ovs_conf = w.dir.join("ovs1.ini");
    std::fs::write(
        &ovs_conf,
        format!(
            "[DEFAULT]\nhost = ovs1\n[agent]\nserver_url = {url}\nnode_namespace = {ovs_ns}\nreport_interval = 5\n\
             tunnel_types = vxlan\nl2_population = True\n[ovs]\nlocal_ip = 192.0.2.1\ndatapath_type = netdev\n\
             ovsdb_connection = {}\n[securitygroup]\nfirewall_driver = noop\n",
            ovs.ovsdb_connection()
        ),
    )
    .unwrap();
    let lb_conf = w.dir.join("lb2.ini");
    std::fs::write(
        &lb_conf,
        format!(
            "[DEFAULT]\nhost = lb2\n[agent]\nserver_url = {url}\nnode_namespace = {}\nreport_interval = 5\n\
             namespace_prefix = {}\n[vxlan]\nenable_vxlan = true\nlocal_ip = 192.0.2.2\nl2_population = true\n\
             [securitygroup]\nfirewall_driver = noop\n",
            w.ns("lb2"),
            w.prefix
        ),
    )
    .unwrap();
    for c in [&ovs_conf, &lb_conf] {
        start(&mut w, bin().args(["agent", "l2", "--config-file"]).arg(c), "first sync done");
    }
    let api = Api { base: url.clone(), rt: tokio::runtime::Runtime::new().unwrap(), client: reqwest::Client::new() };
    let net_id = api.create("/v2.0/networks", "network", json!({"name": "mixed"}));
    api.static_subnet(&net_id, "10.6.0.0/24");
    let mut vms = Vec::new();
    for (i, ((node, _), conf)) in nodes.iter().zip([&ovs_conf, &lb_conf]).enumerate() {
        let ip = format!("10.6.0.{}", 11 + i);
        let vm = w.ns(&format!("vm{i}"));
        let port_id = plug_instance(&api, conf, &net_id, node, &vm, &ip);
        vms.push((vm, ip, port_id));
    }
    for (_, _, port_id) in &vms {
        until_active(&api, port_id);
    }
    let types: Vec<String> = vms
        .iter()
        .map(|(_, _, p)| {
            api.get(&format!("/v2.0/ports/{p}"))["port"]["binding:vif_type"].as_str().unwrap_or("").to_string()
        })
        .collect();
    assert_eq!(types, ["ovs", "bridge"], "each node binds with its own driver");
    wait_until("the OVS node's instance reaches the Linux bridge node's", Duration::from_secs(10), || {
        pings(&vms[0].0, &vms[1].1)
    });
    assert!(pings(&vms[1].0, &vms[0].1));
    stop_processes(&mut w);
    drop(ovs);
}

#[test]
fn ovs_agents_carry_vlan_and_flat_provider_networks_and_keep_overlapping_cidrs_apart() {
    let Some(mut w) = ovs_world("ovs_provider", "nprv") else { return };
    // The physical network: each node's eth-u on one Linux bridge (which
    // passes 802.1Q frames through untouched), plus an outside host on it.
    let nodes = [("node1", "192.0.2.1"), ("node2", "192.0.2.2")];
    underlay(&w, &nodes);
    let outside = w.ns("outside");
    sh(&["ip", "netns", "add", &outside]);
    sh(&[
        "ip",
        "-n",
        &outside,
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        "u-out",
        "netns",
        &w.ns("underlay"),
    ]);
    sh(&["ip", "-n", &w.ns("underlay"), "link", "set", "u-out", "master", "br-u", "up"]);
    sh(&["ip", "-n", &outside, "addr", "add", "10.9.0.1/24", "dev", "eth0"]);
    sh(&["ip", "-n", &outside, "link", "set", "eth0", "up"]);
    let mut switches = Vec::new();
    for (node, _) in &nodes {
        let ns = w.ns(node);
        sh(&["ip", "-n", &ns, "addr", "flush", "dev", "eth-u"]);
        let ovs = OvsInstance::start(&w.dir.join(format!("ovs-{node}")), Some(&ns)).unwrap();
        // The operator's step: the provider bridge with the node's NIC.
        ovs.attach_nic("br-phys", "eth-u").unwrap();
        switches.push(ovs);
    }
    let url = start_server(
        &mut w,
        "[DEFAULT]\nauth_strategy = noauth\nallow_overlapping_ips = true\n[identity]\nenabled = false\n\
         [ml2]\ntype_drivers = flat,vlan,vxlan\ntenant_network_types = vlan\n\
         mechanism_drivers = openvswitch\n[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:100:199\n\
         [ml2_type_flat]\nflat_networks = physnet1\n",
    );
    let confs = start_ovs_agents(
        &mut w,
        &url,
        &nodes,
        &switches,
        "",
        |_| "bridge_mappings = physnet1:br-phys\n".into(),
        // Filtered by OpenFlow: provider traffic crosses the firewall's tables too
        // (each network's conntrack zone is its local VLAN, so equal addresses stay apart).
        "openvswitch",
    );
    let api = Api { base: url.clone(), rt: tokio::runtime::Runtime::new().unwrap(), client: reqwest::Client::new() };

    // Two VLAN tenant networks with the same CIDR, and the same addresses on both.
    let mut nets = Vec::new();
    for name in ["red", "blue"] {
        let net = api.post("/v2.0/networks", json!({"network": {"name": name}}));
        assert_eq!(net["network"]["provider:network_type"], "vlan", "{net}");
        let id = net["network"]["id"].as_str().unwrap().to_string();
        api.static_subnet(&id, "10.8.0.0/24");
        nets.push(id);
    }
    let mut vms = Vec::new(); // [red0, red1, blue0, blue1]
    for (n, net) in nets.iter().enumerate() {
        vms.extend(instance_per_node(&w, &api, &confs, &nodes, net, &format!("v{n}"), "10.8.0"));
    }
    let bound = api.get(&format!("/v2.0/ports/{}", vms[0].2));
    assert_eq!(bound["port"]["binding:vif_type"], "ovs", "{bound}");
    for (a, b) in [(0, 1), (2, 3)] {
        wait_until("instances of one VLAN network reach each other across nodes", Duration::from_secs(10), || {
            pings(&vms[a].0, &vms[b].1)
        });
    }
    assert_eq!(tcp_exchange(&mut w, &vms[0].0, &vms[1].0, &vms[1].1, "over vlan"), "over vlan");

    // Isolation: while red talks, blue's instance with the same address sees no frame of it.
    let red0_mac = api.get(&format!("/v2.0/ports/{}", vms[0].2))["port"]["mac_address"].as_str().unwrap().to_string();
    let blue = count_frames(&vms[3].0, &red0_mac, 5);
    let red = count_frames(&vms[1].0, &red0_mac, 5);
    sh(&["ip", "netns", "exec", &vms[0].0, "ip", "neigh", "flush", "all"]);
    let ping = Command::new("ip")
        .args(["netns", "exec", &vms[0].0, "ping", "-c", "20", "-i", "0.05", "-q", &vms[1].1])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&ping.stdout).contains("20 received"));
    let (red, blue) = (red.counted(), blue.counted());
    assert!(red >= 20, "the counter sees red0's frames on red1: {red}");
    assert_eq!(blue, 0, "blue's instance with red1's address saw {blue} frames from red0");

    // The wire carries each network with its provider VLAN id (the two segments differ).
    let ids: Vec<u64> = nets
        .iter()
        .map(|n| api.get(&format!("/v2.0/networks/{n}"))["network"]["provider:segmentation_id"].as_u64().unwrap())
        .collect();
    assert_ne!(ids[0], ids[1]);
    let phys = flows(&switches[0], "br-phys");
    for id in &ids {
        // OpenFlow 1.4 shows mod_vlan_vid as a set_field of the VID with its "present" bit (0x1000).
        let set = format!("set_field:{}->vlan_vid,NORMAL", 0x1000 + id);
        assert!(phys.contains(&set), "br-phys lacks VLAN {id}:\n{phys}");
    }

    // A flat network on the same physical network reaches a host outside the cloud, untagged.
    let flat_id = api.create(
        "/v2.0/networks",
        "network",
        json!({"name": "flat", "provider:network_type": "flat", "provider:physical_network": "physnet1"}),
    );
    api.static_subnet(&flat_id, "10.9.0.0/24");
    let flat_vm = w.ns("flat0");
    // Without port security (the outside host is in no group of ours): an unfiltered port beside filtered ones.
    let unsecured = json!({"port_security_enabled": false, "security_groups": []});
    let flat_port = plug_instance_with(&api, &confs[1], &flat_id, "node2", &flat_vm, "10.9.0.12", unsecured);
    until_active(&api, &flat_port);
    wait_until("an instance on the flat network reaches the outside host", Duration::from_secs(10), || {
        pings(&flat_vm, "10.9.0.1")
    });
    assert!(pings(&outside, "10.9.0.12"));

    let show = switches[1].vsctl(&["show"]).unwrap();
    for want in ["Bridge br-phys", "Port int-br-phys", "Port phy-br-phys", "options: {peer=phy-br-phys}", "Port eth-u"]
    {
        assert!(show.contains(want), "missing '{want}' in:\n{show}");
    }
    stop_processes(&mut w);
    drop(switches);
}

/// `ip -j link show DEV` in `ns`: its ifindex and master.
fn link_of(ns: &str, dev: &str) -> Option<(u64, Option<String>)> {
    let out = Command::new("ip").args(["-n", ns, "-j", "link", "show", dev]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let l = v.get(0)?;
    Some((l["ifindex"].as_u64()?, l["master"].as_str().map(String::from)))
}

#[test]
fn the_hybrid_plug_filters_ovs_instances_by_their_security_groups() {
    security_groups_on_ovs("ovs_hybrid_security_groups", "nhyb", "iptables_hybrid");
}

#[test]
fn the_openvswitch_firewall_filters_ovs_instances_by_their_security_groups() {
    security_groups_on_ovs("ovs_openflow_security_groups", "nofw", "openvswitch");
}

/// Security groups on two OVS nodes with `firewall_driver` `driver`
/// (`iptables_hybrid` or `openvswitch`): the same behaviour either way.
fn security_groups_on_ovs(test: &str, tag: &str, driver: &str) {
    let hybrid = driver == "iptables_hybrid";
    let Some(mut w) = ovs_world(test, tag) else { return };
    let nodes = [("node1", "192.0.2.1"), ("node2", "192.0.2.2")];
    let switches = tunnel_nodes(&w, &nodes);
    let url = start_server(
        &mut w,
        "[DEFAULT]\nauth_strategy = noauth\n[identity]\nenabled = false\n\
         [ml2]\ntype_drivers = vxlan\ntenant_network_types = vxlan\n\
         mechanism_drivers = openvswitch,l2population\n[ml2_type_vxlan]\nvni_ranges = 1:1000\n",
    );
    let confs = start_ovs_agents(
        &mut w,
        &url,
        &nodes,
        &switches,
        "tunnel_types = vxlan\nl2_population = True\n",
        |ip| format!("local_ip = {ip}\n"),
        driver,
    );
    let api = Api { base: url.clone(), rt: tokio::runtime::Runtime::new().unwrap(), client: reqwest::Client::new() };
    let agent = api.get("/v2.0/agents")["agents"][0].clone();
    assert_eq!(agent["configurations"]["ovs_hybrid_plug"], hybrid, "{agent}");
    let net = api.create("/v2.0/networks", "network", json!({"name": "hybrid"}));
    api.static_subnet(&net, "10.9.0.0/24");
    api.static_subnet(&net, "2001:db8:9::/64");
    let lonely = api.create("/v2.0/security-groups", "security_group", json!({"name": "lonely"}));
    // a and c on node1, b and d on node2; d alone in a group that lets nothing in.
    // Each has an IPv4 and an IPv6 address (2001:db8:9::<same last number>).
    let v6 = |ip: &str| ip.replace("10.9.0.", "2001:db8:9::");
    let mut vms = Vec::new();
    for (name, node, ip, groups) in [
        ("a", 0, "10.9.0.11", None),
        ("b", 1, "10.9.0.12", None),
        ("c", 0, "10.9.0.13", None),
        ("d", 1, "10.9.0.14", Some(json!([lonely]))),
    ] {
        let vm = w.ns(name);
        let mut extra = json!({"fixed_ips": [{"ip_address": ip}, {"ip_address": v6(ip)}]});
        if let Some(g) = groups {
            extra["security_groups"] = g;
        }
        let port = plug_instance_with(&api, &confs[node], &net, nodes[node].0, &vm, ip, extra);
        sh(&["ip", "-n", &vm, "-6", "addr", "add", &format!("{}/64", v6(ip)), "dev", "eth0", "nodad"]);
        sh(&["ip", "netns", "exec", &vm, "ethtool", "-K", "eth0", "tx", "off"]);
        vms.push((vm, ip.to_string(), port));
    }
    for (_, _, port) in &vms {
        until_active(&api, port);
    }
    let [a, b, c, d] = [&vms[0], &vms[1], &vms[2], &vms[3]];
    let bound = api.get(&format!("/v2.0/ports/{}", a.2));
    let details = &bound["port"]["binding:vif_details"];
    assert_eq!((details["ovs_hybrid_plug"].as_bool(), details["port_filter"].as_bool()), (Some(hybrid), Some(true)));

    // The hybrid plug: tap and qvb on the port's qbr, qvo on br-int (the tap is not);
    // the OpenFlow firewall: the tap on br-int, its rules in table 82.
    let node1 = w.ns("node1");
    let (tap, qbr, qvb, qvo) = (
        neutrino_model::names::tap_device(&a.2),
        neutrino_model::names::hybrid_bridge(&a.2),
        neutrino_model::names::hybrid_bridge_veth(&a.2),
        neutrino_model::names::hybrid_ovs_veth(&a.2),
    );
    let int_ports = switches[0].vsctl(&["list-ports", "br-int"]).unwrap();
    if hybrid {
        for dev in [&tap, &qvb] {
            assert_eq!(link_of(&node1, dev).and_then(|l| l.1).as_deref(), Some(qbr.as_str()), "{dev} on {qbr}");
        }
        assert!(int_ports.lines().any(|p| p == qvo) && !int_ports.lines().any(|p| p == tap), "{int_ports}");
    } else {
        assert!(link_of(&node1, &qbr).is_none(), "no hybrid plug");
        assert!(int_ports.lines().any(|p| p == tap), "{int_ports}");
        let rules = flows(&switches[0], "br-int");
        assert!(rules.contains("table=82") && rules.contains("ct(commit"), "{rules}");
    }

    // The default group: its members reach each other, across nodes and on one node
    // (two bridges, one conntrack zone), by ping and TCP; the lonely instance is reached by nobody.
    wait_until("a reaches b (default group, across nodes)", Duration::from_secs(10), || pings(&a.0, &b.1));
    assert!(pings(&b.0, &a.1));
    assert!(pings(&a.0, &c.1), "a reaches c (same node)");
    assert_eq!(tcp_exchange(&mut w, &a.0, &c.0, &c.1, "same node"), "same node");
    assert_eq!(tcp_exchange(&mut w, &b.0, &a.0, &a.1, "across"), "across");
    assert!(!pings(&d.0, &a.1), "d is not in a's group");
    assert!(!pings(&a.0, &d.1), "d's group lets nothing in");
    // IPv6 too, neighbour discovery included: across nodes, on one node, not to d.
    wait_until("a reaches b over IPv6", Duration::from_secs(10), || pings(&a.0, &v6(&b.1)));
    assert!(pings(&c.0, &v6(&a.1)), "c reaches a over IPv6 (same node)");
    assert!(!pings(&a.0, &v6(&d.1)), "d's group lets no IPv6 in either");

    // A rule in d's group lets TCP 7000 in from anywhere (and still no ping).
    api.post(
        "/v2.0/security-group-rules",
        json!({"security_group_rule": {"security_group_id": lonely, "direction": "ingress", "protocol": "tcp",
                                       "port_range_min": 7000, "port_range_max": 7000}}),
    );
    assert_eq!(tcp_exchange(&mut w, &a.0, &d.0, &d.1, "let in"), "let in");
    assert!(!pings(&a.0, &d.1), "only TCP 7000 is let in");
    // d joins the default group: its members (a among them) are let in.
    let default = api.get(&format!("/v2.0/ports/{}", a.2))["port"]["security_groups"][0].clone();
    let (status, body) = api.call(
        reqwest::Method::PUT,
        &format!("/v2.0/ports/{}", d.2),
        Some(json!({"port": {"security_groups": [lonely, default]}})),
    );
    assert_eq!(status, 200, "{body}");
    wait_until("a admitted to d as a member", Duration::from_secs(10), || pings(&a.0, &d.1));

    // Spoofing: b takes another address and is cut off.
    sh(&["ip", "-n", &b.0, "addr", "flush", "dev", "eth0"]);
    sh(&["ip", "-n", &b.0, "addr", "add", "10.9.0.99/24", "dev", "eth0"]);
    assert!(!pings(&b.0, &a.1), "a spoofed source is dropped");
    sh(&["ip", "-n", &b.0, "addr", "flush", "dev", "eth0"]);
    sh(&["ip", "-n", &b.0, "addr", "add", &format!("{}/24", b.1), "dev", "eth0"]);

    // An agent restart under traffic: no reply lost, the plug and the firewall untouched.
    let state_of = || {
        let nft = sh(&["ip", "netns", "exec", &node1, "nft", "list", "ruleset"]);
        (link_of(&node1, &qbr), link_of(&node1, &qvb), nft, flows(&switches[0], "br-int"))
    };
    let before = state_of();
    restart_under_ping(&mut w, 1, &confs[0], &a.0, &b.1);
    assert_eq!(before, state_of(), "the restart rebuilt the plug or changed the firewall");

    // c's port goes: its plug goes with it (the instance's tap is the compute side's).
    let out = bin().args(["vif", "unplug", &c.2, "--config-file"]).arg(&confs[0]).output().unwrap();
    assert!(out.status.success(), "vif unplug: {}", String::from_utf8_lossy(&out.stderr));
    let gone = [
        neutrino_model::names::hybrid_bridge(&c.2),
        neutrino_model::names::hybrid_bridge_veth(&c.2),
        neutrino_model::names::hybrid_ovs_veth(&c.2),
        neutrino_model::names::tap_device(&c.2),
    ];
    wait_until("c's plug removed", Duration::from_secs(10), || gone.iter().all(|dev| link_of(&node1, dev).is_none()));
    wait_until("c's port off br-int", Duration::from_secs(10), || {
        let ports = switches[0].vsctl(&["list-ports", "br-int"]).unwrap();
        !ports.lines().any(|p| p == gone[2] || p == gone[3])
    });
    assert!(pings(&a.0, &b.1), "the others still talk");
    stop_processes(&mut w);
    drop(switches);
}

/// A file of the seed deployment (shared/seed-configs), used unchanged.
fn seed_config(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/seed-configs")).join(name)
}

#[test]
fn the_seeds_ovs_deployment_serves_dhcp_routes_to_br_ex_and_floats_ips() {
    let Some(mut w) = ovs_world("seed_ovs_deployment", "nsed") else { return };
    // ren3: controller and network node; ren4: compute node (the seed's hosts).
    let nodes = [("ren3", "192.0.2.1"), ("ren4", "192.0.2.2")];
    let switches = tunnel_nodes(&w, &nodes);
    // The operator's br-ex on ren3 with its external NIC ens38, wired to the outside world (172.24.4.1).
    let outside = w.ns("outside");
    sh(&["ip", "netns", "add", &outside]);
    sh(&["ip", "-n", &w.ns("ren3"), "link", "add", "ens38", "type", "veth", "peer", "name", "eth0", "netns", &outside]);
    sh(&["ip", "-n", &outside, "addr", "add", "172.24.4.1/24", "dev", "eth0"]);
    sh(&["ip", "-n", &outside, "link", "set", "eth0", "up"]);
    sh(&["ip", "netns", "exec", &outside, "ethtool", "-K", "eth0", "tx", "off"]);
    switches[0].attach_nic("br-ex", "ens38").unwrap();

    let url = start_server(
        &mut w,
        "[DEFAULT]\nauth_strategy = noauth\nservice_plugins = router\n[identity]\nenabled = false\n\
         [ml2]\ntype_drivers = flat,vlan,vxlan\ntenant_network_types = vxlan\n\
         mechanism_drivers = openvswitch,l2population\n[ml2_type_vxlan]\nvni_ranges = 1:1000\n\
         [ml2_type_flat]\nflat_networks = *\n",
    );
    // Each agent runs on the seed's file, unchanged, followed by one file with
    // what the test must set: host, server, namespaces, local_ip, datapath_type,
    // ovsdb_connection, and on ren3 bridge_mappings (`ovs_extra`): the external
    // network's physical network on br-ex too, beside external_network_bridge.
    let overrides = |node: &str, ip: &str, ovs: &OvsInstance, ovs_extra: &str| {
        let p = w.dir.join(format!("{node}-test.ini"));
        std::fs::write(
            &p,
            format!(
                "[DEFAULT]\nhost = {node}\n[agent]\nserver_url = {url}\nnode_namespace = {}\nnamespace_prefix = {}\n\
                 report_interval = 5\n[ovs]\nlocal_ip = {ip}\ndatapath_type = netdev\novsdb_connection = {}\n{ovs_extra}",
                w.ns(node),
                w.prefix,
                ovs.ovsdb_connection()
            ),
        )
        .unwrap();
        p
    };
    let ren3 = overrides("ren3", "192.0.2.1", &switches[0], "bridge_mappings = provider:br-ex\n");
    let ren4 = overrides("ren4", "192.0.2.2", &switches[1], "");
    let dhcp_state = w.dir.join("dhcp-state");
    let l3_state = w.dir.join("l3-state");
    let runs: [(&str, &str, &std::path::PathBuf, Option<&std::path::PathBuf>); 4] = [
        ("l2", "openvswitch_agent.ini", &ren3, None),
        ("l2", "openvswitch_agent.compute.ini", &ren4, None),
        ("dhcp", "dhcp_agent.ini", &ren3, Some(&dhcp_state)),
        ("l3", "l3_agent.ini", &ren3, Some(&l3_state)),
    ];
    for (role, file, test, state) in runs {
        let mut cmd = bin();
        cmd.args(["agent", role, "--config-file"]).arg(seed_config(file)).arg("--config-file").arg(test);
        if let Some(s) = state {
            cmd.arg("--state-dir").arg(s);
        }
        start(&mut w, &mut cmd, "first sync done");
    }
    let api = Api { base: url.clone(), rt: tokio::runtime::Runtime::new().unwrap(), client: reqwest::Client::new() };
    let mut types: Vec<String> = api.get("/v2.0/agents")["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {}", a["agent_type"].as_str().unwrap_or(""), a["host"].as_str().unwrap_or("")))
        .collect();
    types.sort();
    assert_eq!(types, ["DHCP agent ren3", "L3 agent ren3", "Open vSwitch agent ren3", "Open vSwitch agent ren4"]);

    // The seed's section 九: an external network behind br-ex, a tenant network with DHCP, a router.
    let id = |v: Value, kind: &str| v[kind]["id"].as_str().unwrap().to_string();
    let ext_net = id(
        api.post(
            "/v2.0/networks",
            json!({"network": {"name": "ext", "router:external": true, "provider:network_type": "flat",
                               "provider:physical_network": "provider"}}),
        ),
        "network",
    );
    api.post(
        "/v2.0/subnets",
        json!({"subnet": {"network_id": ext_net, "cidr": "172.24.4.0/24", "ip_version": 4, "gateway_ip": "172.24.4.1",
                          "enable_dhcp": false, "allocation_pools": [{"start": "172.24.4.10", "end": "172.24.4.100"}]}}),
    );
    let net = id(api.post("/v2.0/networks", json!({"network": {"name": "private"}})), "network");
    let sub = id(
        api.post("/v2.0/subnets", json!({"subnet": {"network_id": net, "cidr": "10.0.0.0/24", "ip_version": 4}})),
        "subnet",
    );
    let router = id(
        api.post("/v2.0/routers", json!({"router": {"name": "r", "external_gateway_info": {"network_id": ext_net}}})),
        "router",
    );
    let (s, body) = api.call(
        reqwest::Method::PUT,
        &format!("/v2.0/routers/{router}/add_router_interface"),
        Some(json!({"subnet_id": sub})),
    );
    assert_eq!(s, 200, "{body}");

    // An instance on ren4 takes its address from the DHCP agent on ren3, across VXLAN.
    let port =
        id(api.post("/v2.0/ports", json!({"port": {"network_id": net, "device_owner": "compute:nova"}})), "port");
    let vm = w.ns("vm");
    let out = bin()
        .args(["vif", "plug", &port, "--host", "ren4", "--netns", &vm, "--config-file"])
        .arg(seed_config("openvswitch_agent.compute.ini"))
        .arg("--config-file")
        .arg(&ren4)
        .output()
        .unwrap();
    assert!(out.status.success(), "vif plug: {}", String::from_utf8_lossy(&out.stderr));
    sh(&["ip", "netns", "exec", &vm, "ethtool", "-K", "eth0", "tx", "off"]);
    until_active(&api, &port);
    let fixed =
        api.get(&format!("/v2.0/ports/{port}"))["port"]["fixed_ips"][0]["ip_address"].as_str().unwrap().to_string();
    let mut lease = None;
    wait_until("a DHCP lease over VXLAN from ren3", Duration::from_secs(20), || {
        lease = dhcp_client(&w.dir, &vm);
        lease.is_some()
    });
    let lease = lease.unwrap();
    assert!(lease.contains(&format!("ip={fixed} ")) && lease.contains("router=10.0.0.1"), "{lease}");

    // Out through the router's SNAT on br-ex, and in by a floating IP.
    wait_until("the instance reaches the outside through the router", Duration::from_secs(15), || {
        pings(&vm, "172.24.4.1")
    });
    let fip = api.post("/v2.0/floatingips", json!({"floatingip": {"floating_network_id": ext_net, "port_id": port}}));
    let fip_addr = fip["floatingip"]["floating_ip_address"].as_str().unwrap().to_string();
    // The seed's iptables_hybrid firewall filters the instance: the outside gets in
    // only once the default group lets ICMP in (the operator's usual rule), and not after.
    let bound = api.get(&format!("/v2.0/ports/{port}"));
    assert_eq!(bound["port"]["binding:vif_details"]["ovs_hybrid_plug"], true, "{bound}");
    let group = bound["port"]["security_groups"][0].as_str().unwrap().to_string();
    let rule = api.post(
        "/v2.0/security-group-rules",
        json!({"security_group_rule": {"security_group_id": group, "direction": "ingress", "protocol": "icmp"}}),
    );
    wait_until("the outside reaches the floating IP", Duration::from_secs(15), || pings(&outside, &fip_addr));
    let rule_id = rule["security_group_rule"]["id"].as_str().unwrap();
    let (s, _) = api.call(reqwest::Method::DELETE, &format!("/v2.0/security-group-rules/{rule_id}"), None);
    assert_eq!(s, 204);
    wait_until("the ICMP rule gone, the floating IP unreachable", Duration::from_secs(10), || {
        !pings(&outside, &fip_addr)
    });
    assert!(pings(&vm, "172.24.4.1"), "egress is still allowed");

    // ren3 looks like the seed's `ovs-vsctl show`, with the router's gateway on br-ex.
    let gw = api.get(&format!("/v2.0/ports?device_id={router}&device_owner=network:router_gateway"));
    let gw_id = gw["ports"][0]["id"].as_str().unwrap().to_string();
    let dhcp = api.get(&format!("/v2.0/ports?network_id={net}&device_owner=network:dhcp"));
    let dhcp_id = dhcp["ports"][0]["id"].as_str().unwrap().to_string();
    let show = switches[0].vsctl(&["show"]).unwrap();
    let on = |bridge: &str, port: &str| {
        // Names are quoted where OVS thinks they need it.
        let section = show.split("    Bridge ").find(|s| s.trim_start_matches('"').starts_with(bridge)).unwrap_or("");
        section.replace('"', "").contains(&format!("Port {port}\n"))
    };
    assert!(on("br-ex", "ens38"), "{show}");
    assert!(on("br-ex", &neutrino_model::names::tap_device(&gw_id)), "the gateway port on br-ex:\n{show}");
    assert!(on("br-int", &neutrino_model::names::tap_device(&dhcp_id)), "the DHCP port on br-int:\n{show}");
    assert!(on("br-int", "patch-tun") && on("br-tun", "patch-int") && on("br-tun", "vxlan-c0000202"), "{show}");
    assert!(on("br-int", "int-br-ex") && on("br-ex", "phy-br-ex"), "br-ex mapped too:\n{show}");
    stop_processes(&mut w);
    drop(switches);
}

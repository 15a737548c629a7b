//! The L2 data plane end to end, as root: an underlay (a namespace with a
//! bridge), two node namespaces each with its own `neutrino agent l2`
//! process and VTEP, the server on 127.0.0.1, instances plugged with
//! `neutrino vif plug`. Instances of one VXLAN network ping each other
//! across nodes; a second network with the same CIDR works and is isolated;
//! deleting a port removes its forwarding entries on the other node; an
//! agent restart under `ping -i 0.01` loses no reply and changes nothing.
//! Skips (saying why) without root, except under CI=true where that fails.
#![allow(clippy::unwrap_used)]

mod world;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use world::*;

#[test]
fn vxlan_between_two_nodes() {
    let Some(mut w) = World::new("vxlan_between_two_nodes", "nt") else { return };

    // Underlay: a bridge in its own namespace, one veth per node.
    let nodes = [("node1", "192.0.2.1"), ("node2", "192.0.2.2")];
    underlay(&w, &nodes);
    // A second wire between the nodes, with no address: the flat provider network physnet1.
    let under = w.ns("underlay");
    sh(&["ip", "-n", &under, "link", "add", "br-p", "type", "bridge"]);
    sh(&["ip", "-n", &under, "link", "set", "br-p", "up"]);
    for (i, (node, _)) in nodes.iter().enumerate() {
        let ns = w.ns(node);
        let ppeer = format!("p{i}");
        sh(&["ip", "-n", &ns, "link", "add", "eth-p", "type", "veth", "peer", "name", &ppeer, "netns", &under]);
        sh(&["ip", "-n", &under, "link", "set", &ppeer, "master", "br-p", "up"]);
        sh(&["ip", "-n", &ns, "link", "set", "eth-p", "up"]);
    }

    // The server (noauth, its own state), then one agent per node.
    let url = start_server(&mut w, "[DEFAULT]\nauth_strategy = noauth\nallow_overlapping_ips = true\n[identity]\nenabled = false\n[ml2]\nmechanism_drivers = linuxbridge,l2population\n[ml2_type_flat]\nflat_networks = physnet1\n");
    let agent_conf = |node: &str, ip: &str| {
        let p = w.dir.join(format!("{node}.ini"));
        std::fs::write(
            &p,
            format!(
                "[DEFAULT]\nhost = {node}\n[agent]\nserver_url = {url}\nnode_namespace = {}\nreport_interval = 5\n\
                 namespace_prefix = {}\n\
                 [vxlan]\nenable_vxlan = true\nlocal_ip = {ip}\nl2_population = true\n\
                 [linux_bridge]\nphysical_interface_mappings = physnet1:eth-p\n",
                w.ns(node),
                w.prefix
            ),
        )
        .unwrap();
        p
    };
    let confs: Vec<_> = nodes.iter().map(|(n, ip)| agent_conf(n, ip)).collect();
    for c in &confs {
        start(&mut w, bin().args(["agent", "l2", "--config-file"]).arg(c), "first sync done");
    }
    let api = Api { base: url.clone(), rt: tokio::runtime::Runtime::new().unwrap(), client: reqwest::Client::new() };
    let agents = api.get("/v2.0/agents");
    assert_eq!(agents["agents"].as_array().unwrap().len(), 2, "{agents}");

    // Two networks with the same CIDR; one instance per node on each.
    let mut vms = Vec::new();
    for (n, net_name) in ["a", "b"].iter().enumerate() {
        let net = api.post("/v2.0/networks", json!({"network": {"name": net_name}}));
        let net_id = net["network"]["id"].as_str().unwrap().to_string();
        // The pool keeps the DHCP port (a random pick) off the instances' addresses.
        api.post(
            "/v2.0/subnets",
            json!({"subnet": {"network_id": net_id, "cidr": "10.0.0.0/24", "ip_version": 4,
                              "allocation_pools": [{"start": "10.0.0.100", "end": "10.0.0.150"}]}}),
        );
        for (i, (node, _)) in nodes.iter().enumerate() {
            let ip = format!("10.0.0.{}", 11 + i + 10 * n);
            let vm = w.ns(&format!("vm-{net_name}{i}"));
            let port_id = plug_instance(&api, &confs[i], &net_id, node, &vm, &ip);
            vms.push((vm, ip, port_id, i));
        }
    }
    for (_, _, port_id, _) in &vms {
        wait_until("ports ACTIVE", Duration::from_secs(10), || {
            api.get(&format!("/v2.0/ports/{port_id}"))["port"]["status"] == "ACTIVE"
        });
    }
    let (a0, a1, b0, b1) = (&vms[0], &vms[1], &vms[2], &vms[3]);
    // The other node's agent may still be adding the forwarding entries.
    wait_until("network a: node1 -> node2", Duration::from_secs(5), || pings(&a0.0, &a1.1));
    wait_until("network b: node2 -> node1 (same CIDR)", Duration::from_secs(5), || pings(&b1.0, &b0.1));
    assert!(!pings(&a0.0, &b1.1), "network a cannot reach network b's address");

    // An agent restart under traffic: no lost reply, no kernel change.
    let node1 = w.ns("node1");
    let dump = |ns: &str| {
        let links = sh(&["ip", "-n", ns, "-o", "link", "show"]);
        let fdb = sh(&["bridge", "-n", ns, "fdb", "show"]);
        let neigh = sh(&["ip", "-n", ns, "neigh", "show", "nud", "permanent"]);
        let mut l: Vec<String> =
            links.lines().map(|x| x.split_whitespace().take(2).collect::<Vec<_>>().join(" ")).collect();
        l.sort();
        let mut f: Vec<&str> = fdb.lines().collect();
        f.sort();
        format!("{}\n--\n{}\n--\n{}", l.join("\n"), f.join("\n"), neigh)
    };
    let before = dump(&node1);
    let ping = Command::new("ip")
        .args(["netns", "exec", &a0.0, "ping", "-i", "0.01", "-c", "300", "-q", &a1.1])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let agent1 = w.children.remove(1);
    let mut agent1 = agent1;
    let _ = Command::new("kill").arg("-TERM").arg(agent1.id().to_string()).status();
    let _ = agent1.wait();
    start(&mut w, bin().args(["agent", "l2", "--config-file"]).arg(&confs[0]), "first sync done");
    let out = ping.wait_with_output().unwrap();
    let summary = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(summary.contains("300 received"), "replies lost across the restart: {summary}");
    assert_eq!(dump(&node1), before, "the restarted agent changed the kernel");

    // Deleting a's port on node2 removes its entries on node1.
    let mac = api.get(&format!("/v2.0/ports/{}", a1.2))["port"]["mac_address"].as_str().unwrap().to_string();
    // The VXLAN device's own entries (`dst <vtep>`), not what the bridge learned.
    let vtep_entry = |mac: &str| {
        sh(&["bridge", "-n", &node1, "fdb", "show"]).lines().any(|l| l.contains(mac) && l.contains(" dst "))
    };
    assert!(vtep_entry(&mac));
    let (s, _) = api.call(reqwest::Method::DELETE, &format!("/v2.0/ports/{}", a1.2), None);
    assert_eq!(s, 204);
    wait_until("fdb entry removed on node1", Duration::from_secs(10), || !vtep_entry(&mac));
    let arp = sh(&["ip", "-n", &node1, "neigh", "show", "nud", "permanent"]);
    assert!(!arp.contains(&mac), "its ARP entry went too: {arp}");
    assert!(!pings(&a0.0, &a1.1));
    assert!(pings(&b1.0, &b0.1), "the other network is untouched");

    // A flat provider network over physnet1: the mapped interface is the bridge's uplink.
    let flat = api.post(
        "/v2.0/networks",
        json!({"network": {"name": "flat", "provider:network_type": "flat", "provider:physical_network": "physnet1"}}),
    );
    let flat_id = flat["network"]["id"].as_str().unwrap().to_string();
    api.post(
        "/v2.0/subnets",
        json!({"subnet": {"network_id": flat_id, "cidr": "10.2.0.0/24", "ip_version": 4,
                          "allocation_pools": [{"start": "10.2.0.100", "end": "10.2.0.150"}]}}),
    );
    let mut flat_vms = Vec::new();
    for (i, (node, _)) in nodes.iter().enumerate() {
        let ip = format!("10.2.0.{}", 11 + i);
        let port = api.post("/v2.0/ports", json!({"port": {"network_id": flat_id, "fixed_ips": [{"ip_address": ip}]}}));
        let port_id = port["port"]["id"].as_str().unwrap().to_string();
        assert_eq!(port["port"]["binding:vif_type"], "unbound");
        let vm = w.ns(&format!("vm-flat{i}"));
        let out = bin()
            .args(["vif", "plug", &port_id, "--host", node, "--netns", &vm, "--config-file"])
            .arg(&confs[i])
            .output()
            .unwrap();
        assert!(out.status.success(), "vif plug: {}", String::from_utf8_lossy(&out.stderr));
        sh(&["ip", "-n", &vm, "addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
        flat_vms.push((vm, ip, port_id));
    }
    for (_, _, port_id) in &flat_vms {
        wait_until("flat ports ACTIVE", Duration::from_secs(10), || {
            api.get(&format!("/v2.0/ports/{port_id}"))["port"]["status"] == "ACTIVE"
        });
    }
    let bridge_of_eth_p = sh(&["ip", "-n", &node1, "-o", "link", "show", "eth-p"]);
    assert!(bridge_of_eth_p.contains("master brq"), "eth-p is the flat bridge's uplink: {bridge_of_eth_p}");
    wait_until("flat: node1 -> node2", Duration::from_secs(5), || pings(&flat_vms[0].0, &flat_vms[1].1));

    // DHCP on node1 serves instances on node2 across VXLAN, each network from its own dnsmasq
    // (networks a and b share 10.0.0.0/24).
    let dhcp_dir = w.dir.join("dhcp-node1");
    start(
        &mut w,
        bin().args(["agent", "dhcp", "--config-file"]).arg(&confs[0]).arg("--state-dir").arg(&dhcp_dir),
        "first sync done",
    );
    let network_of =
        |port: &str| api.get(&format!("/v2.0/ports/{port}"))["port"]["network_id"].as_str().unwrap().to_string();
    let (net_a, net_b) = (network_of(&vms[0].2), network_of(&vms[2].2));
    for net in [&net_a, &net_b] {
        let ns = format!("{}-qdhcp-{net}", w.prefix);
        wait_until("the qdhcp namespace on node1", Duration::from_secs(10), || {
            Path::new("/run/netns").join(&ns).exists()
        });
        wait_until("the DHCP port ACTIVE", Duration::from_secs(10), || {
            api.get(&format!("/v2.0/ports?network_id={net}&device_owner=network:dhcp"))["ports"][0]["status"]
                == "ACTIVE"
        });
    }
    for (net, ip) in [(&net_a, "10.0.0.31"), (&net_b, "10.0.0.41")] {
        let port = api.post("/v2.0/ports", json!({"port": {"network_id": net, "fixed_ips": [{"ip_address": ip}]}}));
        let port_id = port["port"]["id"].as_str().unwrap().to_string();
        let vm = w.ns(&format!("vm-dhcp-{}", &ip[7..]));
        let out = bin()
            .args(["vif", "plug", &port_id, "--host", "node2", "--netns", &vm, "--config-file"])
            .arg(&confs[1])
            .output()
            .unwrap();
        assert!(out.status.success(), "vif plug: {}", String::from_utf8_lossy(&out.stderr));
        wait_until("the port ACTIVE", Duration::from_secs(10), || {
            api.get(&format!("/v2.0/ports/{port_id}"))["port"]["status"] == "ACTIVE"
        });
        let lease = dhcp_client(&w.dir, &vm).expect("a DHCP answer across VXLAN");
        assert!(lease.contains(&format!("ip={ip} mask=24 router=10.0.0.1")), "{lease}");
    }
}

#[test]
fn all_in_one_wires_two_instances_on_one_node() {
    let Some(mut w) = World::new("all_in_one_wires_two_instances_on_one_node", "ns") else { return };
    let node = w.ns("node");
    sh(&["ip", "netns", "add", &node]);
    sh(&["ip", "-n", &node, "link", "set", "lo", "up"]);
    // The all-in-one runs its own L2 agent, working in the node namespace.
    let agent_section = format!("[agent]\nnode_namespace = {node}\nchannel_secret = s3cret\n");
    let url = start_all_in_one(
        &mut w,
        &format!("[DEFAULT]\nauth_strategy = noauth\nhost = single\n[identity]\nenabled = false\n{agent_section}"),
    );
    // What the compute side needs: the server, the secret, the node namespace.
    let vif_conf = w.dir.join("vif.conf");
    std::fs::write(&vif_conf, format!("[DEFAULT]\nhost = single\n{agent_section}server_url = {url}\n")).unwrap();
    let api = Api { base: url, rt: tokio::runtime::Runtime::new().unwrap(), client: reqwest::Client::new() };
    wait_until("the in-process agent reports", Duration::from_secs(10), || {
        api.get("/v2.0/agents?host=single")["agents"].as_array().is_some_and(|a| a.len() == 1)
    });
    let net = api.post("/v2.0/networks", json!({"network": {"name": "single"}}));
    let net_id = net["network"]["id"].as_str().unwrap().to_string();
    api.post("/v2.0/subnets", json!({"subnet": {"network_id": net_id, "cidr": "10.1.0.0/24", "ip_version": 4}}));
    let mut vms = Vec::new();
    for i in 0..2 {
        let ip = format!("10.1.0.{}", 21 + i);
        let port = api.post("/v2.0/ports", json!({"port": {"network_id": net_id, "fixed_ips": [{"ip_address": ip}]}}));
        let port_id = port["port"]["id"].as_str().unwrap().to_string();
        let vm = w.ns(&format!("vm{i}"));
        let out =
            bin().args(["vif", "plug", &port_id, "--netns", &vm, "--config-file"]).arg(&vif_conf).output().unwrap();
        assert!(out.status.success(), "vif plug: {}", String::from_utf8_lossy(&out.stderr));
        sh(&["ip", "-n", &vm, "addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
        vms.push((vm, ip, port_id));
    }
    for (_, _, port_id) in &vms {
        wait_until("ports ACTIVE", Duration::from_secs(10), || {
            api.get(&format!("/v2.0/ports/{port_id}"))["port"]["status"] == "ACTIVE"
        });
    }
    wait_until("the two instances ping", Duration::from_secs(5), || pings(&vms[0].0, &vms[1].1));
    // Unplug: the port is unbound, DOWN, and unreachable.
    let out = bin().args(["vif", "unplug", &vms[1].2, "--config-file"]).arg(&vif_conf).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let port = api.get(&format!("/v2.0/ports/{}", vms[1].2));
    assert_eq!(port["port"]["status"], "DOWN");
    assert_eq!(port["port"]["binding:host_id"], "");
    assert!(!pings(&vms[0].0, &vms[1].1));
}

//! The L2 data plane end to end, as root: an underlay (a namespace with a
//! bridge), two node namespaces each with its own `neutrino agent l2`
//! process and VTEP, the server on 127.0.0.1, instances plugged with
//! `neutrino vif plug`. Instances of one VXLAN network ping each other
//! across nodes; a second network with the same CIDR works and is isolated;
//! deleting a port removes its forwarding entries on the other node; an
//! agent restart under `ping -i 0.01` loses no reply and changes nothing.
//! Skips (saying why) without root, except under CI=true where that fails.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Runs a command, panicking with its output when it fails.
fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn try_sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Everything the scenario made, removed on drop (even after a failure).
struct World {
    prefix: String,
    dir: std::path::PathBuf,
    children: Vec<Child>,
}

impl World {
    /// A fresh world for `test` with namespaces `<tag><pid>-…`, or `None`
    /// (after saying why) without root — a failure under CI, which has root.
    fn new(test: &str, tag: &str) -> Option<World> {
        if !is_root() {
            assert!(std::env::var("CI").is_err(), "CI runs as root: this scenario must not skip");
            eprintln!("SKIP {test}: needs root (network namespaces)");
            return None;
        }
        let prefix = format!("{tag}{}", std::process::id() % 100_000);
        let dir = std::env::temp_dir().join(format!("neutrino-scenario-{prefix}"));
        std::fs::create_dir_all(&dir).unwrap();
        Some(World { prefix, dir, children: Vec::new() })
    }

    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        }
        for c in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        // Grandchildren (dnsmasq) outlive their agents by design: find them by their files.
        if let Ok(entries) = std::fs::read_dir("/proc") {
            let marker = self.dir.to_string_lossy().to_string();
            for e in entries.flatten() {
                let pid = e.file_name().to_string_lossy().to_string();
                if pid.chars().all(|c| c.is_ascii_digit()) {
                    let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                    if String::from_utf8_lossy(&cmd).contains(&marker) {
                        let _ = Command::new("kill").arg(&pid).status();
                    }
                }
            }
        }
        let list = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        for line in list.lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            if name.starts_with(&format!("{}-", self.prefix)) {
                let _ = Command::new("ip").args(["netns", "del", name]).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_neutrino"))
}

/// Starts a process and waits for a stdout line containing `marker`; returns the line.
fn start(world: &mut World, cmd: &mut Command, marker: &str) -> String {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    world.children.push(child);
    let (tx, rx) = std::sync::mpsc::channel();
    let marker = marker.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains(&marker) {
                let _ = tx.send(line);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30)).expect("process did not report readiness")
}

struct Api {
    base: String,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Api {
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let mut r = self.client.request(method, format!("{}{path}", self.base));
            if let Some(b) = body {
                r = r.json(&b);
            }
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json().await.unwrap_or(Value::Null))
        })
    }
    fn post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.call(reqwest::Method::POST, path, Some(body));
        assert_eq!(s, 201, "{path}: {v}");
        v
    }
    fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).1
    }
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn pings(ns: &str, ip: &str) -> bool {
    try_sh(&["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", ip])
}

#[test]
fn vxlan_between_two_nodes() {
    let Some(mut w) = World::new("vxlan_between_two_nodes", "nt") else { return };

    // Underlay: a bridge in its own namespace, one veth per node.
    let under = w.ns("underlay");
    sh(&["ip", "netns", "add", &under]);
    sh(&["ip", "-n", &under, "link", "add", "br-u", "type", "bridge"]);
    sh(&["ip", "-n", &under, "link", "set", "br-u", "up"]);
    // A second wire between the nodes, with no address: the flat provider network physnet1.
    sh(&["ip", "-n", &under, "link", "add", "br-p", "type", "bridge"]);
    sh(&["ip", "-n", &under, "link", "set", "br-p", "up"]);
    let nodes = [("node1", "192.0.2.1"), ("node2", "192.0.2.2")];
    for (i, (node, ip)) in nodes.iter().enumerate() {
        let ns = w.ns(node);
        sh(&["ip", "netns", "add", &ns]);
        let peer = format!("u{i}");
        sh(&["ip", "-n", &ns, "link", "add", "eth-u", "type", "veth", "peer", "name", &peer, "netns", &under]);
        sh(&["ip", "-n", &under, "link", "set", &peer, "master", "br-u", "up"]);
        sh(&["ip", "-n", &ns, "addr", "add", &format!("{ip}/24"), "dev", "eth-u"]);
        sh(&["ip", "-n", &ns, "link", "set", "eth-u", "up"]);
        sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        let ppeer = format!("p{i}");
        sh(&["ip", "-n", &ns, "link", "add", "eth-p", "type", "veth", "peer", "name", &ppeer, "netns", &under]);
        sh(&["ip", "-n", &under, "link", "set", &ppeer, "master", "br-p", "up"]);
        sh(&["ip", "-n", &ns, "link", "set", "eth-p", "up"]);
    }

    // The server (noauth, its own state), then one agent per node.
    let conf = w.dir.join("server.conf");
    std::fs::write(&conf, "[DEFAULT]\nauth_strategy = noauth\nallow_overlapping_ips = true\n[identity]\nenabled = false\n[ml2]\nmechanism_drivers = linuxbridge,l2population\n[ml2_type_flat]\nflat_networks = physnet1\n").unwrap();
    let state_dir = w.dir.join("state");
    let up =
        bin().args(["db", "upgrade", "--config-file"]).arg(&conf).arg("--state-dir").arg(&state_dir).output().unwrap();
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    let line = start(
        &mut w,
        bin()
            .args(["server", "--bind-host", "127.0.0.1", "--bind-port", "0", "--config-file"])
            .arg(&conf)
            .arg("--state-dir")
            .arg(&state_dir),
        "API listening",
    );
    let url = line.split_whitespace().find(|t| t.starts_with("http://")).unwrap().trim_end_matches("/v2.0").to_string();
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
        api.post("/v2.0/subnets", json!({"subnet": {"network_id": net_id, "cidr": "10.0.0.0/24", "ip_version": 4}}));
        for (i, (node, _)) in nodes.iter().enumerate() {
            let ip = format!("10.0.0.{}", 11 + i + 10 * n);
            let port =
                api.post("/v2.0/ports", json!({"port": {"network_id": net_id, "fixed_ips": [{"ip_address": ip}]}}));
            let port_id = port["port"]["id"].as_str().unwrap().to_string();
            let vm = w.ns(&format!("vm-{net_name}{i}"));
            let out = bin()
                .args(["vif", "plug", &port_id, "--host", node, "--netns", &vm, "--config-file"])
                .arg(&confs[i])
                .output()
                .unwrap();
            assert!(out.status.success(), "vif plug: {}", String::from_utf8_lossy(&out.stderr));
            sh(&["ip", "-n", &vm, "addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
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
    api.post("/v2.0/subnets", json!({"subnet": {"network_id": flat_id, "cidr": "10.2.0.0/24", "ip_version": 4}}));
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
    let conf = w.dir.join("aio.conf");
    std::fs::write(
        &conf,
        format!("[DEFAULT]\nauth_strategy = noauth\nhost = single\n[identity]\nenabled = false\n{agent_section}"),
    )
    .unwrap();
    let state_dir = w.dir.join("state");
    let line = start(
        &mut w,
        bin().args(["all-in-one", "--bind-port", "0", "--config-file"]).arg(&conf).arg("--state-dir").arg(&state_dir),
        "API listening",
    );
    let url = line.split_whitespace().find(|t| t.starts_with("http://")).unwrap().trim_end_matches("/v2.0").to_string();
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

/// Runs busybox's DHCP client in `vm` (eth0) once; returns what the lease
/// said (`ip= mask= router= dns= mtu= tftp=`) and applies the address and route.
fn dhcp_client(dir: &Path, vm: &str) -> Option<String> {
    let hook = dir.join("udhcpc.sh");
    let seen = dir.join(format!("lease-{vm}.txt"));
    let _ = std::fs::remove_file(&seen);
    std::fs::write(
        &hook,
        "#!/bin/sh\ncase \"$1\" in bound|renew)\n  \
         echo \"ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu tftp=$tftp\" > \"$LEASE_FILE\"\n  \
         ip addr add $ip/$mask dev $interface\n  ip route replace default via $router\n;; esac\n",
    )
    .ok()?;
    sh(&["chmod", "755", hook.to_str()?]);
    for _ in 0..5 {
        let ok = Command::new("ip")
            .args(["netns", "exec", vm, "env", &format!("LEASE_FILE={}", seen.display())])
            .args([
                "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3", "-T", "1", "-O", "mtu", "-O", "tftp",
                "-s",
            ])
            .arg(&hook)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return std::fs::read_to_string(&seen).ok();
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    None
}

#[test]
fn dhcp_serves_an_instance_its_fixed_ip() {
    let Some(mut w) = World::new("dhcp_serves_an_instance_its_fixed_ip", "nd") else { return };
    let prefix = w.prefix.clone();
    let node = w.ns("node");
    sh(&["ip", "netns", "add", &node]);
    sh(&["ip", "-n", &node, "link", "set", "lo", "up"]);
    let agent_section =
        format!("[agent]\nnode_namespace = {node}\nnamespace_prefix = {prefix}\nchannel_secret = s3cret\n");
    let conf = w.dir.join("aio.conf");
    std::fs::write(
        &conf,
        format!("[DEFAULT]\nauth_strategy = noauth\nhost = single\n[identity]\nenabled = false\n{agent_section}"),
    )
    .unwrap();
    let state_dir = w.dir.join("state");
    let line = start(
        &mut w,
        bin().args(["all-in-one", "--bind-port", "0", "--config-file"]).arg(&conf).arg("--state-dir").arg(&state_dir),
        "API listening",
    );
    let url = line.split_whitespace().find(|t| t.starts_with("http://")).unwrap().trim_end_matches("/v2.0").to_string();
    let agent_conf = w.dir.join("agent.conf");
    // A stand-in for Nova's metadata service: answers one request, recording it, then goes away.
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream_port = upstream.local_addr().unwrap().port();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = upstream.accept() {
            use std::io::{Read, Write};
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\nami-id\nhostname\n");
            let _ = seen_tx.send(String::from_utf8_lossy(&buf).to_string());
        }
    });
    std::fs::write(
        &agent_conf,
        format!(
            "[DEFAULT]\nhost = single\nenable_isolated_metadata = true\nnova_metadata_host = 127.0.0.1\n\
             nova_metadata_port = {upstream_port}\nmetadata_proxy_shared_secret = mdsecret\n{agent_section}server_url = {url}\n"
        ),
    )
    .unwrap();
    let dhcp_state = w.dir.join("dhcp-agent");
    start(
        &mut w,
        bin().args(["agent", "dhcp", "--config-file"]).arg(&agent_conf).arg("--state-dir").arg(&dhcp_state),
        "first sync done",
    );
    let api = Api { base: url, rt: tokio::runtime::Runtime::new().unwrap(), client: reqwest::Client::new() };
    let net = api.post("/v2.0/networks", json!({"network": {"name": "dhcp"}}));
    let net_id = net["network"]["id"].as_str().unwrap().to_string();
    api.post(
        "/v2.0/subnets",
        json!({"subnet": {"network_id": net_id, "cidr": "10.5.0.0/24", "ip_version": 4, "dns_nameservers": ["192.0.2.53"]}}),
    );
    // The DHCP agent got the network: its namespace and dnsmasq appear, its port goes ACTIVE.
    let qdhcp = format!("{prefix}-qdhcp-{net_id}");
    wait_until("the qdhcp namespace", Duration::from_secs(10), || Path::new("/run/netns").join(&qdhcp).exists());
    wait_until("the DHCP port ACTIVE", Duration::from_secs(10), || {
        api.get(&format!("/v2.0/ports?network_id={net_id}&device_owner=network:dhcp"))["ports"][0]["status"] == "ACTIVE"
    });
    // An instance asks for its address with a real DHCP client.
    let port = api.post(
        "/v2.0/ports",
        json!({"port": {"network_id": net_id, "fixed_ips": [{"ip_address": "10.5.0.77"}],
            "extra_dhcp_opts": [{"opt_name": "tftp-server", "opt_value": "192.0.2.9"}]}}),
    );
    let port_id = port["port"]["id"].as_str().unwrap().to_string();
    let vm = w.ns("vm");
    let out = bin().args(["vif", "plug", &port_id, "--netns", &vm, "--config-file"]).arg(&agent_conf).output().unwrap();
    assert!(out.status.success(), "vif plug: {}", String::from_utf8_lossy(&out.stderr));
    wait_until("the instance's port ACTIVE", Duration::from_secs(10), || {
        api.get(&format!("/v2.0/ports/{port_id}"))["port"]["status"] == "ACTIVE"
    });
    let first = dhcp_client(&w.dir, &vm).expect("no DHCP answer");
    let lease = first.clone();
    assert!(lease.contains("ip=10.5.0.77 mask=24 router=10.5.0.1 dns=192.0.2.53 mtu=1450"), "{lease}");
    let files = dhcp_state.join("dhcp").join(&net_id);
    assert!(
        lease.contains("tftp=192.0.2.9"),
        "the port's extra_dhcp_opts: {lease}\nopts:\n{}\nhosts:\n{}",
        std::fs::read_to_string(files.join("opts")).unwrap_or_default(),
        std::fs::read_to_string(files.join("host")).unwrap_or_default()
    );
    let route = sh(&["ip", "-n", &vm, "route", "show", "default"]);
    assert!(route.contains("via 10.5.0.1"), "{route}");
    // The DHCP port answers pings from the instance (same L2).
    let dhcp_ip = api.get(&format!("/v2.0/ports?network_id={net_id}&device_owner=network:dhcp"))["ports"][0]
        ["fixed_ips"][0]["ip_address"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(pings(&vm, &dhcp_ip));

    // Metadata: the route to 169.254.169.254 is offered via the DHCP port; the proxy there
    // identifies the instance and signs its id for the metadata service.
    let opts = std::fs::read_to_string(files.join("opts")).unwrap();
    assert!(opts.contains(&format!("169.254.169.254/32,{dhcp_ip}")), "{opts}");
    sh(&["ip", "-n", &vm, "route", "add", "169.254.169.254/32", "via", &dhcp_ip]);
    let curl = |extra: &[&str]| {
        let mut args = vec!["netns", "exec", vm.as_str(), "curl", "-s", "-m", "5", "-o", "-", "-w", " %{http_code}"];
        args.extend_from_slice(extra);
        args.push("http://169.254.169.254/latest/meta-data/");
        let out = Command::new("ip").args(&args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let answer = curl(&[]);
    assert_eq!(answer, "ami-id\nhostname\n 200");
    let request = seen_rx.recv_timeout(Duration::from_secs(5)).unwrap().to_ascii_lowercase();
    let expected_sig = sh(&[
        "python3",
        "-c",
        &format!("import hmac,hashlib;print(hmac.new(b'mdsecret', b'{vm}', hashlib.sha256).hexdigest())"),
    ]);
    for header in [
        "get /latest/meta-data/ http/1.1".to_string(),
        format!("x-instance-id: {vm}"),
        "x-tenant-id: noauth-project".to_string(),
        "x-forwarded-for: 10.5.0.77".to_string(),
        format!("x-instance-id-signature: {}", expected_sig.trim()),
    ] {
        assert!(request.contains(&header.to_ascii_lowercase()), "missing {header:?} in {request}");
    }
    // An address no instance has: 404. The metadata service gone: 502, not a hang.
    sh(&["ip", "-n", &vm, "addr", "add", "10.5.0.200/24", "dev", "eth0"]);
    assert!(curl(&["--interface", "10.5.0.200"]).ends_with(" 404"));
    assert!(curl(&[]).ends_with(" 502"));
    sh(&["ip", "-n", &vm, "addr", "del", "10.5.0.200/24", "dev", "eth0"]);
    // Another port: the files are rewritten and dnsmasq reloaded (SIGHUP), not restarted.
    let pid_file = dhcp_state.join("dhcp").join(&net_id).join("pid");
    let pid_before = std::fs::read_to_string(&pid_file).unwrap();
    let other =
        api.post("/v2.0/ports", json!({"port": {"network_id": net_id, "fixed_ips": [{"ip_address": "10.5.0.99"}]}}));
    let other_id = other["port"]["id"].as_str().unwrap().to_string();
    wait_until("the hosts file has the new port", Duration::from_secs(10), || {
        std::fs::read_to_string(files.join("host")).is_ok_and(|h| h.contains("10.5.0.99"))
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        pid_before,
        "reloaded, not restarted; dnsmasq's log:\n{}",
        std::fs::read_to_string(files.join("dnsmasq.log")).unwrap_or_default()
    );
    // A new address for the leased port is what its next request gets; the
    // stale lease is dropped (dnsmasq 2.90 crashes on it otherwise).
    let (s, body) = api.call(
        reqwest::Method::PUT,
        &format!("/v2.0/ports/{port_id}"),
        Some(json!({"port": {"fixed_ips": [{"ip_address": "10.5.0.88"}]}})),
    );
    assert_eq!(s, 200, "{body}");
    sh(&["ip", "-n", &vm, "addr", "flush", "dev", "eth0"]);
    wait_until("the new address served", Duration::from_secs(10), || {
        dhcp_client(&w.dir, &vm).is_some_and(|l| l.contains("ip=10.5.0.88"))
    });
    let leases = std::fs::read_to_string(files.join("leases")).unwrap_or_default();
    assert!(leases.contains("10.5.0.88") && !leases.contains("10.5.0.77"), "{leases}");
    let pid_before = std::fs::read_to_string(&pid_file).unwrap();

    // Restarting the agent adopts the healthy dnsmasq instead of starting another.
    let agent = w.children.remove(1);
    let mut agent = agent;
    let _ = Command::new("kill").arg("-TERM").arg(agent.id().to_string()).status();
    let _ = agent.wait();
    start(
        &mut w,
        bin().args(["agent", "dhcp", "--config-file"]).arg(&agent_conf).arg("--state-dir").arg(&dhcp_state),
        "first sync done",
    );
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid_before, "the restart left dnsmasq alone");
    let running = sh(&["pgrep", "-f", &dhcp_state.join("dhcp").join(&net_id).join("host").to_string_lossy()]);
    assert_eq!(running.lines().count(), 1, "one dnsmasq: {running}");

    // dnsmasq killed: the agent heals it.
    let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
    sh(&["kill", "-9", &pid]);
    wait_until("a new dnsmasq", Duration::from_secs(10), || {
        std::fs::read_to_string(&pid_file).is_ok_and(|p| p.trim() != pid && Path::new("/proc").join(p.trim()).exists())
    });
    // Deleting the network tears its DHCP down.
    for id in [&port_id, &other_id] {
        let (s, _) = api.call(reqwest::Method::DELETE, &format!("/v2.0/ports/{id}"), None);
        assert_eq!(s, 204);
    }
    let (s, body) = api.call(reqwest::Method::DELETE, &format!("/v2.0/networks/{net_id}"), None);
    assert_eq!(s, 204, "{body}");
    wait_until("the qdhcp namespace gone", Duration::from_secs(10), || !Path::new("/run/netns").join(&qdhcp).exists());
}

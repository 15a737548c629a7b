//! Routers end to end, as root: a network node (L2 and L3 agents) and a
//! compute node (L2 agent) joined by a VXLAN underlay, an "external"
//! namespace of ours (172.24.4.1, the upstream gateway) on the network
//! node's flat physical network, the server on 127.0.0.1. Instances reach
//! the outside by SNAT, the outside reaches them by floating IPs and port
//! forwardings, two tenants use the same 10.0.0.0/24 at once, and an L3
//! agent restart does not break a TCP connection in flight.
//! Skips (saying why) without root, except under CI=true where that fails.
#![allow(clippy::unwrap_used)]

mod world;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use world::*;

/// A TCP server that first tells each client the address it sees, then echoes.
const PEER_ECHO: &str = r#"
import socket, sys, threading
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
def serve(c, a):
    c.sendall((a[0] + "\n").encode())
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
while True:
    c, a = s.accept()
    threading.Thread(target=serve, args=(c, a), daemon=True).start()
"#;

/// Connects, prints the address the server saw; with a duration, keeps
/// echoing 1 KiB every 20 ms that long and fails on any loss or stall.
const ASK: &str = r#"
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
f = c.makefile("rb")
print(f.readline().decode().strip(), flush=True)
end = time.time() + float(sys.argv[3]) if len(sys.argv) > 3 else 0
n = 0
while time.time() < end:
    msg = (b"%08d" % n) * 128
    c.sendall(msg)
    got = f.read(len(msg))
    if got != msg:
        print("lost echo", n, flush=True)
        sys.exit(1)
    n += 1
    time.sleep(0.02)
if end:
    print("echoed", n, flush=True)
"#;

struct Site {
    w: World,
    api: Api,
    /// The L3 agent's configuration (network node).
    l3_conf: std::path::PathBuf,
    /// Per node: its L2 agent's configuration.
    l2_confs: Vec<std::path::PathBuf>,
    ext: String,
}

/// Two nodes on a VXLAN underlay; node1 also has the flat `extnet` wire
/// to the external namespace; server, two L2 agents, one L3 agent.
fn site(w: World, metadata_port: u16) -> Site {
    let mut w = w;
    let nodes = [("node1", "192.0.2.1"), ("node2", "192.0.2.2")];
    underlay(&w, &nodes);
    // The outside world: one host, 172.24.4.1, on node1's eth-x.
    let ext = w.ns("ext");
    sh(&["ip", "netns", "add", &ext]);
    sh(&["ip", "-n", &ext, "link", "set", "lo", "up"]);
    sh(&["ip", "-n", &w.ns("node1"), "link", "add", "eth-x", "type", "veth", "peer", "name", "eth0", "netns", &ext]);
    sh(&["ip", "-n", &w.ns("node1"), "link", "set", "eth-x", "up"]);
    sh(&["ip", "-n", &ext, "addr", "add", "172.24.4.1/24", "dev", "eth0"]);
    sh(&["ip", "-n", &ext, "link", "set", "eth0", "up"]);

    let url = start_server(
        &mut w,
        "[DEFAULT]\nauth_strategy = noauth\nallow_overlapping_ips = true\nservice_plugins = router\n[identity]\nenabled = false\n\
         [ml2]\nmechanism_drivers = linuxbridge,l2population\n[ml2_type_flat]\nflat_networks = extnet\n",
    );
    let mut l2_confs = Vec::new();
    for (node, ip) in nodes {
        let p = w.dir.join(format!("{node}-l2.ini"));
        let mapping = if node == "node1" { "[linux_bridge]\nphysical_interface_mappings = extnet:eth-x\n" } else { "" };
        std::fs::write(
            &p,
            format!(
                "[DEFAULT]\nhost = {node}\n[agent]\nserver_url = {url}\nnode_namespace = {}\nnamespace_prefix = {}\n\
                 report_interval = 5\n[vxlan]\nenable_vxlan = true\nlocal_ip = {ip}\nl2_population = true\n\
                 [securitygroup]\nfirewall_driver = iptables\n{mapping}",
                w.ns(node),
                w.prefix
            ),
        )
        .unwrap();
        start(&mut w, bin().args(["agent", "l2", "--config-file"]).arg(&p), "first sync done");
        l2_confs.push(p);
    }
    let l3_conf = w.dir.join("l3_agent.ini");
    std::fs::write(
        &l3_conf,
        format!(
            "[DEFAULT]\nhost = node1\nnova_metadata_host = 127.0.0.1\nnova_metadata_port = {metadata_port}\n\
             metadata_proxy_shared_secret = mdsecret\n[agent]\nserver_url = {url}\nnode_namespace = {}\n\
             namespace_prefix = {}\nreport_interval = 5\n",
            w.ns("node1"),
            w.prefix
        ),
    )
    .unwrap();
    let l3_state = w.dir.join("l3-state");
    start(
        &mut w,
        bin().args(["agent", "l3", "--config-file"]).arg(&l3_conf).arg("--state-dir").arg(&l3_state),
        "first sync done",
    );
    let api = Api { base: url, rt: tokio::runtime::Runtime::new().unwrap(), client: reqwest::Client::new() };
    Site { w, api, l3_conf, l2_confs, ext }
}

impl Site {
    fn id(v: &Value, kind: &str) -> String {
        v[kind]["id"].as_str().unwrap().to_string()
    }

    /// A tenant: its network 10.0.0.0/24 and a router to the external network.
    fn tenant(&self, name: &str, ext_net: &str) -> (String, String) {
        let net = Self::id(
            &self.api.post("/v2.0/networks", json!({"network": {"name": name, "project_id": name}})),
            "network",
        );
        let sub = Self::id(
            &self.api.post(
                "/v2.0/subnets",
                json!({"subnet": {"network_id": net, "cidr": "10.0.0.0/24", "ip_version": 4, "enable_dhcp": false, "project_id": name}}),
            ),
            "subnet",
        );
        let router = Self::id(
            &self.api.post(
                "/v2.0/routers",
                json!({"router": {"name": name, "project_id": name, "external_gateway_info": {"network_id": ext_net}}}),
            ),
            "router",
        );
        let (s, body) = self.api.call(
            reqwest::Method::PUT,
            &format!("/v2.0/routers/{router}/add_router_interface"),
            Some(json!({"subnet_id": sub})),
        );
        assert_eq!(s, 200, "{body}");
        (net, router)
    }

    /// An instance on `node` (index) with a static address and default route.
    fn instance(&mut self, net: &str, node: usize, ip: &str, project: &str) -> (String, String) {
        let port = self.api.post(
            "/v2.0/ports",
            json!({"port": {"network_id": net, "project_id": project, "device_owner": "compute:nova",
                            "fixed_ips": [{"ip_address": ip}]}}),
        );
        let port_id = Self::id(&port, "port");
        let vm = self.w.ns(&format!("vm-{project}"));
        let out = bin()
            .args(["vif", "plug", &port_id, "--host", &format!("node{}", node + 1), "--netns", &vm, "--config-file"])
            .arg(&self.l2_confs[node])
            .output()
            .unwrap();
        assert!(out.status.success(), "vif plug: {}", String::from_utf8_lossy(&out.stderr));
        sh(&["ip", "-n", &vm, "addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
        sh(&["ip", "-n", &vm, "route", "add", "default", "via", "10.0.0.1"]);
        wait_until("the instance's port ACTIVE", Duration::from_secs(10), || {
            self.api.get(&format!("/v2.0/ports/{port_id}"))["port"]["status"] == "ACTIVE"
        });
        (vm, port_id)
    }

    /// Opens `protocol` (and `port`) from anywhere into the port's first security group.
    fn allow(&self, port_id: &str, protocol: &str, port: Option<u16>) {
        let group =
            self.api.get(&format!("/v2.0/ports/{port_id}"))["port"]["security_groups"][0].as_str().unwrap().to_string();
        let mut rule = json!({"security_group_id": group, "direction": "ingress", "protocol": protocol,
                              "remote_ip_prefix": "0.0.0.0/0"});
        if let Some(p) = port {
            rule["port_range_min"] = json!(p);
            rule["port_range_max"] = json!(p);
        }
        self.api.post("/v2.0/security-group-rules", json!({ "security_group_rule": rule }));
    }

    /// Runs a Python script file in a namespace as a child of the world.
    fn serve(&mut self, ns: &str, script: &std::path::Path, args: &[&str]) {
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "python3"])
            .arg(script)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        self.w.children.push(child);
    }

    /// What a server at `addr:port` saw as this client's address, asked from `ns`.
    fn ask(&self, ns: &str, addr: &str, port: u16) -> Option<String> {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "python3"])
            .arg(self.w.dir.join("ask.py"))
            .args([addr, &port.to_string()])
            .output()
            .ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

#[test]
fn routers_snat_floating_ips_and_port_forwardings() {
    let Some(w) = World::new("routers_snat_floating_ips_and_port_forwardings", "l3") else { return };
    for tool in ["nft", "python3", "conntrack", "radvd"] {
        if !try_sh(&["sh", "-c", &format!("command -v {tool}")]) {
            assert!(std::env::var("CI").is_err(), "CI installs {tool} (scripts/setup-dataplane.sh)");
            eprintln!("SKIP routers…: no {tool}; scripts/setup-dataplane.sh installs it");
            return;
        }
    }
    let (metadata_port, metadata_seen) = metadata_upstream();
    let mut site = site(w, metadata_port);
    std::fs::write(site.w.dir.join("peer_echo.py"), PEER_ECHO).unwrap();
    std::fs::write(site.w.dir.join("ask.py"), ASK).unwrap();
    let echo = site.w.dir.join("peer_echo.py");
    let ext = site.ext.clone();
    site.serve(&ext, &echo, &["172.24.4.1", "8000"]);

    // The operator's external network; two tenants with the same CIDR.
    let ext_net = Site::id(
        &site.api.post(
            "/v2.0/networks",
            json!({"network": {"name": "public", "router:external": true, "provider:network_type": "flat",
                               "provider:physical_network": "extnet"}}),
        ),
        "network",
    );
    site.api.post(
        "/v2.0/subnets",
        json!({"subnet": {"network_id": ext_net, "cidr": "172.24.4.0/24", "ip_version": 4, "gateway_ip": "172.24.4.1",
                          "enable_dhcp": false, "allocation_pools": [{"start": "172.24.4.10", "end": "172.24.4.100"}]}}),
    );
    let (net_a, router_a) = site.tenant("tenant-a", &ext_net);
    let (net_b, router_b) = site.tenant("tenant-b", &ext_net);
    let gw_of = |api: &Api, r: &str| {
        api.get(&format!("/v2.0/routers/{r}"))["router"]["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (gw_a, gw_b) = (gw_of(&site.api, &router_a), gw_of(&site.api, &router_b));
    // Both routers on the network node's L3 agent.
    let agents = site.api.get(&format!("/v2.0/routers/{router_a}/l3-agents"));
    assert_eq!(agents["agents"][0]["host"], "node1", "{agents}");
    // Tenant a's instance on the compute node (its router across VXLAN), b's on the network node.
    let (vm_a, port_a) = site.instance(&net_a, 1, "10.0.0.5", "tenant-a");
    let (vm_b, port_b) = site.instance(&net_b, 0, "10.0.0.5", "tenant-b");
    // The agents filter: the instances' default groups let in what the outside is to reach.
    site.allow(&port_a, "icmp", None);
    site.allow(&port_a, "tcp", Some(8000));
    site.allow(&port_b, "tcp", Some(22));
    site.serve(&vm_a, &echo, &["10.0.0.5", "8000"]);
    site.serve(&vm_b, &echo, &["10.0.0.5", "22"]);

    // SNAT: each reaches the outside, seen as its own router's gateway address.
    wait_until("tenant a reaches the outside", Duration::from_secs(15), || pings(&vm_a, "172.24.4.1"));
    wait_until("tenant b reaches the outside", Duration::from_secs(15), || pings(&vm_b, "172.24.4.1"));
    assert_eq!(site.ask(&vm_a, "172.24.4.1", 8000).as_deref(), Some(gw_a.as_str()));
    assert_eq!(site.ask(&vm_b, "172.24.4.1", 8000).as_deref(), Some(gw_b.as_str()));
    assert!(!pings(&ext, "10.0.0.5"), "the outside has no route to fixed IPs");

    // IPv6: a SLAAC subnet on the router; its namespace advertises the prefix
    // and itself as the default router.
    let v6 = Site::id(
        &site.api.post(
            "/v2.0/subnets",
            json!({"subnet": {"network_id": net_a, "cidr": "2001:db8:a::/64", "ip_version": 6, "project_id": "tenant-a",
                              "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}}),
        ),
        "subnet",
    );
    let (s, body) = site.api.call(
        reqwest::Method::PUT,
        &format!("/v2.0/routers/{router_a}/add_router_interface"),
        Some(json!({"subnet_id": v6})),
    );
    assert_eq!(s, 200, "{body}");
    let slaac_a = site.api.get(&format!("/v2.0/ports/{port_a}"))["port"]["fixed_ips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subnet_id"] == v6.as_str())
        .map(|f| f["ip_address"].as_str().unwrap().to_string())
        .expect("the instance's SLAAC address");
    wait_until("the instance's SLAAC address and IPv6 default route", Duration::from_secs(30), || {
        let addrs = sh(&["ip", "-n", &vm_a, "-6", "-o", "addr", "show", "scope", "global"]);
        let route = sh(&["ip", "-n", &vm_a, "-6", "route", "show", "default"]);
        addrs.contains(&format!("{slaac_a}/64")) && route.contains("via fe80::")
    });
    assert!(
        try_sh(&["ip", "netns", "exec", &vm_a, "ping", "-6", "-c", "1", "-W", "2", "2001:db8:a::1"]),
        "the router answers on its IPv6 interface"
    );

    // Metadata for a routed network comes through the router's namespace,
    // which identifies the instance by its router and address.
    assert_eq!(curl_metadata(&vm_a, &[]), "ami-id\nhostname\n 200");
    let request = metadata_seen.recv_timeout(Duration::from_secs(5)).unwrap().to_ascii_lowercase();
    for header in [
        format!("x-instance-id: {vm_a}"),
        "x-tenant-id: tenant-a".to_string(),
        "x-forwarded-for: 10.0.0.5".to_string(),
        format!("x-instance-id-signature: {}", nova_signature("mdsecret", &vm_a)),
    ] {
        assert!(request.contains(&header.to_ascii_lowercase()), "missing {header:?} in {request}");
    }

    // A floating IP: the outside reaches tenant a's instance, which sees the real peer.
    let fip =
        site.api.post("/v2.0/floatingips", json!({"floatingip": {"floating_network_id": ext_net, "port_id": port_a}}));
    let fip_id = Site::id(&fip, "floatingip");
    let fip_ip = fip["floatingip"]["floating_ip_address"].as_str().unwrap().to_string();
    wait_until("the floating IP answers", Duration::from_secs(15), || pings(&ext, &fip_ip));
    assert_eq!(site.ask(&ext, &fip_ip, 8000).as_deref(), Some("172.24.4.1"));
    assert_eq!(site.ask(&vm_a, "172.24.4.1", 8000).as_deref(), Some(fip_ip.as_str()), "1:1 SNAT to the floating IP");

    // A port forwarding: FIP2:2222 -> tenant b's instance port 22.
    let fip2 = site
        .api
        .post("/v2.0/floatingips", json!({"floatingip": {"floating_network_id": ext_net, "project_id": "tenant-b"}}));
    let fip2_id = Site::id(&fip2, "floatingip");
    let fip2_ip = fip2["floatingip"]["floating_ip_address"].as_str().unwrap().to_string();
    site.api.post(
        &format!("/v2.0/floatingips/{fip2_id}/port_forwardings"),
        json!({"port_forwarding": {"protocol": "tcp", "external_port": 2222, "internal_port": 22,
                                   "internal_ip_address": "10.0.0.5", "internal_port_id": port_b}}),
    );
    wait_until("the port forwarding answers", Duration::from_secs(15), || {
        site.ask(&ext, &fip2_ip, 2222).as_deref() == Some("172.24.4.1")
    });

    // An L3 agent restart during a long transfer through the floating IP breaks nothing.
    let transfer = Command::new("ip")
        .args(["netns", "exec", &ext, "python3"])
        .arg(site.w.dir.join("ask.py"))
        .args([fip_ip.as_str(), "8000", "6"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let l3 = site.w.children.iter().position(|c| {
        std::fs::read(format!("/proc/{}/cmdline", c.id()))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("l3_agent.ini"))
    });
    let mut old = site.w.children.remove(l3.unwrap());
    let _ = Command::new("kill").arg("-TERM").arg(old.id().to_string()).status();
    let _ = old.wait();
    let l3_state = site.w.dir.join("l3-state");
    let conf = site.l3_conf.clone();
    start(
        &mut site.w,
        bin().args(["agent", "l3", "--config-file"]).arg(&conf).arg("--state-dir").arg(&l3_state),
        "first sync done",
    );
    let done = transfer.wait_with_output().unwrap();
    let echoed: u32 = String::from_utf8_lossy(&done.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("echoed ").and_then(|n| n.trim().parse().ok()))
        .unwrap_or(0);
    assert!(echoed >= 100, "the transfer kept going across the restart: {echoed} echoes");
    assert!(
        done.status.success(),
        "the transfer broke across the restart: {} {}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );

    // Disassociating cuts the outside off; the instance leaves by SNAT again.
    let (s, body) = site.api.call(
        reqwest::Method::PUT,
        &format!("/v2.0/floatingips/{fip_id}"),
        Some(json!({"floatingip": {"port_id": null}})),
    );
    assert_eq!(s, 200, "{body}");
    wait_until("the floating IP gone", Duration::from_secs(15), || !pings(&ext, &fip_ip));
    wait_until("tenant a back to SNAT", Duration::from_secs(15), || {
        site.ask(&vm_a, "172.24.4.1", 8000).as_deref() == Some(gw_a.as_str())
    });
    // Tenant b's port forwarding is untouched by tenant a's change.
    assert_eq!(site.ask(&ext, &fip2_ip, 2222).as_deref(), Some("172.24.4.1"));

    // Deleting a router (after its interface) removes its namespace.
    let _ = (&net_b, &router_b);
    let qrouter = format!("{}-qrouter-{router_a}", site.w.prefix);
    assert!(std::path::Path::new("/run/netns").join(&qrouter).exists());
    assert_eq!(site.api.call(reqwest::Method::DELETE, &format!("/v2.0/floatingips/{fip_id}"), None).0, 204);
    let radvd_conf = site.w.dir.join("l3-state").join("l3").join(format!("{router_a}.radvd.conf"));
    assert!(radvd_conf.exists(), "the router advertises its IPv6 subnet");
    for subnet in site.api.get(&format!("/v2.0/subnets?network_id={net_a}"))["subnets"].as_array().unwrap() {
        let (s, body) = site.api.call(
            reqwest::Method::PUT,
            &format!("/v2.0/routers/{router_a}/remove_router_interface"),
            Some(json!({"subnet_id": subnet["id"]})),
        );
        assert_eq!(s, 200, "{body}");
    }
    wait_until("radvd stopped with the IPv6 interface gone", Duration::from_secs(15), || !radvd_conf.exists());
    assert_eq!(site.api.call(reqwest::Method::DELETE, &format!("/v2.0/routers/{router_a}"), None).0, 204);
    wait_until("router a's namespace gone", Duration::from_secs(15), || {
        !std::path::Path::new("/run/netns").join(&qrouter).exists()
    });
    assert!(!pings(&vm_a, "172.24.4.1"), "no router, no way out");
}

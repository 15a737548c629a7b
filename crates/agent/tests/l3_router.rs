//! The L3 agent against the real kernel, without a server: a router's
//! namespace built from an `L3State`, with instances and an "external" host
//! as namespaces on bridges of a node namespace (the test enslaves the
//! router's `tap…` ends, standing in for the L2 agent). It proves SNAT,
//! floating IPs both ways, port forwarding, hairpin, east-west routing,
//! extra routes, the metadata proxy, admin-down, idempotent rounds, an
//! established connection surviving an agent restart and a NAT reload, the
//! clean removal of a floating IP and of the router.
//!
//! Every namespace is `l3t<pid>-…`; everything is removed on drop, even
//! after a failure. Traffic never leaves these namespaces; the root
//! namespace's routing, NAT and sysctls are untouched. Skips (saying why)
//! without root, except under CI where that fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::{connects, delete_namespaces, eventually, in_ns, ok, pings, sh};
use neutrino_agent::channel::Channel;
use neutrino_agent::l3::{L3Agent, L3Config};
use neutrino_agent::metadata::{listen_in, sign, MetadataConfig};
use neutrino_model::l3::{
    ExtraRoute, FloatingIpState, L3State, PortForwardingState, RouterPort, RouterState, RouterSubnet,
};
use neutrino_model::{names, FixedIp};

const ROUTER: &str = "7e1f3a00-0000-4000-8000-0000000000aa";
const GW_PORT: &str = "a1000000-0000-4000-8000-000000000001";
const QR1_PORT: &str = "a2000000-0000-4000-8000-000000000002";
const QR2_PORT: &str = "a3000000-0000-4000-8000-000000000003";
const SECRET: &str = "s3cret";

/// A connection to one of the test's echo servers: it first says who it sees.
struct Conn {
    seen_as: String,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(ns: &str, to: &str) -> std::io::Result<Conn> {
        let addr: SocketAddr = to.parse().unwrap();
        let stream = in_ns(ns, move || TcpStream::connect_timeout(&addr, Duration::from_secs(3)))?;
        stream.set_read_timeout(Some(Duration::from_secs(3)))?;
        let mut reader = BufReader::new(stream);
        let mut seen_as = String::new();
        reader.read_line(&mut seen_as)?;
        Ok(Conn { seen_as: seen_as.trim().to_string(), reader })
    }

    /// Sends a line and reads its echo.
    fn echo(&mut self, text: &str) -> std::io::Result<String> {
        self.reader.get_mut().write_all(format!("{text}\n").as_bytes())?;
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("closed"));
        }
        Ok(line.trim().to_string())
    }
}

/// The address the server at `to` sees a connection from `ns` come from.
fn seen_as(ns: &str, to: &str) -> String {
    match Conn::open(ns, to) {
        Ok(c) => c.seen_as,
        Err(e) => panic!("{ns} -> {to}: {e}"),
    }
}

/// Everything the test made, removed on drop (even after a failure).
struct World {
    prefix: String,
    dir: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl World {
    fn new() -> Option<World> {
        let root = sh(&["id", "-u"]).trim() == "0";
        let tools = ["nft", "conntrack", "ping", "curl"].iter().all(|t| ok(&["sh", "-c", &format!("command -v {t}")]));
        let ci = std::env::var("CI").is_ok();
        if !root || !tools {
            let why = if root { "needs nft, conntrack, ping, curl (scripts/setup-dataplane.sh)" } else { "needs root" };
            assert!(!ci, "CI runs as root with scripts/setup-dataplane.sh: the L3 test must not skip ({why})");
            eprintln!("SKIP l3_router: {why}");
            return None;
        }
        let prefix = format!("l3t{}", std::process::id() % 100_000);
        let dir = std::env::temp_dir().join(format!("neutrino-{prefix}"));
        std::fs::create_dir_all(&dir).unwrap();
        Some(World { prefix, dir, stop: Arc::new(AtomicBool::new(false)), threads: Vec::new() })
    }

    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// An instance (or the external host): a namespace whose `eth0` is on `bridge` of the node.
    fn vm(&self, name: &str, bridge: &str, cidr: &str, mtu: &str, gateway: Option<&str>) {
        let (ns, node) = (self.ns(name), self.ns("node"));
        let port = format!("v-{name}");
        sh(&["ip", "netns", "add", &ns]);
        sh(&[
            "ip", "-n", &node, "link", "add", &port, "mtu", mtu, "type", "veth", "peer", "name", "eth0", "mtu", mtu,
            "netns", &ns,
        ]);
        sh(&["ip", "-n", &node, "link", "set", &port, "master", bridge, "up"]);
        sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        sh(&["ip", "-n", &ns, "addr", "add", cidr, "dev", "eth0"]);
        sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
        if let Some(gw) = gateway {
            sh(&["ip", "-n", &ns, "route", "add", "default", "via", gw]);
        }
    }

    /// An echo server at `addr` in `ns`: says the peer's address, then echoes lines.
    fn echo_server(&mut self, ns: &str, addr: &str) {
        let listener = listen_in(ns, addr.parse().unwrap()).unwrap();
        let stop = self.stop.clone();
        self.threads.push(std::thread::spawn(move || serve(listener, stop, echo)));
    }

    /// The metadata service and the server's metadata lookup, on loopback in the root namespace.
    fn fake_server(&mut self) -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop, log) = (self.stop.clone(), seen.clone());
        self.threads.push(std::thread::spawn(move || {
            serve(listener, stop, move |s, _, _| http(s, &log));
        }));
        (port, seen)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        delete_namespaces(&self.prefix);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Accepts until `stop`, one thread per connection.
fn serve(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    handle: impl Fn(TcpStream, SocketAddr, &AtomicBool) + Send + Sync + Clone + 'static,
) {
    let mut handlers = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((s, peer)) => {
                let (stop, handle) = (stop.clone(), handle.clone());
                handlers.push(std::thread::spawn(move || handle(s, peer, &stop)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
    }
    for h in handlers {
        let _ = h.join();
    }
}

fn echo(s: TcpStream, peer: SocketAddr, stop: &AtomicBool) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut out = match s.try_clone() {
        Ok(o) => o,
        Err(_) => return,
    };
    if out.write_all(format!("{}\n", peer.ip()).as_bytes()).is_err() {
        return;
    }
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    while !stop.load(Ordering::SeqCst) {
        match reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) if line.ends_with('\n') => {
                if out.write_all(line.as_bytes()).is_err() {
                    return;
                }
                line.clear();
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

/// One HTTP/1.1 exchange: the metadata lookup (known: 10.0.0.11 behind
/// this router) or the metadata service (echoes what the proxy sent).
fn http(mut s: TcpStream, log: &Mutex<Vec<String>>) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or_default().to_string();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    log.lock().unwrap().push(path.clone());
    let (status, body) = if path.starts_with("/agent/v1/metadata-lookup") {
        if path.contains(&format!("router_id={ROUTER}")) && path.contains("ip=10.0.0.11") {
            ("200 OK", r#"{"instance_id": "vm-1-instance", "project_id": "project-1"}"#.to_string())
        } else {
            ("404 Not Found", "{}".to_string())
        }
    } else {
        let body = format!(
            "path={path} instance={} project={} forwarded={} signed={}",
            header("x-instance-id"),
            header("x-tenant-id"),
            header("x-forwarded-for"),
            header("x-instance-id-signature") == sign(SECRET, "vm-1-instance"),
        );
        ("200 OK", body)
    };
    let _ = s.write_all(
        format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            .as_bytes(),
    );
}

fn router_port(id: &str, mac: &str, mtu: u32, subnet: &str, cidr: &str, ip: &str, gateway: &str) -> RouterPort {
    RouterPort {
        id: id.into(),
        network_id: format!("net-{subnet}"),
        mac_address: mac.into(),
        mtu,
        fixed_ips: vec![FixedIp { subnet_id: subnet.into(), ip_address: ip.into() }],
        subnets: vec![RouterSubnet {
            id: subnet.into(),
            cidr: cidr.into(),
            ip_version: 4,
            gateway_ip: Some(gateway.into()),
            ipv6_ra_mode: None,
            ipv6_address_mode: None,
        }],
    }
}

fn fip() -> FloatingIpState {
    FloatingIpState {
        id: "f1".into(),
        floating_ip_address: "172.24.4.20".into(),
        fixed_ip_address: "10.0.0.11".into(),
        port_id: "vm1-port".into(),
    }
}

fn forwarding(id: &str, fip: &str, external: u16, inside: &str, port: u16) -> PortForwardingState {
    PortForwardingState {
        id: id.into(),
        floating_ip_address: fip.into(),
        protocol: "tcp".into(),
        external_port: external,
        internal_ip_address: inside.into(),
        internal_port: port,
    }
}

/// Adds an IPv6 subnet and address to a router port.
fn with_v6(mut port: RouterPort, subnet: &str, cidr: &str, ip: &str, gateway: &str) -> RouterPort {
    port.fixed_ips.push(FixedIp { subnet_id: subnet.into(), ip_address: ip.into() });
    port.subnets.push(RouterSubnet {
        id: subnet.into(),
        cidr: cidr.into(),
        ip_version: 6,
        gateway_ip: Some(gateway.into()),
        ipv6_ra_mode: None,
        ipv6_address_mode: None,
    });
    port
}

/// The router: gateway 172.24.4.10 and 2001:db8:e::10 on the external
/// network, 10.0.0.1 (and 2001:db8:a::1) and 10.1.0.1 inside, an extra
/// route, vm1's floating IP, a port forwarding to vm2.
fn router() -> RouterState {
    let gateway = router_port(GW_PORT, "fa:16:3e:aa:00:01", 1500, "ext", "172.24.4.0/24", "172.24.4.10", "172.24.4.1");
    let qr1 = router_port(QR1_PORT, "fa:16:3e:aa:00:02", 1450, "a", "10.0.0.0/24", "10.0.0.1", "10.0.0.1");
    RouterState {
        id: ROUTER.into(),
        admin_state_up: true,
        enable_snat: true,
        gateway: Some(with_v6(gateway, "ext6", "2001:db8:e::/64", "2001:db8:e::10", "2001:db8:e::1")),
        interfaces: vec![
            with_v6(qr1, "a6", "2001:db8:a::/64", "2001:db8:a::1", "2001:db8:a::1"),
            router_port(QR2_PORT, "fa:16:3e:aa:00:03", 1450, "b", "10.1.0.0/24", "10.1.0.1", "10.1.0.1"),
        ],
        routes: vec![ExtraRoute { destination: "192.168.50.0/24".into(), nexthop: "10.1.0.13".into() }],
        floating_ips: vec![fip()],
        port_forwardings: vec![forwarding("pf1", "172.24.4.30", 2222, "10.0.0.12", 8000)],
    }
}

fn state(r: RouterState) -> L3State {
    L3State { last: 1, routers: vec![r] }
}

/// What a router's namespace visibly has: addresses, routes, the NAT table.
fn snapshot(ns: &str) -> (String, String, String) {
    (
        sh(&["ip", "-n", ns, "-j", "addr", "show"]),
        sh(&["ip", "-n", ns, "route", "show"]),
        sh(&["ip", "netns", "exec", ns, "nft", "-j", "list", "table", "ip", "neutrino-l3"]),
    )
}

/// `ADDR/LEN` of a device in a namespace.
fn addrs(ns: &str, dev: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&sh(&["ip", "-n", ns, "-j", "addr", "show", "dev", dev])).unwrap();
    v[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["scope"] == "global")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn nft_lines(ns: &str) -> Vec<String> {
    sh(&["ip", "netns", "exec", ns, "nft", "list", "table", "ip", "neutrino-l3"]).lines().map(str::to_string).collect()
}

fn ifindex(ns: &str, dev: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(&sh(&["ip", "-n", ns, "-j", "link", "show", "dev", dev])).unwrap();
    v[0]["ifindex"].as_u64().unwrap()
}

fn link_up(ns: &str, dev: &str) -> bool {
    let v: serde_json::Value = serde_json::from_str(&sh(&["ip", "-n", ns, "-j", "link", "show", "dev", dev])).unwrap();
    v[0]["flags"].as_array().unwrap().iter().any(|f| f == "UP")
}

fn agent(w: &World, server_port: u16) -> L3Agent {
    let config = L3Config {
        namespace_prefix: Some(w.prefix.clone()),
        node_namespace: Some(w.ns("node")),
        state_dir: w.dir.join("l3"),
        metadata: Some(MetadataConfig {
            host: "127.0.0.1".into(),
            port: server_port,
            protocol: "http".into(),
            secret: SECRET.into(),
        }),
        external_bridge: None,
        software_checksums: false,
    };
    // Reconcile never calls the server; the metadata proxy's lookups go to the fake.
    let channel = Channel::new(&format!("http://127.0.0.1:{server_port}"), Some("agent-secret")).unwrap();
    L3Agent::new(channel, "l3-test-host".into(), config, 30)
}

#[test]
fn legacy_router_snat_floating_ips_port_forwarding_metadata() {
    let Some(mut w) = World::new() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let root_forward = sh(&["sysctl", "-n", "net.ipv4.ip_forward"]);

    // The node: bridges the L2 agent would make; instances and the external host on them.
    let node = w.ns("node");
    sh(&["ip", "netns", "add", &node]);
    for br in ["br-a", "br-b", "br-ext"] {
        sh(&["ip", "-n", &node, "link", "add", br, "type", "bridge"]);
        sh(&["ip", "-n", &node, "link", "set", br, "up"]);
    }
    w.vm("vm1", "br-a", "10.0.0.11/24", "1450", Some("10.0.0.1"));
    w.vm("vm2", "br-a", "10.0.0.12/24", "1450", Some("10.0.0.1"));
    w.vm("vm3", "br-b", "10.1.0.13/24", "1450", Some("10.1.0.1"));
    w.vm("ext", "br-ext", "172.24.4.1/24", "1500", None);
    let (vm1, vm2, vm3, ext) = (w.ns("vm1"), w.ns("vm2"), w.ns("vm3"), w.ns("ext"));
    // IPv6 is routed, not NATed: vm1 and the external host by their own addresses.
    sh(&["ip", "-n", &vm1, "addr", "add", "2001:db8:a::11/64", "dev", "eth0", "nodad"]);
    sh(&["ip", "-n", &vm1, "-6", "route", "add", "default", "via", "2001:db8:a::1"]);
    sh(&["ip", "-n", &ext, "addr", "add", "2001:db8:e::1/64", "dev", "eth0", "nodad"]);
    sh(&["ip", "-n", &ext, "-6", "route", "add", "2001:db8:a::/64", "via", "2001:db8:e::10"]);
    w.echo_server(&ext, "172.24.4.1:8000");
    w.echo_server(&vm1, "10.0.0.11:8000");
    w.echo_server(&vm2, "10.0.0.12:8000");
    let (server_port, lookups) = w.fake_server();

    let first = agent(&w, server_port);
    let ns = first.namespace(ROUTER);
    let (qg, qr1) = (names::router_gateway_device(GW_PORT), names::router_interface_device(QR1_PORT));
    rt.block_on(first.reconcile(&state(router()))).unwrap();
    // Standing in for the L2 agent: the router's taps onto their networks' bridges.
    for (port, br) in [(GW_PORT, "br-ext"), (QR1_PORT, "br-a"), (QR2_PORT, "br-b")] {
        sh(&["ip", "-n", &node, "link", "set", &names::tap_device(port), "master", br, "up"]);
    }
    assert_eq!(sh(&["ip", "netns", "exec", &ns, "sysctl", "-n", "net.ipv4.ip_forward"]).trim(), "1");
    assert_eq!(sh(&["sysctl", "-n", "net.ipv4.ip_forward"]), root_forward, "the root namespace is untouched");
    assert_eq!(addrs(&ns, &qg), ["172.24.4.10/24", "172.24.4.20/32", "172.24.4.30/32", "2001:db8:e::10/64"]);
    assert_eq!(addrs(&ns, &qr1), ["10.0.0.1/24", "2001:db8:a::1/64"]);
    let link: serde_json::Value =
        serde_json::from_str(&sh(&["ip", "-n", &ns, "-j", "link", "show", "dev", &qr1])).unwrap();
    assert_eq!((link[0]["address"].as_str(), link[0]["mtu"].as_u64()), (Some("fa:16:3e:aa:00:02"), Some(1450)));
    let routes = sh(&["ip", "-n", &ns, "route", "show"]);
    assert!(routes.contains("default via 172.24.4.1 dev qg-"), "{routes}");
    assert!(routes.contains("192.168.50.0/24 via 10.1.0.13"), "{routes}");
    let routes6 = sh(&["ip", "-n", &ns, "-6", "route", "show"]);
    assert!(routes6.contains("default via 2001:db8:e::1 dev qg-"), "{routes6}");

    // SNAT: an instance without a floating IP reaches the outside as the gateway.
    eventually("vm2 pings the external host", || pings(&vm2, "172.24.4.1"));
    assert_eq!(seen_as(&vm2, "172.24.4.1:8000"), "172.24.4.10", "vm2 leaves by SNAT");
    assert_eq!(seen_as(&vm3, "172.24.4.1:8000"), "172.24.4.10", "vm3 (second network) leaves by SNAT");
    // The floating IP: out as the floating IP, in with the caller's real address.
    assert_eq!(seen_as(&vm1, "172.24.4.1:8000"), "172.24.4.20", "vm1 leaves by its floating IP");
    eventually("the external host pings the floating IP", || pings(&ext, "172.24.4.20"));
    assert_eq!(seen_as(&ext, "172.24.4.20:8000"), "172.24.4.1", "vm1 sees the external host's address");
    assert!(!pings(&ext, "172.24.4.21"), "an unassigned address does not answer");
    // Port forwarding 172.24.4.30:2222 -> vm2:8000.
    assert_eq!(seen_as(&ext, "172.24.4.30:2222"), "172.24.4.1", "the port forwarding reaches vm2");
    // Hairpin: vm2 reaches its neighbour by the floating IP.
    assert_eq!(seen_as(&vm2, "172.24.4.20:8000"), "10.0.0.1", "hairpin through the router");
    // East-west between the router's networks: routed, not NATed.
    assert_eq!(seen_as(&vm3, "10.0.0.11:8000"), "10.1.0.13", "east-west keeps the source");
    // IPv6 through the router, both ways.
    eventually("vm1 pings the external host over IPv6", || pings(&vm1, "2001:db8:e::1"));
    assert!(pings(&ext, "2001:db8:a::11"), "the external host reaches vm1 over IPv6");
    // The metadata proxy's port is closed to all but redirected connections.
    assert!(!connects(&ext, "172.24.4.10:9697"), "the proxy is not reachable from outside");

    // Metadata: 169.254.169.254:80 redirected to the router's proxy, which asks by router.
    let mut answer = String::new();
    eventually("vm1 reaches the metadata service", || {
        answer = Command::new("ip")
            .args(["netns", "exec", &vm1, "curl", "-s", "--noproxy", "*", "--max-time", "3"])
            .arg("http://169.254.169.254/latest/meta-data/instance-id")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        answer.starts_with("path=")
    });
    assert_eq!(
        answer,
        "path=/latest/meta-data/instance-id instance=vm-1-instance project=project-1 forwarded=10.0.0.11 signed=true"
    );
    let asked = lookups.lock().unwrap().clone();
    assert!(
        asked.iter().any(|p| p == &format!("/agent/v1/metadata-lookup?router_id={ROUTER}&ip=10.0.0.11")),
        "{asked:?}"
    );

    // A second round of the same state changes nothing visible (once the
    // kernel's own duplicate address detection of link-local addresses is over).
    eventually("link-local addresses leave DAD", || {
        sh(&["ip", "-n", &ns, "-6", "addr", "show", "tentative"]).is_empty()
    });
    let before = snapshot(&ns);
    let taps: Vec<u64> = [GW_PORT, QR1_PORT, QR2_PORT].iter().map(|p| ifindex(&node, &names::tap_device(p))).collect();
    rt.block_on(first.reconcile(&state(router()))).unwrap();
    assert_eq!(snapshot(&ns), before, "a second round changed the router");
    let again: Vec<u64> = [GW_PORT, QR1_PORT, QR2_PORT].iter().map(|p| ifindex(&node, &names::tap_device(p))).collect();
    assert_eq!(again, taps, "no veth was recreated");

    // An established connection through the floating IP survives a new
    // agent's round (restart), and a NAT reload (a port forwarding added).
    let mut held = Conn::open(&ext, "172.24.4.20:8000").unwrap();
    assert_eq!(held.echo("before").unwrap(), "before");
    drop(first);
    let second = agent(&w, server_port);
    rt.block_on(second.reconcile(&state(router()))).unwrap();
    assert_eq!(snapshot(&ns), before, "a restarted agent's round changed the router");
    assert_eq!(held.echo("after restart").unwrap(), "after restart");
    let mut more = router();
    more.port_forwardings.push(forwarding("pf2", "172.24.4.20", 2223, "10.0.0.11", 8000));
    rt.block_on(second.reconcile(&state(more))).unwrap();
    assert_ne!(snapshot(&ns).2, before.2, "the table was reloaded");
    assert_eq!(held.echo("after reload").unwrap(), "after reload");
    assert_eq!(seen_as(&ext, "172.24.4.20:2223"), "172.24.4.1", "the new port forwarding works");

    // Removing the floating IP: exactly its address and rules go, and its connections.
    rt.block_on(second.reconcile(&state(router()))).unwrap();
    let with_fip = nft_lines(&ns);
    let mut without = router();
    without.floating_ips.clear();
    rt.block_on(second.reconcile(&state(without))).unwrap();
    assert_eq!(addrs(&ns, &qg), ["172.24.4.10/24", "172.24.4.30/32", "2001:db8:e::10/64"]);
    let expected: Vec<String> = with_fip.into_iter().filter(|l| !l.contains("172.24.4.20")).collect();
    assert_eq!(nft_lines(&ns), expected, "only the floating IP's rules went");
    let tracked = sh(&["ip", "netns", "exec", &ns, "conntrack", "-L", "-d", "172.24.4.20"]);
    assert!(tracked.trim().is_empty(), "the floating IP's connections were dropped: {tracked}");
    assert!(held.echo("after removal").is_err(), "the held connection is cut");
    assert!(!pings(&ext, "172.24.4.20"), "the floating IP no longer answers");
    assert!(Conn::open(&ext, "172.24.4.20:8000").is_err(), "no way in through the old floating IP");
    assert_eq!(seen_as(&vm1, "172.24.4.1:8000"), "172.24.4.10", "vm1 now leaves by SNAT");
    assert_eq!(seen_as(&ext, "172.24.4.30:2222"), "172.24.4.1", "the port forwarding stays");

    // A router set down: its ports go down; set up again, it routes again.
    let mut down = router();
    down.admin_state_up = false;
    rt.block_on(second.reconcile(&state(down))).unwrap();
    assert!(!link_up(&ns, &qg) && !link_up(&ns, &qr1), "the router's ports are down");
    assert!(!pings(&vm2, "172.24.4.1"), "a router that is down forwards nothing");
    rt.block_on(second.reconcile(&state(router()))).unwrap();
    assert!(link_up(&ns, &qg) && link_up(&ns, &qr1));
    eventually("the router forwards again", || pings(&vm2, "172.24.4.1"));
    assert!(sh(&["ip", "-n", &ns, "route", "show"]).contains("default via 172.24.4.1"), "default route back");

    // A router no longer hosted: its namespace, taps and record go.
    rt.block_on(second.reconcile(&L3State { last: 2, routers: vec![] })).unwrap();
    assert!(!std::path::Path::new("/run/netns").join(&ns).exists(), "namespace removed");
    let node_links = sh(&["ip", "-n", &node, "link", "show"]);
    assert!(!node_links.contains("tapa"), "the router's taps are gone: {node_links}");
    assert!(!w.dir.join("l3").join(format!("{ROUTER}.json")).exists(), "record removed");
    drop(second);
    drop(rt);
}

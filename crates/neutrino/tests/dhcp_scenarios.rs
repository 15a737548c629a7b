//! DHCP and metadata end to end, as root: the all-in-one server (with its
//! in-process L2 agent) in a node namespace, `neutrino agent dhcp` beside
//! it, instances plugged with `neutrino vif plug` asking real DHCP clients
//! (busybox `udhcpc`, ISC `dhclient -6`) and the kernel's own SLAAC.
//! Skips (saying why) without root, except under CI=true where that fails.
#![allow(clippy::unwrap_used)]

mod world;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use world::*;

/// A single node running the all-in-one server and a DHCP agent.
struct DhcpSite {
    api: Api,
    /// The DHCP agent's configuration file (also good for `vif plug`).
    agent_conf: std::path::PathBuf,
    /// The DHCP agent's state directory.
    dhcp_state: std::path::PathBuf,
}

/// Starts the all-in-one server with its L2 agent in the node namespace
/// `<prefix>-node`, and `neutrino agent dhcp` with `agent_default` added
/// to its `[DEFAULT]` section; returns once both have synced.
fn dhcp_site(w: &mut World, agent_default: &str) -> DhcpSite {
    let prefix = w.prefix.clone();
    let node = w.ns("node");
    sh(&["ip", "netns", "add", &node]);
    sh(&["ip", "-n", &node, "link", "set", "lo", "up"]);
    let agent_section =
        format!("[agent]\nnode_namespace = {node}\nnamespace_prefix = {prefix}\nchannel_secret = s3cret\n");
    let url = start_all_in_one(
        w,
        &format!("[DEFAULT]\nauth_strategy = noauth\nhost = single\n[identity]\nenabled = false\n{agent_section}"),
    );
    let agent_conf = w.dir.join("agent.conf");
    std::fs::write(
        &agent_conf,
        format!("[DEFAULT]\nhost = single\n{agent_default}{agent_section}server_url = {url}\n"),
    )
    .unwrap();
    let dhcp_state = w.dir.join("dhcp-agent");
    start(
        w,
        bin().args(["agent", "dhcp", "--config-file"]).arg(&agent_conf).arg("--state-dir").arg(&dhcp_state),
        "first sync done",
    );
    let api = Api { base: url, rt: tokio::runtime::Runtime::new().unwrap(), client: reqwest::Client::new() };
    DhcpSite { api, agent_conf, dhcp_state }
}

#[test]
fn dhcp_serves_an_instance_its_fixed_ip() {
    let Some(mut w) = World::new("dhcp_serves_an_instance_its_fixed_ip", "nd") else { return };
    let prefix = w.prefix.clone();
    let (upstream_port, seen_rx) = metadata_upstream();
    let DhcpSite { api, agent_conf, dhcp_state } = dhcp_site(
        &mut w,
        &format!(
            "enable_isolated_metadata = true\nnova_metadata_host = 127.0.0.1\n\
             nova_metadata_port = {upstream_port}\nmetadata_proxy_shared_secret = mdsecret\n"
        ),
    );
    let net = api.post("/v2.0/networks", json!({"network": {"name": "dhcp"}}));
    let net_id = net["network"]["id"].as_str().unwrap().to_string();
    api.post(
        "/v2.0/subnets",
        json!({"subnet": {"network_id": net_id, "cidr": "10.5.0.0/24", "ip_version": 4, "dns_nameservers": ["192.0.2.53"],
                          "allocation_pools": [{"start": "10.5.0.100", "end": "10.5.0.150"}]}}),
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
    let curl = |extra: &[&str]| curl_metadata(&vm, extra);
    let answer = curl(&[]);
    assert_eq!(answer, "ami-id\nhostname\n 200");
    let request = seen_rx.recv_timeout(Duration::from_secs(5)).unwrap().to_ascii_lowercase();
    let expected_sig = nova_signature("mdsecret", &vm);
    for header in [
        "get /latest/meta-data/ http/1.1".to_string(),
        format!("x-instance-id: {vm}"),
        "x-tenant-id: noauth-project".to_string(),
        "x-forwarded-for: 10.5.0.77".to_string(),
        format!("x-instance-id-signature: {expected_sig}"),
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

/// Runs ISC `dhclient -6` once in `vm` (eth0): stateful (`-N`, an address)
/// or information-only (`-S`); returns the variables its hook saw
/// (`new_ip6_address=…`, `new_dhcp6_name_servers=…`).
fn dhclient6(dir: &Path, vm: &str, mode: &str) -> Option<String> {
    let seen = dir.join(format!("dhclient6-{vm}{mode}.txt"));
    let hook = dir.join(format!("dhclient6-{vm}{mode}.sh"));
    let conf = dir.join("dhclient6.conf");
    // dhclient runs its script with its own environment only: the path is in the script.
    std::fs::write(&hook, format!("#!/bin/sh\nenv | grep '^new_' >> '{}'\n", seen.display())).ok()?;
    std::fs::write(&conf, "timeout 10;\n").ok()?;
    sh(&["chmod", "755", hook.to_str()?]);
    let _ = std::fs::remove_file(&seen);
    let ok = Command::new("ip")
        .args(["netns", "exec", vm, "dhclient", "-6", mode, "-1"])
        .arg("-cf")
        .arg(&conf)
        .arg("-lf")
        .arg(dir.join(format!("dhclient6-{vm}.leases")))
        .arg("-pf")
        .arg(dir.join(format!("dhclient6-{vm}.pid")))
        .arg("-sf")
        .arg(&hook)
        .arg("eth0")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("dhclient6-{vm}{mode}.err"))).ok()?)
        .status()
        .is_ok_and(|s| s.success());
    // dhclient forks into the background once bound: stop it.
    if let Ok(pid) = std::fs::read_to_string(dir.join(format!("dhclient6-{vm}.pid"))) {
        let _ = Command::new("kill").arg(pid.trim()).status();
    }
    if !ok {
        eprintln!(
            "dhclient -6 {mode}: {}",
            std::fs::read_to_string(dir.join(format!("dhclient6-{vm}{mode}.err"))).unwrap_or_default()
        );
    }
    ok.then(|| std::fs::read_to_string(&seen).ok()).flatten()
}

fn ipv6_addresses(ns: &str) -> String {
    sh(&["ip", "-n", ns, "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"])
}

#[test]
fn dhcpv6_and_router_advertisements_follow_the_subnet_modes() {
    let Some(mut w) = World::new("dhcpv6_and_router_advertisements_follow_the_subnet_modes", "n6") else { return };
    if !try_sh(&["sh", "-c", "command -v dhclient"]) {
        assert!(std::env::var("CI").is_err(), "CI installs isc-dhcp-client (scripts/setup-dataplane.sh)");
        eprintln!("SKIP dhcpv6…: no dhclient (isc-dhcp-client); scripts/setup-dataplane.sh installs it");
        return;
    }
    let DhcpSite { api, agent_conf, dhcp_state } = dhcp_site(&mut w, "");
    let network = |name: &str| {
        api.post("/v2.0/networks", json!({"network": {"name": name}}))["network"]["id"].as_str().unwrap().to_string()
    };
    let subnet = |net: &str, cidr: &str, ra: Option<&str>, addr: Option<&str>, dns: &[&str]| {
        let mut body = json!({"network_id": net, "cidr": cidr, "ip_version": 6, "dns_nameservers": dns});
        if let Some(ra) = ra {
            body["ipv6_ra_mode"] = json!(ra);
        }
        if let Some(addr) = addr {
            body["ipv6_address_mode"] = json!(addr);
        }
        api.post("/v2.0/subnets", json!({"subnet": body}))["subnet"]["id"].as_str().unwrap().to_string()
    };
    let dhcp_port =
        |net: &str| api.get(&format!("/v2.0/ports?network_id={net}&device_owner=network:dhcp"))["ports"][0].clone();
    let address_on = |port: &serde_json::Value, subnet: &str| {
        port["fixed_ips"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["subnet_id"] == subnet)
            .map(|f| f["ip_address"].as_str().unwrap().to_string())
    };
    let plug = |port_id: &str, vm: &str| {
        let out =
            bin().args(["vif", "plug", port_id, "--netns", vm, "--config-file"]).arg(&agent_conf).output().unwrap();
        assert!(out.status.success(), "vif plug: {}", String::from_utf8_lossy(&out.stderr));
        wait_until("eth0's link-local address usable", Duration::from_secs(10), || {
            let link = sh(&["ip", "-n", vm, "-6", "addr", "show", "dev", "eth0", "scope", "link"]);
            link.contains("inet6") && !link.contains("tentative")
        });
    };

    // One network: SLAAC advertised by OpenStack, stateful DHCPv6, and a
    // SLAAC subnet whose advertisements are an outside router's.
    let net_id = network("v6");
    let slaac = subnet(&net_id, "2001:db8:a::/64", Some("slaac"), Some("slaac"), &[]);
    let stateful =
        subnet(&net_id, "2001:db8:b::/64", Some("dhcpv6-stateful"), Some("dhcpv6-stateful"), &["2001:db8::b53"]);
    let outside = subnet(&net_id, "2001:db8:d::/64", None, Some("slaac"), &[]);
    // The DHCP port holds an address on every subnet, including those added after it.
    wait_until("the DHCP port on all three subnets", Duration::from_secs(10), || {
        let p = dhcp_port(&net_id);
        p["status"] == "ACTIVE" && p["fixed_ips"].as_array().is_some_and(|f| f.len() == 3)
    });
    let files = dhcp_state.join("dhcp").join(&net_id);
    let log = || std::fs::read_to_string(files.join("dnsmasq.log")).unwrap_or_default();
    wait_until("dnsmasq serving the stateful subnet", Duration::from_secs(10), || {
        let pid = std::fs::read_to_string(files.join("pid")).unwrap_or_default();
        std::fs::read(format!("/proc/{}/cmdline", pid.trim()))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&format!("subnet-{stateful}")))
    });
    let port = api.post(
        "/v2.0/ports",
        json!({"port": {"network_id": net_id, "fixed_ips": [{"subnet_id": stateful, "ip_address": "2001:db8:b::77"}]}}),
    );
    let port_id = port["port"]["id"].as_str().unwrap().to_string();
    let slaac_ip =
        address_on(&port["port"], &slaac).unwrap_or_else(|| panic!("SLAAC addresses come with every port: {port}"));
    assert!(address_on(&port["port"], &outside).is_some(), "{port}");
    let vm = w.ns("vm");
    plug(&port_id, &vm);
    // The kernel configures itself from the advertisements: exactly the
    // address the server computed, on the prefix OpenStack advertises.
    wait_until("a SLAAC address from the advertisements", Duration::from_secs(20), || {
        ipv6_addresses(&vm).contains(&format!("{slaac_ip}/64"))
    });
    let have = ipv6_addresses(&vm);
    assert!(!have.contains("2001:db8:b:"), "no SLAAC on the stateful prefix (M flag, no A): {have}");
    assert!(!have.contains("2001:db8:d:"), "a slaac subnet without ipv6_ra_mode is not ours to advertise: {have}");
    let routes = sh(&["ip", "-n", &vm, "-6", "route", "show", "default"]);
    assert!(routes.trim().is_empty(), "the DHCP port is no default router: {routes}\n{}", log());
    // Stateful DHCPv6 hands out the port's fixed IP with the subnet's DNS server.
    let lease = dhclient6(&w.dir, &vm, "-N").unwrap_or_else(|| panic!("no DHCPv6 answer\n{}", log()));
    assert!(lease.contains("new_ip6_address=2001:db8:b::77"), "{lease}");
    assert!(lease.contains("new_dhcp6_name_servers=2001:db8::b53"), "{lease}");
    // The instance reaches the DHCP port over IPv6.
    let dhcp_slaac = address_on(&dhcp_port(&net_id), &slaac).unwrap();
    assert!(try_sh(&["ip", "netns", "exec", &vm, "ping", "-6", "-c", "1", "-W", "2", &dhcp_slaac]));
    // A changed fixed IP on the stateful subnet is what the next request
    // gets; the SLAAC addresses stay with the port.
    let (s, body) = api.call(
        reqwest::Method::PUT,
        &format!("/v2.0/ports/{port_id}"),
        Some(json!({"port": {"fixed_ips": [{"subnet_id": stateful, "ip_address": "2001:db8:b::88"}]}})),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(address_on(&body["port"], &slaac), Some(slaac_ip), "{body}");
    wait_until("the new stateful address in the hosts file", Duration::from_secs(10), || {
        std::fs::read_to_string(files.join("host")).is_ok_and(|h| h.contains("[2001:db8:b::88]"))
    });
    let _ = std::fs::remove_file(w.dir.join(format!("dhclient6-{vm}.leases")));
    let lease = dhclient6(&w.dir, &vm, "-N").unwrap_or_else(|| panic!("no DHCPv6 answer after the change\n{}", log()));
    assert!(lease.contains("new_ip6_address=2001:db8:b::88"), "{lease}");

    // Another network, DHCPv6-stateless: SLAAC (A and O flags) and options only.
    let info_net = network("v6-stateless");
    let stateless =
        subnet(&info_net, "2001:db8:c::/64", Some("dhcpv6-stateless"), Some("dhcpv6-stateless"), &["2001:db8::c53"]);
    wait_until("the stateless network's DHCP port", Duration::from_secs(10), || {
        dhcp_port(&info_net)["status"] == "ACTIVE"
    });
    let port2 = api.post("/v2.0/ports", json!({"port": {"network_id": info_net}}));
    let stateless_ip = address_on(&port2["port"], &stateless).unwrap();
    let vm2 = w.ns("vm2");
    plug(port2["port"]["id"].as_str().unwrap(), &vm2);
    wait_until("the SLAAC address on the stateless prefix", Duration::from_secs(20), || {
        ipv6_addresses(&vm2).contains(&format!("{stateless_ip}/64"))
    });
    let info = dhclient6(&w.dir, &vm2, "-S").unwrap_or_else(|| panic!("no DHCPv6 information reply"));
    assert!(info.contains("new_dhcp6_name_servers=2001:db8::c53"), "{info}");
    assert!(!info.contains("new_ip6_address"), "{info}");
}

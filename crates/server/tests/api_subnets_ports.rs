//! Subnets and ports over real HTTP: IPAM, MACs, deletion rules.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Server, Who};
use serde_json::{json, Value};

#[tokio::test]
async fn subnet_defaults_gateway_and_pools() {
    let s = Server::default().await;
    let net = s.network(json!({})).await;
    let r = s
        .post(
            "/v2.0/subnets",
            json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.0.0.0/24", "name": "s"}}),
        )
        .await;
    assert_eq!(r.status, 201);
    let sub = &r.body["subnet"];
    assert_eq!(sub["gateway_ip"], "10.0.0.1");
    assert_eq!(sub["allocation_pools"], json!([{"start": "10.0.0.2", "end": "10.0.0.254"}]));
    assert_eq!(sub["enable_dhcp"], true);
    assert_eq!(sub["subnetpool_id"], Value::Null);
    assert_eq!(sub["ipv6_ra_mode"], Value::Null);
    let n = s.get(&format!("/v2.0/networks/{net}")).await;
    assert_eq!(n.body["network"]["subnets"], json!([sub["id"]]));

    // No gateway; host bits are cleared; pools given explicitly.
    let net2 = s.network(json!({})).await;
    let r = s
        .post(
            "/v2.0/subnets",
            json!({"subnet": {"network_id": net2, "ip_version": 4, "cidr": "192.168.5.7/24", "gateway_ip": null,
                "allocation_pools": [{"start": "192.168.5.10", "end": "192.168.5.20"}],
                "dns_nameservers": ["8.8.8.8"], "host_routes": [{"destination": "172.16.0.0/16", "nexthop": "192.168.5.1"}]}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["subnet"]["cidr"], "192.168.5.0/24");
    assert_eq!(r.body["subnet"]["gateway_ip"], Value::Null);
    assert_eq!(r.body["subnet"]["dns_nameservers"], json!(["8.8.8.8"]));

    // IPv6 SLAAC.
    let r = s
        .post("/v2.0/subnets", json!({"subnet": {"network_id": net, "ip_version": 6, "cidr": "2001:db8::/64", "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["subnet"]["gateway_ip"], "2001:db8::1");
    let r = s
        .post("/v2.0/subnets", json!({"subnet": {"network_id": net, "ip_version": 6, "cidr": "2001:db9::/80", "ipv6_address_mode": "slaac"}}))
        .await;
    assert_eq!(r.status, 400, "SLAAC needs a /64");
}

#[tokio::test]
async fn subnet_validation_errors() {
    let s = Server::default().await;
    let net = s.network(json!({})).await;
    s.subnet(&net, "10.0.0.0/24", json!({})).await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"ip_version": 4, "cidr": "10.0.0.128/25"}), 400, "InvalidInput"),
        (
            json!({"ip_version": 4, "cidr": "10.1.0.0/24", "allocation_pools": [{"start": "10.1.0.20", "end": "10.1.0.10"}]}),
            400,
            "InvalidAllocationPool",
        ),
        (
            json!({"ip_version": 4, "cidr": "10.1.0.0/24", "allocation_pools": [{"start": "10.1.0.20", "end": "10.1.1.10"}]}),
            400,
            "OutOfBoundsAllocationPool",
        ),
        (
            json!({"ip_version": 4, "cidr": "10.1.0.0/24", "allocation_pools": [{"start": "10.1.0.2", "end": "10.1.0.10"}, {"start": "10.1.0.5", "end": "10.1.0.15"}]}),
            409,
            "OverlappingAllocationPools",
        ),
        (
            json!({"ip_version": 4, "cidr": "10.1.0.0/24", "gateway_ip": "10.1.0.5", "allocation_pools": [{"start": "10.1.0.2", "end": "10.1.0.10"}]}),
            409,
            "GatewayConflictWithAllocationPools",
        ),
        (json!({"ip_version": 5, "cidr": "10.1.0.0/24"}), 400, "HTTPBadRequest"),
        (json!({"ip_version": 6, "cidr": "10.1.0.0/24"}), 400, "InvalidInput"),
        (json!({"ip_version": 4, "cidr": "banana"}), 400, "InvalidInput"),
        (json!({"ip_version": 4}), 400, "HTTPBadRequest"),
        (json!({"cidr": "10.2.0.0/24"}), 400, "HTTPBadRequest"),
        (json!({"ip_version": 4, "cidr": "10.1.0.0/24", "gateway_ip": "10.1.0.255"}), 400, "InvalidInput"),
        (json!({"ip_version": 4, "cidr": "10.1.0.0/24", "dns_nameservers": ["x"]}), 400, "HTTPBadRequest"),
        (json!({"ip_version": 4, "cidr": "10.1.0.0/24", "ipv6_ra_mode": "slaac"}), 400, "InvalidInput"),
    ];
    for (mut body, status, kind) in cases {
        body["network_id"] = json!(net);
        let r = s.post("/v2.0/subnets", json!({ "subnet": body.clone() })).await;
        assert_eq!((r.status, r.error_type()), (status, kind), "{body}: {}", r.body);
    }
    let missing = s.post("/v2.0/subnets", json!({"subnet": {"network_id": "6b1d7f0c-3f0a-4b43-8f2e-2c4f0f1d9a11", "ip_version": 4, "cidr": "10.9.0.0/24"}})).await;
    assert_eq!((missing.status, missing.error_type()), (404, "NetworkNotFound"));
    let subnets = s.get(&format!("/v2.0/subnets?network_id={net}")).await;
    assert_eq!(subnets.body["subnets"].as_array().unwrap().len(), 1, "no failed create left a subnet behind");
}

#[tokio::test]
async fn overlapping_cidrs_across_networks_follow_allow_overlapping_ips() {
    let s = Server::start("[DEFAULT]\nallow_overlapping_ips = false\n").await;
    let a = s.network(json!({})).await;
    let b = s.network(json!({})).await;
    s.subnet(&a, "10.0.0.0/24", json!({})).await;
    let r = s.post("/v2.0/subnets", json!({"subnet": {"network_id": b, "ip_version": 4, "cidr": "10.0.0.0/16"}})).await;
    assert_eq!(r.status, 400);
    let s2 = Server::start("[DEFAULT]\nallow_overlapping_ips = true\n").await;
    let a = s2.network(json!({})).await;
    let b = s2.network(json!({})).await;
    s2.subnet(&a, "10.0.0.0/24", json!({})).await;
    s2.subnet(&b, "10.0.0.0/24", json!({})).await;
}

#[tokio::test]
async fn subnet_update_keeps_consistency() {
    let s = Server::default().await;
    let net = s.network(json!({})).await;
    let sub = s.subnet(&net, "10.0.0.0/24", json!({})).await;
    let r = s
        .put(
            &format!("/v2.0/subnets/{sub}"),
            json!({"subnet": {"allocation_pools": [{"start": "10.0.0.100", "end": "10.0.0.200"}], "name": "x"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["subnet"]["revision_number"], 2);
    let r = s.put(&format!("/v2.0/subnets/{sub}"), json!({"subnet": {"gateway_ip": "10.0.0.150"}})).await;
    assert_eq!(r.error_type(), "GatewayConflictWithAllocationPools");
    let r = s.put(&format!("/v2.0/subnets/{sub}"), json!({"subnet": {"cidr": "10.0.1.0/24"}})).await;
    assert_eq!(r.message(), "Cannot update read-only attribute cidr");
    let p = s.port(json!({"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.50"}]})).await;
    let r = s.put(&format!("/v2.0/subnets/{sub}"), json!({"subnet": {"gateway_ip": "10.0.0.50"}})).await;
    assert_eq!((r.status, r.error_type()), (409, "GatewayIpInUse"));
    let _ = p;
}

#[tokio::test]
async fn ports_get_addresses_and_macs_with_neutrons_rules() {
    let s = Server::default().await;
    let net = s.network(json!({})).await;
    let sub = s.subnet(&net, "10.0.0.0/29", json!({})).await;
    let p = s.port(json!({"network_id": net, "name": "p1", "device_owner": "compute:nova", "device_id": "vm1"})).await;
    assert_eq!(p["status"], "DOWN");
    assert_eq!(p["binding:vif_type"], "unbound");
    assert_eq!(p["binding:vnic_type"], "normal");
    assert_eq!(p["port_security_enabled"], true);
    assert!(p["mac_address"].as_str().unwrap().starts_with("fa:16:3e:"));
    let ip = p["fixed_ips"][0]["ip_address"].as_str().unwrap().to_string();
    assert_eq!(p["fixed_ips"][0]["subnet_id"], sub);
    let last: u8 = ip.rsplit('.').next().unwrap().parse().unwrap();
    assert!((2..=6).contains(&last), "{ip} inside the pool 10.0.0.2-6");

    // A specific address: honoured, then refused when taken or off-subnet.
    let want = if ip == "10.0.0.4" { "10.0.0.5" } else { "10.0.0.4" };
    let q = s.port(json!({"network_id": net, "fixed_ips": [{"subnet_id": sub, "ip_address": want}]})).await;
    assert_eq!(q["fixed_ips"][0]["ip_address"], want);
    let dup = s.post("/v2.0/ports", json!({"port": {"network_id": net, "fixed_ips": [{"ip_address": want}]}})).await;
    assert_eq!((dup.status, dup.error_type()), (409, "IpAddressAlreadyAllocated"));
    assert_eq!(dup.message(), format!("IP address {want} already allocated in subnet {sub}"));
    let off = s
        .post(
            "/v2.0/ports",
            json!({"port": {"network_id": net, "fixed_ips": [{"subnet_id": sub, "ip_address": "10.0.1.4"}]}}),
        )
        .await;
    assert_eq!((off.status, off.error_type()), (400, "InvalidIpForSubnet"));
    let nowhere =
        s.post("/v2.0/ports", json!({"port": {"network_id": net, "fixed_ips": [{"ip_address": "10.9.9.9"}]}})).await;
    assert_eq!((nowhere.status, nowhere.error_type()), (400, "InvalidIpForNetwork"));
    let bcast =
        s.post("/v2.0/ports", json!({"port": {"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.7"}]}})).await;
    assert_eq!(bcast.error_type(), "InvalidIpForSubnet");

    // MACs: a given one is honoured, a duplicate refused.
    let m = s.port(json!({"network_id": net, "mac_address": "FA:16:3E:00:00:01"})).await;
    assert_eq!(m["mac_address"], "fa:16:3e:00:00:01");
    let mdup = s.post("/v2.0/ports", json!({"port": {"network_id": net, "mac_address": "fa:16:3e:00:00:01"}})).await;
    assert_eq!((mdup.status, mdup.error_type()), (409, "MacAddressInUse"));
    let mbad = s.post("/v2.0/ports", json!({"port": {"network_id": net, "mac_address": "zz"}})).await;
    assert_eq!(mbad.status, 400);

    // The /29 has 5 pool addresses: 3 used, 2 left, then exhaustion.
    s.port(json!({"network_id": net})).await;
    s.port(json!({"network_id": net})).await;
    let full = s.post("/v2.0/ports", json!({"port": {"network_id": net}})).await;
    assert_eq!((full.status, full.error_type()), (409, "IpAddressGenerationFailure"));
    let full2 = s.post("/v2.0/ports", json!({"port": {"network_id": net, "fixed_ips": [{"subnet_id": sub}]}})).await;
    assert_eq!(full2.status, 409);

    // Deleting a port releases its address for the next one.
    assert_eq!(s.delete(&format!("/v2.0/ports/{}", q["id"].as_str().unwrap())).await.status, 204);
    let again = s.port(json!({"network_id": net, "fixed_ips": [{"ip_address": want}]})).await;
    assert_eq!(again["fixed_ips"][0]["ip_address"], want);
}

#[tokio::test]
async fn port_update_changes_addresses_pairs_options_and_binding() {
    let s = Server::default().await;
    let net = s.network(json!({})).await;
    let sub = s.subnet(&net, "10.0.0.0/24", json!({})).await;
    let p = s
        .port(json!({"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.10"}],
        "extra_dhcp_opts": [{"opt_name": "bootfile-name", "opt_value": "pxelinux.0"}]}))
        .await;
    let id = p["id"].as_str().unwrap();
    assert_eq!(
        p["extra_dhcp_opts"],
        json!([{"opt_name": "bootfile-name", "opt_value": "pxelinux.0", "ip_version": 4}])
    );
    let r = s
        .put(
            &format!("/v2.0/ports/{id}"),
            json!({"port": {"fixed_ips": [{"ip_address": "10.0.0.10"}, {"ip_address": "10.0.0.11"}]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["port"]["fixed_ips"].as_array().unwrap().len(), 2);
    let r = s
        .put(
            &format!("/v2.0/ports/{id}"),
            json!({"port": {"fixed_ips": [{"subnet_id": sub, "ip_address": "10.0.0.11"}]}}),
        )
        .await;
    assert_eq!(r.body["port"]["fixed_ips"], json!([{"subnet_id": sub, "ip_address": "10.0.0.11"}]));
    let reuse = s.port(json!({"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.10"}]})).await;
    assert_eq!(reuse["fixed_ips"][0]["ip_address"], "10.0.0.10", "released by the update");

    let r = s
        .put(&format!("/v2.0/ports/{id}"), json!({"port": {"allowed_address_pairs": [{"ip_address": "10.0.0.0/28"}]}}))
        .await;
    assert_eq!(
        r.body["port"]["allowed_address_pairs"],
        json!([{"ip_address": "10.0.0.0/28", "mac_address": p["mac_address"]}])
    );
    // The port has the project's default group: port security stays on while it does.
    assert_eq!(p["security_groups"].as_array().unwrap().len(), 1, "{p}");
    let r = s.put(&format!("/v2.0/ports/{id}"), json!({"port": {"port_security_enabled": false}})).await;
    assert_eq!((r.status, r.error_type()), (409, "PortSecurityPortHasSecurityGroup"));
    let r = s
        .put(&format!("/v2.0/ports/{id}"), json!({"port": {"port_security_enabled": false, "security_groups": []}}))
        .await;
    assert_eq!((r.status, r.error_type()), (409, "AddressPairAndPortSecurityRequired"));
    let r = s.get(&format!("/v2.0/ports/{id}")).await;
    assert_eq!(r.body["port"]["security_groups"], p["security_groups"], "a refused update changes nothing");
    let r = s.put(&format!("/v2.0/ports/{id}"), json!({"port": {"extra_dhcp_opts": [{"opt_name": "bootfile-name", "opt_value": null}, {"opt_name": "tftp-server", "opt_value": "10.0.0.1"}]}})).await;
    assert_eq!(
        r.body["port"]["extra_dhcp_opts"],
        json!([{"opt_name": "tftp-server", "opt_value": "10.0.0.1", "ip_version": 4}])
    );
    // dnsmasq reads options one per line: no line break gets into one, nothing changes.
    for evil in [
        json!({"opt_name": "tftp-server", "opt_value": "10.0.0.1\ndhcp-range=10.9.0.0,static"}),
        json!({"opt_name": "tftp-server\r", "opt_value": "10.0.0.1"}),
        json!({"opt_name": "tag:x,option:router", "opt_value": "10.0.0.1"}),
    ] {
        let r = s.put(&format!("/v2.0/ports/{id}"), json!({"port": {"extra_dhcp_opts": [evil]}})).await;
        assert_eq!((r.status, r.error_type()), (400, "HTTPBadRequest"), "{}", r.body);
    }
    let r = s.get(&format!("/v2.0/ports/{id}")).await;
    assert_eq!(
        r.body["port"]["extra_dhcp_opts"],
        json!([{"opt_name": "tftp-server", "opt_value": "10.0.0.1", "ip_version": 4}])
    );

    // A host with no live L2 agent cannot bind the port (agents come later).
    let r = s.put(&format!("/v2.0/ports/{id}"), json!({"port": {"binding:host_id": "compute1"}})).await;
    assert_eq!(r.body["port"]["binding:vif_type"], "binding_failed");
    assert_eq!(r.body["port"]["binding:host_id"], "compute1");
    let member = s.req(&Who::Member("noauth-project"), "GET", &format!("/v2.0/ports/{id}"), None, &[]).await;
    assert!(member.body["port"].get("binding:host_id").is_none(), "binding details are admin-only");
    assert_eq!(member.body["port"]["binding:vnic_type"], "normal");

    let sg = s
        .post(
            "/v2.0/ports",
            json!({"port": {"network_id": net, "security_groups": ["6b1d7f0c-3f0a-4b43-8f2e-2c4f0f1d9a11"]}}),
        )
        .await;
    assert_eq!((sg.status, sg.error_type()), (404, "SecurityGroupNotFound"));
}

#[tokio::test]
async fn ipv6_slaac_ports_get_eui64_addresses() {
    let s = Server::default().await;
    let net = s.network(json!({})).await;
    // Addresses are picked at random from the pool: the pool leaves out the
    // ones the test asks for by name (10.0.0.50, .51), which a port may still take.
    let pool = json!({"allocation_pools": [{"start": "10.0.0.100", "end": "10.0.0.200"}]});
    let v4 = s.subnet(&net, "10.0.0.0/24", pool).await;
    let v6 = s.subnet(&net, "2001:db8::/64", json!({"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})).await;
    let p = s.port(json!({"network_id": net, "mac_address": "fa:16:3e:33:44:55"})).await;
    let ips: Vec<(&str, &str)> = p["fixed_ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["subnet_id"].as_str().unwrap(), f["ip_address"].as_str().unwrap()))
        .collect();
    assert_eq!(ips.len(), 2);
    assert!(ips.iter().any(|(s, _)| *s == v4));
    assert!(ips.contains(&(v6.as_str(), "2001:db8::f816:3eff:fe33:4455")));
    let direct = s
        .post(
            "/v2.0/ports",
            json!({"port": {"network_id": net, "fixed_ips": [{"subnet_id": v6, "ip_address": "2001:db8::5"}]}}),
        )
        .await;
    assert_eq!(direct.status, 400);
    // Asking for an IPv4 address only still brings the SLAAC one; an update
    // of the IPv4 address keeps it; a router interface takes none.
    let given = s
        .port(json!({"network_id": net, "mac_address": "fa:16:3e:33:44:66", "fixed_ips": [{"subnet_id": v4, "ip_address": "10.0.0.50"}]}))
        .await;
    let pid = given["id"].as_str().unwrap().to_string();
    let pairs = |p: &serde_json::Value| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = p["fixed_ips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["subnet_id"].as_str().unwrap().to_string(), f["ip_address"].as_str().unwrap().to_string()))
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out
    };
    let slaac = (v6.clone(), "2001:db8::f816:3eff:fe33:4466".to_string());
    assert_eq!(pairs(&given), vec![(v4.clone(), "10.0.0.50".into()), slaac.clone()], "IPv4 sorts first");
    let r = s
        .put(
            &format!("/v2.0/ports/{pid}"),
            json!({"port": {"fixed_ips": [{"subnet_id": v4, "ip_address": "10.0.0.51"}]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(pairs(&r.body["port"]), vec![(v4.clone(), "10.0.0.51".into()), slaac.clone()]);
    let r = s
        .put(
            &format!("/v2.0/ports/{pid}"),
            json!({"port": {"fixed_ips": [{"subnet_id": v4, "ip_address": "10.0.0.51"}, {"subnet_id": v6}]}}),
        )
        .await;
    assert_eq!(pairs(&r.body["port"]), vec![(v4.clone(), "10.0.0.51".into()), slaac], "{}", r.body);
    let router = s
        .port(json!({"network_id": net, "device_owner": "network:router_interface", "fixed_ips": [{"subnet_id": v4}]}))
        .await;
    assert_eq!(router["fixed_ips"].as_array().unwrap().len(), 1, "{router}");
}

#[tokio::test]
async fn deletes_are_refused_while_in_use() {
    let s = Server::default().await;
    let net = s.network(json!({})).await;
    let sub = s.subnet(&net, "10.0.0.0/24", json!({})).await;
    let p = s.port(json!({"network_id": net})).await;
    let dhcp = s.port(json!({"network_id": net, "device_owner": "network:dhcp"})).await;
    let r = s.delete(&format!("/v2.0/subnets/{sub}")).await;
    assert_eq!((r.status, r.error_type()), (409, "SubnetInUse"));
    let r = s.delete(&format!("/v2.0/networks/{net}")).await;
    assert_eq!((r.status, r.error_type()), (409, "NetworkInUse"));
    assert_eq!(
        r.message(),
        format!(
            "Unable to complete operation on network {net}. There are one or more ports still in use on the network."
        )
    );
    assert_eq!(s.delete(&format!("/v2.0/ports/{}", p["id"].as_str().unwrap())).await.status, 204);
    // Only the DHCP port holds an address now: the subnet goes, the DHCP port stays without it.
    assert_eq!(s.delete(&format!("/v2.0/subnets/{sub}")).await.status, 204);
    let d = s.get(&format!("/v2.0/ports/{}", dhcp["id"].as_str().unwrap())).await;
    assert_eq!(d.body["port"]["fixed_ips"], json!([]));
    assert_eq!(s.get(&format!("/v2.0/networks/{net}")).await.body["network"]["subnets"], json!([]));
    // The network goes with its DHCP port.
    assert_eq!(s.delete(&format!("/v2.0/networks/{net}")).await.status, 204);
    assert_eq!(s.get(&format!("/v2.0/ports/{}", dhcp["id"].as_str().unwrap())).await.status, 404);
}

#[tokio::test]
async fn network_delete_cascades_subnets_and_frees_everything() {
    let s = Server::default().await;
    let net = s.network(json!({})).await;
    let sub = s.subnet(&net, "10.0.0.0/24", json!({})).await;
    assert_eq!(s.delete(&format!("/v2.0/networks/{net}")).await.status, 204);
    assert_eq!(s.get(&format!("/v2.0/subnets/{sub}")).await.status, 404);
    let net2 = s.network(json!({})).await;
    s.subnet(&net2, "10.0.0.0/24", json!({})).await;
}

#[tokio::test]
async fn subnet_limits_on_nameservers_and_routes() {
    let s = Server::start("[DEFAULT]\nmax_dns_nameservers = 2\nmax_subnet_host_routes = 1\n").await;
    let net = s.network(json!({})).await;
    let r = s.post("/v2.0/subnets", json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.0.0.0/24", "dns_nameservers": ["1.1.1.1", "8.8.8.8", "9.9.9.9"]}})).await;
    assert_eq!((r.status, r.error_type()), (400, "DNSNameServersExhausted"));
    let sub = s
        .subnet(&net, "10.0.0.0/24", json!({"host_routes": [{"destination": "10.1.0.0/16", "nexthop": "10.0.0.1"}]}))
        .await;
    let r = s.put(&format!("/v2.0/subnets/{sub}"), json!({"subnet": {"host_routes": [{"destination": "10.1.0.0/16", "nexthop": "10.0.0.1"}, {"destination": "10.2.0.0/16", "nexthop": "10.0.0.1"}]}})).await;
    assert_eq!((r.status, r.error_type()), (400, "HostRoutesExhausted"));
}

#[tokio::test]
async fn slaac_subnet_delete_takes_its_automatic_addresses() {
    let s = Server::default().await;
    let net = s.network(json!({})).await;
    s.subnet(&net, "10.0.0.0/24", json!({})).await;
    let v6 = s.subnet(&net, "2001:db8::/64", json!({"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})).await;
    let p = s.port(json!({"network_id": net})).await;
    assert_eq!(p["fixed_ips"].as_array().unwrap().len(), 2);
    assert_eq!(s.delete(&format!("/v2.0/subnets/{v6}")).await.status, 204);
    let after = s.get(&format!("/v2.0/ports/{}", p["id"].as_str().unwrap())).await;
    assert_eq!(after.body["port"]["fixed_ips"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn shared_network_guests_get_neutrons_port_policy() {
    let s = Server::default().await;
    let net = s.network(json!({"shared": true, "project_id": "owner"})).await;
    s.subnet(&net, "10.0.0.0/24", json!({"project_id": "owner"})).await;
    let guest = Who::Member("guest");
    for (body, rule) in [
        (json!({"fixed_ips": [{"ip_address": "10.0.0.9"}]}), "create_port:fixed_ips:ip_address"),
        (json!({"mac_address": "fa:16:3e:00:00:09"}), "create_port:mac_address"),
        (json!({"port_security_enabled": false}), "create_port:port_security_enabled"),
        (json!({"device_owner": "network:dhcp"}), "create_port:device_owner"),
    ] {
        let mut b = body.clone();
        b["network_id"] = json!(net);
        let r = s.req(&guest, "POST", "/v2.0/ports", Some(json!({ "port": b })), &[]).await;
        assert_eq!((r.status, r.message()), (403, format!("rule:{rule} is disallowed by policy").as_str()), "{body}");
    }
    let ok = s.req(&guest, "POST", "/v2.0/ports", Some(json!({"port": {"network_id": net}})), &[]).await;
    assert_eq!(ok.status, 201);
    assert_eq!(ok.body["port"]["project_id"], "guest");
    // The guest's port keeps the network shared.
    let r = s.put(&format!("/v2.0/networks/{net}"), json!({"network": {"shared": false}})).await;
    assert_eq!((r.status, r.error_type()), (409, "InvalidSharedSetting"));
    assert_eq!(s.get(&format!("/v2.0/networks/{net}")).await.body["network"]["shared"], true);
}

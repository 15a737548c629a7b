//! Routers, interfaces, extra routes and floating IPs through the API, with
//! Neutron's refusals (each leaving the state as it was).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Server, Who};
use serde_json::{json, Value};

/// An external network 172.24.4.0/24 and a tenant network 10.0.0.0/24.
async fn topology(s: &Server) -> (String, String, String, String) {
    let ext = s.network(json!({"router:external": true, "project_id": "admin-project"})).await;
    let ext_sub = s
        .subnet(
            &ext,
            "172.24.4.0/24",
            json!({"gateway_ip": "172.24.4.1", "enable_dhcp": false, "project_id": "admin-project"}),
        )
        .await;
    let net = s.network(json!({})).await;
    let sub = s.subnet(&net, "10.0.0.0/24", json!({})).await;
    (ext, ext_sub, net, sub)
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn router_gateway_interfaces_and_floating_ips() {
    let s = Server::default().await;
    let (ext, ext_sub, net, sub) = topology(&s).await;
    // A router with a gateway: one address on the external subnet, SNAT on.
    let r =
        s.post("/v2.0/routers", json!({"router": {"name": "r1", "external_gateway_info": {"network_id": ext}}})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let router = r.body["router"].clone();
    let rid = router["id"].as_str().unwrap().to_string();
    let gw = &router["external_gateway_info"];
    assert_eq!(gw["network_id"], ext.as_str());
    assert_eq!(gw["enable_snat"], true);
    assert_eq!(gw["external_fixed_ips"][0]["subnet_id"], ext_sub.as_str());
    assert_eq!(
        (router["distributed"].clone(), router["ha"].clone(), router["routes"].clone()),
        (json!(false), json!(false), json!([]))
    );
    let gw_ports = s.get(&format!("/v2.0/ports?device_id={rid}&device_owner=network:router_gateway")).await;
    assert_eq!(gw_ports.body["ports"].as_array().unwrap().len(), 1);

    // Interface by subnet: a port with the subnet's gateway IP.
    let r = s.put(&format!("/v2.0/routers/{rid}/add_router_interface"), json!({"subnet_id": sub})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["subnet_id"], sub.as_str());
    assert_eq!(r.body["network_id"], net.as_str());
    let if_port = r.body["port_id"].as_str().unwrap().to_string();
    let p = s.get(&format!("/v2.0/ports/{if_port}")).await;
    assert_eq!(p.body["port"]["fixed_ips"][0]["ip_address"], "10.0.0.1");
    assert_eq!(p.body["port"]["device_owner"], "network:router_interface");
    // Twice, or an overlapping subnet, or no gateway: refused.
    let r = s.put(&format!("/v2.0/routers/{rid}/add_router_interface"), json!({"subnet_id": sub})).await;
    assert_eq!((r.status, r.error_type()), (400, "BadRequest"), "{}", r.body);
    let net2 = s.network(json!({})).await;
    let overlapping = s.subnet(&net2, "10.0.0.0/25", json!({})).await;
    let r = s.put(&format!("/v2.0/routers/{rid}/add_router_interface"), json!({"subnet_id": overlapping})).await;
    assert_eq!((r.status, r.error_type()), (400, "BadRequest"));
    assert!(r.message().contains("overlaps"), "{}", r.body);
    let r = s.put(&format!("/v2.0/routers/{rid}/add_router_interface"), json!({})).await;
    assert_eq!(r.status, 400);
    let r = s
        .put(&format!("/v2.0/routers/{rid}/add_router_interface"), json!({"subnet_id": sub, "port_id": if_port}))
        .await;
    assert_eq!(r.status, 400);
    // The interface port cannot be deleted through the port API.
    let r = s.delete(&format!("/v2.0/ports/{if_port}")).await;
    assert_eq!((r.status, r.error_type()), (409, "ServicePortInUse"));

    // Interface by port on a second network.
    let net3 = s.network(json!({})).await;
    let sub3 = s.subnet(&net3, "10.3.0.0/24", json!({})).await;
    let own = s.port(json!({"network_id": net3})).await;
    let r = s.put(&format!("/v2.0/routers/{rid}/add_router_interface"), json!({"port_id": own["id"]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["subnet_ids"], json!([sub3]));
    let r = s.put(&format!("/v2.0/routers/{rid}/add_router_interface"), json!({"port_id": own["id"]})).await;
    assert_eq!((r.status, r.error_type()), (409, "PortInUse"));

    // Extra routes: via a connected next hop only.
    let r = s
        .put(
            &format!("/v2.0/routers/{rid}"),
            json!({"router": {"routes": [{"destination": "192.168.9.0/24", "nexthop": "10.0.0.254"}]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s
        .put(
            &format!("/v2.0/routers/{rid}"),
            json!({"router": {"routes": [{"destination": "192.168.9.0/24", "nexthop": "10.99.0.1"}]}}),
        )
        .await;
    assert_eq!((r.status, r.error_type()), (400, "InvalidRoutes"));
    let r = s
        .put(
            &format!("/v2.0/routers/{rid}/add_extraroutes"),
            json!({"router": {"routes": [{"destination": "192.168.8.0/24", "nexthop": "10.0.0.253"}]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["router"]["routes"].as_array().unwrap().len(), 2);
    let r = s
        .put(
            &format!("/v2.0/routers/{rid}/remove_extraroutes"),
            json!({"router": {"routes": [{"destination": "192.168.9.0/24", "nexthop": "10.0.0.254"}]}}),
        )
        .await;
    assert_eq!(r.body["router"]["routes"], json!([{"destination": "192.168.8.0/24", "nexthop": "10.0.0.253"}]));
    // An interface a route needs stays.
    let r = s.put(&format!("/v2.0/routers/{rid}/remove_router_interface"), json!({"subnet_id": sub})).await;
    assert_eq!((r.status, r.error_type()), (409, "RouterInterfaceInUseByRoute"), "{}", r.body);
    let r = s.put(&format!("/v2.0/routers/{rid}"), json!({"router": {"routes": []}})).await;
    assert_eq!(r.status, 200);

    // Floating IPs: created on the external network, associated through the router.
    let vm = s.port(json!({"network_id": net, "device_id": "vm-1", "device_owner": "compute:nova"})).await;
    let vm_id = vm["id"].as_str().unwrap().to_string();
    let fixed = vm["fixed_ips"][0]["ip_address"].as_str().unwrap().to_string();
    let r = s.post("/v2.0/floatingips", json!({"floatingip": {"floating_network_id": ext, "port_id": vm_id}})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let fip = r.body["floatingip"].clone();
    let fid = fip["id"].as_str().unwrap().to_string();
    assert_eq!(fip["router_id"], rid.as_str());
    assert_eq!(fip["fixed_ip_address"], fixed.as_str());
    assert_eq!(fip["status"], "ACTIVE");
    assert!(fip["floating_ip_address"].as_str().unwrap().starts_with("172.24.4."));
    // One floating IP per fixed IP.
    let r = s.post("/v2.0/floatingips", json!({"floatingip": {"floating_network_id": ext, "port_id": vm_id}})).await;
    assert_eq!((r.status, r.error_type()), (409, "FloatingIPPortAlreadyAssociated"), "{}", r.body);
    let before = s.get("/v2.0/floatingips").await;
    assert_eq!(before.body["floatingips"].as_array().unwrap().len(), 1, "the refused one left nothing");
    // A port on a network the router does not reach: 404.
    let lonely_net = s.network(json!({})).await;
    s.subnet(&lonely_net, "10.9.0.0/24", json!({})).await;
    let lonely = s.port(json!({"network_id": lonely_net})).await;
    let r = s.put(&format!("/v2.0/floatingips/{fid}"), json!({"floatingip": {"port_id": lonely["id"]}})).await;
    assert_eq!((r.status, r.error_type()), (404, "ExternalGatewayForFloatingIPNotFound"), "{}", r.body);
    let still = s.get(&format!("/v2.0/floatingips/{fid}")).await;
    assert_eq!(still.body["floatingip"]["port_id"], vm_id.as_str(), "a refused update changes nothing");
    // Not a floating pool.
    let r = s.post("/v2.0/floatingips", json!({"floatingip": {"floating_network_id": net}})).await;
    assert_eq!((r.status, r.error_type()), (400, "BadRequest"));
    // The gateway and the interface are needed while the floating IP is.
    let r = s.put(&format!("/v2.0/routers/{rid}"), json!({"router": {"external_gateway_info": {}}})).await;
    assert_eq!((r.status, r.error_type()), (409, "RouterExternalGatewayInUseByFloatingIp"), "{}", r.body);
    let r = s.put(&format!("/v2.0/routers/{rid}/remove_router_interface"), json!({"subnet_id": sub})).await;
    assert_eq!((r.status, r.error_type()), (409, "RouterInterfaceInUseByFloatingIP"), "{}", r.body);
    // Deleting the instance's port disassociates the floating IP.
    let r = s.delete(&format!("/v2.0/ports/{vm_id}")).await;
    assert_eq!(r.status, 204);
    let f = s.get(&format!("/v2.0/floatingips/{fid}")).await;
    assert_eq!(
        (
            f.body["floatingip"]["port_id"].clone(),
            f.body["floatingip"]["router_id"].clone(),
            f.body["floatingip"]["status"].clone()
        ),
        (Value::Null, Value::Null, json!("DOWN"))
    );
    let r = s.delete(&format!("/v2.0/floatingips/{fid}")).await;
    assert_eq!(r.status, 204);
    // A router with interfaces cannot be deleted; without them it can, gateway port and all.
    let r = s.delete(&format!("/v2.0/routers/{rid}")).await;
    assert_eq!((r.status, r.error_type()), (409, "RouterInUse"));
    let r = s.put(&format!("/v2.0/routers/{rid}/remove_router_interface"), json!({"subnet_id": sub})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.put(&format!("/v2.0/routers/{rid}/remove_router_interface"), json!({"subnet_id": sub})).await;
    assert_eq!((r.status, r.error_type()), (404, "RouterInterfaceNotFoundForSubnet"));
    let r = s.put(&format!("/v2.0/routers/{rid}/remove_router_interface"), json!({"port_id": own["id"]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.delete(&format!("/v2.0/routers/{rid}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let left = s.get(&format!("/v2.0/ports?device_id={rid}")).await;
    assert_eq!(left.body["ports"], json!([]));
    // The external network is free again.
    let r = s.delete(&format!("/v2.0/networks/{ext}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
}

#[tokio::test]
async fn members_see_their_routers_and_not_snat_switches() {
    let s = Server::default().await;
    let ext = s.network(json!({"router:external": true, "project_id": "admin-project"})).await;
    s.subnet(&ext, "172.24.4.0/24", json!({"project_id": "admin-project"})).await;
    let a = Who::Member("proj-a");
    let r = s
        .req(
            &a,
            "POST",
            "/v2.0/routers",
            Some(json!({"router": {"name": "mine", "external_gateway_info": {"network_id": ext}}})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["router"].get("distributed").is_none(), "distributed/ha are admin-only attributes");
    let rid = r.body["router"]["id"].as_str().unwrap().to_string();
    let r = s
        .req(
            &a,
            "POST",
            "/v2.0/routers",
            Some(json!({"router": {"external_gateway_info": {"network_id": ext, "enable_snat": false}}})),
            &[],
        )
        .await;
    assert_eq!(r.status, 403, "enable_snat is the admin's: {}", r.body);
    let b = Who::Member("proj-b");
    let r = s.req(&b, "GET", &format!("/v2.0/routers/{rid}"), None, &[]).await;
    assert_eq!(r.status, 404);
    let r = s.req(&b, "GET", "/v2.0/routers", None, &[]).await;
    assert!(ids(&r.body, "routers").is_empty());
    let r = s.req(&a, "GET", "/v2.0/routers", None, &[]).await;
    assert_eq!(ids(&r.body, "routers"), vec![rid.clone()]);
    // Quotas count routers and floating IPs.
    let r = s.req(&a, "GET", "/v2.0/quotas/proj-a", None, &[]).await;
    assert_eq!((r.body["quota"]["router"].clone(), r.body["quota"]["floatingip"].clone()), (json!(10), json!(50)));
    let r = s.put("/v2.0/quotas/proj-a", json!({"quota": {"floatingip": 1}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r =
        s.req(&a, "POST", "/v2.0/floatingips", Some(json!({"floatingip": {"floating_network_id": ext}})), &[]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r =
        s.req(&a, "POST", "/v2.0/floatingips", Some(json!({"floatingip": {"floating_network_id": ext}})), &[]).await;
    assert_eq!((r.status, r.error_type()), (409, "OverQuota"));
    // Choosing the address is the admin's.
    let r = s
        .req(
            &a,
            "POST",
            "/v2.0/floatingips",
            Some(json!({"floatingip": {"floating_network_id": ext, "floating_ip_address": "172.24.4.99"}})),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn port_forwardings_of_a_floating_ip() {
    let s = Server::default().await;
    let (ext, _, net, sub) = topology(&s).await;
    let r = s.post("/v2.0/routers", json!({"router": {"external_gateway_info": {"network_id": ext}}})).await;
    let rid = r.body["router"]["id"].as_str().unwrap().to_string();
    s.put(&format!("/v2.0/routers/{rid}/add_router_interface"), json!({"subnet_id": sub})).await;
    // Named: a random pick could be 10.0.0.250, the address the test names as not the port's.
    let vm = s.port(json!({"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.10"}]})).await;
    let vm_id = vm["id"].as_str().unwrap().to_string();
    let ip = vm["fixed_ips"][0]["ip_address"].as_str().unwrap().to_string();
    let fip = s.post("/v2.0/floatingips", json!({"floatingip": {"floating_network_id": ext}})).await.body["floatingip"]
        .clone();
    let fid = fip["id"].as_str().unwrap().to_string();
    let path = format!("/v2.0/floatingips/{fid}/port_forwardings");
    let body = |ext_port: u16, int_port: u16| {
        json!({"port_forwarding": {"protocol": "tcp", "external_port": ext_port, "internal_port": int_port,
               "internal_ip_address": ip, "internal_port_id": vm_id}})
    };
    let r = s.post(&path, body(2222, 22)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let pf = r.body["port_forwarding"].clone();
    assert!(pf.get("floatingip_id").is_none());
    assert_eq!((pf["external_port"].clone(), pf["internal_port"].clone()), (json!(2222), json!(22)));
    let f = s.get(&format!("/v2.0/floatingips/{fid}")).await;
    assert_eq!(f.body["floatingip"]["router_id"], rid.as_str(), "the floating IP forwards through the router");
    // Same external port, same internal target, a foreign address, bad values: refused.
    assert_eq!(s.post(&path, body(2222, 2200)).await.status, 409);
    assert_eq!(s.post(&path, body(2223, 22)).await.status, 409);
    let mut wrong = body(2224, 24);
    wrong["port_forwarding"]["internal_ip_address"] = json!("10.0.0.250");
    assert_eq!(s.post(&path, wrong).await.status, 400);
    assert_eq!(s.post(&path, body(0, 22)).await.status, 400);
    let mut udp = body(2222, 22);
    udp["port_forwarding"]["protocol"] = json!("sctp");
    assert_eq!(s.post(&path, udp).await.status, 400);
    assert_eq!(s.get(&path).await.body["port_forwardings"].as_array().unwrap().len(), 1, "refusals add nothing");
    // A floating IP with port forwardings takes no port.
    let r = s.put(&format!("/v2.0/floatingips/{fid}"), json!({"floatingip": {"port_id": vm_id}})).await;
    assert_eq!((r.status, r.error_type()), (409, "FipInUseByPortForwarding"), "{}", r.body);
    // A port with port forwardings takes no floating IP, and the reverse.
    let fip3 = s.post("/v2.0/floatingips", json!({"floatingip": {"floating_network_id": ext}})).await.body
        ["floatingip"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.put(&format!("/v2.0/floatingips/{fip3}"), json!({"floatingip": {"port_id": vm_id}})).await;
    assert_eq!((r.status, r.error_type()), (400, "PortHasPortForwarding"), "{}", r.body);
    let other = s.port(json!({"network_id": net})).await;
    let other_ip = other["fixed_ips"][0]["ip_address"].as_str().unwrap().to_string();
    let r = s.put(&format!("/v2.0/floatingips/{fip3}"), json!({"floatingip": {"port_id": other["id"]}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut to_bound = body(3333, 33);
    to_bound["port_forwarding"]["internal_port_id"] = other["id"].clone();
    to_bound["port_forwarding"]["internal_ip_address"] = json!(other_ip);
    let r = s.post(&path, to_bound).await;
    assert_eq!((r.status, r.error_type()), (409, "PortHasBindingFloatingIP"), "{}", r.body);
    assert_eq!(s.delete(&format!("/v2.0/floatingips/{fip3}")).await.status, 204);
    // Update, then the instance's port goes and takes its forwardings along.
    let pid = pf["id"].as_str().unwrap();
    let r = s.put(&format!("{path}/{pid}"), json!({"port_forwarding": {"external_port": 2022}})).await;
    assert_eq!((r.status, r.body["port_forwarding"]["external_port"].clone()), (200, json!(2022)), "{}", r.body);
    assert_eq!(
        s.put(&format!("/v2.0/routers/{rid}/remove_router_interface"), json!({"subnet_id": sub})).await.status,
        409
    );
    assert_eq!(s.delete(&format!("/v2.0/ports/{vm_id}")).await.status, 204);
    assert_eq!(s.get(&path).await.body["port_forwardings"], json!([]));
    assert_eq!(s.get(&format!("/v2.0/floatingips/{fid}")).await.body["floatingip"]["router_id"], Value::Null);
    assert_eq!(s.get(&format!("{path}/{pid}")).await.status, 404);
    // Other projects see none of it.
    let r = s.req(&Who::Member("proj-b"), "GET", &path, None, &[]).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn without_the_router_plugin_there_are_no_routers() {
    let s = Server::start("[DEFAULT]\nservice_plugins =\n").await;
    for path in ["/v2.0/routers", "/v2.0/floatingips", "/v2.0/extensions/router"] {
        let r = s.get(path).await;
        assert_eq!((r.status, r.error_type()), (404, "HTTPNotFound"), "{path}");
    }
    let r = s.put("/v2.0/routers/5f5b9f8e-7f3e-4c55-9a3b-0d9b1b9f0a11/add_router_interface", json!({})).await;
    assert_eq!(r.status, 404);
    let aliases = s.get("/v2.0/extensions").await.body["extensions"].to_string();
    assert!(!aliases.contains("\"router\"") && !aliases.contains("floating-ip-port-forwarding"));
}

fn report(agent_type: &str, binary: &str, host: &str) -> Value {
    json!({"agent": {"agent_type": agent_type, "binary": binary, "host": host, "topic": "N/A", "start_flag": true,
                     "configurations": {"tunnel_types": ["vxlan"], "interface_mappings": {"physnet1": "eth1"}}}})
}

#[tokio::test]
async fn routers_are_scheduled_to_live_l3_agents_and_fail_over() {
    let s = Server::start("[DEFAULT]\nagent_down_time = 2\nservice_plugins = router\n").await;
    for host in ["net-1", "net-2"] {
        s.post("/agent/v1/report", report("Linux bridge agent", "neutron-linuxbridge-agent", host)).await;
    }
    let l3 = |host: &'static str| report("L3 agent", "neutron-l3-agent", host);
    let a1 = s.post("/agent/v1/report", l3("net-1")).await.body["agent"]["id"].as_str().unwrap().to_string();
    let (ext, _, _, sub) = topology(&s).await;
    let r = s.post("/v2.0/routers", json!({"router": {"external_gateway_info": {"network_id": ext}}})).await;
    let rid = r.body["router"]["id"].as_str().unwrap().to_string();
    s.put(&format!("/v2.0/routers/{rid}/add_router_interface"), json!({"subnet_id": sub})).await;
    let hosted = s.get(&format!("/v2.0/routers/{rid}/l3-agents")).await;
    assert_eq!(hosted.body["agents"][0]["id"], a1.as_str(), "{}", hosted.body);
    let ports = s.get(&format!("/v2.0/ports?device_id={rid}")).await.body["ports"].clone();
    assert_eq!(ports.as_array().unwrap().len(), 2, "gateway and interface");
    assert!(ports.as_array().unwrap().iter().all(|p| p["binding:host_id"] == "net-1"), "{ports}");
    assert_eq!(s.get(&format!("/v2.0/agents/{a1}/l3-routers")).await.body["routers"][0]["id"], rid.as_str());
    // What the agent is told.
    let state = s.get("/agent/v1/l3-state?host=net-1").await.body;
    assert_eq!(state["routers"][0]["id"], rid.as_str());
    assert_eq!(state["routers"][0]["enable_snat"], true);
    assert_eq!(state["routers"][0]["interfaces"][0]["fixed_ips"][0]["ip_address"], "10.0.0.1");
    assert_eq!(state["routers"][0]["gateway"]["subnets"][0]["gateway_ip"], "172.24.4.1");
    assert_eq!(s.get("/agent/v1/l3-state?host=net-2").await.body["routers"], json!([]));
    // Members see no scheduling.
    let member =
        s.req(&Who::Member("noauth-project"), "GET", &format!("/v2.0/routers/{rid}/l3-agents"), None, &[]).await;
    assert_eq!(member.status, 403);

    // net-1 dies; net-2's agent reports; the router and its ports move.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let a2 = s.post("/agent/v1/report", l3("net-2")).await.body["agent"]["id"].as_str().unwrap().to_string();
    let hosted = s.get(&format!("/v2.0/routers/{rid}/l3-agents")).await;
    assert_eq!(hosted.body["agents"][0]["id"], a2.as_str(), "{}", hosted.body);
    let ports = s.get(&format!("/v2.0/ports?device_id={rid}")).await.body["ports"].clone();
    assert!(ports.as_array().unwrap().iter().all(|p| p["binding:host_id"] == "net-2"), "{ports}");
    // The operator moves it back by hand (once the first agent lives again).
    s.post("/agent/v1/report", l3("net-1")).await;
    let path = format!("/v2.0/agents/{a1}/l3-routers");
    assert_eq!(s.post(&path, json!({"router_id": rid})).await.status, 409, "still hosted by net-2");
    assert_eq!(s.delete(&format!("/v2.0/agents/{a2}/l3-routers/{rid}")).await.status, 204);
    assert_eq!(s.delete(&format!("/v2.0/agents/{a2}/l3-routers/{rid}")).await.status, 404);
    assert_eq!(s.post(&path, json!({"router_id": rid})).await.status, 201);
    assert_eq!(s.get("/agent/v1/l3-state?host=net-1").await.body["routers"][0]["id"], rid.as_str());
    // A disabled agent builds nothing.
    assert_eq!(s.put(&format!("/v2.0/agents/{a1}"), json!({"agent": {"admin_state_up": false}})).await.status, 200);
    assert_eq!(s.get("/agent/v1/l3-state?host=net-1").await.body["routers"], json!([]));
}

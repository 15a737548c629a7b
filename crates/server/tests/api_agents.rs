//! Agents and the agent channel: state reports register agents and keep
//! them alive, `/v2.0/agents` shows them as Neutron does, ports bind to
//! hosts with a live agent covering the segment, and the change log streams
//! committed changes (long-poll) to agents holding the channel secret.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, Who};
use serde_json::{json, Value};

fn lb_report(host: &str) -> Value {
    json!({"agent": {
        "agent_type": "Linux bridge agent", "binary": "neutron-linuxbridge-agent", "host": host,
        "topic": "N/A", "start_flag": true,
        "configurations": {"tunnel_types": ["vxlan"], "interface_mappings": {"physnet1": "eth1"},
                           "local_ip": "192.0.2.10", "l2_population": true, "devices": 0}}})
}

#[tokio::test]
async fn reports_register_agents_that_admins_see() {
    let s = Server::default().await;
    let r = s.post("/agent/v1/report", lb_report("node-1")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["agent"]["id"].as_str().unwrap().to_string();
    let list = s.get("/v2.0/agents").await;
    let a = &list.body["agents"][0];
    assert_eq!(list.body["agents"].as_array().unwrap().len(), 1);
    assert_eq!(a["agent_type"], "Linux bridge agent");
    assert_eq!(a["binary"], "neutron-linuxbridge-agent");
    assert_eq!(a["host"], "node-1");
    assert_eq!(a["alive"], true);
    assert_eq!(a["admin_state_up"], true);
    assert_eq!(a["configurations"]["local_ip"], "192.0.2.10");
    let hb = a["heartbeat_timestamp"].as_str().unwrap();
    assert_eq!(hb.len(), "2026-11-27 05:40:00".len(), "{hb}");
    assert_eq!(&hb[10..11], " ");

    // The operator disables it; later reports keep that and the same id.
    let up = s
        .put(&format!("/v2.0/agents/{id}"), json!({"agent": {"admin_state_up": false, "description": "maintenance"}}))
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    let again = s.post("/agent/v1/report", lb_report("node-1")).await;
    assert_eq!(again.body["agent"]["id"], id.as_str());
    let shown = s.get(&format!("/v2.0/agents/{id}")).await;
    assert_eq!(shown.body["agent"]["admin_state_up"], false);
    assert_eq!(shown.body["agent"]["description"], "maintenance");
    let bad = s.put(&format!("/v2.0/agents/{id}"), json!({"agent": {"host": "elsewhere"}})).await;
    assert_eq!(bad.status, 400);

    // Filters, fields; members see nothing.
    s.post("/agent/v1/report", lb_report("node-2")).await;
    let by_host = s.get("/v2.0/agents?host=node-2&fields=host&fields=alive").await;
    assert_eq!(by_host.body["agents"], json!([{"host": "node-2", "alive": true}]));
    assert_eq!(s.get("/v2.0/agents?bogus=1").await.status, 400);
    let member = Who::Member("p1");
    assert_eq!(s.req(&member, "GET", "/v2.0/agents", None, &[]).await.body["agents"], json!([]));
    assert_eq!(s.req(&member, "GET", &format!("/v2.0/agents/{id}"), None, &[]).await.status, 404);
    assert_eq!(s.req(&member, "DELETE", &format!("/v2.0/agents/{id}"), None, &[]).await.status, 404);

    assert_eq!(s.delete(&format!("/v2.0/agents/{id}")).await.status, 204);
    let gone = s.get(&format!("/v2.0/agents/{id}")).await;
    assert_eq!((gone.status, gone.error_type()), (404, "AgentNotFound"));

    // Bad reports change nothing.
    for body in
        [json!({}), json!({"agent": {"agent_type": "", "binary": "b", "host": "h"}}), json!({"agent": {"host": "h"}})]
    {
        assert_eq!(s.post("/agent/v1/report", body.clone()).await.status, 400, "{body}");
    }
    assert_eq!(s.get("/v2.0/agents").await.body["agents"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn ports_bind_where_a_live_agent_covers_the_segment() {
    let s =
        Server::start("[DEFAULT]\nagent_down_time = 1\n[ml2]\nmechanism_drivers = linuxbridge,l2population\n").await;
    let net = s.network(json!({"name": "n"})).await;
    let flat =
        s.network(json!({"name": "f", "provider:network_type": "flat", "provider:physical_network": "physnet9"})).await;
    s.post("/agent/v1/report", lb_report("node-1")).await;
    let p = s.port(json!({"network_id": net, "binding:host_id": "node-1"})).await;
    assert_eq!(p["binding:vif_type"], "bridge");
    assert_eq!(p["binding:vif_details"]["port_filter"], true);
    let nohost = s.port(json!({"network_id": net, "binding:host_id": "node-7"})).await;
    assert_eq!(nohost["binding:vif_type"], "binding_failed");
    let unmapped = s.port(json!({"network_id": flat, "binding:host_id": "node-1"})).await;
    assert_eq!(unmapped["binding:vif_type"], "binding_failed", "physnet9 is not mapped on node-1");
    // A dead agent binds nothing.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(s.get("/v2.0/agents").await.body["agents"][0]["alive"], false);
    let late = s.port(json!({"network_id": net, "binding:host_id": "node-1"})).await;
    assert_eq!(late["binding:vif_type"], "binding_failed");
}

#[tokio::test]
async fn the_change_log_streams_commits_and_waits_for_them() {
    let s = Server::default().await;
    let start = s.get("/agent/v1/changes?after=0").await;
    assert_eq!(start.body, json!({"changes": [], "last": 0, "resync": false}));
    let net = s.network(json!({"name": "n"})).await;
    // No security group: the port's own change only (groups log theirs).
    let port = s.port(json!({"network_id": net, "security_groups": []})).await;
    let port_id = port["id"].as_str().unwrap().to_string();
    let r = s.get("/agent/v1/changes?after=0").await;
    let changes = r.body["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!((changes[0]["resource"].as_str(), changes[0]["op"].as_str()), (Some("network"), Some("create")));
    assert_eq!(changes[1]["resource_id"], port_id.as_str());
    assert_eq!(changes[1]["network_id"], net.as_str());
    let last = r.body["last"].as_i64().unwrap();
    assert_eq!(last, changes[1]["seq"].as_i64().unwrap());

    // A long poll returns as soon as a change commits.
    let base = s.base.clone();
    let waiter = tokio::spawn(async move {
        let t = Instant::now();
        let v: Value =
            reqwest::get(format!("{base}/agent/v1/changes?after={last}&wait=10")).await.unwrap().json().await.unwrap();
        (t.elapsed(), v)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.delete(&format!("/v2.0/ports/{port_id}")).await.status, 204);
    let (took, v) = waiter.await.unwrap();
    assert!(took < Duration::from_secs(3), "woke on commit, took {took:?}");
    assert_eq!(v["changes"][0]["op"], "delete");
    assert_eq!(v["changes"][0]["resource_id"], port_id.as_str());
    // Nothing new: waits the time asked, then returns empty.
    let t = Instant::now();
    let idle = s.get(&format!("/agent/v1/changes?after={}&wait=1", v["last"])).await;
    assert!(t.elapsed() >= Duration::from_millis(900));
    assert_eq!(idle.body["changes"], json!([]));
    // An agent behind the compacted part of the log resyncs; one at the cut does not.
    let last_now = v["last"].as_i64().unwrap();
    assert_eq!(s.plugin.compact_change_log(1).await.unwrap() as i64, last_now - 1);
    assert_eq!(s.get("/agent/v1/changes?after=0").await.body["resync"], true);
    let at_cut = s.get(&format!("/agent/v1/changes?after={}", last_now - 1)).await;
    assert_eq!(at_cut.body["resync"], false);
    assert_eq!(at_cut.body["changes"].as_array().unwrap().len(), 1);
    // A position from the future (another database, a reset) means resync.
    assert_eq!(s.get("/agent/v1/changes?after=999999").await.body["resync"], true);
    assert_eq!(s.get("/agent/v1/changes?after=x").await.status, 400);
}

#[tokio::test]
async fn the_channel_wants_its_secret() {
    let s = Server::start("[agent]\nchannel_secret = s3cret\n").await;
    assert_eq!(s.get("/agent/v1/changes").await.status, 401);
    let wrong = s.req(&Who::Admin, "GET", "/agent/v1/changes", None, &[("X-Neutrino-Agent-Secret", "guess")]).await;
    assert_eq!(wrong.status, 401);
    let right = s.req(&Who::Admin, "GET", "/agent/v1/changes", None, &[("X-Neutrino-Agent-Secret", "s3cret")]).await;
    assert_eq!(right.status, 200);
    let report = s.req(&Who::Admin, "POST", "/agent/v1/report", Some(lb_report("n1")), &[]).await;
    assert_eq!(report.status, 401);
    assert!(s.get("/v2.0/agents").await.body["agents"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn over_the_broker_a_call_is_the_same_channel_request_and_nothing_else() {
    use neutrino_bus::Call;
    let s = Server::start("[agent]\nchannel_secret = s3cret\n").await;
    let router = neutrino_server::api::app(neutrino_server::api::AppState {
        plugin: s.plugin.clone(),
        auth: neutrino_server::api::Auth::Noauth,
    });
    let handler = neutrino_server::api::bus::handler(router);
    let call = |method: &str, path: &str, secret: Option<&str>, body: Option<Value>| Call {
        method: method.into(),
        path: path.into(),
        secret: secret.map(str::to_string),
        body,
    };
    // The secret is checked as over HTTP.
    let r = handler(call("POST", "/agent/v1/report", None, Some(lb_report("n1")))).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = handler(call("POST", "/agent/v1/report", Some("s3cret"), Some(lb_report("n1")))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let agent: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(agent["agent"]["host"], "n1");
    assert_eq!(s.get("/v2.0/agents?host=n1").await.body["agents"].as_array().unwrap().len(), 1);
    // The API itself is not reachable through the broker, even with the secret.
    let r = handler(call("GET", "/v2.0/networks", Some("s3cret"), None)).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = handler(call("GET", "/agent/v1/../../v2.0/networks", Some("s3cret"), None)).await;
    assert_ne!(r.status, 200, "{}", r.body);
    let r = handler(call("BREW", "/agent/v1/changes", Some("s3cret"), None)).await;
    assert!(r.status >= 400, "{}", r.body);

    // Each commit of this server moves the position it announces on the broker.
    let mut commits = s.plugin.feed.commits();
    let before = *commits.borrow_and_update();
    s.network(json!({"name": "announced"})).await;
    tokio::time::timeout(Duration::from_secs(5), commits.changed()).await.unwrap().unwrap();
    let after = *commits.borrow();
    assert!(after > before, "{before} -> {after}");
    let r = handler(call("GET", &format!("/agent/v1/changes?after={before}&wait=0"), Some("s3cret"), None)).await;
    let changes: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(changes["last"], after, "{changes}");
}

#[tokio::test]
async fn host_state_and_device_status() {
    let s = Server::default().await;
    for (host, ip) in [("node-1", "192.0.2.1"), ("node-2", "192.0.2.2")] {
        let mut r = lb_report(host);
        r["agent"]["configurations"]["local_ip"] = json!(ip);
        s.post("/agent/v1/report", r).await;
    }
    let net = s.network(json!({"name": "n", "provider:network_type": "vxlan", "provider:segmentation_id": 77})).await;
    let other = s.network(json!({"name": "unrelated"})).await;
    s.subnet(&net, "10.0.0.0/24", json!({})).await;
    let p1 = s.port(json!({"network_id": net, "binding:host_id": "node-1"})).await;
    let p2 = s.port(json!({"network_id": net, "binding:host_id": "node-2"})).await;
    s.port(json!({"network_id": other, "binding:host_id": "node-2"})).await;
    s.port(json!({"network_id": net})).await; // unbound: nobody's peer
    assert_eq!(p1["status"], "DOWN");

    let st = s.get("/agent/v1/state?host=node-1").await;
    assert_eq!(st.status, 200, "{}", st.body);
    assert_eq!(st.body["host"], "node-1");
    assert_eq!(st.body["networks"].as_array().unwrap().len(), 1);
    assert_eq!(st.body["networks"][0]["network_type"], "vxlan");
    assert_eq!(st.body["networks"][0]["segmentation_id"], 77);
    assert_eq!(st.body["networks"][0]["mtu"], 1450);
    assert_eq!(st.body["ports"].as_array().unwrap().len(), 1);
    assert_eq!(st.body["ports"][0]["id"], p1["id"]);
    let peers = st.body["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 1, "{peers:?}");
    assert_eq!(peers[0]["port_id"], p2["id"]);
    assert_eq!(peers[0]["vtep"], "192.0.2.2");
    assert_eq!(peers[0]["mac_address"], p2["mac_address"]);
    assert_eq!(peers[0]["ips"][0], p2["fixed_ips"][0]["ip_address"]);
    assert!(st.body["last"].as_i64().unwrap() > 0);
    assert_eq!(s.get("/agent/v1/state").await.status, 400);

    // Device reports: only ports bound to the reporting host change.
    let id1 = p1["id"].as_str().unwrap();
    let id2 = p2["id"].as_str().unwrap();
    let b = s.post("/agent/v1/devices", json!({"host": "node-1", "build": [id1]})).await;
    assert_eq!(b.body["changed"], json!([id1]));
    assert_eq!(s.get(&format!("/v2.0/ports/{id1}")).await.body["port"]["status"], "BUILD");
    let r = s.post("/agent/v1/devices", json!({"host": "node-1", "up": [id1, id2]})).await;
    assert_eq!(r.body, json!({"changed": [id1], "skipped": [id2]}));
    let shown = s.get(&format!("/v2.0/ports/{id1}")).await;
    assert_eq!(shown.body["port"]["status"], "ACTIVE");
    assert_eq!(shown.body["port"]["revision_number"], p1["revision_number"].as_i64().unwrap() + 2);
    let again = s.post("/agent/v1/devices", json!({"host": "node-1", "up": [id1]})).await;
    assert_eq!(again.body["changed"], json!([]), "no change, no new revision");
    s.post("/agent/v1/devices", json!({"host": "node-1", "down": [id1]})).await;
    assert_eq!(s.get(&format!("/v2.0/ports/{id1}")).await.body["port"]["status"], "DOWN");
    assert_eq!(s.post("/agent/v1/devices", json!({"up": [id1]})).await.status, 400);
    assert_eq!(s.post("/agent/v1/devices", json!({"host": "node-1", "up": "x"})).await.status, 400);
}

#[tokio::test]
async fn the_compute_side_binds_and_unbinds_ports() {
    let s = Server::default().await;
    s.post("/agent/v1/report", lb_report("node-1")).await;
    let net = s.network(json!({"name": "n"})).await;
    let port = s.port(json!({"network_id": net})).await;
    let id = port["id"].as_str().unwrap();
    let r = s.post("/agent/v1/bind", json!({"port_id": id, "host": "node-1", "device_id": "vm1"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["mtu"], 1450);
    assert_eq!(r.body["port"]["binding:vif_type"], "bridge");
    assert_eq!(r.body["port"]["device_owner"], "compute:nova");
    assert_eq!(r.body["port"]["device_id"], "vm1");
    let st = s.get("/agent/v1/state?host=node-1").await;
    assert_eq!(st.body["ports"][0]["id"], id);
    s.post("/agent/v1/devices", json!({"host": "node-1", "up": [id]})).await;
    let rebound = s.post("/agent/v1/bind", json!({"port_id": id, "host": "node-2"})).await;
    assert_eq!(rebound.body["port"]["status"], "DOWN", "a new binding is down until wired");
    let un = s.post("/agent/v1/bind", json!({"port_id": id, "host": ""})).await;
    assert_eq!(un.body["port"]["binding:vif_type"], "unbound");
    assert_eq!(un.body["port"]["device_owner"], "");
    assert_eq!(s.get("/agent/v1/state?host=node-1").await.body["ports"], json!([]));
    let missing =
        s.post("/agent/v1/bind", json!({"port_id": "00000000-0000-0000-0000-000000000000", "host": "node-1"})).await;
    assert_eq!(missing.status, 404);
}

fn dhcp_report(host: &str) -> Value {
    json!({"agent": {"agent_type": "DHCP agent", "binary": "neutron-dhcp-agent", "host": host,
        "topic": "dhcp_agent", "configurations": {"dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq"}}})
}

async fn dhcp_ports(s: &Server, net: &str) -> Vec<Value> {
    s.get(&format!("/v2.0/ports?network_id={net}&device_owner=network:dhcp")).await.body["ports"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn networks_with_dhcp_are_scheduled_to_dhcp_agents() {
    let s = Server::start("[DEFAULT]\nagent_down_time = 2\nallow_overlapping_ips = true\n").await;
    s.post("/agent/v1/report", lb_report("node-1")).await;
    let a = s.post("/agent/v1/report", dhcp_report("net-1")).await.body["agent"]["id"].as_str().unwrap().to_string();
    let net = s.network(json!({"name": "n", "project_id": "p1"})).await;
    // No subnet with DHCP yet: nothing hosted.
    assert_eq!(s.get(&format!("/v2.0/networks/{net}/dhcp-agents")).await.body["agents"], json!([]));
    let sub = s.subnet(&net, "10.3.0.0/24", json!({"project_id": "p1"})).await;
    let hosted = s.get(&format!("/v2.0/networks/{net}/dhcp-agents")).await;
    assert_eq!(hosted.body["agents"][0]["id"], a.as_str(), "{}", hosted.body);
    assert_eq!(hosted.body["agents"][0]["host"], "net-1");
    let ports = dhcp_ports(&s, &net).await;
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0]["binding:host_id"], "net-1");
    assert_eq!(ports[0]["project_id"], "p1");
    assert_eq!(ports[0]["fixed_ips"][0]["subnet_id"], sub.as_str());
    assert!(ports[0]["device_id"].as_str().unwrap().starts_with("dhcp"));
    let listed = s.get(&format!("/v2.0/agents/{a}/dhcp-networks")).await;
    assert_eq!(listed.body["networks"][0]["id"], net.as_str());
    // A member sees none of it.
    assert_eq!(
        s.req(&Who::Member("p1"), "GET", &format!("/v2.0/networks/{net}/dhcp-agents"), None, &[]).await.status,
        404
    );

    // DHCP ports are the network's own: they do not count against deleting it.
    let n2 = s.network(json!({"name": "n2"})).await;
    s.subnet(&n2, "10.4.0.0/24", json!({})).await;
    assert_eq!(dhcp_ports(&s, &n2).await.len(), 1);
    assert_eq!(s.delete(&format!("/v2.0/networks/{n2}")).await.status, 204);
    assert_eq!(dhcp_ports(&s, &n2).await.len(), 0);

    // The operator moves it; duplicates and strangers are refused.
    let path = format!("/v2.0/agents/{a}/dhcp-networks");
    assert_eq!(s.post(&path, json!({"network_id": net})).await.status, 409);
    assert_eq!(s.delete(&format!("{path}/{net}")).await.status, 204);
    assert_eq!(dhcp_ports(&s, &net).await.len(), 0);
    assert_eq!(s.delete(&format!("{path}/{net}")).await.status, 409);
    assert_eq!(s.post(&path, json!({"network_id": net})).await.status, 201);
    assert_eq!(dhcp_ports(&s, &net).await.len(), 1);
    let lb_id = s.get("/v2.0/agents?agent_type=Linux%20bridge%20agent").await.body["agents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.post(&format!("/v2.0/agents/{lb_id}/dhcp-networks"), json!({"network_id": net})).await.status, 409);

    // Failover: the agent dies, another DHCP agent reports, the network moves.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let b = s.post("/agent/v1/report", dhcp_report("net-2")).await.body["agent"]["id"].as_str().unwrap().to_string();
    let hosted = s.get(&format!("/v2.0/networks/{net}/dhcp-agents")).await;
    let ids: Vec<&str> = hosted.body["agents"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [b.as_str()]);
    let ports = dhcp_ports(&s, &net).await;
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0]["binding:host_id"], "net-2");

    // DHCP disabled on the only subnet: the network is let go.
    let r = s.put(&format!("/v2.0/subnets/{sub}"), json!({"subnet": {"enable_dhcp": false}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.get(&format!("/v2.0/networks/{net}/dhcp-agents")).await.body["agents"], json!([]));
    assert_eq!(dhcp_ports(&s, &net).await.len(), 0);
}

#[tokio::test]
async fn dhcp_edge_cases_follow_neutron() {
    let s = Server::default().await;
    let a = s.post("/agent/v1/report", dhcp_report("net-1")).await.body["agent"]["id"].as_str().unwrap().to_string();
    // A pool with one address, taken: no DHCP port for that network, the others are served.
    let full = s.network(json!({"name": "full"})).await;
    let r = s
        .post(
            "/v2.0/subnets",
            json!({"subnet": {"network_id": full, "cidr": "10.6.0.0/24", "ip_version": 4, "enable_dhcp": false,
                   "allocation_pools": [{"start": "10.6.0.10", "end": "10.6.0.10"}]}}),
        )
        .await;
    let full_sub = r.body["subnet"]["id"].as_str().unwrap().to_string();
    s.port(json!({"network_id": full})).await;
    let r = s.put(&format!("/v2.0/subnets/{full_sub}"), json!({"subnet": {"enable_dhcp": true}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(dhcp_ports(&s, &full).await.len(), 0, "no address left for a DHCP port");
    let ok = s.network(json!({"name": "ok"})).await;
    s.subnet(&ok, "10.7.0.0/24", json!({})).await;
    assert_eq!(dhcp_ports(&s, &ok).await.len(), 1, "other networks are served");
    let st = s.get("/agent/v1/dhcp-state?host=net-1").await;
    let served: Vec<&str> = st.body["networks"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert!(served.contains(&ok.as_str()));
    // A disabled agent serves nothing, keeps its networks, and resumes when enabled.
    s.put(&format!("/v2.0/agents/{a}"), json!({"agent": {"admin_state_up": false}})).await;
    assert_eq!(s.get("/agent/v1/dhcp-state?host=net-1").await.body["networks"], json!([]));
    assert_eq!(s.get(&format!("/v2.0/networks/{ok}/dhcp-agents")).await.body["agents"][0]["id"], a.as_str());
    s.put(&format!("/v2.0/agents/{a}"), json!({"agent": {"admin_state_up": true}})).await;
    assert!(!s.get("/agent/v1/dhcp-state?host=net-1").await.body["networks"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_show_agent_heartbeats() {
    let s = Server::default().await;
    s.network(json!({"name": "m"})).await;
    s.post("/agent/v1/report", lb_report("metrics-node")).await;
    assert_eq!(s.get("/v2.0/networks/nope").await.status, 404);
    // Public, like /healthcheck (no token; see auth::is_public).
    let r = s.client.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().await.unwrap();
    for want in [
        r#"neutrino_http_requests_total{method="POST",route="/v2.0/networks",status="201"}"#,
        r#"neutrino_http_requests_total{method="GET",route="/v2.0/networks/{id}",status="404"}"#,
        r#"neutrino_http_request_duration_seconds_bucket{method="POST",route="/v2.0/networks",le="0.1"}"#,
        r#"neutrino_agent_alive{agent_type="Linux bridge agent",host="metrics-node"} 1"#,
        r#"neutrino_agent_heartbeat_age_seconds{agent_type="Linux bridge agent",host="metrics-node"}"#,
        r#"neutrino_db_pool_connections{state="idle"}"#,
        "neutrino_change_log_last_seq ",
    ] {
        assert!(text.contains(want), "{want} not in:\n{text}");
    }
}

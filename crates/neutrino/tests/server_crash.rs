//! `kill -9` of servers, on the database engine NEUTRINO_TEST_STORE names
//! (SQLite by default). In the middle of 1,000 concurrent port creates:
//! after a restart every create that got a 201 exists, nothing that failed
//! left a half-made port (the subnet's allocated addresses are exactly the
//! listed ports' addresses, one each), and no address is held twice. Under
//! an L2 agent given two servers: it moves to the other one and keeps
//! wiring its ports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod servers;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use neutrino_agent::channel::Channel;
use neutrino_store::testing::TestDb;
use neutrino_store::{Store, StoreOptions};
use serde_json::{json, Value};
use servers::{start, until_active, until_registered, write_conf, MemoryAgent};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_burst_loses_no_acknowledged_port_and_leaves_none_half_made() {
    let db = TestDb::new();
    let dir = std::env::temp_dir().join(format!("neutrino-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = write_conf(&dir, &db.url, "");
    let (server, api) = start(&conf, true);
    // A bound on every call: a request caught by the kill may otherwise wait
    // forever in the client's pool (none is left to answer it); it counts as cut off.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let post = |path: String, body: Value| {
        let client = client.clone();
        async move {
            let r = client.post(path).json(&body).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<Value>().await.unwrap()
        }
    };
    let net = post(format!("{api}/v2.0/networks"), json!({"network": {"name": "crash"}})).await;
    let net = net["network"]["id"].as_str().unwrap().to_string();
    let subnet = post(
        format!("{api}/v2.0/subnets"),
        json!({"subnet": {"network_id": net, "cidr": "10.40.0.0/21", "ip_version": 4}}),
    )
    .await;
    let subnet = subnet["subnet"]["id"].as_str().unwrap().to_string();

    // 1,000 creates, 32 at a time; the server is killed after the 300th answer.
    let server = Arc::new(Mutex::new(server));
    let answered = Arc::new(AtomicUsize::new(0));
    let outcomes: Vec<Result<(u16, Value), String>> = stream::iter(0..1000)
        .map(|i| {
            let (client, url, net) = (client.clone(), format!("{api}/v2.0/ports"), net.clone());
            let (server, answered) = (server.clone(), answered.clone());
            async move {
                let sent = client.post(url).json(&json!({"port": {"network_id": net, "name": format!("c{i}")}})).send();
                let out = match sent.await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        match r.json::<Value>().await {
                            Ok(body) => Ok((status, body)),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                if answered.fetch_add(1, Ordering::SeqCst) + 1 == 300 {
                    server.lock().unwrap().kill();
                }
                out
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let acknowledged: HashMap<String, String> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .filter(|(st, _)| *st == 201)
        .map(|(_, b)| {
            let p = &b["port"];
            (p["id"].as_str().unwrap().to_string(), p["fixed_ips"][0]["ip_address"].as_str().unwrap().to_string())
        })
        .collect();
    let cut = outcomes.iter().filter(|o| o.is_err()).count();
    eprintln!("{} acknowledged, {cut} cut off by the kill", acknowledged.len());
    assert!(acknowledged.len() >= 250, "most of the first 300 got through: {}", acknowledged.len());
    assert!(cut > 0, "the kill cut some requests off");
    assert!(
        outcomes.iter().filter_map(|o| o.as_ref().ok()).all(|(st, _)| *st == 201),
        "every answer before the kill was a success"
    );

    // A new server on the same database.
    let (_server, api) = start(&conf, false);
    let listed: Value =
        client.get(format!("{api}/v2.0/ports?network_id={net}")).send().await.unwrap().json().await.unwrap();
    let ports = listed["ports"].as_array().unwrap();
    let mut held: Vec<String> = Vec::new();
    for p in ports {
        let ips = p["fixed_ips"].as_array().unwrap();
        assert_eq!(ips.len(), 1, "a port with its one address: {p}");
        held.push(ips[0]["ip_address"].as_str().unwrap().to_string());
    }
    let distinct: BTreeSet<&String> = held.iter().collect();
    assert_eq!(distinct.len(), held.len(), "no address held twice");
    for (id, ip) in &acknowledged {
        let p = ports.iter().find(|p| p["id"] == id.as_str());
        assert!(p.is_some(), "acknowledged port {id} survives the kill");
        assert_eq!(p.unwrap()["fixed_ips"][0]["ip_address"], ip.as_str());
    }
    // The allocations are exactly the ports' addresses: nothing half-made.
    let store = Store::open(&db.url, &StoreOptions::default()).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let allocated: BTreeSet<String> = tx.allocated_addresses(&subnet).await.unwrap().into_iter().collect();
    drop(tx);
    store.close().await;
    assert_eq!(allocated, distinct.into_iter().cloned().collect::<BTreeSet<String>>());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_moves_to_another_server_when_its_server_is_killed() {
    let db = TestDb::new();
    let dir = std::env::temp_dir().join(format!("neutrino-failover-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = write_conf(&dir, &db.url, "");
    let (mut a, api_a) = start(&conf, true);
    let (_b, api_b) = start(&conf, false);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let agent = MemoryAgent::start(Channel::new(&format!("{api_a},{api_b}"), None).unwrap(), 1);
    let kernel = agent.kernel.clone();
    let post = |api: &str, path: &str, body: Value| {
        let (client, url) = (client.clone(), format!("{api}/v2.0/{path}"));
        async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()
        }
    };
    // The agent registers (through A, the first server it is given).
    until_registered(&client, &api_b, "node-1").await;
    let net = post(&api_a, "networks", json!({"network": {"name": "failover"}})).await;
    let net = net["network"]["id"].as_str().unwrap().to_string();
    post(&api_a, "subnets", json!({"subnet": {"network_id": net, "cidr": "10.41.0.0/24", "ip_version": 4}})).await;
    let port = |name: &'static str| json!({"port": {"network_id": net, "name": name, "binding:host_id": "node-1", "device_owner": "compute:nova"}});
    let p1 = post(&api_a, "ports", port("before")).await;
    let p1 = p1["port"]["id"].as_str().unwrap().to_string();
    kernel.plug(&neutrino_model::names::tap_device(&p1));
    until_active(&client, &api_b, &p1, Duration::from_secs(30)).await;

    // Server A dies; the agent's next call finds B, and ports keep being wired.
    a.kill();
    let p2 = post(&api_b, "ports", port("after")).await;
    let p2 = p2["port"]["id"].as_str().unwrap().to_string();
    kernel.plug(&neutrino_model::names::tap_device(&p2));
    until_active(&client, &api_b, &p2, Duration::from_secs(30)).await;

    agent.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

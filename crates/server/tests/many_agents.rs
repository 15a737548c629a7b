//! One server holds 1,000 agents' long polls of the change stream at once
//! (each a real HTTP connection, as the direct channel's agents keep), and
//! a single commit reaches every one of them; then a second server on the
//! same database wakes its own waiting agents for that server's commit,
//! through its change feed (no agent polls the database itself).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::Server;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

const AGENTS: usize = 1000;

/// The soft limit of open files (each long poll is two sockets here).
fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

async fn long_polls(base: &str, after: i64, n: usize) -> Vec<tokio::task::JoinHandle<Value>> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(n).build().unwrap();
    (0..n)
        .map(|_| {
            let (client, url) = (client.clone(), format!("{base}/agent/v1/changes?after={after}&wait=30"));
            tokio::spawn(async move { client.get(url).send().await.unwrap().json::<Value>().await.unwrap() })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_waiting_agents_all_see_a_commit() {
    let limit = open_files_limit();
    if limit < 3 * AGENTS as u64 {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI allows {limit} open files: too few");
        eprintln!("SKIP many_agents: {limit} open files allowed, {} needed", 3 * AGENTS);
        return;
    }
    let db = neutrino_store::testing::TestDb::new();
    let ini = "[DEFAULT]\nallow_overlapping_ips = true\n";
    let a = Server::start_on(ini, &db.url).await;
    let b = Server::start_on(ini, &db.url).await;
    // The agents register (a state report each), half on each server.
    let reports = stream::iter(0..AGENTS)
        .map(|i| {
            let s = if i % 2 == 0 { &a } else { &b };
            let body = json!({"agent": {"agent_type": "Linux bridge agent", "binary": "neutron-linuxbridge-agent",
                "host": format!("node-{i}"), "topic": "N/A", "start_flag": true,
                "configurations": {"tunnel_types": ["vxlan"], "local_ip": "192.0.2.10", "devices": 0}}});
            async move { s.post("/agent/v1/report", body).await.status }
        })
        .buffer_unordered(32)
        .collect::<Vec<u16>>()
        .await;
    assert!(reports.iter().all(|s| *s == 200));
    let last = a.get("/agent/v1/changes?after=0").await.body["last"].as_i64().unwrap();

    // All wait on server A; the commit is made there.
    let polls = long_polls(&a.base, last, AGENTS).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let t = Instant::now();
    let net = a.network(json!({"name": "wakes-everyone"})).await;
    for p in polls {
        let v = p.await.unwrap();
        let changes = v["changes"].as_array().unwrap();
        assert!(changes.iter().any(|c| c["resource_id"] == net.as_str()), "{v}");
    }
    eprintln!("{AGENTS} agents on one server saw a commit within {:?}", t.elapsed());

    // Agents waiting on server B see a commit made on server A.
    let last = a.get("/agent/v1/changes?after=0").await.body["last"].as_i64().unwrap();
    let polls = long_polls(&b.base, last, 100).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    let other = a.network(json!({"name": "made-on-a"})).await;
    for p in polls {
        let v = p.await.unwrap();
        assert!(v["changes"].as_array().unwrap().iter().any(|c| c["resource_id"] == other.as_str()), "{v}");
    }
    eprintln!("100 agents on the other server saw it within {:?}", t.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_agents_each_hear_only_of_their_own_host() {
    let limit = open_files_limit();
    if limit < 3 * AGENTS as u64 {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI allows {limit} open files: too few");
        eprintln!("SKIP many_agents: {limit} open files allowed, {} needed", 3 * AGENTS);
        return;
    }
    let s = Server::start("[DEFAULT]\nallow_overlapping_ips = true\n").await;
    let net = s.network(json!({"name": "n"})).await;
    s.subnet(&net, "10.9.0.0/16", json!({})).await;
    // node-1 already has a port on the network; the others have nothing.
    s.port(json!({"network_id": net, "binding:host_id": "node-1"})).await;
    let last = s.get("/agent/v1/changes?after=0").await.body["last"].as_i64().unwrap();
    let client = reqwest::Client::builder().pool_max_idle_per_host(AGENTS).build().unwrap();
    let polls: Vec<_> = (0..AGENTS)
        .map(|i| {
            let url = format!("{}/agent/v1/changes?after={last}&wait=4&host=node-{i}&firewall=0", s.base);
            let client = client.clone();
            tokio::spawn(async move {
                let v = client.get(url).send().await.unwrap().json::<Value>().await.unwrap();
                (v, Instant::now())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // A port bound to node-7 on that network: node-7 (its host) and node-1
    // (a port on the same network: its forwarding entries change) hear of it.
    let t = Instant::now();
    let port =
        s.port(json!({"network_id": net, "binding:host_id": "node-7"})).await["id"].as_str().unwrap().to_string();
    let mut heard = Vec::new();
    for (i, p) in polls.into_iter().enumerate() {
        let (v, at) = p.await.unwrap();
        let changes = v["changes"].as_array().unwrap();
        assert!(v["last"].as_i64().unwrap() > last, "every agent moves past what it skipped: {v}");
        if !changes.is_empty() {
            assert!(changes.iter().all(|c| c["resource_id"] == port.as_str()), "{v}");
            assert!(at.duration_since(t) < Duration::from_secs(2), "node-{i} woken at once");
            heard.push(i);
        }
    }
    assert_eq!(heard, [1, 7], "only the hosts the port concerns are told of it");
    eprintln!("{AGENTS} filtered long polls: 2 woken by a port bound to node-7");
}

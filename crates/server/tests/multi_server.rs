//! Two servers on one database (the engine NEUTRINO_TEST_STORE names):
//! they migrate it at the same time, then race each other creating ports —
//! every address and MAC distinct, every created port listed by both — and
//! creating ports against one project's quota, which holds exactly. Nothing
//! a server keeps in memory may let them disagree.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::{Server, Who};
use futures::stream::{self, StreamExt};
use neutrino_store::testing::TestDb;
use serde_json::{json, Value};

const INI: &str = "[DEFAULT]\nallow_overlapping_ips = true\n[quotas]\nquota_port = -1\n";

async fn two_servers(db: &TestDb) -> (Server, Server) {
    tokio::join!(Server::start_on(INI, &db.url), Server::start_on(INI, &db.url))
}

/// POSTs `n` ports, alternating between the servers, 16 at a time.
async fn race_ports(servers: [&Server; 2], n: usize, who: Who, body: impl Fn(usize) -> Value) -> Vec<(u16, Value)> {
    let calls: Vec<_> = (0..n).map(|i| (servers[i % 2], body(i))).collect();
    stream::iter(calls)
        .map(|(s, b)| {
            let who = who.clone();
            async move {
                let r = s.req(&who, "POST", "/v2.0/ports", Some(json!({ "port": b })), &[]).await;
                (r.status, r.body)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_never_hand_out_the_same_address_or_mac() {
    let db = TestDb::new();
    let (a, b) = two_servers(&db).await;
    let net = a.network(json!({})).await;
    a.subnet(&net, "10.30.0.0/22", json!({})).await;
    let results = race_ports([&a, &b], 1000, Who::Admin, |i| json!({"network_id": net, "name": format!("p{i}")})).await;
    let failed: Vec<&(u16, Value)> = results.iter().filter(|(st, _)| *st != 201).collect();
    assert!(failed.is_empty(), "{} failed, first: {:?}", failed.len(), failed.first());
    let ips: HashSet<&str> =
        results.iter().map(|(_, p)| p["port"]["fixed_ips"][0]["ip_address"].as_str().unwrap()).collect();
    let macs: HashSet<&str> = results.iter().map(|(_, p)| p["port"]["mac_address"].as_str().unwrap()).collect();
    assert_eq!((ips.len(), macs.len()), (1000, 1000), "distinct addresses and MACs");
    // Each server lists every port, whichever server made it.
    for s in [&a, &b] {
        let listed = s.get(&format!("/v2.0/ports?network_id={net}&fields=id")).await;
        assert_eq!(listed.body["ports"].as_array().unwrap().len(), 1000);
    }
    // The subnet has 1,021 addresses: a few more fit, then it is exhausted on both.
    let more = race_ports([&a, &b], 30, Who::Admin, |_| json!({"network_id": net})).await;
    let made = more.iter().filter(|(st, _)| *st == 201).count();
    assert_eq!(made, 21, "{:?}", more.iter().find(|(st, _)| *st != 201 && *st != 409));
    assert!(more
        .iter()
        .filter(|(st, _)| *st != 201)
        .all(|(st, b)| *st == 409 && b["NeutronError"]["type"] == "IpAddressGenerationFailure"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_quota_holds_across_servers() {
    let db = TestDb::new();
    let (a, b) = two_servers(&db).await;
    let net = a.network(json!({"shared": true})).await;
    a.subnet(&net, "10.31.0.0/24", json!({})).await;
    let set = a.put("/v2.0/quotas/proj-q", json!({"quota": {"port": 30}})).await;
    assert_eq!(set.status, 200, "{}", set.body);
    let results = race_ports([&a, &b], 60, Who::Member("proj-q"), |_| json!({"network_id": net})).await;
    let made = results.iter().filter(|(st, _)| *st == 201).count();
    let refused: Vec<&(u16, Value)> = results.iter().filter(|(st, _)| *st != 201).collect();
    assert_eq!(made, 30, "exactly the quota: {:?}", refused.iter().find(|(st, _)| *st != 409));
    assert!(refused.iter().all(|(st, b)| *st == 409 && b["NeutronError"]["type"] == "OverQuota"), "{refused:?}");
    let listed = b.req(&Who::Member("proj-q"), "GET", "/v2.0/ports?fields=id", None, &[]).await;
    assert_eq!(listed.body["ports"].as_array().unwrap().len(), 30);
}

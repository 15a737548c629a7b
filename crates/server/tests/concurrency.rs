//! 16 clients create 1,000 ports on one /22 at once: every IP and MAC is
//! distinct and no request fails.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::Server;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_create_a_thousand_ports_on_a_22() {
    // Neutron's default port quota is 500: lift it for this project.
    let s = Server::start("[quotas]\nquota_port = -1\n").await;
    let net = s.network(json!({})).await;
    s.subnet(&net, "10.20.0.0/22", json!({})).await;
    let url = format!("{}/v2.0/ports", s.base);
    let results: Vec<(u16, Value)> = stream::iter(0..1000)
        .map(|i| {
            let (client, url, net) = (s.client.clone(), url.clone(), net.clone());
            async move {
                let r = client
                    .post(&url)
                    .json(&json!({"port": {"network_id": net, "name": format!("p{i}")}}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let failures: Vec<&(u16, Value)> = results.iter().filter(|(st, _)| *st != 201).collect();
    assert!(failures.is_empty(), "{} failures, first: {:?}", failures.len(), failures.first());
    let ips: HashSet<&str> =
        results.iter().map(|(_, b)| b["port"]["fixed_ips"][0]["ip_address"].as_str().unwrap()).collect();
    let macs: HashSet<&str> = results.iter().map(|(_, b)| b["port"]["mac_address"].as_str().unwrap()).collect();
    assert_eq!(ips.len(), 1000, "distinct IPs");
    assert_eq!(macs.len(), 1000, "distinct MACs");
    let listed = s.get(&format!("/v2.0/ports?network_id={net}&fields=id")).await;
    assert_eq!(listed.body["ports"].as_array().unwrap().len(), 1000);
}

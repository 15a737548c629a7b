//! API conventions: filters, fields, sorting, pagination links, tags.
#![allow(clippy::unwrap_used)]

mod common;

use common::Server;
use serde_json::{json, Value};

fn names(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap_or("").to_string()).collect()
}

#[tokio::test]
async fn filters_or_within_a_key_and_across_keys() {
    let s = Server::default().await;
    for (name, up) in [("a", true), ("b", false), ("c", true), ("", true)] {
        s.network(json!({"name": name, "admin_state_up": up})).await;
    }
    let r = s.get("/v2.0/networks?name=a&name=b&sort_key=name&sort_dir=asc").await;
    assert_eq!(names(&r.body, "networks"), ["a", "b"]);
    let r = s.get("/v2.0/networks?name=a&name=b&admin_state_up=false").await;
    assert_eq!(names(&r.body, "networks"), ["b"]);
    let r = s.get("/v2.0/networks?name=").await;
    assert_eq!(names(&r.body, "networks"), [""], "empty-string filtering");
    let r = s.get("/v2.0/networks?admin_state_up=True&sort_key=name&sort_dir=desc").await;
    assert_eq!(names(&r.body, "networks"), ["c", "a", ""]);
    let r = s.get("/v2.0/networks?bogus=1").await;
    assert_eq!((r.status, r.message()), (400, "bogus is invalid attribute for filtering"));
    let r = s.get("/v2.0/networks?sort_key=bogus").await;
    assert_eq!(r.status, 400);
    let r = s.get("/v2.0/networks?provider:network_type=vxlan&mtu=1450").await;
    assert_eq!(r.body["networks"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn fields_select_attributes_on_list_and_show() {
    let s = Server::default().await;
    let id = s.network(json!({"name": "x"})).await;
    let r = s.get("/v2.0/networks?fields=id&fields=name").await;
    assert_eq!(r.body["networks"][0], json!({"id": id, "name": "x"}));
    let r = s.get(&format!("/v2.0/networks/{id}?fields=status")).await;
    assert_eq!(r.body["network"], json!({"status": "ACTIVE"}));
}

#[tokio::test]
async fn pagination_walks_every_item_once_with_links() {
    let s = Server::default().await;
    for i in 0..7 {
        s.network(json!({"name": format!("n{i}")})).await;
    }
    let mut seen = Vec::new();
    let mut url = format!("{}/v2.0/networks?limit=3&sort_key=name&sort_dir=asc", s.base);
    let mut pages = 0;
    loop {
        let r: Value = s.client.get(&url).send().await.unwrap().json().await.unwrap();
        pages += 1;
        seen.extend(names(&r, "networks"));
        let next = r["networks_links"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["rel"] == "next"))
            .map(|x| x["href"].as_str().unwrap().to_string());
        match next {
            Some(n) => url = n,
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(seen, ["n0", "n1", "n2", "n3", "n4", "n5", "n6"]);
    assert_eq!(pages, 3);

    // Previous from the second page goes back to the first.
    let first: Value = s.get("/v2.0/networks?limit=3&sort_key=name&sort_dir=asc").await.body;
    let next = first["networks_links"].as_array().unwrap().iter().find(|x| x["rel"] == "next").unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    let second: Value = s.client.get(&next).send().await.unwrap().json().await.unwrap();
    assert_eq!(names(&second, "networks"), ["n3", "n4", "n5"]);
    let prev = second["networks_links"].as_array().unwrap().iter().find(|x| x["rel"] == "previous").unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(prev.contains("page_reverse=True"));
    let back: Value = s.client.get(&prev).send().await.unwrap().json().await.unwrap();
    assert_eq!(names(&back, "networks"), ["n0", "n1", "n2"]);

    let r = s.get("/v2.0/networks?limit=abc").await;
    assert_eq!(r.status, 400);
    let r = s.get("/v2.0/networks?limit=2&marker=6b1d7f0c-3f0a-4b43-8f2e-2c4f0f1d9a11").await;
    assert_eq!((r.status, r.error_type()), (404, "NetworkNotFound"));
    let all = s.get("/v2.0/networks").await;
    assert!(all.body.get("networks_links").is_none());
}

#[tokio::test]
async fn pagination_max_limit_caps_pages() {
    let s = Server::start("[DEFAULT]\npagination_max_limit = 2\n").await;
    for i in 0..3 {
        s.network(json!({"name": format!("n{i}")})).await;
    }
    let r = s.get("/v2.0/networks").await;
    assert_eq!(r.body["networks"].as_array().unwrap().len(), 2);
    assert!(r.body["networks_links"].as_array().unwrap().iter().any(|l| l["rel"] == "next"));
}

#[tokio::test]
async fn tags_endpoints_and_filters() {
    let s = Server::default().await;
    let a = s.network(json!({"name": "a"})).await;
    let b = s.network(json!({"name": "b"})).await;
    let r = s.put(&format!("/v2.0/networks/{a}/tags"), json!({"tags": ["red"]})).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({"tags": ["red"]})));
    let r = s.post(&format!("/v2.0/networks/{a}/tags"), json!({"tags": ["red", "blue"]})).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({"tags": ["red", "blue"]})), "POST adds");
    let dup = s.put(&format!("/v2.0/networks/{a}/tags"), json!({"tags": ["x", "x"]})).await;
    assert_eq!(dup.status, 400);
    let long = s.put(&format!("/v2.0/networks/{a}/tags/{}", "z".repeat(255)), json!({})).await;
    assert_eq!(long.status, 201);
    assert_eq!(s.delete(&format!("/v2.0/networks/{a}/tags/{}", "z".repeat(255))).await.status, 204);
    let refused = s.post("/v2.0/networks", json!({"network": {"tags": ["t"]}})).await;
    assert_eq!(refused.message(), "Attribute 'tags' not allowed in POST");
    assert_eq!(s.put(&format!("/v2.0/networks/{b}/tags/red"), json!({})).await.status, 201);
    assert_eq!(s.get(&format!("/v2.0/networks/{a}/tags/blue")).await.status, 204);
    let missing = s.get(&format!("/v2.0/networks/{b}/tags/blue")).await;
    assert_eq!((missing.status, missing.error_type()), (404, "TagNotFound"));
    assert_eq!(
        s.get(&format!("/v2.0/networks/{a}")).await.body["network"]["revision_number"],
        5,
        "each tag change bumps the revision"
    );

    let q = |f: &str| format!("/v2.0/networks?{f}&sort_key=name&sort_dir=asc");
    assert_eq!(names(&s.get(&q("tags=red")).await.body, "networks"), ["a", "b"]);
    assert_eq!(names(&s.get(&q("tags=red,blue")).await.body, "networks"), ["a"]);
    assert_eq!(names(&s.get(&q("tags-any=blue,green")).await.body, "networks"), ["a"]);
    assert_eq!(names(&s.get(&q("not-tags=red,blue")).await.body, "networks"), ["b"]);
    assert_eq!(names(&s.get(&q("not-tags-any=blue")).await.body, "networks"), ["b"]);

    assert_eq!(s.delete(&format!("/v2.0/networks/{a}/tags/blue")).await.status, 204);
    assert_eq!(s.delete(&format!("/v2.0/networks/{a}/tags/blue")).await.status, 404);
    assert_eq!(s.delete(&format!("/v2.0/networks/{b}/tags")).await.status, 204);
    assert_eq!(s.get(&format!("/v2.0/networks/{b}/tags")).await.body, json!({"tags": []}));
    let bad = s.put(&format!("/v2.0/networks/{a}/tags"), json!({"tags": ["a,b"]})).await;
    assert_eq!(bad.status, 400);
    let created = s.post("/v2.0/ports", json!({"port": {"network_id": a, "tags": ["t1"]}})).await;
    assert_eq!(created.body["port"]["tags"], json!(["t1"]));
    let tagged = s.get("/v2.0/ports?tags=t1").await;
    assert_eq!(tagged.body["ports"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn ports_filter_by_fixed_ips_and_device() {
    let s = Server::default().await;
    let net = s.network(json!({})).await;
    let sub = s.subnet(&net, "10.0.0.0/24", json!({})).await;
    s.port(json!({"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.5"}], "device_id": "vm1"})).await;
    s.port(json!({"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.55"}], "device_id": "vm2"})).await;
    let r = s.get("/v2.0/ports?fixed_ips=ip_address%3D10.0.0.5").await;
    assert_eq!(r.body["ports"].as_array().unwrap().len(), 1);
    let r = s.get(&format!("/v2.0/ports?fixed_ips=subnet_id%3D{sub}")).await;
    assert_eq!(r.body["ports"].as_array().unwrap().len(), 2);
    let r = s.get("/v2.0/ports?fixed_ips=ip_address_substr%3D0.0.5").await;
    assert_eq!(r.body["ports"].as_array().unwrap().len(), 2);
    let r = s.get("/v2.0/ports?device_id=vm2").await;
    assert_eq!(r.body["ports"][0]["fixed_ips"][0]["ip_address"], "10.0.0.55");
    let r = s.get("/v2.0/ports?fixed_ips=mac%3Dx").await;
    assert_eq!(r.status, 400);
}

//! Quotas: defaults from `[quotas]`, per-project limits, enforcement inside
//! the creating transaction (bulk included), details, and who may do what.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Server, Who};
use serde_json::json;

#[tokio::test]
async fn quotas_show_update_enforce_and_reset() {
    let s =
        Server::start("[DEFAULT]\nallow_overlapping_ips = true\n[quotas]\nquota_network = 3\nquota_port = 2\n").await;
    let r = s.get("/v2.0/quotas/proj-a").await;
    assert_eq!(
        r.body,
        json!({"quota": {"network": 3, "port": 2, "rbac_policy": 10, "subnet": 100, "router": 10, "floatingip": 50, "security_group": 10, "security_group_rule": 100}})
    );
    assert_eq!(s.get("/v2.0/quotas/proj-a/default").await.body, r.body);

    let a = Who::Member("proj-a");
    let net = s.req(&a, "POST", "/v2.0/networks", Some(json!({"network": {}})), &[]).await;
    assert_eq!(net.status, 201);
    let net_id = net.body["network"]["id"].as_str().unwrap().to_string();
    // A bulk that would pass the limit creates nothing.
    let bulk = s.req(&a, "POST", "/v2.0/networks", Some(json!({"networks": [{}, {}, {}]})), &[]).await;
    assert_eq!((bulk.status, bulk.error_type()), (409, "OverQuota"));
    assert_eq!(bulk.message(), "Quota exceeded for resources: ['network'].");
    assert_eq!(s.req(&a, "GET", "/v2.0/networks", None, &[]).await.body["networks"].as_array().unwrap().len(), 1);

    // Ports: two, then over quota; the admin raises the limit; then a third.
    for _ in 0..2 {
        let p = s.req(&a, "POST", "/v2.0/ports", Some(json!({"port": {"network_id": net_id}})), &[]).await;
        assert_eq!(p.status, 201);
    }
    let over = s.req(&a, "POST", "/v2.0/ports", Some(json!({"port": {"network_id": net_id}})), &[]).await;
    assert_eq!((over.status, over.error_type()), (409, "OverQuota"));
    let denied = s.req(&a, "PUT", "/v2.0/quotas/proj-a", Some(json!({"quota": {"port": 10}})), &[]).await;
    assert_eq!(denied.status, 403);
    let up = s.put("/v2.0/quotas/proj-a", json!({"quota": {"port": 3}})).await;
    assert_eq!(up.body["quota"]["port"], 3);
    assert_eq!(s.req(&a, "POST", "/v2.0/ports", Some(json!({"port": {"network_id": net_id}})), &[]).await.status, 201);

    // A project reads its own quota; another project's takes `get_quota` (admin, or that project's manager).
    let d = s.req(&a, "GET", "/v2.0/quotas/proj-a/details", None, &[]).await;
    assert_eq!(d.body["quota"]["port"], json!({"limit": 3, "used": 3, "reserved": 0}));
    assert_eq!(d.body["quota"]["network"], json!({"limit": 3, "used": 1, "reserved": 0}));
    let other = s.req(&Who::Member("proj-b"), "GET", "/v2.0/quotas/proj-a", None, &[]).await;
    assert_eq!(other.status, 403);
    let manager_b = s.req(&Who::Manager("proj-b"), "GET", "/v2.0/quotas/proj-a", None, &[]).await;
    assert_eq!(manager_b.status, 403, "a manager only of its own project");

    // Limits below what is used are refused unless forced; clients' check_limit is accepted.
    let below = s.put("/v2.0/quotas/proj-a", json!({"quota": {"port": 1, "check_limit": true}})).await;
    assert_eq!(
        (below.status, below.message()),
        (400, "Quota limit 1 for port must be greater than or equal to already used 3")
    );
    assert_eq!(s.get("/v2.0/quotas/proj-a").await.body["quota"]["port"], 3, "nothing changed");
    let forced = s.put("/v2.0/quotas/proj-a", json!({"quota": {"port": 1, "force": true}})).await;
    assert_eq!(forced.body["quota"]["port"], 1);
    assert_eq!(s.put("/v2.0/quotas/proj-a", json!({"quota": {"port": 3}})).await.status, 200);
    let list = s.get("/v2.0/quotas").await;
    assert_eq!(
        list.body["quotas"],
        json!([{"network": 3, "port": 3, "rbac_policy": 10, "subnet": 100, "router": 10, "floatingip": 50, "security_group": 10, "security_group_rule": 100, "project_id": "proj-a", "tenant_id": "proj-a"}])
    );
    assert_eq!(
        s.req(&a, "GET", "/v2.0/quotas/tenant", None, &[]).await.body,
        json!({"tenant": {"tenant_id": "proj-a"}})
    );

    // Unlimited, bad values, unknown resources.
    assert_eq!(s.put("/v2.0/quotas/proj-a", json!({"quota": {"network": -1}})).await.body["quota"]["network"], -1);
    assert_eq!(s.put("/v2.0/quotas/proj-a", json!({"quota": {"network": -2}})).await.status, 400);
    let unknown = s.put("/v2.0/quotas/proj-a", json!({"quota": {"l7policy": 5}})).await;
    assert_eq!((unknown.status, unknown.message()), (400, "Unrecognized attribute(s) 'l7policy'"));

    assert_eq!(s.delete("/v2.0/quotas/proj-a").await.status, 204);
    assert_eq!(s.get("/v2.0/quotas/proj-a").await.body["quota"]["port"], 2, "back to the default");
    assert_eq!(s.get("/v2.0/quotas").await.body, json!({"quotas": []}));
}

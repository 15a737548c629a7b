//! RBAC policies: sharing a network with one project, wildcard policies as
//! the `shared` / `router:external` flags, and policies that cannot go while
//! ports depend on them.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Server, Who};
use serde_json::json;

#[tokio::test]
async fn a_network_shared_with_one_project() {
    let s = Server::default().await;
    let owner = Who::Member("owner");
    let (b, c) = (Who::Member("proj-b"), Who::Member("proj-c"));
    let net = s.req(&owner, "POST", "/v2.0/networks", Some(json!({"network": {"name": "n"}})), &[]).await;
    let net_id = net.body["network"]["id"].as_str().unwrap().to_string();
    let sub = s
        .req(
            &owner,
            "POST",
            "/v2.0/subnets",
            Some(json!({"subnet": {"network_id": net_id, "ip_version": 4, "cidr": "10.0.0.0/24"}})),
            &[],
        )
        .await;
    assert_eq!(sub.status, 201);
    assert_eq!(s.req(&b, "GET", &format!("/v2.0/networks/{net_id}"), None, &[]).await.status, 404);

    let body = json!({"rbac_policy": {"object_type": "network", "object_id": net_id, "target_tenant": "proj-b", "action": "access_as_shared"}});
    let p = s.req(&owner, "POST", "/v2.0/rbac-policies", Some(body.clone()), &[]).await;
    assert_eq!(p.status, 201, "{}", p.body);
    let policy = p.body["rbac_policy"].clone();
    assert_eq!(policy["project_id"], "owner");
    assert_eq!(policy["target_tenant"], "proj-b");
    let pid = policy["id"].as_str().unwrap().to_string();
    let dup = s.req(&owner, "POST", "/v2.0/rbac-policies", Some(body), &[]).await;
    assert_eq!((dup.status, dup.error_type()), (409, "DuplicateRbacPolicy"));

    // B sees the network (as shared) and its subnet, and may plug a port; C does not.
    let seen = s.req(&b, "GET", &format!("/v2.0/networks/{net_id}"), None, &[]).await;
    assert_eq!((seen.status, seen.body["network"]["shared"].clone()), (200, json!(true)));
    assert_eq!(s.req(&b, "GET", "/v2.0/subnets", None, &[]).await.body["subnets"].as_array().unwrap().len(), 1);
    assert_eq!(s.req(&c, "GET", &format!("/v2.0/networks/{net_id}"), None, &[]).await.status, 404);
    let port = s.req(&b, "POST", "/v2.0/ports", Some(json!({"port": {"network_id": net_id}})), &[]).await;
    assert_eq!(port.status, 201);
    assert_eq!(s.req(&c, "POST", "/v2.0/ports", Some(json!({"port": {"network_id": net_id}})), &[]).await.status, 404);
    // The owner's network still reads as not shared (with everyone).
    assert_eq!(
        s.req(&owner, "GET", &format!("/v2.0/networks/{net_id}"), None, &[]).await.body["network"]["shared"],
        false
    );
    // Only the policy's owner sees it.
    assert_eq!(s.req(&b, "GET", &format!("/v2.0/rbac-policies/{pid}"), None, &[]).await.status, 404);
    assert_eq!(
        s.req(&owner, "GET", "/v2.0/rbac-policies?target_tenant=proj-b", None, &[]).await.body["rbac_policies"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // B's port keeps the policy in place; without it the policy goes.
    let del = s.req(&owner, "DELETE", &format!("/v2.0/rbac-policies/{pid}"), None, &[]).await;
    assert_eq!((del.status, del.error_type()), (409, "RbacPolicyInUse"));
    let retarget = s
        .req(
            &owner,
            "PUT",
            &format!("/v2.0/rbac-policies/{pid}"),
            Some(json!({"rbac_policy": {"target_tenant": "proj-c"}})),
            &[],
        )
        .await;
    assert_eq!(retarget.status, 409);
    let port_id = port.body["port"]["id"].as_str().unwrap();
    assert_eq!(s.req(&b, "DELETE", &format!("/v2.0/ports/{port_id}"), None, &[]).await.status, 204);
    assert_eq!(s.req(&owner, "DELETE", &format!("/v2.0/rbac-policies/{pid}"), None, &[]).await.status, 204);
    assert_eq!(s.req(&b, "GET", &format!("/v2.0/networks/{net_id}"), None, &[]).await.status, 404);
}

#[tokio::test]
async fn wildcard_policies_are_the_shared_and_external_flags() {
    let s = Server::default().await;
    let net = s.network(json!({"project_id": "owner"})).await;
    let p = s.post("/v2.0/rbac-policies", json!({"rbac_policy": {"object_type": "network", "object_id": net, "target_tenant": "*", "action": "access_as_shared"}})).await;
    assert_eq!(p.status, 201);
    assert_eq!(s.get(&format!("/v2.0/networks/{net}")).await.body["network"]["shared"], true);
    let ext = s.post("/v2.0/rbac-policies", json!({"rbac_policy": {"object_type": "network", "object_id": net, "target_tenant": "*", "action": "access_as_external"}})).await;
    assert_eq!(ext.status, 201);
    assert_eq!(s.get(&format!("/v2.0/networks/{net}")).await.body["network"]["router:external"], true);
    // Unsharing the network through the network removes the policy.
    assert_eq!(s.put(&format!("/v2.0/networks/{net}"), json!({"network": {"shared": false}})).await.status, 200);
    let left = s.get(&format!("/v2.0/rbac-policies?object_id={net}")).await;
    let actions: Vec<&str> =
        left.body["rbac_policies"].as_array().unwrap().iter().map(|p| p["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["access_as_external"]);
    // Sharing through the network adds it back.
    s.put(&format!("/v2.0/networks/{net}"), json!({"network": {"shared": true}})).await;
    assert_eq!(
        s.get(&format!("/v2.0/rbac-policies?object_id={net}")).await.body["rbac_policies"].as_array().unwrap().len(),
        2
    );
    // A shared network created as such has its policy from the start.
    let shared = s.network(json!({"shared": true})).await;
    assert_eq!(
        s.get(&format!("/v2.0/rbac-policies?object_id={shared}&action=access_as_shared")).await.body["rbac_policies"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Deleting the network takes its policies.
    assert_eq!(s.delete(&format!("/v2.0/networks/{net}")).await.status, 204);
    assert_eq!(s.get(&format!("/v2.0/rbac-policies?object_id={net}")).await.body["rbac_policies"], json!([]));
}

#[tokio::test]
async fn rbac_input_and_permissions() {
    let s = Server::default().await;
    let owner = Who::Member("owner");
    let net = s.req(&owner, "POST", "/v2.0/networks", Some(json!({"network": {}})), &[]).await.body["network"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = s.network(json!({"project_id": "someone"})).await;
    let cases = [
        (json!({"object_type": "router", "object_id": net, "target_tenant": "x", "action": "access_as_shared"}), 400),
        (json!({"object_type": "network", "object_id": net, "target_tenant": "x", "action": "access_as_nothing"}), 400),
        (json!({"object_type": "network", "object_id": net, "target_tenant": "*", "action": "access_as_shared"}), 403),
        (
            json!({"object_type": "network", "object_id": other, "target_tenant": "x", "action": "access_as_shared"}),
            404,
        ),
        (json!({"object_type": "network", "target_tenant": "x", "action": "access_as_shared"}), 400),
    ];
    for (body, status) in cases {
        let r = s.req(&owner, "POST", "/v2.0/rbac-policies", Some(json!({ "rbac_policy": body.clone() })), &[]).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }
    // An admin's policy on someone else's network is fine; a member's is not.
    let shared_other = s.network(json!({"project_id": "someone", "shared": true})).await;
    let r = s.req(&owner, "POST", "/v2.0/rbac-policies", Some(json!({"rbac_policy": {"object_type": "network", "object_id": shared_other, "target_tenant": "x", "action": "access_as_shared"}})), &[]).await;
    assert_eq!((r.status, r.error_type()), (400, "InvalidInput"));
    assert_eq!(
        s.get("/v2.0/rbac-policies").await.body["rbac_policies"].as_array().unwrap().len(),
        1,
        "only the wildcard of the shared network"
    );
    assert_eq!(s.get("/v2.0/rbac-policies/x/tags").await.status, 404);
}

//! Networks over real HTTP: shapes, segments, MTU, revisions, errors.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Server, Who};
use serde_json::json;

#[tokio::test]
async fn version_documents_health_and_extensions() {
    let s = Server::default().await;
    let r = s.get("/").await;
    assert_eq!(r.body["versions"][0]["id"], "v2.0");
    let r = s.get("/v2.0").await;
    let names: Vec<&str> =
        r.body["resources"].as_array().unwrap().iter().map(|x| x["collection"].as_str().unwrap()).collect();
    assert_eq!(names, ["networks", "subnets", "ports"]);
    assert_eq!(s.get("/healthcheck").await.status, 200);
    let raw = s.client.get(format!("{}/v2.0/networks", s.base)).send().await.unwrap();
    let rid = raw.headers().get("x-openstack-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(rid.starts_with("req-") && rid.len() == 40, "request id header: {rid:?}");
    let r = s.get("/v2.0/extensions").await;
    let aliases: Vec<&str> =
        r.body["extensions"].as_array().unwrap().iter().map(|x| x["alias"].as_str().unwrap()).collect();
    for a in [
        "provider",
        "external-net",
        "binding",
        "standard-attr-tag",
        "revision-if-match",
        "pagination",
        "sorting",
        "filter-validation",
    ] {
        assert!(aliases.contains(&a), "{a} missing");
    }
    assert!(aliases.contains(&"router") && aliases.contains(&"extraroute-atomic"));
    assert!(aliases.contains(&"security-group"));
    assert!(!aliases.contains(&"qos"), "QoS is not implemented");
    assert_eq!(s.get("/v2.0/extensions/binding").await.body["extension"]["alias"], "binding");
    assert_eq!(s.get("/v2.0/extensions/qos").await.status, 404);
    let patch = s.req(&Who::Admin, "PATCH", "/v2.0/networks", Some(json!({})), &[]).await;
    assert_eq!((patch.status, patch.error_type()), (405, "HTTPMethodNotAllowed"));
    let r = s.get("/v2.0/qos/policies").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_type(), "HTTPNotFound");
}

#[tokio::test]
async fn network_lifecycle_with_revisions_and_if_match() {
    let s = Server::default().await;
    let r = s.post("/v2.0/networks", json!({"network": {"name": "net1", "description": "d"}})).await;
    assert_eq!(r.status, 201);
    let n = &r.body["network"];
    assert_eq!(n["name"], "net1");
    assert_eq!(n["status"], "ACTIVE");
    assert_eq!(n["admin_state_up"], true);
    assert_eq!(n["shared"], false);
    assert_eq!(n["router:external"], false);
    assert_eq!(n["provider:network_type"], "vxlan");
    assert_eq!(n["provider:segmentation_id"], 1);
    assert_eq!(n["mtu"], 1450, "1500 - 50 vxlan overhead");
    assert_eq!(n["project_id"], "noauth-project");
    assert_eq!(n["tenant_id"], "noauth-project");
    assert_eq!(n["revision_number"], 1);
    assert_eq!(n["subnets"], json!([]));
    assert!(n["created_at"].as_str().unwrap().ends_with('Z'));
    let id = n["id"].as_str().unwrap().to_string();

    let r = s.put(&format!("/v2.0/networks/{id}"), json!({"network": {"name": "renamed"}})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["network"]["revision_number"], 2);

    let stale = s
        .req(
            &Who::Admin,
            "PUT",
            &format!("/v2.0/networks/{id}"),
            Some(json!({"network": {"name": "x"}})),
            &[("If-Match", "revision_number=1")],
        )
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.error_type(), "RevisionNumberConstraintFailed");
    assert_eq!(stale.message(), "Constrained to 1, but current revision is 2");
    assert_eq!(s.get(&format!("/v2.0/networks/{id}")).await.body["network"]["name"], "renamed", "412 changed nothing");
    let ok = s
        .req(
            &Who::Admin,
            "PUT",
            &format!("/v2.0/networks/{id}.json"),
            Some(json!({"network": {"name": "y"}})),
            &[("If-Match", "revision_number=2")],
        )
        .await;
    assert_eq!(ok.status, 200);

    let bad =
        s.req(&Who::Admin, "DELETE", &format!("/v2.0/networks/{id}"), None, &[("If-Match", "revision_number=1")]).await;
    assert_eq!(bad.status, 412);
    assert_eq!(s.delete(&format!("/v2.0/networks/{id}")).await.status, 204);
    let gone = s.get(&format!("/v2.0/networks/{id}")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.error_type(), "NetworkNotFound");
    assert_eq!(gone.message(), format!("Network {id} could not be found."));
}

#[tokio::test]
async fn bad_input_is_refused_with_neutron_errors_and_changes_nothing() {
    let s = Server::default().await;
    let cases = [
        (json!({"network": {"name": "a", "bogus": 1}}), "Unrecognized attribute(s) 'bogus'"),
        (json!({"network": {"id": "x"}}), "Attribute 'id' not allowed in POST"),
        (json!({"network": {"name": 5}}), "Invalid input for name. Reason: '5' is not a valid string."),
        (
            json!({"network": {"admin_state_up": "maybe"}}),
            "Invalid input for operation: 'maybe' cannot be converted to boolean.",
        ),
        (json!({"network": {"mtu": 10}}), "Invalid input for mtu. Reason: '10' is too small - must be at least '68'."),
        (json!({"netwerk": {}}), "Unable to find 'network' in request body"),
        (json!({"networks": []}), "Resources required"),
    ];
    for (body, msg) in cases {
        let r = s.post("/v2.0/networks", body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.message(), msg, "{body}");
    }
    let raw = s.client.post(format!("{}/v2.0/networks", s.base)).body("{not json").send().await.unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let r = s.put("/v2.0/networks/00000000-0000-0000-0000-000000000000", json!({"network": {"name": "x"}})).await;
    assert_eq!(r.status, 404);
    assert_eq!(s.get("/v2.0/networks").await.body["networks"], json!([]), "nothing was created");
}

#[tokio::test]
async fn provider_networks_are_validated_and_reserved() {
    let s = Server::start(
        "[ml2]\ntype_drivers = local,flat,vlan,vxlan,gre\ntenant_network_types = vxlan\n\
         [ml2_type_flat]\nflat_networks = physnet1\n\
         [ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:100:101,physnet2\n\
         [ml2_type_vxlan]\nvni_ranges = 10:11\n[ml2_type_gre]\ntunnel_id_ranges = 5:6\n",
    )
    .await;
    let vlan = s.post("/v2.0/networks", json!({"network": {"provider:network_type": "vlan", "provider:physical_network": "physnet2", "provider:segmentation_id": 42}})).await;
    assert_eq!(vlan.status, 201, "{}", vlan.body);
    assert_eq!(vlan.body["network"]["provider:segmentation_id"], 42);
    assert_eq!(vlan.body["network"]["mtu"], 1500);
    let dup = s.post("/v2.0/networks", json!({"network": {"provider:network_type": "vlan", "provider:physical_network": "physnet2", "provider:segmentation_id": 42}})).await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.error_type(), "VlanIdInUse");
    // A vlan network without an id takes the first free one of the physnet's range.
    let auto = s
        .post(
            "/v2.0/networks",
            json!({"network": {"provider:network_type": "vlan", "provider:physical_network": "physnet1"}}),
        )
        .await;
    assert_eq!(auto.body["network"]["provider:segmentation_id"], 100);
    let flat = s
        .post(
            "/v2.0/networks",
            json!({"network": {"provider:network_type": "flat", "provider:physical_network": "physnet1"}}),
        )
        .await;
    assert_eq!(flat.status, 201);
    assert_eq!(flat.body["network"]["provider:segmentation_id"], json!(null));
    let flat2 = s
        .post(
            "/v2.0/networks",
            json!({"network": {"provider:network_type": "flat", "provider:physical_network": "physnet1"}}),
        )
        .await;
    assert_eq!(flat2.error_type(), "FlatNetworkInUse");
    let gre = s.post("/v2.0/networks", json!({"network": {"provider:network_type": "gre"}})).await;
    assert_eq!(gre.body["network"]["provider:segmentation_id"], 5);
    assert_eq!(gre.body["network"]["mtu"], 1458, "1500 - 42 gre overhead");
    let local = s.post("/v2.0/networks", json!({"network": {"provider:network_type": "local"}})).await;
    assert_eq!(local.status, 201);
    assert_eq!(local.body["network"]["provider:network_type"], "local");
    let vx = s
        .post(
            "/v2.0/networks",
            json!({"network": {"provider:network_type": "vxlan", "provider:segmentation_id": 5000}}),
        )
        .await;
    assert_eq!(vx.status, 201, "provider VNIs may lie outside the tenant ranges");
    let vx2 = s
        .post(
            "/v2.0/networks",
            json!({"network": {"provider:network_type": "vxlan", "provider:segmentation_id": 5000}}),
        )
        .await;
    assert_eq!((vx2.status, vx2.error_type()), (409, "TunnelIdInUse"));

    for (body, status) in [
        (json!({"provider:network_type": "geneve"}), 400),
        (
            json!({"provider:network_type": "vlan", "provider:physical_network": "nope", "provider:segmentation_id": 3}),
            400,
        ),
        (
            json!({"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 4095}),
            400,
        ),
        (json!({"provider:network_type": "flat"}), 400),
        (json!({"provider:network_type": "flat", "provider:physical_network": "physnet9"}), 400),
        (json!({"provider:network_type": "vxlan", "provider:physical_network": "physnet1"}), 400),
        (json!({"provider:network_type": "vxlan", "provider:segmentation_id": 16_777_216}), 400),
        (json!({"provider:network_type": "local", "provider:segmentation_id": 3}), 400),
    ] {
        let r = s.post("/v2.0/networks", json!({ "network": body.clone() })).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }
    let member = s
        .req(
            &Who::Member("p1"),
            "POST",
            "/v2.0/networks",
            Some(json!({"network": {"provider:network_type": "local"}})),
            &[],
        )
        .await;
    assert_eq!(member.status, 403);
    let updated = s
        .put(
            &format!("/v2.0/networks/{}", local.body["network"]["id"].as_str().unwrap()),
            json!({"network": {"provider:network_type": "vlan"}}),
        )
        .await;
    assert_eq!(updated.status, 400, "provider attributes are read-only after create");
}

#[tokio::test]
async fn tenant_segments_exhaust_and_are_released_on_delete() {
    let s = Server::start("[ml2_type_vxlan]\nvni_ranges = 7:8\n").await;
    let a = s.network(json!({})).await;
    let b = s.network(json!({})).await;
    let c = s.post("/v2.0/networks", json!({"network": {}})).await;
    assert_eq!(c.status, 503);
    assert_eq!(c.error_type(), "NoNetworkAvailable");
    assert_eq!(c.message(), "Unable to create the network. No tenant network is available for allocation.");
    assert_eq!(s.get(&format!("/v2.0/networks/{a}")).await.body["network"]["provider:segmentation_id"], 7);
    assert_eq!(s.delete(&format!("/v2.0/networks/{a}")).await.status, 204);
    let again = s.post("/v2.0/networks", json!({"network": {}})).await;
    assert_eq!(again.body["network"]["provider:segmentation_id"], 7, "freed VNI is reused");
    let _ = b;
}

#[tokio::test]
async fn mtu_follows_configuration_and_is_writable_within_the_maximum() {
    let s = Server::start("[DEFAULT]\nglobal_physnet_mtu = 9000\n[ml2]\npath_mtu = 1600\n").await;
    let r = s.post("/v2.0/networks", json!({"network": {}})).await;
    assert_eq!(r.body["network"]["mtu"], 1550);
    let id = r.body["network"]["id"].as_str().unwrap();
    let too_big = s.put(&format!("/v2.0/networks/{id}"), json!({"network": {"mtu": 1551}})).await;
    assert_eq!(too_big.status, 400);
    let ok = s.put(&format!("/v2.0/networks/{id}"), json!({"network": {"mtu": 1400}})).await;
    assert_eq!(ok.body["network"]["mtu"], 1400);
}

#[tokio::test]
async fn projects_are_isolated() {
    let s = Server::default().await;
    let a =
        s.req(&Who::Member("proj-a"), "POST", "/v2.0/networks", Some(json!({"network": {"name": "a-net"}})), &[]).await;
    assert_eq!(a.status, 201);
    assert_eq!(a.body["network"]["project_id"], "proj-a");
    assert!(a.body["network"].get("provider:network_type").is_none(), "provider attributes are admin-only");
    let a_id = a.body["network"]["id"].as_str().unwrap().to_string();
    let shared = s.network(json!({"name": "shared", "shared": true, "project_id": "admin-proj"})).await;

    let b_list = s.req(&Who::Member("proj-b"), "GET", "/v2.0/networks", None, &[]).await;
    let names: Vec<&str> =
        b_list.body["networks"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["shared"]);
    let b_get = s.req(&Who::Member("proj-b"), "GET", &format!("/v2.0/networks/{a_id}"), None, &[]).await;
    assert_eq!(b_get.status, 404);
    let b_put = s
        .req(
            &Who::Member("proj-b"),
            "PUT",
            &format!("/v2.0/networks/{a_id}"),
            Some(json!({"network": {"name": "x"}})),
            &[],
        )
        .await;
    assert_eq!(b_put.status, 404);
    let b_del = s.req(&Who::Member("proj-b"), "DELETE", &format!("/v2.0/networks/{shared}"), None, &[]).await;
    assert_eq!(b_del.status, 403, "visible but not owned");
    let b_as_a = s
        .req(&Who::Member("proj-b"), "POST", "/v2.0/networks", Some(json!({"network": {"project_id": "proj-a"}})), &[])
        .await;
    assert_eq!(b_as_a.status, 400);
    let b_shared =
        s.req(&Who::Member("proj-b"), "POST", "/v2.0/networks", Some(json!({"network": {"shared": true}})), &[]).await;
    assert_eq!(b_shared.status, 403);
    let admin_list = s.get("/v2.0/networks").await;
    assert_eq!(admin_list.body["networks"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bulk_create_is_all_or_nothing() {
    let s = Server::default().await;
    let ok = s.post("/v2.0/networks", json!({"networks": [{"name": "a"}, {"name": "b"}]})).await;
    assert_eq!(ok.status, 201);
    assert_eq!(ok.body["networks"].as_array().unwrap().len(), 2);
    let bad = s.post("/v2.0/networks", json!({"networks": [{"name": "c"}, {"name": "d", "bogus": true}]})).await;
    assert_eq!(bad.status, 400);
    let all = s.get("/v2.0/networks?fields=name").await;
    let mut names: Vec<&str> =
        all.body["networks"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["a", "b"], "the failed bulk created nothing");
}

#[tokio::test]
async fn a_reader_reads_and_changes_nothing() {
    let s = Server::default().await;
    let net = s.network(json!({"project_id": "proj-r", "name": "n"})).await;
    let reader = [("X-Roles", "reader"), ("X-Project-Id", "proj-r")];
    let get = s.req(&Who::Admin, "GET", &format!("/v2.0/networks/{net}"), None, &reader).await;
    assert_eq!(get.status, 200);
    assert!(get.body["network"].get("provider:network_type").is_none(), "a reader is no admin");
    let create = s.req(&Who::Admin, "POST", "/v2.0/networks", Some(json!({"network": {}})), &reader).await;
    assert_eq!((create.status, create.message()), (403, "rule:create_network is disallowed by policy"));
    let put = s
        .req(&Who::Admin, "PUT", &format!("/v2.0/networks/{net}"), Some(json!({"network": {"name": "x"}})), &reader)
        .await;
    assert_eq!(put.status, 403);
    let tag = s.req(&Who::Admin, "PUT", &format!("/v2.0/networks/{net}/tags/t"), None, &reader).await;
    assert_eq!(tag.status, 403);
    let del = s.req(&Who::Admin, "DELETE", &format!("/v2.0/networks/{net}"), None, &reader).await;
    assert_eq!(del.status, 403);
    assert_eq!(s.get(&format!("/v2.0/networks/{net}")).await.body["network"]["name"], "n");
    // A member of the same project may.
    let member = [("X-Roles", "member,reader"), ("X-Project-Id", "proj-r")];
    let put = s
        .req(&Who::Admin, "PUT", &format!("/v2.0/networks/{net}"), Some(json!({"network": {"name": "m"}})), &member)
        .await;
    assert_eq!(put.status, 200);
}

//! Security groups and rules through the API, with Neutron's defaults and
//! refusals (each leaving the state as it was), and what an L2 agent is
//! told about them.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Server, Who};
use serde_json::{json, Value};

fn rules(g: &Value) -> Vec<Value> {
    g["security_group_rules"].as_array().unwrap().clone()
}

#[tokio::test]
async fn default_group_rules_and_refusals() {
    let s = Server::default().await;
    let a = Who::Member("proj-a");
    // Listing makes the project's default group: egress open, ingress from itself.
    let r = s.req(&a, "GET", "/v2.0/security-groups", None, &[]).await;
    let groups = r.body["security_groups"].as_array().unwrap().clone();
    assert_eq!(groups.len(), 1, "{}", r.body);
    let default = &groups[0];
    assert_eq!(default["name"], "default");
    let did = default["id"].as_str().unwrap().to_string();
    let mut shapes: Vec<(String, String, Value)> = rules(default)
        .iter()
        .map(|r| {
            (
                r["direction"].as_str().unwrap().into(),
                r["ethertype"].as_str().unwrap().into(),
                r["remote_group_id"].clone(),
            )
        })
        .collect();
    shapes.sort_by_key(|x| (x.0.clone(), x.1.clone()));
    assert_eq!(
        shapes,
        vec![
            ("egress".into(), "IPv4".into(), Value::Null),
            ("egress".into(), "IPv6".into(), Value::Null),
            ("ingress".into(), "IPv4".into(), json!(did)),
            ("ingress".into(), "IPv6".into(), json!(did)),
        ]
    );
    assert!(rules(default).iter().all(|r| r["belongs_to_default_sg"] == true));
    // Listing again makes no second one; another "default" is refused.
    let r = s.req(&a, "GET", "/v2.0/security-groups", None, &[]).await;
    assert_eq!(r.body["security_groups"].as_array().unwrap().len(), 1);
    let r = s.req(&a, "POST", "/v2.0/security-groups", Some(json!({"security_group": {"name": "default"}})), &[]).await;
    assert_eq!((r.status, r.error_type()), (409, "SecurityGroupDefaultAlreadyExists"));

    // A group of one's own: egress open by default.
    let r = s.req(&a, "POST", "/v2.0/security-groups", Some(json!({"security_group": {"name": "web"}})), &[]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let web = r.body["security_group"].clone();
    let wid = web["id"].as_str().unwrap().to_string();
    assert_eq!(web["stateful"], true);
    assert_eq!(rules(&web).len(), 2);
    let rule = |body: Value| json!({"security_group_rule": body});
    let post_rule = |body: Value| {
        let s = &s;
        let a = a.clone();
        async move { s.req(&a, "POST", "/v2.0/security-group-rules", Some(rule(body)), &[]).await }
    };
    let r = post_rule(json!({"security_group_id": wid, "direction": "ingress", "protocol": "tcp",
                             "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "192.0.2.7/24"}))
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let http = r.body["security_group_rule"].clone();
    assert_eq!(http["remote_ip_prefix"], "192.0.2.0/24", "normalised");
    assert_eq!(http["ethertype"], "IPv4");
    let r = post_rule(json!({"security_group_id": wid, "direction": "ingress", "protocol": "tcp",
                             "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "192.0.2.0/24"}))
    .await;
    assert_eq!((r.status, r.error_type()), (409, "SecurityGroupRuleExists"), "{}", r.body);
    assert!(r.message().contains(http["id"].as_str().unwrap()));
    for (body, kind) in [
        (
            json!({"security_group_id": wid, "direction": "ingress", "protocol": "tcp", "port_range_min": 90, "port_range_max": 80}),
            "SecurityGroupInvalidPortRange",
        ),
        (
            json!({"security_group_id": wid, "direction": "ingress", "port_range_min": 80}),
            "SecurityGroupProtocolRequiredWithPorts",
        ),
        (
            json!({"security_group_id": wid, "direction": "ingress", "protocol": "bogus"}),
            "SecurityGroupRuleInvalidProtocol",
        ),
        (
            json!({"security_group_id": wid, "direction": "ingress", "protocol": "ipv6-icmp"}),
            "SecurityGroupEthertypeConflictWithProtocol",
        ),
        (
            json!({"security_group_id": wid, "direction": "ingress", "protocol": "icmp", "port_range_max": 0}),
            "SecurityGroupMissingIcmpType",
        ),
        (
            json!({"security_group_id": wid, "direction": "ingress", "remote_ip_prefix": "2001:db8::/64"}),
            "SecurityGroupRuleParameterConflict",
        ),
        (
            json!({"security_group_id": wid, "direction": "ingress", "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": did}),
            "SecurityGroupRemoteGroupAndRemoteIpPrefix",
        ),
        (json!({"security_group_id": wid, "direction": "sideways"}), "HTTPBadRequest"),
    ] {
        let r = post_rule(body.clone()).await;
        assert_eq!((r.status, r.error_type()), (400, kind), "{body}: {}", r.body);
    }
    // ICMP for IPv6 is stored as ipv6-icmp; "any" is no protocol; numbers stay numbers.
    let r =
        post_rule(json!({"security_group_id": wid, "direction": "ingress", "ethertype": "IPv6", "protocol": "icmp"}))
            .await;
    assert_eq!(r.body["security_group_rule"]["protocol"], "ipv6-icmp", "{}", r.body);
    let r =
        post_rule(json!({"security_group_id": wid, "direction": "ingress", "protocol": "any", "remote_group_id": wid}))
            .await;
    assert_eq!(r.body["security_group_rule"]["protocol"], Value::Null, "{}", r.body);
    let r = post_rule(json!({"security_group_id": wid, "direction": "ingress", "protocol": 47})).await;
    assert_eq!(r.body["security_group_rule"]["protocol"], "47", "{}", r.body);
    let shown = s.req(&a, "GET", &format!("/v2.0/security-groups/{wid}"), None, &[]).await;
    assert_eq!(rules(&shown.body["security_group"]).len(), 6, "the group shows its rules");
    // Another project sees none of it, and cannot use the group.
    let b = Who::Member("proj-b");
    assert_eq!(s.req(&b, "GET", &format!("/v2.0/security-groups/{wid}"), None, &[]).await.status, 404);
    let r = s
        .req(
            &b,
            "POST",
            "/v2.0/security-group-rules",
            Some(rule(json!({"security_group_id": wid, "direction": "ingress"}))),
            &[],
        )
        .await;
    assert_eq!((r.status, r.error_type()), (404, "SecurityGroupNotFound"));

    // Ports get the default group; a group in use stays; the default group is the member's to keep.
    let net = s.network(json!({"project_id": "proj-a"})).await;
    s.subnet(&net, "10.0.0.0/24", json!({"project_id": "proj-a"})).await;
    let r = s.req(&a, "POST", "/v2.0/ports", Some(json!({"port": {"network_id": net}})), &[]).await;
    assert_eq!(r.body["port"]["security_groups"], json!([did]), "{}", r.body);
    let pid = r.body["port"]["id"].as_str().unwrap().to_string();
    let r = s
        .req(&a, "PUT", &format!("/v2.0/ports/{pid}"), Some(json!({"port": {"security_groups": [wid, did]}})), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.req(&a, "DELETE", &format!("/v2.0/security-groups/{wid}"), None, &[]).await;
    assert_eq!((r.status, r.error_type()), (409, "SecurityGroupInUse"));
    let r = s.req(&a, "DELETE", &format!("/v2.0/security-groups/{did}"), None, &[]).await;
    assert_eq!((r.status, r.error_type()), (409, "SecurityGroupCannotRemoveDefault"));
    let r = s
        .req(
            &a,
            "PUT",
            &format!("/v2.0/security-groups/{did}"),
            Some(json!({"security_group": {"name": "other"}})),
            &[],
        )
        .await;
    assert_eq!((r.status, r.error_type()), (400, "SecurityGroupCannotUpdateDefault"));
    let foreign =
        s.req(&b, "POST", "/v2.0/security-groups", Some(json!({"security_group": {"name": "theirs"}})), &[]).await;
    let fid = foreign.body["security_group"]["id"].as_str().unwrap().to_string();
    let r =
        s.req(&a, "PUT", &format!("/v2.0/ports/{pid}"), Some(json!({"port": {"security_groups": [fid]}})), &[]).await;
    assert_eq!((r.status, r.error_type()), (404, "SecurityGroupNotFound"));
    let r = s
        .req(
            &a,
            "POST",
            "/v2.0/ports",
            Some(json!({"port": {"network_id": net, "port_security_enabled": false, "security_groups": [wid]}})),
            &[],
        )
        .await;
    assert_eq!((r.status, r.error_type()), (400, "PortSecurityAndIPRequiredForSecurityGroups"));
    let r = s
        .req(&a, "POST", "/v2.0/ports", Some(json!({"port": {"network_id": net, "port_security_enabled": false}})), &[])
        .await;
    assert_eq!(r.body["port"]["security_groups"], json!([]), "an unfiltered port gets no default group");
    // Stateful and stateless groups do not mix on a port.
    let loose = s
        .req(
            &a,
            "POST",
            "/v2.0/security-groups",
            Some(json!({"security_group": {"name": "loose", "stateful": false}})),
            &[],
        )
        .await;
    assert_eq!(loose.body["security_group"]["stateful"], false);
    let r = s
        .req(
            &a,
            "PUT",
            &format!("/v2.0/ports/{pid}"),
            Some(json!({"port": {"security_groups": [did, loose.body["security_group"]["id"]]}})),
            &[],
        )
        .await;
    assert_eq!((r.status, r.error_type()), (400, "PortSecurityGroupsNotStatefulConsistent"), "{}", r.body);
    // Router and DHCP ports get none either.
    let dhcp = s.port(json!({"network_id": net, "device_owner": "network:dhcp"})).await;
    assert_eq!(dhcp["security_groups"], json!([]));
    // Once no port uses it, the group goes, and its rules with it.
    let r =
        s.req(&a, "PUT", &format!("/v2.0/ports/{pid}"), Some(json!({"port": {"security_groups": [did]}})), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(s.req(&a, "DELETE", &format!("/v2.0/security-groups/{wid}"), None, &[]).await.status, 204);
    let left = s.req(&a, "GET", &format!("/v2.0/security-group-rules?security_group_id={wid}"), None, &[]).await;
    assert_eq!(left.body["security_group_rules"], json!([]));
    // A rule goes on its own; the group shows it gone.
    let one = rules(default)[0]["id"].as_str().unwrap().to_string();
    assert_eq!(s.req(&a, "DELETE", &format!("/v2.0/security-group-rules/{one}"), None, &[]).await.status, 204);
    let g = s.req(&a, "GET", &format!("/v2.0/security-groups/{did}"), None, &[]).await;
    assert_eq!(rules(&g.body["security_group"]).len(), 3);
    // Quotas count groups and rules.
    let q = s.req(&a, "GET", "/v2.0/quotas/proj-a", None, &[]).await;
    assert_eq!(
        (q.body["quota"]["security_group"].clone(), q.body["quota"]["security_group_rule"].clone()),
        (json!(10), json!(100))
    );
}

#[tokio::test]
async fn agents_are_told_groups_rules_and_remote_members() {
    let s = Server::default().await;
    s.post(
        "/agent/v1/report",
        json!({"agent": {"agent_type": "Linux bridge agent", "binary": "neutron-linuxbridge-agent", "host": "node-1",
                         "configurations": {"tunnel_types": ["vxlan"], "interface_mappings": {}}}}),
    )
    .await;
    let net = s.network(json!({})).await;
    s.subnet(&net, "10.0.0.0/24", json!({})).await;
    let here = s
        .port(json!({"network_id": net, "binding:host_id": "node-1", "fixed_ips": [{"ip_address": "10.0.0.5"}]}))
        .await;
    // A member elsewhere (unbound), with an address pair.
    let there = s
        .port(json!({"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.6"}],
                     "allowed_address_pairs": [{"ip_address": "10.0.9.0/24"}]}))
        .await;
    let group = here["security_groups"][0].as_str().unwrap().to_string();
    assert_eq!(there["security_groups"][0], group.as_str());
    let state = s.get("/agent/v1/state?host=node-1").await.body;
    assert_eq!(state["security_groups"][0]["id"], group.as_str(), "{state}");
    assert_eq!(state["security_groups"][0]["rules"].as_array().unwrap().len(), 4);
    assert_eq!(state["remote_groups"][&group], json!(["10.0.0.5", "10.0.0.6", "10.0.9.0/24"]));
    // A membership change is a change the agents hear of.
    let before = s.get("/agent/v1/changes?after=0").await.body["last"].as_i64().unwrap();
    let id = there["id"].as_str().unwrap();
    assert_eq!(s.delete(&format!("/v2.0/ports/{id}")).await.status, 204);
    let after = s.get(&format!("/agent/v1/changes?after={before}")).await.body;
    assert!(
        after["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["resource"] == "security_group" && c["resource_id"] == group.as_str()),
        "{after}"
    );
    let state = s.get("/agent/v1/state?host=node-1").await.body;
    assert_eq!(state["remote_groups"][&group], json!(["10.0.0.5"]));
}

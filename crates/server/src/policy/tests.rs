#![allow(clippy::unwrap_used)]

use serde_json::{json, Map, Value};

use super::parse::{parse, Check, FieldValue, Kind, Part, Template};
use super::{defaults::DEFAULT_RULES, references, Credentials, Policy, PolicyError, SyntaxError};

fn target(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("a target is an object, not {other}"),
    }
}

fn creds(project: &str, roles: &[&str]) -> Credentials {
    Credentials {
        user_id: Some(format!("user-of-{project}")),
        project_id: project.to_owned(),
        roles: roles.iter().map(|role| (*role).to_owned()).collect(),
        is_admin: roles.contains(&"admin"),
    }
}

// Roles as keystone's implied roles expand them.
fn admin(project: &str) -> Credentials {
    creds(project, &["admin", "manager", "member", "reader"])
}
fn manager(project: &str) -> Credentials {
    creds(project, &["manager", "member", "reader"])
}
fn member(project: &str) -> Credentials {
    creds(project, &["member", "reader"])
}
fn reader(project: &str) -> Credentials {
    creds(project, &["reader"])
}

/// A policy of the defaults plus `rules` (YAML).
fn with_rules(rules: &str) -> Policy {
    match Policy::from_text(rules, Some("yaml")) {
        Ok(policy) => policy,
        Err(error) => panic!("{rules}: {error}"),
    }
}

fn rule(name: &str) -> Check {
    Check::Rule(name.to_owned())
}

fn syntax_error(text: &str) -> (usize, SyntaxError) {
    match parse(text) {
        Ok(check) => panic!("{text:?} parsed as {check:?}"),
        Err(error) => (error.position, error.error),
    }
}

// ---- the rule language

#[test]
fn not_binds_tighter_than_and_tighter_than_or() {
    let expected = Check::Or(vec![rule("a"), Check::And(vec![rule("b"), Check::Not(Box::new(rule("c")))])]);
    assert_eq!(parse("rule:a or rule:b and not rule:c"), Ok(expected));
    assert_eq!(
        parse("rule:a and rule:b or rule:c and rule:d"),
        Ok(Check::Or(vec![Check::And(vec![rule("a"), rule("b")]), Check::And(vec![rule("c"), rule("d")])]))
    );
    assert_eq!(parse("not rule:a and rule:b"), Ok(Check::And(vec![Check::Not(Box::new(rule("a"))), rule("b")])));
    // Keywords in any case, as oslo.policy lowers them.
    assert_eq!(parse("rule:a OR rule:b"), Ok(Check::Or(vec![rule("a"), rule("b")])));
}

#[test]
fn precedence_decides_the_outcome() {
    // `a or (b and not c)`: true when a is, whatever c; `(a or b) and not c` would be false here.
    let policy = with_rules("a: '@'\nb: '@'\nc: '@'\ncheck: 'rule:a or rule:b and not rule:c'");
    let nobody = Credentials::default();
    assert!(policy.enforce("check", &nobody, &Map::new()));
    let policy = with_rules("a: '!'\nb: '@'\nc: '@'\ncheck: 'rule:a or rule:b and not rule:c'");
    assert!(!policy.enforce("check", &nobody, &Map::new()));
    let policy = with_rules("a: '!'\nb: '@'\nc: '!'\ncheck: 'rule:a or rule:b and not rule:c'");
    assert!(policy.enforce("check", &nobody, &Map::new()));
}

#[test]
fn parentheses_group() {
    assert_eq!(
        parse("(rule:a or rule:b) and rule:c"),
        Ok(Check::And(vec![Check::Or(vec![rule("a"), rule("b")]), rule("c")]))
    );
    assert_eq!(parse("((rule:a))"), Ok(rule("a")));
    assert_eq!(parse("not (rule:a or rule:b)"), Ok(Check::Not(Box::new(Check::Or(vec![rule("a"), rule("b")])))));
    let policy = with_rules("yes: '@'\nno: '!'\ncheck: '(rule:yes or rule:no) and rule:no'");
    assert!(!policy.enforce("check", &Credentials::default(), &Map::new()));
    let policy = with_rules("yes: '@'\nno: '!'\ncheck: 'rule:yes or (rule:no and rule:no)'");
    assert!(policy.enforce("check", &Credentials::default(), &Map::new()));
}

#[test]
fn always_never_and_empty() {
    assert_eq!(parse("@"), Ok(Check::True));
    assert_eq!(parse("!"), Ok(Check::False));
    assert_eq!(parse(""), Ok(Check::True));
    let policy = with_rules("always: '@'\nnever: '!'\nempty: ''");
    let nobody = Credentials::default();
    assert!(policy.enforce("always", &nobody, &Map::new()));
    assert!(!policy.enforce("never", &nobody, &Map::new()));
    assert!(policy.enforce("empty", &nobody, &Map::new()));
    // Neutron's own `regular_user` is the empty rule.
    assert_eq!(policy.rule_text("regular_user"), Some(""));
    assert!(policy.enforce("regular_user", &nobody, &Map::new()));
}

#[test]
fn unknown_rule_is_false() {
    let policy = with_rules("check: 'rule:no_such_rule'\nnegated: 'not rule:no_such_rule'");
    assert!(!policy.enforce("check", &admin("p"), &Map::new()));
    assert!(policy.enforce("negated", &member("p"), &Map::new()));
}

#[test]
fn unknown_action_falls_back_to_default() {
    let policy = Policy::defaults();
    assert_eq!(policy.rule_text("default"), Some("rule:admin_or_owner"));
    let mine = target(json!({"project_id": "p"}));
    assert!(policy.enforce("frobnicate_widget", &reader("p"), &mine));
    assert!(!policy.enforce("frobnicate_widget", &member("q"), &mine));
    assert!(policy.enforce("frobnicate_widget", &admin("q"), &mine));
}

#[test]
fn roles_match_case_insensitively() {
    let policy = with_rules("check: 'role:Member'");
    assert!(policy.enforce("check", &creds("p", &["MEMBER"]), &Map::new()));
    assert!(policy.enforce("check", &creds("p", &["member"]), &Map::new()));
    assert!(!policy.enforce("check", &creds("p", &["reader"]), &Map::new()));
}

#[test]
fn project_id_compares_with_the_target() {
    assert_eq!(
        parse("project_id:%(project_id)s"),
        Ok(Check::Generic {
            kind: Kind::Credential("project_id".into()),
            value: Template(vec![Part::Attr("project_id".into())]),
        })
    );
    let policy = with_rules("check: 'project_id:%(project_id)s'\nlegacy: 'tenant_id:%(tenant_id)s'");
    assert!(policy.enforce("check", &member("p"), &target(json!({"project_id": "p"}))));
    assert!(!policy.enforce("check", &member("p"), &target(json!({"project_id": "q"}))));
    // A missing attribute makes the check false, not an error.
    assert!(!policy.enforce("check", &member("p"), &Map::new()));
    // `tenant_id` is the same credential as `project_id`.
    assert!(policy.enforce("legacy", &member("p"), &target(json!({"tenant_id": "p"}))));
}

#[test]
fn user_id_and_literal_checks() {
    let policy = with_rules("mine: 'user_id:%(user_id)s'\nadmin: 'is_admin:True'\nlower: 'is_admin:true'\nnot_admin: 'is_admin:False'\nenabled: 'True:%(enabled)s'");
    assert!(policy.enforce("mine", &member("p"), &target(json!({"user_id": "user-of-p"}))));
    assert!(!policy.enforce("mine", &member("p"), &target(json!({"user_id": "someone"}))));
    assert!(policy.enforce("admin", &admin("p"), &Map::new()));
    assert!(policy.enforce("lower", &admin("p"), &Map::new()));
    assert!(!policy.enforce("admin", &member("p"), &Map::new()));
    assert!(policy.enforce("not_admin", &member("p"), &Map::new()));
    // A literal kind is compared with the rendered target value.
    assert!(policy.enforce("enabled", &member("p"), &target(json!({"enabled": true}))));
    assert!(!policy.enforce("enabled", &member("p"), &target(json!({"enabled": false}))));
}

#[test]
fn field_checks() {
    assert_eq!(
        parse("field:networks:router:external=True"),
        Ok(Check::Field { field: "router:external".into(), value: FieldValue::Literal("True".into()) })
    );
    let policy = Policy::defaults();
    let shared = target(json!({"shared": true}));
    let private = target(json!({"shared": false}));
    assert!(policy.enforce("shared", &reader("p"), &shared));
    assert!(!policy.enforce("shared", &reader("p"), &private));
    assert!(!policy.enforce("shared", &reader("p"), &Map::new()));
    assert!(policy.enforce("external", &reader("p"), &target(json!({"router:external": true}))));
    assert!(!policy.enforce("external", &reader("p"), &target(json!({"router:external": false}))));
    let policy = with_rules("star: 'field:rbac_policy:target_tenant=*'");
    assert!(policy.enforce("star", &reader("p"), &target(json!({"target_tenant": "*"}))));
    assert!(!policy.enforce("star", &reader("p"), &target(json!({"target_tenant": "q"}))));
}

#[test]
fn field_regex_subset() {
    assert_eq!(
        parse("field:port:device_owner=~^network:"),
        Ok(Check::Field { field: "device_owner".into(), value: FieldValue::Prefix("network:".into()) })
    );
    let policy = Policy::defaults();
    assert!(policy.enforce("network_device", &reader("p"), &target(json!({"device_owner": "network:dhcp"}))));
    assert!(!policy.enforce("network_device", &reader("p"), &target(json!({"device_owner": "compute:nova"}))));
    let policy = with_rules("exact: 'field:port:name=~^a\\.b$'");
    assert!(policy.enforce("exact", &reader("p"), &target(json!({"name": "a.b"}))));
    assert!(!policy.enforce("exact", &reader("p"), &target(json!({"name": "a.bc"}))));
    assert_eq!(syntax_error("field:port:name=~^net.*"), (1, SyntaxError::UnsupportedRegex("^net.*".into())));
}

#[test]
fn parent_attributes_with_a_colon() {
    let policy = with_rules("owner: 'tenant_id:%(network:tenant_id)s'\nnet: 'project_id:%(network:project_id)s'");
    let port = target(json!({"project_id": "q", "network:tenant_id": "p", "network:project_id": "p"}));
    assert!(policy.enforce("owner", &member("p"), &port));
    assert!(!policy.enforce("owner", &member("q"), &port));
    assert!(policy.enforce("net", &member("p"), &port));
    assert!(policy.enforce("network_owner", &member("p"), &port));
}

#[test]
fn syntax_errors_say_where() {
    assert_eq!(syntax_error("role:admin or"), (14, SyntaxError::UnexpectedEnd));
    assert_eq!(syntax_error("role:admin and and"), (16, SyntaxError::Unexpected("and".into())));
    assert_eq!(syntax_error("(role:admin or role:member"), (27, SyntaxError::MissingParen));
    assert_eq!(syntax_error("role:admin)"), (11, SyntaxError::Unexpected(")".into())));
    assert_eq!(syntax_error("role:a admin"), (8, SyntaxError::Unexpected("admin".into())));
    assert_eq!(syntax_error("rule:a or admin"), (11, SyntaxError::NotACheck("admin".into())));
    assert_eq!(syntax_error("field:networks"), (1, SyntaxError::BadField("field:networks".into())));
    assert_eq!(syntax_error("project_id:%(project_id)d"), (1, SyntaxError::BadSubstitution("%(project_id)d".into())));
    assert_eq!(syntax_error("  "), (1, SyntaxError::Blank));
    assert_eq!(syntax_error("()"), (2, SyntaxError::Unexpected(")".into())));
}

#[test]
fn cyclic_rules_are_refused() {
    match Policy::from_text("a: 'rule:b'\nb: 'role:x or rule:a'", None) {
        Err(PolicyError::Cycle { rule }) => assert!(rule == "a" || rule == "b", "{rule}"),
        other => panic!("expected a cycle, got {other:?}"),
    }
}

// ---- Neutron's defaults

#[test]
fn defaults_are_complete_and_consistent() {
    let policy = Policy::defaults();
    for (name, text) in DEFAULT_RULES {
        assert_eq!(policy.rule_text(name), Some(*text));
        let check = match parse(text) {
            Ok(check) => check,
            Err(error) => panic!("{name}: {error}"),
        };
        let mut referenced = Vec::new();
        references(&check, &mut referenced);
        for other in referenced {
            assert!(policy.rule_text(other).is_some(), "{name} refers to missing rule {other}");
        }
    }
    let names: std::collections::HashSet<_> = DEFAULT_RULES.iter().map(|(name, _)| name).collect();
    assert_eq!(names.len(), DEFAULT_RULES.len(), "a rule is listed twice");
}

#[test]
fn member_creates_networks_but_not_shared_ones() {
    let policy = Policy::defaults();
    let network = target(json!({"project_id": "p", "shared": true}));
    assert!(policy.enforce("create_network", &member("p"), &network));
    assert!(!policy.enforce("create_network:shared", &member("p"), &network));
    assert!(!policy.enforce("create_network:router:external", &member("p"), &network));
    assert!(!policy.enforce("create_network:provider:network_type", &member("p"), &network));
    assert!(policy.enforce("create_network:port_security_enabled", &member("p"), &network));
    // Not in another project's name.
    assert!(!policy.enforce("create_network", &member("q"), &network));
}

#[test]
fn reader_cannot_create() {
    let policy = Policy::defaults();
    let mine = target(json!({"project_id": "p", "network:project_id": "p"}));
    for action in ["create_network", "create_subnet", "create_port", "create_rbac_policy", "update_network"] {
        assert!(!policy.enforce(action, &reader("p"), &mine), "{action}");
    }
    assert!(policy.enforce("get_network", &reader("p"), &mine));
    assert!(policy.enforce("get_port", &reader("p"), &mine));
}

#[test]
fn admin_can_do_everything_but_service_only_actions() {
    let policy = Policy::defaults();
    let someone_elses = target(json!({
        "project_id": "q", "network:project_id": "q", "shared": false, "router:external": false,
        "device_owner": "network:router_interface", "target_tenant": "*", "target_project": "*",
    }));
    // Neutron gives these to the service role alone.
    let service_only = ["create_port:binding:profile", "update_port:binding:profile"];
    for (action, _) in DEFAULT_RULES {
        let is_action = ["create_", "get_", "update_", "delete_"].iter().any(|verb| action.starts_with(verb));
        if is_action && !service_only.contains(action) {
            assert!(policy.enforce(action, &admin("p"), &someone_elses), "{action}");
        }
    }
    for action in service_only {
        assert!(!policy.enforce(action, &admin("p"), &someone_elses), "{action}");
        assert!(policy.enforce(action, &creds("nova", &["service"]), &someone_elses), "{action}");
    }
}

#[test]
fn other_projects_see_shared_and_external_networks_only() {
    let policy = Policy::defaults();
    let private = target(json!({"project_id": "p", "shared": false, "router:external": false}));
    let shared = target(json!({"project_id": "p", "shared": true, "router:external": false}));
    let external = target(json!({"project_id": "p", "shared": false, "router:external": true}));
    assert!(!policy.enforce("get_network", &member("q"), &private));
    assert!(policy.enforce("get_network", &member("q"), &shared));
    assert!(policy.enforce("get_network", &member("q"), &external));
    assert!(policy.enforce("get_network", &reader("p"), &private));
    // Seeing is not changing.
    assert!(!policy.enforce("update_network", &member("q"), &shared));
    assert!(!policy.enforce("delete_network", &member("q"), &shared));
    assert!(!policy.enforce("get_network:provider:network_type", &member("p"), &private));
}

#[test]
fn subnets_follow_the_network_owner() {
    let policy = Policy::defaults();
    let on_my_network = target(json!({"project_id": "p", "network:project_id": "p"}));
    let on_their_network = target(json!({"project_id": "p", "network:project_id": "q"}));
    assert!(policy.enforce("create_subnet", &member("p"), &on_my_network));
    assert!(!policy.enforce("create_subnet", &member("p"), &on_their_network));
    assert!(!policy.enforce("create_subnet", &reader("p"), &on_my_network));
    // The network owner may manage subnets another project made on its network.
    let theirs_on_mine = target(json!({"project_id": "q", "network:project_id": "p"}));
    assert!(policy.enforce("update_subnet", &member("p"), &theirs_on_mine));
    assert!(policy.enforce("get_subnet", &reader("p"), &theirs_on_mine));
    // A shared network's subnets are readable by everyone.
    let on_shared = target(json!({"project_id": "q", "network:project_id": "q", "shared": true}));
    let on_private = target(json!({"project_id": "q", "network:project_id": "q", "shared": false}));
    assert!(policy.enforce("get_subnet", &reader("p"), &on_shared));
    assert!(!policy.enforce("get_subnet", &reader("p"), &on_private));
    assert!(!policy.enforce("update_subnet", &member("p"), &on_shared));
}

#[test]
fn ports_on_shared_and_foreign_networks() {
    let policy = Policy::defaults();
    let on_shared = target(json!({"project_id": "p", "network:project_id": "q", "shared": true}));
    assert!(policy.enforce("create_port", &member("p"), &on_shared));
    assert!(policy.enforce("create_port:fixed_ips:subnet_id", &member("p"), &on_shared));
    assert!(!policy.enforce("create_port:fixed_ips:ip_address", &member("p"), &on_shared));
    assert!(!policy.enforce("create_port:mac_address", &member("p"), &on_shared));
    assert!(!policy.enforce("create_port:binding:host_id", &member("p"), &on_shared));
    // Only the network owner may create ports that look like Neutron's own.
    let mut router_port = on_shared.clone();
    router_port.insert("device_owner".into(), json!("network:router_interface"));
    assert!(!policy.enforce("create_port:device_owner", &member("p"), &router_port));
    assert!(policy.enforce("create_port:device_owner", &member("q"), &router_port));
    let mut vm_port = on_shared.clone();
    vm_port.insert("device_owner".into(), json!("compute:nova"));
    assert!(policy.enforce("create_port:device_owner", &member("p"), &vm_port));
    // A private network of another project takes no ports from us.
    let on_private = target(json!({"project_id": "p", "network:project_id": "q", "shared": false}));
    assert!(!policy.enforce("create_port", &member("p"), &on_private));
    // Changing a MAC needs the network owner's manager.
    let mine = target(json!({"project_id": "p", "network:project_id": "p"}));
    assert!(!policy.enforce("update_port:mac_address", &member("p"), &mine));
    assert!(policy.enforce("update_port:mac_address", &manager("p"), &mine));
}

#[test]
fn only_admins_share_with_everyone() {
    let policy = Policy::defaults();
    let to_all = target(json!({"project_id": "p", "target_tenant": "*", "target_project": "*"}));
    let to_one = target(json!({"project_id": "p", "target_tenant": "q", "target_project": "q"}));
    assert!(policy.enforce("create_rbac_policy", &member("p"), &to_all));
    assert!(!policy.enforce("create_rbac_policy:target_tenant", &member("p"), &to_all));
    assert!(!policy.enforce("create_rbac_policy:target_project", &member("p"), &to_all));
    assert!(policy.enforce("create_rbac_policy:target_tenant", &member("p"), &to_one));
    assert!(policy.enforce("create_rbac_policy:target_tenant", &admin("p"), &to_all));
    assert!(!policy.enforce("create_rbac_policy", &reader("p"), &to_one));
    assert!(policy.enforce("get_rbac_policy", &reader("p"), &to_one));
    assert!(!policy.enforce("delete_rbac_policy", &member("q"), &to_one));
}

#[test]
fn quotas() {
    let policy = Policy::defaults();
    let mine = target(json!({"project_id": "p"}));
    assert!(policy.enforce("get_quota", &manager("p"), &mine));
    assert!(!policy.enforce("get_quota", &manager("q"), &mine));
    // Neutron's current default asks for the manager persona, which a plain member lacks.
    assert!(!policy.enforce("get_quota", &member("p"), &mine));
    assert!(policy.enforce("get_quota", &admin("q"), &mine));
    for action in ["update_quota", "delete_quota"] {
        assert!(!policy.enforce(action, &manager("p"), &mine), "{action}");
        assert!(policy.enforce(action, &admin("q"), &mine), "{action}");
    }
}

// ---- policy files

const ADMIN_ONLY_YAML: &str = "# operators' policy.yaml\n\"create_network\": \"rule:admin_only\"\n";
const ADMIN_ONLY_JSON: &str = "{\n\t\"create_network\": \"rule:admin_only\"\n}\n";

fn assert_create_network_is_admin_only(policy: &Policy) {
    let mine = target(json!({"project_id": "p", "shared": false}));
    assert_eq!(policy.rule_text("create_network"), Some("rule:admin_only"));
    assert!(!policy.enforce("create_network", &member("p"), &mine));
    assert!(policy.enforce("create_network", &admin("p"), &mine));
    // Everything else keeps Neutron's defaults.
    let defaults = Policy::defaults();
    for (name, text) in DEFAULT_RULES.iter().filter(|(name, _)| *name != "create_network") {
        assert_eq!(policy.rule_text(name), Some(*text), "{name}");
        assert_eq!(defaults.rule_text(name), Some(*text), "{name}");
    }
    assert!(policy.enforce("update_network", &member("p"), &mine));
    assert!(policy.enforce("get_network", &reader("p"), &mine));
}

#[test]
fn yaml_and_json_overrides() {
    for (text, hint) in [(ADMIN_ONLY_YAML, Some("yaml")), (ADMIN_ONLY_YAML, None), (ADMIN_ONLY_JSON, Some("json"))] {
        match Policy::from_text(text, hint) {
            Ok(policy) => assert_create_network_is_admin_only(&policy),
            Err(error) => panic!("{hint:?}: {error}"),
        }
    }
    // JSON is YAML too, without the tab.
    match Policy::from_text("{\"create_network\": \"rule:admin_only\"}", None) {
        Ok(policy) => assert_create_network_is_admin_only(&policy),
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn policy_files_on_disk() {
    let dir = std::env::temp_dir().join(format!("neutrino-policy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in [("policy.yaml", ADMIN_ONLY_YAML), ("policy.json", ADMIN_ONLY_JSON)] {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        match Policy::with_file(&path) {
            Ok(policy) => assert_create_network_is_admin_only(&policy),
            Err(error) => panic!("{file}: {error}"),
        }
    }
    let missing = dir.join("missing.yaml");
    assert!(matches!(Policy::with_file(&missing), Err(PolicyError::Io { path, .. }) if path == missing));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_files_override_nothing() {
    for text in ["", "\n# nothing here\n", "{}"] {
        let policy = match Policy::from_text(text, None) {
            Ok(policy) => policy,
            Err(error) => panic!("{text:?}: {error}"),
        };
        assert_eq!(policy.rule_text("create_network"), Policy::defaults().rule_text("create_network"));
    }
    assert!(Policy::from_text("", Some("json")).is_ok());
}

#[test]
fn bad_files_name_the_rule() {
    let error = match Policy::from_text("get_network: '@'\ncreate_network: 'role:admin or or role:member'\n", None) {
        Err(error) => error,
        Ok(_) => panic!("a bad rule was accepted"),
    };
    match &error {
        PolicyError::Rule { rule, error } => {
            assert_eq!(rule, "create_network");
            assert_eq!((error.position, &error.error), (15, &SyntaxError::Unexpected("or".into())));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(error.to_string(), "policy rule \"create_network\": position 15: unexpected `or`");

    let error = Policy::from_text("{\"create_port\": \"role:admin and (role:x\"}", Some("json")).err();
    assert!(matches!(error, Some(PolicyError::Rule { ref rule, .. }) if rule == "create_port"), "{error:?}");
    let error = Policy::from_text("create_port: [['role:admin']]", None).err();
    assert!(matches!(error, Some(PolicyError::NotAString { ref rule }) if rule == "create_port"), "{error:?}");
    assert!(matches!(Policy::from_text("- a\n- b\n", None), Err(PolicyError::NotAMapping)));
    assert!(matches!(Policy::from_text("create_port: 'role:a'", Some("json")), Err(PolicyError::Json(_))));
    assert!(matches!(Policy::from_text("create_port: 'a\n  b: [", None), Err(PolicyError::Yaml(_))));
}

//! Tests of `config show`: text and JSON rendering, sources, secret masking.

use serde_json::json;

use crate::testutil::loaded;
use crate::Loaded;

const SECRETS: &str = "[DEFAULT]\nauth_strategy = noauth\n\
transport_url = rabbit://openstack:admin@ren3\n\
metadata_proxy_shared_secret = METADATA_SECRET\n\
[database]\nconnection = mysql+pymysql://neutron:NEUTRON_DBPASS@ren3/neutron\n\
[agent]\nchannel_secret = CHANNEL_SECRET\n\
[keystone_authtoken]\nusername = neutron\npassword = KEYSTONE_PASS\n\
[nova]\npassword = NOVA_PASS\n";

#[test]
fn text_lists_every_typed_option_with_its_source() {
    let mut loaded = loaded(
        "/etc/neutron/neutron.conf",
        "[DEFAULT]\nauth_strategy = noauth\ncore_plugin = ml2\n[ml2_type_vxlan]\nvni_ranges = 1:1000\n",
    );
    loaded.set_override("DEFAULT", "bind_port", "9797").expect("override");
    let text = loaded.render_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "[DEFAULT] bind_host = <unset>    (default)");
    assert_eq!(lines[1], "[DEFAULT] bind_port = 9797    (command line)");
    assert_eq!(lines[2], "[DEFAULT] core_plugin = ml2    (/etc/neutron/neutron.conf:3)");
    assert!(lines.contains(&"[ml2] type_drivers = local,flat,vlan,vxlan,gre    (default)"));
    assert!(lines.contains(&"[ml2_type_vxlan] vni_ranges = 1:1000    (/etc/neutron/neutron.conf:5)"));
    assert!(lines.contains(&"[DEFAULT] service_plugins =     (default)"));
    assert!(lines.contains(&"[identity] bind_host = 127.0.0.1    (default)"));
    assert!(text.ends_with("\nwarnings: none\n"), "{text}");
}

#[test]
fn text_sections_in_stable_order_then_warnings() {
    let loaded = Loaded::defaults();
    let text = loaded.render_text();
    let sections: Vec<&str> =
        text.lines().filter_map(|line| line.strip_prefix('[').and_then(|l| l.split(']').next())).collect();
    let mut order = sections.clone();
    order.dedup();
    assert_eq!(
        order,
        [
            "DEFAULT",
            "database",
            "ml2",
            "ml2_type_flat",
            "ml2_type_vlan",
            "ml2_type_vxlan",
            "ml2_type_gre",
            "agent",
            "identity",
            "keystone_authtoken",
            "oslo_policy",
            "quotas"
        ]
    );
    assert!(text.ends_with("\nwarnings: none\n"), "{text}");
    assert_eq!(text, Loaded::defaults().render_text(), "stable");
}

#[test]
fn stored_agent_options_are_shown_after_typed_ones() {
    let loaded = loaded(
        "/etc/neutron/ovs.ini",
        "[DEFAULT]\nauth_strategy = noauth\n[ovs]\nlocal_ip = 192.168.6.134\n[oslo_policy]\nx = 1\n",
    );
    let text = loaded.render_text();
    assert!(text.contains("[ovs] local_ip = 192.168.6.134    (/etc/neutron/ovs.ini:4)\n"));
    assert!(!text.contains("[oslo_policy] x ="), "unknown options are only warned about");
}

#[test]
fn secrets_are_masked_in_text() {
    let text = loaded("/etc/neutron/neutron.conf", SECRETS).render_text();
    for secret in ["admin", "METADATA_SECRET", "NEUTRON_DBPASS", "CHANNEL_SECRET", "KEYSTONE_PASS", "NOVA_PASS"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
    assert!(text.contains("[DEFAULT] transport_url = rabbit://openstack:***@ren3    ("));
    assert!(text.contains("[database] connection = mysql+pymysql://neutron:***@ren3/neutron    ("));
    assert!(text.contains("[agent] channel_secret = ***    ("));
    assert!(text.contains("[keystone_authtoken] password = ***    ("));
    assert!(text.contains("[keystone_authtoken] username = neutron    ("));
    assert!(text.contains("[DEFAULT] metadata_proxy_shared_secret = ***    ("));
    assert!(text.contains("[nova] password = ***    ("));
}

#[test]
fn json_shape_types_sources_and_masking() {
    let loaded = loaded("/etc/neutron/neutron.conf", SECRETS);
    let value = loaded.to_json();
    let text = value.to_string();
    for secret in ["admin@", "METADATA_SECRET", "NEUTRON_DBPASS", "CHANNEL_SECRET", "KEYSTONE_PASS"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let options = &value["options"];
    assert_eq!(options["DEFAULT"]["bind_port"], json!({ "value": 9696, "source": "default" }));
    assert_eq!(options["DEFAULT"]["bind_host"]["value"], json!(null));
    assert_eq!(options["DEFAULT"]["allow_overlapping_ips"]["value"], json!(false));
    assert_eq!(options["ml2"]["type_drivers"]["value"], json!(["local", "flat", "vlan", "vxlan", "gre"]));
    assert_eq!(
        options["DEFAULT"]["transport_url"],
        json!({ "value": "rabbit://openstack:***@ren3", "source": "/etc/neutron/neutron.conf:3" })
    );
    assert_eq!(options["agent"]["channel_secret"]["value"], json!("***"));
    assert_eq!(options["keystone_authtoken"]["password"]["value"], json!("***"));
    assert_eq!(options["DEFAULT"]["metadata_proxy_shared_secret"]["value"], json!("***"));
    assert_eq!(options["database"]["connection"]["value"], json!("mysql+pymysql://neutron:***@ren3/neutron"));
    let warnings = value["warnings"].as_array().expect("array");
    assert_eq!(warnings.len(), loaded.warnings.len());
    assert!(warnings.iter().all(|w| !w.as_str().unwrap_or_default().contains("NEUTRON_DBPASS")));
}

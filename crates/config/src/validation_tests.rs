//! Tests of typed sections: each invalid value's message names file,
//! section and key; valid values land in the typed structs.

use crate::testutil::{error, loaded, warning_texts};
use crate::{AgentChannel, ConfigError, VlanRange};

const ML2: &str = "/etc/neutron/plugins/ml2/ml2_conf.ini";
const NEUTRON: &str = "/etc/neutron/neutron.conf";

/// The error message for one `[section] key = value` at line 2 of `path`.
fn invalid(path: &str, section: &str, key: &str, value: &str) -> String {
    error(path, &format!("[{section}]\n{key} = {value}\n"))
}

fn expect(path: &str, section: &str, key: &str, value: &str, reason: &str) {
    assert_eq!(
        invalid(path, section, key, value),
        format!("invalid value for [{section}] {key} in {path}:2: {reason}")
    );
}

#[test]
fn invalid_error_carries_its_fields() {
    match crate::testutil::from_texts(&[(ML2, "[ml2_type_vxlan]\n\nvni_ranges = 5:1\n")]) {
        Err(ConfigError::Invalid { path, line, section, key, reason }) => {
            assert_eq!(path, std::path::Path::new(ML2));
            assert_eq!(line, 3);
            assert_eq!(section, "ml2_type_vxlan");
            assert_eq!(key, "vni_ranges");
            assert_eq!(reason, "'5:1' — min is greater than max");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn vni_ranges() {
    expect(ML2, "ml2_type_vxlan", "vni_ranges", "5:1", "'5:1' — min is greater than max");
    expect(ML2, "ml2_type_vxlan", "vni_ranges", "1:16777216", "'1:16777216' — max must be between 1 and 16777215");
    expect(ML2, "ml2_type_vxlan", "vni_ranges", "1:10,x", "'1:10,x' — entry 'x': expected MIN:MAX");
    let ok = loaded(ML2, "[ml2_type_vxlan]\nvni_ranges = 1:1000, 2000:3000\nvxlan_group = 239.1.1.1\n");
    assert_eq!(ok.config.ml2_type_vxlan.vni_ranges, [(1, 1000), (2000, 3000)]);
    assert_eq!(ok.config.ml2_type_vxlan.vxlan_group.as_deref(), Some("239.1.1.1"));
    let empty = loaded(ML2, "[ml2_type_vxlan]\nvni_ranges =\n");
    assert!(empty.config.ml2_type_vxlan.vni_ranges.is_empty());
}

#[test]
fn vlan_and_gre_ranges() {
    expect(
        ML2,
        "ml2_type_vlan",
        "network_vlan_ranges",
        "provider:100:5000",
        "'provider:100:5000' — max must be between 1 and 4094",
    );
    expect(
        ML2,
        "ml2_type_vlan",
        "network_vlan_ranges",
        "provider:200:100",
        "'provider:200:100' — min is greater than max",
    );
    expect(ML2, "ml2_type_gre", "tunnel_id_ranges", "0:10", "'0:10' — min must be at least 1");
    let ok = loaded(
        ML2,
        "[ml2_type_vlan]\nnetwork_vlan_ranges = provider,physnet2:100:200\n\
         [ml2_type_gre]\ntunnel_id_ranges = 1:4294967295\n[ml2_type_flat]\nflat_networks = provider\n",
    );
    assert_eq!(
        ok.config.ml2_type_vlan.network_vlan_ranges,
        [
            VlanRange { physical_network: "provider".into(), range: None },
            VlanRange { physical_network: "physnet2".into(), range: Some((100, 200)) },
        ]
    );
    assert_eq!(ok.config.ml2_type_gre.tunnel_id_ranges, [(1, u32::MAX)]);
    assert_eq!(ok.config.ml2_type_flat.flat_networks, ["provider"]);
}

#[test]
fn default_section_values() {
    expect(NEUTRON, "DEFAULT", "bind_port", "0", "'0' — must be between 1 and 65535");
    expect(NEUTRON, "DEFAULT", "bind_host", "ren3", "'ren3' — not an IP address");
    expect(
        NEUTRON,
        "DEFAULT",
        "core_plugin",
        "neutron.plugins.ovn.Plugin",
        "'neutron.plugins.ovn.Plugin' — only the ML2 core plugin is supported \
         (ml2 or neutron.plugins.ml2.plugin.Ml2Plugin)",
    );
    expect(
        NEUTRON,
        "DEFAULT",
        "allow_overlapping_ips",
        "maybe",
        "'maybe' — not a boolean (expected true/false, yes/no, on/off or 1/0)",
    );
    expect(
        NEUTRON,
        "DEFAULT",
        "base_mac",
        "fb:16:3e:00:00:00",
        "'fb:16:3e:00:00:00' — is a multicast address (the low bit of the first octet must be 0)",
    );
    expect(
        NEUTRON,
        "DEFAULT",
        "base_mac",
        "fa:16:3e",
        "'fa:16:3e' — not a MAC address (expected six hex octets like fa:16:3e:00:00:00)",
    );
    expect(
        NEUTRON,
        "DEFAULT",
        "dhcp_lease_duration",
        "0",
        "'0' — must be -1 (infinite) or a positive number of seconds",
    );
    expect(NEUTRON, "DEFAULT", "dhcp_lease_duration", "-2", "'-2' — must be at least -1");
    expect(NEUTRON, "DEFAULT", "auth_strategy", "oauth", "'oauth' — expected keystone or noauth");
    expect(NEUTRON, "DEFAULT", "global_physnet_mtu", "67", "'67' — must be at least 68");
    expect(NEUTRON, "DEFAULT", "api_workers", "-1", "'-1' — must be at least 0");
    expect(NEUTRON, "DEFAULT", "pagination_max_limit", "0", "'0' — must be -1 (no limit) or a positive integer");
    expect(NEUTRON, "DEFAULT", "state_path", "", "'' — must not be empty");
    expect(
        NEUTRON,
        "DEFAULT",
        "transport_url",
        "kafka://h:9092",
        "'kafka://h:9092' — expected rabbit://user:pass@host:port/vhost (the RabbitMQ transport)",
    );
    expect(
        NEUTRON,
        "DEFAULT",
        "control_exchange",
        "a b",
        "'a b' — expected a name of letters, digits, '-', '_' and '.'",
    );
}

#[test]
fn default_section_typed_values() {
    let ok = loaded(
        NEUTRON,
        "[DEFAULT]\nbind_host = 0.0.0.0\nbind_port = 9797\n\
         core_plugin = neutron.plugins.ml2.plugin.Ml2Plugin\nallow_overlapping_ips = True\n\
         base_mac = FA:16:3E:01:00:00\ndhcp_lease_duration = -1\nauth_strategy = noauth\n\
         host = ren3\nglobal_physnet_mtu = 9000\napi_workers = 4\npagination_max_limit = 1000\n\
         default_availability_zones = az1, az2\ntransport_url =\n",
    );
    let d = &ok.config.default;
    assert_eq!(d.bind_host, Some("0.0.0.0".parse().expect("ip")));
    assert_eq!(d.bind_port, 9797);
    assert_eq!(d.core_plugin, "ml2");
    assert!(d.allow_overlapping_ips);
    assert_eq!(d.base_mac, "fa:16:3e:01:00:00");
    assert_eq!(d.dhcp_lease_duration, -1);
    assert_eq!(d.host.as_deref(), Some("ren3"));
    assert_eq!(d.global_physnet_mtu, 9000);
    assert_eq!(d.api_workers, Some(4));
    assert_eq!(d.pagination_max_limit, 1000);
    assert_eq!(d.default_availability_zones, ["az1", "az2"]);
    assert_eq!(d.transport_url, None, "an empty value means unset");
    assert!(ok.warnings.is_empty(), "{:?}", ok.warnings);
}

#[test]
fn database_connection_schemes() {
    expect(
        NEUTRON,
        "database",
        "connection",
        "oracle://neutron:SECRET@db/neutron",
        "'oracle://neutron:***@db/neutron' — unsupported database URL (expected sqlite://, \
         postgresql://, postgresql+psycopg2://, mysql://, mysql+pymysql:// or mariadb://)",
    );
    expect(
        NEUTRON,
        "database",
        "connection",
        "neutron.db",
        "'neutron.db' — unsupported database URL (expected sqlite://, postgresql://, \
         postgresql+psycopg2://, mysql://, mysql+pymysql:// or mariadb://)",
    );
    for url in [
        "sqlite://",
        "sqlite:////var/lib/neutron/neutrino.db",
        "postgresql://n:p@db/n",
        "postgresql+psycopg2://n:p@db/n",
        "mysql://n:p@db/n",
        "mysql+pymysql://n:p@db/n",
    ] {
        let ok = loaded(NEUTRON, &format!("[database]\nconnection = {url}\n"));
        assert_eq!(ok.config.database.connection.as_deref(), Some(url));
    }
    let sqlite = loaded(NEUTRON, "[DEFAULT]\nauth_strategy = noauth\n[database]\nconnection = sqlite://\n");
    assert!(sqlite.warnings.is_empty(), "sqlite is built: {:?}", sqlite.warnings);
}

#[test]
fn ml2_type_drivers_must_be_known() {
    expect(
        ML2,
        "ml2",
        "type_drivers",
        "flat,vlan,opflex",
        "'flat,vlan,opflex' — unknown type driver 'opflex' (expected local, flat, vlan, vxlan, \
         gre or geneve)",
    );
}

#[test]
fn tenant_network_types_must_be_type_drivers() {
    assert_eq!(
        error(ML2, "[ml2]\ntype_drivers = flat,vxlan\ntenant_network_types = vlan\n"),
        "invalid value for [ml2] tenant_network_types in /etc/neutron/plugins/ml2/ml2_conf.ini:3: \
         'vlan' — network type 'vlan' of tenant_network_types is not in [ml2] type_drivers \
         (flat,vxlan)"
    );
    // With the default tenant_network_types (vxlan), the type_drivers that
    // leave it out are named.
    assert_eq!(
        error(ML2, "[ml2]\ntype_drivers = flat,vlan\n"),
        "invalid value for [ml2] type_drivers in /etc/neutron/plugins/ml2/ml2_conf.ini:2: \
         'flat,vlan' — network type 'vxlan' of tenant_network_types is not in [ml2] \
         type_drivers (flat,vlan)"
    );
}

#[test]
fn ml2_other_values() {
    expect(ML2, "ml2", "overlay_ip_version", "5", "'5' — expected 4 or 6");
    expect(ML2, "ml2", "path_mtu", "-1", "'-1' — must be at least 0");
    expect(ML2, "ml2", "physical_network_mtus", "provider", "'provider' — expected PHYSNET:MTU");
    let ok = loaded(
        ML2,
        "[ml2]\npath_mtu = 1450\nphysical_network_mtus = provider:9000,physnet2:1500\n\
         overlay_ip_version = 6\n",
    );
    assert_eq!(ok.config.ml2.path_mtu, 1450);
    assert_eq!(ok.config.ml2.physical_network_mtus, [("provider".to_string(), 9000), ("physnet2".to_string(), 1500)]);
    assert_eq!(ok.config.ml2.overlay_ip_version, 6);
}

#[test]
fn drivers_not_built_are_warnings() {
    let ok = loaded(
        ML2,
        "[DEFAULT]\nauth_strategy = noauth\n[ml2]\ntype_drivers = vxlan,geneve\n\
         tenant_network_types = vxlan\nmechanism_drivers = openvswitch,ovn,l2population\n\
         extension_drivers = port_security,qos\n[ml2_type_geneve]\nvni_ranges = 1:100\n\
         max_header_size = 38\n",
    );
    assert_eq!(
        warning_texts(&ok),
        [
            format!("[ml2] type_drivers = vxlan,geneve in {ML2}:4: type driver 'geneve' is not built, ignored"),
            format!(
                "[ml2] mechanism_drivers = openvswitch,ovn,l2population in {ML2}:6: mechanism \
                 driver 'ovn' is not built, ignored"
            ),
            format!(
                "[ml2] extension_drivers = port_security,qos in {ML2}:7: extension driver 'qos' \
                 is not built, ignored"
            ),
            format!("options in [ml2_type_geneve] of {ML2}: the geneve type driver is not built; ignored"),
        ]
    );
    assert_eq!(ok.config.ml2.mechanism_drivers, ["openvswitch", "ovn", "l2population"]);
}

#[test]
fn agent_section_values() {
    const AGENT: &str = "/etc/neutron/agent.ini";
    expect(
        AGENT,
        "agent",
        "server_url",
        "ren3:9696",
        "'ren3:9696' — expected http:// or https:// URLs, comma-separated",
    );
    expect(
        AGENT,
        "agent",
        "server_url",
        "http://a:9696, b:9696",
        "'http://a:9696, b:9696' — expected http:// or https:// URLs, comma-separated",
    );
    expect(AGENT, "agent", "channel", "zmq", "'zmq' — expected direct or rabbit");
    expect(AGENT, "agent", "report_interval", "soon", "'soon' — not an integer");
    expect(AGENT, "agent", "health_port", "0", "'0' — must be between 1 and 65535");
    let ok = loaded(
        AGENT,
        "[DEFAULT]\nauth_strategy = noauth\n[agent]\nserver_url = https://ren3:9696, https://ren4:9696\n\
         channel_secret = s3cret\nreport_interval = 10\nnode_namespace = node1\n\
         namespace_prefix = n1\nhealth_port = 9100\nchannel = rabbit\n",
    );
    let a = &ok.config.agent;
    assert_eq!(a.server_url, "https://ren3:9696,https://ren4:9696", "several servers, in order");
    assert_eq!(a.channel_secret.as_deref(), Some("s3cret"));
    assert_eq!(a.report_interval, 10);
    assert_eq!(a.node_namespace.as_deref(), Some("node1"));
    assert_eq!(a.namespace_prefix.as_deref(), Some("n1"));
    assert_eq!(a.health_port, Some(9100));
    assert_eq!(a.channel, AgentChannel::Rabbit);
    assert!(warning_texts(&ok).is_empty(), "{:?}", warning_texts(&ok));
}

#[test]
fn identity_section_values() {
    expect(NEUTRON, "identity", "bind_port", "99999", "'99999' — must be between 1 and 65535");
    expect(NEUTRON, "identity", "bind_host", "localhost", "'localhost' — not an IP address");
    expect(
        NEUTRON,
        "identity",
        "enabled",
        "sometimes",
        "'sometimes' — not a boolean (expected true/false, yes/no, on/off or 1/0)",
    );
    let ok = loaded(NEUTRON, "[identity]\nenabled = false\nbind_host = ::1\nbind_port = 5001\n");
    assert_eq!(ok.config.identity.enabled, Some(false));
    assert_eq!(ok.config.identity.bind_host, "::1".parse::<std::net::IpAddr>().expect("ip"));
    assert_eq!(ok.config.identity.bind_port, 5001);
}

#[test]
fn identity_and_keystone_authtoken_values_are_checked() {
    let ok = loaded(
        NEUTRON,
        "[DEFAULT]\nauth_strategy = keystone\n[identity]\nenabled = true\ntoken_expiration = 60\n\
         public_endpoint = http://controller:5000/v3/\n[keystone_authtoken]\ntoken_cache_time = 5\n",
    );
    assert_eq!(ok.config.identity.enabled, Some(true));
    assert_eq!(ok.config.identity.token_expiration, 60);
    assert_eq!(ok.config.identity.public_endpoint.as_deref(), Some("http://controller:5000/v3"));
    assert_eq!(ok.config.keystone_authtoken.token_cache_time, 5);
    assert!(warning_texts(&ok).is_empty(), "{:?}", warning_texts(&ok));
    for (text, key) in [
        ("[identity]\ntoken_expiration = 0\n", "token_expiration"),
        ("[identity]\npublic_endpoint = controller:5000\n", "public_endpoint"),
        ("[keystone_authtoken]\nauth_url = ren3:35357\n", "auth_url"),
        ("[keystone_authtoken]\ntoken_cache_time = soon\n", "token_cache_time"),
        ("[keystone_authtoken]\nauth_type = token\n", "auth_type"),
    ] {
        let err = error(NEUTRON, text);
        assert!(err.contains(key), "{text}: {err}");
    }
}

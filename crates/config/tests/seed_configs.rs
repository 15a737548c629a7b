//! The seed deployment's configuration files must always load, with the
//! effective values and warnings the deployment implies.

use std::path::PathBuf;

use neutrino_config::{load, AuthStrategy, Loaded, Warning};

const AGENT_FILES: &[&str] = &[
    "linuxbridge_agent.ini",
    "openvswitch_agent.ini",
    "openvswitch_agent.compute.ini",
    "dhcp_agent.ini",
    "dhcp_agent.linuxbridge.ini",
    "l3_agent.ini",
    "l3_agent.linuxbridge.ini",
    "metadata_agent.ini",
];

/// The seed directory; its absence fails the test (never skipped).
fn seed_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/seed-configs"));
    assert!(dir.is_dir(), "seed configuration directory {} is missing", dir.display());
    dir
}

fn seed(name: &str) -> PathBuf {
    let path = seed_dir().join(name);
    assert!(path.is_file(), "seed file {} is missing", path.display());
    path
}

fn load_seed(names: &[&str]) -> Loaded {
    let files: Vec<PathBuf> = names.iter().map(|name| seed(name)).collect();
    match load(&files, &[]) {
        Ok(loaded) => loaded,
        Err(err) => panic!("seed files {names:?} must load: {err}"),
    }
}

fn texts(loaded: &Loaded) -> Vec<String> {
    loaded.warnings.iter().map(ToString::to_string).collect()
}

fn assert_server_config(loaded: &Loaded) {
    let config = &loaded.config;
    assert_eq!(config.ml2.type_drivers, ["flat", "vlan", "vxlan"]);
    assert_eq!(config.ml2.tenant_network_types, ["vxlan"]);
    assert_eq!(config.ml2.mechanism_drivers, ["openvswitch", "l2population"]);
    assert_eq!(config.ml2.extension_drivers, ["port_security"]);
    assert_eq!(config.ml2_type_vxlan.vni_ranges, [(1, 1000)]);
    assert!(config.default.allow_overlapping_ips);
    assert_eq!(config.default.core_plugin, "ml2");
    assert_eq!(config.default.service_plugins, ["router"]);
    assert_eq!(config.default.auth_strategy, AuthStrategy::Keystone);
    assert_eq!(config.default.state_path, "/var/lib/neutron");
    assert_eq!(config.database.connection.as_deref(), Some("mysql+pymysql://neutron:NEUTRON_DBPASS@ren3/neutron"));
    assert_eq!(config.keystone_authtoken.get("username"), Some("neutron"));
    assert_eq!(loaded.get("oslo_concurrency", "lock_path").map(|v| v.text.as_str()), Some("/var/lib/neutron/lock"));
}

fn assert_server_warnings(loaded: &Loaded) {
    let neutron = seed("neutron.conf");
    let n = neutron.display();
    // `service_plugins = router` is built: no warning names it.
    assert!(!texts(loaded).iter().any(|w| w.contains("service_plugins")), "{:#?}", texts(loaded));
    let expected = [format!(
        "[keystone_authtoken] memcached_servers = ren3:11211 in {n}:24: validated tokens are \
             cached in each server's memory; memcached is not used"
    )];
    let warnings = texts(loaded);
    // The seed's broker is used (servers serve agents on it): no warning names it.
    assert!(!warnings.iter().any(|w| w.contains("transport_url")), "{warnings:#?}");
    // The seed's MySQL database is used as it is: no warning names it.
    assert!(!warnings.iter().any(|w| w.contains("[database]")), "{warnings:#?}");
    for want in &expected {
        assert!(warnings.contains(want), "missing warning:\n  {want}\nin:\n{warnings:#?}");
    }
}

#[test]
fn neutron_conf_and_ml2_conf_load() {
    let loaded = load_seed(&["neutron.conf", "ml2_conf.ini"]);
    assert_server_config(&loaded);
    assert_server_warnings(&loaded);
    let n = seed("neutron.conf");
    assert_eq!(
        texts(&loaded),
        [
            format!(
                "[DEFAULT] dhcp_agent_notification = true in {}:6: DHCP agent notifications \
                 are not built yet; ignored",
                n.display()
            ),
            format!(
                "[DEFAULT] notify_nova_on_port_status_changes = true in {}:8: there is no Nova \
                 notifier yet; ignored",
                n.display()
            ),
            format!(
                "[DEFAULT] notify_nova_on_port_data_changes = true in {}:9: there is no Nova \
                 notifier yet; ignored",
                n.display()
            ),
            format!(
                "[keystone_authtoken] memcached_servers = ren3:11211 in {}:24: validated tokens \
                 are cached in each server's memory; memcached is not used",
                n.display()
            ),
            format!("options in [nova] of {}: stored; there is no Nova notifier yet, not used", n.display()),
            format!("unknown option [oslo_concurrency] lock_path in {}:45, ignored", n.display()),
        ]
    );
}

#[test]
fn each_agent_file_loads_with_the_server_files() {
    for agent in AGENT_FILES {
        let loaded = load_seed(&["neutron.conf", "ml2_conf.ini", agent]);
        assert_server_config(&loaded);
        assert_server_warnings(&loaded);
        let path = seed(agent);
        let agent_warnings: Vec<&Warning> = loaded
            .warnings
            .iter()
            .filter(|w| matches!(w, Warning::AgentOptions { path: Some(p), .. } if *p == path))
            .collect();
        // The Linux bridge, Open vSwitch, DHCP, L3 and metadata agents' options are
        // all used (external_network_bridge = br-ex and interface_driver = openvswitch included).
        assert!(!texts(&loaded).iter().any(|w| w.contains("external_network_bridge")), "{:#?}", texts(&loaded));
        assert!(agent_warnings.is_empty(), "{agent}: {:#?}", texts(&loaded));
        // Nothing in an agent file is unknown.
        assert!(
            !loaded.warnings.iter().any(|w| matches!(w, Warning::UnknownOption { path: p, .. } if *p == path)),
            "{agent}: {:#?}",
            texts(&loaded)
        );
    }
}

#[test]
fn agent_values_stay_available() {
    let loaded = load_seed(&["neutron.conf", "ml2_conf.ini", "openvswitch_agent.ini"]);
    assert_eq!(loaded.get("ovs", "local_ip").map(|v| v.text.as_str()), Some("192.168.6.134"));
    assert_eq!(loaded.get("ovs", "bridge_mappings").map(|v| v.text.as_str()), Some(""));
    assert_eq!(loaded.get("agent", "tunnel_types").map(|v| v.text.as_str()), Some("vxlan"));
    // The Open vSwitch agent uses every [agent] and [ovs] option the seed sets.
    let ovs = seed("openvswitch_agent.ini").display().to_string();
    let warnings = texts(&loaded);
    assert!(
        !warnings.iter().any(|w| w.contains(&ovs) && (w.contains("[agent]") || w.contains("[ovs]"))),
        "{warnings:#?}"
    );

    let metadata = load_seed(&["neutron.conf", "ml2_conf.ini", "metadata_agent.ini"]);
    assert_eq!(
        metadata.get("DEFAULT", "metadata_proxy_shared_secret").map(|v| v.text.as_str()),
        Some("METADATA_SECRET")
    );
    assert!(!metadata.render_text().contains("METADATA_SECRET"));
}

#[test]
fn all_seed_files_load_together() {
    let mut names = vec!["neutron.conf", "ml2_conf.ini"];
    names.extend_from_slice(AGENT_FILES);
    let loaded = load_seed(&names);
    assert_server_config(&loaded);
    assert_server_warnings(&loaded);
    // The same files through --config-dir load too (conf before ini).
    let by_dir = match load(&[], &[seed_dir()]) {
        Ok(loaded) => loaded,
        Err(err) => panic!("seed directory must load: {err}"),
    };
    assert_server_config(&by_dir);
    let text = by_dir.render_text();
    for secret in ["NEUTRON_DBPASS", "METADATA_SECRET", "openstack:admin"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
}

#[test]
fn the_linuxbridge_agent_options_it_uses_are_not_warned_about() {
    let loaded = load_seed(&["neutron.conf", "ml2_conf.ini", "linuxbridge_agent.ini"]);
    let lb = seed("linuxbridge_agent.ini");
    let warnings = texts(&loaded);
    for section in ["linux_bridge", "vxlan"] {
        assert!(
            !warnings.iter().any(|w| w.contains(&format!("[{section}] of {}", lb.display()))),
            "{section}: {warnings:#?}"
        );
    }
    // The L2 agent's firewall reads [securitygroup].
    assert!(!warnings.iter().any(|w| w.contains("[securitygroup]")), "{warnings:#?}");
    assert_eq!(loaded.get("vxlan", "local_ip").map(|v| v.text.as_str()), Some("192.168.6.134"));
}

//! Tests of loading: file order, merging, interpolation, warnings,
//! raw values and command-line overrides.

use std::path::PathBuf;

use crate::testutil::{error, from_texts, loaded, warning_texts, TempDir};
use crate::{config_paths, load, AuthStrategy, ConfigError, Loaded, Source, Warning};

fn file_source(path: &str, line: usize) -> Source {
    Source::File { path: PathBuf::from(path), line }
}

#[test]
fn files_in_order_then_dir_conf_before_ini_sorted() {
    let tmp = TempDir::new();
    let a = tmp.write("a.conf", "[DEFAULT]\nhost = from-a\nbind_port = 1111\n");
    let b = tmp.write("b.conf", "[DEFAULT]\nhost = from-b\n");
    let dir = tmp.path().join("conf.d");
    let ini_10 = tmp.write("conf.d/10-x.ini", "[DEFAULT]\nhost = from-10-ini\n");
    let conf_20 = tmp.write("conf.d/20-y.conf", "[DEFAULT]\nhost = from-20-conf\napi_workers = 3\n");
    let conf_05 = tmp.write("conf.d/05-z.conf", "[DEFAULT]\nhost = from-05-conf\napi_workers = 2\n");
    tmp.write("conf.d/notes.txt", "not a config file");
    std::fs::create_dir_all(dir.join("sub.conf")).expect("dir named like a file");

    let files = [a.clone(), b.clone()];
    let dirs = [dir.clone()];
    assert_eq!(config_paths(&files, &dirs).expect("lists"), vec![a.clone(), b, conf_05, conf_20, ini_10.clone()]);

    let loaded = load(&files, &dirs).expect("loads");
    // *.ini come after *.conf, so the .ini file wins.
    assert_eq!(loaded.config.default.host.as_deref(), Some("from-10-ini"));
    assert_eq!(loaded.get("DEFAULT", "host").map(|v| &v.source), Some(&Source::File { path: ini_10, line: 2 }));
    // Key by key: what only a.conf sets survives; 20-y.conf overrides 05-z.conf.
    assert_eq!(loaded.config.default.bind_port, 1111);
    assert_eq!(loaded.get("DEFAULT", "bind_port").map(|v| &v.source), Some(&Source::File { path: a, line: 3 }));
    assert_eq!(loaded.config.default.api_workers, Some(3));
    assert_eq!(loaded.files().len(), 5);
}

#[test]
fn later_file_overrides_earlier_key_by_key() {
    let loaded = from_texts(&[
        ("/etc/neutron/neutron.conf", "[DEFAULT]\nbind_port = 9000\nhost = one\n"),
        ("/etc/neutron/override.conf", "[DEFAULT]\nhost = two\n"),
    ])
    .expect("loads");
    assert_eq!(loaded.config.default.bind_port, 9000);
    assert_eq!(loaded.config.default.host.as_deref(), Some("two"));
}

#[test]
fn missing_file_and_dir_are_io_errors() {
    let tmp = TempDir::new();
    let missing = tmp.path().join("missing.conf");
    match load(std::slice::from_ref(&missing), &[]) {
        Err(ConfigError::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected Io, got {other:?}"),
    }
    let missing_dir = tmp.path().join("no-such-dir");
    match load(&[], std::slice::from_ref(&missing_dir)) {
        Err(ConfigError::Io { path, .. }) => assert_eq!(path, missing_dir),
        other => panic!("expected Io, got {other:?}"),
    }
    let err = load(std::slice::from_ref(&missing), &[]).expect_err("io");
    assert!(err.to_string().starts_with(&format!("cannot read {}: ", missing.display())));
}

#[test]
fn syntax_error_through_load_names_file_and_line() {
    let tmp = TempDir::new();
    let path = tmp.write("bad.conf", "[DEFAULT]\nhost = a\n\n   dangling\n");
    match load(std::slice::from_ref(&path), &[]) {
        Err(ConfigError::Syntax { path: p, line, reason }) => {
            assert_eq!(p, path);
            assert_eq!(line, 4);
            assert_eq!(reason, "unexpected continuation line");
        }
        other => panic!("expected Syntax, got {other:?}"),
    }
}

#[test]
fn interpolation_after_merge_uses_later_state_path() {
    let loaded = from_texts(&[
        (
            "/etc/neutron/neutron.conf",
            "[DEFAULT]\nstate_path = /var/lib/neutron\n[oslo_concurrency]\nlock_path = $state_path/lock\n\
             [database]\nconnection = sqlite:///${state_path}/neutrino.db\n",
        ),
        ("/etc/neutron/local.conf", "[DEFAULT]\nstate_path = /srv/neutrino\n"),
    ])
    .expect("loads");
    let lock = loaded.get("oslo_concurrency", "lock_path").expect("set");
    assert_eq!(lock.text, "/srv/neutrino/lock");
    assert_eq!(lock.raw, "$state_path/lock");
    assert_eq!(loaded.config.database.connection.as_deref(), Some("sqlite:////srv/neutrino/neutrino.db"));
}

#[test]
fn interpolation_uses_defaults_when_unset() {
    let loaded = loaded("/etc/neutron/neutron.conf", "[oslo_concurrency]\nlock_path = $state_path/lock\n");
    assert_eq!(loaded.get("oslo_concurrency", "lock_path").map(|v| v.text.as_str()), Some("/var/lib/neutron/lock"));
}

#[test]
fn double_dollar_is_a_literal_dollar() {
    let loaded = loaded("/etc/neutron/neutron.conf", "[keystone_authtoken]\npassword = pa$$word\n");
    assert_eq!(loaded.config.keystone_authtoken.get("password"), Some("pa$word"));
}

#[test]
fn unknown_variable_names_file_section_and_key() {
    assert_eq!(
        error("/etc/neutron/neutron.conf", "[DEFAULT]\nhost = a\nstate_path = $nowhere/x\n"),
        "invalid value for [DEFAULT] state_path in /etc/neutron/neutron.conf:3: \
         '$nowhere/x' — unknown variable $nowhere"
    );
}

#[test]
fn raw_values_with_sources() {
    let loaded = loaded("/etc/neutron/ovs.ini", "[ovs]\nlocal_ip = 192.168.6.134\nbridge_mappings =\n");
    let local_ip = loaded.get("ovs", "local_ip").expect("set");
    assert_eq!(local_ip.text, "192.168.6.134");
    assert_eq!(local_ip.source, file_source("/etc/neutron/ovs.ini", 2));
    assert_eq!(loaded.get("ovs", "bridge_mappings").map(|v| v.text.as_str()), Some(""));
    let port = loaded.get("default", "bind_port").expect("typed default");
    assert_eq!(port.text, "9696");
    assert_eq!(port.source, Source::Default);
    assert!(loaded.get("DEFAULT", "bind_host").is_none());
    assert!(loaded.get("ovs", "nothing").is_none());
    assert_eq!(loaded.section("ovs").map(|keys| keys.len()), Some(2));
}

#[test]
fn unknown_options_warn_with_file_section_and_key() {
    let loaded = loaded(
        "/etc/neutron/neutron.conf",
        "[DEFAULT]\ndebug = true\n[ml2]\nfoo = 1\n[oslo_messaging_zmq]\n\n[cors]\nallowed_origin = *\n",
    );
    assert_eq!(
        warning_texts(&loaded).into_iter().filter(|w| w.starts_with("unknown option")).collect::<Vec<_>>(),
        [
            "unknown option [DEFAULT] debug in /etc/neutron/neutron.conf:2, ignored",
            "unknown option [ml2] foo in /etc/neutron/neutron.conf:4, ignored",
            "unknown option [cors] allowed_origin in /etc/neutron/neutron.conf:8, ignored",
        ]
    );
}

#[test]
fn empty_unknown_sections_do_not_warn() {
    let loaded = loaded(
        "/etc/neutron/neutron.conf",
        "[DEFAULT]\nauth_strategy = noauth\n[oslo_messaging_zmq]\n[cors.subdomain]\n[agent]\n",
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn agent_sections_warn_once_per_file_section() {
    let loaded = from_texts(&[
        (
            "/etc/neutron/plugins/ml2/openvswitch_agent.ini",
            "[DEFAULT]\nauth_strategy = noauth\n[agent]\ntunnel_types = vxlan\nl2_population = True\n\
             arp_responder = true\n[ovs]\nlocal_ip = 192.168.6.134\ntunnel_bridge = br-tun\nof_interface = native\n",
        ),
        ("/etc/neutron/dhcp_agent.ini", "[DEFAULT]\ndnsmasq_lease_max = 100\nforce_metadata = true\n"),
    ])
    .expect("loads");
    assert_eq!(
        warning_texts(&loaded),
        [
            "agent options in [agent] of /etc/neutron/plugins/ml2/openvswitch_agent.ini are \
             accepted; the agents do not use them yet",
            "agent options in [ovs] of /etc/neutron/plugins/ml2/openvswitch_agent.ini are \
             accepted; the agents do not use them yet",
            "agent options in [DEFAULT] of /etc/neutron/dhcp_agent.ini are accepted; \
             the agents do not use them yet",
        ]
    );
    // The values stay available for the agents.
    assert_eq!(loaded.get("agent", "tunnel_types").map(|v| v.text.as_str()), Some("vxlan"));
}

#[test]
fn keystone_authtoken_is_used_and_nova_warns_once_per_section() {
    let loaded = loaded(
        "/etc/neutron/neutron.conf",
        "[DEFAULT]\nauth_strategy = noauth\n[keystone_authtoken]\nauth_url = http://ren3:35357\n\
         username = neutron\npassword = secret\n[nova]\nregion_name = RegionOne\npassword = nova\n",
    );
    assert_eq!(
        warning_texts(&loaded),
        ["options in [nova] of /etc/neutron/neutron.conf: stored; there is no Nova notifier \
          yet, not used"]
    );
    assert_eq!(loaded.config.keystone_authtoken.get("username"), Some("neutron"));
    assert_eq!(loaded.config.keystone_authtoken.options.len(), 3);
    assert_eq!(loaded.config.keystone_authtoken.token_cache_time, 300);
}

#[test]
fn not_built_keys_name_their_fallback() {
    let loaded = loaded(
        "/etc/neutron/neutron.conf",
        "[DEFAULT]\nauth_strategy = keystone\nservice_plugins = router, metering\n\
         dhcp_agent_notification = true\nnotify_nova_on_port_status_changes = true\n\
         transport_url = rabbit://openstack:admin@ren3\n\
         [database]\nconnection = mysql+pymysql://neutron:pw@db/neutron\n",
    );
    assert_eq!(
        warning_texts(&loaded),
        [
            "[DEFAULT] service_plugins = router,metering in /etc/neutron/neutron.conf:3: \
             service plugin 'metering' is not built yet, ignored",
            "[DEFAULT] dhcp_agent_notification = true in /etc/neutron/neutron.conf:4: DHCP agent \
             notifications are not built yet; ignored",
            "[DEFAULT] notify_nova_on_port_status_changes = true in /etc/neutron/neutron.conf:5: \
             there is no Nova notifier yet; ignored",
        ]
    );
    // The broker is used (servers serve agents on it): no warning.
    assert_eq!(loaded.config.default.transport_url.as_deref(), Some("rabbit://openstack:admin@ren3"));
    assert_eq!(loaded.config.default.control_exchange, "neutron");
}

#[test]
fn warnings_are_deduplicated() {
    let loaded =
        loaded("/etc/neutron/ml2_conf.ini", "[DEFAULT]\nauth_strategy = noauth\n[ml2]\nmechanism_drivers = ovn,ovn\n");
    assert_eq!(
        warning_texts(&loaded),
        ["[ml2] mechanism_drivers = ovn,ovn in /etc/neutron/ml2_conf.ini:4: mechanism driver \
          'ovn' is not built, ignored"]
    );
}

#[test]
fn defaults_have_no_file_and_no_warning() {
    let loaded = Loaded::defaults();
    assert!(loaded.files().is_empty());
    assert_eq!(loaded.config, crate::Config::default());
    assert!(warning_texts(&loaded).is_empty());
    let empty = load(&[], &[]).expect("no files");
    assert_eq!(empty.config, loaded.config);
    assert_eq!(empty.warnings, loaded.warnings);
}

#[test]
fn cli_override_rebuilds_typed_config() {
    let mut loaded = loaded("/etc/neutron/neutron.conf", "[DEFAULT]\nbind_port = 9000\n");
    loaded.set_override("DEFAULT", "bind_port", "9797").expect("valid override");
    assert_eq!(loaded.config.default.bind_port, 9797);
    assert_eq!(loaded.get("DEFAULT", "bind_port").map(|v| &v.source), Some(&Source::CommandLine));

    loaded.set_override("default", "auth_strategy", "noauth").expect("valid override");
    assert_eq!(loaded.config.default.auth_strategy, AuthStrategy::Noauth);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    loaded.set_override("DEFAULT", "state_path", "/srv/n").expect("valid override");
    assert_eq!(loaded.config.default.state_path, "/srv/n");
}

#[test]
fn cli_override_is_interpolated_and_feeds_interpolation() {
    let mut loaded = loaded("/etc/neutron/neutron.conf", "[oslo_concurrency]\nlock_path = $state_path/lock\n");
    loaded.set_override("DEFAULT", "state_path", "/srv/neutrino").expect("valid override");
    assert_eq!(loaded.get("oslo_concurrency", "lock_path").map(|v| v.text.as_str()), Some("/srv/neutrino/lock"));
    loaded.set_override("DEFAULT", "host", "$state_path-host").expect("valid override");
    assert_eq!(loaded.config.default.host.as_deref(), Some("/srv/neutrino-host"));
}

#[test]
fn invalid_cli_override_is_refused_and_changes_nothing() {
    let mut loaded = loaded("/etc/neutron/neutron.conf", "[DEFAULT]\nbind_port = 9000\n");
    let err = loaded.set_override("DEFAULT", "bind_port", "70000").expect_err("invalid");
    assert!(matches!(err, ConfigError::InvalidOverride { .. }));
    assert_eq!(
        err.to_string(),
        "invalid value for [DEFAULT] bind_port on the command line: '70000' — must be between 1 and 65535"
    );
    assert_eq!(loaded.config.default.bind_port, 9000);

    let err = loaded.set_override("DEFAULT", "no_such_option", "1").expect_err("unknown");
    assert_eq!(err.to_string(), "unknown option [DEFAULT] no_such_option on the command line");
}

#[test]
fn cli_override_of_agent_option_warns_without_file() {
    let mut loaded = loaded("/etc/neutron/neutron.conf", "[DEFAULT]\nauth_strategy = noauth\n");
    loaded.set_override("ovs", "of_interface", "native").expect("known agent option");
    assert_eq!(loaded.warnings, [Warning::AgentOptions { section: "ovs".into(), path: None }]);
    assert_eq!(loaded.get("ovs", "of_interface").map(|v| v.text.as_str()), Some("native"));
    // An option an agent uses is stored without a warning.
    let mut used = self::loaded("/etc/neutron/neutron.conf", "[DEFAULT]\nauth_strategy = noauth\n");
    used.set_override("ovs", "local_ip", "10.0.0.5").expect("known agent option");
    assert!(used.warnings.is_empty(), "{:?}", used.warnings);
    assert_eq!(used.get("ovs", "local_ip").map(|v| v.text.as_str()), Some("10.0.0.5"));
}

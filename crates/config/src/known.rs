//! The one table of known options, and of the drivers and plugins built.
//!
//! When a feature is built, its keys change kind here (e.g. from
//! [`KeyKind::Agent`] to [`KeyKind::Stored`] or [`KeyKind::Typed`]) and the
//! warnings follow; nothing else needs to know the list.

/// What this crate does with a known option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Read into a typed section struct and validated there.
    Typed,
    /// Known and stored; used by a built feature, no warning.
    Stored,
    /// Known and stored, but its feature is not built yet: one warning per
    /// key, with this text naming the fallback.
    NotBuilt(&'static str),
    /// Known and stored, but the feature of the whole section is not built
    /// yet: one warning per file section, with this text.
    SectionNotBuilt(&'static str),
    /// An agent option no agent uses yet, stored: one warning per file
    /// section.
    Agent,
}

/// One known option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownKey {
    /// The section (`DEFAULT` for the default group).
    pub section: &'static str,
    /// The option name.
    pub key: &'static str,
    /// What is done with it.
    pub kind: KeyKind,
}

const fn typed(section: &'static str, key: &'static str) -> KnownKey {
    KnownKey { section, key, kind: KeyKind::Typed }
}

const fn stored(section: &'static str, key: &'static str) -> KnownKey {
    KnownKey { section, key, kind: KeyKind::Stored }
}

const fn agent(section: &'static str, key: &'static str) -> KnownKey {
    KnownKey { section, key, kind: KeyKind::Agent }
}

const fn not_built(section: &'static str, key: &'static str, fallback: &'static str) -> KnownKey {
    KnownKey { section, key, kind: KeyKind::NotBuilt(fallback) }
}

const fn section_not_built(section: &'static str, key: &'static str, fallback: &'static str) -> KnownKey {
    KnownKey { section, key, kind: KeyKind::SectionNotBuilt(fallback) }
}

const NO_NOVA_NOTIFIER: &str = "there is no Nova notifier yet; ignored";
const MEMCACHED: &str = "validated tokens are cached in each server's memory; memcached is not used";
const NOVA: &str = "stored; there is no Nova notifier yet, not used";
const GENEVE: &str = "the geneve type driver is not built; ignored";

/// Every option this crate knows, by section.
pub static KNOWN_KEYS: &[KnownKey] = &[
    // [DEFAULT] of neutron.conf
    typed("DEFAULT", "bind_host"),
    typed("DEFAULT", "bind_port"),
    typed("DEFAULT", "core_plugin"),
    typed("DEFAULT", "service_plugins"),
    typed("DEFAULT", "allow_overlapping_ips"),
    typed("DEFAULT", "base_mac"),
    typed("DEFAULT", "dhcp_lease_duration"),
    typed("DEFAULT", "state_path"),
    typed("DEFAULT", "auth_strategy"),
    typed("DEFAULT", "agent_down_time"),
    typed("DEFAULT", "dhcp_agents_per_network"),
    typed("DEFAULT", "transport_url"),
    typed("DEFAULT", "control_exchange"),
    typed("DEFAULT", "host"),
    typed("DEFAULT", "global_physnet_mtu"),
    typed("DEFAULT", "api_workers"),
    typed("quotas", "quota_network"),
    typed("quotas", "quota_subnet"),
    typed("quotas", "quota_port"),
    typed("quotas", "quota_rbac_policy"),
    typed("quotas", "quota_router"),
    typed("quotas", "quota_floatingip"),
    typed("quotas", "quota_security_group"),
    typed("quotas", "quota_security_group_rule"),
    typed("DEFAULT", "max_dns_nameservers"),
    typed("DEFAULT", "max_subnet_host_routes"),
    typed("DEFAULT", "pagination_max_limit"),
    typed("DEFAULT", "default_availability_zones"),
    not_built("DEFAULT", "dhcp_agent_notification", "DHCP agent notifications are not built yet; ignored"),
    not_built("DEFAULT", "notify_nova_on_port_status_changes", NO_NOVA_NOTIFIER),
    not_built("DEFAULT", "notify_nova_on_port_data_changes", NO_NOVA_NOTIFIER),
    // [DEFAULT] of dhcp_agent.ini, l3_agent.ini, metadata_agent.ini
    stored("DEFAULT", "interface_driver"),
    agent("DEFAULT", "ovs_integration_bridge"),
    agent("DEFAULT", "ovs_use_veth"),
    agent("DEFAULT", "resync_interval"),
    agent("DEFAULT", "resync_throttle"),
    agent("DEFAULT", "num_sync_threads"),
    stored("DEFAULT", "dhcp_driver"),
    agent("DEFAULT", "dhcp_confs"),
    agent("DEFAULT", "dhcp_broadcast_reply"),
    agent("DEFAULT", "dhcp_rebinding_time"),
    agent("DEFAULT", "dhcp_renewal_time"),
    stored("DEFAULT", "enable_isolated_metadata"),
    agent("DEFAULT", "enable_metadata_network"),
    agent("DEFAULT", "force_metadata"),
    agent("DEFAULT", "dnsmasq_config_file"),
    agent("DEFAULT", "dnsmasq_dns_servers"),
    agent("DEFAULT", "dnsmasq_base_log_dir"),
    agent("DEFAULT", "dnsmasq_local_resolv"),
    agent("DEFAULT", "dnsmasq_lease_max"),
    agent("DEFAULT", "dnsmasq_enable_addr6_list"),
    stored("DEFAULT", "external_network_bridge"),
    stored("DEFAULT", "agent_mode"),
    agent("DEFAULT", "handle_internal_only_routers"),
    agent("DEFAULT", "gateway_external_network_id"),
    agent("DEFAULT", "ipv6_gateway"),
    agent("DEFAULT", "periodic_interval"),
    agent("DEFAULT", "periodic_fuzzy_delay"),
    agent("DEFAULT", "enable_metadata_proxy"),
    agent("DEFAULT", "metadata_port"),
    agent("DEFAULT", "metadata_access_mark"),
    agent("DEFAULT", "external_ingress_mark"),
    stored("DEFAULT", "nova_metadata_host"),
    stored("DEFAULT", "nova_metadata_ip"),
    stored("DEFAULT", "nova_metadata_port"),
    stored("DEFAULT", "nova_metadata_protocol"),
    agent("DEFAULT", "nova_metadata_insecure"),
    agent("DEFAULT", "nova_client_cert"),
    agent("DEFAULT", "nova_client_priv_key"),
    agent("DEFAULT", "auth_ca_cert"),
    stored("DEFAULT", "metadata_proxy_shared_secret"),
    agent("DEFAULT", "metadata_proxy_socket"),
    agent("DEFAULT", "metadata_proxy_socket_mode"),
    agent("DEFAULT", "metadata_proxy_user"),
    agent("DEFAULT", "metadata_proxy_group"),
    agent("DEFAULT", "metadata_workers"),
    agent("DEFAULT", "metadata_backlog"),
    // [database]
    typed("database", "connection"),
    typed("database", "max_pool_size"),
    typed("database", "pool_timeout"),
    // [ml2] and the type drivers
    typed("ml2", "type_drivers"),
    typed("ml2", "tenant_network_types"),
    typed("ml2", "mechanism_drivers"),
    typed("ml2", "extension_drivers"),
    typed("ml2", "path_mtu"),
    typed("ml2", "physical_network_mtus"),
    typed("ml2", "overlay_ip_version"),
    typed("ml2_type_flat", "flat_networks"),
    typed("ml2_type_vlan", "network_vlan_ranges"),
    typed("ml2_type_vxlan", "vni_ranges"),
    typed("ml2_type_vxlan", "vxlan_group"),
    typed("ml2_type_gre", "tunnel_id_ranges"),
    section_not_built("ml2_type_geneve", "vni_ranges", GENEVE),
    section_not_built("ml2_type_geneve", "max_header_size", GENEVE),
    // [agent]: Neutrino's agent channel, then the Neutron agents' options
    typed("agent", "server_url"),
    typed("agent", "channel"),
    typed("agent", "channel_secret"),
    typed("agent", "report_interval"),
    typed("agent", "node_namespace"),
    typed("agent", "namespace_prefix"),
    typed("agent", "health_port"),
    stored("agent", "tunnel_types"),
    stored("agent", "l2_population"),
    agent("agent", "arp_responder"),
    agent("agent", "prevent_arp_spoofing"),
    agent("agent", "enable_distributed_routing"),
    agent("agent", "drop_flows_on_start"),
    agent("agent", "tunnel_csum"),
    agent("agent", "dont_fragment"),
    agent("agent", "veth_mtu"),
    agent("agent", "polling_interval"),
    agent("agent", "minimize_polling"),
    agent("agent", "quitting_rpc_timeout"),
    agent("agent", "ovsdb_monitor_respawn_interval"),
    agent("agent", "vxlan_udp_port"),
    agent("agent", "extensions"),
    agent("agent", "root_helper"),
    agent("agent", "root_helper_daemon"),
    agent("agent", "use_helper_for_ns_read"),
    agent("agent", "availability_zone"),
    agent("agent", "log_agent_heartbeats"),
    agent("agent", "check_child_processes_action"),
    agent("agent", "check_child_processes_interval"),
    agent("agent", "comment_iptables_rules"),
    agent("agent", "debug_iptables_rules"),
    // [identity]: Neutrino's built-in identity
    typed("identity", "enabled"),
    typed("identity", "bind_host"),
    typed("identity", "bind_port"),
    typed("identity", "token_expiration"),
    typed("identity", "region_name"),
    typed("identity", "public_endpoint"),
    typed("identity", "network_endpoint"),
    // [keystone_authtoken]: the Keystone that validates tokens when the
    // built-in identity is off (keystonemiddleware's options)
    typed("keystone_authtoken", "www_authenticate_uri"),
    typed("keystone_authtoken", "auth_uri"),
    typed("keystone_authtoken", "auth_url"),
    typed("keystone_authtoken", "auth_type"),
    typed("keystone_authtoken", "project_domain_name"),
    typed("keystone_authtoken", "project_domain_id"),
    typed("keystone_authtoken", "user_domain_name"),
    typed("keystone_authtoken", "user_domain_id"),
    typed("keystone_authtoken", "project_name"),
    typed("keystone_authtoken", "username"),
    typed("keystone_authtoken", "password"),
    typed("keystone_authtoken", "region_name"),
    typed("keystone_authtoken", "token_cache_time"),
    typed("keystone_authtoken", "http_connect_timeout"),
    not_built("keystone_authtoken", "memcached_servers", MEMCACHED),
    // [oslo_policy]
    typed("oslo_policy", "policy_file"),
    // [nova]
    section_not_built("nova", "auth_url", NOVA),
    section_not_built("nova", "auth_type", NOVA),
    section_not_built("nova", "region_name", NOVA),
    section_not_built("nova", "project_domain_name", NOVA),
    section_not_built("nova", "project_name", NOVA),
    section_not_built("nova", "user_domain_name", NOVA),
    section_not_built("nova", "username", NOVA),
    section_not_built("nova", "password", NOVA),
    section_not_built("nova", "endpoint_type", NOVA),
    section_not_built("nova", "insecure", NOVA),
    section_not_built("nova", "cafile", NOVA),
    section_not_built("nova", "certfile", NOVA),
    section_not_built("nova", "keyfile", NOVA),
    section_not_built("nova", "timeout", NOVA),
    // [securitygroup] (server and agents)
    stored("securitygroup", "firewall_driver"),
    stored("securitygroup", "enable_security_group"),
    stored("securitygroup", "enable_ipset"),
    agent("securitygroup", "permitted_ethertypes"),
    // [linux_bridge] of linuxbridge_agent.ini (stored ones are read by `neutrino agent l2`)
    stored("linux_bridge", "physical_interface_mappings"),
    agent("linux_bridge", "bridge_mappings"),
    // [vxlan] of linuxbridge_agent.ini
    stored("vxlan", "enable_vxlan"),
    stored("vxlan", "local_ip"),
    stored("vxlan", "l2_population"),
    agent("vxlan", "arp_responder"),
    agent("vxlan", "ttl"),
    agent("vxlan", "tos"),
    agent("vxlan", "vxlan_group"),
    agent("vxlan", "multicast_ranges"),
    agent("vxlan", "udp_srcport_min"),
    agent("vxlan", "udp_srcport_max"),
    agent("vxlan", "udp_dstport"),
    // [ovs] of openvswitch_agent.ini (and the dhcp/l3 agents)
    stored("ovs", "integration_bridge"),
    stored("ovs", "tunnel_bridge"),
    agent("ovs", "int_peer_patch_port"),
    agent("ovs", "tun_peer_patch_port"),
    stored("ovs", "local_ip"),
    stored("ovs", "bridge_mappings"),
    agent("ovs", "use_veth_interconnection"),
    stored("ovs", "datapath_type"),
    agent("ovs", "vhostuser_socket_dir"),
    agent("ovs", "of_interface"),
    agent("ovs", "ovsdb_interface"),
    stored("ovs", "ovsdb_connection"),
    agent("ovs", "ovsdb_timeout"),
    agent("ovs", "of_listen_address"),
    agent("ovs", "of_listen_port"),
    agent("ovs", "of_connect_timeout"),
    agent("ovs", "of_request_timeout"),
    agent("ovs", "of_inactivity_probe"),
    agent("ovs", "resource_provider_bandwidths"),
];

/// The known option `[section] key`, if any.
pub fn lookup(section: &str, key: &str) -> Option<&'static KnownKey> {
    KNOWN_KEYS.iter().find(|known| known.section == section && known.key == key)
}

/// Whether `[section] key` is a known option.
pub fn is_known(section: &str, key: &str) -> bool {
    lookup(section, key).is_some()
}

/// ML2 type drivers Neutron has; any other name is an invalid value.
pub const KNOWN_TYPE_DRIVERS: &[&str] = &["local", "flat", "vlan", "vxlan", "gre", "geneve"];
/// ML2 type drivers Neutrino builds; the others are warned about and ignored.
pub const BUILT_TYPE_DRIVERS: &[&str] = &["local", "flat", "vlan", "vxlan", "gre"];
/// ML2 mechanism drivers Neutrino builds; the others are warned about and ignored.
pub const BUILT_MECHANISM_DRIVERS: &[&str] = &["linuxbridge", "openvswitch", "l2population"];
/// ML2 extension drivers Neutrino builds; the others are warned about and ignored.
pub const BUILT_EXTENSION_DRIVERS: &[&str] = &["port_security"];
/// Service plugins Neutrino builds; the others are warned about and ignored.
pub const BUILT_SERVICE_PLUGINS: &[&str] = &["router", L3_ROUTER_PLUGIN];

/// The L3 router service plugin's class path, as Neutron's configuration may name it.
pub const L3_ROUTER_PLUGIN: &str = "neutron.services.l3_router.l3_router_plugin.L3RouterPlugin";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_duplicate_known_keys() {
        for (i, a) in KNOWN_KEYS.iter().enumerate() {
            for b in &KNOWN_KEYS[i + 1..] {
                assert!(!(a.section == b.section && a.key == b.key), "duplicate [{}] {}", a.section, a.key);
            }
        }
    }

    #[test]
    fn lookup_finds_kinds() {
        assert_eq!(lookup("DEFAULT", "core_plugin").map(|k| k.kind), Some(KeyKind::Typed));
        assert_eq!(lookup("ovs", "local_ip").map(|k| k.kind), Some(KeyKind::Stored));
        assert_eq!(lookup("ovs", "of_interface").map(|k| k.kind), Some(KeyKind::Agent));
        assert!(matches!(lookup("nova", "password").map(|k| k.kind), Some(KeyKind::SectionNotBuilt(_))));
        assert!(lookup("ml2", "no_such_key").is_none());
        assert!(lookup("ML2", "type_drivers").is_none());
    }

    #[test]
    fn built_type_drivers_are_known() {
        for driver in BUILT_TYPE_DRIVERS {
            assert!(KNOWN_TYPE_DRIVERS.contains(driver));
        }
    }
}

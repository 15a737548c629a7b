//! Typed section structs; each `Default` is the value with no file at all.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// The API's authentication strategy (`[DEFAULT] auth_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthStrategy {
    /// Validate tokens with Keystone (or the built-in identity).
    #[default]
    Keystone,
    /// No authentication: the caller is an admin unless `X-Roles` says otherwise.
    Noauth,
}

impl AuthStrategy {
    /// The configuration spelling: `keystone` or `noauth`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthStrategy::Keystone => "keystone",
            AuthStrategy::Noauth => "noauth",
        }
    }
}

impl fmt::Display for AuthStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The database backend named by `[database] connection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseBackend {
    /// `sqlite://…` (the embedded store).
    Sqlite,
    /// `postgresql://…` or `postgresql+psycopg2://…`.
    Postgresql,
    /// `mysql://…` or `mysql+pymysql://…`.
    Mysql,
}

impl DatabaseBackend {
    /// The backend of a connection URL's scheme (SQLAlchemy's
    /// `engine[+driver]`: the driver names a Python module and is ignored),
    /// if it is one this crate accepts.
    pub fn from_scheme(scheme: &str) -> Option<Self> {
        match scheme.split('+').next().unwrap_or_default() {
            "sqlite" => Some(DatabaseBackend::Sqlite),
            "postgresql" | "postgres" => Some(DatabaseBackend::Postgresql),
            "mysql" | "mariadb" => Some(DatabaseBackend::Mysql),
            _ => None,
        }
    }

    /// A human name: `SQLite`, `PostgreSQL` or `MySQL`.
    pub fn name(self) -> &'static str {
        match self {
            DatabaseBackend::Sqlite => "SQLite",
            DatabaseBackend::Postgresql => "PostgreSQL",
            DatabaseBackend::Mysql => "MySQL",
        }
    }
}

/// How agents reach the server (`[agent] channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AgentChannel {
    /// In-process or HTTP stream from `server_url`.
    #[default]
    Direct,
    /// Through the broker of `[DEFAULT] transport_url`.
    Rabbit,
}

impl AgentChannel {
    /// The configuration spelling: `direct` or `rabbit`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentChannel::Direct => "direct",
            AgentChannel::Rabbit => "rabbit",
        }
    }
}

/// One `network_vlan_ranges` entry: a physical network, with or without a
/// range of VLAN ids tenants may allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanRange {
    /// The physical network name.
    pub physical_network: String,
    /// `(min, max)` VLAN ids, `1 <= min <= max <= 4094`; `None` = provider
    /// networks only.
    pub range: Option<(u16, u16)>,
}

impl fmt::Display for VlanRange {
    /// `physnet` or `physnet:min:max`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.range {
            None => f.write_str(&self.physical_network),
            Some((min, max)) => write!(f, "{}:{min}:{max}", self.physical_network),
        }
    }
}

/// `[DEFAULT]` of neutron.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultSection {
    /// Address the API listens on; `None` = unset (the binary picks its default).
    pub bind_host: Option<IpAddr>,
    /// Port the API listens on.
    pub bind_port: u16,
    /// The core plugin, normalised: always `ml2`.
    pub core_plugin: String,
    /// Service plugins as configured (none is built yet; each is warned about).
    pub service_plugins: Vec<String>,
    /// Whether subnets of different networks may overlap.
    pub allow_overlapping_ips: bool,
    /// Base MAC for generated port MACs, lower case.
    pub base_mac: String,
    /// DHCP lease time in seconds; `-1` = infinite.
    pub dhcp_lease_duration: i64,
    /// Directory of Neutrino's state (interpolated).
    pub state_path: String,
    /// The configured authentication strategy (see the warnings for the one
    /// actually used while identity is not built).
    pub auth_strategy: AuthStrategy,
    /// The message broker URL, if configured: servers serve the agent
    /// channel on it, agents with `[agent] channel = rabbit` use it.
    pub transport_url: Option<String>,
    /// Prefix of the broker's queue and exchange names (oslo.messaging's
    /// `control_exchange`; Neutron's default `neutron`).
    pub control_exchange: String,
    /// This host's name, if configured (else the hostname).
    pub host: Option<String>,
    /// MTU of the physical networks.
    pub global_physnet_mtu: u32,
    /// Number of API workers, if configured.
    pub api_workers: Option<u32>,
    /// Most DNS nameservers a subnet may have.
    pub max_dns_nameservers: u32,
    /// Most host routes a subnet may have.
    pub max_subnet_host_routes: u32,
    /// Maximum page size; `-1` = unlimited.
    pub pagination_max_limit: i64,
    /// Availability zones used when a resource names none.
    pub default_availability_zones: Vec<String>,
    /// Seconds without a heartbeat after which an agent is dead (`agent_down_time`).
    pub agent_down_time: u32,
    /// DHCP agents hosting each network with DHCP (`dhcp_agents_per_network`).
    pub dhcp_agents_per_network: u32,
}

impl Default for DefaultSection {
    fn default() -> Self {
        DefaultSection {
            bind_host: None,
            bind_port: 9696,
            core_plugin: "ml2".to_string(),
            service_plugins: Vec::new(),
            allow_overlapping_ips: false,
            base_mac: "fa:16:3e:00:00:00".to_string(),
            dhcp_lease_duration: 86400,
            state_path: "/var/lib/neutron".to_string(),
            auth_strategy: AuthStrategy::Keystone,
            transport_url: None,
            control_exchange: "neutron".to_string(),
            host: None,
            global_physnet_mtu: 1500,
            api_workers: None,
            max_dns_nameservers: 5,
            max_subnet_host_routes: 20,
            agent_down_time: 75,
            dhcp_agents_per_network: 1,
            pagination_max_limit: -1,
            default_availability_zones: Vec::new(),
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DatabaseSection {
    /// SQLAlchemy-style URL; `None` = the embedded SQLite store at
    /// `$state_path/neutrino.db`.
    pub connection: Option<String>,
    /// oslo.db's `max_pool_size`: connections to a database server per
    /// process (`None`: the store's default).
    pub max_pool_size: Option<u32>,
    /// oslo.db's `pool_timeout`: seconds a request waits for a connection
    /// before the database counts as unavailable (503).
    pub pool_timeout: Option<u64>,
}

impl DatabaseSection {
    /// The backend the connection URL names (`None` when unset).
    pub fn backend(&self) -> Option<DatabaseBackend> {
        let connection = self.connection.as_deref()?;
        let (scheme, _) = connection.split_once("://")?;
        DatabaseBackend::from_scheme(scheme)
    }
}

/// Default of `[ml2] tenant_network_types`: `vxlan`, as DESIGN.md sets for
/// the all-in-one (Neutron's own default is `local`).
pub const DEFAULT_TENANT_NETWORK_TYPES: &[&str] = &["vxlan"];

/// `[ml2]` of ml2_conf.ini.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ml2Section {
    /// Type drivers to load.
    pub type_drivers: Vec<String>,
    /// Network types for tenant networks, in order of preference.
    pub tenant_network_types: Vec<String>,
    /// Mechanism drivers, in order.
    pub mechanism_drivers: Vec<String>,
    /// Extension drivers, in order.
    pub extension_drivers: Vec<String>,
    /// MTU of the underlay for overlay networks; `0` = `global_physnet_mtu`.
    pub path_mtu: u32,
    /// Per-physical-network MTUs.
    pub physical_network_mtus: Vec<(String, u32)>,
    /// IP version of tunnel endpoints: 4 or 6.
    pub overlay_ip_version: u8,
}

impl Default for Ml2Section {
    fn default() -> Self {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Ml2Section {
            type_drivers: strings(&["local", "flat", "vlan", "vxlan", "gre"]),
            tenant_network_types: strings(DEFAULT_TENANT_NETWORK_TYPES),
            mechanism_drivers: strings(&["linuxbridge", "l2population"]),
            extension_drivers: Vec::new(),
            path_mtu: 0,
            physical_network_mtus: Vec::new(),
            overlay_ip_version: 4,
        }
    }
}

/// `[ml2_type_flat]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ml2TypeFlatSection {
    /// Physical networks flat networks may use; `*` = any.
    pub flat_networks: Vec<String>,
}

impl Default for Ml2TypeFlatSection {
    fn default() -> Self {
        Ml2TypeFlatSection { flat_networks: vec!["*".to_string()] }
    }
}

/// `[ml2_type_vlan]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ml2TypeVlanSection {
    /// Physical networks and their tenant VLAN ranges.
    pub network_vlan_ranges: Vec<VlanRange>,
}

/// `[ml2_type_vxlan]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ml2TypeVxlanSection {
    /// VNI ranges for tenant networks, `1..=16_777_215`.
    pub vni_ranges: Vec<(u32, u32)>,
    /// Multicast group for broadcast traffic; `None` = unicast (l2population).
    pub vxlan_group: Option<String>,
}

impl Default for Ml2TypeVxlanSection {
    fn default() -> Self {
        Ml2TypeVxlanSection { vni_ranges: vec![(1, 65535)], vxlan_group: None }
    }
}

/// `[ml2_type_gre]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ml2TypeGreSection {
    /// Tunnel id ranges for tenant networks.
    pub tunnel_id_ranges: Vec<(u32, u32)>,
}

/// `[agent]`: how agents reach the server, and where they work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSection {
    /// URL of the server's agent channel; several servers of one
    /// deployment comma-separated (the agent moves to the next when one
    /// cannot be reached).
    pub server_url: String,
    /// `direct` (HTTP to `server_url`) or `rabbit` (the broker of `transport_url`).
    pub channel: AgentChannel,
    /// Shared secret authenticating agents to the server.
    pub channel_secret: Option<String>,
    /// Seconds between agent heartbeats.
    pub report_interval: u32,
    /// Namespace in which the agent does its dataplane work.
    pub node_namespace: Option<String>,
    /// Prefix of every namespace the agent creates.
    pub namespace_prefix: Option<String>,
    /// Port of the agent's `/healthcheck`, if any.
    pub health_port: Option<u16>,
}

impl Default for AgentSection {
    fn default() -> Self {
        AgentSection {
            server_url: "http://127.0.0.1:9696".to_string(),
            channel: AgentChannel::Direct,
            channel_secret: None,
            report_interval: 30,
            node_namespace: None,
            namespace_prefix: None,
            health_port: None,
        }
    }
}

/// `[identity]`: Neutrino's built-in identity service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySection {
    /// Whether it runs; `None` = the process's default (on in all-in-one).
    pub enabled: Option<bool>,
    /// Address it listens on.
    pub bind_host: IpAddr,
    /// Port it listens on.
    pub bind_port: u16,
    /// Lifetime of a token, seconds (Keystone's `[token] expiration`).
    pub token_expiration: u64,
    /// The region of the catalog's endpoints.
    pub region_name: String,
    /// The identity URL in the catalog (`…/v3`); `None` = derived from the listener.
    pub public_endpoint: Option<String>,
    /// The network API URL in the catalog; `None` = derived from the API listener.
    pub network_endpoint: Option<String>,
}

impl Default for IdentitySection {
    fn default() -> Self {
        IdentitySection {
            enabled: None,
            bind_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            bind_port: 5000,
            token_expiration: 3600,
            region_name: "RegionOne".into(),
            public_endpoint: None,
            network_endpoint: None,
        }
    }
}

/// `[oslo_policy]`: where the policy overrides are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsloPolicySection {
    /// The policy file (YAML or JSON); relative paths are looked up next to
    /// the configuration files. A missing default file is not an error.
    pub policy_file: String,
}

impl Default for OsloPolicySection {
    fn default() -> Self {
        OsloPolicySection { policy_file: "policy.yaml".into() }
    }
}

/// `[quotas]`: default per-project limits (-1 = unlimited), as Neutron's
/// `quota_<resource>` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotasSection {
    /// `quota_network`.
    pub network: i64,
    /// `quota_subnet`.
    pub subnet: i64,
    /// `quota_port`.
    pub port: i64,
    /// `quota_rbac_policy`.
    pub rbac_policy: i64,
    /// `quota_router`.
    pub router: i64,
    /// `quota_floatingip`.
    pub floatingip: i64,
    /// `quota_security_group`.
    pub security_group: i64,
    /// `quota_security_group_rule`.
    pub security_group_rule: i64,
}

impl Default for QuotasSection {
    fn default() -> Self {
        QuotasSection {
            network: 100,
            subnet: 100,
            port: 500,
            rbac_policy: 10,
            router: 10,
            floatingip: 50,
            security_group: 10,
            security_group_rule: 100,
        }
    }
}

/// `[keystone_authtoken]`: the known options that are set, as strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoneAuthtokenSection {
    /// Option name → value, as set.
    pub options: BTreeMap<String, String>,
    /// How long a validated token is trusted without asking Keystone
    /// again, seconds (keystonemiddleware's default 300; -1 = no cache).
    pub token_cache_time: i64,
}

impl Default for KeystoneAuthtokenSection {
    fn default() -> Self {
        KeystoneAuthtokenSection { options: BTreeMap::new(), token_cache_time: 300 }
    }
}

impl KeystoneAuthtokenSection {
    /// The value of one option, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }
}

/// The typed configuration, one struct per section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// `[DEFAULT]`.
    pub default: DefaultSection,
    /// `[database]`.
    pub database: DatabaseSection,
    /// `[ml2]`.
    pub ml2: Ml2Section,
    /// `[ml2_type_flat]`.
    pub ml2_type_flat: Ml2TypeFlatSection,
    /// `[ml2_type_vlan]`.
    pub ml2_type_vlan: Ml2TypeVlanSection,
    /// `[ml2_type_vxlan]`.
    pub ml2_type_vxlan: Ml2TypeVxlanSection,
    /// `[ml2_type_gre]`.
    pub ml2_type_gre: Ml2TypeGreSection,
    /// `[agent]`.
    pub agent: AgentSection,
    /// `[identity]`.
    pub identity: IdentitySection,
    /// `[keystone_authtoken]`.
    pub keystone_authtoken: KeystoneAuthtokenSection,
    /// `[quotas]`.
    pub quotas: QuotasSection,
    /// `[oslo_policy]`.
    pub oslo_policy: OsloPolicySection,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_neutrons_or_designs() {
        let config = Config::default();
        assert_eq!(config.default.bind_port, 9696);
        assert_eq!(config.default.core_plugin, "ml2");
        assert_eq!(config.default.base_mac, "fa:16:3e:00:00:00");
        assert_eq!(config.default.dhcp_lease_duration, 86400);
        assert_eq!(config.default.auth_strategy, AuthStrategy::Keystone);
        assert_eq!(config.default.global_physnet_mtu, 1500);
        assert_eq!(config.ml2.type_drivers, ["local", "flat", "vlan", "vxlan", "gre"]);
        assert_eq!(config.ml2.tenant_network_types, ["vxlan"]);
        assert_eq!(config.ml2.mechanism_drivers, ["linuxbridge", "l2population"]);
        assert_eq!(config.ml2_type_flat.flat_networks, ["*"]);
        assert_eq!(config.ml2_type_vxlan.vni_ranges, [(1, 65535)]);
        assert_eq!(config.agent.server_url, "http://127.0.0.1:9696");
        assert_eq!(config.identity.bind_port, 5000);
        assert_eq!(config.database.backend(), None);
    }

    #[test]
    fn database_backend_from_url() {
        let db = |url: &str| DatabaseSection { connection: Some(url.to_string()), ..DatabaseSection::default() };
        assert_eq!(db("sqlite:////var/lib/neutron/n.db").backend(), Some(DatabaseBackend::Sqlite));
        assert_eq!(db("mysql+pymysql://u:p@h/n").backend(), Some(DatabaseBackend::Mysql));
        assert_eq!(db("postgresql://u:p@h/n").backend(), Some(DatabaseBackend::Postgresql));
        assert_eq!(db("oracle://h").backend(), None);
    }

    #[test]
    fn vlan_range_display() {
        let plain = VlanRange { physical_network: "provider".into(), range: None };
        assert_eq!(plain.to_string(), "provider");
        let ranged = VlanRange { physical_network: "provider".into(), range: Some((100, 200)) };
        assert_eq!(ranged.to_string(), "provider:100:200");
    }
}

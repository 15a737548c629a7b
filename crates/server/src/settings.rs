//! The server's settings, taken from the configuration once at start-up.

use neutrino_config::Config;

/// Settings of the core plugin and API.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `[DEFAULT] base_mac`, parsed.
    pub base_mac: [u8; 6],
    /// `[DEFAULT] allow_overlapping_ips`.
    pub allow_overlapping_ips: bool,
    /// `[DEFAULT] global_physnet_mtu`.
    pub global_physnet_mtu: u32,
    /// `[ml2] path_mtu` (0: unset).
    pub path_mtu: u32,
    /// `[ml2] physical_network_mtus`.
    pub physical_network_mtus: Vec<(String, u32)>,
    /// `[ml2] overlay_ip_version`.
    pub overlay_ip_version: u8,
    /// `[DEFAULT] pagination_max_limit` (None: unlimited).
    pub pagination_max_limit: Option<u64>,
    /// `[DEFAULT] default_availability_zones`.
    pub default_availability_zones: Vec<String>,
    /// `[DEFAULT] max_dns_nameservers`.
    pub max_dns_nameservers: usize,
    /// `[DEFAULT] max_subnet_host_routes`.
    pub max_subnet_host_routes: usize,
    /// `[quotas]` defaults.
    pub quotas: neutrino_config::QuotasSection,
    /// `[DEFAULT] agent_down_time`, seconds.
    pub agent_down_time: i64,
    /// `[agent] channel_secret`: what agents present on the agent channel.
    pub channel_secret: Option<String>,
    /// `[DEFAULT] dhcp_agents_per_network`.
    pub dhcp_agents_per_network: usize,
    /// `service_plugins` names the L3 router plugin: routers and floating IPs are served.
    pub l3_router: bool,
}

impl Settings {
    /// Reads the settings from the loaded configuration.
    pub fn from_config(cfg: &Config) -> Result<Settings, String> {
        let base_mac = neutrino_ipam::parse_base_mac(&cfg.default.base_mac).map_err(|e| e.to_string())?;
        Ok(Settings {
            base_mac,
            allow_overlapping_ips: cfg.default.allow_overlapping_ips,
            global_physnet_mtu: cfg.default.global_physnet_mtu,
            path_mtu: cfg.ml2.path_mtu,
            physical_network_mtus: cfg.ml2.physical_network_mtus.clone(),
            overlay_ip_version: cfg.ml2.overlay_ip_version,
            pagination_max_limit: u64::try_from(cfg.default.pagination_max_limit).ok().filter(|l| *l > 0),
            default_availability_zones: cfg.default.default_availability_zones.clone(),
            max_dns_nameservers: usize::try_from(cfg.default.max_dns_nameservers).unwrap_or(usize::MAX),
            max_subnet_host_routes: usize::try_from(cfg.default.max_subnet_host_routes).unwrap_or(usize::MAX),
            agent_down_time: i64::from(cfg.default.agent_down_time),
            channel_secret: cfg.agent.channel_secret.clone(),
            dhcp_agents_per_network: cfg.default.dhcp_agents_per_network as usize,
            quotas: cfg.quotas.clone(),
            l3_router: cfg
                .default
                .service_plugins
                .iter()
                .any(|p| p == "router" || p == neutrino_config::known::L3_ROUTER_PLUGIN),
        })
    }
}

//! Builds the typed [`Config`] from the effective values: parses and
//! validates each set option, and warns about values whose feature is not
//! built yet.

use crate::error::{ConfigError, ValueError};
use crate::known::{
    self, BUILT_EXTENSION_DRIVERS, BUILT_MECHANISM_DRIVERS, BUILT_SERVICE_PLUGINS, BUILT_TYPE_DRIVERS,
    KNOWN_TYPE_DRIVERS,
};
use crate::mask::mask_value;
use crate::raw::{Sections, Source, Value, DEFAULT_SECTION};
use crate::sections::{AgentChannel, AuthStrategy, Config, DatabaseBackend};
use crate::value::{
    parse_base_mac, parse_bool, parse_each, parse_int, parse_int_as, parse_ip, parse_list, parse_optional_string,
    parse_physnet_mtu, parse_port, parse_range_list, parse_vlan_range,
};
use crate::warning::Warning;

/// Core plugin names accepted for ML2 (both normalise to `ml2`).
const ML2_PLUGIN_NAMES: &[&str] = &["ml2", "neutron.plugins.ml2.plugin.Ml2Plugin"];
const MAX_VNI: i64 = 16_777_215;
const U32_MAX: i64 = u32::MAX as i64;

/// The typed configuration and the warnings its values raise.
pub(crate) struct Built {
    pub config: Config,
    pub warnings: Vec<Warning>,
}

/// Reads set (non-default) values and turns parse failures into errors
/// naming file, section and key.
struct Reader<'a> {
    values: &'a Sections,
}

impl<'a> Reader<'a> {
    /// The value of `[section] key` if a file or override sets it.
    fn set(&self, section: &str, key: &str) -> Option<&'a Value> {
        self.values.get(section).and_then(|keys| keys.get(key)).filter(|value| value.source != Source::Default)
    }

    /// Parses `[section] key` with `parse` if it is set.
    fn read<T>(
        &self,
        section: &str,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, ValueError>,
    ) -> Result<Option<T>, ConfigError> {
        match self.set(section, key) {
            None => Ok(None),
            Some(value) => parse(&value.text).map(Some).map_err(|e| invalid(value, section, key, &e.reason)),
        }
    }

    /// Where `[section] key` comes from.
    fn origin(&self, section: &str, key: &str) -> Source {
        self.set(section, key).map_or(Source::Default, |value| value.source.clone())
    }
}

/// The error for the value `value` of `[section] key`.
fn invalid(value: &Value, section: &str, key: &str, reason: &str) -> ConfigError {
    let shown = mask_value(key, &value.text);
    ConfigError::invalid(&value.source, section, key, format!("'{shown}' — {reason}"))
}

/// A "not built yet" warning about `[section] key = value`.
fn not_built(section: &str, key: &str, value: &str, origin: Source, message: String) -> Warning {
    Warning::NotBuilt {
        section: section.to_string(),
        key: key.to_string(),
        value: mask_value(key, value),
        origin,
        message,
    }
}

fn join(items: &[String]) -> String {
    items.join(",")
}

/// Builds the typed configuration from effective values.
pub(crate) fn build(values: &Sections) -> Result<Built, ConfigError> {
    let reader = Reader { values };
    let mut config = Config::default();
    let mut warnings = Vec::new();
    build_default(&reader, &mut config, &mut warnings)?;
    build_database(&reader, &mut config)?;
    build_ml2(&reader, &mut config, &mut warnings)?;
    build_type_drivers(&reader, &mut config)?;
    build_agent(&reader, &mut config)?;
    build_identity(&reader, &mut config)?;
    build_keystone_authtoken(&reader, &mut config)?;
    build_oslo_policy(&reader, &mut config)?;
    build_quotas(&reader, &mut config)?;
    Ok(Built { config, warnings })
}

fn build_default(r: &Reader<'_>, config: &mut Config, warnings: &mut Vec<Warning>) -> Result<(), ConfigError> {
    const S: &str = DEFAULT_SECTION;
    let d = &mut config.default;
    if let Some(v) = r.read(S, "bind_host", parse_ip)? {
        d.bind_host = Some(v);
    }
    if let Some(v) = r.read(S, "bind_port", parse_port)? {
        d.bind_port = v;
    }
    if let Some(v) = r.read(S, "core_plugin", |text| {
        if ML2_PLUGIN_NAMES.contains(&text) {
            Ok("ml2".to_string())
        } else {
            Err(ValueError::new("only the ML2 core plugin is supported (ml2 or neutron.plugins.ml2.plugin.Ml2Plugin)"))
        }
    })? {
        d.core_plugin = v;
    }
    if let Some(v) = r.read(S, "service_plugins", |t| Ok(parse_list(t)))? {
        d.service_plugins = v;
    }
    if let Some(v) = r.read(S, "allow_overlapping_ips", parse_bool)? {
        d.allow_overlapping_ips = v;
    }
    if let Some(v) = r.read(S, "base_mac", parse_base_mac)? {
        d.base_mac = v;
    }
    if let Some(v) = r.read(S, "dhcp_lease_duration", |t| {
        parse_int(t, -1, i64::MAX).and_then(|n| {
            if n == 0 {
                Err(ValueError::new("must be -1 (infinite) or a positive number of seconds"))
            } else {
                Ok(n)
            }
        })
    })? {
        d.dhcp_lease_duration = v;
    }
    if let Some(v) = r.read(S, "state_path", |t| {
        if t.is_empty() {
            Err(ValueError::new("must not be empty"))
        } else {
            Ok(t.to_string())
        }
    })? {
        d.state_path = v;
    }
    if let Some(v) = r.read(S, "auth_strategy", |t| match t {
        "keystone" => Ok(AuthStrategy::Keystone),
        "noauth" => Ok(AuthStrategy::Noauth),
        _ => Err(ValueError::new("expected keystone or noauth")),
    })? {
        d.auth_strategy = v;
    }
    if let Some(v) = r.read(S, "transport_url", |t| {
        let scheme = t.split_once("://").map(|(s, _)| s);
        match (t.is_empty(), scheme) {
            (true, _) => Ok(None),
            (false, Some("rabbit" | "kombu" | "amqp")) => Ok(Some(t.to_string())),
            _ => Err(ValueError::new("expected rabbit://user:pass@host:port/vhost (the RabbitMQ transport)")),
        }
    })? {
        d.transport_url = v;
    }
    if let Some(v) = r.read(S, "host", parse_optional_string)? {
        d.host = v;
    }
    if let Some(v) = r.read(S, "global_physnet_mtu", |t| parse_int_as(t, 68, U32_MAX))? {
        d.global_physnet_mtu = v;
    }
    if let Some(v) = r.read(S, "max_dns_nameservers", |t| parse_int_as(t, 0, U32_MAX))? {
        d.max_dns_nameservers = v;
    }
    if let Some(v) = r.read(S, "max_subnet_host_routes", |t| parse_int_as(t, 0, U32_MAX))? {
        d.max_subnet_host_routes = v;
    }
    if let Some(v) = r.read(S, "agent_down_time", |t| parse_int_as(t, 1, U32_MAX))? {
        d.agent_down_time = v;
    }
    if let Some(v) = r.read(S, "dhcp_agents_per_network", |t| parse_int_as(t, 1, U32_MAX))? {
        d.dhcp_agents_per_network = v;
    }
    if let Some(v) =
        r.read(S, "api_workers", |t| if t.is_empty() { Ok(None) } else { parse_int_as(t, 0, U32_MAX).map(Some) })?
    {
        d.api_workers = v;
    }
    if let Some(v) = r.read(S, "pagination_max_limit", |t| {
        parse_int(t, -1, i64::MAX).and_then(|n| {
            if n == 0 {
                Err(ValueError::new("must be -1 (no limit) or a positive integer"))
            } else {
                Ok(n)
            }
        })
    })? {
        d.pagination_max_limit = v;
    }
    if let Some(v) = r.read(S, "default_availability_zones", |t| Ok(parse_list(t)))? {
        d.default_availability_zones = v;
    }

    if let Some(v) = r.read(S, "control_exchange", |t| {
        if !t.is_empty() && t.len() <= 200 && t.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            Ok(t.to_string())
        } else {
            Err(ValueError::new("expected a name of letters, digits, '-', '_' and '.'"))
        }
    })? {
        d.control_exchange = v;
    }

    // Values whose feature is not built yet.
    let plugins = join(&d.service_plugins);
    for plugin in &d.service_plugins {
        if !BUILT_SERVICE_PLUGINS.contains(&plugin.as_str()) {
            warnings.push(not_built(
                S,
                "service_plugins",
                &plugins,
                r.origin(S, "service_plugins"),
                format!("service plugin '{plugin}' is not built yet, ignored"),
            ));
        }
    }
    Ok(())
}

fn build_database(r: &Reader<'_>, config: &mut Config) -> Result<(), ConfigError> {
    const S: &str = "database";
    if let Some(v) = r.read(S, "connection", |t| {
        if t.is_empty() {
            return Ok(None);
        }
        let scheme = t.split_once("://").map(|(scheme, _)| scheme);
        match scheme.and_then(DatabaseBackend::from_scheme) {
            Some(_) => Ok(Some(t.to_string())),
            None => Err(ValueError::new(
                "unsupported database URL (expected sqlite://, postgresql://, \
                 postgresql+psycopg2://, mysql://, mysql+pymysql:// or mariadb://)",
            )),
        }
    })? {
        config.database.connection = v;
    }
    if let Some(v) = r.read(S, "max_pool_size", |t| parse_int_as(t, 1, 1024))? {
        config.database.max_pool_size = Some(v);
    }
    if let Some(v) = r.read(S, "pool_timeout", |t| parse_int_as(t, 1, 3600))? {
        config.database.pool_timeout = Some(v);
    }
    Ok(())
}

fn build_ml2(r: &Reader<'_>, config: &mut Config, warnings: &mut Vec<Warning>) -> Result<(), ConfigError> {
    const S: &str = "ml2";
    let m = &mut config.ml2;
    if let Some(v) = r.read(S, "type_drivers", |t| {
        let drivers = parse_list(t);
        match drivers.iter().find(|d| !KNOWN_TYPE_DRIVERS.contains(&d.as_str())) {
            Some(bad) => Err(ValueError::new(format!(
                "unknown type driver '{bad}' (expected local, flat, vlan, vxlan, gre or geneve)"
            ))),
            None => Ok(drivers),
        }
    })? {
        m.type_drivers = v;
    }
    if let Some(v) = r.read(S, "tenant_network_types", |t| Ok(parse_list(t)))? {
        m.tenant_network_types = v;
    }
    if let Some(missing) = m.tenant_network_types.iter().find(|t| !m.type_drivers.contains(t)) {
        let reason = format!(
            "network type '{missing}' of tenant_network_types is not in [ml2] type_drivers ({})",
            join(&m.type_drivers)
        );
        // Blame tenant_network_types, unless it is the default: then the
        // type_drivers that were set are what left it out.
        let blamed = if r.set(S, "tenant_network_types").is_some() { "tenant_network_types" } else { "type_drivers" };
        return Err(match r.set(S, blamed) {
            Some(value) => invalid(value, S, blamed, &reason),
            None => ConfigError::invalid(&Source::Default, S, blamed, reason),
        });
    }
    if let Some(v) = r.read(S, "mechanism_drivers", |t| Ok(parse_list(t)))? {
        m.mechanism_drivers = v;
    }
    if let Some(v) = r.read(S, "extension_drivers", |t| Ok(parse_list(t)))? {
        m.extension_drivers = v;
    }
    if let Some(v) = r.read(S, "path_mtu", |t| parse_int_as(t, 0, U32_MAX))? {
        m.path_mtu = v;
    }
    if let Some(v) = r.read(S, "physical_network_mtus", |t| parse_each(t, parse_physnet_mtu))? {
        m.physical_network_mtus = v;
    }
    if let Some(v) = r.read(S, "overlay_ip_version", |t| match t.trim() {
        "4" => Ok(4),
        "6" => Ok(6),
        _ => Err(ValueError::new("expected 4 or 6")),
    })? {
        m.overlay_ip_version = v;
    }

    let drivers: [(&str, &Vec<String>, &[&str], &str); 3] = [
        ("type_drivers", &m.type_drivers, BUILT_TYPE_DRIVERS, "type driver"),
        ("mechanism_drivers", &m.mechanism_drivers, BUILT_MECHANISM_DRIVERS, "mechanism driver"),
        ("extension_drivers", &m.extension_drivers, BUILT_EXTENSION_DRIVERS, "extension driver"),
    ];
    for (key, configured, built, what) in drivers {
        for driver in configured {
            if !built.contains(&driver.as_str()) {
                warnings.push(not_built(
                    S,
                    key,
                    &join(configured),
                    r.origin(S, key),
                    format!("{what} '{driver}' is not built, ignored"),
                ));
            }
        }
    }
    Ok(())
}

fn build_type_drivers(r: &Reader<'_>, config: &mut Config) -> Result<(), ConfigError> {
    if let Some(v) = r.read("ml2_type_flat", "flat_networks", |t| Ok(parse_list(t)))? {
        config.ml2_type_flat.flat_networks = v;
    }
    if let Some(v) = r.read("ml2_type_vlan", "network_vlan_ranges", |t| parse_each(t, parse_vlan_range))? {
        config.ml2_type_vlan.network_vlan_ranges = v;
    }
    if let Some(v) = r.read("ml2_type_vxlan", "vni_ranges", |t| parse_range_list(t, 1, MAX_VNI))? {
        config.ml2_type_vxlan.vni_ranges = v;
    }
    if let Some(v) = r.read("ml2_type_vxlan", "vxlan_group", parse_optional_string)? {
        config.ml2_type_vxlan.vxlan_group = v;
    }
    if let Some(v) = r.read("ml2_type_gre", "tunnel_id_ranges", |t| parse_range_list(t, 1, U32_MAX))? {
        config.ml2_type_gre.tunnel_id_ranges = v;
    }
    Ok(())
}

fn build_agent(r: &Reader<'_>, config: &mut Config) -> Result<(), ConfigError> {
    const S: &str = "agent";
    let a = &mut config.agent;
    if let Some(v) = r.read(S, "server_url", |t| {
        let urls: Vec<&str> = t.split(',').map(str::trim).collect();
        if urls.iter().all(|u| u.starts_with("http://") || u.starts_with("https://")) {
            Ok(urls.join(","))
        } else {
            Err(ValueError::new("expected http:// or https:// URLs, comma-separated"))
        }
    })? {
        a.server_url = v;
    }
    if let Some(v) = r.read(S, "channel", |t| match t {
        "direct" => Ok(AgentChannel::Direct),
        "rabbit" => Ok(AgentChannel::Rabbit),
        _ => Err(ValueError::new("expected direct or rabbit")),
    })? {
        a.channel = v;
    }
    if let Some(v) = r.read(S, "channel_secret", parse_optional_string)? {
        a.channel_secret = v;
    }
    if let Some(v) = r.read(S, "report_interval", |t| parse_int_as(t, 0, U32_MAX))? {
        a.report_interval = v;
    }
    if let Some(v) = r.read(S, "node_namespace", parse_optional_string)? {
        a.node_namespace = v;
    }
    if let Some(v) = r.read(S, "namespace_prefix", parse_optional_string)? {
        a.namespace_prefix = v;
    }
    if let Some(v) = r.read(S, "health_port", |t| if t.is_empty() { Ok(None) } else { parse_port(t).map(Some) })? {
        a.health_port = v;
    }
    Ok(())
}

fn build_identity(r: &Reader<'_>, config: &mut Config) -> Result<(), ConfigError> {
    const S: &str = "identity";
    let i = &mut config.identity;
    if let Some(v) = r.read(S, "enabled", parse_bool)? {
        i.enabled = Some(v);
    }
    if let Some(v) = r.read(S, "bind_host", parse_ip)? {
        i.bind_host = v;
    }
    if let Some(v) = r.read(S, "bind_port", parse_port)? {
        i.bind_port = v;
    }
    if let Some(v) = r.read(S, "token_expiration", |t| parse_int_as(t, 1, U32_MAX))? {
        i.token_expiration = v;
    }
    if let Some(v) = r.read(S, "region_name", parse_name)? {
        i.region_name = v;
    }
    if let Some(v) = r.read(S, "public_endpoint", parse_url)? {
        i.public_endpoint = v;
    }
    if let Some(v) = r.read(S, "network_endpoint", parse_url)? {
        i.network_endpoint = v;
    }
    Ok(())
}

fn build_quotas(r: &Reader<'_>, config: &mut Config) -> Result<(), ConfigError> {
    const S: &str = "quotas";
    let q = &mut config.quotas;
    for (key, slot) in [
        ("quota_network", &mut q.network),
        ("quota_subnet", &mut q.subnet),
        ("quota_port", &mut q.port),
        ("quota_rbac_policy", &mut q.rbac_policy),
        ("quota_router", &mut q.router),
        ("quota_floatingip", &mut q.floatingip),
        ("quota_security_group", &mut q.security_group),
        ("quota_security_group_rule", &mut q.security_group_rule),
    ] {
        if let Some(v) = r.read(S, key, |t| parse_int_as(t, -1, i64::MAX))? {
            *slot = v;
        }
    }
    Ok(())
}

fn build_keystone_authtoken(r: &Reader<'_>, config: &mut Config) -> Result<(), ConfigError> {
    const S: &str = "keystone_authtoken";
    let k = &mut config.keystone_authtoken;
    for known in known::KNOWN_KEYS.iter().filter(|k| k.section == S) {
        if let Some(value) = r.set(S, known.key) {
            k.options.insert(known.key.to_string(), value.text.clone());
        }
    }
    if let Some(v) = r.read(S, "token_cache_time", |t| parse_int(t, -1, i64::from(u32::MAX)))? {
        k.token_cache_time = v;
    }
    for key in ["www_authenticate_uri", "auth_uri", "auth_url"] {
        r.read(S, key, parse_url)?;
    }
    if let Some(t) = r.read(S, "auth_type", |t| match t {
        "password" | "v3password" => Ok(t.to_string()),
        _ => Err(ValueError::new("only the password auth type is supported")),
    })? {
        let _ = t;
    }
    Ok(())
}

fn build_oslo_policy(r: &Reader<'_>, config: &mut Config) -> Result<(), ConfigError> {
    if let Some(v) = r.read("oslo_policy", "policy_file", parse_name)? {
        config.oslo_policy.policy_file = v;
    }
    Ok(())
}

/// A non-empty string.
fn parse_name(t: &str) -> Result<String, ValueError> {
    if t.is_empty() {
        Err(ValueError::new("must not be empty"))
    } else {
        Ok(t.to_string())
    }
}

/// An http(s) URL, or empty for unset.
fn parse_url(t: &str) -> Result<Option<String>, ValueError> {
    if t.is_empty() {
        return Ok(None);
    }
    if !(t.starts_with("http://") || t.starts_with("https://")) || t.len() <= "https://".len() {
        return Err(ValueError::new("expected an http:// or https:// URL"));
    }
    Ok(Some(t.trim_end_matches('/').to_string()))
}

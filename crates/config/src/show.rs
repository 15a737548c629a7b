//! `config show`: the effective options with their sources, as text or JSON,
//! secrets masked.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Value as Json};

use crate::known::{self, KeyKind};
use crate::load::Loaded;
use crate::mask::{is_secret_key, mask_url_password, mask_value, MASK};
use crate::raw::{Source, DEFAULT_SECTION};
use crate::sections::Config;

/// Sections shown first, in this order; any other section follows by name.
const SECTION_ORDER: &[&str] = &[
    DEFAULT_SECTION,
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
    "quotas",
];

/// How an unset optional value is shown in text.
const UNSET: &str = "<unset>";

/// One typed option's effective value.
pub(crate) struct Field {
    pub section: &'static str,
    pub key: String,
    /// The value in configuration syntax; `None` = unset.
    pub text: Option<String>,
    pub json: Json,
}

fn field(section: &'static str, key: &str, text: String, json: Json) -> Field {
    Field { section, key: key.to_string(), text: Some(text), json }
}

fn optional(section: &'static str, key: &str, value: Option<String>, json: Json) -> Field {
    Field { section, key: key.to_string(), text: value, json }
}

fn list(section: &'static str, key: &str, items: &[String]) -> Field {
    field(section, key, items.join(","), json!(items))
}

fn ranges(section: &'static str, key: &str, items: &[(u32, u32)]) -> Field {
    let items: Vec<String> = items.iter().map(|(a, b)| format!("{a}:{b}")).collect();
    list(section, key, &items)
}

/// Every typed option of `config`, in display order, unmasked.
pub(crate) fn typed_fields(config: &Config) -> Vec<Field> {
    let d = &config.default;
    const D: &str = DEFAULT_SECTION;
    let mut fields = vec![
        optional(D, "bind_host", d.bind_host.map(|ip| ip.to_string()), json!(d.bind_host.map(|ip| ip.to_string()))),
        field(D, "bind_port", d.bind_port.to_string(), json!(d.bind_port)),
        field(D, "core_plugin", d.core_plugin.clone(), json!(d.core_plugin)),
        list(D, "service_plugins", &d.service_plugins),
        field(D, "allow_overlapping_ips", d.allow_overlapping_ips.to_string(), json!(d.allow_overlapping_ips)),
        field(D, "base_mac", d.base_mac.clone(), json!(d.base_mac)),
        field(D, "dhcp_lease_duration", d.dhcp_lease_duration.to_string(), json!(d.dhcp_lease_duration)),
        field(D, "state_path", d.state_path.clone(), json!(d.state_path)),
        field(D, "auth_strategy", d.auth_strategy.to_string(), json!(d.auth_strategy.as_str())),
        optional(D, "transport_url", d.transport_url.clone(), json!(d.transport_url)),
        field(D, "control_exchange", d.control_exchange.clone(), json!(d.control_exchange)),
        optional(D, "host", d.host.clone(), json!(d.host)),
        field(D, "global_physnet_mtu", d.global_physnet_mtu.to_string(), json!(d.global_physnet_mtu)),
        field(D, "max_dns_nameservers", d.max_dns_nameservers.to_string(), json!(d.max_dns_nameservers)),
        field(D, "max_subnet_host_routes", d.max_subnet_host_routes.to_string(), json!(d.max_subnet_host_routes)),
        field(D, "agent_down_time", d.agent_down_time.to_string(), json!(d.agent_down_time)),
        field(D, "dhcp_agents_per_network", d.dhcp_agents_per_network.to_string(), json!(d.dhcp_agents_per_network)),
        optional(D, "api_workers", d.api_workers.map(|n| n.to_string()), json!(d.api_workers)),
        field(D, "pagination_max_limit", d.pagination_max_limit.to_string(), json!(d.pagination_max_limit)),
        list(D, "default_availability_zones", &d.default_availability_zones),
        optional("database", "connection", config.database.connection.clone(), json!(config.database.connection)),
    ];

    let m = &config.ml2;
    let mtus: Vec<String> = m.physical_network_mtus.iter().map(|(physnet, mtu)| format!("{physnet}:{mtu}")).collect();
    fields.extend([
        list("ml2", "type_drivers", &m.type_drivers),
        list("ml2", "tenant_network_types", &m.tenant_network_types),
        list("ml2", "mechanism_drivers", &m.mechanism_drivers),
        list("ml2", "extension_drivers", &m.extension_drivers),
        field("ml2", "path_mtu", m.path_mtu.to_string(), json!(m.path_mtu)),
        list("ml2", "physical_network_mtus", &mtus),
        field("ml2", "overlay_ip_version", m.overlay_ip_version.to_string(), json!(m.overlay_ip_version)),
        list("ml2_type_flat", "flat_networks", &config.ml2_type_flat.flat_networks),
    ]);
    let vlan: Vec<String> = config.ml2_type_vlan.network_vlan_ranges.iter().map(ToString::to_string).collect();
    fields.push(list("ml2_type_vlan", "network_vlan_ranges", &vlan));
    let vx = &config.ml2_type_vxlan;
    fields.extend([
        ranges("ml2_type_vxlan", "vni_ranges", &vx.vni_ranges),
        optional("ml2_type_vxlan", "vxlan_group", vx.vxlan_group.clone(), json!(vx.vxlan_group)),
        ranges("ml2_type_gre", "tunnel_id_ranges", &config.ml2_type_gre.tunnel_id_ranges),
    ]);

    let a = &config.agent;
    let i = &config.identity;
    fields.extend([
        field("agent", "server_url", a.server_url.clone(), json!(a.server_url)),
        field("agent", "channel", a.channel.as_str().to_string(), json!(a.channel.as_str())),
        optional("agent", "channel_secret", a.channel_secret.clone(), json!(a.channel_secret)),
        field("agent", "report_interval", a.report_interval.to_string(), json!(a.report_interval)),
        optional("agent", "node_namespace", a.node_namespace.clone(), json!(a.node_namespace)),
        optional("agent", "namespace_prefix", a.namespace_prefix.clone(), json!(a.namespace_prefix)),
        optional("agent", "health_port", a.health_port.map(|p| p.to_string()), json!(a.health_port)),
        optional("identity", "enabled", i.enabled.map(|b| b.to_string()), json!(i.enabled)),
        field("identity", "bind_host", i.bind_host.to_string(), json!(i.bind_host.to_string())),
        field("identity", "bind_port", i.bind_port.to_string(), json!(i.bind_port)),
        field("identity", "token_expiration", i.token_expiration.to_string(), json!(i.token_expiration)),
        field("identity", "region_name", i.region_name.clone(), json!(i.region_name)),
        optional("identity", "public_endpoint", i.public_endpoint.clone(), json!(i.public_endpoint)),
        optional("identity", "network_endpoint", i.network_endpoint.clone(), json!(i.network_endpoint)),
    ]);
    let q = &config.quotas;
    fields.extend([
        field("quotas", "quota_network", q.network.to_string(), json!(q.network)),
        field("quotas", "quota_subnet", q.subnet.to_string(), json!(q.subnet)),
        field("quotas", "quota_port", q.port.to_string(), json!(q.port)),
        field("quotas", "quota_rbac_policy", q.rbac_policy.to_string(), json!(q.rbac_policy)),
        field("quotas", "quota_router", q.router.to_string(), json!(q.router)),
        field("quotas", "quota_floatingip", q.floatingip.to_string(), json!(q.floatingip)),
        field("quotas", "quota_security_group", q.security_group.to_string(), json!(q.security_group)),
        field("quotas", "quota_security_group_rule", q.security_group_rule.to_string(), json!(q.security_group_rule)),
    ]);
    let ka = &config.keystone_authtoken;
    fields.push(field(
        "keystone_authtoken",
        "token_cache_time",
        ka.token_cache_time.to_string(),
        json!(ka.token_cache_time),
    ));
    for (key, value) in ka.options.iter().filter(|(k, _)| k.as_str() != "token_cache_time") {
        fields.push(field("keystone_authtoken", key, value.clone(), json!(value)));
    }
    let p = &config.oslo_policy.policy_file;
    fields.push(field("oslo_policy", "policy_file", p.clone(), json!(p)));
    fields
}

/// One displayed option, masked.
struct Row {
    key: String,
    text: String,
    json: Json,
    source: Source,
}

/// A JSON value with secrets masked like [`mask_value`].
fn mask_json(key: &str, value: Json) -> Json {
    match value {
        Json::String(text) if is_secret_key(key) && !text.is_empty() => json!(MASK),
        Json::String(text) => Json::String(mask_url_password(&text)),
        other => other,
    }
}

impl Loaded {
    /// Displayed options by section, in display order.
    fn rows(&self) -> Vec<(String, Vec<Row>)> {
        let mut by_section: BTreeMap<String, Vec<Row>> = BTreeMap::new();
        let mut shown: HashSet<(String, String)> = HashSet::new();
        for f in typed_fields(&self.config) {
            let source = self.get(f.section, &f.key).map_or(Source::Default, |value| value.source.clone());
            let text = match &f.text {
                Some(text) => mask_value(&f.key, text),
                None => UNSET.to_string(),
            };
            shown.insert((f.section.to_string(), f.key.clone()));
            by_section.entry(f.section.to_string()).or_default().push(Row {
                json: mask_json(&f.key, f.json),
                key: f.key,
                text,
                source,
            });
        }
        // Stored options that are not typed (agent options, [nova], …).
        for (section, keys) in &self.values {
            for (key, value) in keys {
                let stored = matches!(
                    known::lookup(section, key).map(|k| k.kind),
                    Some(KeyKind::Stored | KeyKind::NotBuilt(_) | KeyKind::SectionNotBuilt(_) | KeyKind::Agent)
                );
                if !stored || value.source == Source::Default || shown.contains(&(section.clone(), key.clone())) {
                    continue;
                }
                by_section.entry(section.clone()).or_default().push(Row {
                    key: key.clone(),
                    text: mask_value(key, &value.text),
                    json: mask_json(key, json!(value.text)),
                    source: value.source.clone(),
                });
            }
        }
        let mut ordered = Vec::new();
        for name in SECTION_ORDER {
            if let Some(rows) = by_section.remove(*name) {
                ordered.push((name.to_string(), rows));
            }
        }
        ordered.extend(by_section);
        ordered
    }

    /// The effective configuration as text: one `[section] key = value    (source)`
    /// line per option (typed options, then other stored options that are
    /// set), sections in a stable order, then the warnings. Secrets are `***`.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for (section, rows) in self.rows() {
            for row in rows {
                out.push_str(&format!("[{section}] {} = {}    ({})\n", row.key, row.text, row.source));
            }
        }
        if self.warnings.is_empty() {
            out.push_str("\nwarnings: none\n");
        } else {
            out.push_str(&format!("\nwarnings ({}):\n", self.warnings.len()));
            for warning in &self.warnings {
                out.push_str(&format!("  {warning}\n"));
            }
        }
        out
    }

    /// The effective configuration as JSON:
    /// `{"options": {"section": {"key": {"value": …, "source": "…"}}}, "warnings": ["…"]}`.
    /// Values are typed (numbers, booleans, lists, `null` when unset);
    /// secrets are `"***"`.
    pub fn to_json(&self) -> Json {
        let mut options = serde_json::Map::new();
        for (section, rows) in self.rows() {
            let mut keys = serde_json::Map::new();
            for row in rows {
                keys.insert(row.key, json!({ "value": row.json, "source": row.source.to_string() }));
            }
            options.insert(section, Json::Object(keys));
        }
        let warnings: Vec<String> = self.warnings.iter().map(ToString::to_string).collect();
        json!({ "options": options, "warnings": warnings })
    }
}

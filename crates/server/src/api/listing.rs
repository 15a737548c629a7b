//! List requests: filters (repeat = OR, empty value, tags, fixed_ips),
//! `fields`, `sort_key`/`sort_dir`, `limit`/`marker`/`page_reverse`.

use neutrino_model::fault::Resource;
use neutrino_model::Fault;
use neutrino_store::{Filter, ListQuery, Scope, SortDir, SortKey, SqlValue, TagMatch};

use crate::core::input::str_to_bool;

/// How a filter value converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Str,
    /// Boolean (stored as 0/1).
    Bool,
    /// Integer.
    Int,
}

use Kind::{Bool, Int, Str};

const COMMON: &[(&str, Kind)] = &[
    ("id", Str),
    ("name", Str),
    ("description", Str),
    ("project_id", Str),
    ("tenant_id", Str),
    ("revision_number", Int),
    ("created_at", Str),
    ("updated_at", Str),
];

/// Filterable (and sortable) scalar attributes of a resource, besides [`COMMON`].
pub fn attributes(resource: Resource) -> &'static [(&'static str, Kind)] {
    match resource {
        Resource::Network => &[
            ("admin_state_up", Bool),
            ("status", Str),
            ("shared", Bool),
            ("router:external", Bool),
            ("mtu", Int),
            ("port_security_enabled", Bool),
            ("provider:network_type", Str),
            ("provider:physical_network", Str),
            ("provider:segmentation_id", Int),
        ],
        Resource::Subnet => &[
            ("network_id", Str),
            ("ip_version", Int),
            ("cidr", Str),
            ("gateway_ip", Str),
            ("enable_dhcp", Bool),
            ("ipv6_ra_mode", Str),
            ("ipv6_address_mode", Str),
            ("subnetpool_id", Str),
        ],
        Resource::Port => &[
            ("network_id", Str),
            ("admin_state_up", Bool),
            ("mac_address", Str),
            ("device_id", Str),
            ("device_owner", Str),
            ("status", Str),
            ("port_security_enabled", Bool),
            ("binding:host_id", Str),
            ("binding:vif_type", Str),
            ("binding:vnic_type", Str),
        ],
        Resource::RbacPolicy => &[("object_type", Str), ("object_id", Str), ("target_tenant", Str), ("action", Str)],
        Resource::Router => &[("admin_state_up", Bool), ("status", Str), ("distributed", Bool), ("ha", Bool)],
        Resource::FloatingIp => &[
            ("floating_network_id", Str),
            ("floating_ip_address", Str),
            ("port_id", Str),
            ("fixed_ip_address", Str),
            ("router_id", Str),
            ("status", Str),
        ],
        Resource::SecurityGroup => &[("stateful", Bool), ("shared", Bool)],
        Resource::SecurityGroupRule => &[
            ("security_group_id", Str),
            ("direction", Str),
            ("ethertype", Str),
            ("protocol", Str),
            ("port_range_min", Int),
            ("port_range_max", Int),
            ("remote_ip_prefix", Str),
            ("remote_group_id", Str),
            ("belongs_to_default_sg", Bool),
        ],
    }
}

fn kind_of(resource: Resource, attr: &str) -> Option<Kind> {
    COMMON.iter().chain(attributes(resource)).find(|(n, _)| *n == attr).map(|(_, k)| *k)
}

/// A parsed list request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    /// The store query.
    pub query: ListQuery,
    /// Requested fields (empty: all).
    pub fields: Vec<String>,
    /// The raw parameters, to build pagination links.
    pub params: Vec<(String, String)>,
}

fn bad(msg: impl Into<String>) -> Fault {
    Fault::bad_request(msg)
}

fn convert(resource: Resource, attr: &str, kind: Kind, raw: &str) -> Result<SqlValue, Fault> {
    let _ = resource;
    match kind {
        Str => Ok(SqlValue::Text(raw.to_string())),
        Bool => str_to_bool(raw)
            .map(|b| SqlValue::Int(i64::from(b)))
            .ok_or_else(|| bad(format!("Invalid input for {attr}. Reason: '{raw}' cannot be converted to boolean."))),
        Int => raw
            .trim()
            .parse::<i64>()
            .map(SqlValue::Int)
            .map_err(|_| bad(format!("Invalid input for {attr}. Reason: '{raw}' is not an integer."))),
    }
}

fn split_tags(raw: &str) -> Vec<String> {
    raw.split(',').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect()
}

/// Parses a query string for a list of `resource` seen in `scope`.
pub fn parse(
    resource: Resource,
    raw_query: Option<&str>,
    scope: Scope,
    max_limit: Option<u64>,
) -> Result<ListRequest, Fault> {
    let params: Vec<(String, String)> =
        raw_query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let mut query = ListQuery::all(scope);
    let mut fields = Vec::new();
    let mut sort_keys: Vec<String> = Vec::new();
    let mut sort_dirs: Vec<String> = Vec::new();
    let mut eq: Vec<(String, Vec<SqlValue>)> = Vec::new();
    let mut fixed_ips: Vec<Filter> = Vec::new();
    for (k, v) in &params {
        match k.as_str() {
            "fields" => fields.extend(v.split(',').map(str::trim).filter(|f| !f.is_empty()).map(String::from)),
            "sort_key" => sort_keys.push(v.clone()),
            "sort_dir" => sort_dirs.push(v.clone()),
            "limit" => {
                let n: i64 =
                    v.parse().map_err(|_| bad(format!("Limit must be an integer 0 or greater and not '{v}'")))?;
                let n = u64::try_from(n)
                    .map_err(|_| bad(format!("Limit must be an integer 0 or greater and not '{v}'")))?;
                // 0 means "no limit" (or the configured maximum).
                query.limit = match (n, max_limit) {
                    (0, m) => m,
                    (n, Some(m)) => Some(n.min(m)),
                    (n, None) => Some(n),
                };
            }
            "marker" => query.marker = Some(v.clone()),
            "page_reverse" => {
                query.page_reverse = str_to_bool(v).ok_or_else(|| {
                    bad(format!("Invalid input for page_reverse. Reason: '{v}' cannot be converted to boolean."))
                })?
            }
            "tags" => query.filters.push(Filter::Tags(TagMatch::All, split_tags(v))),
            "tags-any" => query.filters.push(Filter::Tags(TagMatch::Any, split_tags(v))),
            "not-tags" => query.filters.push(Filter::Tags(TagMatch::NotAll, split_tags(v))),
            "not-tags-any" => query.filters.push(Filter::Tags(TagMatch::NotAny, split_tags(v))),
            "fixed_ips" if resource == Resource::Port => fixed_ips.push(parse_fixed_ip_filter(v)?),
            attr => {
                let kind =
                    kind_of(resource, attr).ok_or_else(|| bad(format!("{attr} is invalid attribute for filtering")))?;
                let attr = if attr == "tenant_id" { "project_id" } else { attr };
                let value = convert(resource, attr, kind, v)?;
                match eq.iter_mut().find(|(a, _)| a == attr) {
                    Some((_, values)) => values.push(value),
                    None => eq.push((attr.to_string(), vec![value])),
                }
            }
        }
    }
    if query.limit.is_none() {
        query.limit = max_limit;
    }
    for (attr, values) in eq {
        query.filters.push(Filter::Eq { attr, values });
    }
    query.filters.extend(fixed_ips);
    if sort_dirs.len() != sort_keys.len() {
        return Err(bad("The number of sort_keys and sort_dirs must be same"));
    }
    for (i, key) in sort_keys.iter().enumerate() {
        if kind_of(resource, key).is_none() {
            return Err(bad(format!("{key} is an invalid attribute for sort_key")));
        }
        let dir = match sort_dirs.get(i).map(String::as_str) {
            None | Some("asc") => SortDir::Asc,
            Some("desc") => SortDir::Desc,
            Some(other) => {
                return Err(bad(format!("{other} is an invalid value for sort_dir, valid values are 'asc' and 'desc'")))
            }
        };
        let attr = if key == "tenant_id" { "project_id".to_string() } else { key.clone() };
        query.sort.push(SortKey { attr, dir });
    }
    Ok(ListRequest { query, fields, params })
}

/// `fixed_ips=ip_address=10.0.0.5`, `fixed_ips=subnet_id=…`, `fixed_ips=ip_address_substr=…`.
fn parse_fixed_ip_filter(v: &str) -> Result<Filter, Fault> {
    let (key, value) = v.split_once('=').ok_or_else(|| {
        bad(format!("Invalid fixed_ips filter '{v}': expected ip_address=, subnet_id= or ip_address_substr="))
    })?;
    let value = Some(value.to_string());
    Ok(match key {
        "ip_address" => Filter::FixedIp { ip_address: value, subnet_id: None, ip_address_substr: None },
        "subnet_id" => Filter::FixedIp { ip_address: None, subnet_id: value, ip_address_substr: None },
        "ip_address_substr" => Filter::FixedIp { ip_address: None, subnet_id: None, ip_address_substr: value },
        other => return Err(bad(format!("{other} is invalid attribute for filtering"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Result<ListRequest, Fault> {
        parse(Resource::Port, Some(q), Scope::Admin, None)
    }

    #[test]
    fn repeated_keys_are_or_and_distinct_keys_and() {
        let r = p("name=a&name=b&admin_state_up=true").ok();
        let filters = r.map(|r| r.query.filters).unwrap_or_default();
        assert_eq!(filters.len(), 2);
        assert_eq!(
            filters[0],
            Filter::Eq { attr: "name".into(), values: vec![SqlValue::Text("a".into()), SqlValue::Text("b".into())] }
        );
        assert_eq!(filters[1], Filter::Eq { attr: "admin_state_up".into(), values: vec![SqlValue::Int(1)] });
    }

    #[test]
    fn unknown_filters_and_bad_values_are_400() {
        assert_eq!(p("bogus=1").err().map(|f| f.message), Some("bogus is invalid attribute for filtering".into()));
        assert_eq!(p("admin_state_up=maybe").err().map(|f| f.status), Some(400));
        assert_eq!(p("limit=-1").err().map(|f| f.status), Some(400));
        assert_eq!(p("sort_key=bogus").err().map(|f| f.status), Some(400));
        assert_eq!(p("sort_key=name&sort_dir=up").err().map(|f| f.status), Some(400));
        assert_eq!(p("sort_key=name&sort_key=id&sort_dir=asc").err().map(|f| f.status), Some(400));
        assert_eq!(p("sort_key=name").err().map(|f| f.status), Some(400));
        assert_eq!(p("sort_dir=asc").err().map(|f| f.status), Some(400));
    }

    #[test]
    fn paging_fields_tags_and_fixed_ips_parse() {
        let r = p("limit=2&marker=abc&page_reverse=True&fields=id&fields=name,status&tags=a,b&not-tags-any=c&fixed_ips=ip_address%3D10.0.0.5&tenant_id=t")
            .ok();
        let Some(r) = r else { panic!("parse failed") };
        assert_eq!(r.query.limit, Some(2));
        assert_eq!(r.query.marker.as_deref(), Some("abc"));
        assert!(r.query.page_reverse);
        assert_eq!(r.fields, vec!["id", "name", "status"]);
        assert!(r.query.filters.contains(&Filter::Tags(TagMatch::All, vec!["a".into(), "b".into()])));
        assert!(r.query.filters.contains(&Filter::Tags(TagMatch::NotAny, vec!["c".into()])));
        assert!(r.query.filters.contains(&Filter::FixedIp {
            ip_address: Some("10.0.0.5".into()),
            subnet_id: None,
            ip_address_substr: None
        }));
        assert!(r
            .query
            .filters
            .contains(&Filter::Eq { attr: "project_id".into(), values: vec![SqlValue::Text("t".into())] }));
    }

    #[test]
    fn max_limit_caps_pages() {
        let r = parse(Resource::Network, Some("limit=500"), Scope::Admin, Some(100)).ok();
        assert_eq!(r.and_then(|r| r.query.limit), Some(100));
        let r = parse(Resource::Network, None, Scope::Admin, Some(100)).ok();
        assert_eq!(r.and_then(|r| r.query.limit), Some(100));
    }
}

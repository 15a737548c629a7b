//! Port request attributes: fixed IPs, MACs, allowed address pairs and
//! extra DHCP options, parsed with Neutron's validation messages.

use std::net::IpAddr;

use neutrino_model::{AllowedAddressPair, ExtraDhcpOpt};
use serde_json::{Map, Value};

use super::input::{py, Body};
use super::subnet::parse_ip;
use crate::error::{PluginError, PluginResult};

fn bad_input(attr: &str, why: impl std::fmt::Display) -> PluginError {
    PluginError::BadRequest(format!("Invalid input for {attr}. Reason: {why}."))
}

/// One entry of a `fixed_ips` request.
#[derive(Debug, Clone)]
pub(crate) struct FixedIpRequest {
    pub(crate) subnet_id: Option<String>,
    pub(crate) ip: Option<IpAddr>,
}

pub(crate) fn parse_fixed_ips(raw: Vec<Map<String, Value>>) -> PluginResult<Vec<FixedIpRequest>> {
    let mut out: Vec<FixedIpRequest> = Vec::with_capacity(raw.len());
    for f in raw {
        let fmt =
            || bad_input("fixed_ips", format!("Invalid data format for fixed IP: '{}'", Value::Object(f.clone())));
        if f.keys().any(|k| k != "subnet_id" && k != "ip_address") || f.is_empty() {
            return Err(fmt());
        }
        let subnet_id = match f.get("subnet_id") {
            None => None,
            Some(Value::String(s)) => Some(
                super::input::parse_uuid(s)
                    .ok_or_else(|| bad_input("fixed_ips", format!("'{s}' is not a valid UUID")))?,
            ),
            Some(v) => return Err(bad_input("fixed_ips", format!("'{}' is not a valid UUID", py(v)))),
        };
        let ip = match f.get("ip_address") {
            None => None,
            Some(Value::String(s)) => Some(parse_ip("fixed_ips", s)?),
            Some(v) => return Err(bad_input("fixed_ips", format!("'{}' is not a valid IP address", py(v)))),
        };
        if let Some(ip) = ip {
            if out.iter().any(|o| o.ip == Some(ip)) {
                return Err(bad_input("fixed_ips", format!("Duplicate IP address '{ip}'")));
            }
        }
        out.push(FixedIpRequest { subnet_id, ip });
    }
    Ok(out)
}

pub(crate) fn peek_str<'a>(b: &'a Body, key: &str) -> Option<&'a str> {
    b.peek(key).and_then(Value::as_str)
}

pub(crate) fn asks_fixed_ip_address(b: &Body) -> bool {
    b.peek("fixed_ips")
        .and_then(Value::as_array)
        .is_some_and(|items| items.iter().any(|f| f.get("ip_address").is_some()))
}

pub(crate) fn parse_mac(attr: &str, v: &Value) -> PluginResult<[u8; 6]> {
    match v {
        Value::String(s) => {
            neutrino_ipam::parse_mac(s).map_err(|_| bad_input(attr, format!("'{s}' is not a valid MAC address")))
        }
        other => Err(bad_input(attr, format!("'{}' is not a valid MAC address", py(other)))),
    }
}

pub(crate) fn parse_pairs(raw: Vec<Map<String, Value>>, port_mac: &str) -> PluginResult<Vec<AllowedAddressPair>> {
    let mut out: Vec<AllowedAddressPair> = Vec::with_capacity(raw.len());
    for p in raw {
        if let Some(k) = p.keys().find(|k| *k != "ip_address" && *k != "mac_address") {
            return Err(PluginError::BadRequest(format!("Unrecognized attribute(s) '{k}'")));
        }
        let ip = match p.get("ip_address") {
            Some(Value::String(s)) => {
                if let Ok(ip) = s.parse::<IpAddr>() {
                    ip.to_string()
                } else if let Ok(net) = s.parse::<ipnet::IpNet>() {
                    net.to_string()
                } else {
                    return Err(bad_input(
                        "allowed_address_pairs",
                        format!("'{s}' is neither a valid IP address, nor is it a valid IP subnet"),
                    ));
                }
            }
            Some(v) => {
                return Err(bad_input(
                    "allowed_address_pairs",
                    format!("'{}' is neither a valid IP address, nor is it a valid IP subnet", py(v)),
                ))
            }
            None => return Err(PluginError::BadRequest("AllowedAddressPair must contain ip_address".into())),
        };
        let mac = match p.get("mac_address") {
            None | Some(Value::Null) => port_mac.to_string(),
            Some(v) => neutrino_ipam::format_mac(parse_mac("allowed_address_pairs", v)?),
        };
        let pair = AllowedAddressPair { ip_address: ip, mac_address: mac };
        if out.contains(&pair) {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                400,
                "DuplicateAddressPairInRequest",
                format!(
                    "Request contains duplicate address pair: mac_address {} ip_address {}.",
                    pair.mac_address, pair.ip_address
                ),
            )));
        }
        out.push(pair);
    }
    Ok(out)
}

pub(crate) fn parse_dhcp_opts(raw: Vec<Map<String, Value>>) -> PluginResult<Vec<ExtraDhcpOpt>> {
    let mut out = Vec::with_capacity(raw.len());
    for o in raw {
        if let Some(k) = o.keys().find(|k| !matches!(k.as_str(), "opt_name" | "opt_value" | "ip_version")) {
            return Err(bad_input("extra_dhcp_opts", format!("Unexpected keys supplied: {k}")));
        }
        let Some(Value::String(name)) = o.get("opt_name") else {
            return Err(bad_input(
                "extra_dhcp_opts",
                "Validation of dictionary's keys failed. Expected keys: {'opt_name'}",
            ));
        };
        if name.is_empty() || name.len() > 255 {
            return Err(bad_input("extra_dhcp_opts", format!("'{name}' is not a valid opt_name")));
        }
        let value = match o.get("opt_value") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => Some(py(v)),
        };
        let ip_version = match o.get("ip_version") {
            None | Some(Value::Null) => 4,
            Some(v) if v.as_u64() == Some(4) || v.as_str() == Some("4") => 4,
            Some(v) if v.as_u64() == Some(6) || v.as_str() == Some("6") => 6,
            Some(v) => return Err(bad_input("extra_dhcp_opts", format!("{} is not in [4, 6]", py(v)))),
        };
        // The agents write options one per line into dnsmasq's files: a line
        // break (or a comma in a name) would let a user add directives.
        if name.contains(',') || name.chars().chain(value.iter().flat_map(|v| v.chars())).any(char::is_control) {
            return Err(bad_input(
                "extra_dhcp_opts",
                format!("option {:?} has a line break or control character (or a comma in its name)", name),
            ));
        }
        out.push(ExtraDhcpOpt { opt_name: name.clone(), opt_value: value, ip_version });
    }
    Ok(out)
}

/// Merges an update of DHCP options: same (name, version) replaced, null value deletes.
pub(crate) fn merge_dhcp_opts(current: &[ExtraDhcpOpt], update: Vec<ExtraDhcpOpt>) -> Vec<ExtraDhcpOpt> {
    let mut out: Vec<ExtraDhcpOpt> = current.to_vec();
    for o in update {
        out.retain(|c| !(c.opt_name == o.opt_name && c.ip_version == o.ip_version));
        if o.opt_value.is_some() {
            out.push(o);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dhcp_option_updates_merge_and_delete() {
        let cur = vec![
            ExtraDhcpOpt { opt_name: "a".into(), opt_value: Some("1".into()), ip_version: 4 },
            ExtraDhcpOpt { opt_name: "b".into(), opt_value: Some("2".into()), ip_version: 4 },
        ];
        let upd = vec![
            ExtraDhcpOpt { opt_name: "a".into(), opt_value: None, ip_version: 4 },
            ExtraDhcpOpt { opt_name: "b".into(), opt_value: Some("3".into()), ip_version: 4 },
            ExtraDhcpOpt { opt_name: "b".into(), opt_value: Some("6".into()), ip_version: 6 },
        ];
        let out = merge_dhcp_opts(&cur, upd);
        assert_eq!(out.len(), 2);
        assert!(out.iter().any(|o| o.opt_name == "b" && o.ip_version == 4 && o.opt_value.as_deref() == Some("3")));
        assert!(out.iter().all(|o| o.opt_name != "a"));
    }

    #[test]
    fn fixed_ip_requests_validate_like_neutron() {
        let raw = |v: Value| {
            v.as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|x| x.as_object().cloned())
                .collect::<Vec<_>>()
        };
        assert!(parse_fixed_ips(raw(json!([{"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.5"}]))).is_err());
        assert!(parse_fixed_ips(raw(json!([{"bogus": 1}]))).is_err());
        assert!(parse_fixed_ips(raw(json!([{"subnet_id": "not-a-uuid"}]))).is_err());
        assert_eq!(parse_fixed_ips(raw(json!([{"ip_address": "10.0.0.5"}]))).map(|v| v.len()).ok(), Some(1));
    }
}

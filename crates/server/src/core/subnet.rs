//! Subnets: CIDR, gateway and pools consistent, no overlap within a network
//! (or anywhere, without `allow_overlapping_ips`), deletion rules.

use std::net::IpAddr;

use ipnet::IpNet;
use neutrino_ipam::Pool;
use neutrino_model::fault::Resource;
use neutrino_model::port::OWNER_DHCP;
use neutrino_model::{AllocationPool, HostRoute, Network, Port, Subnet};
use neutrino_store::{ListQuery, Scope, Table, Tx};
use serde_json::{Map, Value};

use super::input::{py, rule, AttrRule, Body, Op};
use super::network::docs;
use super::{from_doc, load, load_for_change, new_id_and_time, owner_of, port_row, subnet_row, Change, Plugin};
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};

const RULES: &[AttrRule] = &[
    rule("id", false, false),
    rule("name", true, true),
    rule("description", true, true),
    rule("project_id", true, false),
    rule("tenant_id", true, false),
    rule("network_id", true, false),
    rule("ip_version", true, false),
    rule("cidr", true, false),
    rule("gateway_ip", true, true),
    rule("allocation_pools", true, true),
    rule("dns_nameservers", true, true),
    rule("host_routes", true, true),
    rule("enable_dhcp", true, true),
    rule("ipv6_ra_mode", true, false),
    rule("ipv6_address_mode", true, false),
    rule("subnetpool_id", true, false),
    rule("prefixlen", true, false),
    rule("use_default_subnetpool", true, false),
    rule("tags", false, false),
    rule("created_at", false, false),
    rule("updated_at", false, false),
    rule("revision_number", false, false),
];

const IPV6_MODES: &[&str] = &["slaac", "dhcpv6-stateful", "dhcpv6-stateless"];

fn bad_input(attr: &str, why: impl std::fmt::Display) -> PluginError {
    PluginError::BadRequest(format!("Invalid input for {attr}. Reason: {why}."))
}

/// Parses an address, with Neutron's message.
pub(crate) fn parse_ip(attr: &str, s: &str) -> PluginResult<IpAddr> {
    s.parse::<IpAddr>().map_err(|_| bad_input(attr, format!("'{s}' is not a valid IP address")))
}

fn take_ip_str(attr: &str, v: &Value) -> PluginResult<IpAddr> {
    match v {
        Value::String(s) => parse_ip(attr, s),
        other => Err(bad_input(attr, format!("'{}' is not a valid IP address", py(other)))),
    }
}

fn parse_pools(cidr: &IpNet, raw: Vec<Map<String, Value>>) -> PluginResult<Vec<Pool>> {
    let mut pools = Vec::with_capacity(raw.len());
    for p in raw {
        let (Some(start), Some(end)) = (p.get("start"), p.get("end")) else {
            return Err(bad_input(
                "allocation_pools",
                format!("Invalid data format for IP pool: '{}'", Value::Object(p.clone())),
            ));
        };
        if p.len() != 2 {
            return Err(bad_input(
                "allocation_pools",
                format!("Invalid data format for IP pool: '{}'", Value::Object(p.clone())),
            ));
        }
        let (start, end) = (take_ip_str("allocation_pools", start)?, take_ip_str("allocation_pools", end)?);
        if start.is_ipv4() != cidr.addr().is_ipv4() || end.is_ipv4() != cidr.addr().is_ipv4() {
            return Err(PluginError::InvalidInput(format!(
                "allocation pool {start}-{end} does not match the ip version of subnet {cidr}"
            )));
        }
        pools.push(Pool::new(start, end));
    }
    Ok(pools)
}

fn pools_doc(pools: &[Pool]) -> Vec<AllocationPool> {
    pools.iter().map(|p| AllocationPool { start: p.start.to_string(), end: p.end.to_string() }).collect()
}

pub(crate) fn pools_of(s: &Subnet) -> PluginResult<Vec<Pool>> {
    s.allocation_pools
        .iter()
        .map(|p| Ok(Pool::new(parse_ip("allocation_pools", &p.start)?, parse_ip("allocation_pools", &p.end)?)))
        .collect()
}

pub(crate) fn cidr_of(s: &Subnet) -> PluginResult<IpNet> {
    s.cidr
        .parse()
        .map_err(|_| PluginError::InvalidInput(format!("stored cidr {} of subnet {} is invalid", s.cidr, s.id)))
}

fn parse_nameservers(version: u8, raw: Vec<String>) -> PluginResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for s in raw {
        let ip = parse_ip("dns_nameservers", &s).map_err(|_| {
            bad_input("dns_nameservers", format!("'{s}' is not a valid nameserver. '{s}' is not a valid IP address"))
        })?;
        if (ip.is_ipv4() && version != 4) || (ip.is_ipv6() && version != 6) {
            return Err(PluginError::InvalidInput(format!(
                "DNS nameserver {ip} does not match the IP version of the subnet"
            )));
        }
        let canon = ip.to_string();
        if out.contains(&canon) {
            return Err(bad_input("dns_nameservers", format!("Duplicate nameserver '{s}'")));
        }
        out.push(canon);
    }
    Ok(out)
}

fn parse_routes(version: u8, raw: Vec<Map<String, Value>>) -> PluginResult<Vec<HostRoute>> {
    let mut out: Vec<HostRoute> = Vec::with_capacity(raw.len());
    for r in raw {
        let fmt =
            || bad_input("host_routes", format!("Invalid data format for hostroute: '{}'", Value::Object(r.clone())));
        let (Some(Value::String(dest)), Some(nexthop)) = (r.get("destination"), r.get("nexthop")) else {
            return Err(fmt());
        };
        if r.len() != 2 {
            return Err(fmt());
        }
        let dest_net: IpNet =
            dest.parse().map_err(|_| bad_input("host_routes", format!("'{dest}' is not a valid IP subnet")))?;
        let hop = take_ip_str("host_routes", nexthop)?;
        let want_v4 = version == 4;
        if dest_net.addr().is_ipv4() != want_v4 || hop.is_ipv4() != want_v4 {
            return Err(PluginError::InvalidInput(format!(
                "host route {dest} via {hop} does not match the IP version of the subnet"
            )));
        }
        let route = HostRoute { destination: dest_net.trunc().to_string(), nexthop: hop.to_string() };
        if out.contains(&route) {
            return Err(bad_input("host_routes", format!("Duplicate hostroute '{}'", Value::Object(r.clone()))));
        }
        out.push(route);
    }
    Ok(out)
}

fn check_limits(settings: &crate::Settings, subnet_id: &str, dns: &[String], routes: &[HostRoute]) -> PluginResult<()> {
    if dns.len() > settings.max_dns_nameservers {
        return Err(PluginError::Fault(neutrino_model::Fault::new(
            400,
            "DNSNameServersExhausted",
            format!(
                "Unable to complete operation for {subnet_id}. The number of DNS nameservers exceeds the limit {}.",
                settings.max_dns_nameservers
            ),
        )));
    }
    if routes.len() > settings.max_subnet_host_routes {
        return Err(PluginError::Fault(neutrino_model::Fault::new(
            400,
            "HostRoutesExhausted",
            format!(
                "Unable to complete operation for {subnet_id}. The number of host routes exceeds the limit {}.",
                settings.max_subnet_host_routes
            ),
        )));
    }
    Ok(())
}

fn gateway_from(v: Option<Value>, cidr: &IpNet) -> PluginResult<Option<Option<IpAddr>>> {
    match v {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => {
            let ip = take_ip_str("gateway_ip", &v)?;
            if ip.is_ipv4() != cidr.addr().is_ipv4() {
                return Err(PluginError::InvalidInput("Gateway IP version inconsistent with subnet IP version".into()));
            }
            neutrino_ipam::validate_gateway(*cidr, ip)?;
            Ok(Some(Some(ip)))
        }
    }
}

impl Plugin {
    pub(crate) async fn create_subnet(&self, tx: &mut Tx, ctx: &RequestContext, body: Value) -> PluginResult<Subnet> {
        let mut b = Body::new(body, RULES, Op::Create)?;
        let project_id = owner_of(ctx, &mut b)?;
        let network_id = Body::required("network_id", b.uuid("network_id")?)?;
        let network: Network = load(tx, ctx, Resource::Network, &network_id).await?;
        ctx.enforce("create_subnet", &crate::context::target(&project_id, &network.project_id))?;
        let ip_version = match b.raw("ip_version") {
            None => return Body::required("ip_version", None),
            Some(Value::Number(n)) if n.as_u64() == Some(4) => 4u8,
            Some(Value::Number(n)) if n.as_u64() == Some(6) => 6u8,
            Some(Value::String(s)) if s == "4" => 4,
            Some(Value::String(s)) if s == "6" => 6,
            Some(v) => return Err(bad_input("ip_version", format!("{} is not in [4, 6]", py(&v)))),
        };
        if let Some(Value::String(_)) = b.raw("subnetpool_id") {
            return Err(PluginError::InvalidInput("subnet pools are not supported by this server".into()));
        }
        if b.boolean("use_default_subnetpool")? == Some(true) {
            return Err(PluginError::InvalidInput("subnet pools are not supported by this server".into()));
        }
        if b.raw("prefixlen").is_some() {
            return Err(PluginError::BadRequest("prefixlen specified without subnetpool_id".into()));
        }
        let cidr_text = match b.string("cidr", 64)? {
            Some(c) => c,
            None => {
                return Err(PluginError::BadRequest("a cidr must be specified in the absence of a subnet pool".into()))
            }
        };
        let cidr = neutrino_ipam::parse_cidr(&cidr_text, Some(ip_version))?;
        let ra_mode = b.one_of("ipv6_ra_mode", IPV6_MODES, true)?.flatten();
        let addr_mode = b.one_of("ipv6_address_mode", IPV6_MODES, true)?.flatten();
        if ip_version == 4 && (ra_mode.is_some() || addr_mode.is_some()) {
            return Err(PluginError::InvalidInput(
                "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False or ip_version is 4"
                    .into(),
            ));
        }
        if let (Some(ra), Some(am)) = (&ra_mode, &addr_mode) {
            if ra != am {
                return Err(PluginError::InvalidInput(format!(
                    "ipv6_ra_mode set to '{ra}' with ipv6_address_mode set to '{am}' is not valid. If both attributes are set, they must be the same value"
                )));
            }
        }
        let auto_address = matches!(addr_mode.as_deref().or(ra_mode.as_deref()), Some("slaac" | "dhcpv6-stateless"));
        if auto_address && cidr.prefix_len() != 64 {
            return Err(PluginError::InvalidInput(format!(
                "Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64"
            )));
        }
        let gateway = match gateway_from(b.raw("gateway_ip"), &cidr)? {
            Some(g) => g,
            None => neutrino_ipam::default_gateway(cidr),
        };
        let pools = match b.object_list("allocation_pools")? {
            Some(raw) if !raw.is_empty() => {
                let pools = parse_pools(&cidr, raw)?;
                neutrino_ipam::validate_pools(cidr, &pools, gateway)?;
                pools
            }
            _ => neutrino_ipam::default_pools(cidr, gateway),
        };
        let dns = parse_nameservers(ip_version, b.string_list("dns_nameservers", 255)?.unwrap_or_default())?;
        let routes = parse_routes(ip_version, b.object_list("host_routes")?.unwrap_or_default())?;
        check_limits(&self.settings, "new subnet", &dns, &routes)?;
        let enable_dhcp = b.boolean("enable_dhcp")?.unwrap_or(true);
        if !enable_dhcp
            && ip_version == 6
            && matches!(addr_mode.as_deref(), Some("dhcpv6-stateful" | "dhcpv6-stateless"))
        {
            return Err(PluginError::InvalidInput(
                "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False".into(),
            ));
        }
        let name = b.string("name", 255)?.unwrap_or_default();
        let description = b.string("description", 255)?.unwrap_or_default();
        self.check_quota(tx, "subnet", &project_id).await?;
        self.check_overlap(tx, &network_id, &cidr).await?;

        let (id, now) = new_id_and_time();
        let subnet = Subnet {
            id: id.clone(),
            name,
            description,
            tenant_id: project_id.clone(),
            project_id,
            network_id: network_id.clone(),
            ip_version,
            cidr: cidr.to_string(),
            gateway_ip: gateway.map(|g| g.to_string()),
            allocation_pools: pools_doc(&pools),
            dns_nameservers: dns,
            host_routes: routes,
            enable_dhcp,
            ipv6_ra_mode: ra_mode,
            ipv6_address_mode: addr_mode,
            subnetpool_id: None,
            tags: Vec::new(),
            created_at: now.clone(),
            updated_at: now,
            revision_number: 1,
        };
        tx.insert(Table::Subnets, &subnet_row(&subnet)?).await?;
        self.network_subnets_changed(tx, &network_id, Some(&id), None).await?;
        if super::ipalloc::is_auto_address(&subnet) {
            self.add_auto_addresses(tx, &subnet).await?;
        }
        Ok(subnet)
    }

    /// A new SLAAC / DHCPv6-stateless subnet gives every port already on
    /// the network (but router interfaces) its EUI-64 address, as Neutron does.
    async fn add_auto_addresses(&self, tx: &mut Tx, subnet: &Subnet) -> PluginResult<()> {
        let ports: Vec<Port> = docs(tx, Table::Ports, "network_id", &subnet.network_id).await?;
        for mut p in ports.into_iter().filter(|p| !p.device_owner.starts_with("network:router_interface")) {
            let mac = neutrino_ipam::parse_mac(&p.mac_address)?;
            let ip = super::ipalloc::allocate(tx, subnet, &p.id, mac, &super::ipalloc::Want::Eui64).await?;
            p.fixed_ips.push(ip);
            super::touch(&mut p.revision_number, &mut p.updated_at);
            tx.update(Table::Ports, &port_row(&p)?).await?;
        }
        Ok(())
    }

    async fn check_overlap(&self, tx: &mut Tx, network_id: &str, cidr: &IpNet) -> PluginResult<()> {
        let mut q = ListQuery::all(Scope::Admin);
        if self.settings.allow_overlapping_ips {
            q.filters.push(neutrino_store::Filter::Eq {
                attr: "network_id".into(),
                values: vec![neutrino_store::SqlValue::Text(network_id.to_string())],
            });
        }
        let (existing, _) = tx.list_docs(Table::Subnets, &q).await?;
        for doc in existing {
            let s: Subnet = from_doc(Table::Subnets, network_id, &doc)?;
            if neutrino_ipam::cidrs_overlap(&cidr_of(&s)?, cidr) {
                return Err(PluginError::InvalidInput(format!(
                    "Requested subnet with cidr: {cidr} for network: {network_id} overlaps with another subnet"
                )));
            }
        }
        Ok(())
    }

    pub(crate) async fn update_subnet(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        body: Value,
        if_match: Option<u64>,
    ) -> PluginResult<Subnet> {
        let mut b = Body::new(body, RULES, Op::Update)?;
        let mut s: Subnet = load_for_change(tx, ctx, Resource::Subnet, id, if_match, Change::Update).await?;
        let cidr = cidr_of(&s)?;
        if let Some(v) = b.string("name", 255)? {
            s.name = v;
        }
        if let Some(v) = b.string("description", 255)? {
            s.description = v;
        }
        let mut gateway = s.gateway_ip.as_deref().map(|g| parse_ip("gateway_ip", g)).transpose()?;
        let gateway_changed = match gateway_from(b.raw("gateway_ip"), &cidr)? {
            Some(g) => {
                gateway = g;
                true
            }
            None => false,
        };
        let mut pools = pools_of(&s)?;
        let pools_changed = match b.object_list("allocation_pools")? {
            Some(raw) => {
                pools =
                    if raw.is_empty() { neutrino_ipam::default_pools(cidr, gateway) } else { parse_pools(&cidr, raw)? };
                true
            }
            None => false,
        };
        if gateway_changed || pools_changed {
            neutrino_ipam::validate_pools(cidr, &pools, gateway)?;
            if gateway_changed {
                if let Some(g) = gateway {
                    let holders = tx.allocations_in_subnet(id).await?;
                    if let Some((a, owner)) = holders.iter().find(|(a, _)| a.ip_address == g.to_string()) {
                        if !owner.starts_with("network:router") {
                            return Err(PluginError::Fault(neutrino_model::Fault::new(
                                409,
                                "GatewayIpInUse",
                                format!(
                                    "Current gateway ip {g} already in use by port {}. Unable to update.",
                                    a.port_id
                                ),
                            )));
                        }
                    }
                }
            }
            s.gateway_ip = gateway.map(|g| g.to_string());
            s.allocation_pools = pools_doc(&pools);
        }
        if let Some(v) = b.string_list("dns_nameservers", 255)? {
            s.dns_nameservers = parse_nameservers(s.ip_version, v)?;
        }
        if let Some(v) = b.object_list("host_routes")? {
            s.host_routes = parse_routes(s.ip_version, v)?;
        }
        check_limits(&self.settings, id, &s.dns_nameservers, &s.host_routes)?;
        if let Some(v) = b.boolean("enable_dhcp")? {
            if !v && matches!(s.ipv6_address_mode.as_deref(), Some("dhcpv6-stateful" | "dhcpv6-stateless")) {
                return Err(PluginError::InvalidInput(
                    "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False".into(),
                ));
            }
            s.enable_dhcp = v;
        }
        super::touch(&mut s.revision_number, &mut s.updated_at);
        tx.update(Table::Subnets, &subnet_row(&s)?).await?;
        Ok(s)
    }

    pub(crate) async fn delete_subnet(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<u64>,
    ) -> PluginResult<()> {
        let s: Subnet = load_for_change(tx, ctx, Resource::Subnet, id, if_match, Change::Delete).await?;
        let holders = tx.allocations_in_subnet(id).await?;
        // Addresses the subnet hands out itself (SLAAC) go with it, as do
        // the DHCP ports'; any other holder keeps the subnet in use.
        let auto = super::ipalloc::is_auto_address(&s);
        let removable = |owner: &str| owner == OWNER_DHCP || (auto && !owner.starts_with("network:router_interface"));
        if holders.iter().any(|(_, owner)| !removable(owner)) {
            return Err(PluginError::SubnetInUse(id.to_string()));
        }
        // Those ports lose their address on this subnet and stay.
        for (a, _) in &holders {
            tx.delete_allocation(id, &a.ip_address).await?;
            let ports: Vec<Port> = docs(tx, Table::Ports, "id", &a.port_id).await?;
            for mut p in ports {
                p.fixed_ips.retain(|f| f.subnet_id != id);
                super::touch(&mut p.revision_number, &mut p.updated_at);
                tx.update(Table::Ports, &port_row(&p)?).await?;
            }
        }
        tx.delete(Table::Subnets, id).await?;
        self.network_subnets_changed(tx, &s.network_id, None, Some(id)).await?;
        Ok(())
    }
}

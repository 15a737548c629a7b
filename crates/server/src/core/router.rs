//! Routers (the L3 service plugin): the external gateway, interfaces by
//! subnet or by port, and extra routes, with Neutron's rules.
//!
//! A router's ports are ordinary ports whose `device_id` is the router:
//! `network:router_gateway` on the external network (owned by no project,
//! as Neutron has it) and `network:router_interface` on internal networks
//! (owned by the subnet's project), holding the subnets' gateway IPs.

use std::net::IpAddr;

use ipnet::IpNet;
use neutrino_model::fault::Resource;
use neutrino_model::Fault;
use neutrino_model::{ExternalFixedIp, ExternalGatewayInfo, FloatingIp, HostRoute, Network, Port, Router, Subnet};
use neutrino_store::{DocRow, SqlValue, Table, Tx};
use serde_json::{json, Map, Value};

use super::changes::Op as ChangeOp;
use super::input::{py, rule, AttrRule, Body, Op};
use super::{by, docs, load, load_for_change, new_id_and_time, owner_of, to_doc, touch, Change, Plugin};
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};

/// `device_owner` of a router's internal ports.
pub const ROUTER_INTERFACE: &str = "network:router_interface";
/// `device_owner` of a router's gateway port.
pub const ROUTER_GATEWAY: &str = "network:router_gateway";
/// `device_owner` of a floating IP's port.
pub const FLOATINGIP: &str = "network:floatingip";
/// Neutron's `max_routes`.
const MAX_ROUTES: usize = 30;

const RULES: &[AttrRule] = &[
    rule("id", false, false),
    rule("name", true, true),
    rule("description", true, true),
    rule("project_id", true, false),
    rule("tenant_id", true, false),
    rule("admin_state_up", true, true),
    rule("status", false, false),
    rule("external_gateway_info", true, true),
    rule("routes", false, true),
    rule("distributed", true, true),
    rule("ha", true, true),
    rule("availability_zone_hints", true, false),
    rule("availability_zones", false, false),
    rule("flavor_id", true, false),
    rule("tags", false, false),
    rule("created_at", false, false),
    rule("updated_at", false, false),
    rule("revision_number", false, false),
];

/// 400 `BadRequest` for a router ("Bad router request: …").
pub(crate) fn bad_router(msg: impl std::fmt::Display) -> PluginError {
    PluginError::Fault(Fault::new(400, "BadRequest", format!("Bad router request: {msg}.")))
}

fn fault(status: u16, kind: &str, msg: String) -> PluginError {
    PluginError::Fault(Fault::new(status, kind, msg))
}

pub(crate) fn router_row(r: &Router) -> PluginResult<DocRow> {
    let gw = r.external_gateway_info.as_ref().map(|g| g.network_id.clone()).unwrap_or_default();
    Ok(DocRow {
        id: r.id.clone(),
        columns: vec![SqlValue::Text(r.project_id.clone()), SqlValue::Text(r.name.clone()), SqlValue::Text(gw)],
        doc: to_doc(r)?,
    })
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

/// The doc of a value for the change log.
fn as_value<T: serde::Serialize>(v: &T) -> PluginResult<Value> {
    serde_json::to_value(v).map_err(|e| PluginError::BadRequest(e.to_string()))
}

/// `distributed`/`ha`: readable, settable only to false (neither is built).
fn refuse_unbuilt(b: &mut Body, ctx: &RequestContext, verb: &str, target: &Map<String, Value>) -> PluginResult<()> {
    for key in ["distributed", "ha"] {
        if let Some(v) = b.boolean(key)? {
            ctx.enforce(&format!("{verb}_router:{key}"), target)?;
            if v {
                return Err(bad_router(format!("{key} routers are not supported by Neutrino's L3 plugin")));
            }
        }
    }
    Ok(())
}

impl Plugin {
    /// The ports of a router, gateway included.
    pub(crate) async fn router_ports(&self, tx: &mut Tx, router_id: &str) -> PluginResult<Vec<Port>> {
        let ports: Vec<Port> = docs(tx, Table::Ports, vec![by("device_id", text(router_id))]).await?;
        Ok(ports
            .into_iter()
            .filter(|p| p.device_owner == ROUTER_INTERFACE || p.device_owner == ROUTER_GATEWAY)
            .collect())
    }

    /// The subnets a router is connected to (interfaces and gateway), with the port on each.
    async fn router_subnets(&self, tx: &mut Tx, router_id: &str) -> PluginResult<Vec<(Subnet, Port)>> {
        let mut out = Vec::new();
        for p in self.router_ports(tx, router_id).await? {
            for f in &p.fixed_ips {
                let s: Subnet = load(tx, &RequestContext::admin(""), Resource::Subnet, &f.subnet_id).await?;
                out.push((s, p.clone()));
            }
        }
        Ok(out)
    }

    /// Floating IPs carried by a router.
    pub(crate) async fn router_floating_ips(&self, tx: &mut Tx, router_id: &str) -> PluginResult<Vec<FloatingIp>> {
        docs(tx, Table::FloatingIps, vec![by("router_id", text(router_id))]).await
    }

    pub(crate) async fn create_router(&self, tx: &mut Tx, ctx: &RequestContext, body: Value) -> PluginResult<Router> {
        let mut b = Body::new(body, RULES, Op::Create)?;
        let project_id = owner_of(ctx, &mut b)?;
        let target = crate::context::target(&project_id, &project_id);
        let name = b.string("name", 255)?.unwrap_or_default();
        let description = b.string("description", 255)?.unwrap_or_default();
        let admin_state_up = b.boolean("admin_state_up")?.unwrap_or(true);
        refuse_unbuilt(&mut b, ctx, "create", &target)?;
        let az_hints = b.string_list("availability_zone_hints", 255)?.unwrap_or_default();
        if let Some(Some(f)) = b.string_or_null("flavor_id", 36)? {
            return Err(fault(404, "FlavorNotFound", format!("Flavor {f} could not be found.")));
        }
        let gateway = b.object("external_gateway_info")?;
        self.check_quota(tx, "router", &project_id).await?;
        let (id, now) = new_id_and_time();
        let mut router = Router {
            id,
            name,
            description,
            tenant_id: project_id.clone(),
            project_id,
            admin_state_up,
            status: if admin_state_up { "ACTIVE".into() } else { "DOWN".into() },
            external_gateway_info: None,
            routes: Vec::new(),
            distributed: false,
            ha: false,
            availability_zone_hints: az_hints,
            availability_zones: self.settings.default_availability_zones.clone(),
            flavor_id: None,
            tags: Vec::new(),
            created_at: now.clone(),
            updated_at: now,
            revision_number: 1,
        };
        tx.insert(Table::Routers, &router_row(&router)?).await?;
        if let Some(info) = gateway.filter(|g| !g.is_empty()) {
            self.set_gateway(tx, ctx, &mut router, info, "create").await?;
            tx.update(Table::Routers, &router_row(&router)?).await?;
        }
        Ok(router)
    }

    pub(crate) async fn update_router(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        body: Value,
        if_match: Option<u64>,
    ) -> PluginResult<Router> {
        let mut b = Body::new(body, RULES, Op::Update)?;
        let mut r: Router = load_for_change(tx, ctx, Resource::Router, id, if_match, Change::Update).await?;
        let target = crate::context::target(&r.project_id, &r.project_id);
        if let Some(v) = b.string("name", 255)? {
            r.name = v;
        }
        if let Some(v) = b.string("description", 255)? {
            r.description = v;
        }
        if let Some(v) = b.boolean("admin_state_up")? {
            r.admin_state_up = v;
            r.status = if v { "ACTIVE".into() } else { "DOWN".into() };
        }
        refuse_unbuilt(&mut b, ctx, "update", &target)?;
        if let Some(info) = b.object("external_gateway_info")? {
            self.set_gateway(tx, ctx, &mut r, info, "update").await?;
        }
        if let Some(raw) = b.raw("routes") {
            r.routes = self.valid_routes(tx, &r, &raw).await?;
        }
        touch(&mut r.revision_number, &mut r.updated_at);
        tx.update(Table::Routers, &router_row(&r)?).await?;
        Ok(r)
    }

    pub(crate) async fn delete_router(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<u64>,
    ) -> PluginResult<()> {
        let mut r: Router = load_for_change(tx, ctx, Resource::Router, id, if_match, Change::Delete).await?;
        let ports = self.router_ports(tx, id).await?;
        if ports.iter().any(|p| p.device_owner == ROUTER_INTERFACE) {
            return Err(fault(409, "RouterInUse", format!("Router {id} still has ports")));
        }
        if r.external_gateway_info.is_some() {
            self.clear_gateway(tx, &mut r).await?;
        }
        tx.delete(Table::Routers, id).await?;
        Ok(())
    }

    /// Removes the gateway port (refused while floating IPs use it).
    async fn clear_gateway(&self, tx: &mut Tx, r: &mut Router) -> PluginResult<()> {
        let Some(info) = r.external_gateway_info.take() else { return Ok(()) };
        if !self.router_floating_ips(tx, &r.id).await?.is_empty() {
            return Err(fault(
                409,
                "RouterExternalGatewayInUseByFloatingIp",
                format!(
                    "Gateway cannot be updated for router {}, since a gateway to external network {} is required by one or more floating IPs.",
                    r.id, info.network_id
                ),
            ));
        }
        for p in self.router_ports(tx, &r.id).await?.into_iter().filter(|p| p.device_owner == ROUTER_GATEWAY) {
            self.delete_port(tx, &RequestContext::admin(""), &p.id, None).await?;
            self.log_change(tx, Resource::Port, ChangeOp::Delete, &as_value(&p)?).await?;
        }
        Ok(())
    }

    /// Sets (or with `{}` clears) `external_gateway_info`.
    async fn set_gateway(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        r: &mut Router,
        mut info: Map<String, Value>,
        verb: &str,
    ) -> PluginResult<()> {
        let target = crate::context::target(&r.project_id, &r.project_id);
        ctx.enforce(&format!("{verb}_router:external_gateway_info"), &target)?;
        if info.is_empty() {
            return self.clear_gateway(tx, r).await;
        }
        if let Some(k) =
            info.keys().find(|k| !matches!(k.as_str(), "network_id" | "enable_snat" | "external_fixed_ips"))
        {
            return Err(PluginError::BadRequest(format!(
                "Invalid input for external_gateway_info. Reason: Unexpected keys supplied: {k}."
            )));
        }
        let network_id = match info.remove("network_id") {
            Some(Value::String(s)) => super::input::parse_uuid(&s).ok_or_else(|| {
                PluginError::BadRequest(format!("Invalid input for external_gateway_info. Reason: '{s}' is not a valid UUID."))
            })?,
            _ => {
                return Err(PluginError::BadRequest(
                    "Invalid input for external_gateway_info. Reason: Validation of dictionary's keys failed. Expected keys: {'network_id'}".into(),
                ))
            }
        };
        ctx.enforce(&format!("{verb}_router:external_gateway_info:network_id"), &target)?;
        let enable_snat = match info.remove("enable_snat") {
            None => None,
            Some(v) => {
                ctx.enforce(&format!("{verb}_router:external_gateway_info:enable_snat"), &target)?;
                Some(super::input::to_bool(&v).ok_or_else(|| {
                    PluginError::BadRequest(format!(
                        "Invalid input for external_gateway_info. Reason: '{}' is not a valid boolean value.",
                        py(&v)
                    ))
                })?)
            }
        };
        let fixed = match info.remove("external_fixed_ips") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                ctx.enforce(&format!("{verb}_router:external_gateway_info:external_fixed_ips"), &target)?;
                let mut out = Vec::new();
                for item in items {
                    let Value::Object(m) = item else {
                        return Err(PluginError::BadRequest(
                            "Invalid input for external_fixed_ips. Reason: each item must be a dictionary.".into(),
                        ));
                    };
                    if let Some(k) = m.keys().find(|k| !matches!(k.as_str(), "subnet_id" | "ip_address")) {
                        return Err(PluginError::BadRequest(format!(
                            "Invalid input for external_fixed_ips. Reason: Unexpected keys supplied: {k}."
                        )));
                    }
                    out.push(Value::Object(m));
                }
                Some(out)
            }
            Some(v) => {
                return Err(PluginError::BadRequest(format!(
                    "Invalid input for external_fixed_ips. Reason: '{}' is not a list.",
                    py(&v)
                )))
            }
        };
        let admin = RequestContext::admin("");
        let network: Network = load(tx, &admin, Resource::Network, &network_id).await?;
        if !network.router_external {
            return Err(bad_router(format!("Network {network_id} is not an external network")));
        }
        let subnets: Vec<Subnet> = docs(tx, Table::Subnets, vec![by("network_id", text(&network_id))]).await?;
        if subnets.is_empty() {
            return Err(bad_router(format!("No subnets defined on network {network_id}")));
        }
        let same_network = r.external_gateway_info.as_ref().is_some_and(|g| g.network_id == network_id);
        let snat = enable_snat.unwrap_or_else(|| r.external_gateway_info.as_ref().is_none_or(|g| g.enable_snat));
        let gw_port = self.router_ports(tx, &r.id).await?.into_iter().find(|p| p.device_owner == ROUTER_GATEWAY);
        let port = match (same_network, gw_port) {
            (true, Some(p)) => match fixed {
                Some(fixed) if !same_addresses(&p, &fixed) => {
                    let p = self.update_port(tx, &admin, &p.id, json!({"fixed_ips": fixed}), None).await?;
                    self.log_change(tx, Resource::Port, ChangeOp::Update, &as_value(&p)?).await?;
                    p
                }
                _ => p,
            },
            _ => {
                self.clear_gateway(tx, r).await?;
                let mut body = json!({
                    "network_id": network_id, "project_id": "", "device_owner": ROUTER_GATEWAY,
                    "device_id": r.id, "name": "", "admin_state_up": true,
                });
                match fixed {
                    Some(f) => body["fixed_ips"] = Value::Array(f),
                    // One address per IP version, as Neutron gives gateways.
                    None => {
                        let mut picks = Vec::new();
                        for v in [4u8, 6] {
                            if let Some(s) = subnets.iter().find(|s| s.ip_version == v) {
                                picks.push(json!({"subnet_id": s.id}));
                            }
                        }
                        body["fixed_ips"] = Value::Array(picks);
                    }
                }
                let p = self.create_port_unmetered(tx, &admin, body).await?;
                self.log_change(tx, Resource::Port, ChangeOp::Create, &as_value(&p)?).await?;
                p
            }
        };
        // The gateway must not overlap the router's internal subnets.
        let internal: Vec<(Subnet, Port)> = self
            .router_subnets(tx, &r.id)
            .await?
            .into_iter()
            .filter(|(_, p)| p.device_owner == ROUTER_INTERFACE)
            .collect();
        for f in &port.fixed_ips {
            if let Some(s) = subnets.iter().find(|s| s.id == f.subnet_id) {
                check_overlap(s, internal.iter().map(|(s, _)| s))?;
            }
        }
        r.external_gateway_info = Some(ExternalGatewayInfo {
            network_id,
            enable_snat: snat,
            external_fixed_ips: port
                .fixed_ips
                .iter()
                .map(|f| ExternalFixedIp { subnet_id: f.subnet_id.clone(), ip_address: f.ip_address.clone() })
                .collect(),
        });
        Ok(())
    }

    /// `routes`: destinations and next hops on the router's subnets.
    async fn valid_routes(&self, tx: &mut Tx, r: &Router, raw: &Value) -> PluginResult<Vec<HostRoute>> {
        let invalid = |why: &str| fault(400, "InvalidRoutes", format!("Invalid format for routes: {}, {why}", py(raw)));
        let items = match raw {
            Value::Null => return Ok(Vec::new()),
            Value::Array(items) => items,
            _ => return Err(invalid("the routes must be a list")),
        };
        let mut routes: Vec<HostRoute> = Vec::new();
        for item in items {
            let Value::Object(m) = item else { return Err(invalid("each route must be a dictionary")) };
            if m.len() != 2 {
                return Err(invalid("each route has exactly a destination and a nexthop"));
            }
            let (Some(Value::String(d)), Some(Value::String(n))) = (m.get("destination"), m.get("nexthop")) else {
                return Err(invalid("each route has exactly a destination and a nexthop"));
            };
            let dest: IpNet = d.parse().map_err(|_| invalid(&format!("'{d}' is not a valid CIDR")))?;
            let hop: IpAddr = n.parse().map_err(|_| invalid(&format!("'{n}' is not a valid IP address")))?;
            if dest.addr().is_ipv4() != hop.is_ipv4() {
                return Err(invalid("the destination and nexthop are of different IP versions"));
            }
            let route = HostRoute { destination: dest.trunc().to_string(), nexthop: hop.to_string() };
            if !routes.contains(&route) {
                routes.push(route);
            }
        }
        if routes.len() > MAX_ROUTES {
            return Err(fault(
                400,
                "RoutesExhausted",
                format!(
                    "Unable to complete operation for {}. The number of routes exceeds the maximum {MAX_ROUTES}.",
                    r.id
                ),
            ));
        }
        let connected = self.router_subnets(tx, &r.id).await?;
        for route in &routes {
            let hop: IpAddr = route.nexthop.parse().map_err(|_| invalid("bad nexthop"))?;
            if connected.iter().any(|(_, p)| p.fixed_ips.iter().any(|f| f.ip_address == route.nexthop)) {
                return Err(invalid("the nexthop is used by router"));
            }
            let on_link = connected.iter().any(|(s, _)| s.cidr.parse::<IpNet>().is_ok_and(|c| c.contains(&hop)));
            if !on_link {
                return Err(invalid("the nexthop is not connected with router"));
            }
        }
        Ok(routes)
    }

    /// `PUT /routers/{id}/add_extraroutes` and `remove_extraroutes`.
    pub async fn change_extraroutes(
        &self,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        add: bool,
    ) -> PluginResult<Value> {
        let verb = if add { "add_extraroutes" } else { "remove_extraroutes" };
        let Some(raw) = body.get("router").and_then(|r| r.get("routes")) else {
            return Err(PluginError::BadRequest("Resource body required: {\"router\": {\"routes\": [...]}}".into()));
        };
        if let Some(Value::Object(m)) = body.get("router") {
            if let Some(k) = m.keys().find(|k| *k != "routes") {
                return Err(PluginError::BadRequest(format!("Unrecognized attribute(s) '{k}'")));
            }
        }
        let mut tx = self.begin().await?;
        let mut r: Router = load(&mut tx, ctx, Resource::Router, id).await?;
        ctx.enforce(verb, &crate::context::target(&r.project_id, &r.project_id))?;
        let given = self.valid_routes(&mut tx, &r, raw).await;
        let given = match (given, add) {
            (Ok(g), _) => g,
            // Removing may name routes whose next hop is gone.
            (Err(_), false) => parse_routes_loosely(raw),
            (Err(e), true) => return Err(e),
        };
        let mut routes = r.routes.clone();
        if add {
            for g in given {
                if !routes.contains(&g) {
                    routes.push(g);
                }
            }
            let all = serde_json::to_value(&routes).map_err(|e| PluginError::BadRequest(e.to_string()))?;
            routes = self.valid_routes(&mut tx, &r, &all).await?;
        } else {
            routes.retain(|x| !given.contains(x));
        }
        r.routes = routes;
        touch(&mut r.revision_number, &mut r.updated_at);
        tx.update(Table::Routers, &router_row(&r)?).await?;
        let v = as_value(&r)?;
        self.log_change(&mut tx, Resource::Router, ChangeOp::Update, &v).await?;
        tx.commit().await?;
        self.changed();
        Ok(json!({ "router": v }))
    }

    /// `PUT /routers/{id}/add_router_interface` (`subnet_id` or `port_id`).
    pub async fn add_router_interface(&self, ctx: &RequestContext, id: &str, body: &Value) -> PluginResult<Value> {
        let (subnet_id, port_id) = interface_request(body)?;
        let mut tx = self.begin().await?;
        let mut r: Router = load(&mut tx, ctx, Resource::Router, id).await?;
        ctx.enforce("add_router_interface", &crate::context::target(&r.project_id, &r.project_id))?;
        let connected = self.router_subnets(&mut tx, id).await?;
        let admin = RequestContext::admin("");
        let port = match (subnet_id, port_id) {
            (Some(sid), _) => {
                let s: Subnet = load(&mut tx, ctx, Resource::Subnet, &sid).await?;
                let Some(gw) = s.gateway_ip.clone() else {
                    return Err(bad_router("Subnet for router interface must have a gateway IP"));
                };
                if connected.iter().any(|(c, _)| c.id == s.id) {
                    return Err(bad_router(format!("Router already has a port on subnet {}", s.id)));
                }
                check_overlap(&s, connected.iter().map(|(c, _)| c))?;
                let body = json!({
                    "network_id": s.network_id, "project_id": s.project_id, "device_owner": ROUTER_INTERFACE,
                    "device_id": id, "name": "", "admin_state_up": true,
                    "fixed_ips": [{"subnet_id": s.id, "ip_address": gw}],
                });
                let p = self.create_port_unmetered(&mut tx, &admin, body).await?;
                self.log_change(&mut tx, Resource::Port, ChangeOp::Create, &as_value(&p)?).await?;
                p
            }
            (None, Some(pid)) => {
                let mut p: Port = load(&mut tx, ctx, Resource::Port, &pid).await?;
                if !p.device_id.is_empty() || !p.device_owner.is_empty() {
                    return Err(fault(
                        409,
                        "PortInUse",
                        format!(
                            "Unable to complete operation on port {pid} for network {}. Port already has an attached device {}.",
                            p.network_id, p.device_id
                        ),
                    ));
                }
                if p.fixed_ips.is_empty() {
                    return Err(bad_router("Router port must have at least one fixed IP"));
                }
                for f in &p.fixed_ips {
                    let s: Subnet = load(&mut tx, &admin, Resource::Subnet, &f.subnet_id).await?;
                    if connected.iter().any(|(c, _)| c.id == s.id) {
                        return Err(bad_router(format!("Router already has a port on subnet {}", s.id)));
                    }
                    check_overlap(&s, connected.iter().map(|(c, _)| c))?;
                }
                p = self
                    .update_port(
                        &mut tx,
                        &admin,
                        &pid,
                        json!({"device_owner": ROUTER_INTERFACE, "device_id": id}),
                        None,
                    )
                    .await?;
                self.log_change(&mut tx, Resource::Port, ChangeOp::Update, &as_value(&p)?).await?;
                p
            }
            (None, None) => unreachable_request()?,
        };
        touch(&mut r.revision_number, &mut r.updated_at);
        tx.update(Table::Routers, &router_row(&r)?).await?;
        self.log_change(&mut tx, Resource::Router, ChangeOp::Update, &as_value(&r)?).await?;
        tx.commit().await?;
        self.changed();
        self.reschedule_l3().await;
        Ok(interface_info(&r, &port))
    }

    /// `PUT /routers/{id}/remove_router_interface`.
    pub async fn remove_router_interface(&self, ctx: &RequestContext, id: &str, body: &Value) -> PluginResult<Value> {
        let (subnet_id, port_id) = interface_request(body)?;
        let mut tx = self.begin().await?;
        let mut r: Router = load(&mut tx, ctx, Resource::Router, id).await?;
        ctx.enforce("remove_router_interface", &crate::context::target(&r.project_id, &r.project_id))?;
        let interfaces: Vec<Port> =
            self.router_ports(&mut tx, id).await?.into_iter().filter(|p| p.device_owner == ROUTER_INTERFACE).collect();
        let port = match (&port_id, &subnet_id) {
            (Some(pid), _) => {
                let p = interfaces.iter().find(|p| &p.id == pid).cloned().ok_or_else(|| {
                    fault(
                        404,
                        "RouterInterfaceNotFound",
                        format!("Router {id} does not have an interface with id {pid}"),
                    )
                })?;
                if let Some(sid) = &subnet_id {
                    if !p.fixed_ips.iter().any(|f| &f.subnet_id == sid) {
                        return Err(fault(
                            409,
                            "SubnetMismatchForPort",
                            format!("Subnet on port {pid} does not match the requested subnet {sid}."),
                        ));
                    }
                }
                p
            }
            (None, Some(sid)) => interfaces
                .iter()
                .find(|p| p.fixed_ips.iter().any(|f| &f.subnet_id == sid))
                .cloned()
                .ok_or_else(|| {
                fault(404, "RouterInterfaceNotFoundForSubnet", format!("Router {id} has no interface on subnet {sid}"))
            })?,
            (None, None) => unreachable_request()?,
        };
        // What still needs the interface: floating IPs behind it, routes through it.
        let admin = RequestContext::admin("");
        let fips = self.router_floating_ips(&mut tx, id).await?;
        for f in &port.fixed_ips {
            let s: Subnet = load(&mut tx, &admin, Resource::Subnet, &f.subnet_id).await?;
            let Ok(cidr) = s.cidr.parse::<IpNet>() else { continue };
            let inside = |ip: &str| ip.parse::<IpAddr>().is_ok_and(|a| cidr.contains(&a));
            let mut forwarded = Vec::new();
            for fip in &fips {
                forwarded.extend(
                    self.fip_port_forwardings(&mut tx, &fip.id).await?.into_iter().map(|p| p.internal_ip_address),
                );
            }
            if fips.iter().any(|fip| fip.fixed_ip_address.as_deref().is_some_and(inside))
                || forwarded.iter().any(|ip| inside(ip))
            {
                return Err(fault(
                    409,
                    "RouterInterfaceInUseByFloatingIP",
                    format!(
                        "Router interface for subnet {} on router {id} cannot be deleted, as it is required by one or more floating IPs.",
                        s.id
                    ),
                ));
            }
            if r.routes.iter().any(|rt| inside(&rt.nexthop)) {
                return Err(fault(
                    409,
                    "RouterInterfaceInUseByRoute",
                    format!(
                        "Router interface for subnet {} on router {id} cannot be deleted, as it is required by one or more routes.",
                        s.id
                    ),
                ));
            }
        }
        self.delete_port(&mut tx, &admin, &port.id, None).await?;
        self.log_change(&mut tx, Resource::Port, ChangeOp::Delete, &as_value(&port)?).await?;
        touch(&mut r.revision_number, &mut r.updated_at);
        tx.update(Table::Routers, &router_row(&r)?).await?;
        self.log_change(&mut tx, Resource::Router, ChangeOp::Update, &as_value(&r)?).await?;
        tx.commit().await?;
        self.changed();
        Ok(interface_info(&r, &port))
    }
}

/// The `subnet_id`/`port_id` of an interface request (exactly one, or a
/// port with its subnet on removal).
fn interface_request(body: &Value) -> PluginResult<(Option<String>, Option<String>)> {
    let Value::Object(m) = body else { return Err(PluginError::BadRequest("Body contains invalid data".into())) };
    if let Some(k) = m.keys().find(|k| !matches!(k.as_str(), "subnet_id" | "port_id")) {
        return Err(bad_router(format!("Unrecognized attribute '{k}'")));
    }
    let id = |k: &str| -> PluginResult<Option<String>> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => super::input::parse_uuid(s).map(Some).ok_or_else(|| {
                PluginError::BadRequest(format!("Invalid input for {k}. Reason: '{s}' is not a valid UUID."))
            }),
            Some(v) => {
                Err(PluginError::BadRequest(format!("Invalid input for {k}. Reason: '{}' is not a valid UUID.", py(v))))
            }
        }
    };
    match (id("subnet_id")?, id("port_id")?) {
        (None, None) => Err(bad_router("Either subnet_id or port_id must be specified")),
        pair => Ok(pair),
    }
}

fn unreachable_request() -> PluginResult<Port> {
    Err(bad_router("Either subnet_id or port_id must be specified"))
}

/// What add/remove_router_interface answer.
fn interface_info(r: &Router, port: &Port) -> Value {
    let subnets: Vec<&str> = port.fixed_ips.iter().map(|f| f.subnet_id.as_str()).collect();
    json!({
        "id": r.id, "tenant_id": r.project_id, "project_id": r.project_id, "port_id": port.id,
        "network_id": port.network_id, "subnet_id": subnets.first(), "subnet_ids": subnets,
    })
}

/// Whether a port already has exactly these requested addresses.
fn same_addresses(p: &Port, fixed: &[Value]) -> bool {
    fixed.len() == p.fixed_ips.len()
        && fixed.iter().all(|f| {
            p.fixed_ips.iter().any(|have| {
                f.get("subnet_id").and_then(Value::as_str).is_none_or(|s| s == have.subnet_id)
                    && f.get("ip_address").and_then(Value::as_str).is_none_or(|ip| ip == have.ip_address)
            })
        })
}

/// Refuses a subnet whose CIDR overlaps one the router is already on.
fn check_overlap<'a>(s: &Subnet, others: impl Iterator<Item = &'a Subnet>) -> PluginResult<()> {
    let Ok(mine) = s.cidr.parse::<IpNet>() else { return Ok(()) };
    for o in others {
        if o.id == s.id {
            continue;
        }
        let Ok(theirs) = o.cidr.parse::<IpNet>() else { continue };
        if mine.contains(&theirs.network()) || theirs.contains(&mine.network()) {
            return Err(bad_router(format!(
                "Cidr {} of subnet {} overlaps with cidr {} of subnet {}",
                s.cidr, s.id, o.cidr, o.id
            )));
        }
    }
    Ok(())
}

/// Routes named for removal, taken as given (their next hop may be gone).
fn parse_routes_loosely(raw: &Value) -> Vec<HostRoute> {
    raw.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    let d: IpNet = i.get("destination")?.as_str()?.parse().ok()?;
                    let n: IpAddr = i.get("nexthop")?.as_str()?.parse().ok()?;
                    Some(HostRoute { destination: d.trunc().to_string(), nexthop: n.to_string() })
                })
                .collect()
        })
        .unwrap_or_default()
}

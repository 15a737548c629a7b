//! Floating IPs: an address of an external network, held by its own port
//! (`network:floatingip`), mapped to an instance's fixed IP through the
//! router that joins the instance's subnet to that external network.

use std::net::IpAddr;

use neutrino_model::fault::Resource;
use neutrino_model::{FloatingIp, Network, Port, Router, Subnet};
use neutrino_store::{DocRow, SqlValue, Table, Tx};
use serde_json::{json, Value};

use super::changes::Op as ChangeOp;
use super::input::{rule, AttrRule, Body, Op};
use super::router::{FLOATINGIP, ROUTER_GATEWAY, ROUTER_INTERFACE};
use super::{by, docs, load, load_for_change, new_id_and_time, owner_of, to_doc, touch, Change, Plugin};
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};

const RULES: &[AttrRule] = &[
    rule("id", false, false),
    rule("project_id", true, false),
    rule("tenant_id", true, false),
    rule("description", true, true),
    rule("floating_network_id", true, false),
    rule("floating_ip_address", true, false),
    rule("subnet_id", true, false),
    rule("port_id", true, true),
    rule("fixed_ip_address", true, true),
    rule("router_id", false, false),
    rule("status", false, false),
    rule("tags", false, false),
    rule("created_at", false, false),
    rule("updated_at", false, false),
    rule("revision_number", false, false),
];

fn bad_fip(msg: impl std::fmt::Display) -> PluginError {
    PluginError::Fault(neutrino_model::Fault::new(400, "BadRequest", format!("Bad floatingip request: {msg}.")))
}

fn opt(s: &Option<String>) -> SqlValue {
    s.as_ref().map_or(SqlValue::Null, |v| SqlValue::Text(v.clone()))
}

pub(crate) fn floatingip_row(f: &FloatingIp) -> PluginResult<DocRow> {
    Ok(DocRow {
        id: f.id.clone(),
        columns: vec![
            SqlValue::Text(f.project_id.clone()),
            SqlValue::Text(f.floating_network_id.clone()),
            SqlValue::Text(f.floating_ip_address.clone()),
            opt(&f.port_id),
            opt(&f.fixed_ip_address),
            opt(&f.router_id),
        ],
        doc: to_doc(f)?,
    })
}

impl Plugin {
    pub(crate) async fn create_floatingip(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        body: Value,
    ) -> PluginResult<FloatingIp> {
        let mut b = Body::new(body, RULES, Op::Create)?;
        let project_id = owner_of(ctx, &mut b)?;
        let target = crate::context::target(&project_id, &project_id);
        let network_id = Body::required("floating_network_id", b.uuid("floating_network_id")?)?;
        let description = b.string("description", 255)?.unwrap_or_default();
        let address = b.string("floating_ip_address", 64)?;
        if address.is_some() {
            ctx.enforce("create_floatingip:floating_ip_address", &target)?;
        }
        let subnet_id = b.uuid("subnet_id")?;
        let port_id = b.string_or_null("port_id", 36)?.flatten();
        let fixed_ip = b.string_or_null("fixed_ip_address", 64)?.flatten();
        let admin = RequestContext::admin("");
        let network: Network = load(tx, &admin, Resource::Network, &network_id).await?;
        if !network.router_external {
            return Err(bad_fip(format!("Network {network_id} is not a valid external network")));
        }
        self.check_quota(tx, "floatingip", &project_id).await?;
        let (id, now) = new_id_and_time();
        // The address: on the subnet asked for, else on an IPv4 subnet.
        let subnets: Vec<Subnet> =
            docs(tx, Table::Subnets, vec![by("network_id", SqlValue::Text(network_id.clone()))]).await?;
        let mut want = serde_json::Map::new();
        if let Some(a) = &address {
            let ip: IpAddr = a.parse().map_err(|_| {
                PluginError::BadRequest(format!(
                    "Invalid input for floating_ip_address. Reason: '{a}' is not a valid IP address."
                ))
            })?;
            if !ip.is_ipv4() {
                return Err(bad_fip("floating IPs are IPv4 addresses"));
            }
            want.insert("ip_address".into(), json!(a));
        }
        match &subnet_id {
            Some(sid) => {
                let s = subnets
                    .iter()
                    .find(|s| &s.id == sid)
                    .ok_or_else(|| bad_fip(format!("Subnet {sid} is not on the floating network {network_id}")))?;
                if s.ip_version != 4 {
                    return Err(bad_fip(format!("Subnet {sid} is not an IPv4 subnet")));
                }
                want.insert("subnet_id".into(), json!(sid));
            }
            None if address.is_none() => {
                let s = subnets
                    .iter()
                    .find(|s| s.ip_version == 4)
                    .ok_or_else(|| bad_fip(format!("Network {network_id} has no IPv4 subnet for floating IPs")))?;
                want.insert("subnet_id".into(), json!(s.id));
            }
            None => {}
        }
        let body = json!({
            "network_id": network_id, "project_id": "", "device_owner": FLOATINGIP, "device_id": id,
            "name": "", "admin_state_up": true, "fixed_ips": [Value::Object(want)],
        });
        let port = self.create_port_unmetered(tx, &admin, body).await?;
        self.log_change(tx, Resource::Port, ChangeOp::Create, &serde_json::to_value(&port).unwrap_or(Value::Null))
            .await?;
        let floating_ip_address = port.fixed_ips.first().map(|f| f.ip_address.clone()).unwrap_or_default();
        let mut fip = FloatingIp {
            id,
            tenant_id: project_id.clone(),
            project_id,
            description,
            floating_network_id: network_id,
            floating_ip_address,
            port_id: None,
            fixed_ip_address: None,
            router_id: None,
            status: "DOWN".into(),
            tags: Vec::new(),
            created_at: now.clone(),
            updated_at: now,
            revision_number: 1,
        };
        if let Some(pid) = port_id {
            self.associate(tx, ctx, &mut fip, &pid, fixed_ip.as_deref()).await?;
        } else if fixed_ip.is_some() {
            return Err(bad_fip("fixed_ip_address needs a port_id"));
        }
        tx.insert(Table::FloatingIps, &floatingip_row(&fip)?).await?;
        Ok(fip)
    }

    pub(crate) async fn update_floatingip(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        body: Value,
        if_match: Option<u64>,
    ) -> PluginResult<FloatingIp> {
        let mut b = Body::new(body, RULES, Op::Update)?;
        let mut fip: FloatingIp = load_for_change(tx, ctx, Resource::FloatingIp, id, if_match, Change::Update).await?;
        if let Some(v) = b.string("description", 255)? {
            fip.description = v;
        }
        let port = b.string_or_null("port_id", 36)?;
        let fixed = b.string_or_null("fixed_ip_address", 64)?.flatten();
        match port {
            Some(None) => disassociate(&mut fip),
            Some(Some(pid)) => self.associate(tx, ctx, &mut fip, &pid, fixed.as_deref()).await?,
            None => {
                if let (Some(ip), Some(pid)) = (&fixed, fip.port_id.clone()) {
                    self.associate(tx, ctx, &mut fip, &pid, Some(ip)).await?;
                }
            }
        }
        touch(&mut fip.revision_number, &mut fip.updated_at);
        tx.update(Table::FloatingIps, &floatingip_row(&fip)?).await?;
        Ok(fip)
    }

    pub(crate) async fn delete_floatingip(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<u64>,
    ) -> PluginResult<()> {
        let _: FloatingIp = load_for_change(tx, ctx, Resource::FloatingIp, id, if_match, Change::Delete).await?;
        tx.delete(Table::FloatingIps, id).await?;
        let ports: Vec<Port> = docs(tx, Table::Ports, vec![by("device_id", SqlValue::Text(id.into()))]).await?;
        for p in ports.into_iter().filter(|p| p.device_owner == FLOATINGIP) {
            self.delete_port(tx, &RequestContext::admin(""), &p.id, None).await?;
            self.log_change(tx, Resource::Port, ChangeOp::Delete, &serde_json::to_value(&p).unwrap_or(Value::Null))
                .await?;
        }
        Ok(())
    }

    /// Maps `fip` to a fixed IP of `port_id`, through the router that
    /// joins that IP's subnet to the floating network.
    async fn associate(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        fip: &mut FloatingIp,
        port_id: &str,
        fixed_ip: Option<&str>,
    ) -> PluginResult<()> {
        let port: Port = load(tx, ctx, Resource::Port, port_id).await?;
        let forwardings = self.fip_port_forwardings(tx, &fip.id).await?;
        if !forwardings.is_empty() {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                409,
                "FipInUseByPortForwarding",
                format!(
                    "Floating IP {} has port forwardings ({}); it cannot be associated with a port.",
                    fip.id,
                    forwardings.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )));
        }
        let forwarded: Vec<neutrino_model::PortForwarding> =
            docs(tx, Table::PortForwardings, vec![by("internal_port_id", SqlValue::Text(port_id.into()))]).await?;
        if !forwarded.is_empty() {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                400,
                "PortHasPortForwarding",
                format!("Cannot associate floating IP to port {port_id}, as the port already has port forwardings."),
            )));
        }
        if !ctx.is_admin && port.project_id != fip.project_id {
            return Err(bad_fip(format!(
                "Port {port_id} is associated with a different tenant than Floating IP {} and therefore cannot be bound",
                fip.floating_ip_address
            )));
        }
        if [ROUTER_INTERFACE, ROUTER_GATEWAY, FLOATINGIP].contains(&port.device_owner.as_str())
            || port.device_owner == "network:dhcp"
        {
            return Err(bad_fip(format!(
                "Port {port_id} has owner {} and therefore cannot be bound to a floating IP",
                port.device_owner
            )));
        }
        let v4: Vec<&neutrino_model::FixedIp> =
            port.fixed_ips.iter().filter(|f| f.ip_address.parse::<IpAddr>().is_ok_and(|a| a.is_ipv4())).collect();
        let chosen = match fixed_ip {
            Some(ip) => *v4
                .iter()
                .find(|f| f.ip_address == ip)
                .ok_or_else(|| bad_fip(format!("Port {port_id} does not have fixed ip {ip}")))?,
            None => match v4.as_slice() {
                [one] => *one,
                [] => return Err(bad_fip(format!("Port {port_id} does not have any IPv4 address"))),
                _ => {
                    return Err(bad_fip(format!(
                        "Port {port_id} has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP"
                    )))
                }
            },
        };
        let router_id = self.router_for(tx, &fip.floating_network_id, &chosen.subnet_id).await?.ok_or_else(|| {
            PluginError::Fault(neutrino_model::Fault::new(
                404,
                "ExternalGatewayForFloatingIPNotFound",
                format!(
                    "External network {} is not reachable from subnet {}. Therefore, cannot associate Port {port_id} with a Floating IP.",
                    fip.floating_network_id, chosen.subnet_id
                ),
            ))
        })?;
        let taken: Vec<FloatingIp> =
            docs(tx, Table::FloatingIps, vec![by("port_id", SqlValue::Text(port_id.into()))]).await?;
        if taken.iter().any(|t| {
            t.id != fip.id
                && t.floating_network_id == fip.floating_network_id
                && t.fixed_ip_address.as_deref() == Some(chosen.ip_address.as_str())
        }) {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                409,
                "FloatingIPPortAlreadyAssociated",
                format!(
                    "Cannot associate floating IP {} ({}) with port {port_id} using fixed IP {}, as that fixed IP already has a floating IP on external network {}.",
                    fip.floating_ip_address, fip.id, chosen.ip_address, fip.floating_network_id
                ),
            )));
        }
        fip.port_id = Some(port_id.to_string());
        fip.fixed_ip_address = Some(chosen.ip_address.clone());
        fip.router_id = Some(router_id);
        fip.status = "ACTIVE".into();
        Ok(())
    }

    /// The router with a gateway on `network_id` and an interface on `subnet_id`.
    pub(crate) async fn router_for(
        &self,
        tx: &mut Tx,
        network_id: &str,
        subnet_id: &str,
    ) -> PluginResult<Option<String>> {
        let routers: Vec<Router> =
            docs(tx, Table::Routers, vec![by("gw_network_id", SqlValue::Text(network_id.into()))]).await?;
        for r in routers {
            let on_subnet =
                self.router_ports(tx, &r.id).await?.iter().any(|p| {
                    p.device_owner == ROUTER_INTERFACE && p.fixed_ips.iter().any(|f| f.subnet_id == subnet_id)
                });
            if on_subnet {
                return Ok(Some(r.id));
            }
        }
        Ok(None)
    }

    /// Before a port goes: its floating IPs let go of it (Neutron's
    /// `disassociate_floatingips`).
    pub(crate) async fn release_floating_ips(&self, tx: &mut Tx, port_id: &str) -> PluginResult<()> {
        let fips: Vec<FloatingIp> =
            docs(tx, Table::FloatingIps, vec![by("port_id", SqlValue::Text(port_id.into()))]).await?;
        for mut f in fips {
            disassociate(&mut f);
            touch(&mut f.revision_number, &mut f.updated_at);
            tx.update(Table::FloatingIps, &floatingip_row(&f)?).await?;
            self.log_change(
                tx,
                Resource::FloatingIp,
                ChangeOp::Update,
                &serde_json::to_value(&f).unwrap_or(Value::Null),
            )
            .await?;
        }
        Ok(())
    }
}

fn disassociate(fip: &mut FloatingIp) {
    fip.port_id = None;
    fip.fixed_ip_address = None;
    fip.router_id = None;
    fip.status = "DOWN".into();
}

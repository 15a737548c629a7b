//! Port forwardings (`/floatingips/{id}/port_forwardings`): a TCP or UDP
//! port of a floating IP that no port holds whole, sent to a port of an
//! instance's fixed IPv4 address behind the router that reaches it.

use std::net::IpAddr;

use neutrino_model::fault::Resource;
use neutrino_model::{Fault, FloatingIp, Port, PortForwarding};
use neutrino_store::{DocRow, SqlValue, Table, Tx};
use serde_json::Value;

use super::changes::Op as ChangeOp;
use super::floatingip::floatingip_row;
use super::input::{rule, AttrRule, Body, Op};
use super::{by, docs, load, new_id_and_time, to_doc, touch, Plugin};
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};

const RULES: &[AttrRule] = &[
    rule("id", false, false),
    rule("external_port", true, true),
    rule("internal_port", true, true),
    rule("internal_ip_address", true, true),
    rule("protocol", true, true),
    rule("internal_port_id", true, true),
    rule("description", true, true),
    rule("project_id", true, false),
    rule("tenant_id", true, false),
];

const PROTOCOLS: &[&str] = &["tcp", "udp"];

fn bad_pf(msg: impl std::fmt::Display) -> PluginError {
    PluginError::Fault(Fault::new(400, "BadRequest", format!("Bad port_forwarding request: {msg}.")))
}

fn not_found(id: &str) -> PluginError {
    PluginError::Fault(Fault::new(404, "PortForwardingNotFound", format!("Port Forwarding {id} could not be found.")))
}

fn pf_row(pf: &PortForwarding) -> PluginResult<DocRow> {
    Ok(DocRow {
        id: pf.id.clone(),
        columns: vec![
            SqlValue::Text(pf.floatingip_id.clone()),
            SqlValue::Text(pf.protocol.clone()),
            SqlValue::Int(i64::from(pf.external_port)),
            SqlValue::Text(pf.internal_port_id.clone()),
            SqlValue::Text(pf.internal_ip_address.clone()),
            SqlValue::Int(i64::from(pf.internal_port)),
        ],
        doc: to_doc(pf)?,
    })
}

/// A port forwarding as the API shows it.
pub fn pf_view(pf: &PortForwarding) -> Value {
    let mut v = serde_json::to_value(pf).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("floatingip_id");
    }
    v
}

fn port_number(b: &mut Body, key: &str) -> PluginResult<Option<u16>> {
    Ok(b.integer(key, 1, 65_535)?.and_then(|v| u16::try_from(v).ok()))
}

impl Plugin {
    /// The port forwardings of a floating IP.
    pub(crate) async fn fip_port_forwardings(&self, tx: &mut Tx, fip_id: &str) -> PluginResult<Vec<PortForwarding>> {
        docs(tx, Table::PortForwardings, vec![by("floatingip_id", SqlValue::Text(fip_id.into()))]).await
    }

    /// Loads the floating IP (visible to `ctx`, else 404) and checks `action` on it.
    async fn fip_for(&self, tx: &mut Tx, ctx: &RequestContext, fip_id: &str, action: &str) -> PluginResult<FloatingIp> {
        let fip: FloatingIp = load(tx, ctx, Resource::FloatingIp, fip_id).await?;
        ctx.enforce(action, &crate::context::target(&fip.project_id, &fip.project_id))?;
        Ok(fip)
    }

    /// `GET /floatingips/{id}/port_forwardings`.
    pub async fn list_port_forwardings(&self, ctx: &RequestContext, fip_id: &str) -> PluginResult<Vec<Value>> {
        let mut tx = self.begin().await?;
        self.fip_for(&mut tx, ctx, fip_id, "get_floatingip_port_forwarding").await?;
        Ok(self.fip_port_forwardings(&mut tx, fip_id).await?.iter().map(pf_view).collect())
    }

    /// `GET /floatingips/{id}/port_forwardings/{pf}`.
    pub async fn get_port_forwarding(&self, ctx: &RequestContext, fip_id: &str, id: &str) -> PluginResult<Value> {
        let mut tx = self.begin().await?;
        self.fip_for(&mut tx, ctx, fip_id, "get_floatingip_port_forwarding").await?;
        let all = self.fip_port_forwardings(&mut tx, fip_id).await?;
        all.iter().find(|p| p.id == id).map(pf_view).ok_or_else(|| not_found(id))
    }

    /// `POST /floatingips/{id}/port_forwardings`.
    pub async fn create_port_forwarding(&self, ctx: &RequestContext, fip_id: &str, body: Value) -> PluginResult<Value> {
        let mut b = Body::new(body, RULES, Op::Create)?;
        let _ = (b.raw("project_id"), b.raw("tenant_id"));
        let mut tx = self.begin().await?;
        let mut fip = self.fip_for(&mut tx, ctx, fip_id, "create_floatingip_port_forwarding").await?;
        let pf = PortForwarding {
            id: new_id_and_time().0,
            floatingip_id: fip_id.to_string(),
            external_port: Body::required("external_port", port_number(&mut b, "external_port")?)?,
            internal_port: Body::required("internal_port", port_number(&mut b, "internal_port")?)?,
            internal_ip_address: Body::required("internal_ip_address", b.string("internal_ip_address", 64)?)?,
            protocol: Body::required("protocol", b.one_of("protocol", PROTOCOLS, false)?.flatten())?,
            internal_port_id: Body::required("internal_port_id", b.uuid("internal_port_id")?)?,
            description: b.string("description", 255)?.unwrap_or_default(),
        };
        self.check_port_forwarding(&mut tx, ctx, &mut fip, &pf).await?;
        tx.insert(Table::PortForwardings, &pf_row(&pf)?).await?;
        self.after_port_forwarding_change(&mut tx, &mut fip).await?;
        tx.commit().await?;
        self.changed();
        Ok(pf_view(&pf))
    }

    /// `PUT /floatingips/{id}/port_forwardings/{pf}`.
    pub async fn update_port_forwarding(
        &self,
        ctx: &RequestContext,
        fip_id: &str,
        id: &str,
        body: Value,
    ) -> PluginResult<Value> {
        let mut b = Body::new(body, RULES, Op::Update)?;
        let mut tx = self.begin().await?;
        let mut fip = self.fip_for(&mut tx, ctx, fip_id, "update_floatingip_port_forwarding").await?;
        let mut pf = self
            .fip_port_forwardings(&mut tx, fip_id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| not_found(id))?;
        if let Some(v) = port_number(&mut b, "external_port")? {
            pf.external_port = v;
        }
        if let Some(v) = port_number(&mut b, "internal_port")? {
            pf.internal_port = v;
        }
        if let Some(v) = b.string("internal_ip_address", 64)? {
            pf.internal_ip_address = v;
        }
        if let Some(Some(v)) = b.one_of("protocol", PROTOCOLS, false)? {
            pf.protocol = v;
        }
        if let Some(v) = b.uuid("internal_port_id")? {
            pf.internal_port_id = v;
        }
        if let Some(v) = b.string("description", 255)? {
            pf.description = v;
        }
        self.check_port_forwarding(&mut tx, ctx, &mut fip, &pf).await?;
        tx.update(Table::PortForwardings, &pf_row(&pf)?).await?;
        self.after_port_forwarding_change(&mut tx, &mut fip).await?;
        tx.commit().await?;
        self.changed();
        Ok(pf_view(&pf))
    }

    /// `DELETE /floatingips/{id}/port_forwardings/{pf}`.
    pub async fn delete_port_forwarding(&self, ctx: &RequestContext, fip_id: &str, id: &str) -> PluginResult<()> {
        let mut tx = self.begin().await?;
        let mut fip = self.fip_for(&mut tx, ctx, fip_id, "delete_floatingip_port_forwarding").await?;
        if !self.fip_port_forwardings(&mut tx, fip_id).await?.iter().any(|p| p.id == id) {
            return Err(not_found(id));
        }
        tx.delete(Table::PortForwardings, id).await?;
        self.after_port_forwarding_change(&mut tx, &mut fip).await?;
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// Neutron's rules for a port forwarding on `fip` (which gets the
    /// router it needs as its `router_id`).
    async fn check_port_forwarding(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        fip: &mut FloatingIp,
        pf: &PortForwarding,
    ) -> PluginResult<()> {
        if let Some(port) = &fip.port_id {
            return Err(bad_pf(format!(
                "Floating IP {} is associated with port {port}; a floating IP with a port has no port forwardings",
                fip.id
            )));
        }
        let ip: IpAddr = pf
            .internal_ip_address
            .parse()
            .map_err(|_| bad_pf(format!("'{}' is not a valid IP address", pf.internal_ip_address)))?;
        if !ip.is_ipv4() {
            return Err(bad_pf("port forwardings are IPv4"));
        }
        let port: Port = load(tx, ctx, Resource::Port, &pf.internal_port_id).await?;
        let bound: Vec<FloatingIp> =
            docs(tx, Table::FloatingIps, vec![by("port_id", SqlValue::Text(pf.internal_port_id.clone()))]).await?;
        if let Some(other) = bound.first() {
            return Err(PluginError::Fault(Fault::new(
                409,
                "PortHasBindingFloatingIP",
                format!(
                    "Cannot create port forwarding to floating IP {} ({}) with port {} using fixed IP {}, as that port already has a binding floating IP {}.",
                    fip.floating_ip_address, fip.id, pf.internal_port_id, pf.internal_ip_address, other.floating_ip_address
                ),
            )));
        }
        let Some(fixed) = port.fixed_ips.iter().find(|f| f.ip_address == pf.internal_ip_address) else {
            return Err(bad_pf(format!(
                "The internal IP address {} is not a fixed IP of port {}",
                pf.internal_ip_address, pf.internal_port_id
            )));
        };
        let router = self.router_for(tx, &fip.floating_network_id, &fixed.subnet_id).await?.ok_or_else(|| {
            PluginError::Fault(Fault::new(
                404,
                "ExternalGatewayForFloatingIPNotFound",
                format!(
                    "External network {} is not reachable from subnet {}. Therefore, cannot associate Port {} with a Floating IP.",
                    fip.floating_network_id, fixed.subnet_id, pf.internal_port_id
                ),
            ))
        })?;
        if fip.router_id.as_ref().is_some_and(|r| *r != router) {
            return Err(bad_pf(format!(
                "Floating IP {} already forwards through router {}, port {} is behind router {router}",
                fip.id,
                fip.router_id.clone().unwrap_or_default(),
                pf.internal_port_id
            )));
        }
        fip.router_id = Some(router);
        let clash = |what: &str, other: &PortForwarding| {
            PluginError::Fault(Fault::new(
                409,
                "PortForwardingConflict",
                format!("A port forwarding with the same {what} exists already: {}", other.id),
            ))
        };
        for other in self.fip_port_forwardings(tx, &fip.id).await? {
            if other.id != pf.id && other.protocol == pf.protocol && other.external_port == pf.external_port {
                return Err(clash("floating IP, protocol and external port", &other));
            }
        }
        let internal: Vec<PortForwarding> = docs(
            tx,
            Table::PortForwardings,
            vec![by("internal_ip_address", SqlValue::Text(pf.internal_ip_address.clone()))],
        )
        .await?;
        if let Some(other) =
            internal.iter().find(|o| o.id != pf.id && o.protocol == pf.protocol && o.internal_port == pf.internal_port)
        {
            return Err(clash("internal address, protocol and port", other));
        }
        Ok(())
    }

    /// A floating IP's router follows its port forwardings: set while it
    /// has some (and no port), cleared with the last.
    async fn after_port_forwarding_change(&self, tx: &mut Tx, fip: &mut FloatingIp) -> PluginResult<()> {
        if fip.port_id.is_none() && self.fip_port_forwardings(tx, &fip.id).await?.is_empty() {
            fip.router_id = None;
        }
        touch(&mut fip.revision_number, &mut fip.updated_at);
        tx.update(Table::FloatingIps, &floatingip_row(fip)?).await?;
        let v = serde_json::to_value(&*fip).map_err(|e| PluginError::BadRequest(e.to_string()))?;
        self.log_change(tx, Resource::FloatingIp, ChangeOp::Update, &v).await
    }

    /// Before a port goes: the port forwardings to it go too.
    pub(crate) async fn release_port_forwardings(&self, tx: &mut Tx, port_id: &str) -> PluginResult<()> {
        let pfs: Vec<PortForwarding> =
            docs(tx, Table::PortForwardings, vec![by("internal_port_id", SqlValue::Text(port_id.into()))]).await?;
        for pf in pfs {
            tx.delete(Table::PortForwardings, &pf.id).await?;
            let mut fip: FloatingIp =
                load(tx, &RequestContext::admin(""), Resource::FloatingIp, &pf.floatingip_id).await?;
            self.after_port_forwarding_change(tx, &mut fip).await?;
        }
        Ok(())
    }
}

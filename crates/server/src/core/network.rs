//! Networks: segments from the type drivers, MTU, sharing and deletion rules.

use neutrino_model::fault::Resource;
use neutrino_model::port::OWNER_DHCP;
use neutrino_model::rbac::{ACCESS_AS_EXTERNAL, ACCESS_AS_SHARED};
use neutrino_model::{Network, Port, Subnet};
use neutrino_store::{SegmentRow, Table, Tx};
use serde_json::Value;

use super::input::{rule, AttrRule, Body, Op};
use super::{load_for_change, network_row, new_id_and_time, owner_of, Change, Plugin};
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};
use crate::ml2::SegmentRequest;

const RULES: &[AttrRule] = &[
    rule("id", false, false),
    rule("name", true, true),
    rule("description", true, true),
    rule("project_id", true, false),
    rule("tenant_id", true, false),
    rule("admin_state_up", true, true),
    rule("status", false, false),
    rule("shared", true, true),
    rule("router:external", true, true),
    rule("mtu", true, true),
    rule("port_security_enabled", true, true),
    rule("availability_zone_hints", true, false),
    rule("availability_zones", false, false),
    rule("provider:network_type", true, false),
    rule("provider:physical_network", true, false),
    rule("provider:segmentation_id", true, false),
    rule("subnets", false, false),
    rule("tags", false, false),
    rule("created_at", false, false),
    rule("updated_at", false, false),
    rule("revision_number", false, false),
];

/// The largest MTU Neutron accepts on a network.
const MAX_MTU: i64 = 65_535;

impl Plugin {
    pub(crate) async fn create_network(&self, tx: &mut Tx, ctx: &RequestContext, body: Value) -> PluginResult<Network> {
        let mut b = Body::new(body, RULES, Op::Create)?;
        let project_id = owner_of(ctx, &mut b)?;
        let name = b.string("name", 255)?.unwrap_or_default();
        let description = b.string("description", 255)?.unwrap_or_default();
        let admin_state_up = b.boolean("admin_state_up")?.unwrap_or(true);
        let shared = b.boolean("shared")?.unwrap_or(false);
        let external = b.boolean("router:external")?.unwrap_or(false);
        let port_security_enabled = b.boolean("port_security_enabled")?.unwrap_or(true);
        let az_hints = b.string_list("availability_zone_hints", 255)?.unwrap_or_default();
        let requested_mtu = b.integer("mtu", 68, MAX_MTU)?;
        let segment_req = SegmentRequest {
            network_type: b.string("provider:network_type", 255)?,
            physical_network: b.string_or_null("provider:physical_network", 64)?.flatten(),
            segmentation_id: b
                .integer_or_null("provider:segmentation_id", 0, i64::from(u32::MAX))?
                .flatten()
                .and_then(|v| u32::try_from(v).ok()),
        };
        let mut target = crate::context::target(&project_id, &project_id);
        target.insert("shared".into(), Value::Bool(shared));
        target.insert("router:external".into(), Value::Bool(external));
        for (given, rule) in [
            (segment_req.network_type.is_some(), "create_network:provider:network_type"),
            (segment_req.physical_network.is_some(), "create_network:provider:physical_network"),
            (segment_req.segmentation_id.is_some(), "create_network:provider:segmentation_id"),
            (shared, "create_network:shared"),
            (external, "create_network:router:external"),
        ] {
            if given {
                ctx.enforce(rule, &target)?;
            }
        }
        self.check_quota(tx, "network", &project_id).await?;
        let (id, now) = new_id_and_time();
        let mut network = Network {
            id: id.clone(),
            name,
            description,
            tenant_id: project_id.clone(),
            project_id,
            admin_state_up,
            status: "ACTIVE".into(),
            shared,
            router_external: external,
            mtu: 0,
            port_security_enabled,
            availability_zone_hints: az_hints,
            availability_zones: self.settings.default_availability_zones.clone(),
            provider_network_type: None,
            provider_physical_network: None,
            provider_segmentation_id: None,
            subnets: Vec::new(),
            tags: Vec::new(),
            created_at: now.clone(),
            updated_at: now,
            revision_number: 1,
        };
        // The row first: segment reservations reference it.
        tx.insert(Table::Networks, &network_row(&network)?).await?;
        let segment = self.types.reserve(tx, &id, &segment_req).await?;
        network.mtu = match requested_mtu {
            Some(m) => {
                let max = i64::from(segment.mtu);
                if segment.mtu > 0 && m > max {
                    return Err(PluginError::InvalidInput(format!("Requested MTU is too big, maximum is {max}")));
                }
                u32::try_from(m).unwrap_or(segment.mtu)
            }
            None => segment.mtu,
        };
        network.provider_network_type = Some(segment.network_type.to_string());
        network.provider_physical_network = segment.physical_network.clone();
        network.provider_segmentation_id = segment.segmentation_id;
        tx.update(Table::Networks, &network_row(&network)?).await?;
        tx.insert_segment(&SegmentRow {
            id: new_id_and_time().0,
            network_id: id.clone(),
            network_type: segment.network_type.to_string(),
            physical_network: segment.physical_network,
            segmentation_id: segment.segmentation_id.map(i64::from),
            segment_index: 0,
        })
        .await?;
        if network.shared {
            self.set_wildcard(tx, &network, ACCESS_AS_SHARED, true).await?;
        }
        if network.router_external {
            self.set_wildcard(tx, &network, ACCESS_AS_EXTERNAL, true).await?;
        }
        Ok(network)
    }

    pub(crate) async fn update_network(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        body: Value,
        if_match: Option<u64>,
    ) -> PluginResult<Network> {
        let mut b = Body::new(body, RULES, Op::Update)?;
        let mut n: Network = load_for_change(tx, ctx, Resource::Network, id, if_match, Change::Update).await?;
        if let Some(v) = b.string("name", 255)? {
            n.name = v;
        }
        if let Some(v) = b.string("description", 255)? {
            n.description = v;
        }
        if let Some(v) = b.boolean("admin_state_up")? {
            n.admin_state_up = v;
        }
        if let Some(v) = b.boolean("shared")? {
            if v != n.shared {
                ctx.enforce("update_network:shared", &network_target(&n))?;
            }
            // `shared` is the wildcard access_as_shared policy.
            match self.set_wildcard(tx, &n, ACCESS_AS_SHARED, v).await {
                Err(PluginError::Fault(f)) if f.kind == "RbacPolicyInUse" => {
                    return Err(PluginError::Fault(neutrino_model::Fault::new(
                        409,
                        "InvalidSharedSetting",
                        format!(
                            "Unable to reconfigure sharing settings for network {id}. Multiple projects are using it."
                        ),
                    )))
                }
                other => other?,
            }
            n.shared = v;
        }
        if let Some(v) = b.boolean("router:external")? {
            if v != n.router_external {
                ctx.enforce("update_network:router:external", &network_target(&n))?;
            }
            self.set_wildcard(tx, &n, ACCESS_AS_EXTERNAL, v).await?;
            n.router_external = v;
        }
        if let Some(v) = b.boolean("port_security_enabled")? {
            n.port_security_enabled = v;
        }
        if let Some(m) = b.integer("mtu", 68, MAX_MTU)? {
            let seg_type = n.provider_network_type.clone().unwrap_or_default();
            let max = self.types.segment_mtu(&seg_type, n.provider_physical_network.as_deref());
            if max > 0 && m > i64::from(max) {
                return Err(PluginError::InvalidInput(format!("Requested MTU is too big, maximum is {max}")));
            }
            n.mtu = u32::try_from(m).unwrap_or(n.mtu);
        }
        super::touch(&mut n.revision_number, &mut n.updated_at);
        tx.update(Table::Networks, &network_row(&n)?).await?;
        Ok(n)
    }

    pub(crate) async fn delete_network(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<u64>,
    ) -> PluginResult<()> {
        let _: Network = load_for_change(tx, ctx, Resource::Network, id, if_match, Change::Delete).await?;
        let ports: Vec<Port> = docs(tx, Table::Ports, "network_id", id).await?;
        // Only the network service's own DHCP ports go with the network.
        if ports.iter().any(|p| p.device_owner != OWNER_DHCP) {
            return Err(PluginError::NetworkInUse(id.to_string()));
        }
        for p in &ports {
            tx.delete(Table::Ports, &p.id).await?;
        }
        let subnets: Vec<Subnet> = docs(tx, Table::Subnets, "network_id", id).await?;
        for s in &subnets {
            tx.delete(Table::Subnets, &s.id).await?;
        }
        // Segments and segment reservations go by foreign-key cascade.
        tx.delete(Table::Networks, id).await?;
        Ok(())
    }

    /// Adds or removes a subnet id in its network's document (bumping its revision).
    pub(crate) async fn network_subnets_changed(
        &self,
        tx: &mut Tx,
        network_id: &str,
        add: Option<&str>,
        remove: Option<&str>,
    ) -> PluginResult<()> {
        let Some(doc) = tx.get_doc(Table::Networks, network_id, &neutrino_store::Scope::Admin).await? else {
            return Err(PluginError::not_found(Resource::Network, network_id));
        };
        let mut n: Network = super::from_doc(Table::Networks, network_id, &doc)?;
        if let Some(a) = add {
            n.subnets.push(a.to_string());
        }
        if let Some(r) = remove {
            n.subnets.retain(|s| s != r);
        }
        super::touch(&mut n.revision_number, &mut n.updated_at);
        tx.update(Table::Networks, &network_row(&n)?).await?;
        Ok(())
    }
}

/// Internal read of child documents (the parent is already authorised).
pub(crate) async fn docs<T: serde::de::DeserializeOwned>(
    tx: &mut Tx,
    table: Table,
    column: &str,
    value: &str,
) -> PluginResult<Vec<T>> {
    let raw = tx.docs_where(table, column, value).await?;
    raw.iter().map(|d| super::from_doc(table, value, d)).collect()
}

/// A network as a policy target.
fn network_target(n: &Network) -> serde_json::Map<String, Value> {
    crate::context::doc_target(&serde_json::to_value(n).unwrap_or(Value::Null), None)
}

//! The ML2 core plugin: networks, subnets and ports with Neutron's rules,
//! each API call one store transaction.

pub mod agents;
mod changes;
pub mod dhcp;
pub mod feed;
mod floatingip;
pub mod input;
mod ipalloc;
pub mod l2state;
pub mod l3;
mod network;
mod port;
pub mod port_forwarding;
mod port_input;
pub mod quotas;
mod rbac;
pub mod router;
pub mod security_group;
mod subnet;
mod tags;

use neutrino_model::fault::Resource;
use neutrino_store::{DocRow, Store, Table, Tx};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};
use crate::ml2::{MechanismManager, TypeManager};
use crate::settings::Settings;

pub use tags::TagTarget;

/// The core plugin: the store plus the ML2 managers and settings.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// The store.
    pub store: Store,
    /// Type drivers.
    pub types: TypeManager,
    /// Mechanism drivers.
    pub mechanisms: MechanismManager,
    /// Settings.
    pub settings: Settings,
    /// The API policy (Neutron's defaults, overridden by `[oslo_policy] policy_file`).
    pub policy: std::sync::Arc<crate::policy::Policy>,
    /// The newest change-log position this server knows committed.
    pub feed: std::sync::Arc<feed::ChangeFeed>,
}

/// The table of a resource type.
pub fn table_of(resource: Resource) -> Table {
    match resource {
        Resource::Network => Table::Networks,
        Resource::Subnet => Table::Subnets,
        Resource::Port => Table::Ports,
        Resource::RbacPolicy => Table::RbacPolicies,
        Resource::Router => Table::Routers,
        Resource::FloatingIp => Table::FloatingIps,
        Resource::SecurityGroup => Table::SecurityGroups,
        Resource::SecurityGroupRule => Table::SecurityGroupRules,
    }
}

/// Current time in Neutron's format.
pub fn now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    neutrino_model::time::format_timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
}

pub(crate) fn to_doc<T: Serialize>(v: &T) -> PluginResult<String> {
    serde_json::to_string(v).map_err(|e| {
        PluginError::Store(neutrino_store::StoreError::Corrupt {
            table: "serialise",
            id: String::new(),
            reason: e.to_string(),
        })
    })
}

pub(crate) fn from_doc<T: DeserializeOwned>(table: Table, id: &str, doc: &str) -> PluginResult<T> {
    serde_json::from_str(doc).map_err(|e| {
        PluginError::Store(neutrino_store::StoreError::Corrupt {
            table: table.name(),
            id: id.to_string(),
            reason: e.to_string(),
        })
    })
}

/// An equality filter on one attribute.
pub(crate) fn by(attr: &str, v: neutrino_store::SqlValue) -> neutrino_store::Filter {
    neutrino_store::Filter::Eq { attr: attr.into(), values: vec![v] }
}

/// Every document of `table` matching `filters`, whoever owns it.
pub(crate) async fn docs<T: DeserializeOwned>(
    tx: &mut Tx,
    table: Table,
    filters: Vec<neutrino_store::Filter>,
) -> PluginResult<Vec<T>> {
    let mut q = neutrino_store::ListQuery::all(neutrino_store::Scope::Admin);
    q.filters = filters;
    let (docs, _) = tx.list_docs(table, &q).await?;
    docs.iter().map(|d| from_doc(table, "?", d)).collect()
}

/// Loads a resource visible to `ctx`, or NotFound.
pub(crate) async fn load<T: DeserializeOwned>(
    tx: &mut Tx,
    ctx: &RequestContext,
    resource: Resource,
    id: &str,
) -> PluginResult<T> {
    let table = table_of(resource);
    match tx.get_doc(table, id, &ctx.scope()).await? {
        Some(doc) => from_doc(table, id, &doc),
        None => Err(PluginError::not_found(resource, id)),
    }
}

/// What every standard resource has: an owner and a revision.
pub(crate) trait Standard {
    /// Current revision.
    fn revision(&self) -> u64;
}

macro_rules! standard {
    ($($t:ty),*) => {$(
        impl Standard for $t {
            fn revision(&self) -> u64 {
                self.revision_number
            }
        }
    )*};
}
standard!(
    neutrino_model::Network,
    neutrino_model::Subnet,
    neutrino_model::Port,
    neutrino_model::Router,
    neutrino_model::FloatingIp,
    neutrino_model::SecurityGroup,
    neutrino_model::SecurityGroupRule
);

/// Whether a change is an update or a delete (names the policy rule).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change {
    Update,
    Delete,
}

/// Loads a resource the caller is about to change: visible (else 404),
/// owned (else 403) and at the `If-Match` revision (else 412).
pub(crate) async fn load_for_change<T: DeserializeOwned + serde::Serialize + Standard>(
    tx: &mut Tx,
    ctx: &RequestContext,
    resource: Resource,
    id: &str,
    if_match: Option<u64>,
    change: Change,
) -> PluginResult<T> {
    let v: T = load(tx, ctx, resource, id).await?;
    let verb = match change {
        Change::Update => "update",
        Change::Delete => "delete",
    };
    let doc = serde_json::to_value(&v).map_err(|e| PluginError::BadRequest(e.to_string()))?;
    ctx.enforce(&format!("{verb}_{}", resource.singular()), &crate::context::doc_target(&doc, None))?;
    check_revision(if_match, v.revision())?;
    Ok(v)
}

/// Fails with 403 unless the policy lets the caller `verb` a resource of
/// its own project at all (the rule `verb_resource`, e.g. `create_network`);
/// the owner of the actual resource is checked when it is known.
pub(crate) fn check_writer(ctx: &RequestContext, verb: &str, resource: Resource) -> PluginResult<()> {
    ctx.enforce(&format!("{verb}_{}", resource.singular()), &crate::context::target(&ctx.project_id, &ctx.project_id))
}

/// Fails with 412 when `If-Match: revision_number=N` does not hold.
pub(crate) fn check_revision(if_match: Option<u64>, current: u64) -> PluginResult<()> {
    match if_match {
        Some(expected) if expected != current => Err(PluginError::RevisionMismatch { expected, current }),
        _ => Ok(()),
    }
}

fn bool_col(b: bool) -> neutrino_store::SqlValue {
    neutrino_store::SqlValue::Int(i64::from(b))
}

fn text_col(s: &str) -> neutrino_store::SqlValue {
    neutrino_store::SqlValue::Text(s.to_string())
}

pub(crate) fn network_row(n: &neutrino_model::Network) -> PluginResult<DocRow> {
    Ok(DocRow {
        id: n.id.clone(),
        columns: vec![text_col(&n.project_id), text_col(&n.name), bool_col(n.shared), bool_col(n.router_external)],
        doc: to_doc(n)?,
    })
}

pub(crate) fn subnet_row(s: &neutrino_model::Subnet) -> PluginResult<DocRow> {
    Ok(DocRow {
        id: s.id.clone(),
        columns: vec![
            text_col(&s.project_id),
            text_col(&s.network_id),
            text_col(&s.name),
            neutrino_store::SqlValue::Int(i64::from(s.ip_version)),
            text_col(&s.cidr),
        ],
        doc: to_doc(s)?,
    })
}

pub(crate) fn rbac_row(r: &neutrino_model::RbacPolicy) -> PluginResult<DocRow> {
    Ok(DocRow {
        id: r.id.clone(),
        columns: vec![
            text_col(&r.project_id),
            text_col(&r.object_type),
            text_col(&r.object_id),
            text_col(&r.target_tenant),
            text_col(&r.action),
        ],
        doc: to_doc(r)?,
    })
}

pub(crate) fn port_row(p: &neutrino_model::Port) -> PluginResult<DocRow> {
    Ok(DocRow {
        id: p.id.clone(),
        columns: vec![
            text_col(&p.project_id),
            text_col(&p.network_id),
            text_col(&p.name),
            text_col(&p.mac_address),
            text_col(&p.device_id),
            text_col(&p.device_owner),
        ],
        doc: to_doc(p)?,
    })
}

/// The owner of a new resource: the body's `project_id`/`tenant_id` (which
/// must agree, and only an admin may name another project), else the caller's.
pub(crate) fn owner_of(ctx: &RequestContext, body: &mut input::Body) -> PluginResult<String> {
    let project = body.string("project_id", 255)?;
    let tenant = body.string("tenant_id", 255)?;
    let owner = match (project, tenant) {
        (Some(p), Some(t)) if p != t => {
            return Err(PluginError::BadRequest("Both project_id and tenant_id given with different values".into()))
        }
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => ctx.project_id.clone(),
    };
    if owner != ctx.project_id && !ctx.is_admin {
        return Err(PluginError::BadRequest(
            "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges".into(),
        ));
    }
    Ok(owner)
}

impl Plugin {
    /// Begins the transaction of one API call.
    pub(crate) async fn begin(&self) -> PluginResult<Tx> {
        Ok(self.store.begin().await?)
    }
}

/// A new id and the current time.
pub(crate) fn new_id_and_time() -> (String, String) {
    (input::new_id(), now())
}

/// Bumps a revision and the update time.
pub(crate) fn touch(revision: &mut u64, updated_at: &mut String) {
    *revision += 1;
    *updated_at = now();
}

impl Plugin {
    /// Creates one or more resources in one transaction (bulk is all or nothing).
    pub async fn create(
        &self,
        ctx: &RequestContext,
        resource: Resource,
        items: Vec<serde_json::Value>,
    ) -> PluginResult<Vec<serde_json::Value>> {
        check_writer(ctx, "create", resource)?;
        let mut tx = self.begin().await?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let v = match resource {
                Resource::Network => serde_json::to_value(self.create_network(&mut tx, ctx, item).await?),
                Resource::Subnet => serde_json::to_value(self.create_subnet(&mut tx, ctx, item).await?),
                Resource::Port => serde_json::to_value(self.create_port(&mut tx, ctx, item).await?),
                Resource::RbacPolicy => serde_json::to_value(self.create_rbac_policy(&mut tx, ctx, item).await?),
                Resource::Router => serde_json::to_value(self.create_router(&mut tx, ctx, item).await?),
                Resource::FloatingIp => serde_json::to_value(self.create_floatingip(&mut tx, ctx, item).await?),
                Resource::SecurityGroup => serde_json::to_value(self.create_security_group(&mut tx, ctx, item).await?),
                Resource::SecurityGroupRule => {
                    serde_json::to_value(self.create_security_group_rule(&mut tx, ctx, item).await?)
                }
            };
            let v = v.map_err(|e| PluginError::BadRequest(e.to_string()))?;
            self.log_change(&mut tx, resource, changes::Op::Create, &v).await?;
            out.push(v);
        }
        tx.commit().await?;
        self.changed();
        self.after_subnet_change(resource).await;
        Ok(out)
    }

    /// Updates a resource.
    pub async fn update(
        &self,
        ctx: &RequestContext,
        resource: Resource,
        id: &str,
        body: serde_json::Value,
        if_match: Option<u64>,
    ) -> PluginResult<serde_json::Value> {
        check_writer(ctx, "update", resource)?;
        let mut tx = self.begin().await?;
        let v = match resource {
            Resource::Network => serde_json::to_value(self.update_network(&mut tx, ctx, id, body, if_match).await?),
            Resource::Subnet => serde_json::to_value(self.update_subnet(&mut tx, ctx, id, body, if_match).await?),
            Resource::Port => serde_json::to_value(self.update_port(&mut tx, ctx, id, body, if_match).await?),
            Resource::RbacPolicy => serde_json::to_value(self.update_rbac_policy(&mut tx, ctx, id, body).await?),
            Resource::Router => serde_json::to_value(self.update_router(&mut tx, ctx, id, body, if_match).await?),
            Resource::FloatingIp => {
                serde_json::to_value(self.update_floatingip(&mut tx, ctx, id, body, if_match).await?)
            }
            Resource::SecurityGroup => {
                serde_json::to_value(self.update_security_group(&mut tx, ctx, id, body, if_match).await?)
            }
            Resource::SecurityGroupRule => {
                serde_json::to_value(self.update_security_group_rule(&mut tx, ctx, id, body, if_match).await?)
            }
        }
        .map_err(|e| PluginError::BadRequest(e.to_string()))?;
        self.log_change(&mut tx, resource, changes::Op::Update, &v).await?;
        tx.commit().await?;
        self.changed();
        self.after_subnet_change(resource).await;
        Ok(v)
    }

    /// Deletes a resource.
    pub async fn delete(
        &self,
        ctx: &RequestContext,
        resource: Resource,
        id: &str,
        if_match: Option<u64>,
    ) -> PluginResult<()> {
        check_writer(ctx, "delete", resource)?;
        let mut tx = self.begin().await?;
        let before = tx.get_doc(table_of(resource), id, &ctx.scope()).await?;
        match resource {
            Resource::Network => self.delete_network(&mut tx, ctx, id, if_match).await?,
            Resource::Subnet => self.delete_subnet(&mut tx, ctx, id, if_match).await?,
            Resource::Port => {
                self.refuse_service_port_delete(&mut tx, ctx, id).await?;
                self.release_floating_ips(&mut tx, id).await?;
                self.release_port_forwardings(&mut tx, id).await?;
                if let Some(doc) = &before {
                    let mut p: neutrino_model::Port = from_doc(Table::Ports, id, doc)?;
                    let groups = std::mem::take(&mut p.security_groups);
                    self.bind_port_groups(&mut tx, &p, &groups).await?;
                }
                self.delete_port(&mut tx, ctx, id, if_match).await?
            }
            Resource::RbacPolicy => self.delete_rbac_policy(&mut tx, ctx, id).await?,
            Resource::Router => self.delete_router(&mut tx, ctx, id, if_match).await?,
            Resource::FloatingIp => self.delete_floatingip(&mut tx, ctx, id, if_match).await?,
            Resource::SecurityGroup => self.delete_security_group(&mut tx, ctx, id, if_match).await?,
            Resource::SecurityGroupRule => self.delete_security_group_rule(&mut tx, ctx, id, if_match).await?,
        }
        if let Some(doc) = before {
            let v: serde_json::Value = from_doc(table_of(resource), id, &doc)?;
            self.log_change(&mut tx, resource, changes::Op::Delete, &v).await?;
        }
        tx.commit().await?;
        self.changed();
        self.after_subnet_change(resource).await;
        Ok(())
    }

    /// Subnets decide which networks need DHCP, routers need an L3 agent
    /// (and their ports its host): schedule after they change.
    async fn after_subnet_change(&self, resource: Resource) {
        match resource {
            Resource::Subnet => self.reschedule_dhcp().await,
            Resource::Router => self.reschedule_l3().await,
            _ => {}
        }
    }

    /// Neutron's `prevent_l3_port_deletion`: a router's or floating IP's
    /// port goes with its owner, not through the port API.
    async fn refuse_service_port_delete(&self, tx: &mut Tx, ctx: &RequestContext, id: &str) -> PluginResult<()> {
        let Some(doc) = tx.get_doc(Table::Ports, id, &ctx.scope()).await? else { return Ok(()) };
        let p: neutrino_model::Port = from_doc(Table::Ports, id, &doc)?;
        if [router::ROUTER_INTERFACE, router::ROUTER_GATEWAY, router::FLOATINGIP].contains(&p.device_owner.as_str()) {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                409,
                "ServicePortInUse",
                format!("Port {id} cannot be deleted directly via the port API: has device owner {}.", p.device_owner),
            )));
        }
        Ok(())
    }

    /// The document of a resource visible to `ctx`.
    pub async fn get(&self, ctx: &RequestContext, resource: Resource, id: &str) -> PluginResult<String> {
        let mut r = self.store.read().await?;
        r.get_doc(table_of(resource), id, &ctx.scope()).await?.ok_or_else(|| PluginError::not_found(resource, id))
    }

    /// A page of documents and whether more follow.
    pub async fn list(&self, resource: Resource, q: &neutrino_store::ListQuery) -> PluginResult<(Vec<String>, bool)> {
        match self.store.list_docs(table_of(resource), q.clone()).await {
            Err(neutrino_store::StoreError::MarkerNotFound(id)) => Err(PluginError::not_found(resource, &id)),
            other => Ok(other?),
        }
    }
}

impl Plugin {
    /// Builds the plugin from the loaded configuration over an open store.
    pub fn from_config(store: Store, cfg: &neutrino_config::Config) -> Result<Plugin, String> {
        let settings = Settings::from_config(cfg)?;
        let types = TypeManager::from_config(cfg, &settings)?;
        let mechanisms = MechanismManager::from_names(&cfg.ml2.mechanism_drivers);
        let feed = std::sync::Arc::new(feed::ChangeFeed::default());
        feed.start(store.clone());
        Ok(Plugin { store, types, mechanisms, settings, policy: crate::context::default_policy(), feed })
    }
}

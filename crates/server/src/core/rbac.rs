//! RBAC policies: a network shared with one project (or `*`), or made
//! external for it. The wildcard policies and the network's `shared` /
//! `router:external` flags are two views of one fact and change together.

use neutrino_model::fault::Resource;
use neutrino_model::rbac::{ACCESS_AS_EXTERNAL, ACCESS_AS_SHARED, EVERY_PROJECT};
use neutrino_model::{Network, Port, RbacPolicy};
use neutrino_store::{StoreError, Table, Tx};
use serde_json::Value;

use super::input::{new_id, rule, AttrRule, Body, Op};
use super::network::docs;
use super::{from_doc, load, network_row, owner_of, rbac_row, touch, Plugin};
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};

const RULES: &[AttrRule] = &[
    rule("id", false, false),
    rule("project_id", true, false),
    rule("tenant_id", true, false),
    rule("object_type", true, false),
    rule("object_id", true, false),
    rule("target_tenant", true, true),
    rule("action", true, false),
];

fn in_use(object_id: &str) -> PluginError {
    PluginError::Fault(neutrino_model::Fault::new(
        409,
        "RbacPolicyInUse",
        format!("RBAC policy on object {object_id} cannot be removed because other objects depend on it."),
    ))
}

/// The RBAC policies of a network.
pub(crate) async fn policies_of(tx: &mut Tx, network_id: &str) -> PluginResult<Vec<RbacPolicy>> {
    docs(tx, Table::RbacPolicies, "object_id", network_id).await
}

/// Whether `project` may plug ports into the network through a policy.
pub(crate) async fn shared_with(tx: &mut Tx, network: &Network, project: &str) -> PluginResult<bool> {
    if network.shared || network.project_id == project {
        return Ok(true);
    }
    Ok(policies_of(tx, &network.id)
        .await?
        .iter()
        .any(|p| p.action == ACCESS_AS_SHARED && (p.target_tenant == project || p.target_tenant == EVERY_PROJECT)))
}

impl Plugin {
    /// Refuses to take `action` away from `target` on a network while a
    /// project that would lose access still has ports on it.
    async fn check_not_in_use(&self, tx: &mut Tx, network: &Network, removed: &RbacPolicy) -> PluginResult<()> {
        if removed.action != ACCESS_AS_SHARED {
            return Ok(());
        }
        let remaining: Vec<RbacPolicy> =
            policies_of(tx, &network.id).await?.into_iter().filter(|p| p.id != removed.id).collect();
        let keeps = |project: &str| {
            project == network.project_id
                || remaining.iter().any(|p| {
                    p.action == ACCESS_AS_SHARED && (p.target_tenant == project || p.target_tenant == EVERY_PROJECT)
                })
        };
        let ports: Vec<Port> = docs(tx, Table::Ports, "network_id", &network.id).await?;
        let affected = |p: &&Port| {
            !p.device_owner.starts_with("network:")
                && (removed.target_tenant == EVERY_PROJECT || p.project_id == removed.target_tenant)
        };
        if ports.iter().filter(affected).any(|p| !keeps(&p.project_id)) {
            return Err(in_use(&network.id));
        }
        Ok(())
    }

    /// Keeps the network's `shared` / `router:external` flags equal to the
    /// existence of the matching wildcard policy.
    async fn sync_flags(&self, tx: &mut Tx, network_id: &str) -> PluginResult<()> {
        let policies = policies_of(tx, network_id).await?;
        let wildcard = |action: &str| policies.iter().any(|p| p.action == action && p.target_tenant == EVERY_PROJECT);
        let (shared, external) = (wildcard(ACCESS_AS_SHARED), wildcard(ACCESS_AS_EXTERNAL));
        let mut n: Network = load(tx, &RequestContext::admin(""), Resource::Network, network_id).await?;
        if n.shared != shared || n.router_external != external {
            n.shared = shared;
            n.router_external = external;
            touch(&mut n.revision_number, &mut n.updated_at);
            tx.update(Table::Networks, &network_row(&n)?).await?;
        }
        Ok(())
    }

    /// Adds (or removes) the wildcard policy behind a network flag set
    /// through the network itself (`shared`, `router:external`).
    pub(crate) async fn set_wildcard(
        &self,
        tx: &mut Tx,
        network: &Network,
        action: &str,
        on: bool,
    ) -> PluginResult<()> {
        let existing = policies_of(tx, &network.id)
            .await?
            .into_iter()
            .find(|p| p.action == action && p.target_tenant == EVERY_PROJECT);
        match (on, existing) {
            (true, None) => {
                let p = RbacPolicy {
                    id: new_id(),
                    project_id: network.project_id.clone(),
                    tenant_id: network.project_id.clone(),
                    object_type: "network".into(),
                    object_id: network.id.clone(),
                    target_tenant: EVERY_PROJECT.into(),
                    action: action.into(),
                };
                tx.insert(Table::RbacPolicies, &rbac_row(&p)?).await?;
            }
            (false, Some(p)) => {
                self.check_not_in_use(tx, network, &p).await?;
                tx.delete(Table::RbacPolicies, &p.id).await?;
            }
            _ => {}
        }
        Ok(())
    }

    pub(crate) async fn create_rbac_policy(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        body: Value,
    ) -> PluginResult<RbacPolicy> {
        let mut b = Body::new(body, RULES, Op::Create)?;
        let project_id = owner_of(ctx, &mut b)?;
        let object_type = Body::required("object_type", b.one_of("object_type", &["network"], false)?.flatten())?;
        let object_id = Body::required("object_id", b.uuid("object_id")?)?;
        let target = Body::required("target_tenant", b.string("target_tenant", 255)?)?;
        if target.is_empty() {
            return Err(PluginError::BadRequest(
                "Invalid input for target_tenant. Reason: '' Blank strings are not permitted.".into(),
            ));
        }
        let action =
            Body::required("action", b.one_of("action", &[ACCESS_AS_SHARED, ACCESS_AS_EXTERNAL], false)?.flatten())?;
        ctx.enforce("create_rbac_policy:target_tenant", &rbac_target(&project_id, &target))?;
        let network: Network = load(tx, ctx, Resource::Network, &object_id).await?;
        if !ctx.owns(&network.project_id) {
            return Err(PluginError::InvalidInput(
                "Only admins can manipulate policies on objects they do not own".into(),
            ));
        }
        self.check_quota(tx, "rbac_policy", &project_id).await?;
        let policy = RbacPolicy {
            id: new_id(),
            tenant_id: project_id.clone(),
            project_id,
            object_type,
            object_id: object_id.clone(),
            target_tenant: target,
            action,
        };
        match tx.insert(Table::RbacPolicies, &rbac_row(&policy)?).await {
            Ok(()) => {}
            Err(StoreError::UniqueViolation(_)) => {
                return Err(PluginError::Fault(neutrino_model::Fault::new(
                    409,
                    "DuplicateRbacPolicy",
                    "An RBAC policy already exists with those values.",
                )))
            }
            Err(e) => return Err(e.into()),
        }
        self.sync_flags(tx, &object_id).await?;
        Ok(policy)
    }

    async fn load_policy(&self, tx: &mut Tx, ctx: &RequestContext, id: &str) -> PluginResult<(RbacPolicy, Network)> {
        let doc = tx
            .get_doc(Table::RbacPolicies, id, &ctx.scope())
            .await?
            .ok_or_else(|| PluginError::not_found(Resource::RbacPolicy, id))?;
        let policy: RbacPolicy = from_doc(Table::RbacPolicies, id, &doc)?;
        let network: Network = load(tx, &RequestContext::admin(""), Resource::Network, &policy.object_id).await?;
        Ok((policy, network))
    }

    pub(crate) async fn update_rbac_policy(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        body: Value,
    ) -> PluginResult<RbacPolicy> {
        let mut b = Body::new(body, RULES, Op::Update)?;
        let (mut policy, network) = self.load_policy(tx, ctx, id).await?;
        if let Some(target) = b.string("target_tenant", 255)? {
            ctx.enforce("update_rbac_policy:target_tenant", &rbac_target(&policy.project_id, &target))?;
            if target != policy.target_tenant {
                self.check_not_in_use(tx, &network, &policy).await?;
                policy.target_tenant = target;
            }
        }
        match tx.update(Table::RbacPolicies, &rbac_row(&policy)?).await {
            Ok(_) => {}
            Err(StoreError::UniqueViolation(_)) => {
                return Err(PluginError::Fault(neutrino_model::Fault::new(
                    409,
                    "DuplicateRbacPolicy",
                    "An RBAC policy already exists with those values.",
                )))
            }
            Err(e) => return Err(e.into()),
        }
        self.sync_flags(tx, &network.id).await?;
        Ok(policy)
    }

    pub(crate) async fn delete_rbac_policy(&self, tx: &mut Tx, ctx: &RequestContext, id: &str) -> PluginResult<()> {
        let (policy, network) = self.load_policy(tx, ctx, id).await?;
        self.check_not_in_use(tx, &network, &policy).await?;
        tx.delete(Table::RbacPolicies, id).await?;
        self.sync_flags(tx, &network.id).await
    }
}

/// An RBAC policy as a policy target.
fn rbac_target(owner: &str, target_tenant: &str) -> serde_json::Map<String, Value> {
    let mut t = crate::context::target(owner, owner);
    t.insert("target_tenant".into(), Value::String(target_tenant.to_string()));
    t.insert("target_project".into(), Value::String(target_tenant.to_string()));
    t
}

//! Quotas: per-project limits on what a project may own, checked inside the
//! creating transaction (so concurrent creates cannot overshoot), and the
//! `/v2.0/quotas` resource that shows and changes them.

use std::collections::BTreeMap;

use neutrino_store::{Table, Tx};
use serde_json::{Map, Value};

use super::input::Body;
use super::Plugin;
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};

/// The resources with quotas, with their tables.
pub const QUOTA_RESOURCES: &[(&str, Table)] = &[
    ("network", Table::Networks),
    ("port", Table::Ports),
    ("rbac_policy", Table::RbacPolicies),
    ("subnet", Table::Subnets),
    ("router", Table::Routers),
    ("floatingip", Table::FloatingIps),
    ("security_group", Table::SecurityGroups),
    ("security_group_rule", Table::SecurityGroupRules),
];

/// One resource's quota with its usage (`quota_details`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaDetail {
    /// The limit (-1 = unlimited).
    pub limit: i64,
    /// What the project owns.
    pub used: i64,
}

impl Plugin {
    fn default_limit(&self, resource: &str) -> i64 {
        let q = &self.settings.quotas;
        match resource {
            "network" => q.network,
            "subnet" => q.subnet,
            "port" => q.port,
            "rbac_policy" => q.rbac_policy,
            "router" => q.router,
            "floatingip" => q.floatingip,
            "security_group" => q.security_group,
            "security_group_rule" => q.security_group_rule,
            _ => -1,
        }
    }

    /// Every resource's limit, given the ones set for the project.
    fn limits(&self, set: &[(String, i64)]) -> PluginResult<BTreeMap<&'static str, i64>> {
        Ok(QUOTA_RESOURCES
            .iter()
            .map(|(r, _)| {
                let limit = set.iter().find(|(name, _)| name == r).map_or_else(|| self.default_limit(r), |(_, l)| *l);
                (*r, limit)
            })
            .collect())
    }

    /// Refuses a create that would take `project_id` past its quota for
    /// `resource` (409 OverQuota). Runs inside the creating transaction.
    pub(crate) async fn check_quota(&self, tx: &mut Tx, resource: &'static str, project_id: &str) -> PluginResult<()> {
        let Some((_, table)) = QUOTA_RESOURCES.iter().find(|(r, _)| *r == resource) else { return Ok(()) };
        let set = tx.quota_overrides(project_id).await?;
        let limit = set.iter().find(|(r, _)| r == resource).map_or_else(|| self.default_limit(resource), |(_, l)| *l);
        if limit < 0 {
            return Ok(());
        }
        if tx.count_owned(*table, project_id).await? >= limit {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                409,
                "OverQuota",
                format!("Quota exceeded for resources: ['{resource}']."),
            )));
        }
        Ok(())
    }

    /// As Neutron's quota controller: a caller may always read its own
    /// project's quota; `get_quota` governs reading another's.
    fn may_read_quota(ctx: &RequestContext, project_id: &str) -> PluginResult<()> {
        if ctx.project_id == project_id {
            return Ok(());
        }
        ctx.enforce("get_quota", &crate::context::target(project_id, project_id))
    }

    /// The limits of a project.
    pub async fn quota_show(&self, ctx: &RequestContext, project_id: &str) -> PluginResult<Map<String, Value>> {
        Self::may_read_quota(ctx, project_id)?;
        let mut r = self.store.read().await?;
        let limits = self.limits(&r.quota_overrides(project_id).await?)?;
        Ok(limits.into_iter().map(|(r, l)| (r.to_string(), Value::from(l))).collect())
    }

    /// The configured defaults.
    pub fn quota_defaults(&self) -> Map<String, Value> {
        QUOTA_RESOURCES.iter().map(|(r, _)| (r.to_string(), Value::from(self.default_limit(r)))).collect()
    }

    /// Limits with usage.
    pub async fn quota_details(
        &self,
        ctx: &RequestContext,
        project_id: &str,
    ) -> PluginResult<BTreeMap<&'static str, QuotaDetail>> {
        Self::may_read_quota(ctx, project_id)?;
        let mut reader = self.store.read().await?;
        let limits = self.limits(&reader.quota_overrides(project_id).await?)?;
        let mut out = BTreeMap::new();
        for (r, table) in QUOTA_RESOURCES {
            let used = reader.count_owned(*table, project_id).await?;
            out.insert(*r, QuotaDetail { limit: limits.get(r).copied().unwrap_or(-1), used });
        }
        Ok(out)
    }

    /// Every project with limits of its own, with all its limits.
    pub async fn quota_list(&self, ctx: &RequestContext) -> PluginResult<Vec<(String, Map<String, Value>)>> {
        ctx.enforce("get_quota", &serde_json::Map::new())?;
        let mut reader = self.store.read().await?;
        let mut projects: Vec<String> = reader.all_quota_overrides().await?.into_iter().map(|(p, _, _)| p).collect();
        projects.dedup();
        let mut out = Vec::with_capacity(projects.len());
        for p in projects {
            let limits = self.limits(&reader.quota_overrides(&p).await?)?;
            out.push((p, limits.into_iter().map(|(r, l)| (r.to_string(), Value::from(l))).collect()));
        }
        Ok(out)
    }

    /// Sets some of a project's limits (admin only).
    pub async fn quota_update(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        body: Value,
    ) -> PluginResult<Map<String, Value>> {
        ctx.enforce("update_quota", &crate::context::target(project_id, project_id))?;
        let Value::Object(mut map) = body else {
            return Err(PluginError::BadRequest("Body contains invalid data: the quota must be a JSON object".into()));
        };
        // Clients' flags (osc sends check_limit): usage is always checked
        // unless `force` is true, as Neutron does since 2025.1.
        let force = map.remove("force").is_some_and(|v| v == Value::Bool(true));
        map.remove("check_limit");
        let mut unknown: Vec<&str> =
            map.keys().map(String::as_str).filter(|k| !QUOTA_RESOURCES.iter().any(|(r, _)| r == k)).collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(PluginError::BadRequest(format!("Unrecognized attribute(s) '{}'", unknown.join(", "))));
        }
        let mut b = Body::new(
            Value::Object(map.clone()),
            &QUOTA_RESOURCES.iter().map(|(r, _)| super::input::rule(r, true, true)).collect::<Vec<_>>(),
            super::input::Op::Update,
        )?;
        let mut tx = self.begin().await?;
        for (r, table) in QUOTA_RESOURCES {
            if let Some(v) = b.integer(r, -1, i64::MAX)? {
                if !force && v >= 0 {
                    let used = tx.count_owned(*table, project_id).await?;
                    if used > v {
                        return Err(PluginError::Fault(neutrino_model::Fault::bad_request(format!(
                            "Quota limit {v} for {r} must be greater than or equal to already used {used}"
                        ))));
                    }
                }
                tx.set_quota(project_id, r, v).await?;
            }
        }
        let limits = self.limits(&tx.quota_overrides(project_id).await?)?;
        tx.commit().await?;
        Ok(limits.into_iter().map(|(r, l)| (r.to_string(), Value::from(l))).collect())
    }

    /// Forgets a project's limits (admin only).
    pub async fn quota_delete(&self, ctx: &RequestContext, project_id: &str) -> PluginResult<()> {
        ctx.enforce("delete_quota", &crate::context::target(project_id, project_id))?;
        let mut tx = self.begin().await?;
        tx.delete_quotas(project_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

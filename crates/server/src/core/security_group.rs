//! Security groups and their rules, with Neutron's rules: a `default`
//! group per project (made when the project first needs it, with egress
//! open and ingress from the group itself), normalised protocols and port
//! ranges, refused duplicates and contradictions, groups in use kept.
//!
//! A group's document carries its rules (kept in step with every rule
//! change, as the API shows them); which ports use which group is kept in
//! `port_security_group_bindings`.

use std::net::IpAddr;

use ipnet::IpNet;
use neutrino_model::fault::Resource;
use neutrino_model::sg::IP_PROTOCOLS as PROTOCOLS;
use neutrino_model::{Fault, Port, SecurityGroup, SecurityGroupRule};
use neutrino_store::{DocRow, SqlValue, Table, Tx};
use serde_json::Value;

use super::changes::Op as ChangeOp;
use super::input::{py, rule, AttrRule, Body, Op};
use super::{by, docs, load, load_for_change, new_id_and_time, owner_of, to_doc, touch, Change, Plugin};
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};

const GROUP_RULES: &[AttrRule] = &[
    rule("id", false, false),
    rule("name", true, true),
    rule("description", true, true),
    rule("project_id", true, false),
    rule("tenant_id", true, false),
    rule("stateful", true, true),
    rule("shared", false, false),
    rule("security_group_rules", false, false),
    rule("tags", false, false),
    rule("created_at", false, false),
    rule("updated_at", false, false),
    rule("revision_number", false, false),
];

const RULE_RULES: &[AttrRule] = &[
    rule("id", false, false),
    rule("project_id", true, false),
    rule("tenant_id", true, false),
    rule("security_group_id", true, false),
    rule("direction", true, false),
    rule("ethertype", true, false),
    rule("protocol", true, false),
    rule("port_range_min", true, false),
    rule("port_range_max", true, false),
    rule("remote_ip_prefix", true, false),
    rule("remote_group_id", true, false),
    rule("remote_address_group_id", true, false),
    rule("description", true, true),
    rule("belongs_to_default_sg", false, false),
    rule("normalized_cidr", false, false),
    rule("created_at", false, false),
    rule("updated_at", false, false),
    rule("revision_number", false, false),
];

/// Protocols whose rules take port ranges.
const PORT_PROTOCOLS: &[&str] = &["tcp", "udp", "sctp", "dccp", "udplite", "6", "17", "132", "33", "136"];

fn fault(status: u16, kind: &str, msg: String) -> PluginError {
    PluginError::Fault(Fault::new(status, kind, msg))
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

fn opt(s: &Option<String>) -> SqlValue {
    s.as_ref().map_or(SqlValue::Null, |v| SqlValue::Text(v.clone()))
}

pub(crate) fn group_row(g: &SecurityGroup) -> PluginResult<DocRow> {
    Ok(DocRow { id: g.id.clone(), columns: vec![text(&g.project_id), text(&g.name)], doc: to_doc(g)? })
}

/// What makes two rules of a group the same.
fn fingerprint(r: &SecurityGroupRule) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let n = |v: Option<u32>| v.map(|x| x.to_string()).unwrap_or_default();
    format!(
        "{}|{}|{}|{}|{}|{}|{}",
        r.direction,
        r.ethertype,
        o(&r.protocol),
        n(r.port_range_min),
        n(r.port_range_max),
        o(&r.remote_ip_prefix),
        o(&r.remote_group_id)
    )
}

pub(crate) fn rule_row(r: &SecurityGroupRule) -> PluginResult<DocRow> {
    Ok(DocRow {
        id: r.id.clone(),
        columns: vec![
            text(&r.project_id),
            text(&r.security_group_id),
            opt(&r.remote_group_id),
            text(&r.direction),
            text(&r.ethertype),
            text(&fingerprint(r)),
        ],
        doc: to_doc(r)?,
    })
}

/// Normalises `protocol` (name, number or `any`) for `ethertype`.
fn normalise_protocol(raw: Option<&Value>, ethertype: &str) -> PluginResult<Option<String>> {
    let unsupported = |v: &str| {
        fault(
            400,
            "SecurityGroupRuleInvalidProtocol",
            format!(
                "Security group rule protocol {v} not supported. Only protocol values [{}] and integer representations [0 to 255] are supported.",
                PROTOCOLS.iter().map(|(n, _)| format!("'{n}'")).collect::<Vec<_>>().join(", ")
            ),
        )
    };
    let given = match raw {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.to_ascii_lowercase(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return Err(unsupported(&py(other))),
    };
    if given == "any" || given.is_empty() {
        return Ok(None);
    }
    let name = if let Ok(n) = given.parse::<u16>() {
        if n > 255 {
            return Err(unsupported(&given));
        }
        given.clone()
    } else if PROTOCOLS.iter().any(|(n, _)| *n == given) {
        given.clone()
    } else {
        return Err(unsupported(&given));
    };
    let icmpv6 = matches!(name.as_str(), "ipv6-icmp" | "icmpv6" | "58");
    if ethertype == "IPv4" && icmpv6 {
        return Err(fault(
            400,
            "SecurityGroupEthertypeConflictWithProtocol",
            format!("Invalid ethertype IPv4 for protocol {name}."),
        ));
    }
    // ICMP for IPv6 is ipv6-icmp (what the data plane matches).
    Ok(Some(match (ethertype, name.as_str()) {
        ("IPv6", "icmp" | "icmpv6" | "1") => "ipv6-icmp".to_string(),
        _ => name,
    }))
}

/// Checks port ranges (or ICMP type/code) against the protocol.
fn check_ports(protocol: Option<&str>, min: Option<u32>, max: Option<u32>) -> PluginResult<()> {
    let Some(p) = protocol else {
        if min.is_some() || max.is_some() {
            return Err(fault(
                400,
                "SecurityGroupProtocolRequiredWithPorts",
                "Must also specify protocol if port range is given.".into(),
            ));
        }
        return Ok(());
    };
    if PORT_PROTOCOLS.contains(&p) {
        for v in [min, max].into_iter().flatten() {
            if v == 0 || v > 65_535 {
                return Err(fault(400, "SecurityGroupInvalidPortValue", format!("Invalid value for port {v}.")));
            }
        }
        if let (Some(a), Some(b)) = (min, max) {
            if a > b {
                return Err(fault(
                    400,
                    "SecurityGroupInvalidPortRange",
                    "For TCP/UDP protocols, port_range_min must be <= port_range_max".into(),
                ));
            }
        }
        return Ok(());
    }
    if matches!(p, "icmp" | "ipv6-icmp" | "1" | "58") {
        for (v, field, what) in [(min, "port_range_min", "type"), (max, "port_range_max", "code")] {
            if v.is_some_and(|v| v > 255) {
                return Err(fault(
                    400,
                    "SecurityGroupInvalidIcmpValue",
                    format!("Invalid value for ICMP {field} ({what}): {}. It must be 0 to 255.", v.unwrap_or(0)),
                ));
            }
        }
        if min.is_none() && max.is_some() {
            return Err(fault(
                400,
                "SecurityGroupMissingIcmpType",
                format!(
                    "ICMP code (port-range-max) {} is provided but ICMP type (port-range-min) is missing.",
                    max.unwrap_or(0)
                ),
            ));
        }
        return Ok(());
    }
    if min.is_some() || max.is_some() {
        return Err(fault(
            400,
            "SecurityGroupInvalidProtocolForPortRange",
            format!("Invalid protocol {p} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP."),
        ));
    }
    Ok(())
}

fn port_value(b: &mut Body, key: &str) -> PluginResult<Option<u32>> {
    match b.raw(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().and_then(|v| u32::try_from(v).ok()).map(Some).ok_or_else(|| {
            PluginError::BadRequest(format!("Invalid input for {key}. Reason: '{n}' is not an integer."))
        }),
        Some(Value::String(s)) => s
            .parse::<u32>()
            .map(Some)
            .map_err(|_| PluginError::BadRequest(format!("Invalid input for {key}. Reason: '{s}' is not an integer."))),
        Some(v) => {
            Err(PluginError::BadRequest(format!("Invalid input for {key}. Reason: '{}' is not an integer.", py(&v))))
        }
    }
}

impl Plugin {
    /// The project's `default` group, made (with Neutron's default rules) if missing.
    pub(crate) async fn ensure_default_group(&self, tx: &mut Tx, project_id: &str) -> PluginResult<String> {
        let found: Vec<SecurityGroup> =
            docs(tx, Table::SecurityGroups, vec![by("project_id", text(project_id)), by("name", text("default"))])
                .await?;
        if let Some(g) = found.into_iter().next() {
            return Ok(g.id);
        }
        let (id, now) = new_id_and_time();
        let mut g = SecurityGroup {
            id: id.clone(),
            name: "default".into(),
            description: "Default security group".into(),
            project_id: project_id.to_string(),
            tenant_id: project_id.to_string(),
            stateful: true,
            shared: false,
            security_group_rules: Vec::new(),
            tags: Vec::new(),
            created_at: now.clone(),
            updated_at: now.clone(),
            revision_number: 1,
        };
        tx.insert(Table::SecurityGroups, &group_row(&g)?).await?;
        for (direction, ethertype, remote) in [
            ("egress", "IPv4", None),
            ("egress", "IPv6", None),
            ("ingress", "IPv4", Some(&id)),
            ("ingress", "IPv6", Some(&id)),
        ] {
            let r = SecurityGroupRule {
                id: new_id_and_time().0,
                project_id: project_id.to_string(),
                tenant_id: project_id.to_string(),
                security_group_id: id.clone(),
                direction: direction.into(),
                ethertype: ethertype.into(),
                protocol: None,
                port_range_min: None,
                port_range_max: None,
                remote_ip_prefix: None,
                remote_group_id: remote.cloned(),
                remote_address_group_id: None,
                description: String::new(),
                belongs_to_default_sg: true,
                created_at: now.clone(),
                updated_at: now.clone(),
                revision_number: 1,
            };
            tx.insert(Table::SecurityGroupRules, &rule_row(&r)?).await?;
            g.security_group_rules.push(r);
        }
        tx.update(Table::SecurityGroups, &group_row(&g)?).await?;
        let v = serde_json::to_value(&g).map_err(|e| PluginError::BadRequest(e.to_string()))?;
        self.log_change(tx, Resource::SecurityGroup, ChangeOp::Create, &v).await?;
        tracing::info!(project = %project_id, group = %id, "default security group created");
        Ok(id)
    }

    /// Makes the caller's default group exist before its groups are listed, as Neutron does.
    pub async fn ensure_default_group_of(&self, ctx: &RequestContext) -> PluginResult<()> {
        if ctx.project_id.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        self.ensure_default_group(&mut tx, &ctx.project_id).await?;
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    pub(crate) async fn create_security_group(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        body: Value,
    ) -> PluginResult<SecurityGroup> {
        let mut b = Body::new(body, GROUP_RULES, Op::Create)?;
        let project_id = owner_of(ctx, &mut b)?;
        let name = b.string("name", 255)?.unwrap_or_default();
        let description = b.string("description", 255)?.unwrap_or_default();
        let stateful = b.boolean("stateful")?.unwrap_or(true);
        self.ensure_default_group(tx, &project_id).await?;
        if name == "default" {
            return Err(fault(
                409,
                "SecurityGroupDefaultAlreadyExists",
                "Default security group already exists.".into(),
            ));
        }
        self.check_quota(tx, "security_group", &project_id).await?;
        let (id, now) = new_id_and_time();
        let mut g = SecurityGroup {
            id: id.clone(),
            name,
            description,
            tenant_id: project_id.clone(),
            project_id: project_id.clone(),
            stateful,
            shared: false,
            security_group_rules: Vec::new(),
            tags: Vec::new(),
            created_at: now.clone(),
            updated_at: now.clone(),
            revision_number: 1,
        };
        tx.insert(Table::SecurityGroups, &group_row(&g)?).await?;
        // A new group lets everything out, as Neutron's.
        for ethertype in ["IPv4", "IPv6"] {
            let r = SecurityGroupRule {
                id: new_id_and_time().0,
                project_id: project_id.clone(),
                tenant_id: project_id.clone(),
                security_group_id: id.clone(),
                direction: "egress".into(),
                ethertype: ethertype.into(),
                protocol: None,
                port_range_min: None,
                port_range_max: None,
                remote_ip_prefix: None,
                remote_group_id: None,
                remote_address_group_id: None,
                description: String::new(),
                belongs_to_default_sg: false,
                created_at: now.clone(),
                updated_at: now.clone(),
                revision_number: 1,
            };
            tx.insert(Table::SecurityGroupRules, &rule_row(&r)?).await?;
            g.security_group_rules.push(r);
        }
        tx.update(Table::SecurityGroups, &group_row(&g)?).await?;
        Ok(g)
    }

    pub(crate) async fn update_security_group(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        body: Value,
        if_match: Option<u64>,
    ) -> PluginResult<SecurityGroup> {
        let mut b = Body::new(body, GROUP_RULES, Op::Update)?;
        let mut g: SecurityGroup =
            load_for_change(tx, ctx, Resource::SecurityGroup, id, if_match, Change::Update).await?;
        if let Some(v) = b.string("name", 255)? {
            if g.name == "default" && v != "default" {
                return Err(fault(
                    400,
                    "SecurityGroupCannotUpdateDefault",
                    "Updating default security group not allowed.".into(),
                ));
            }
            if v == "default" && g.name != "default" {
                return Err(fault(
                    409,
                    "SecurityGroupDefaultAlreadyExists",
                    "Default security group already exists.".into(),
                ));
            }
            g.name = v;
        }
        if let Some(v) = b.string("description", 255)? {
            g.description = v;
        }
        if let Some(v) = b.boolean("stateful")? {
            if v != g.stateful && !tx.group_ports(id).await?.is_empty() {
                return Err(fault(
                    409,
                    "SecurityGroupInUse",
                    format!("Security Group {id} in use: its stateful attribute cannot change while ports use it."),
                ));
            }
            g.stateful = v;
        }
        touch(&mut g.revision_number, &mut g.updated_at);
        tx.update(Table::SecurityGroups, &group_row(&g)?).await?;
        Ok(g)
    }

    pub(crate) async fn delete_security_group(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<u64>,
    ) -> PluginResult<()> {
        let g: SecurityGroup = load_for_change(tx, ctx, Resource::SecurityGroup, id, if_match, Change::Delete).await?;
        if g.name == "default" && !ctx.is_admin {
            return Err(fault(
                409,
                "SecurityGroupCannotRemoveDefault",
                "Insufficient rights for removing default security group.".into(),
            ));
        }
        if !tx.group_ports(id).await?.is_empty() {
            return Err(fault(409, "SecurityGroupInUse", format!("Security Group {id} in use.")));
        }
        // Other groups' rules naming this one as remote go with it.
        let naming: Vec<SecurityGroupRule> =
            docs(tx, Table::SecurityGroupRules, vec![by("remote_group_id", text(id))]).await?;
        for r in naming.iter().filter(|r| r.security_group_id != id) {
            self.drop_rule_from_group(tx, r).await?;
        }
        tx.delete(Table::SecurityGroups, id).await?;
        Ok(())
    }

    /// Removes a rule from its group's document (the row is deleted by the caller or by cascade).
    async fn drop_rule_from_group(&self, tx: &mut Tx, r: &SecurityGroupRule) -> PluginResult<()> {
        let admin = RequestContext::admin("");
        let mut g: SecurityGroup = load(tx, &admin, Resource::SecurityGroup, &r.security_group_id).await?;
        g.security_group_rules.retain(|x| x.id != r.id);
        touch(&mut g.revision_number, &mut g.updated_at);
        tx.update(Table::SecurityGroups, &group_row(&g)?).await?;
        let v = serde_json::to_value(&g).map_err(|e| PluginError::BadRequest(e.to_string()))?;
        self.log_change(tx, Resource::SecurityGroup, ChangeOp::Update, &v).await
    }

    pub(crate) async fn create_security_group_rule(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        body: Value,
    ) -> PluginResult<SecurityGroupRule> {
        let mut b = Body::new(body, RULE_RULES, Op::Create)?;
        let _ = owner_of(ctx, &mut b)?;
        let group_id = Body::required("security_group_id", b.uuid("security_group_id")?)?;
        let mut g: SecurityGroup = load(tx, ctx, Resource::SecurityGroup, &group_id).await?;
        let direction = Body::required("direction", b.one_of("direction", &["ingress", "egress"], false)?.flatten())?;
        let ethertype = b.one_of("ethertype", &["IPv4", "IPv6"], false)?.flatten().unwrap_or_else(|| "IPv4".into());
        let protocol = normalise_protocol(b.raw("protocol").as_ref(), &ethertype)?;
        let min = port_value(&mut b, "port_range_min")?;
        let max = port_value(&mut b, "port_range_max")?;
        check_ports(protocol.as_deref(), min, max)?;
        // A single port given as min only means that port, as Neutron stores it.
        let max = match (protocol.as_deref(), min, max) {
            (Some(p), Some(m), None) if PORT_PROTOCOLS.contains(&p) => Some(m),
            _ => max,
        };
        let remote_ip_prefix = match b.string_or_null("remote_ip_prefix", 64)?.flatten() {
            None => None,
            Some(p) => {
                let net: IpNet = p.parse().or_else(|_| p.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
                    PluginError::BadRequest(format!(
                        "Invalid input for remote_ip_prefix. Reason: '{p}' is not a valid IP subnet."
                    ))
                })?;
                let v6 = net.addr().is_ipv6();
                if v6 != (ethertype == "IPv6") {
                    return Err(fault(
                        400,
                        "SecurityGroupRuleParameterConflict",
                        format!("Conflicting value ethertype {ethertype} for CIDR {p}"),
                    ));
                }
                Some(net.trunc().to_string())
            }
        };
        let remote_group_id = b.uuid("remote_group_id")?;
        if b.string_or_null("remote_address_group_id", 36)?.flatten().is_some() {
            return Err(PluginError::BadRequest("remote_address_group_id: address groups are not built yet".into()));
        }
        if remote_ip_prefix.is_some() && remote_group_id.is_some() {
            return Err(fault(
                400,
                "SecurityGroupRemoteGroupAndRemoteIpPrefix",
                "Only remote_ip_prefix or remote_group_id may be provided.".into(),
            ));
        }
        if let Some(rg) = &remote_group_id {
            if rg != &group_id {
                let _: SecurityGroup = load(tx, ctx, Resource::SecurityGroup, rg).await?;
            }
        }
        let description = b.string("description", 255)?.unwrap_or_default();
        self.check_quota(tx, "security_group_rule", &g.project_id).await?;
        let (id, now) = new_id_and_time();
        let r = SecurityGroupRule {
            id,
            project_id: g.project_id.clone(),
            tenant_id: g.project_id.clone(),
            security_group_id: group_id.clone(),
            direction,
            ethertype,
            protocol,
            port_range_min: min,
            port_range_max: max,
            remote_ip_prefix,
            remote_group_id,
            remote_address_group_id: None,
            description,
            belongs_to_default_sg: false,
            created_at: now.clone(),
            updated_at: now,
            revision_number: 1,
        };
        if let Some(same) = g.security_group_rules.iter().find(|x| fingerprint(x) == fingerprint(&r)) {
            return Err(fault(
                409,
                "SecurityGroupRuleExists",
                format!("Security group rule already exists. Rule id is {}.", same.id),
            ));
        }
        tx.insert(Table::SecurityGroupRules, &rule_row(&r)?).await?;
        g.security_group_rules.push(r.clone());
        touch(&mut g.revision_number, &mut g.updated_at);
        tx.update(Table::SecurityGroups, &group_row(&g)?).await?;
        let v = serde_json::to_value(&g).map_err(|e| PluginError::BadRequest(e.to_string()))?;
        self.log_change(tx, Resource::SecurityGroup, ChangeOp::Update, &v).await?;
        Ok(r)
    }

    pub(crate) async fn update_security_group_rule(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        body: Value,
        if_match: Option<u64>,
    ) -> PluginResult<SecurityGroupRule> {
        let mut b = Body::new(body, RULE_RULES, Op::Update)?;
        let mut r: SecurityGroupRule =
            load_for_change(tx, ctx, Resource::SecurityGroupRule, id, if_match, Change::Update).await?;
        if let Some(v) = b.string("description", 255)? {
            r.description = v;
        }
        touch(&mut r.revision_number, &mut r.updated_at);
        tx.update(Table::SecurityGroupRules, &rule_row(&r)?).await?;
        let admin = RequestContext::admin("");
        let mut g: SecurityGroup = load(tx, &admin, Resource::SecurityGroup, &r.security_group_id).await?;
        for x in g.security_group_rules.iter_mut().filter(|x| x.id == r.id) {
            *x = r.clone();
        }
        tx.update(Table::SecurityGroups, &group_row(&g)?).await?;
        Ok(r)
    }

    pub(crate) async fn delete_security_group_rule(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<u64>,
    ) -> PluginResult<()> {
        let r: SecurityGroupRule =
            load_for_change(tx, ctx, Resource::SecurityGroupRule, id, if_match, Change::Delete).await?;
        tx.delete(Table::SecurityGroupRules, id).await?;
        self.drop_rule_from_group(tx, &r).await
    }

    /// The security groups a port asks for (or gets by default), checked.
    pub(crate) async fn port_security_groups(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        port_project: &str,
        requested: Option<Vec<String>>,
        device_owner: &str,
        port_security: bool,
    ) -> PluginResult<Vec<String>> {
        let groups = match requested {
            Some(g) => g,
            // Neutron's own ports (router, DHCP) and unfiltered ports get none.
            None if device_owner.starts_with("network:") || !port_security => Vec::new(),
            None => vec![self.ensure_default_group(tx, port_project).await?],
        };
        let mut out: Vec<String> = Vec::with_capacity(groups.len());
        let mut stateful = std::collections::BTreeSet::new();
        for id in groups {
            let g: SecurityGroup = load(tx, ctx, Resource::SecurityGroup, &id).await?;
            if !ctx.is_admin && g.project_id != port_project {
                return Err(PluginError::not_found(Resource::SecurityGroup, &id));
            }
            stateful.insert(g.stateful);
            if !out.contains(&id) {
                out.push(id);
            }
        }
        if stateful.len() > 1 {
            return Err(fault(
                400,
                "PortSecurityGroupsNotStatefulConsistent",
                "Cannot apply both stateful and stateless security groups on the same port at the same time.".into(),
            ));
        }
        if !port_security && !out.is_empty() {
            return Err(fault(
                400,
                "PortSecurityAndIPRequiredForSecurityGroups",
                "Port security must be enabled and port must have an IP address in order to use security groups."
                    .into(),
            ));
        }
        Ok(out)
    }

    /// Records the groups of a port and tells the agents the groups changed
    /// (their members' addresses are in other hosts' remote sets).
    pub(crate) async fn bind_port_groups(&self, tx: &mut Tx, port: &Port, before: &[String]) -> PluginResult<()> {
        tx.set_port_groups(&port.id, &port.security_groups).await?;
        let admin = RequestContext::admin("");
        for gid in port.security_groups.iter().chain(before).collect::<std::collections::BTreeSet<_>>() {
            // A group deleted meanwhile has nothing to tell; any other failure is the transaction's.
            let g = match load::<SecurityGroup>(tx, &admin, Resource::SecurityGroup, gid).await {
                Ok(g) => g,
                Err(PluginError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            let v = serde_json::to_value(&g).map_err(|e| PluginError::BadRequest(e.to_string()))?;
            self.log_change(tx, Resource::SecurityGroup, ChangeOp::Update, &v).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_normalise_as_neutron() {
        assert_eq!(normalise_protocol(Some(&Value::from("TCP")), "IPv4").ok(), Some(Some("tcp".into())));
        assert_eq!(normalise_protocol(Some(&Value::from(6)), "IPv4").ok(), Some(Some("6".into())));
        assert_eq!(normalise_protocol(Some(&Value::from("any")), "IPv4").ok(), Some(None));
        assert_eq!(normalise_protocol(Some(&Value::from("icmp")), "IPv6").ok(), Some(Some("ipv6-icmp".into())));
        assert!(normalise_protocol(Some(&Value::from("ipv6-icmp")), "IPv4").is_err());
        assert!(normalise_protocol(Some(&Value::from("256")), "IPv4").is_err());
        assert!(normalise_protocol(Some(&Value::from("bogus")), "IPv4").is_err());
        assert_eq!(neutrino_model::sg::protocol_number("udp"), Some(17));
    }

    #[test]
    fn ports_fit_their_protocol() {
        assert!(check_ports(Some("tcp"), Some(22), Some(22)).is_ok());
        assert!(check_ports(Some("tcp"), Some(23), Some(22)).is_err());
        assert!(check_ports(Some("tcp"), Some(0), Some(22)).is_err());
        assert!(check_ports(None, Some(22), None).is_err());
        assert!(check_ports(Some("icmp"), Some(8), Some(0)).is_ok());
        assert!(check_ports(Some("icmp"), None, Some(0)).is_err());
        assert!(check_ports(Some("icmp"), Some(300), None).is_err());
        assert!(check_ports(Some("gre"), Some(1), None).is_err());
    }
}

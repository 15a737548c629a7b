//! Ports: MAC and fixed IPs, address pairs, DHCP options, binding.

use neutrino_model::fault::Resource;
use neutrino_model::{FixedIp, Network, Port, Subnet};
use neutrino_store::{Filter, ListQuery, Scope, SqlValue, Table, Tx};
use serde_json::Value;

use super::input::{rule, AttrRule, Body, Op};
use super::ipalloc::{allocate, is_auto_address, Want};
use super::network::docs;
use super::port_input::{
    asks_fixed_ip_address, merge_dhcp_opts, parse_dhcp_opts, parse_fixed_ips, parse_mac, parse_pairs, peek_str,
    FixedIpRequest,
};
use super::subnet::cidr_of;
use super::{load, load_for_change, new_id_and_time, owner_of, port_row, Change, Plugin};
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};

const RULES: &[AttrRule] = &[
    rule("id", false, false),
    rule("name", true, true),
    rule("description", true, true),
    rule("project_id", true, false),
    rule("tenant_id", true, false),
    rule("network_id", true, false),
    rule("admin_state_up", true, true),
    rule("mac_address", true, true),
    rule("fixed_ips", true, true),
    rule("device_id", true, true),
    rule("device_owner", true, true),
    rule("status", false, false),
    rule("allowed_address_pairs", true, true),
    rule("extra_dhcp_opts", true, true),
    rule("security_groups", true, true),
    rule("port_security_enabled", true, true),
    rule("binding:host_id", true, true),
    rule("binding:vif_type", false, false),
    rule("binding:vif_details", false, false),
    rule("binding:vnic_type", true, true),
    rule("binding:profile", true, true),
    rule("tags", true, false),
    rule("created_at", false, false),
    rule("updated_at", false, false),
    rule("revision_number", false, false),
];

const VNIC_TYPES: &[&str] = &[
    "normal",
    "direct",
    "macvtap",
    "baremetal",
    "direct-physical",
    "virtio-forwarder",
    "smart-nic",
    "vdpa",
    "remote-managed",
];

/// Attempts to generate an unused MAC before giving up.
const MAC_ATTEMPTS: usize = 16;

fn bad_input(attr: &str, why: impl std::fmt::Display) -> PluginError {
    PluginError::BadRequest(format!("Invalid input for {attr}. Reason: {why}."))
}

impl Plugin {
    async fn mac_taken(&self, tx: &mut Tx, network_id: &str, mac: &str) -> PluginResult<bool> {
        let mut q = ListQuery::all(Scope::Admin);
        q.filters.push(Filter::Eq { attr: "network_id".into(), values: vec![SqlValue::Text(network_id.into())] });
        q.filters.push(Filter::Eq { attr: "mac_address".into(), values: vec![SqlValue::Text(mac.into())] });
        Ok(tx.count(Table::Ports, &q).await? > 0)
    }

    async fn choose_mac(&self, tx: &mut Tx, network_id: &str, requested: Option<[u8; 6]>) -> PluginResult<[u8; 6]> {
        if let Some(mac) = requested {
            let text = neutrino_ipam::format_mac(mac);
            if self.mac_taken(tx, network_id, &text).await? {
                return Err(PluginError::MacAddressInUse { net_id: network_id.into(), mac: text });
            }
            return Ok(mac);
        }
        for _ in 0..MAC_ATTEMPTS {
            let mac = neutrino_ipam::generate_mac(self.settings.base_mac, &mut rand::thread_rng());
            if !self.mac_taken(tx, network_id, &neutrino_ipam::format_mac(mac)).await? {
                return Ok(mac);
            }
        }
        Err(PluginError::MacGenerationFailure(network_id.into()))
    }

    /// Resolves a `fixed_ips` request against the network's subnets.
    async fn resolve_fixed_ips(
        &self,
        tx: &mut Tx,
        network_id: &str,
        subnets: &[Subnet],
        reqs: Vec<FixedIpRequest>,
        device_owner: &str,
    ) -> PluginResult<Vec<(Subnet, Want)>> {
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let subnet = match (&r.subnet_id, r.ip) {
                (Some(sid), _) => match subnets.iter().find(|s| &s.id == sid) {
                    Some(s) => s.clone(),
                    None => {
                        let exists = tx.get_doc(Table::Subnets, sid, &Scope::Admin).await?.is_some();
                        return Err(if exists {
                            PluginError::InvalidInput(format!(
                                "Failed to create port on network {network_id}, because fixed_ips included invalid subnet {sid}"
                            ))
                        } else {
                            PluginError::not_found(Resource::Subnet, sid)
                        });
                    }
                },
                (None, Some(ip)) => {
                    let mut found = None;
                    for s in subnets {
                        if neutrino_ipam::ip_in_cidr(cidr_of(s)?, ip) {
                            found = Some(s.clone());
                            break;
                        }
                    }
                    found.ok_or_else(|| PluginError::InvalidIpForNetwork(ip.to_string()))?
                }
                (None, None) => return Err(bad_input("fixed_ips", "Invalid data format for fixed IP: '{}'")),
            };
            let want = match r.ip {
                // A router's interface holds the subnet's gateway address.
                Some(ip) if is_auto_address(&subnet) && !is_router_interface(device_owner) => {
                    return Err(PluginError::InvalidInput(format!(
                        "IPv6 address {ip} cannot be directly assigned to a port on subnet {} as the subnet is configured for automatic addresses",
                        subnet.id
                    )))
                }
                Some(ip) => Want::Exact(ip),
                None if is_auto_address(&subnet) => Want::Eui64,
                None => Want::Any,
            };
            out.push((subnet, want));
        }
        Ok(out)
    }

    /// Neutron's default: one IPv4 address, one stateful IPv6 address, and
    /// the EUI-64 address of every SLAAC subnet (not for router ports).
    async fn default_fixed_ips(
        &self,
        tx: &mut Tx,
        port_id: &str,
        mac: [u8; 6],
        network_id: &str,
        subnets: &[Subnet],
        device_owner: &str,
    ) -> PluginResult<Vec<FixedIp>> {
        let mut out = Vec::new();
        let v4: Vec<&Subnet> = subnets.iter().filter(|s| s.ip_version == 4).collect();
        let v6_stateful: Vec<&Subnet> = subnets.iter().filter(|s| s.ip_version == 6 && !is_auto_address(s)).collect();
        for group in [v4, v6_stateful] {
            if group.is_empty() {
                continue;
            }
            let mut got = None;
            for s in &group {
                match allocate(tx, s, port_id, mac, &Want::Any).await {
                    Ok(ip) => {
                        got = Some(ip);
                        break;
                    }
                    Err(PluginError::SubnetExhausted(_)) => continue,
                    Err(e) => return Err(e),
                }
            }
            match got {
                Some(ip) => out.push(ip),
                None => return Err(PluginError::NetworkExhausted(network_id.into())),
            }
        }
        if !is_router_interface(device_owner) {
            for s in subnets.iter().filter(|s| is_auto_address(s)) {
                out.push(allocate(tx, s, port_id, mac, &Want::Eui64).await?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn create_port(&self, tx: &mut Tx, ctx: &RequestContext, body: Value) -> PluginResult<Port> {
        self.create_port_with(tx, ctx, body, true).await
    }

    /// A port Neutrino makes for itself (a DHCP port): not held to the
    /// project's quota, as Neutron enforces quotas at the API only.
    pub(crate) async fn create_port_unmetered(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        body: Value,
    ) -> PluginResult<Port> {
        self.create_port_with(tx, ctx, body, false).await
    }

    async fn create_port_with(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        body: Value,
        metered: bool,
    ) -> PluginResult<Port> {
        let mut b = Body::new(body, RULES, Op::Create)?;
        let project_id = owner_of(ctx, &mut b)?;
        let network_id = Body::required("network_id", b.uuid("network_id")?)?;
        let network: Network = load(tx, ctx, Resource::Network, &network_id).await?;
        if !ctx.is_admin && !super::rbac::shared_with(tx, &network, &ctx.project_id).await? {
            return Err(PluginError::not_found(Resource::Network, &network_id));
        }
        // Neutron's policy: on someone else's (shared) network, only its
        // owner or an admin may choose addresses, MACs, port security,
        // address pairs or a network device owner.
        let target = port_target(&b, &project_id, &network);
        {
            let pairs_given = b.has("allowed_address_pairs");
            let owner_is_network = matches!(peek_str(&b, "device_owner"), Some(o) if o.starts_with("network:"));
            let ip_given = asks_fixed_ip_address(&b);
            for (given, rule) in [
                (b.has("mac_address"), "create_port:mac_address"),
                (b.has("port_security_enabled"), "create_port:port_security_enabled"),
                (pairs_given, "create_port:allowed_address_pairs"),
                (owner_is_network, "create_port:device_owner"),
                (ip_given, "create_port:fixed_ips:ip_address"),
                (
                    b.has("binding:host_id") && !matches!(peek_str(&b, "binding:host_id"), Some("")),
                    "create_port:binding:host_id",
                ),
            ] {
                if given {
                    ctx.enforce(rule, &target)?;
                }
            }
        }
        let requested_mac = match b.raw("mac_address") {
            None => None,
            Some(v) => Some(parse_mac("mac_address", &v)?),
        };
        let fixed_reqs = b.object_list("fixed_ips")?.map(parse_fixed_ips).transpose()?;
        let name = b.string("name", 255)?.unwrap_or_default();
        let description = b.string("description", 255)?.unwrap_or_default();
        let admin_state_up = b.boolean("admin_state_up")?.unwrap_or(true);
        let device_id = b.string("device_id", 255)?.unwrap_or_default();
        let device_owner = b.string("device_owner", 255)?.unwrap_or_default();
        let port_security_enabled = b.boolean("port_security_enabled")?.unwrap_or(network.port_security_enabled);
        let requested_groups = b.string_list("security_groups", 36)?;
        let host = b.string("binding:host_id", 255)?.unwrap_or_default();
        let vnic_type = b.one_of("binding:vnic_type", VNIC_TYPES, false)?.flatten().unwrap_or_else(|| "normal".into());
        let profile = b.object("binding:profile")?.unwrap_or_default();
        let pairs_raw = b.object_list("allowed_address_pairs")?.unwrap_or_default();
        let dhcp_opts = parse_dhcp_opts(b.object_list("extra_dhcp_opts")?.unwrap_or_default())?;
        let tags = b.string_list("tags", super::input::MAX_TAG_LEN)?.unwrap_or_default();
        for t in &tags {
            super::input::validate_tag(t)?;
        }
        if !profile.is_empty() {
            ctx.enforce("create_port:binding:profile", &target)?;
        }

        if metered {
            self.check_quota(tx, "port", &project_id).await?;
        }
        let mac = self.choose_mac(tx, &network_id, requested_mac).await?;
        let mac_text = neutrino_ipam::format_mac(mac);
        let pairs = parse_pairs(pairs_raw, &mac_text)?;
        if !port_security_enabled && !pairs.is_empty() {
            return Err(PluginError::AddressPairAndPortSecurityRequired);
        }
        let security_groups = self
            .port_security_groups(tx, ctx, &project_id, requested_groups, &device_owner, port_security_enabled)
            .await?;
        let (id, now) = new_id_and_time();
        let (vif_type, vif_details) = self.bind_on_host(tx, &host, &network, &vnic_type).await?;
        let mut port = Port {
            id: id.clone(),
            name,
            description,
            tenant_id: project_id.clone(),
            project_id,
            network_id: network_id.clone(),
            admin_state_up,
            mac_address: mac_text.clone(),
            fixed_ips: Vec::new(),
            device_id,
            device_owner,
            status: "DOWN".into(),
            allowed_address_pairs: pairs,
            extra_dhcp_opts: dhcp_opts,
            security_groups,
            port_security_enabled,
            binding_host_id: host,
            binding_vif_type: vif_type,
            binding_vif_details: vif_details,
            binding_vnic_type: vnic_type,
            binding_profile: profile,
            tags: tags.clone(),
            created_at: now.clone(),
            updated_at: now,
            revision_number: 1,
        };
        let subnets: Vec<Subnet> = docs(tx, Table::Subnets, "network_id", &network_id).await?;
        port.fixed_ips = match fixed_reqs {
            Some(reqs) => {
                let wants = self.resolve_fixed_ips(tx, &network_id, &subnets, reqs, &port.device_owner).await?;
                let mut ips = Vec::with_capacity(wants.len());
                for (s, w) in &wants {
                    ips.push(allocate(tx, s, &id, mac, w).await?);
                }
                // As in Neutron, SLAAC / DHCPv6-stateless addresses come
                // with every port but a router's, asked for or not.
                if !is_router_interface(&port.device_owner) {
                    for s in subnets.iter().filter(|s| is_auto_address(s)) {
                        if !ips.iter().any(|f| f.subnet_id == s.id) {
                            ips.push(allocate(tx, s, &id, mac, &Want::Eui64).await?);
                        }
                    }
                }
                ips
            }
            None => self.default_fixed_ips(tx, &id, mac, &network_id, &subnets, &port.device_owner).await?,
        };
        // The addresses reference the port through a deferred key, so the
        // row is written once, complete; its (network, MAC) key still
        // refuses a MAC taken meanwhile.
        match tx.insert(Table::Ports, &port_row(&port)?).await {
            Ok(()) => {}
            Err(neutrino_store::StoreError::UniqueViolation(_)) => {
                return Err(PluginError::MacAddressInUse { net_id: network_id, mac: mac_text })
            }
            Err(e) => return Err(e.into()),
        }
        if !tags.is_empty() {
            tx.set_tags(Table::Ports, &id, &tags).await?;
        }
        self.bind_port_groups(tx, &port, &[]).await?;
        Ok(port)
    }

    pub(crate) async fn update_port(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        body: Value,
        if_match: Option<u64>,
    ) -> PluginResult<Port> {
        let mut b = Body::new(body, RULES, Op::Update)?;
        let mut p: Port = load_for_change(tx, ctx, Resource::Port, id, if_match, Change::Update).await?;
        let network: Network = load(tx, &RequestContext::admin(""), Resource::Network, &p.network_id).await?;
        let target = {
            let mut t =
                crate::context::doc_target(&serde_json::to_value(&p).unwrap_or(Value::Null), Some(&network.project_id));
            t.insert("shared".into(), Value::Bool(network.shared));
            t
        };
        for (given, rule) in [
            (b.has("port_security_enabled"), "update_port:port_security_enabled"),
            (b.has("allowed_address_pairs"), "update_port:allowed_address_pairs"),
            (matches!(peek_str(&b, "device_owner"), Some(o) if o.starts_with("network:")), "update_port:device_owner"),
            (asks_fixed_ip_address(&b), "update_port:fixed_ips:ip_address"),
        ] {
            if given {
                ctx.enforce(rule, &target)?;
            }
        }
        if let Some(v) = b.string("name", 255)? {
            p.name = v;
        }
        if let Some(v) = b.string("description", 255)? {
            p.description = v;
        }
        if let Some(v) = b.boolean("admin_state_up")? {
            p.admin_state_up = v;
        }
        if let Some(v) = b.string("device_id", 255)? {
            p.device_id = v;
        }
        if let Some(v) = b.string("device_owner", 255)? {
            p.device_owner = v;
        }
        let groups_before = p.security_groups.clone();
        let addresses_before = (p.fixed_ips.clone(), p.allowed_address_pairs.clone());
        if let Some(v) = b.boolean("port_security_enabled")? {
            p.port_security_enabled = v;
        }
        if b.has("security_groups") {
            let requested = b.string_list("security_groups", 36)?.unwrap_or_default();
            p.security_groups =
                self.port_security_groups(tx, ctx, &p.project_id, Some(requested), &p.device_owner, true).await?;
        }
        if !p.port_security_enabled && !p.security_groups.is_empty() {
            return Err(PluginError::Fault(neutrino_model::Fault::new(
                409,
                "PortSecurityPortHasSecurityGroup",
                "Port has security group associated. Cannot disable port security or ip address until security group is removed",
            )));
        }
        if let Some(v) = b.raw("mac_address") {
            let mac = parse_mac("mac_address", &v)?;
            let text = neutrino_ipam::format_mac(mac);
            if text != p.mac_address {
                ctx.enforce("update_port:mac_address", &target)?;
                if !matches!(p.binding_vif_type.as_str(), "unbound" | "binding_failed") {
                    return Err(PluginError::PortBound {
                        port_id: p.id.clone(),
                        vif_type: p.binding_vif_type.clone(),
                        old_mac: p.mac_address.clone(),
                        new_mac: text,
                    });
                }
                self.choose_mac(tx, &p.network_id, Some(mac)).await?;
                p.mac_address = text;
            }
        }
        if let Some(raw) = b.object_list("allowed_address_pairs")? {
            p.allowed_address_pairs = parse_pairs(raw, &p.mac_address)?;
        }
        if !p.port_security_enabled && !p.allowed_address_pairs.is_empty() {
            return Err(PluginError::AddressPairAndPortSecurityRequired);
        }
        if let Some(raw) = b.object_list("extra_dhcp_opts")? {
            p.extra_dhcp_opts = merge_dhcp_opts(&p.extra_dhcp_opts, parse_dhcp_opts(raw)?);
        }
        let mut rebind = false;
        if let Some(h) = b.string("binding:host_id", 255)? {
            if h != p.binding_host_id {
                ctx.enforce("update_port:binding:host_id", &target)?;
            }
            rebind |= h != p.binding_host_id;
            p.binding_host_id = h;
        }
        if let Some(v) = b.one_of("binding:vnic_type", VNIC_TYPES, false)?.flatten() {
            rebind |= v != p.binding_vnic_type;
            p.binding_vnic_type = v;
        }
        if let Some(v) = b.object("binding:profile")? {
            if v != p.binding_profile {
                ctx.enforce("update_port:binding:profile", &target)?;
            }
            p.binding_profile = v;
        }
        if rebind {
            let (vif_type, details) = self.bind_on_host(tx, &p.binding_host_id, &network, &p.binding_vnic_type).await?;
            p.binding_vif_type = vif_type;
            p.binding_vif_details = details;
            // A new binding is not wired until its agent says so.
            p.status = "DOWN".into();
        }
        if let Some(raw) = b.object_list("fixed_ips")? {
            let reqs = parse_fixed_ips(raw)?;
            let subnets: Vec<Subnet> = docs(tx, Table::Subnets, "network_id", &p.network_id).await?;
            p.fixed_ips = self.replace_fixed_ips(tx, &p, &subnets, reqs).await?;
        }
        super::touch(&mut p.revision_number, &mut p.updated_at);
        tx.update(Table::Ports, &port_row(&p)?).await?;
        // Remote group members are addresses: other hosts' sets follow them.
        let moved = (p.fixed_ips.clone(), p.allowed_address_pairs.clone()) != addresses_before;
        if p.security_groups != groups_before || (moved && !p.security_groups.is_empty()) {
            self.bind_port_groups(tx, &p, &groups_before).await?;
        }
        Ok(p)
    }

    /// Keeps the requested addresses the port already has, releases the
    /// others, allocates the new ones.
    async fn replace_fixed_ips(
        &self,
        tx: &mut Tx,
        p: &Port,
        subnets: &[Subnet],
        reqs: Vec<FixedIpRequest>,
    ) -> PluginResult<Vec<FixedIp>> {
        let mut keep: Vec<FixedIp> = Vec::new();
        let mut new_reqs = Vec::new();
        for r in reqs {
            let existing = p.fixed_ips.iter().find(|f| {
                r.ip.is_some_and(|ip| f.ip_address == ip.to_string())
                    && r.subnet_id.as_ref().is_none_or(|s| *s == f.subnet_id)
            });
            match existing {
                Some(f) if !keep.contains(f) => keep.push(f.clone()),
                _ => new_reqs.push(r),
            }
        }
        // Automatic (SLAAC) addresses stay unless the port is a router's.
        let automatic = |f: &FixedIp| {
            !is_router_interface(&p.device_owner) && subnets.iter().any(|s| s.id == f.subnet_id && is_auto_address(s))
        };
        for f in &p.fixed_ips {
            if !keep.contains(f) {
                if automatic(f) {
                    keep.push(f.clone());
                } else {
                    tx.delete_allocation(&f.subnet_id, &f.ip_address).await?;
                }
            }
        }
        // Asking again for an automatic address the port has changes nothing.
        new_reqs.retain(|r| {
            !(r.ip.is_none()
                && r.subnet_id.as_ref().is_some_and(|sid| keep.iter().any(|f| &f.subnet_id == sid && automatic(f))))
        });
        let mac = neutrino_ipam::parse_mac(&p.mac_address)?;
        let wants = self.resolve_fixed_ips(tx, &p.network_id, subnets, new_reqs, &p.device_owner).await?;
        for (s, w) in &wants {
            keep.push(allocate(tx, s, &p.id, mac, w).await?);
        }
        Ok(keep)
    }

    pub(crate) async fn delete_port(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<u64>,
    ) -> PluginResult<()> {
        let _: Port = load_for_change(tx, ctx, Resource::Port, id, if_match, Change::Delete).await?;
        // The store releases the port's addresses with it.
        tx.delete(Table::Ports, id).await?;
        Ok(())
    }
}

/// A new port as a policy target: its owner, its network's owner and
/// sharing, and the attributes given.
fn port_target(b: &Body, owner: &str, network: &Network) -> serde_json::Map<String, Value> {
    let mut t = crate::context::target(owner, &network.project_id);
    t.insert("shared".into(), Value::Bool(network.shared));
    if let Some(o) = peek_str(b, "device_owner") {
        t.insert("device_owner".into(), Value::String(o.to_string()));
    }
    t
}

/// Router ports take no automatic (SLAAC) addresses.
fn is_router_interface(device_owner: &str) -> bool {
    device_owner.starts_with("network:router_interface") || device_owner == "network:ha_router_replicated_interface"
}

//! The L3 agent (Neutron's l3-agent in legacy mode, Linux bridge): per
//! hosted router a `qrouter-<router>` namespace with forwarding on; per
//! router port a veth whose `tap…` end is in the node namespace (the host's
//! L2 agent enslaves it to the network's bridge, as with the DHCP port) and
//! whose `qr-…`/`qg-…` end is in the router's namespace with the port's
//! MAC, MTU and addresses; the floating IPs as /32 on `qg-…`; the default
//! route via the external subnet's gateway and the extra routes (ours carry
//! `proto static`); the NAT of [`crate::nat`] in one nftables table; and,
//! when the metadata service is configured, a metadata proxy per router.
//!
//! Level-triggered: each round reads what the namespace has (`ip -j`) and
//! changes only the difference, in one `ip -batch` per router, so a round
//! over an unchanged state changes nothing. The nftables table is reloaded
//! (atomically) only when its text or the kernel's copy changed. What a
//! round applied is kept in `state_dir/<router>.json`, so a restarted agent
//! knows which floating IPs and port forwardings left (their conntrack
//! entries are dropped) and which routers to tear down.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use neutrino_model::l3::{L3State, RouterState};
use neutrino_model::names;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tracing::{debug, info, warn};

use crate::channel::{Channel, ChannelError};
use crate::dataplane::{ip, IpRoute};
use crate::nat;
use crate::ovs::ovsdb::Ovsdb;
use crate::ovs::ports::{self as ovs_ports, PlainPort};

mod plan;
mod radvd;

use plan::*;

/// How often a quiet agent re-reads its state and checks the kernel anyway.
const RESYNC: Duration = Duration::from_secs(30);

/// The L3 agent's configuration.
#[derive(Debug, Clone)]
pub struct L3Config {
    /// `[agent] namespace_prefix`: router namespaces are `<prefix>-qrouter-<id>`.
    pub namespace_prefix: Option<String>,
    /// `[agent] node_namespace`: where the `tap…` ends live.
    pub node_namespace: Option<String>,
    /// Where what was applied is kept (`$state_path/l3`).
    pub state_dir: PathBuf,
    /// The metadata service, when routed networks get a metadata proxy.
    pub metadata: Option<crate::metadata::MetadataConfig>,
    /// `external_network_bridge` (with the Open vSwitch interface driver):
    /// gateway ports go straight into this bridge instead of being wired
    /// by the host's L2 agent.
    pub external_bridge: Option<ExternalBridge>,
    /// The router's devices compute their own checksums (the Open vSwitch
    /// interface driver: a userspace datapath completes none).
    pub software_checksums: bool,
}

/// The Open vSwitch bridge of the external network (l3_agent.ini's
/// `external_network_bridge`, the operator's `br-ex` with its NIC), which
/// the L3 agent plugs gateway ports into, untagged, as Neutron's legacy
/// mode does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalBridge {
    /// Its name.
    pub bridge: String,
    /// `[ovs] ovsdb_connection`.
    pub ovsdb_connection: String,
}

/// The L3 agent of one host.
#[derive(Debug)]
pub struct L3Agent {
    /// The server.
    pub channel: Channel,
    /// Host name.
    pub host: String,
    /// Configuration.
    pub config: L3Config,
    /// Seconds between heartbeats.
    pub report_interval: u64,
    proxies: Mutex<BTreeMap<String, tokio::task::JoinHandle<()>>>,
    radvds: Mutex<BTreeMap<String, crate::daemon::Daemon>>,
}

impl L3Agent {
    /// An L3 agent.
    pub fn new(channel: Channel, host: String, config: L3Config, report_interval: u64) -> L3Agent {
        L3Agent {
            channel,
            host,
            config,
            report_interval,
            proxies: Mutex::new(BTreeMap::new()),
            radvds: Mutex::new(BTreeMap::new()),
        }
    }

    /// The start of this agent's router namespace names (`[prefix-]qrouter-`).
    fn namespace_start(&self) -> String {
        self.namespace("")
    }

    /// The namespace of a router.
    pub fn namespace(&self, router_id: &str) -> String {
        let ns = names::router_namespace(router_id);
        match &self.config.namespace_prefix {
            Some(p) => format!("{p}-{ns}"),
            None => ns,
        }
    }

    fn applied_path(&self, router_id: &str) -> PathBuf {
        self.config.state_dir.join(format!("{router_id}.json"))
    }

    fn applied(&self, router_id: &str) -> Option<Applied> {
        let text = std::fs::read_to_string(self.applied_path(router_id)).ok()?;
        serde_json::from_str(&text)
            .map_err(|e| warn!(router = %router_id, error = %e, "unreadable record of the applied router; ignored"))
            .ok()
    }

    /// Routers this agent has: its namespaces and its records.
    fn present_routers(&self) -> BTreeSet<String> {
        let start = self.namespace_start();
        let list = |dir: &Path| -> Vec<String> {
            std::fs::read_dir(dir)
                .map(|d| d.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
                .unwrap_or_default()
        };
        let namespaces =
            list(Path::new("/run/netns")).into_iter().filter_map(|n| n.strip_prefix(&start).map(String::from));
        let records =
            list(&self.config.state_dir).into_iter().filter_map(|n| n.strip_suffix(".json").map(String::from));
        namespaces.chain(records).filter(|id| valid_id(id)).collect()
    }

    /// One round: every hosted router right, every other one gone.
    pub async fn reconcile(&self, state: &L3State) -> Result<(), String> {
        std::fs::create_dir_all(&self.config.state_dir)
            .map_err(|e| format!("cannot create {}: {e}", self.config.state_dir.display()))?;
        let mut wanted = BTreeSet::new();
        let mut errors = Vec::new();
        for r in &state.routers {
            if !valid_id(&r.id) {
                warn!(router = %r.id.escape_debug(), "router id unusable as a namespace name; skipped");
                continue;
            }
            if !wanted.insert(r.id.as_str()) {
                continue;
            }
            if let Err(e) = self.ensure(r).await {
                errors.push(format!("router {}: {e}", r.id));
            }
        }
        for id in self.present_routers().iter().filter(|id| !wanted.contains(id.as_str())) {
            self.remove(id).await;
        }
        if let Some(ext) = &self.config.external_bridge {
            let gateways: Vec<PlainPort> = state
                .routers
                .iter()
                .filter(|r| wanted.contains(r.id.as_str()))
                .filter_map(|r| r.gateway.as_ref())
                .map(|g| PlainPort {
                    device: names::tap_device(&g.id),
                    port_id: g.id.clone(),
                    mac: g.mac_address.clone(),
                })
                .collect();
            if let Err(e) = self.plug_gateways(ext, &gateways).await {
                errors.push(format!("external bridge {}: {e}", ext.bridge));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Puts exactly `gateways` (whose devices exist) into the external
    /// bridge, untagged and up; the bridge is the operator's, as are its
    /// other ports.
    async fn plug_gateways(&self, ext: &ExternalBridge, gateways: &[PlainPort]) -> Result<(), String> {
        let node = self.config.node_namespace.as_deref();
        let mut db = Ovsdb::connect(&ext.ovsdb_connection).await.map_err(|e| e.to_string())?;
        let (uuid, actual) = ovs_ports::read(&mut db, &ext.bridge)
            .await
            .map_err(|e| format!("{e} (external_network_bridge is the operator's bridge, with the external NIC)"))?;
        let ops = ovs_ports::plan_plain(&uuid, gateways, &actual);
        if !ops.is_empty() {
            db.transact(ops).await.map_err(|e| e.to_string())?;
            info!(bridge = %ext.bridge, gateways = gateways.len(), "gateway ports plugged into the external bridge");
        }
        for g in gateways {
            ip(node, &["link", "set", &g.device, "up"]).await?;
        }
        Ok(())
    }

    /// Makes one router's namespace, devices, addresses, routes, NAT and metadata proxy right.
    async fn ensure(&self, r: &RouterState) -> Result<(), String> {
        let ns = self.namespace(&r.id);
        if !Path::new("/run/netns").join(&ns).exists() {
            ip(None, &["netns", "add", &ns]).await?;
            ip(Some(&ns), &["link", "set", "lo", "up"]).await?;
            info!(router = %r.id, namespace = %ns, "router namespace created");
        }
        self.enable_forwarding(&ns).await?;
        let previous = self.applied(&r.id);
        let wanted = wanted_devices(r);
        let mut present = read_devices(&ns).await?;
        let missing: Vec<&WantedDevice<'_>> = wanted.iter().filter(|w| !present.contains_key(&w.name)).collect();
        for w in missing {
            self.create_veth(&ns, w).await?;
            let created = Device { mac: w.port.mac_address.to_ascii_lowercase(), mtu: w.port.mtu, ..Device::default() };
            present.insert(w.name.clone(), created);
            info!(router = %r.id, device = %w.name, "router port created");
        }
        let mut batch = Batch::default();
        let (mut left, arrived) = self.device_changes(r, &wanted, &present, &mut batch).await?;
        self.route_changes(&ns, r, &present, &wanted, &mut batch).await?;
        let lines = batch.lines();
        if !lines.is_empty() {
            debug!(router = %r.id, changes = ?lines, "router namespace changes");
            IpRoute { netns: Some(ns.clone()) }.batch("ip", &lines).await?;
        }
        let applied = self.ensure_nat(&ns, r, previous.as_ref()).await?;
        if let Some(old) = &previous {
            left.extend(stale_nat(&old.router, r).0);
        }
        self.drop_stale_connections(&ns, r, previous.as_ref(), &left).await;
        if let Some(qg) = wanted.iter().find(|w| w.gateway).filter(|_| r.admin_state_up) {
            for a in arrived {
                announce(&ns, &qg.name, a);
            }
        }
        self.ensure_proxy(&ns, r).await;
        self.ensure_radvd(&ns, r).await?;
        let text = serde_json::to_string_pretty(&applied).map_err(|e| e.to_string())?;
        if std::fs::read_to_string(self.applied_path(&r.id)).ok().as_deref() != Some(text.as_str()) {
            write_atomic(&self.applied_path(&r.id), &text)?;
        }
        Ok(())
    }

    /// Adds to `batch` what makes the router's devices right: ports that
    /// left deleted; MTU, MAC, addresses and up/down of the others. Returns
    /// the /32 addresses that leave `qg-…` (floating IPs whose connections
    /// are to be dropped) and the IPv4 addresses that arrive on it (to announce).
    async fn device_changes(
        &self,
        r: &RouterState,
        wanted: &[WantedDevice<'_>],
        present: &BTreeMap<String, Device>,
        batch: &mut Batch,
    ) -> Result<(BTreeSet<String>, Vec<IpAddr>), String> {
        for (name, dev) in present {
            let ours = name.starts_with("qr-") || name.starts_with("qg-");
            if ours && dev.veth && !wanted.iter().any(|w| &w.name == name) {
                batch.links.push(format!("link del {name}"));
                info!(router = %r.id, device = %name, "router port removed");
            }
        }
        let (mut left, mut arrived) = (BTreeSet::new(), Vec::new());
        for w in wanted {
            let Some(dev) = present.get(&w.name) else { continue };
            if dev.mtu != w.port.mtu {
                let mtu = w.port.mtu.to_string();
                ip(self.config.node_namespace.as_deref(), &["link", "set", &w.tap, "mtu", &mtu]).await?;
                batch.links.push(format!("link set {} mtu {mtu}", w.name));
            }
            if dev.mac != w.port.mac_address.to_ascii_lowercase() {
                batch.links.push(format!("link set {} address {}", w.name, w.port.mac_address));
            }
            // Down before the addresses change (going down drops IPv6
            // addresses, which are added back), up after them.
            match (dev.up, r.admin_state_up) {
                (true, false) => batch.links.push(format!("link set {} down", w.name)),
                (false, true) => batch.ups.push(format!("link set {} up", w.name)),
                _ => {}
            }
            for (a, len) in dev.addrs.difference(&w.addrs) {
                batch.addr_del.push(format!("addr del {a}/{len} dev {}", w.name));
                if w.gateway && *len == 32 {
                    left.insert(a.to_string());
                }
            }
            for (a, len) in w.addrs.difference(&dev.addrs) {
                let nodad = if a.is_ipv6() { " nodad" } else { "" };
                batch.addr_add.push(format!("addr add {a}/{len} dev {}{nodad}", w.name));
                if w.gateway && a.is_ipv4() {
                    arrived.push(*a);
                }
            }
        }
        Ok((left, arrived))
    }

    /// `net.ipv4.ip_forward=1` and `net.ipv6.conf.all.forwarding=1` inside `ns`
    /// (never the root namespace's); without IPv6 only a warning.
    async fn enable_forwarding(&self, ns: &str) -> Result<(), String> {
        let both = ["-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"];
        if let Err(e) = in_ns(ns, "sysctl", &both, None).await {
            warn!(namespace = %ns, error = %e, "cannot enable IPv6 forwarding");
            in_ns(ns, "sysctl", &["-qw", "net.ipv4.ip_forward=1"], None).await?;
        }
        Ok(())
    }

    /// Creates a port's veth: `tap…` in the node namespace, the router end in `ns`.
    async fn create_veth(&self, ns: &str, w: &WantedDevice<'_>) -> Result<(), String> {
        let node = self.config.node_namespace.as_deref();
        let mtu = w.port.mtu.to_string();
        let args = [
            "link",
            "add",
            &w.tap,
            "mtu",
            &mtu,
            "type",
            "veth",
            "peer",
            "name",
            &w.name,
            "mtu",
            &mtu,
            "address",
            &w.port.mac_address,
            "netns",
            ns,
        ];
        if ip(node, &args).await.is_err() {
            // A tap left behind without its peer (an interrupted run): replace it.
            warn!(device = %w.tap, "replacing a stale tap device");
            let _ = ip(node, &["link", "del", &w.tap]).await;
            ip(node, &args).await?;
        }
        if self.config.software_checksums {
            crate::dataplane::checksums_in_software(Some(ns), &w.name).await?;
        }
        Ok(())
    }

    /// Adds to `batch` what makes the router's routes right.
    async fn route_changes(
        &self,
        ns: &str,
        r: &RouterState,
        present: &BTreeMap<String, Device>,
        wanted: &[WantedDevice<'_>],
        batch: &mut Batch,
    ) -> Result<(), String> {
        let routes = wanted_routes(r);
        let mut have = read_routes(ns, false).await?;
        let any_v6 = present.values().flat_map(|d| &d.addrs).any(|(a, _)| a.is_ipv6())
            || wanted.iter().flat_map(|w| &w.addrs).any(|(a, _)| a.is_ipv6())
            || routes.iter().any(|r| r.via.is_ipv6());
        if any_v6 {
            have.extend(read_routes(ns, true).await?);
        }
        let want: BTreeSet<(IpNet, IpAddr)> = routes.iter().map(Route::key).collect();
        for ((dst, via), dev) in have.iter().filter(|(k, _)| !want.contains(k)) {
            // With its device: an IPv6 next hop may be link-local.
            let dev = dev.as_ref().map(|d| format!(" dev {d}")).unwrap_or_default();
            batch.route_del.push(format!("route del {dst} via {via}{dev} proto static"));
        }
        for route in routes.iter().filter(|r| !have.contains_key(&r.key())) {
            let dev = route.dev.as_ref().map(|d| format!(" dev {d}")).unwrap_or_default();
            batch.route_add.push(format!("route replace {} via {}{dev} proto static", route.dst, route.via));
        }
        Ok(())
    }

    /// Loads the router's nftables table when its text or the kernel's copy
    /// changed since the last load; returns the record of what is loaded.
    async fn ensure_nat(&self, ns: &str, r: &RouterState, previous: Option<&Applied>) -> Result<Applied, String> {
        let metadata_port = self.config.metadata.as_ref().map(|_| nat::METADATA_PORT);
        let text = nat::ruleset(r, metadata_port);
        let listing = in_ns(ns, "nft", &["list", "table", "ip", nat::TABLE], None).await.ok();
        if let (Some(old), Some(now)) = (previous, &listing) {
            if old.nft == text && &old.listing == now {
                return Ok(Applied { router: r.clone(), nft: text, listing: now.clone() });
            }
        }
        in_ns(ns, "nft", &["-f", "-"], Some(&text)).await?;
        let listing = in_ns(ns, "nft", &["list", "table", "ip", nat::TABLE], None).await?;
        info!(router = %r.id, "NAT rules loaded");
        Ok(Applied { router: r.clone(), nft: text, listing })
    }

    /// Drops the conntrack entries of floating IPs that left or moved
    /// (inbound by original destination, outbound by reply destination) and
    /// of port forwardings that left or changed.
    async fn drop_stale_connections(
        &self,
        ns: &str,
        r: &RouterState,
        previous: Option<&Applied>,
        floating: &BTreeSet<String>,
    ) {
        for fip in floating.iter().filter(|f| f.parse::<std::net::Ipv4Addr>().is_ok()) {
            info!(router = %r.id, floating_ip = %fip, "dropping the connections of a floating IP");
            conntrack_delete(ns, &["-d", fip]).await;
            conntrack_delete(ns, &["-q", fip]).await;
        }
        let Some(old) = previous else { return };
        for (fip, proto, port) in stale_nat(&old.router, r).1 {
            let proto = match proto.as_str() {
                "tcp" => "tcp",
                "udp" => "udp",
                _ => continue,
            };
            if fip.parse::<std::net::Ipv4Addr>().is_err() || floating.contains(&fip) {
                continue;
            }
            conntrack_delete(ns, &["-p", proto, "-d", &fip, "--dport", &port.to_string()]).await;
        }
    }

    /// Keeps one metadata proxy per router with interfaces (when configured), none otherwise.
    async fn ensure_proxy(&self, ns: &str, r: &RouterState) {
        let mut proxies = self.proxies.lock().await;
        let Some(md) = self.config.metadata.as_ref().filter(|_| !r.interfaces.is_empty()) else {
            if let Some(h) = proxies.remove(&r.id) {
                h.abort();
            }
            return;
        };
        if proxies.get(&r.id).is_some_and(|h| !h.is_finished()) {
            return;
        }
        let (channel, id, ns, md) = (self.channel.clone(), r.id.clone(), ns.to_string(), md.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = crate::metadata::serve_router(channel, id.clone(), ns, nat::METADATA_PORT, md).await {
                warn!(router = %id, error = %e, "metadata proxy stopped");
            }
        });
        proxies.insert(r.id.clone(), task);
    }

    /// Whether a metadata proxy stopped (it is restarted by the next round).
    async fn proxy_stopped(&self) -> bool {
        self.proxies.lock().await.values().any(|h| h.is_finished())
    }

    /// Tears down a router no longer hosted here: its proxy, its ports
    /// (the `tap…` ends go with them), its namespace and its record.
    /// The router's radvd: started, reloaded when its configuration
    /// changed, restarted when it died, stopped when nothing is advertised.
    async fn ensure_radvd(&self, ns: &str, r: &RouterState) -> Result<(), String> {
        let conf = self.config.state_dir.join(format!("{}.radvd.conf", r.id));
        let pid = self.config.state_dir.join(format!("{}.radvd.pid", r.id));
        let mut radvds = self.radvds.lock().await;
        if !radvds.contains_key(&r.id) {
            if let Some(d) = crate::daemon::Daemon::adopt(&pid, &["radvd", &conf.to_string_lossy()]) {
                info!(router = %r.id, pid = d.pid, "adopted a running radvd");
                radvds.insert(r.id.clone(), d);
            }
        }
        let Some(text) = radvd::config(r) else {
            if let Some(d) = radvds.remove(&r.id) {
                d.stop().await;
                info!(router = %r.id, "radvd stopped: nothing to advertise");
            }
            let _ = std::fs::remove_file(&conf);
            return Ok(());
        };
        let changed = std::fs::read_to_string(&conf).ok().as_deref() != Some(text.as_str());
        if changed {
            write_atomic(&conf, &text)?;
        }
        let alive = radvds.get_mut(&r.id).is_some_and(crate::daemon::Daemon::alive);
        match radvds.get(&r.id) {
            Some(d) if alive => {
                if changed {
                    d.reload().await;
                }
            }
            _ => {
                let args: Vec<String> = vec![
                    "--nodaemon".into(),
                    "--config".into(),
                    conf.to_string_lossy().into_owned(),
                    "--pidfile".into(),
                    pid.to_string_lossy().into_owned(),
                    "--logmethod".into(),
                    "stderr".into(),
                ];
                let d = crate::daemon::Daemon::spawn(ns, "radvd", &args)?;
                info!(router = %r.id, pid = d.pid, "radvd started");
                radvds.insert(r.id.clone(), d);
            }
        }
        Ok(())
    }

    async fn remove(&self, router_id: &str) {
        let radvd = self.radvds.lock().await.remove(router_id).or_else(|| {
            let conf = self.config.state_dir.join(format!("{router_id}.radvd.conf"));
            let pid = self.config.state_dir.join(format!("{router_id}.radvd.pid"));
            crate::daemon::Daemon::adopt(&pid, &["radvd", &conf.to_string_lossy()])
        });
        if let Some(d) = radvd {
            d.stop().await;
        }
        for ext in ["radvd.conf", "radvd.pid"] {
            let _ = std::fs::remove_file(self.config.state_dir.join(format!("{router_id}.{ext}")));
        }
        if let Some(h) = self.proxies.lock().await.remove(router_id) {
            h.abort();
            // Its listening socket holds the namespace: wait until it closed.
            let _ = h.await;
        }
        let ns = self.namespace(router_id);
        if Path::new("/run/netns").join(&ns).exists() {
            match read_devices(&ns).await {
                Ok(devices) => {
                    let lines: Vec<String> =
                        devices.iter().filter(|(_, d)| d.veth).map(|(n, _)| format!("link del {n}")).collect();
                    if let Err(e) = (IpRoute { netns: Some(ns.clone()) }).batch("ip", &lines).await {
                        warn!(namespace = %ns, error = %e, "cannot delete the router's ports");
                    }
                }
                Err(e) => warn!(namespace = %ns, error = %e, "cannot list the router's ports"),
            }
            if let Err(e) = ip(None, &["netns", "del", &ns]).await {
                warn!(namespace = %ns, error = %e, "cannot delete the router namespace");
            }
        }
        let _ = std::fs::remove_file(self.applied_path(router_id));
        info!(router = %router_id, "router removed");
    }

    fn report_body(&self, start: bool, state: Option<&L3State>) -> Value {
        let routers = state.map_or(&[][..], |s| s.routers.as_slice());
        json!({
            "agent_type": "L3 agent", "binary": "neutron-l3-agent", "host": self.host,
            "topic": "l3_agent", "start_flag": start,
            "configurations": {
                "agent_mode": "legacy",
                "routers": routers.len(),
                "interfaces": routers.iter().map(|r| r.interfaces.len()).sum::<usize>(),
                "floating_ips": routers.iter().map(|r| r.floating_ips.len()).sum::<usize>(),
                "ex_gw_ports": routers.iter().filter(|r| r.gateway.is_some()).count(),
            }
        })
    }

    /// Runs until `shutdown`; `ready` after the first full sync. The
    /// state is read again after every change heard of, after a failed
    /// round, when a metadata proxy stopped, and every 30 s regardless.
    /// Routers outlive the agent (a restart finds and keeps them).
    pub async fn run(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
        ready: impl FnOnce(),
    ) -> Result<(), ChannelError> {
        tokio::pin!(shutdown);
        std::fs::create_dir_all(&self.config.state_dir).map_err(|e| ChannelError::Parse {
            url: self.config.state_dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut ready = Some(ready);
        let mut heartbeat = crate::channel::Heartbeat::new(self.report_interval);
        let mut known: Option<L3State> = None;
        let mut position: Option<i64> = None;
        let mut synced: Option<Instant> = None;
        loop {
            heartbeat.beat(&self.channel, |start| self.report_body(start, known.as_ref())).await;
            let due = synced.is_none_or(|t| t.elapsed() >= RESYNC) || self.proxy_stopped().await;
            if due {
                let state: Result<L3State, ChannelError> =
                    self.channel.get_json(&format!("/agent/v1/l3-state?host={}", self.host)).await;
                match state {
                    Ok(s) => {
                        position = Some(s.last);
                        match self.reconcile(&s).await {
                            Ok(()) => {
                                synced = Some(Instant::now());
                                if let Some(f) = ready.take() {
                                    f();
                                }
                            }
                            Err(e) => {
                                synced = None;
                                warn!(error = %e, "L3 reconcile failed; will retry");
                            }
                        }
                        known = Some(s);
                    }
                    Err(e) => {
                        warn!(error = %e, "cannot read the L3 state; retrying");
                        position = None;
                    }
                }
            }
            // Wait for a change (two seconds at most, to keep heartbeats and proxies in time).
            let wait = async {
                match position {
                    Some(p) => match self.channel.changes(p, 2).await {
                        Ok(c) if c.changes.is_empty() && !c.resync => false,
                        Ok(_) => true,
                        Err(e) => {
                            debug!(error = %e, "change stream interrupted");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            true
                        }
                    },
                    None => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        true
                    }
                }
            };
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                changed = wait => if changed { synced = None },
            }
        }
    }
}

impl Drop for L3Agent {
    /// Metadata proxies are the agent's own tasks: they stop with it.
    fn drop(&mut self) {
        for h in self.proxies.get_mut().values() {
            h.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use neutrino_model::l3::{ExtraRoute, FloatingIpState, PortForwardingState, RouterPort, RouterSubnet};
    use neutrino_model::FixedIp;

    use super::*;

    fn port(id: &str, ips: &[(&str, &str, &str)]) -> RouterPort {
        RouterPort {
            id: id.into(),
            network_id: "n".into(),
            mac_address: "fa:16:3e:00:00:01".into(),
            mtu: 1500,
            fixed_ips: ips
                .iter()
                .map(|(s, _, ip)| FixedIp { subnet_id: (*s).into(), ip_address: (*ip).into() })
                .collect(),
            subnets: ips
                .iter()
                .map(|(s, cidr, _)| RouterSubnet {
                    id: (*s).into(),
                    cidr: (*cidr).into(),
                    ip_version: if cidr.contains(':') { 6 } else { 4 },
                    gateway_ip: Some(if cidr.contains(':') { "2001:db8::1".into() } else { "172.24.4.1".into() }),
                    ipv6_ra_mode: None,
                    ipv6_address_mode: None,
                })
                .collect(),
        }
    }

    fn router() -> RouterState {
        RouterState {
            id: "r1".into(),
            admin_state_up: true,
            enable_snat: true,
            gateway: Some(port(
                "gw-port-id-0000",
                &[("e4", "172.24.4.0/24", "172.24.4.10"), ("e6", "2001:db8::/64", "2001:db8::a")],
            )),
            interfaces: vec![port("qr-port-id-0000", &[("a", "10.0.0.0/24", "10.0.0.1")])],
            routes: vec![
                ExtraRoute { destination: "192.168.5.0/24".into(), nexthop: "10.0.0.254".into() },
                ExtraRoute { destination: "bogus".into(), nexthop: "10.0.0.254".into() },
            ],
            floating_ips: vec![FloatingIpState {
                id: "f".into(),
                floating_ip_address: "172.24.4.20".into(),
                fixed_ip_address: "10.0.0.11".into(),
                port_id: "p".into(),
            }],
            port_forwardings: vec![PortForwardingState {
                id: "pf".into(),
                floating_ip_address: "172.24.4.30".into(),
                protocol: "tcp".into(),
                external_port: 2222,
                internal_ip_address: "10.0.0.12".into(),
                internal_port: 22,
            }],
        }
    }

    fn a(text: &str, len: u8) -> (IpAddr, u8) {
        (text.parse().expect("address"), len)
    }

    #[test]
    fn devices_carry_their_addresses_and_the_floating_ips() {
        let r = router();
        let devices = wanted_devices(&r);
        assert_eq!(devices.len(), 2);
        assert_eq!((devices[0].name.as_str(), devices[0].tap.as_str()), ("qg-gw-port-id-", "tapgw-port-id-"));
        assert_eq!(
            devices[0].addrs,
            BTreeSet::from([a("172.24.4.10", 24), a("2001:db8::a", 64), a("172.24.4.20", 32), a("172.24.4.30", 32)])
        );
        assert_eq!(devices[1].addrs, BTreeSet::from([a("10.0.0.1", 24)]));
        let mut bad = router();
        bad.interfaces[0].mac_address = "fa:16:3e:00:00:01 up".into();
        assert_eq!(wanted_devices(&bad).len(), 1, "a port with a bad MAC is skipped");
    }

    #[test]
    fn routes_are_defaults_per_family_and_extra_routes() {
        let routes: Vec<String> = wanted_routes(&router()).iter().map(|r| format!("{} via {}", r.dst, r.via)).collect();
        assert_eq!(routes, ["0.0.0.0/0 via 172.24.4.1", "192.168.5.0/24 via 10.0.0.254", "::/0 via 2001:db8::1"]);
        let mut down = router();
        down.admin_state_up = false;
        assert!(wanted_routes(&down).is_empty());
        assert_eq!(parse_dst("10.0.0.5", false), "10.0.0.5/32".parse().ok());
        assert_eq!(parse_dst("default", true), "::/0".parse().ok());
    }

    #[test]
    fn stale_nat_is_what_left_or_moved() {
        let old = router();
        let mut new = router();
        assert_eq!(stale_nat(&old, &new), (BTreeSet::new(), BTreeSet::new()));
        new.floating_ips[0].fixed_ip_address = "10.0.0.99".into();
        new.port_forwardings[0].internal_port = 2200;
        assert_eq!(
            stale_nat(&old, &new),
            (BTreeSet::from(["172.24.4.20".to_string()]), BTreeSet::from([("172.24.4.30".into(), "tcp".into(), 2222)]))
        );
    }

    #[test]
    fn report_counts_routers() {
        let agent = L3Agent::new(
            Channel::new("http://127.0.0.1:9", None).expect("channel"),
            "h".into(),
            L3Config {
                namespace_prefix: Some("p".into()),
                node_namespace: None,
                state_dir: "/nonexistent".into(),
                metadata: None,
                external_bridge: None,
                software_checksums: false,
            },
            30,
        );
        assert_eq!(agent.namespace("r1"), "p-qrouter-r1");
        let state = L3State { last: 1, routers: vec![router()] };
        let body = agent.report_body(true, Some(&state));
        assert_eq!(body["agent_type"], "L3 agent");
        assert_eq!(
            body["configurations"],
            json!({"agent_mode": "legacy", "routers": 1, "interfaces": 1, "floating_ips": 1, "ex_gw_ports": 1})
        );
    }
}

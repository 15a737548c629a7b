//! The DHCP agent: per hosted network a `qdhcp-<network>` namespace, the
//! DHCP port's interface in it (veth `tap…` on the network's bridge, which
//! the host's L2 agent wires, and `ns-…` inside), and one dnsmasq serving
//! static entries only, from files rewritten atomically and reloaded with
//! SIGHUP when they change. dnsmasq is restarted when it died (judged from
//! the child's exit, or `/proc` for one adopted from an earlier run).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use neutrino_model::names;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tracing::{info, warn};

use crate::channel::{Channel, ChannelError};
use crate::daemon::Daemon;
use crate::dataplane::ip;

/// A subnet as dnsmasq needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct DhcpSubnet {
    /// Id.
    pub id: String,
    /// CIDR.
    pub cidr: String,
    /// 4 or 6.
    pub ip_version: u8,
    /// Gateway.
    pub gateway_ip: Option<String>,
    /// DNS servers.
    #[serde(default)]
    pub dns_nameservers: Vec<String>,
    /// Host routes.
    #[serde(default)]
    pub host_routes: Vec<Value>,
    /// IPv6: how instances get addresses (`slaac`, `dhcpv6-stateful`, `dhcpv6-stateless`).
    #[serde(default)]
    pub ipv6_address_mode: Option<String>,
    /// IPv6: whether (and with which flags) OpenStack advertises the prefix.
    #[serde(default)]
    pub ipv6_ra_mode: Option<String>,
}

impl DhcpSubnet {
    /// How dnsmasq serves the subnet (its `--dhcp-range` mode), or `None`
    /// when there is nothing to serve. IPv4 and DHCPv6 subnets are
    /// `static` (only the hosts file's addresses); with `ipv6_ra_mode` set
    /// dnsmasq also advertises the prefix: `ra-only` for SLAAC (A flag),
    /// `ra-stateless` for SLAAC plus DHCPv6 options (A and O flags), and
    /// `static` with RA enabled for stateful DHCPv6 (M flag). A SLAAC
    /// subnet without `ipv6_ra_mode` is an outside router's to advertise.
    pub fn range_mode(&self) -> Option<&'static str> {
        if self.ip_version == 4 {
            return Some("static");
        }
        let address = self.ipv6_address_mode.as_deref().or(self.ipv6_ra_mode.as_deref());
        match (self.ipv6_ra_mode.is_some(), address) {
            (true, Some("slaac")) => Some("ra-only"),
            (true, Some("dhcpv6-stateless")) => Some("ra-stateless"),
            (false, Some("slaac")) => None,
            _ => Some("static"),
        }
    }

    /// Whether dnsmasq hands out this subnet's addresses (IPv4, stateful DHCPv6).
    fn serves_addresses(&self) -> bool {
        self.range_mode() == Some("static")
            && (self.ip_version == 4
                || self.ipv6_address_mode.as_deref().or(self.ipv6_ra_mode.as_deref()) != Some("dhcpv6-stateless"))
    }
}

/// A port as dnsmasq needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct DhcpPort {
    /// Id.
    pub id: String,
    /// MAC.
    pub mac_address: String,
    /// Addresses.
    #[serde(default)]
    pub fixed_ips: Vec<neutrino_model::FixedIp>,
    /// Extra DHCP options.
    #[serde(default)]
    pub extra_dhcp_opts: Vec<Value>,
}

/// A hosted network.
#[derive(Debug, Clone, Deserialize)]
pub struct DhcpNetwork {
    /// Id.
    pub id: String,
    /// MTU.
    pub mtu: u32,
    /// DHCP subnets.
    pub subnets: Vec<DhcpSubnet>,
    /// Ports.
    pub ports: Vec<DhcpPort>,
    /// This agent's DHCP port.
    pub dhcp_port: Option<DhcpPort>,
    /// A router has an interface on the network: metadata is the router's.
    #[serde(default)]
    pub routed: bool,
}

/// What this agent serves.
#[derive(Debug, Clone, Deserialize)]
pub struct DhcpState {
    /// Change-log position.
    pub last: i64,
    /// Networks.
    pub networks: Vec<DhcpNetwork>,
}

/// The DHCP agent's configuration.
#[derive(Debug, Clone)]
pub struct DhcpConfig {
    /// Where the per-network files live (`$state_path/dhcp`).
    pub state_dir: PathBuf,
    /// `[agent] namespace_prefix`.
    pub namespace_prefix: Option<String>,
    /// `[agent] node_namespace`: where the `tap…` ends live.
    pub node_namespace: Option<String>,
    /// `dhcp_lease_duration`, seconds.
    pub lease_duration: u32,
    /// `dns_domain`.
    pub dns_domain: String,
    /// `enable_isolated_metadata`: serve 169.254.169.254 from the DHCP
    /// namespace (every network is isolated until routers exist).
    pub metadata: Option<crate::metadata::MetadataConfig>,
    /// The namespace's device computes its own checksums (the Open vSwitch
    /// interface driver: a userspace datapath completes none).
    pub software_checksums: bool,
}

/// The DHCP agent of one host.
#[derive(Debug)]
pub struct DhcpAgent {
    /// The server.
    pub channel: Channel,
    /// Host name.
    pub host: String,
    /// Configuration.
    pub config: DhcpConfig,
    /// Seconds between heartbeats.
    pub report_interval: u64,
    procs: Mutex<BTreeMap<String, Daemon>>,
    proxies: Mutex<BTreeMap<String, tokio::task::JoinHandle<()>>>,
}

/// Writes `text` to `path` atomically when it differs; returns whether it changed.
fn write_if_changed(path: &Path, text: &str) -> Result<bool, String> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    set_mode(&tmp, 0o644);
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(true)
}

fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
    }
}

fn prefix_len(cidr: &str) -> Option<(&str, u8)> {
    let (net, len) = cidr.split_once('/')?;
    Some((net, len.parse().ok()?))
}

fn netmask(len: u8) -> String {
    let m: u32 = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
    std::net::Ipv4Addr::from(m).to_string()
}

/// The dnsmasq hosts file: one line per address dnsmasq hands out (IPv4
/// and stateful DHCPv6, the latter in brackets) of every port.
pub fn hosts_file(net: &DhcpNetwork, domain: &str) -> String {
    let served: BTreeSet<&str> = net.subnets.iter().filter(|s| s.serves_addresses()).map(|s| s.id.as_str()).collect();
    let mut out = String::new();
    for p in &net.ports {
        for ip in p.fixed_ips.iter().filter(|f| served.contains(f.subnet_id.as_str())) {
            let host = format!("host-{}", ip.ip_address.replace(['.', ':'], "-"));
            let addr = if ip.ip_address.contains(':') { format!("[{}]", ip.ip_address) } else { ip.ip_address.clone() };
            out.push_str(&format!("{},set:port-{},{addr},{host}.{domain}\n", p.mac_address, p.id));
        }
    }
    out
}

/// Splits a dnsmasq leases file into the leases still right and the count
/// of those whose MAC now has another static address in `hosts`.
pub fn split_stale_leases(leases: &str, hosts: &str) -> (String, usize) {
    let wanted: BTreeMap<&str, &str> = hosts
        .lines()
        .filter_map(|l| {
            let mut f = l.split(',');
            let mac = f.next()?;
            let ip = f.find(|x| x.parse::<std::net::IpAddr>().is_ok())?;
            Some((mac, ip))
        })
        .collect();
    let mut kept = String::new();
    let mut stale = 0;
    for line in leases.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let moved = f.len() >= 3 && wanted.get(f[1]).is_some_and(|ip| *ip != f[2]);
        if moved {
            stale += 1;
        } else {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    (kept, stale)
}

/// The dnsmasq options file: per subnet router, DNS and classless static
/// routes (with 169.254.169.254 via `metadata_via`, the DHCP port, when it
/// serves metadata); per port its `extra_dhcp_opts`.
pub fn opts_file(net: &DhcpNetwork, metadata_via: Option<&str>) -> String {
    let mut out = String::new();
    for s in net.subnets.iter().filter(|s| s.ip_version == 4) {
        let tag = format!("tag:subnet-{}", s.id);
        if !s.dns_nameservers.is_empty() {
            out.push_str(&format!("{tag},option:dns-server,{}\n", s.dns_nameservers.join(",")));
        }
        let mut routes: Vec<String> = s
            .host_routes
            .iter()
            .filter_map(|r| Some(format!("{},{}", r.get("destination")?.as_str()?, r.get("nexthop")?.as_str()?)))
            .collect();
        if let Some(via) = metadata_via {
            routes.push(format!("169.254.169.254/32,{via}"));
        }
        match &s.gateway_ip {
            Some(gw) => {
                out.push_str(&format!("{tag},option:router,{gw}\n"));
                routes.push(format!("0.0.0.0/0,{gw}"));
            }
            None => out.push_str(&format!("{tag},option:router\n")),
        }
        out.push_str(&format!("{tag},option:classless-static-route,{}\n", routes.join(",")));
    }
    for s in net.subnets.iter().filter(|s| s.ip_version == 6 && s.range_mode().is_some()) {
        let tag = format!("tag:subnet-{}", s.id);
        if !s.dns_nameservers.is_empty() {
            let servers: Vec<String> = s.dns_nameservers.iter().map(|d| format!("[{d}]")).collect();
            out.push_str(&format!("{tag},option6:dns-server,{}\n", servers.join(",")));
        }
    }
    for p in &net.ports {
        for o in &p.extra_dhcp_opts {
            let (Some(name), Some(value)) =
                (o.get("opt_name").and_then(Value::as_str), o.get("opt_value").and_then(Value::as_str))
            else {
                continue;
            };
            let space = match o.get("ip_version").and_then(Value::as_u64) {
                Some(6) => "option6",
                _ => "option",
            };
            // One option per line: a user's name or value must not start another.
            if name.contains(',') || name.chars().chain(value.chars()).any(char::is_control) {
                warn!(port = %p.id, option = %name.escape_debug(), "extra_dhcp_opt with a line break or comma in its name skipped");
                continue;
            }
            let key = match (name.chars().all(|c| c.is_ascii_digit()), space) {
                (true, "option") => name.to_string(),
                _ => format!("{space}:{name}"),
            };
            out.push_str(&format!("tag:port-{},{key},{value}\n", p.id));
        }
    }
    out
}

impl DhcpAgent {
    /// A DHCP agent.
    pub fn new(channel: Channel, host: String, config: DhcpConfig, report_interval: u64) -> DhcpAgent {
        DhcpAgent {
            channel,
            host,
            config,
            report_interval,
            procs: Mutex::new(BTreeMap::new()),
            proxies: Mutex::new(BTreeMap::new()),
        }
    }

    /// The namespace of a network.
    pub fn namespace(&self, network_id: &str) -> String {
        let ns = names::dhcp_namespace(network_id);
        match &self.config.namespace_prefix {
            Some(p) => format!("{p}-{ns}"),
            None => ns,
        }
    }

    fn dir(&self, network_id: &str) -> PathBuf {
        self.config.state_dir.join(network_id)
    }

    /// Makes one network's namespace, interface, files and dnsmasq right.
    async fn ensure(&self, net: &DhcpNetwork) -> Result<(), String> {
        let Some(port) = &net.dhcp_port else { return Ok(()) };
        let ns = self.namespace(&net.id);
        if !Path::new("/run/netns").join(&ns).exists() {
            ip(None, &["netns", "add", &ns]).await?;
            ip(Some(&ns), &["link", "set", "lo", "up"]).await?;
        }
        let short: String = port.id.chars().take(11).collect();
        let inner = format!("ns-{short}");
        let tap = names::tap_device(&port.id);
        if ip(Some(&ns), &["link", "show", &inner]).await.is_err() {
            let mtu = net.mtu.to_string();
            ip(
                self.config.node_namespace.as_deref(),
                &[
                    "link",
                    "add",
                    &tap,
                    "mtu",
                    &mtu,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &inner,
                    "mtu",
                    &mtu,
                    "address",
                    &port.mac_address,
                    "netns",
                    &ns,
                ],
            )
            .await?;
            if self.config.software_checksums {
                crate::dataplane::checksums_in_software(Some(&ns), &inner).await?;
            }
        }
        if net.subnets.iter().any(|s| s.ip_version == 6) {
            // Its addresses are the server's; no router's advertisement adds others.
            let knob = format!("net.ipv6.conf.{inner}.accept_ra=0");
            if let Err(e) = crate::dataplane::exec(Some(&ns), "sysctl", &["-q", "-w", &knob], None).await {
                warn!(namespace = %ns, error = %e, "cannot set {knob}");
            }
        }
        for fixed in &port.fixed_ips {
            let Some(s) = net.subnets.iter().find(|s| s.id == fixed.subnet_id) else { continue };
            let Some((_, len)) = prefix_len(&s.cidr) else { continue };
            let cidr = format!("{}/{len}", fixed.ip_address);
            // The server made the address unique: no duplicate detection
            // delaying dnsmasq's use of it.
            let mut args = vec!["addr", "replace", cidr.as_str(), "dev", inner.as_str()];
            if s.ip_version == 6 {
                args.push("nodad");
            }
            ip(Some(&ns), &args).await?;
        }
        ip(Some(&ns), &["link", "set", &inner, "up"]).await?;
        let isolated_metadata = self.config.metadata.as_ref().filter(|_| !net.routed);
        if isolated_metadata.is_none() {
            // A router came: the namespace lets go of the metadata address.
            if let Some(h) = self.proxies.lock().await.remove(&net.id) {
                h.abort();
                let _ = ip(Some(&ns), &["addr", "del", "169.254.169.254/32", "dev", &inner]).await;
            }
        }
        if let Some(md) = isolated_metadata {
            ip(Some(&ns), &["addr", "replace", "169.254.169.254/32", "dev", &inner]).await?;
            let mut proxies = self.proxies.lock().await;
            let running = proxies.get(&net.id).is_some_and(|h| !h.is_finished());
            if !running {
                let (channel, id, ns2, md) = (self.channel.clone(), net.id.clone(), ns.clone(), md.clone());
                proxies.insert(
                    net.id.clone(),
                    tokio::spawn(async move {
                        if let Err(e) = crate::metadata::serve(channel, id.clone(), ns2, md).await {
                            warn!(network = %id, error = %e, "metadata proxy stopped");
                        }
                    }),
                );
            }
        }

        let dir = self.dir(&net.id);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        set_mode(&dir, 0o755);
        let hosts = hosts_file(net, &self.config.dns_domain);
        let metadata_via = isolated_metadata.and(port.fixed_ips.first()).map(|f| f.ip_address.clone());
        // dnsmasq 2.90 crashes when a client renews after SIGHUP moved its
        // static address away from the one it leased: for such a change,
        // stop it, drop those leases (keeping every other) and start again.
        let leases_path = dir.join("leases");
        let leases = std::fs::read_to_string(&leases_path).unwrap_or_default();
        let (kept, stale) = split_stale_leases(&leases, &hosts);
        if stale > 0 {
            if let Some(d) = self.procs.lock().await.remove(&net.id).or_else(|| self.adopt(&dir)) {
                d.stop().await;
            }
            write_if_changed(&leases_path, &kept)?;
            info!(network = %net.id, stale, "leases of moved addresses dropped; dnsmasq restarts");
        }
        let changed = write_if_changed(&dir.join("host"), &hosts)?
            | write_if_changed(&dir.join("opts"), &opts_file(net, metadata_via.as_deref()))?
            | write_if_changed(&dir.join("addn_hosts"), "")?;
        let args = self.dnsmasq_args(net, &inner, &dir);
        let mut procs = self.procs.lock().await;
        // Subnets (ranges) and MTU are command-line options: when they
        // change, dnsmasq restarts (keeping its leases file).
        if !procs.contains_key(&net.id) {
            if let Some(d) = self.adopt(&dir) {
                info!(network = %net.id, pid = d.pid, "adopted a running dnsmasq");
                procs.insert(net.id.clone(), d);
            }
        }
        let outdated = procs
            .get(&net.id)
            .and_then(Daemon::cmdline)
            .is_some_and(|now| now.get(1..).is_some_and(|rest| rest != args.as_slice()));
        if outdated {
            if let Some(d) = procs.remove(&net.id) {
                info!(network = %net.id, pid = d.pid, "dnsmasq's subnets changed; it restarts");
                d.stop().await;
            }
        }
        let running = procs.get_mut(&net.id).is_some_and(Daemon::alive);
        if running && changed {
            if let Some(d) = procs.get(&net.id) {
                d.reload().await;
            }
        } else if !running {
            let d = Daemon::spawn(&ns, "dnsmasq", &args)?;
            info!(network = %net.id, pid = d.pid, "dnsmasq started");
            procs.insert(net.id.clone(), d);
        }
        Ok(())
    }

    /// A dnsmasq of an earlier run serving this directory, if one lives.
    fn adopt(&self, dir: &Path) -> Option<Daemon> {
        Daemon::adopt(&dir.join("pid"), &["dnsmasq", &dir.join("host").to_string_lossy()])
    }

    /// dnsmasq's command line (after the program name) for a network.
    fn dnsmasq_args(&self, net: &DhcpNetwork, inner: &str, dir: &Path) -> Vec<String> {
        let p = |name: &str| dir.join(name).to_string_lossy().to_string();
        let served: Vec<(&DhcpSubnet, &str)> = net.subnets.iter().filter_map(|s| Some((s, s.range_mode()?))).collect();
        // As many leases as the served subnets have addresses (a /64 counts 2^24).
        let lease_max: u64 = served
            .iter()
            .filter_map(|(s, _)| {
                let (_, len) = prefix_len(&s.cidr)?;
                let bits = if s.ip_version == 4 { 32u32 } else { 128 }.saturating_sub(u32::from(len));
                Some(1u64 << bits.min(24))
            })
            .sum();
        let mut args: Vec<String> = vec![
            "--no-hosts".into(),
            "--no-resolv".into(),
            "--keep-in-foreground".into(),
            format!("--pid-file={}", p("pid")),
            format!("--dhcp-hostsfile={}", p("host")),
            format!("--addn-hosts={}", p("addn_hosts")),
            format!("--dhcp-optsfile={}", p("opts")),
            format!("--dhcp-leasefile={}", p("leases")),
            format!("--log-facility={}", p("dnsmasq.log")),
            "--local-service".into(),
            "--bind-dynamic".into(),
            format!("--interface={inner}"),
            "--except-interface=lo".into(),
            "--conf-file=/dev/null".into(),
            format!("--domain={}", self.config.dns_domain),
            format!("--dhcp-option-force=option:mtu,{}", net.mtu),
            format!("--dhcp-lease-max={}", lease_max.max(16)),
        ];
        for (s, mode) in &served {
            if let Some((addr, len)) = prefix_len(&s.cidr) {
                let mask = if s.ip_version == 4 { netmask(len) } else { len.to_string() };
                args.push(format!(
                    "--dhcp-range=set:subnet-{},{addr},{mode},{mask},{}s",
                    s.id, self.config.lease_duration
                ));
            }
        }
        if served.iter().any(|(s, _)| s.ip_version == 6 && s.ipv6_ra_mode.is_some()) {
            // Prefix advertisements from here carry a router lifetime of 0:
            // the subnet's router (not the DHCP port) is the default router.
            args.push("--enable-ra".into());
            args.push(format!("--ra-param={inner},mtu:{},30,0", net.mtu));
        }
        args
    }

    /// Tears down a network no longer hosted here.
    async fn remove(&self, network_id: &str) {
        if let Some(h) = self.proxies.lock().await.remove(network_id) {
            h.abort();
        }
        if let Some(d) = self.procs.lock().await.remove(network_id).or_else(|| self.adopt(&self.dir(network_id))) {
            d.stop().await;
        }
        let ns = self.namespace(network_id);
        if Path::new("/run/netns").join(&ns).exists() {
            if let Err(e) = ip(None, &["netns", "del", &ns]).await {
                warn!(error = %e, "cannot delete {ns}");
            }
        }
        let _ = std::fs::remove_dir_all(self.dir(network_id));
        info!(network = %network_id, "DHCP for the network removed");
    }

    /// One round: every hosted network right, every other one gone.
    pub async fn reconcile(&self, state: &DhcpState) -> Result<(), String> {
        let wanted: BTreeSet<&str> = state.networks.iter().map(|n| n.id.as_str()).collect();
        let mut errors = Vec::new();
        for net in &state.networks {
            if let Err(e) = self.ensure(net).await {
                errors.push(format!("network {}: {e}", net.id));
            }
        }
        let present: Vec<String> = std::fs::read_dir(&self.config.state_dir)
            .map(|d| d.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        for id in present.iter().filter(|id| !wanted.contains(id.as_str())) {
            self.remove(id).await;
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    fn report_body(&self, start: bool, state: Option<&DhcpState>) -> Value {
        let (nets, subnets, ports) = state.map_or((0, 0, 0), |s| {
            (
                s.networks.len(),
                s.networks.iter().map(|n| n.subnets.len()).sum(),
                s.networks.iter().map(|n| n.ports.len()).sum(),
            )
        });
        json!({
            "agent_type": "DHCP agent", "binary": "neutron-dhcp-agent", "host": self.host,
            "topic": "dhcp_agent", "start_flag": start,
            "configurations": {"dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq", "networks": nets,
                               "subnets": subnets, "ports": ports, "dhcp_lease_duration": self.config.lease_duration}
        })
    }

    /// Runs until `shutdown`; `ready` after the first full sync. dnsmasq
    /// processes outlive the agent (a restart adopts them).
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
        set_mode(&self.config.state_dir, 0o755);
        let mut ready = Some(ready);
        let mut heartbeat = crate::channel::Heartbeat::new(self.report_interval);
        loop {
            heartbeat.beat(&self.channel, |start| self.report_body(start, None)).await;
            let state: Result<DhcpState, ChannelError> =
                self.channel.get_json(&format!("/agent/v1/dhcp-state?host={}", self.host)).await;
            let position = match state {
                Ok(s) => {
                    match self.reconcile(&s).await {
                        Ok(()) => {
                            if let Some(f) = ready.take() {
                                f();
                            }
                        }
                        Err(e) => warn!(error = %e, "DHCP reconcile failed; will retry"),
                    }
                    Some(s.last)
                }
                Err(e) => {
                    warn!(error = %e, "cannot read the DHCP state; retrying");
                    None
                }
            };
            // Wait for a change (or two seconds, to watch dnsmasq's health).
            let wait = async {
                match position {
                    Some(p) => {
                        let _ = self.channel.changes(p, 2).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            };
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = wait => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> DhcpNetwork {
        serde_json::from_value(json!({
            "id": "n1", "mtu": 1450,
            "subnets": [{"id": "s1", "cidr": "10.0.0.0/24", "ip_version": 4, "gateway_ip": "10.0.0.1",
                         "dns_nameservers": ["192.0.2.53"], "host_routes": [{"destination": "192.0.2.0/24", "nexthop": "10.0.0.254"}]}],
            "ports": [{"id": "p1", "mac_address": "fa:16:3e:00:00:01", "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.5"}],
                       "extra_dhcp_opts": [{"opt_name": "tftp-server", "opt_value": "192.0.2.9"}, {"opt_name": "66", "opt_value": "x", "ip_version": 6}]}],
            "dhcp_port": null
        }))
        .expect("network")
    }

    #[test]
    fn files_have_neutrons_shape() {
        assert_eq!(
            hosts_file(&net(), "openstacklocal"),
            "fa:16:3e:00:00:01,set:port-p1,10.0.0.5,host-10-0-0-5.openstacklocal\n"
        );
        assert_eq!(
            opts_file(&net(), None),
            "tag:subnet-s1,option:dns-server,192.0.2.53\n\
             tag:subnet-s1,option:router,10.0.0.1\n\
             tag:subnet-s1,option:classless-static-route,192.0.2.0/24,10.0.0.254,0.0.0.0/0,10.0.0.1\n\
             tag:port-p1,option:tftp-server,192.0.2.9\n\
             tag:port-p1,option6:66,x\n"
        );
        assert_eq!(netmask(24), "255.255.255.0");
        let leases = "1 fa:16:3e:00:00:01 10.0.0.4 h 01:x\n2 fa:16:3e:00:00:02 10.0.0.9 h2 *\n";
        let mut evil = net();
        evil.ports[0].extra_dhcp_opts = vec![json!({"opt_name": "tftp-server", "opt_value": "1.2.3.4\ndhcp-range=x"})];
        assert!(!opts_file(&evil, None).contains("dhcp-range"), "no line injected");
        let (kept, stale) = split_stale_leases(leases, &hosts_file(&net(), "d"));
        assert_eq!(stale, 1, "p1 moved from .4 to .5");
        assert_eq!(kept, "2 fa:16:3e:00:00:02 10.0.0.9 h2 *\n");
        assert_eq!(netmask(16), "255.255.0.0");
    }

    #[test]
    fn ipv6_modes_map_to_dnsmasq() {
        let subnet = |id: &str, ra: Option<&str>, addr: Option<&str>| DhcpSubnet {
            id: id.into(),
            cidr: "2001:db8::/64".into(),
            ip_version: 6,
            gateway_ip: None,
            dns_nameservers: vec!["2001:db8::53".into()],
            host_routes: vec![],
            ipv6_address_mode: addr.map(String::from),
            ipv6_ra_mode: ra.map(String::from),
        };
        let slaac = Some("slaac");
        let (stateful, stateless) = (Some("dhcpv6-stateful"), Some("dhcpv6-stateless"));
        assert_eq!(subnet("a", slaac, slaac).range_mode(), Some("ra-only"));
        assert_eq!(subnet("a", stateless, stateless).range_mode(), Some("ra-stateless"));
        assert_eq!(subnet("a", stateful, stateful).range_mode(), Some("static"));
        assert_eq!(subnet("a", None, stateful).range_mode(), Some("static"));
        assert_eq!(subnet("a", None, stateless).range_mode(), Some("static"));
        assert_eq!(subnet("a", None, None).range_mode(), Some("static"), "no modes: Neutron's legacy DHCPv6");
        assert_eq!(subnet("a", None, slaac).range_mode(), None, "an outside router advertises");
        assert_eq!(subnet("a", slaac, None).range_mode(), Some("ra-only"));
        let mut n = net();
        n.subnets = vec![subnet("v6full", stateful, stateful), subnet("v6info", stateless, stateless)];
        n.ports[0].fixed_ips = vec![
            neutrino_model::FixedIp { subnet_id: "v6full".into(), ip_address: "2001:db8::77".into() },
            neutrino_model::FixedIp { subnet_id: "v6info".into(), ip_address: "2001:db8::f816:3eff:fe00:1".into() },
        ];
        // Only stateful addresses are dnsmasq's to hand out.
        assert_eq!(hosts_file(&n, "d"), "fa:16:3e:00:00:01,set:port-p1,[2001:db8::77],host-2001-db8--77.d\n");
        assert_eq!(
            opts_file(&n, None),
            "tag:subnet-v6full,option6:dns-server,[2001:db8::53]\n\
             tag:subnet-v6info,option6:dns-server,[2001:db8::53]\n\
             tag:port-p1,option:tftp-server,192.0.2.9\n\
             tag:port-p1,option6:66,x\n"
        );
    }
}

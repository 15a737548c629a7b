//! `neutrino agent ROLE…` and `neutrino vif plug|unplug`: the node side,
//! configured like Neutron's agents (linuxbridge_agent.ini, dhcp_agent.ini,
//! l3_agent.ini and `[agent]`).

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use neutrino_agent::channel::Channel;
use neutrino_agent::dataplane::{ip, IpRoute};
use neutrino_agent::dhcp::{DhcpAgent, DhcpConfig};
use neutrino_agent::l2::L2Agent;
use neutrino_agent::l3::{ExternalBridge, L3Agent, L3Config};
use neutrino_agent::metadata::MetadataConfig;
use neutrino_agent::ovs::agent::{OvsAgent, OvsAgentConfig, OvsFirewallDriver};
use neutrino_agent::ovs::bridges::BridgeConfig;
use neutrino_agent::reconcile::L2Config;
use neutrino_config::Loaded;
use tracing::info;

/// A value of a stored agent option.
fn opt<'a>(loaded: &'a Loaded, section: &str, key: &str) -> Option<&'a str> {
    loaded.get(section, key).map(|v| v.text.trim()).filter(|t| !t.is_empty())
}

/// This node's name: the flag, `[DEFAULT] host`, or the hostname.
pub fn host_name(loaded: &Loaded, flag: Option<&str>) -> String {
    if let Some(h) = flag.or(loaded.config.default.host.as_deref()) {
        return h.to_string();
    }
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim();
    if name.is_empty() {
        "localhost".into()
    } else {
        name.to_string()
    }
}

/// The L2 agent's settings from linuxbridge_agent.ini.
fn l2_config(loaded: &Loaded) -> Result<L2Config> {
    let mut interface_mappings = BTreeMap::new();
    if let Some(text) = opt(loaded, "linux_bridge", "physical_interface_mappings") {
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (physnet, iface) = item.split_once(':').with_context(|| {
                format!("[linux_bridge] physical_interface_mappings: '{item}' is not PHYSNET:INTERFACE")
            })?;
            check_device_name(iface.trim())?;
            interface_mappings.insert(physnet.trim().to_string(), iface.trim().to_string());
        }
    }
    let local_ip = match opt(loaded, "vxlan", "local_ip") {
        Some(ip) => Some(
            ip.parse::<std::net::IpAddr>()
                .with_context(|| format!("[vxlan] local_ip: '{ip}' is not an IP address"))?
                .to_string(),
        ),
        None => None,
    };
    let enable_vxlan = opt(loaded, "vxlan", "enable_vxlan").is_none_or(|v| v.eq_ignore_ascii_case("true"));
    let l2_population = opt(loaded, "vxlan", "l2_population").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    // 802.1q support is kernel-wide; the 8021q code exposes /proc/net/vlan.
    let vlan_supported = std::path::Path::new("/proc/net/vlan").exists();
    Ok(L2Config {
        local_ip: local_ip.filter(|_| enable_vxlan),
        interface_mappings,
        l2_population,
        vlan_supported,
        firewall: firewall_enabled(loaded)?,
    })
}

/// `[securitygroup] firewall_driver`, lower-cased, unless security groups
/// are off: as in Neutron, `enable_security_group` (default true) off or
/// `firewall_driver` unset or `noop` means no filtering.
fn firewall_driver(loaded: &Loaded) -> Option<String> {
    let off = |v: &str| matches!(v.to_ascii_lowercase().as_str(), "false" | "0" | "no" | "off");
    if opt(loaded, "securitygroup", "enable_security_group").is_some_and(off) {
        return None;
    }
    let driver = opt(loaded, "securitygroup", "firewall_driver")?.to_ascii_lowercase();
    (!matches!(driver.as_str(), "noop" | "neutron.agent.firewall.noopfirewalldriver")).then_some(driver)
}

const HYBRID_DRIVERS: [&str; 2] =
    ["iptables_hybrid", "neutron.agent.linux.iptables_firewall.ovshybridiptablesfirewalldriver"];

/// `[securitygroup]`: whether the Linux bridge agent filters ports by their
/// security groups (see [`firewall_driver`]); the iptables drivers' names
/// select this agent's nftables firewall, which does the same.
fn firewall_enabled(loaded: &Loaded) -> Result<bool> {
    let Some(driver) = firewall_driver(loaded) else { return Ok(false) };
    match driver.as_str() {
        d if HYBRID_DRIVERS.contains(&d) || matches!(d, "iptables" | "nftables" | "neutron.agent.linux.iptables_firewall.iptablesfirewalldriver") => {
            info!(firewall_driver = %driver, "security groups are filtered with nftables");
            Ok(true)
        }
        "openvswitch" => {
            tracing::warn!(
                "[securitygroup] firewall_driver = openvswitch needs an Open vSwitch agent; the Linux bridge agent filters with nftables"
            );
            Ok(true)
        }
        _ => bail!("[securitygroup] firewall_driver: '{driver}' is not a firewall driver (noop, iptables, iptables_hybrid, openvswitch)"),
    }
}

/// `[securitygroup]` of openvswitch_agent.ini: how the Open vSwitch agent
/// filters instance ports — `iptables_hybrid` (the hybrid plug, nftables on
/// each port's own bridge) or `openvswitch` (OpenFlow with conntrack on
/// br-int). Plain `iptables` cannot see ports on Open vSwitch: refused
/// rather than left unfiltered.
fn ovs_firewall(loaded: &Loaded) -> Result<OvsFirewallDriver> {
    let Some(driver) = firewall_driver(loaded) else { return Ok(OvsFirewallDriver::Noop) };
    if HYBRID_DRIVERS.contains(&driver.as_str()) {
        info!(firewall_driver = %driver, "instance ports are hybrid-plugged and filtered with nftables");
        return Ok(OvsFirewallDriver::Hybrid);
    }
    match driver.as_str() {
        "openvswitch" | "neutron.agent.linux.openvswitch_firewall.openvswitchfirewalldriver" => {
            info!(firewall_driver = %driver, "instance ports are filtered by OpenFlow flows with conntrack");
            Ok(OvsFirewallDriver::OpenFlow)
        }
        "iptables" | "nftables" | "neutron.agent.linux.iptables_firewall.iptablesfirewalldriver" => bail!(
            "[securitygroup] firewall_driver = {driver} cannot see ports on Open vSwitch; use iptables_hybrid or openvswitch (or noop)"
        ),
        _ => bail!(
            "[securitygroup] firewall_driver: '{driver}' is not a firewall driver (noop, iptables_hybrid, openvswitch)"
        ),
    }
}

/// Interface and namespace names are passed to `ip` as arguments: keep them
/// to what the kernel accepts.
fn check_device_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 15 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        bail!("'{name}' is not a valid interface name (1-15 letters, digits, '-', '_', '.')");
    }
    Ok(())
}

fn check_netns_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || name.starts_with('.')
    {
        bail!("'{name}' is not a valid namespace name");
    }
    Ok(())
}

/// The agent channel of `[agent] channel`: HTTP to `server_url`, or the
/// message broker of `[DEFAULT] transport_url`.
fn channel(loaded: &Loaded) -> Result<Channel> {
    let a = &loaded.config.agent;
    let d = &loaded.config.default;
    match (a.channel, &d.transport_url) {
        (neutrino_config::AgentChannel::Rabbit, Some(url)) => {
            let settings = neutrino_bus::BusSettings::new(url, &d.control_exchange)?;
            info!(control_exchange = %d.control_exchange, "agent channel: the message broker");
            Ok(Channel::over_bus(settings, a.channel_secret.as_deref())?)
        }
        (neutrino_config::AgentChannel::Rabbit, None) => {
            bail!("[agent] channel = rabbit needs [DEFAULT] transport_url (rabbit://user:pass@host:port/vhost)")
        }
        (neutrino_config::AgentChannel::Direct, url) => {
            if url.is_some() {
                info!("[DEFAULT] transport_url is not used by this agent: [agent] channel = direct");
            }
            Ok(Channel::new(&a.server_url, a.channel_secret.as_deref())?)
        }
    }
}

/// The L2 agent of this node: its server (`[agent] server_url`, or
/// `server` for an in-process agent with the secret it was given), its node
/// namespace, its configuration (`default_local_ip` when `[vxlan] local_ip`
/// is unset).
pub fn l2_agent(
    loaded: &Loaded,
    host: Option<&str>,
    server: Option<(&str, &str)>,
    default_local_ip: Option<&str>,
) -> Result<L2Agent<IpRoute>> {
    if let Some(ns) = &loaded.config.agent.node_namespace {
        check_netns_name(ns)?;
    }
    let channel = match server {
        Some((url, secret)) => Channel::new(url, Some(secret))?,
        None => channel(loaded)?,
    };
    let mut config = l2_config(loaded)?;
    if config.local_ip.is_none() && opt(loaded, "vxlan", "enable_vxlan").is_none() {
        config.local_ip = default_local_ip.map(str::to_string);
    }
    Ok(L2Agent {
        channel,
        dataplane: IpRoute { netns: loaded.config.agent.node_namespace.clone() },
        config,
        host: host_name(loaded, host),
        report_interval: u64::from(loaded.config.agent.report_interval.max(1)),
    })
}

/// Whether the L2 role is the Open vSwitch agent: its configuration
/// (openvswitch_agent.ini) has an `[ovs]` section, linuxbridge_agent.ini's
/// sections absent.
pub fn is_ovs(loaded: &Loaded) -> bool {
    loaded.section("ovs").is_some() && loaded.section("linux_bridge").is_none() && loaded.section("vxlan").is_none()
}

/// The Open vSwitch agent's settings from openvswitch_agent.ini.
pub fn ovs_agent_config(loaded: &Loaded) -> Result<OvsAgentConfig> {
    let name = |section: &str, key: &str, default: &str| -> Result<String> {
        let v = opt(loaded, section, key).unwrap_or(default).to_string();
        check_device_name(&v)?;
        Ok(v)
    };
    let mut bridge_mappings = BTreeMap::new();
    if let Some(text) = opt(loaded, "ovs", "bridge_mappings") {
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (physnet, bridge) = item
                .split_once(':')
                .with_context(|| format!("[ovs] bridge_mappings: '{item}' is not PHYSNET:BRIDGE"))?;
            check_device_name(bridge.trim())?;
            bridge_mappings.insert(physnet.trim().to_string(), bridge.trim().to_string());
        }
    }
    let tunnel_types: Vec<String> = opt(loaded, "agent", "tunnel_types")
        .map(|t| t.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    for t in &tunnel_types {
        if !matches!(t.as_str(), "vxlan" | "gre") {
            bail!("[agent] tunnel_types: '{t}' is not built (vxlan, gre)");
        }
    }
    let local_ip = match opt(loaded, "ovs", "local_ip") {
        Some(ip) => Some(
            ip.parse::<std::net::Ipv4Addr>()
                .with_context(|| format!("[ovs] local_ip: '{ip}' is not an IPv4 address"))?,
        ),
        None => None,
    };
    let datapath_type = opt(loaded, "ovs", "datapath_type").unwrap_or("system").to_string();
    if !matches!(datapath_type.as_str(), "system" | "netdev") {
        bail!("[ovs] datapath_type: '{datapath_type}' — expected system or netdev");
    }
    let ovsdb_connection = ovsdb_connection(loaded);
    Ok(OvsAgentConfig {
        bridges: BridgeConfig {
            integration_bridge: name("ovs", "integration_bridge", "br-int")?,
            tunnel_bridge: name("ovs", "tunnel_bridge", "br-tun")?,
            tunneling: !tunnel_types.is_empty(),
            bridge_mappings,
            datapath_type,
        },
        local_ip,
        tunnel_types,
        l2_population: opt(loaded, "agent", "l2_population").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        arp_responder: opt(loaded, "agent", "arp_responder").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        ovsdb_connection,
        firewall: ovs_firewall(loaded)?,
    })
}

/// The Open vSwitch agent of this node.
pub fn ovs_agent(loaded: &Loaded, host: Option<&str>) -> Result<OvsAgent<IpRoute>> {
    if let Some(ns) = &loaded.config.agent.node_namespace {
        check_netns_name(ns)?;
    }
    Ok(OvsAgent {
        channel: channel(loaded)?,
        dataplane: IpRoute { netns: loaded.config.agent.node_namespace.clone() },
        config: ovs_agent_config(loaded)?,
        host: host_name(loaded, host),
        report_interval: u64::from(loaded.config.agent.report_interval.max(1)),
    })
}

/// The metadata service of metadata_agent.ini when `enable_isolated_metadata` is on.
fn metadata_config(loaded: &Loaded) -> Result<Option<MetadataConfig>> {
    if !opt(loaded, "DEFAULT", "enable_isolated_metadata").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    metadata_service(loaded).map(Some)
}

/// The metadata service of routed networks: set when `nova_metadata_host`
/// (or `nova_metadata_ip`) is.
fn router_metadata_config(loaded: &Loaded) -> Result<Option<MetadataConfig>> {
    if opt(loaded, "DEFAULT", "nova_metadata_host").or(opt(loaded, "DEFAULT", "nova_metadata_ip")).is_none() {
        return Ok(None);
    }
    metadata_service(loaded).map(Some)
}

/// Where the metadata service is: `nova_metadata_host` (or `_ip`), `_port`,
/// `_protocol` and `metadata_proxy_shared_secret` of [DEFAULT].
fn metadata_service(loaded: &Loaded) -> Result<MetadataConfig> {
    let host = opt(loaded, "DEFAULT", "nova_metadata_host")
        .or(opt(loaded, "DEFAULT", "nova_metadata_ip"))
        .unwrap_or("127.0.0.1");
    let port = match opt(loaded, "DEFAULT", "nova_metadata_port") {
        Some(p) => p.parse().with_context(|| format!("[DEFAULT] nova_metadata_port: '{p}' is not a port"))?,
        None => 8775,
    };
    let protocol = opt(loaded, "DEFAULT", "nova_metadata_protocol").unwrap_or("http");
    if protocol != "http" && protocol != "https" {
        bail!("[DEFAULT] nova_metadata_protocol: expected http or https");
    }
    if host.chars().any(|c| c.is_whitespace() || c == '/') {
        bail!("[DEFAULT] nova_metadata_host: '{host}' is not a host");
    }
    Ok(MetadataConfig {
        host: host.to_string(),
        port,
        protocol: protocol.to_string(),
        secret: opt(loaded, "DEFAULT", "metadata_proxy_shared_secret").unwrap_or_default().to_string(),
    })
}

/// `[DEFAULT] interface_driver` of dhcp_agent.ini / l3_agent.ini. Both
/// drivers make the same veth (`tap…` in the node, the agent's end in its
/// namespace, as Neutron's OVS driver with `ovs_use_veth`); the host's L2
/// agent, Linux bridge or Open vSwitch, wires the `tap…` end. Returns
/// whether it is the Open vSwitch one.
fn interface_driver_is_ovs(loaded: &Loaded) -> Result<bool> {
    match opt(loaded, "DEFAULT", "interface_driver") {
        None | Some("linuxbridge" | "neutron.agent.linux.interface.BridgeInterfaceDriver") => Ok(false),
        Some("openvswitch" | "neutron.agent.linux.interface.OVSInterfaceDriver") => Ok(true),
        Some(other) => bail!(
            "[DEFAULT] interface_driver = {other}: the drivers built are linuxbridge \
             (neutron.agent.linux.interface.BridgeInterfaceDriver) and openvswitch \
             (neutron.agent.linux.interface.OVSInterfaceDriver)"
        ),
    }
}

/// `[ovs] ovsdb_connection`, Neutron's default when unset.
fn ovsdb_connection(loaded: &Loaded) -> String {
    opt(loaded, "ovs", "ovsdb_connection").unwrap_or("unix:/var/run/openvswitch/db.sock").to_string()
}

/// The DHCP agent of this node.
pub fn dhcp_agent(loaded: &Loaded, host: Option<&str>) -> Result<DhcpAgent> {
    let ovs = interface_driver_is_ovs(loaded)?;
    let a = &loaded.config.agent;
    if let Some(driver) = opt(loaded, "DEFAULT", "dhcp_driver") {
        if !matches!(driver, "neutron.agent.linux.dhcp.Dnsmasq" | "dnsmasq" | "Dnsmasq") {
            bail!("[DEFAULT] dhcp_driver = {driver}: only neutron.agent.linux.dhcp.Dnsmasq is built");
        }
    }
    if let Some(p) = &a.namespace_prefix {
        check_netns_name(p)?;
    }
    let config = DhcpConfig {
        state_dir: std::path::Path::new(&loaded.config.default.state_path).join("dhcp"),
        namespace_prefix: a.namespace_prefix.clone(),
        node_namespace: a.node_namespace.clone(),
        lease_duration: loaded.config.default.dhcp_lease_duration.max(0) as u32,
        dns_domain: "openstacklocal".into(),
        metadata: metadata_config(loaded)?,
        software_checksums: ovs,
    };
    Ok(DhcpAgent::new(channel(loaded)?, host_name(loaded, host), config, u64::from(a.report_interval.max(1))))
}

/// The L3 agent of this node (l3_agent.ini and `[agent]`).
pub fn l3_agent(loaded: &Loaded, host: Option<&str>) -> Result<L3Agent> {
    let ovs = interface_driver_is_ovs(loaded)?;
    let a = &loaded.config.agent;
    if let Some(p) = &a.namespace_prefix {
        check_netns_name(p)?;
    }
    if let Some(ns) = &a.node_namespace {
        check_netns_name(ns)?;
    }
    if let Some(mode) = opt(loaded, "DEFAULT", "agent_mode") {
        if mode != "legacy" {
            bail!("[DEFAULT] agent_mode = {mode}: only legacy is built");
        }
    }
    let config = L3Config {
        namespace_prefix: a.namespace_prefix.clone(),
        node_namespace: a.node_namespace.clone(),
        state_dir: std::path::Path::new(&loaded.config.default.state_path).join("l3"),
        metadata: router_metadata_config(loaded)?,
        external_bridge: external_bridge(loaded, ovs)?,
        software_checksums: ovs,
    };
    Ok(L3Agent::new(channel(loaded)?, host_name(loaded, host), config, u64::from(a.report_interval.max(1))))
}

/// `[DEFAULT] external_network_bridge` of l3_agent.ini: an Open vSwitch
/// bridge the gateway ports are plugged into (the OVS interface driver's
/// legacy mode); empty or unset, the L2 agent wires them like other ports.
fn external_bridge(loaded: &Loaded, ovs: bool) -> Result<Option<ExternalBridge>> {
    let Some(bridge) = opt(loaded, "DEFAULT", "external_network_bridge").filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    if !ovs {
        bail!("[DEFAULT] external_network_bridge = {bridge} needs interface_driver = openvswitch");
    }
    let valid = bridge.len() <= 15 && bridge.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !valid {
        bail!("[DEFAULT] external_network_bridge = {bridge}: not a bridge name (1-15 letters, digits, '-', '_', '.')");
    }
    Ok(Some(ExternalBridge { bridge: bridge.to_string(), ovsdb_connection: ovsdb_connection(loaded) }))
}

/// `neutrino agent ROLE`: `l2`, `dhcp` or `l3` (one role per process for now).
pub async fn run(
    loaded: &Loaded,
    roles: &[String],
    host: Option<&str>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<ExitCode> {
    for r in roles {
        if !matches!(r.as_str(), "l2" | "dhcp" | "l3") {
            bail!("agent role '{r}' is not built yet (built: l2, dhcp, l3)");
        }
    }
    let distinct: std::collections::BTreeSet<&str> = roles.iter().map(String::as_str).collect();
    if distinct.len() > 1 {
        bail!("run the {} roles as separate processes for now", distinct.into_iter().collect::<Vec<_>>().join(", "));
    }
    if distinct.contains("dhcp") {
        let agent = dhcp_agent(loaded, host)?;
        let host = agent.host.clone();
        info!(%host, state = %agent.config.state_dir.display(), "DHCP agent starting");
        agent.run(shutdown, || println!("Neutrino DHCP agent for host {host}: first sync done")).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if distinct.contains("l3") {
        let agent = l3_agent(loaded, host)?;
        let host = agent.host.clone();
        info!(%host, state = %agent.config.state_dir.display(), metadata = agent.config.metadata.is_some(), "L3 agent starting");
        agent.run(shutdown, || println!("Neutrino L3 agent for host {host}: first sync done")).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if is_ovs(loaded) {
        let agent = ovs_agent(loaded, host)?;
        let host = agent.host.clone();
        info!(%host, ovsdb = %agent.config.ovsdb_connection, "Open vSwitch L2 agent starting");
        agent.run(shutdown, || println!("Neutrino Open vSwitch agent for host {host}: first sync done")).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let agent = l2_agent(loaded, host, None, None)?;
    let host = agent.host.clone();
    info!(%host, server = %loaded.config.agent.server_url, node_namespace = ?loaded.config.agent.node_namespace, "L2 agent starting");
    agent.run(shutdown, || println!("Neutrino L2 agent for host {host}: first sync done")).await?;
    Ok(ExitCode::SUCCESS)
}

fn check_port_id(port: &str) -> Result<()> {
    if port.len() != 36 || !port.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        bail!("'{port}' is not a port id");
    }
    Ok(())
}

/// `neutrino vif plug`.
pub async fn plug(
    loaded: &Loaded,
    port: &str,
    host: Option<&str>,
    netns: Option<&str>,
    tap: Option<&str>,
    device_id: Option<&str>,
    device_owner: &str,
) -> Result<ExitCode> {
    check_port_id(port)?;
    let node = loaded.config.agent.node_namespace.as_deref();
    let host = host_name(loaded, host);
    let dev = neutrino_model::names::tap_device(port);
    let device_id = device_id.or(netns).or(tap).unwrap_or_default().to_string();
    let (p, mtu) = channel(loaded)?.bind(port, &host, &device_id, device_owner).await?;
    let mac = p.get("mac_address").and_then(|m| m.as_str()).context("the server returned no MAC")?.to_string();
    let mtu = mtu.to_string();
    match (netns, tap) {
        (Some(ns), _) => {
            check_netns_name(ns)?;
            if !std::path::Path::new("/run/netns").join(ns).exists() {
                ip(None, &["netns", "add", ns]).await?;
            }
            ip(
                node,
                &[
                    "link", "add", &dev, "mtu", &mtu, "type", "veth", "peer", "name", "eth0", "mtu", &mtu, "address",
                    &mac, "netns", ns,
                ],
            )
            .await?;
            ip(Some(ns), &["link", "set", "lo", "up"]).await?;
            ip(Some(ns), &["link", "set", "eth0", "up"]).await?;
        }
        (None, Some(t)) => {
            check_device_name(t)?;
            ip(node, &["tuntap", "add", "dev", &dev, "mode", "tap"]).await?;
            ip(node, &["link", "set", &dev, "mtu", &mtu]).await?;
        }
        (None, None) => bail!("--netns or --tap is required"),
    }
    println!("port {port} bound to {host}: {dev} (MAC {mac}, MTU {mtu})");
    Ok(ExitCode::SUCCESS)
}

/// `neutrino vif unplug`.
pub async fn unplug(loaded: &Loaded, port: &str) -> Result<ExitCode> {
    check_port_id(port)?;
    let node = loaded.config.agent.node_namespace.as_deref();
    channel(loaded)?.bind(port, "", "", "").await?;
    let dev = neutrino_model::names::tap_device(port);
    if let Err(e) = ip(node, &["link", "del", &dev]).await {
        tracing::warn!(error = %e, "the interface was already gone");
    }
    println!("port {port} unbound; {dev} removed");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(name: &str, text: &str) -> Loaded {
        let dir = std::env::temp_dir().join(format!("neutrino-agent-conf-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("neutron.conf");
        std::fs::write(&path, text).expect("write");
        let l = neutrino_config::load(&[path], &[]).expect("load");
        let _ = std::fs::remove_dir_all(&dir);
        l
    }

    #[test]
    fn the_seeds_openvswitch_agent_ini_gives_its_layout() {
        let seed =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seed-configs/openvswitch_agent.ini");
        let text = std::fs::read_to_string(&seed).expect("the seed's openvswitch_agent.ini");
        let l = loaded("seed-ovs", &text);
        assert!(is_ovs(&l));
        let c = ovs_agent_config(&l).expect("config");
        assert_eq!(c.tunnel_types, ["vxlan"]);
        assert!(c.l2_population);
        assert_eq!(c.local_ip, Some("192.168.6.134".parse().expect("ip")));
        assert_eq!((c.bridges.integration_bridge.as_str(), c.bridges.tunnel_bridge.as_str()), ("br-int", "br-tun"));
        assert!(c.bridges.tunneling && c.bridges.bridge_mappings.is_empty());
        assert_eq!(c.ovsdb_connection, "unix:/var/run/openvswitch/db.sock");
        assert_eq!(c.firewall, OvsFirewallDriver::Hybrid, "the seed's iptables_hybrid");
        let bad = loaded("bad-ovs", "[ovs]\ndatapath_type = dpdk\n");
        assert!(ovs_agent_config(&bad).is_err());
        for (name, sg, filtered) in [
            ("fw-none", "", Some(OvsFirewallDriver::Noop)),
            ("fw-noop", "firewall_driver = noop\n", Some(OvsFirewallDriver::Noop)),
            (
                "fw-off",
                "firewall_driver = iptables_hybrid\nenable_security_group = False\n",
                Some(OvsFirewallDriver::Noop),
            ),
            (
                "fw-class",
                "firewall_driver = neutron.agent.linux.iptables_firewall.OVSHybridIptablesFirewallDriver\n",
                Some(OvsFirewallDriver::Hybrid),
            ),
            ("fw-ovs", "firewall_driver = openvswitch\n", Some(OvsFirewallDriver::OpenFlow)),
            ("fw-ipt", "firewall_driver = iptables\n", None),
            ("fw-bad", "firewall_driver = pf\n", None),
        ] {
            let l = loaded(name, &format!("[ovs]\nintegration_bridge = br-int\n[securitygroup]\n{sg}"));
            match (ovs_agent_config(&l), filtered) {
                (Ok(c), Some(f)) => assert_eq!(c.firewall, f, "{name}"),
                (Err(e), None) => assert!(e.to_string().contains("firewall_driver"), "{name}: {e}"),
                (other, _) => panic!("{name}: {other:?}"),
            }
        }
        let lb =
            loaded("lb", "[linux_bridge]\nphysical_interface_mappings = physnet1:eth1\n[vxlan]\nlocal_ip = 10.0.0.1\n");
        assert!(!is_ovs(&lb));
    }

    #[test]
    fn the_agent_channel_is_the_one_configured() {
        let bus = |c: &Channel| format!("{c:?}").contains("BusClient");
        let direct =
            loaded("direct", "[DEFAULT]\ntransport_url = rabbit://u:p@h\n[agent]\nserver_url = http://s:9696\n");
        assert!(!bus(&channel(&direct).expect("direct")), "channel = direct ignores the broker");
        let rabbit = loaded("rabbit", "[DEFAULT]\ntransport_url = rabbit://u:p@h\n[agent]\nchannel = rabbit\n");
        assert!(bus(&channel(&rabbit).expect("rabbit")));
        let lost = loaded("lost", "[agent]\nchannel = rabbit\n");
        let e = channel(&lost).expect_err("no broker URL").to_string();
        assert!(e.contains("transport_url"), "{e}");
    }
}

//! The NAT of a legacy router: one nftables table (`ip neutrino-l3`) in the
//! router's namespace, written as one `nft -f -` transaction that creates,
//! deletes and recreates the table — an atomic replace, so a reload never
//! leaves a moment without rules, and established connections (whose NAT
//! lives in their conntrack entries) survive it.
//!
//! What goes in, per router (IPv4 only; IPv6 values are skipped):
//! - the metadata redirect: `iifname "qr-*" ip daddr 169.254.169.254 tcp
//!   dport 80 redirect to :PORT` when a metadata proxy port is given, and
//!   (input filter) the proxy's port closed to all but redirected
//!   connections — as Neutron's `metadata_access_mark` does;
//! - per port forwarding: `ip daddr FIP PROTO dport EXT dnat to IP:PORT`
//!   (prerouting and output, before the whole-address rules);
//! - per floating IP: `ip daddr FIP dnat to FIXED` (prerouting, and output
//!   for the router's own traffic) and `oifname QG ip saddr FIXED snat to
//!   FIP` (postrouting, before the default SNAT);
//! - with `enable_snat` and a gateway: `oifname QG ip saddr CIDR snat to
//!   GW` for each internal IPv4 subnet;
//! - hairpin, per internal address: `iifname QR oifname QR ip daddr CIDR
//!   ct status dnat snat to QR_IP`, so an instance reaches a neighbour's
//!   floating IP and the reply comes back through the router.
//!
//! Every value is parsed (an IP, a CIDR, a port, `tcp`/`udp`) and printed
//! from its parsed form; device names come from ids and are checked. A value
//! that does not parse is skipped with a warning: no string reaches nft as
//! syntax.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;
use neutrino_model::l3::RouterState;
use neutrino_model::names;
use tracing::warn;

/// The table's name (family `ip`).
pub const TABLE: &str = "neutrino-l3";

/// Where the router's metadata proxy listens (Neutron's port).
pub const METADATA_PORT: u16 = 9697;

/// The rules of one router, by chain.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rules {
    /// `filter` input (only redirected connections reach the metadata proxy).
    pub input: Vec<String>,
    /// `nat` prerouting (DNAT, redirect).
    pub prerouting: Vec<String>,
    /// `nat` output (DNAT of the router's own traffic).
    pub output: Vec<String>,
    /// `nat` postrouting (SNAT, hairpin).
    pub postrouting: Vec<String>,
}

/// Whether a device name is safe to print inside nft quotes (and fits Linux's 15 bytes).
pub fn valid_device(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// An IPv4 address; `None` for IPv6 (not this table's) and, with a warning, for garbage.
fn v4(router: &str, what: &str, text: &str) -> Option<Ipv4Addr> {
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Some(a),
        Ok(IpAddr::V6(_)) => None,
        Err(_) => {
            warn!(router = %router, value = %text.escape_debug(), "{what} is not an IP address; skipped");
            None
        }
    }
}

/// An IPv4 network (host bits cleared); `None` for IPv6 and, with a warning, for garbage.
fn v4net(router: &str, what: &str, text: &str) -> Option<Ipv4Net> {
    match text.parse::<ipnet::IpNet>() {
        Ok(ipnet::IpNet::V4(n)) => Some(n.trunc()),
        Ok(ipnet::IpNet::V6(_)) => None,
        Err(_) => {
            warn!(router = %router, value = %text.escape_debug(), "{what} is not a CIDR; skipped");
            None
        }
    }
}

/// A device name derived from an id, if it is safe.
fn device(router: &str, name: String) -> Option<String> {
    if valid_device(&name) {
        Some(name)
    } else {
        warn!(router = %router, device = %name.escape_debug(), "port id gives no valid device name; skipped");
        None
    }
}

/// `tcp` or `udp`.
fn protocol(router: &str, text: &str) -> Option<&'static str> {
    match text {
        "tcp" => Some("tcp"),
        "udp" => Some("udp"),
        _ => {
            warn!(router = %router, protocol = %text.escape_debug(), "port forwarding protocol is not tcp or udp; skipped");
            None
        }
    }
}

/// The router's internal IPv4 addresses: (qr device, address, subnet).
fn internal_addresses(r: &RouterState) -> Vec<(String, Ipv4Addr, Ipv4Net)> {
    let mut out = Vec::new();
    for port in &r.interfaces {
        let Some(dev) = device(&r.id, names::router_interface_device(&port.id)) else { continue };
        for fixed in &port.fixed_ips {
            let Some(subnet) = port.subnets.iter().find(|s| s.id == fixed.subnet_id) else { continue };
            let (Some(ip), Some(net)) =
                (v4(&r.id, "fixed IP", &fixed.ip_address), v4net(&r.id, "subnet CIDR", &subnet.cidr))
            else {
                continue;
            };
            out.push((dev.clone(), ip, net));
        }
    }
    out
}

/// The rules of one router (see the module's documentation for their order).
pub fn rules(r: &RouterState, metadata_port: Option<u16>) -> Rules {
    let mut rules = Rules::default();
    let internal = internal_addresses(r);
    if let Some(port) = metadata_port.filter(|_| !r.interfaces.is_empty()) {
        rules.prerouting.push(format!("iifname \"qr-*\" ip daddr 169.254.169.254 tcp dport 80 redirect to :{port}"));
        rules.input.push(format!("tcp dport {port} ct status & dnat == 0 drop"));
    }
    let qg = r.gateway.as_ref().and_then(|g| device(&r.id, names::router_gateway_device(&g.id)));
    if let Some(qg) = &qg {
        let mut forwardings: Vec<_> = r.port_forwardings.iter().collect();
        forwardings.sort_by(|a, b| {
            (&a.floating_ip_address, &a.protocol, a.external_port).cmp(&(
                &b.floating_ip_address,
                &b.protocol,
                b.external_port,
            ))
        });
        for pf in forwardings {
            let (Some(fip), Some(proto), Some(inside)) = (
                v4(&r.id, "port forwarding floating IP", &pf.floating_ip_address),
                protocol(&r.id, &pf.protocol),
                v4(&r.id, "port forwarding internal IP", &pf.internal_ip_address),
            ) else {
                continue;
            };
            if pf.external_port == 0 || pf.internal_port == 0 {
                warn!(router = %r.id, port_forwarding = %pf.id, "port 0 in a port forwarding; skipped");
                continue;
            }
            let rule =
                format!("ip daddr {fip} {proto} dport {} dnat to {inside}:{}", pf.external_port, pf.internal_port);
            rules.prerouting.push(rule.clone());
            rules.output.push(rule);
        }
        let mut fips: Vec<_> = r.floating_ips.iter().collect();
        fips.sort_by(|a, b| a.floating_ip_address.cmp(&b.floating_ip_address));
        for f in fips {
            let (Some(fip), Some(fixed)) =
                (v4(&r.id, "floating IP", &f.floating_ip_address), v4(&r.id, "fixed IP", &f.fixed_ip_address))
            else {
                continue;
            };
            rules.prerouting.push(format!("ip daddr {fip} dnat to {fixed}"));
            rules.output.push(format!("ip daddr {fip} dnat to {fixed}"));
            rules.postrouting.push(format!("oifname \"{qg}\" ip saddr {fixed} snat to {fip}"));
        }
        let gateway_ip =
            r.gateway.iter().flat_map(|g| &g.fixed_ips).find_map(|f| v4(&r.id, "gateway IP", &f.ip_address));
        if let Some(gw) = gateway_ip.filter(|_| r.enable_snat) {
            let subnets: BTreeSet<Ipv4Net> = internal.iter().map(|(_, _, net)| *net).collect();
            for net in subnets {
                rules.postrouting.push(format!("oifname \"{qg}\" ip saddr {net} snat to {gw}"));
            }
        }
    }
    for (dev, ip, net) in &internal {
        rules
            .postrouting
            .push(format!("iifname \"{dev}\" oifname \"{dev}\" ip daddr {net} ct status dnat snat to {ip}"));
    }
    rules
}

/// The `nft -f -` text that atomically replaces the router's table.
pub fn ruleset(r: &RouterState, metadata_port: Option<u16>) -> String {
    let rules = rules(r, metadata_port);
    let mut out = format!("table ip {TABLE} {{}}\ndelete table ip {TABLE}\ntable ip {TABLE} {{\n");
    let chains: [(&str, &str, &str, &[String]); 4] = [
        ("input", "filter hook input", "filter", &rules.input),
        ("prerouting", "nat hook prerouting", "dstnat", &rules.prerouting),
        ("output", "nat hook output", "-100", &rules.output),
        ("postrouting", "nat hook postrouting", "srcnat", &rules.postrouting),
    ];
    for (name, hook, priority, lines) in chains {
        let _ = writeln!(out, "\tchain {name} {{");
        let _ = writeln!(out, "\t\ttype {hook} priority {priority}; policy accept;");
        for l in lines {
            let _ = writeln!(out, "\t\t{l}");
        }
        out.push_str("\t}\n");
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use neutrino_model::l3::{FloatingIpState, PortForwardingState, RouterPort, RouterSubnet};
    use neutrino_model::FixedIp;

    use super::*;

    const GW_PORT: &str = "9a9a9a9a-0000-4000-8000-000000000001";
    const QR1: &str = "1b1b1b1b-0000-4000-8000-000000000002";
    const QR2: &str = "2c2c2c2c-0000-4000-8000-000000000003";

    fn port(id: &str, subnet: &str, cidr: &str, ip: &str, gateway_ip: Option<&str>) -> RouterPort {
        RouterPort {
            id: id.into(),
            network_id: format!("net-{subnet}"),
            mac_address: "fa:16:3e:00:00:01".into(),
            mtu: 1450,
            fixed_ips: vec![FixedIp { subnet_id: subnet.into(), ip_address: ip.into() }],
            subnets: vec![RouterSubnet {
                id: subnet.into(),
                cidr: cidr.into(),
                ip_version: if cidr.contains(':') { 6 } else { 4 },
                gateway_ip: gateway_ip.map(String::from),
                ipv6_ra_mode: None,
                ipv6_address_mode: None,
            }],
        }
    }

    fn router() -> RouterState {
        RouterState {
            id: "r1".into(),
            admin_state_up: true,
            enable_snat: true,
            gateway: Some(port(GW_PORT, "ext", "172.24.4.0/24", "172.24.4.10", Some("172.24.4.1"))),
            interfaces: vec![
                port(QR1, "a", "10.0.0.0/24", "10.0.0.1", Some("10.0.0.1")),
                port(QR2, "b", "10.1.0.0/24", "10.1.0.1", Some("10.1.0.1")),
            ],
            routes: vec![],
            floating_ips: vec![FloatingIpState {
                id: "f1".into(),
                floating_ip_address: "172.24.4.20".into(),
                fixed_ip_address: "10.0.0.11".into(),
                port_id: "p1".into(),
            }],
            port_forwardings: vec![PortForwardingState {
                id: "pf1".into(),
                floating_ip_address: "172.24.4.30".into(),
                protocol: "tcp".into(),
                external_port: 2222,
                internal_ip_address: "10.1.0.12".into(),
                internal_port: 22,
            }],
        }
    }

    #[test]
    fn a_routers_table_is_replaced_in_one_transaction() {
        let expected = "\
table ip neutrino-l3 {}
delete table ip neutrino-l3
table ip neutrino-l3 {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\ttcp dport 9697 ct status & dnat == 0 drop
\t}
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tiifname \"qr-*\" ip daddr 169.254.169.254 tcp dport 80 redirect to :9697
\t\tip daddr 172.24.4.30 tcp dport 2222 dnat to 10.1.0.12:22
\t\tip daddr 172.24.4.20 dnat to 10.0.0.11
\t}
\tchain output {
\t\ttype nat hook output priority -100; policy accept;
\t\tip daddr 172.24.4.30 tcp dport 2222 dnat to 10.1.0.12:22
\t\tip daddr 172.24.4.20 dnat to 10.0.0.11
\t}
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\toifname \"qg-9a9a9a9a-00\" ip saddr 10.0.0.11 snat to 172.24.4.20
\t\toifname \"qg-9a9a9a9a-00\" ip saddr 10.0.0.0/24 snat to 172.24.4.10
\t\toifname \"qg-9a9a9a9a-00\" ip saddr 10.1.0.0/24 snat to 172.24.4.10
\t\tiifname \"qr-1b1b1b1b-00\" oifname \"qr-1b1b1b1b-00\" ip daddr 10.0.0.0/24 ct status dnat snat to 10.0.0.1
\t\tiifname \"qr-2c2c2c2c-00\" oifname \"qr-2c2c2c2c-00\" ip daddr 10.1.0.0/24 ct status dnat snat to 10.1.0.1
\t}
}
";
        assert_eq!(ruleset(&router(), Some(METADATA_PORT)), expected);
    }

    #[test]
    fn no_snat_without_enable_snat_or_gateway() {
        let mut r = router();
        r.enable_snat = false;
        let no_snat = rules(&r, None);
        assert!(no_snat.postrouting.iter().all(|l| !l.contains("snat to 172.24.4.10")), "{no_snat:?}");
        assert!(no_snat.postrouting.iter().any(|l| l.contains("snat to 172.24.4.20")), "1:1 NAT stays: {no_snat:?}");
        assert!(no_snat.prerouting.iter().all(|l| !l.contains("redirect")), "no metadata port given");
        assert!(no_snat.input.is_empty(), "no metadata port given");

        let mut r = router();
        r.gateway = None;
        let no_gateway = rules(&r, Some(METADATA_PORT));
        assert!(no_gateway.output.is_empty(), "no gateway, no floating IPs: {no_gateway:?}");
        assert_eq!(no_gateway.prerouting.len(), 1, "only the metadata redirect: {no_gateway:?}");
        assert_eq!(no_gateway.postrouting.len(), 2, "only the hairpin rules: {no_gateway:?}");
        assert!(no_gateway.postrouting.iter().all(|l| l.contains("ct status dnat")));

        let mut r = router();
        r.interfaces.clear();
        assert!(
            rules(&r, Some(METADATA_PORT)).prerouting.iter().all(|l| !l.contains("redirect")),
            "no networks, no proxy"
        );
    }

    #[test]
    fn values_that_do_not_parse_are_skipped() {
        let mut r = router();
        r.floating_ips.push(FloatingIpState {
            id: "evil".into(),
            floating_ip_address: "1.2.3.4 accept; }".into(),
            fixed_ip_address: "10.0.0.12".into(),
            port_id: "p2".into(),
        });
        r.floating_ips.push(FloatingIpState {
            id: "v6".into(),
            floating_ip_address: "2001:db8::20".into(),
            fixed_ip_address: "fd00::11".into(),
            port_id: "p3".into(),
        });
        r.port_forwardings.push(PortForwardingState {
            id: "bad-proto".into(),
            floating_ip_address: "172.24.4.30".into(),
            protocol: "tcp dport 1 accept".into(),
            external_port: 80,
            internal_ip_address: "10.1.0.12".into(),
            internal_port: 80,
        });
        r.port_forwardings.push(PortForwardingState {
            id: "port-zero".into(),
            floating_ip_address: "172.24.4.30".into(),
            protocol: "udp".into(),
            external_port: 0,
            internal_ip_address: "10.1.0.12".into(),
            internal_port: 53,
        });
        r.interfaces.push(port("3d3d3d3d-0000", "c", "10.2.0.0/24\"; flush ruleset", "10.2.0.1", None));
        r.interfaces.push(port("x\"y", "d", "10.3.0.0/24", "10.3.0.1", None));
        r.interfaces.push(port("4e4e4e4e-0000", "v6", "2001:db8:1::/64", "2001:db8:1::1", None));
        let text = ruleset(&r, Some(METADATA_PORT));
        assert_eq!(text, ruleset(&router(), Some(METADATA_PORT)), "every bad or IPv6 value left out");
        for bad in ["1.2.3.4", "dport 1 ", "flush", "\"y", "2001:db8", "fd00", "udp"] {
            assert!(!text.contains(bad), "{bad} leaked into:\n{text}");
        }
    }

    #[test]
    fn host_bits_of_a_cidr_are_cleared() {
        let mut r = router();
        r.interfaces[0].subnets[0].cidr = "10.0.0.77/24".into();
        assert!(rules(&r, None).postrouting.iter().any(|l| l.contains("ip saddr 10.0.0.0/24 snat to 172.24.4.10")));
    }
}

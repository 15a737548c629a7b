//! One filtered port's pieces (pure): what may leave it (anti-spoofing,
//! in the bridge family, where the frame's MAC is still known) and what
//! its security groups allow each way (in the inet family, with conntrack).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use neutrino_model::sg::SecurityGroupState;
use tracing::warn;

use super::rules::{translate, Direction};
use super::{Element, Family};
use crate::state::PortState;

/// A MAC address, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Mac([u8; 6]);

impl Mac {
    /// Six colon-separated hex octets.
    pub(crate) fn parse(text: &str) -> Option<Mac> {
        let mut out = [0u8; 6];
        let mut parts = text.split(':');
        for byte in &mut out {
            let p = parts.next()?;
            if p.len() != 2 {
                return None;
            }
            *byte = u8::from_str_radix(p, 16).ok()?;
        }
        parts.next().is_none().then_some(Mac(out))
    }

    /// Its IPv6 link-local address (modified EUI-64, RFC 4291).
    pub(crate) fn link_local(self) -> Ipv6Addr {
        let m = self.0;
        Ipv6Addr::new(
            0xfe80,
            0,
            0,
            0,
            u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
            u16::from_be_bytes([m[2], 0xff]),
            u16::from_be_bytes([0xfe, m[3]]),
            u16::from_be_bytes([m[4], m[5]]),
        )
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

/// What may leave a port: its MACs, and per MAC the prefixes it may source, per family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Allowed {
    pub(crate) macs: BTreeSet<Mac>,
    pub(crate) v4: BTreeMap<Mac, Vec<Ipv4Net>>,
    pub(crate) v6: BTreeMap<Mac, Vec<Ipv6Net>>,
}

/// The port's MAC with its fixed IPs, each allowed address pair (its MAC,
/// or the port's, with its address or CIDR), and every such MAC's IPv6
/// link-local address. A port without fixed IPs may use any address from
/// its own MAC (as Neutron's iptables driver allows).
pub(crate) fn allowed(port: &PortState, mac: Mac) -> Allowed {
    let mut macs = BTreeSet::from([mac]);
    let mut nets: BTreeSet<(Mac, IpNet)> = BTreeSet::new();
    for f in &port.fixed_ips {
        match f.ip_address.parse::<IpAddr>() {
            Ok(a) => {
                nets.insert((mac, IpNet::from(a)));
            }
            Err(_) => {
                warn!(port = %port.id, ip = %f.ip_address.escape_debug(), "fixed IP does not parse; not allowed to leave the port")
            }
        }
    }
    for pair in &port.allowed_address_pairs {
        let pair_mac =
            if pair.mac_address.is_empty() { Some(mac) } else { Mac::parse(&pair.mac_address.to_ascii_lowercase()) };
        let net = pair
            .ip_address
            .parse::<IpNet>()
            .map(|n| n.trunc())
            .or_else(|_| pair.ip_address.parse::<IpAddr>().map(IpNet::from));
        match (pair_mac, net) {
            (Some(m), Ok(n)) => {
                macs.insert(m);
                nets.insert((m, n));
            }
            _ => warn!(
                port = %port.id,
                ip = %pair.ip_address.escape_debug(),
                mac = %pair.mac_address.escape_debug(),
                "allowed address pair does not parse; skipped"
            ),
        }
    }
    if port.fixed_ips.is_empty() {
        nets.insert((mac, IpNet::V4(Ipv4Net::default())));
        nets.insert((mac, IpNet::V6(Ipv6Net::default())));
    }
    for m in &macs {
        nets.insert((*m, IpNet::V6(Ipv6Net::from(m.link_local()))));
    }
    let mut out = Allowed { macs, ..Allowed::default() };
    for (m, n) in nets {
        match n {
            IpNet::V4(n) => out.v4.entry(m).or_default().push(n),
            IpNet::V6(n) => out.v6.entry(m).or_default().push(n),
        }
    }
    // Overlapping intervals in one set are refused by the kernel.
    for v in out.v4.values_mut() {
        *v = super::uncovered(v.iter().copied().map(IpNet::V4).collect())
            .into_iter()
            .filter_map(|n| match n {
                IpNet::V4(n) => Some(n),
                IpNet::V6(_) => None,
            })
            .collect();
    }
    for v in out.v6.values_mut() {
        *v = super::uncovered(v.iter().copied().map(IpNet::V6).collect())
            .into_iter()
            .filter_map(|n| match n {
                IpNet::V6(n) => Some(n),
                IpNet::V4(_) => None,
            })
            .collect();
    }
    out
}

/// `{ MAC . PREFIX, … }`, or `None` when empty.
fn pairs<N: Copy + Into<IpNet>>(per_mac: &BTreeMap<Mac, Vec<N>>) -> Option<String> {
    let items: Vec<String> = per_mac
        .iter()
        .flat_map(|(m, nets)| nets.iter().map(move |n| format!("{m} . {}", Element::Net((*n).into()))))
        .collect();
    (!items.is_empty()).then(|| format!("{{ {} }}", items.join(", ")))
}

/// The bridge-family anti-spoofing rules of a port (after its mark is set):
/// only its MACs; only ARP, IPv4 and IPv6; ARP and IP sources only from its
/// (MAC, address) pairs, except DHCP discovery from 0.0.0.0, ARP probes and
/// IPv6 duplicate address detection from `::`; no DHCP or DHCPv6 server
/// traffic and no router advertisements from the instance.
pub(crate) fn anti_spoofing(a: &Allowed) -> Vec<String> {
    let macs: Vec<String> = a.macs.iter().map(Mac::to_string).collect();
    let mut out =
        vec![format!("ether saddr != {{ {} }} drop", macs.join(", ")), "ether type != { arp, ip, ip6 } drop".into()];
    out.push("arp saddr ip 0.0.0.0 return".into());
    match pairs(&a.v4) {
        Some(set) => {
            out.push(format!("arp saddr ether . arp saddr ip != {set} drop"));
            out.push("ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return".into());
            out.push(format!("ether saddr . ip saddr != {set} drop"));
        }
        None => {
            out.push("ether type arp drop".into());
            out.push("ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return".into());
            out.push("ether type ip drop".into());
        }
    }
    out.push("ether type ip udp sport 67 drop".into());
    out.push("ip6 saddr :: ip6 daddr ff02::/16 icmpv6 type { 131, 135, 143 } return".into());
    match pairs(&a.v6) {
        Some(set) => out.push(format!("ether saddr . ip6 saddr != {set} drop")),
        None => out.push("ether type ip6 drop".into()),
    }
    out.push("icmpv6 type 134 drop".into());
    out.push("ether type ip6 udp sport 547 drop".into());
    out
}

/// The port's security groups found in `groups` (by id; one missing allows
/// nothing), and whether it is filtered statefully: unless every one of
/// them is stateless.
pub(crate) fn port_groups<'a>(
    port: &PortState,
    groups: &BTreeMap<&str, &'a SecurityGroupState>,
) -> (Vec<&'a SecurityGroupState>, bool) {
    let mut found = Vec::new();
    for gid in port.security_groups.iter().collect::<BTreeSet<_>>() {
        match groups.get(gid.as_str()) {
            Some(g) => found.push(*g),
            None => {
                warn!(port = %port.id, group = %gid.escape_debug(), "security group not in the state; it allows nothing")
            }
        }
    }
    let stateful = found.is_empty() || found.iter().any(|g| g.stateful);
    if stateful && found.iter().any(|g| !g.stateful) {
        warn!(port = %port.id, "stateful and stateless security groups on one port; filtering statefully");
    }
    (found, stateful)
}

/// A port's security-group chains (inet family) and the remote groups they name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GroupChains {
    /// `egress-<port>`: what the instance may send.
    pub(crate) egress: Vec<String>,
    /// `ingress-<port>`: what the instance may receive.
    pub(crate) ingress: Vec<String>,
    /// Remote groups whose sets the rules match, per family.
    pub(crate) remote: BTreeSet<(String, Family)>,
}

/// The chains of a port in `groups` (its security groups, found by id).
/// Stateful unless every group of the port is stateless: established and
/// related traffic passes, invalid is dropped. Always allowed, before the
/// rules: DHCP and DHCPv6 client traffic out and server replies in, and the
/// ICMPv6 of neighbour discovery, MLD and SLAAC (router solicitations out;
/// neighbour solicitations/advertisements and MLD queries in, router
/// advertisements from link-local sources in). Egress rules `return` (the
/// receiving port's ingress chain may still judge), ingress rules `accept`;
/// what no rule allows is dropped.
pub(crate) fn group_chains(port: &PortState, groups: &BTreeMap<&str, &SecurityGroupState>) -> GroupChains {
    let (found, stateful) = port_groups(port, groups);
    let mut out = GroupChains::default();
    let (mut egress, mut ingress) = (BTreeSet::new(), BTreeSet::new());
    for g in found {
        for rule in &g.rules {
            match translate(rule) {
                Ok(m) => {
                    if let Some(rg) = m.remote_group {
                        out.remote.insert((rg, m.family));
                    }
                    match m.direction {
                        Direction::Egress => egress.insert(m.text),
                        Direction::Ingress => ingress.insert(m.text),
                    };
                }
                Err(why) => {
                    warn!(port = %port.id, group = %g.id, rule = %rule.id.escape_debug(), "security group rule skipped: {why}")
                }
            }
        }
    }
    if stateful {
        out.egress.push("ct state established,related return".into());
        out.egress.push("ct state invalid drop".into());
        out.ingress.push("ct state established,related accept".into());
        out.ingress.push("ct state invalid drop".into());
    }
    out.egress.extend([
        "meta nfproto ipv4 udp sport 68 udp dport 67 return".to_string(),
        "meta nfproto ipv6 udp sport 546 udp dport 547 return".into(),
        "meta nfproto ipv6 icmpv6 type { 130, 131, 132, 133, 135, 136, 143 } return".into(),
    ]);
    out.egress.extend(egress.into_iter().map(|m| format!("{m} return")));
    out.egress.push("drop".into());
    out.ingress.extend([
        "meta nfproto ipv4 udp sport 67 udp dport 68 accept".to_string(),
        "meta nfproto ipv6 udp sport 547 udp dport 546 accept".into(),
        "meta nfproto ipv6 icmpv6 type { 130, 135, 136 } accept".into(),
        "meta nfproto ipv6 ip6 saddr fe80::/10 icmpv6 type 134 accept".into(),
    ]);
    out.ingress.extend(ingress.into_iter().map(|m| format!("{m} accept")));
    out.ingress.push("drop".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use neutrino_model::{AllowedAddressPair, FixedIp};

    pub(crate) fn port(ips: &[&str], pairs: &[(&str, &str)]) -> PortState {
        PortState {
            id: "p1".into(),
            network_id: "n1".into(),
            mac_address: "fa:16:3e:00:00:01".into(),
            fixed_ips: ips.iter().map(|ip| FixedIp { subnet_id: "s".into(), ip_address: (*ip).into() }).collect(),
            admin_state_up: true,
            status: "ACTIVE".into(),
            device_owner: "compute:nova".into(),
            port_security_enabled: true,
            security_groups: vec![],
            allowed_address_pairs: pairs
                .iter()
                .map(|(ip, mac)| AllowedAddressPair { ip_address: (*ip).into(), mac_address: (*mac).into() })
                .collect(),
        }
    }

    #[test]
    fn macs_and_link_local_addresses() {
        let m = Mac::parse("FA:16:3e:00:00:01".to_ascii_lowercase().as_str()).expect("mac");
        assert_eq!(m.to_string(), "fa:16:3e:00:00:01");
        assert_eq!(m.link_local().to_string(), "fe80::f816:3eff:fe00:1");
        for bad in
            ["fa:16:3e:00:00", "fa:16:3e:00:00:01:02", "fa:16:3e:00:00:1", "zz:16:3e:00:00:01", "fa-16-3e-00-00-01"]
        {
            assert_eq!(Mac::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn anti_spoofing_with_allowed_address_pairs() {
        let p = port(
            &["10.0.0.11", "2001:db8::11"],
            &[
                ("10.0.0.50", ""),
                ("10.0.9.0/24", "fa:16:3e:00:00:99"),
                ("10.0.9.7", "fa:16:3e:00:00:99"),
                ("bogus", ""),
            ],
        );
        let mac = Mac::parse(&p.mac_address).expect("mac");
        let lines = anti_spoofing(&allowed(&p, mac));
        let expected = [
            "ether saddr != { fa:16:3e:00:00:01, fa:16:3e:00:00:99 } drop",
            "ether type != { arp, ip, ip6 } drop",
            "arp saddr ip 0.0.0.0 return",
            "arp saddr ether . arp saddr ip != { fa:16:3e:00:00:01 . 10.0.0.11, fa:16:3e:00:00:01 . 10.0.0.50, fa:16:3e:00:00:99 . 10.0.9.0/24 } drop",
            "ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return",
            "ether saddr . ip saddr != { fa:16:3e:00:00:01 . 10.0.0.11, fa:16:3e:00:00:01 . 10.0.0.50, fa:16:3e:00:00:99 . 10.0.9.0/24 } drop",
            "ether type ip udp sport 67 drop",
            "ip6 saddr :: ip6 daddr ff02::/16 icmpv6 type { 131, 135, 143 } return",
            "ether saddr . ip6 saddr != { fa:16:3e:00:00:01 . 2001:db8::11, fa:16:3e:00:00:01 . fe80::f816:3eff:fe00:1, fa:16:3e:00:00:99 . fe80::f816:3eff:fe00:99 } drop",
            "icmpv6 type 134 drop",
            "ether type ip6 udp sport 547 drop",
        ];
        assert_eq!(lines, expected);
    }

    #[test]
    fn a_port_without_fixed_ips_may_use_any_address_from_its_mac() {
        let p = port(&[], &[]);
        let a = allowed(&p, Mac::parse(&p.mac_address).expect("mac"));
        assert_eq!(a.v4.values().flatten().map(ToString::to_string).collect::<Vec<_>>(), ["0.0.0.0/0"]);
        assert_eq!(
            a.v6.values().flatten().map(ToString::to_string).collect::<Vec<_>>(),
            ["::/0"],
            "::/0 covers the LLA"
        );
        let v6_only = port(&["2001:db8::5"], &[]);
        let lines = anti_spoofing(&allowed(&v6_only, Mac::parse(&v6_only.mac_address).expect("mac")));
        assert!(lines.contains(&"ether type arp drop".to_string()), "{lines:?}");
        assert!(lines.contains(&"ether type ip drop".to_string()), "{lines:?}");
    }
}

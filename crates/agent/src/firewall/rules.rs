//! One security group rule as an nftables match (pure).
//!
//! Neutron's semantics: the port range is the destination port in both
//! directions; for ICMP it is the type (`port_range_min`) and code
//! (`port_range_max`); `icmp` in an IPv6 rule means ICMPv6 (the API's
//! legacy spelling); protocol `0`, `any` or none matches every protocol; a
//! remote `/0` prefix matches every address. Every value is parsed and
//! printed from its parsed form; what does not parse, or contradicts
//! itself (ports on a protocol without ports, an IPv6 prefix in an IPv4
//! rule, …), is refused with the reason, and the caller skips the rule —
//! a rule that cannot be written allows nothing.

use std::fmt::Write as _;

use ipnet::IpNet;
use neutrino_model::sg::SecurityGroupRuleState;

use super::{valid_id, Family};

/// The direction of a rule, seen from the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Direction {
    /// Traffic to the port.
    Ingress,
    /// Traffic from the port.
    Egress,
}

/// A rule made into a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Match {
    /// Which of the port's chains it goes in.
    pub(crate) direction: Direction,
    /// Its family.
    pub(crate) family: Family,
    /// The match (without a verdict).
    pub(crate) text: String,
    /// The remote group whose set it names, if any.
    pub(crate) remote_group: Option<String>,
}

/// A rule's protocol, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Every protocol.
    Any,
    /// A protocol with ports: its nft keyword and number, and the
    /// destination ports (none: all of them).
    Ports(&'static str, u8, Option<(u16, u16)>),
    /// ICMP (IPv4), with the type and code it is limited to.
    Icmp(Option<(u8, Option<u8>)>),
    /// ICMPv6, with the type and code it is limited to.
    Icmpv6(Option<(u8, Option<u8>)>),
    /// Any other protocol, by number.
    Other(u8),
}

/// The remote end of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Remote {
    /// Any address.
    Any,
    /// Addresses in a prefix (never `/0`).
    Net(IpNet),
    /// The members of a security group.
    Group(String),
}

/// A rule, parsed and checked: what the nftables and the OpenFlow
/// firewalls both write from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    /// Its direction.
    pub(crate) direction: Direction,
    /// Its family.
    pub(crate) family: Family,
    /// Its remote end.
    pub(crate) remote: Remote,
    /// Its protocol.
    pub(crate) protocol: Protocol,
}

fn protocol_number(text: Option<&str>) -> Result<Option<(u8, String)>, String> {
    let Some(text) = text else { return Ok(None) };
    let lower = text.to_ascii_lowercase();
    if lower == "any" {
        return Ok(None);
    }
    let named = neutrino_model::sg::IP_PROTOCOLS.iter().find(|(n, _)| *n == lower).map(|(_, p)| *p);
    let number = match named {
        Some(n) => n,
        None if !lower.is_empty() && lower.len() <= 3 && lower.bytes().all(|b| b.is_ascii_digit()) => {
            lower.parse::<u8>().map_err(|_| format!("protocol {text:?} is not 0-255"))?
        }
        None => return Err(format!("unknown protocol {:?}", text.escape_debug().to_string())),
    };
    Ok(Some((number, lower)))
}

/// The destination ports of a protocol with ports (none: all).
fn port_range(min: Option<u32>, max: Option<u32>) -> Result<Option<(u16, u16)>, String> {
    let (min, max) = match (min, max) {
        (None, None) => return Ok(None),
        (Some(a), None) => (a, a),
        (Some(a), Some(b)) => (a, b),
        (None, Some(_)) => return Err("port_range_max without port_range_min".into()),
    };
    if min == 0 || max > 65535 || min > max {
        return Err(format!("port range {min}-{max} is not within 1-65535"));
    }
    let (Ok(a), Ok(b)) = (u16::try_from(min), u16::try_from(max)) else {
        return Err(format!("port range {min}-{max} is not within 1-65535"));
    };
    Ok(((a, b) != (1, 65535)).then_some((a, b)))
}

/// The type and code of ICMP or ICMPv6 (none: any).
fn icmp_type_code(kind: Option<u32>, code: Option<u32>) -> Result<Option<(u8, Option<u8>)>, String> {
    match (kind, code) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err("an ICMP code without a type".into()),
        (Some(t), c) => {
            let t = u8::try_from(t).map_err(|_| format!("ICMP type {t} is not 0-255"))?;
            let c = c.map(|c| u8::try_from(c).map_err(|_| format!("ICMP code {c} is not 0-255"))).transpose()?;
            Ok(Some((t, c)))
        }
    }
}

/// The family of a rule's `ethertype`.
pub(crate) fn family(ethertype: &str) -> Result<Family, String> {
    match ethertype.to_ascii_lowercase().as_str() {
        "ipv4" => Ok(Family::V4),
        "ipv6" => Ok(Family::V6),
        _ => Err(format!("unknown ethertype {:?}", ethertype.escape_debug().to_string())),
    }
}

/// One rule, parsed and checked, or why it cannot be written.
pub(crate) fn parse(rule: &SecurityGroupRuleState) -> Result<Rule, String> {
    let direction = match rule.direction.as_str() {
        "ingress" => Direction::Ingress,
        "egress" => Direction::Egress,
        other => return Err(format!("unknown direction {:?}", other.escape_debug().to_string())),
    };
    let family = family(&rule.ethertype)?;
    let remote = match (&rule.remote_ip_prefix, &rule.remote_group_id) {
        (Some(_), Some(_)) => return Err("both a remote prefix and a remote group".into()),
        (Some(prefix), None) => {
            let net = prefix
                .parse::<IpNet>()
                .or_else(|_| prefix.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("remote_ip_prefix {:?} is not a CIDR", prefix.escape_debug().to_string()))?;
            if Family::of(&net) != family {
                return Err(format!("remote_ip_prefix {net} is not {}", family.ethertype()));
            }
            if net.prefix_len() > 0 {
                Remote::Net(net.trunc())
            } else {
                Remote::Any
            }
        }
        (None, Some(group)) => {
            if !valid_id(group) {
                return Err(format!("remote_group_id {:?} is not an id", group.escape_debug().to_string()));
            }
            Remote::Group(group.clone())
        }
        (None, None) => Remote::Any,
    };
    let (min, max) = (rule.port_range_min, rule.port_range_max);
    let ports = min.is_some() || max.is_some();
    let protocol = match protocol_number(rule.protocol.as_deref())? {
        None | Some((0, _)) if ports => return Err("a port range without a protocol".into()),
        None | Some((0, _)) => Protocol::Any,
        Some((n @ (6 | 17 | 33 | 132 | 136), _)) => {
            let keyword = match n {
                6 => "tcp",
                17 => "udp",
                33 => "dccp",
                132 => "sctp",
                _ => "udplite",
            };
            Protocol::Ports(keyword, n, port_range(min, max)?)
        }
        // `icmp` in an IPv6 rule is ICMPv6 (the API's legacy spelling).
        Some((1, name)) if family == Family::V6 && name == "icmp" => Protocol::Icmpv6(icmp_type_code(min, max)?),
        Some((1, _)) if family == Family::V4 => Protocol::Icmp(icmp_type_code(min, max)?),
        Some((58, _)) if family == Family::V4 => return Err("ICMPv6 in an IPv4 rule".into()),
        Some((58, _)) => Protocol::Icmpv6(icmp_type_code(min, max)?),
        Some(_) if ports => {
            return Err("a port range needs tcp, udp, udplite, sctp or dccp (or an ICMP protocol)".into())
        }
        Some((n, _)) => Protocol::Other(n),
    };
    Ok(Rule { direction, family, remote, protocol })
}

/// An ICMP or ICMPv6 type/code match in nftables.
fn nft_icmp(keyword: &str, number: u8, limit: Option<(u8, Option<u8>)>) -> String {
    match limit {
        None => format!("meta l4proto {number}"),
        Some((t, None)) => format!("{keyword} type {t}"),
        Some((t, Some(c))) => format!("{keyword} type {t} {keyword} code {c}"),
    }
}

/// The nftables match of one rule, or why it cannot be written.
pub(crate) fn translate(rule: &SecurityGroupRuleState) -> Result<Match, String> {
    let r = parse(rule)?;
    let family = r.family;
    let mut text = format!("meta nfproto {}", family.nfproto());
    // The remote end: the source of what comes in, the destination of what goes out.
    let side = match r.direction {
        Direction::Ingress => "saddr",
        Direction::Egress => "daddr",
    };
    let mut remote_group = None;
    match &r.remote {
        Remote::Any => {}
        Remote::Net(net) => {
            let _ = write!(text, " {} {side} {}", family.ip(), super::Element::Net(*net));
        }
        Remote::Group(group) => {
            let _ = write!(text, " {} {side} @{}", family.ip(), family.set_name(group));
            remote_group = Some(group.clone());
        }
    }
    match r.protocol {
        Protocol::Any => {}
        Protocol::Ports(keyword, _, Some((a, b))) if a == b => {
            let _ = write!(text, " {keyword} dport {a}");
        }
        Protocol::Ports(keyword, _, Some((a, b))) => {
            let _ = write!(text, " {keyword} dport {a}-{b}");
        }
        Protocol::Ports(_, number, None) => {
            let _ = write!(text, " meta l4proto {number}");
        }
        Protocol::Icmp(limit) => {
            let _ = write!(text, " {}", nft_icmp("icmp", 1, limit));
        }
        Protocol::Icmpv6(limit) => {
            let _ = write!(text, " {}", nft_icmp("icmpv6", 58, limit));
        }
        Protocol::Other(n) => {
            let _ = write!(text, " meta l4proto {n}");
        }
    }
    Ok(Match { direction: r.direction, family, text, remote_group })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn rule(direction: &str, ethertype: &str, protocol: Option<&str>) -> SecurityGroupRuleState {
        SecurityGroupRuleState {
            id: "r".into(),
            direction: direction.into(),
            ethertype: ethertype.into(),
            protocol: protocol.map(String::from),
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            remote_group_id: None,
        }
    }

    fn ports(mut r: SecurityGroupRuleState, min: Option<u32>, max: Option<u32>) -> SecurityGroupRuleState {
        r.port_range_min = min;
        r.port_range_max = max;
        r
    }

    fn text(r: &SecurityGroupRuleState) -> String {
        match translate(r) {
            Ok(m) => m.text,
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn each_rule_form() {
        let cases: Vec<(SecurityGroupRuleState, &str)> = vec![
            (
                ports(rule("ingress", "IPv4", Some("tcp")), Some(8000), Some(8080)),
                "meta nfproto ipv4 tcp dport 8000-8080",
            ),
            (ports(rule("ingress", "IPv4", Some("udp")), Some(53), Some(53)), "meta nfproto ipv4 udp dport 53"),
            (ports(rule("ingress", "IPv4", Some("udp")), Some(53), None), "meta nfproto ipv4 udp dport 53"),
            (ports(rule("ingress", "IPv4", Some("tcp")), Some(1), Some(65535)), "meta nfproto ipv4 meta l4proto 6"),
            (rule("ingress", "IPv4", Some("tcp")), "meta nfproto ipv4 meta l4proto 6"),
            (
                ports(rule("ingress", "IPv4", Some("icmp")), Some(8), Some(0)),
                "meta nfproto ipv4 icmp type 8 icmp code 0",
            ),
            (ports(rule("ingress", "IPv4", Some("icmp")), Some(8), None), "meta nfproto ipv4 icmp type 8"),
            (rule("ingress", "IPv4", Some("icmp")), "meta nfproto ipv4 meta l4proto 1"),
            (
                ports(rule("ingress", "IPv6", Some("ipv6-icmp")), Some(128), Some(0)),
                "meta nfproto ipv6 icmpv6 type 128 icmpv6 code 0",
            ),
            (ports(rule("ingress", "IPv6", Some("icmp")), Some(128), None), "meta nfproto ipv6 icmpv6 type 128"),
            (rule("egress", "IPv6", Some("icmpv6")), "meta nfproto ipv6 meta l4proto 58"),
            (rule("ingress", "IPv4", Some("112")), "meta nfproto ipv4 meta l4proto 112"),
            (rule("ingress", "IPv4", Some("gre")), "meta nfproto ipv4 meta l4proto 47"),
            (ports(rule("ingress", "IPv4", Some("6")), Some(22), Some(22)), "meta nfproto ipv4 tcp dport 22"),
            (
                ports(rule("egress", "IPv4", Some("SCTP")), Some(5000), Some(5001)),
                "meta nfproto ipv4 sctp dport 5000-5001",
            ),
            (ports(rule("egress", "IPv4", Some("dccp")), Some(5000), None), "meta nfproto ipv4 dccp dport 5000"),
            (ports(rule("egress", "IPv6", Some("udplite")), Some(9), None), "meta nfproto ipv6 udplite dport 9"),
            (rule("egress", "IPv4", None), "meta nfproto ipv4"),
            (rule("egress", "IPv6", Some("any")), "meta nfproto ipv6"),
            (rule("egress", "IPv4", Some("0")), "meta nfproto ipv4"),
        ];
        for (r, expected) in cases {
            assert_eq!(text(&r), expected, "{r:?}");
        }
    }

    #[test]
    fn remote_ends() {
        let mut r = ports(rule("ingress", "IPv4", Some("tcp")), Some(22), Some(22));
        r.remote_ip_prefix = Some("10.0.0.7/24".into());
        assert_eq!(text(&r), "meta nfproto ipv4 ip saddr 10.0.0.0/24 tcp dport 22");
        r.direction = "egress".into();
        assert_eq!(text(&r), "meta nfproto ipv4 ip daddr 10.0.0.0/24 tcp dport 22");
        r.remote_ip_prefix = Some("192.0.2.9".into());
        assert_eq!(text(&r), "meta nfproto ipv4 ip daddr 192.0.2.9 tcp dport 22");
        r.remote_ip_prefix = Some("0.0.0.0/0".into());
        assert_eq!(text(&r), "meta nfproto ipv4 tcp dport 22", "/0 is no constraint");

        let mut r6 = rule("ingress", "IPv6", None);
        r6.remote_ip_prefix = Some("2001:DB8::1/64".into());
        assert_eq!(text(&r6), "meta nfproto ipv6 ip6 saddr 2001:db8::/64");
        r6.remote_ip_prefix = Some("2001:db8::5/128".into());
        assert_eq!(text(&r6), "meta nfproto ipv6 ip6 saddr 2001:db8::5");

        let mut g = ports(rule("ingress", "IPv4", Some("icmp")), Some(8), None);
        g.remote_group_id = Some("5a5a5a5a-0000-4000-8000-000000000001".into());
        let m = translate(&g).expect("valid");
        assert_eq!(m.text, "meta nfproto ipv4 ip saddr @rg4-5a5a5a5a-0000-4000-8000-000000000001 icmp type 8");
        assert_eq!(m.remote_group.as_deref(), Some("5a5a5a5a-0000-4000-8000-000000000001"));
        assert_eq!(m.direction, Direction::Ingress);
        g.ethertype = "IPv6".into();
        g.protocol = None;
        g.port_range_min = None;
        g.direction = "egress".into();
        assert_eq!(text(&g), "meta nfproto ipv6 ip6 daddr @rg6-5a5a5a5a-0000-4000-8000-000000000001");
    }

    #[test]
    fn what_does_not_parse_is_refused() {
        let bad: Vec<SecurityGroupRuleState> = vec![
            rule("sideways", "IPv4", None),
            rule("ingress", "IPX", None),
            rule("ingress", "IPv4", Some("tcp dport 22 accept")),
            rule("ingress", "IPv4", Some("256")),
            rule("ingress", "IPv4", Some("")),
            ports(rule("ingress", "IPv4", Some("tcp")), Some(0), Some(10)),
            ports(rule("ingress", "IPv4", Some("tcp")), Some(20), Some(10)),
            ports(rule("ingress", "IPv4", Some("udp")), Some(1), Some(70000)),
            ports(rule("ingress", "IPv4", Some("tcp")), None, Some(10)),
            ports(rule("ingress", "IPv4", None), Some(22), Some(22)),
            ports(rule("ingress", "IPv4", Some("gre")), Some(22), Some(22)),
            ports(rule("ingress", "IPv4", Some("icmp")), Some(300), None),
            ports(rule("ingress", "IPv4", Some("icmp")), Some(3), Some(300)),
            ports(rule("ingress", "IPv4", Some("icmp")), None, Some(0)),
            rule("ingress", "IPv4", Some("ipv6-icmp")),
            SecurityGroupRuleState {
                remote_ip_prefix: Some("10.0.0.0/8; accept".into()),
                ..rule("ingress", "IPv4", None)
            },
            SecurityGroupRuleState { remote_ip_prefix: Some("2001:db8::/64".into()), ..rule("ingress", "IPv4", None) },
            SecurityGroupRuleState { remote_group_id: Some("g } accept {".into()), ..rule("ingress", "IPv4", None) },
            SecurityGroupRuleState {
                remote_group_id: Some("g1".into()),
                remote_ip_prefix: Some("10.0.0.0/8".into()),
                ..rule("ingress", "IPv4", None)
            },
        ];
        for r in bad {
            assert!(translate(&r).is_err(), "{r:?} gave {:?}", translate(&r));
        }
    }
}

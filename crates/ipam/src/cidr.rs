//! Subnet cidr parsing and validation, and address-in-subnet predicates.
//!
//! # Decisions (Neutron behaviour this module follows)
//!
//! * **Syntax.** neutron-lib's `validate_subnet` rejects whitespace and a
//!   string without `/`; anything netaddr cannot parse at all is rejected by
//!   the attribute converter (`convert_cidr_to_canonical_format`) with
//!   "… is not in a CIDR format". [`parse_cidr`] reports the converter error
//!   for unparsable strings (whitespace included) and the validator error
//!   ("… is not a valid IP subnet") for a bare address without `/prefix`.
//!   (In neutron-lib 5.0.1 the converter runs first and silently turns a bare
//!   address into a /32 or /128, which defeats the validator's `/` check;
//!   the explicit intent of the validator is followed here instead.)
//!   A decimal prefix (leading zeros allowed, as Python's `int()` does) and,
//!   for IPv4, a dotted contiguous netmask (`10.0.0.0/255.255.255.0`, which
//!   netaddr canonicalises to `/24`) are accepted.
//! * **Host bits are silently cleared**, for both families: Neutron's
//!   `_create_subnet_precommit` rewrites the cidr to
//!   `'%s/%s' % (net.network, net.prefixlen)` before anything else looks at
//!   it, so `10.0.0.5/24` creates `10.0.0.0/24` without an error.
//! * **ip_version** must match the cidr's family (`_validate_ip_version`,
//!   message quotes the normalised cidr).
//! * **Prefix length 0 is rejected** ("0 is not allowed as CIDR prefix
//!   length", `_validate_subnet_cidr`).
//! * **/31, /32, /127 and /128 are accepted**: nothing in Neutron rejects
//!   them by themselves. Only with DHCP enabled does Neutron refuse prefixes
//!   longer than /30 (v4) or /126 (v6); that check is [`validate_dhcp_cidr`].

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use crate::addr::{ip_to_u128, net_bounds, Family};
use crate::error::IpamError;

/// Parses and validates a subnet cidr the way Neutron does on subnet create,
/// returning the normalised network (host bits cleared).
///
/// `ip_version`, when given, must be the cidr's family (4 or 6).
/// See the module documentation for the exact rules.
pub fn parse_cidr(s: &str, ip_version: Option<u8>) -> Result<IpNet, IpamError> {
    let format_err = || IpamError::CidrFormat { cidr: s.to_string() };
    if s.chars().any(char::is_whitespace) {
        return Err(format_err());
    }
    let Some((addr_part, prefix_part)) = s.split_once('/') else {
        return Err(if s.parse::<IpAddr>().is_ok() {
            IpamError::InvalidSubnet { cidr: s.to_string() }
        } else {
            format_err()
        });
    };
    let addr: IpAddr = addr_part.parse().map_err(|_| format_err())?;
    let prefix = parse_prefix(prefix_part, Family::of(addr)).ok_or_else(format_err)?;
    let net = IpNet::new(addr, prefix).map_err(|_| format_err())?.trunc();
    if let Some(version) = ip_version {
        check_net_version("cidr", net, version)?;
    }
    if net.prefix_len() == 0 {
        return Err(IpamError::ZeroPrefixLength);
    }
    Ok(net)
}

/// Parses the part after `/`: decimal digits, or for IPv4 a contiguous
/// dotted netmask.
fn parse_prefix(s: &str, family: Family) -> Option<u8> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = s.trim_start_matches('0');
        if trimmed.is_empty() {
            return Some(0);
        }
        if trimmed.len() > 3 {
            return None;
        }
        let value: u16 = trimmed.parse().ok()?;
        if value > u16::from(family.bits()) {
            return None;
        }
        return u8::try_from(value).ok();
    }
    if family == Family::V4 {
        let mask = u32::from(s.parse::<Ipv4Addr>().ok()?);
        let ones = mask.leading_ones();
        if ones + mask.trailing_zeros() == 32 {
            return u8::try_from(ones).ok();
        }
    }
    None
}

/// Neutron's `_validate_ip_version` for an address attribute (`gateway_ip`,
/// `dns_nameserver`, a host route `nexthop`, ...).
pub fn check_ip_version(name: &str, ip: IpAddr, ip_version: u8) -> Result<(), IpamError> {
    if Family::of(ip).version() == ip_version {
        Ok(())
    } else {
        Err(IpamError::IpVersionMismatch { name: name.to_string(), addr: ip.to_string(), ip_version })
    }
}

/// Neutron's `_validate_ip_version` for a network attribute (`cidr`, a host
/// route `destination`, ...).
pub fn check_net_version(name: &str, net: IpNet, ip_version: u8) -> Result<(), IpamError> {
    if Family::of_net(net).version() == ip_version {
        Ok(())
    } else {
        Err(IpamError::IpVersionMismatch { name: name.to_string(), addr: net.to_string(), ip_version })
    }
}

/// The checks Neutron's `_validate_subnet` makes on the cidr when DHCP is
/// being enabled: prefix no longer than /30 (v4) or /126 (v6), not a
/// multicast subnet, not a loopback subnet, and (v4) not starting at
/// 0.0.0.0. In that order, as Neutron does.
///
/// netaddr's `is_multicast`/`is_loopback` on a network test containment of
/// the whole network, so e.g. `224.0.0.0/3` is not "multicast"; IPv6
/// loopback is only `::1/128`.
pub fn validate_dhcp_cidr(cidr: IpNet) -> Result<(), IpamError> {
    let (too_long, multicast, loopback, first_zero) = match cidr {
        IpNet::V4(n) => (
            n.prefix_len() > 30,
            n.prefix_len() >= 4 && n.network().is_multicast(),
            n.prefix_len() >= 8 && n.network().is_loopback(),
            n.network() == Ipv4Addr::UNSPECIFIED,
        ),
        IpNet::V6(n) => (
            n.prefix_len() > 126,
            n.prefix_len() >= 8 && n.network().is_multicast(),
            n.prefix_len() == 128 && n.network().is_loopback(),
            false,
        ),
    };
    if too_long {
        Err(IpamError::DhcpPrefixLength)
    } else if multicast {
        Err(IpamError::DhcpMulticast)
    } else if loopback {
        Err(IpamError::DhcpLoopback)
    } else if first_zero {
        Err(IpamError::DhcpFirstIpZero)
    } else {
        Ok(())
    }
}

/// Whether two networks share at least one address (always false across
/// families). Used for Neutron's "overlaps with another subnet" check.
pub fn cidrs_overlap(a: &IpNet, b: &IpNet) -> bool {
    if Family::of_net(*a) != Family::of_net(*b) {
        return false;
    }
    let (a_first, a_last) = net_bounds(*a);
    let (b_first, b_last) = net_bounds(*b);
    a_first <= b_last && b_first <= a_last
}

/// Whether `ip` lies inside `cidr` (network and broadcast included; false
/// across families).
pub fn ip_in_cidr(cidr: IpNet, ip: IpAddr) -> bool {
    if Family::of_net(cidr) != Family::of(ip) {
        return false;
    }
    let (first, last) = net_bounds(cidr);
    let v = ip_to_u128(ip);
    first <= v && v <= last
}

/// Whether `ip` may be a fixed IP of an ordinary (non-router) port on the
/// subnet: Neutron's `check_subnet_ip` with a known, non-router port owner.
///
/// The address must be inside the cidr and not the network address; on
/// IPv4 it must not be the last address either. Neutron (current
/// `neutron.ipam.utils`) compares against the *last address* of the network
/// (`net[-1]`), not netaddr's `broadcast` (which is `None` for /31 and /32),
/// so there is no RFC 3021 exception: a v4 /31 or /32 and a v6 /128 have no
/// valid host address at all, a v6 /127 has one (`prefix::1`).
pub fn is_valid_host_address(cidr: IpNet, ip: IpAddr) -> bool {
    if !ip_in_cidr(cidr, ip) {
        return false;
    }
    let (first, last) = net_bounds(cidr);
    let v = ip_to_u128(ip);
    match cidr {
        IpNet::V4(_) => v != first && v != last,
        IpNet::V6(_) => v != first,
    }
}

/// Whether `ip` may be a fixed IP of a router port (or a port whose owner
/// is unknown) on the subnet: as [`is_valid_host_address`] except that on
/// IPv6 the subnet-router anycast address (the network address) is allowed.
pub fn is_valid_router_address(cidr: IpNet, ip: IpAddr) -> bool {
    match cidr {
        IpNet::V4(_) => is_valid_host_address(cidr, ip),
        IpNet::V6(_) => ip_in_cidr(cidr, ip),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parse_plain_cidrs() {
        assert_eq!(parse_cidr("10.0.0.0/24", None), Ok(net("10.0.0.0/24")));
        assert_eq!(parse_cidr("10.0.0.0/24", Some(4)), Ok(net("10.0.0.0/24")));
        assert_eq!(parse_cidr("2001:db8::/64", Some(6)), Ok(net("2001:db8::/64")));
        assert_eq!(parse_cidr("2001:DB8:0:0::/64", None).map(|n| n.to_string()), Ok("2001:db8::/64".to_string()));
        assert_eq!(parse_cidr("10.0.0.0/08", None), Ok(net("10.0.0.0/8")));
        assert_eq!(parse_cidr("10.0.0.0/255.255.255.0", None), Ok(net("10.0.0.0/24")));
        assert_eq!(parse_cidr("10.0.0.0/255.255.255.255", None), Ok(net("10.0.0.0/32")));
    }

    #[test]
    fn host_bits_are_normalised() {
        assert_eq!(parse_cidr("10.0.0.5/24", Some(4)), Ok(net("10.0.0.0/24")));
        assert_eq!(parse_cidr("192.168.1.130/25", None), Ok(net("192.168.1.128/25")));
        assert_eq!(parse_cidr("2001:db8::1/64", Some(6)), Ok(net("2001:db8::/64")));
        assert_eq!(parse_cidr("2001:db8::1:2:3:4/96", None), Ok(net("2001:db8::1:2:0:0/96")));
    }

    #[test]
    fn tiny_subnets_are_accepted() {
        for s in ["10.0.0.0/31", "10.0.0.1/32", "2001:db8::/127", "2001:db8::1/128"] {
            assert_eq!(parse_cidr(s, None), Ok(net(s)));
        }
        assert_eq!(parse_cidr("10.0.0.1/31", None), Ok(net("10.0.0.0/31")));
    }

    #[test]
    fn parse_rejects_bad_syntax() {
        for s in [
            "",
            "/",
            "10.0.0.0/",
            "/24",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0/24",
            "010.0.0.0/24",
            "10.0.0.0/24/1",
            "10.0.0.256/24",
            "2001:db8::/129",
            "2001:db8::/1000",
            "abc/24",
            "10.0.0.0/255.0.255.0",
            "10.0.0.0/0.0.0.255",
            "2001:db8::/ffff::",
            "10.0.0.0/+24",
            " 10.0.0.0/24",
            "10.0.0.0/24 ",
            "10.0.0.0 /24",
            "10.0.0.0/\t24",
            "10.0.0.0/24\n",
        ] {
            let err = parse_cidr(s, None).unwrap_err();
            assert_eq!(err, IpamError::CidrFormat { cidr: s.to_string() }, "{s:?}");
        }
        assert_eq!(
            parse_cidr("10.0.0.0/33", None).unwrap_err().to_string(),
            "Invalid input for operation: 10.0.0.0/33 is not in a CIDR format."
        );
    }

    #[test]
    fn parse_requires_a_prefix() {
        for s in ["10.0.0.0", "2001:db8::", "::1"] {
            let err = parse_cidr(s, None).unwrap_err();
            assert_eq!(err, IpamError::InvalidSubnet { cidr: s.to_string() });
        }
        assert_eq!(
            parse_cidr("10.0.0.0", Some(4)).unwrap_err().to_string(),
            "Invalid input for cidr. Reason: '10.0.0.0' is not a valid IP subnet."
        );
    }

    #[test]
    fn parse_checks_version() {
        let err = parse_cidr("10.0.0.5/24", Some(6)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for operation: cidr '10.0.0.0/24' does not match the ip_version '6'."
        );
        assert_eq!(err.neutron_type(), "InvalidInput");
        let err = parse_cidr("2001:db8::/64", Some(4)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for operation: cidr '2001:db8::/64' does not match the ip_version '4'."
        );
    }

    #[test]
    fn parse_rejects_zero_prefix() {
        for s in ["0.0.0.0/0", "10.0.0.0/0", "::/0", "2001:db8::/0", "10.0.0.0/0.0.0.0"] {
            assert_eq!(parse_cidr(s, None), Err(IpamError::ZeroPrefixLength), "{s}");
        }
        assert_eq!(
            parse_cidr("0.0.0.0/0", Some(4)).unwrap_err().to_string(),
            "Invalid input for operation: 0 is not allowed as CIDR prefix length."
        );
        // The version check comes first.
        assert!(matches!(parse_cidr("::/0", Some(4)), Err(IpamError::IpVersionMismatch { .. })));
    }

    #[test]
    fn version_checks() {
        assert_eq!(check_ip_version("gateway_ip", ip("10.0.0.1"), 4), Ok(()));
        assert_eq!(
            check_ip_version("gateway_ip", ip("2001:db8::1"), 4).unwrap_err().to_string(),
            "Invalid input for operation: gateway_ip '2001:db8::1' does not match the ip_version '4'."
        );
        assert_eq!(check_net_version("destination", net("::/0"), 6), Ok(()));
        assert!(check_net_version("destination", net("::/0"), 4).is_err());
    }

    #[test]
    fn dhcp_cidr_rules() {
        assert_eq!(validate_dhcp_cidr(net("10.0.0.0/30")), Ok(()));
        assert_eq!(validate_dhcp_cidr(net("10.0.0.0/31")), Err(IpamError::DhcpPrefixLength));
        assert_eq!(validate_dhcp_cidr(net("10.0.0.0/32")), Err(IpamError::DhcpPrefixLength));
        assert_eq!(validate_dhcp_cidr(net("2001:db8::/126")), Ok(()));
        assert_eq!(validate_dhcp_cidr(net("2001:db8::/127")), Err(IpamError::DhcpPrefixLength));
        assert_eq!(validate_dhcp_cidr(net("2001:db8::/128")), Err(IpamError::DhcpPrefixLength));
        assert_eq!(validate_dhcp_cidr(net("224.0.0.0/24")), Err(IpamError::DhcpMulticast));
        assert_eq!(validate_dhcp_cidr(net("224.0.0.0/4")), Err(IpamError::DhcpMulticast));
        assert_eq!(validate_dhcp_cidr(net("224.0.0.0/3")), Ok(()));
        assert_eq!(validate_dhcp_cidr(net("ff02::/64")), Err(IpamError::DhcpMulticast));
        assert_eq!(validate_dhcp_cidr(net("127.0.0.0/24")), Err(IpamError::DhcpLoopback));
        assert_eq!(validate_dhcp_cidr(net("127.0.0.0/7")), Ok(()));
        assert_eq!(validate_dhcp_cidr(net("::1/128")), Err(IpamError::DhcpPrefixLength));
        assert_eq!(validate_dhcp_cidr(net("::/126")), Ok(()));
        assert_eq!(validate_dhcp_cidr(net("0.0.0.0/24")), Err(IpamError::DhcpFirstIpZero));
        assert_eq!(validate_dhcp_cidr(net("0.0.0.0/1")), Err(IpamError::DhcpFirstIpZero));
        assert_eq!(validate_dhcp_cidr(net("::/64")), Ok(()));
    }

    #[test]
    fn overlap() {
        assert!(cidrs_overlap(&net("10.0.0.0/24"), &net("10.0.0.0/24")));
        assert!(cidrs_overlap(&net("10.0.0.0/16"), &net("10.0.5.0/24")));
        assert!(cidrs_overlap(&net("10.0.5.0/24"), &net("10.0.0.0/16")));
        assert!(!cidrs_overlap(&net("10.0.0.0/24"), &net("10.0.1.0/24")));
        assert!(!cidrs_overlap(&net("10.0.0.0/25"), &net("10.0.0.128/25")));
        assert!(cidrs_overlap(&net("10.0.0.0/32"), &net("10.0.0.0/31")));
        assert!(cidrs_overlap(&net("2001:db8::/32"), &net("2001:db8:1::/48")));
        assert!(!cidrs_overlap(&net("2001:db8::/64"), &net("2001:db8:0:1::/64")));
        assert!(!cidrs_overlap(&net("0.0.0.0/1"), &net("::/1")));
        assert!(cidrs_overlap(&net("::/1"), &net("::1/128")));
    }

    #[test]
    fn membership() {
        let n = net("10.0.0.0/24");
        assert!(ip_in_cidr(n, ip("10.0.0.0")));
        assert!(ip_in_cidr(n, ip("10.0.0.255")));
        assert!(!ip_in_cidr(n, ip("10.0.1.0")));
        assert!(!ip_in_cidr(n, ip("::ffff:10.0.0.1")));
        assert!(ip_in_cidr(net("2001:db8::/64"), ip("2001:db8::ffff")));
        assert!(!ip_in_cidr(net("2001:db8::/64"), ip("10.0.0.1")));
    }

    #[test]
    fn host_addresses_v4() {
        let n = net("10.0.0.0/24");
        assert!(!is_valid_host_address(n, ip("10.0.0.0")));
        assert!(is_valid_host_address(n, ip("10.0.0.1")));
        assert!(is_valid_host_address(n, ip("10.0.0.254")));
        assert!(!is_valid_host_address(n, ip("10.0.0.255")));
        assert!(!is_valid_host_address(n, ip("10.0.1.1")));
        assert!(!is_valid_host_address(n, ip("::1")));
        // /31 and /32: Neutron compares with net[-1], so nothing is valid.
        assert!(!is_valid_host_address(net("10.0.0.0/31"), ip("10.0.0.0")));
        assert!(!is_valid_host_address(net("10.0.0.0/31"), ip("10.0.0.1")));
        assert!(!is_valid_host_address(net("10.0.0.7/32"), ip("10.0.0.7")));
        assert!(is_valid_host_address(net("10.0.0.0/30"), ip("10.0.0.2")));
        // Routers get no v4 exception.
        assert!(!is_valid_router_address(n, ip("10.0.0.0")));
        assert!(is_valid_router_address(n, ip("10.0.0.1")));
        assert!(!is_valid_router_address(n, ip("10.0.0.255")));
    }

    #[test]
    fn host_addresses_v6() {
        let n = net("2001:db8::/64");
        assert!(!is_valid_host_address(n, ip("2001:db8::")));
        assert!(is_valid_host_address(n, ip("2001:db8::1")));
        assert!(is_valid_host_address(n, ip("2001:db8::ffff:ffff:ffff:ffff")));
        assert!(!is_valid_host_address(n, ip("2001:db8:0:1::")));
        assert!(is_valid_router_address(n, ip("2001:db8::")));
        assert!(!is_valid_router_address(n, ip("2001:db8:0:1::")));
        assert!(!is_valid_host_address(net("2001:db8::/127"), ip("2001:db8::")));
        assert!(is_valid_host_address(net("2001:db8::/127"), ip("2001:db8::1")));
        assert!(!is_valid_host_address(net("2001:db8::5/128"), ip("2001:db8::5")));
        assert!(is_valid_router_address(net("2001:db8::5/128"), ip("2001:db8::5")));
    }
}

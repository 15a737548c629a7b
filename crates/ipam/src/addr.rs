//! Address families and the integer view of addresses used by all the
//! range arithmetic in this crate.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (`ip_version` 4).
    V4,
    /// IPv6 (`ip_version` 6).
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The family of a network.
    pub fn of_net(net: IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    /// The family for a Neutron `ip_version` (4 or 6).
    pub fn from_version(version: u8) -> Option<Family> {
        match version {
            4 => Some(Family::V4),
            6 => Some(Family::V6),
            _ => None,
        }
    }

    /// The Neutron `ip_version` of the family.
    pub fn version(self) -> u8 {
        match self {
            Family::V4 => 4,
            Family::V6 => 6,
        }
    }

    /// The number of bits in an address of this family.
    pub fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    /// The highest address of the family as an integer.
    pub fn max_value(self) -> u128 {
        match self {
            Family::V4 => u128::from(u32::MAX),
            Family::V6 => u128::MAX,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IPv{}", self.version())
    }
}

/// The address as an unsigned integer (IPv4 addresses occupy the low 32
/// bits). Comparing the integers of two addresses of one family compares the
/// addresses.
pub fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address of `family` whose integer value is `value`; `None` when the
/// value does not fit the family (above 2^32-1 for IPv4).
pub fn u128_to_ip(value: u128, family: Family) -> Option<IpAddr> {
    match family {
        Family::V4 => u32::try_from(value).ok().map(|v| IpAddr::V4(Ipv4Addr::from(v))),
        Family::V6 => Some(IpAddr::V6(Ipv6Addr::from(value))),
    }
}

/// `u128_to_ip` for callers that already know the value is in range (it was
/// derived from addresses of the same family); falls back to the family's
/// unspecified address instead of panicking.
pub(crate) fn to_ip(value: u128, family: Family) -> IpAddr {
    u128_to_ip(value, family).unwrap_or(match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    })
}

/// The first (network) and last addresses of a network, as integers.
pub(crate) fn net_bounds(net: IpNet) -> (u128, u128) {
    (ip_to_u128(net.network()), ip_to_u128(net.broadcast()))
}

/// A sort key consistent with `IpAddr`'s `Ord`: all IPv4 addresses before
/// all IPv6 ones, numeric order within a family.
pub(crate) fn sort_key(ip: IpAddr) -> (Family, u128) {
    (Family::of(ip), ip_to_u128(ip))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn family_basics() {
        assert_eq!(Family::of(ip("10.0.0.1")), Family::V4);
        assert_eq!(Family::of(ip("::1")), Family::V6);
        assert_eq!(Family::of_net("10.0.0.0/8".parse().unwrap()), Family::V4);
        assert_eq!(Family::of_net("::/0".parse().unwrap()), Family::V6);
        assert_eq!(Family::from_version(4), Some(Family::V4));
        assert_eq!(Family::from_version(6), Some(Family::V6));
        assert_eq!(Family::from_version(5), None);
        assert_eq!(Family::V4.version(), 4);
        assert_eq!(Family::V6.version(), 6);
        assert_eq!(Family::V4.bits(), 32);
        assert_eq!(Family::V6.bits(), 128);
        assert_eq!(Family::V4.max_value(), 0xffff_ffff);
        assert_eq!(Family::V6.max_value(), u128::MAX);
        assert_eq!(Family::V4.to_string(), "IPv4");
        assert_eq!(Family::V6.to_string(), "IPv6");
    }

    #[test]
    fn integer_round_trips() {
        assert_eq!(ip_to_u128(ip("0.0.0.0")), 0);
        assert_eq!(ip_to_u128(ip("10.0.0.1")), 0x0a00_0001);
        assert_eq!(ip_to_u128(ip("255.255.255.255")), 0xffff_ffff);
        assert_eq!(ip_to_u128(ip("::1")), 1);
        assert_eq!(ip_to_u128(ip("2001:db8::")), 0x2001_0db8_u128 << 96);
        assert_eq!(u128_to_ip(0x0a00_0001, Family::V4), Some(ip("10.0.0.1")));
        assert_eq!(u128_to_ip(1 << 32, Family::V4), None);
        assert_eq!(u128_to_ip(1 << 32, Family::V6), Some(ip("::1:0:0")));
        assert_eq!(u128_to_ip(u128::MAX, Family::V6), Some(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        for s in ["1.2.3.4", "255.255.255.255", "2001:db8::42", "::", "fe80::1"] {
            let a = ip(s);
            assert_eq!(u128_to_ip(ip_to_u128(a), Family::of(a)), Some(a));
        }
        assert_eq!(to_ip(1 << 40, Family::V4), ip("0.0.0.0"));
    }

    #[test]
    fn bounds_and_keys() {
        assert_eq!(net_bounds("10.0.0.5/24".parse().unwrap()), (0x0a00_0000, 0x0a00_00ff));
        assert_eq!(net_bounds("2001:db8::/127".parse().unwrap()).1 & 0xff, 1);
        assert!(sort_key(ip("255.255.255.255")) < sort_key(ip("::")));
        let mut v = vec![ip("::1"), ip("10.0.0.2"), ip("10.0.0.1")];
        let mut w = v.clone();
        v.sort();
        w.sort_by_key(|a| sort_key(*a));
        assert_eq!(v, w);
    }
}

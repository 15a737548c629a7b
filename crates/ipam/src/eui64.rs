//! IPv6 SLAAC addresses: the modified EUI-64 interface identifier (RFC 4291
//! appendix A) appended to a /64 prefix, as Neutron computes the fixed IP of
//! a port on a `slaac` / `dhcpv6-stateless` subnet.
//!
//! Neutron refuses such address modes on a prefix other than /64
//! (`_validate_eui64_applicable`), so [`eui64_address`] requires a /64.
//! Host bits set in the prefix are ignored (the network address is used).

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use crate::error::IpamError;

/// The SLAAC address of `mac` on `prefix`: the prefix's upper 64 bits, then
/// the MAC's first three octets with the universal/local bit (0x02 of the
/// first octet) inverted, `ff:fe`, and the MAC's last three octets.
pub fn eui64_address(prefix: Ipv6Net, mac: [u8; 6]) -> Result<Ipv6Addr, IpamError> {
    if prefix.prefix_len() != 64 {
        return Err(IpamError::Eui64PrefixLength { cidr: prefix.into() });
    }
    let interface_id = u64::from_be_bytes([mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]]);
    let network = u128::from(prefix.network());
    Ok(Ipv6Addr::from(network | u128::from(interface_id)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    #[test]
    fn known_vectors() {
        let mac = [0xfa, 0x16, 0x3e, 0x33, 0x44, 0x55];
        assert_eq!(eui64_address(net("2001:db8::/64"), mac), Ok("2001:db8::f816:3eff:fe33:4455".parse().unwrap()));
        // RFC 4291 style example: 00:1b:21:... gets the U/L bit set.
        assert_eq!(
            eui64_address(net("fe80::/64"), [0x00, 0x1b, 0x21, 0x3c, 0x9d, 0xf8]),
            Ok("fe80::21b:21ff:fe3c:9df8".parse().unwrap())
        );
        // A locally administered MAC gets the bit cleared.
        assert_eq!(
            eui64_address(net("2001:db8:1:2::/64"), [0x02, 0, 0, 0, 0, 1]),
            Ok("2001:db8:1:2::ff:fe00:1".parse().unwrap())
        );
        assert_eq!(
            eui64_address(net("2001:db8::/64"), [0xff; 6]),
            Ok("2001:db8::fdff:ffff:feff:ffff".parse().unwrap())
        );
    }

    #[test]
    fn host_bits_in_prefix_are_ignored() {
        let mac = [0xfa, 0x16, 0x3e, 0x33, 0x44, 0x55];
        assert_eq!(eui64_address(net("2001:db8::1234/64"), mac), Ok("2001:db8::f816:3eff:fe33:4455".parse().unwrap()));
    }

    #[test]
    fn prefix_must_be_64() {
        let mac = [0xfa, 0x16, 0x3e, 0x33, 0x44, 0x55];
        for p in ["2001:db8::/56", "2001:db8::/65", "2001:db8::/128", "::/0"] {
            let err = eui64_address(net(p), mac).unwrap_err();
            assert_eq!(err, IpamError::Eui64PrefixLength { cidr: net(p).into() });
        }
        assert_eq!(
            eui64_address(net("2001:db8::/56"), mac).unwrap_err().to_string(),
            "Invalid input for operation: Invalid CIDR 2001:db8::/56 for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64."
        );
    }
}

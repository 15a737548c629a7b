//! Subnet gateway: Neutron's default and its validity rules.
//!
//! # Decisions
//!
//! * **Default.** When `gateway_ip` is not specified Neutron
//!   (`IpamBackendMixin._gateway_ip_str`) uses the network address + 1, for
//!   both families (its IPv6 branch returning the subnet-router anycast
//!   address tests a `version` key the subnet dict never has, so it is dead
//!   code and v6 subnets get `prefix::1`). For a v4 /31 or v6 /127 that is
//!   the second (last) address, which Neutron stores without re-validating
//!   it, even though an explicitly requested gateway equal to it would be
//!   rejected on v4 (see below); [`default_gateway`] reproduces this. For a
//!   /32 or /128, network + 1 would be outside the subnet (and overflows on
//!   `255.255.255.255/32`); [`default_gateway`] returns `None` there, i.e.
//!   such a subnet gets no gateway.
//! * **Validity** (`neutron.ipam.utils.check_gateway_invalid_in_subnet`, as
//!   called from `_validate_subnet`):
//!   - the gateway must be of the subnet's family (`_validate_ip_version`);
//!   - a gateway **outside the cidr is accepted** (the
//!     `force_gateway_on_subnet` option that used to forbid it was removed;
//!     Neutron cannot judge an off-subnet gateway);
//!   - on IPv4 a gateway inside the cidr must be neither the network address
//!     nor the last address (`net[-1]`, the broadcast address; for a /31
//!     this rejects both addresses, for a /32 the only one);
//!   - on IPv6 any address of the cidr is accepted, **including the
//!     subnet-router anycast (network) address**.
//! * Whether the gateway collides with allocation pools is checked by
//!   [`crate::pools::validate_pools`].

use std::net::IpAddr;

use ipnet::IpNet;

use crate::addr::{ip_to_u128, net_bounds, to_ip, Family};
use crate::cidr::{check_ip_version, ip_in_cidr};
use crate::error::IpamError;

/// The gateway Neutron assigns when none is specified: the address after
/// the network address (`x.x.x.1`, `prefix::1`); `None` for a
/// single-address subnet (/32, /128) where that address would fall outside
/// the cidr.
pub fn default_gateway(cidr: IpNet) -> Option<IpAddr> {
    let (first, last) = net_bounds(cidr);
    (first < last).then(|| to_ip(first + 1, Family::of_net(cidr)))
}

/// Validates an explicitly requested gateway against the subnet with
/// Neutron's rules (see the module documentation).
pub fn validate_gateway(cidr: IpNet, gateway: IpAddr) -> Result<(), IpamError> {
    let family = Family::of_net(cidr);
    check_ip_version("gateway_ip", gateway, family.version())?;
    if family == Family::V4 && ip_in_cidr(cidr, gateway) {
        let (first, last) = net_bounds(cidr);
        let g = ip_to_u128(gateway);
        if g == first || g == last {
            return Err(IpamError::InvalidGateway);
        }
    }
    Ok(())
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
    fn defaults() {
        assert_eq!(default_gateway(net("10.0.0.0/24")), Some(ip("10.0.0.1")));
        assert_eq!(default_gateway(net("192.168.1.128/25")), Some(ip("192.168.1.129")));
        assert_eq!(default_gateway(net("10.0.0.0/30")), Some(ip("10.0.0.1")));
        assert_eq!(default_gateway(net("10.0.0.0/31")), Some(ip("10.0.0.1")));
        assert_eq!(default_gateway(net("10.0.0.7/32")), None);
        assert_eq!(default_gateway(net("255.255.255.255/32")), None);
        assert_eq!(default_gateway(net("2001:db8::/64")), Some(ip("2001:db8::1")));
        assert_eq!(default_gateway(net("2001:db8::/127")), Some(ip("2001:db8::1")));
        assert_eq!(default_gateway(net("2001:db8::/128")), None);
        assert_eq!(default_gateway(net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")), None);
    }

    #[test]
    fn v4_rules() {
        let n = net("10.0.0.0/24");
        assert_eq!(validate_gateway(n, ip("10.0.0.1")), Ok(()));
        assert_eq!(validate_gateway(n, ip("10.0.0.254")), Ok(()));
        assert_eq!(validate_gateway(n, ip("10.0.0.0")), Err(IpamError::InvalidGateway));
        assert_eq!(validate_gateway(n, ip("10.0.0.255")), Err(IpamError::InvalidGateway));
        assert_eq!(
            validate_gateway(n, ip("10.0.0.0")).unwrap_err().to_string(),
            "Invalid input for operation: Gateway is not valid on subnet."
        );
        // Outside the subnet: accepted, even another subnet's network/broadcast.
        assert_eq!(validate_gateway(n, ip("10.0.1.0")), Ok(()));
        assert_eq!(validate_gateway(n, ip("192.168.0.1")), Ok(()));
        // /30, /31, /32.
        assert_eq!(validate_gateway(net("10.0.0.0/30"), ip("10.0.0.2")), Ok(()));
        assert_eq!(validate_gateway(net("10.0.0.0/30"), ip("10.0.0.3")), Err(IpamError::InvalidGateway));
        assert_eq!(validate_gateway(net("10.0.0.0/31"), ip("10.0.0.0")), Err(IpamError::InvalidGateway));
        assert_eq!(validate_gateway(net("10.0.0.0/31"), ip("10.0.0.1")), Err(IpamError::InvalidGateway));
        assert_eq!(validate_gateway(net("10.0.0.0/31"), ip("10.0.0.2")), Ok(()));
        assert_eq!(validate_gateway(net("10.0.0.7/32"), ip("10.0.0.7")), Err(IpamError::InvalidGateway));
        assert_eq!(validate_gateway(net("10.0.0.7/32"), ip("10.0.0.8")), Ok(()));
    }

    #[test]
    fn v6_rules() {
        let n = net("2001:db8::/64");
        assert_eq!(validate_gateway(n, ip("2001:db8::1")), Ok(()));
        // The subnet-router anycast address is accepted.
        assert_eq!(validate_gateway(n, ip("2001:db8::")), Ok(()));
        // No broadcast on v6.
        assert_eq!(validate_gateway(n, ip("2001:db8::ffff:ffff:ffff:ffff")), Ok(()));
        // Off-subnet (e.g. link-local) gateways are accepted.
        assert_eq!(validate_gateway(n, ip("fe80::1")), Ok(()));
        assert_eq!(validate_gateway(net("2001:db8::/127"), ip("2001:db8::")), Ok(()));
        assert_eq!(validate_gateway(net("2001:db8::/128"), ip("2001:db8::")), Ok(()));
    }

    #[test]
    fn family_mismatch() {
        let err = validate_gateway(net("10.0.0.0/24"), ip("2001:db8::1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for operation: gateway_ip '2001:db8::1' does not match the ip_version '4'."
        );
        assert_eq!(err.neutron_type(), "InvalidInput");
        let err = validate_gateway(net("2001:db8::/64"), ip("10.0.0.1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for operation: gateway_ip '10.0.0.1' does not match the ip_version '6'."
        );
    }

    #[test]
    fn default_gateway_fits_default_pools() {
        for c in ["10.0.0.0/24", "10.0.0.0/30", "2001:db8::/64", "2001:db8::/126"] {
            let n = net(c);
            let gw = default_gateway(n);
            assert!(gw.is_some_and(|g| validate_gateway(n, g).is_ok()), "{c}");
            let pools = crate::pools::default_pools(n, gw);
            assert!(!pools.is_empty());
            assert_eq!(crate::pools::validate_pools(n, &pools, gw), Ok(()), "{c}");
        }
    }
}

//! Allocation pools: Neutron's default pools, pool validation and the
//! arithmetic over lists of inclusive address ranges.
//!
//! # Default pools (Neutron's `neutron.ipam.utils.generate_pools`)
//!
//! * A subnet with a single address (v4 /32, v6 /128) gets one pool made of
//!   that address, and the gateway is *not* cut out of it.
//! * Otherwise the range runs from the network address + 1 to the last
//!   address, minus one on IPv4 (the broadcast address). IPv6 keeps the last
//!   address of the subnet: only the subnet-router anycast address (the
//!   network address) is excluded.
//! * If that range has fewer than two addresses (v4 /31, v6 /127) there are
//!   no pools at all.
//! * The gateway, when inside the range, is removed, which splits the range
//!   into up to two pools.
//!
//! # Pool validation (Neutron's `pools_to_ip_range`,
//! `validate_allocation_pools` and `validate_gw_out_of_pools`)
//!
//! The checks run in Neutron's order and the first failure is reported:
//! 1. every pool must have both ends in one family with `start <= end`,
//!    otherwise `InvalidAllocationPool` naming the pool in Neutron's dict
//!    form (`{'start': '…', 'end': '…'}`, because netaddr could not even
//!    build the range);
//! 2. pool by pool: a family other than the subnet's is
//!    `InvalidAllocationPool` (`start-end` form); reaching below network + 1
//!    or above the last address (last − 1 on IPv4) is
//!    `OutOfBoundsAllocationPool` — so the network address, the v4
//!    broadcast address, and every address of a v4 /31 or /32 and of a v6
//!    /128 are out of bounds;
//! 3. every pair of pools, in request order, must be disjoint
//!    (`OverlappingAllocationPools` names the first pair Neutron's double
//!    loop would find);
//! 4. the gateway, when given, must not be inside any pool
//!    (`GatewayConflictWithAllocationPools`, first pool in request order).
//!
//! A gateway outside the subnet is not an error here (see
//! [`crate::gateway`]).

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::addr::{ip_to_u128, net_bounds, to_ip, Family};
use crate::error::IpamError;

/// An inclusive range of addresses `start..=end` of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool {
    /// First address of the range.
    pub start: IpAddr,
    /// Last address of the range (inclusive).
    pub end: IpAddr,
}

impl Pool {
    /// A pool from its two inclusive bounds (not validated).
    pub fn new(start: IpAddr, end: IpAddr) -> Pool {
        Pool { start, end }
    }

    /// A pool holding exactly one address.
    pub fn single(ip: IpAddr) -> Pool {
        Pool { start: ip, end: ip }
    }

    /// The family of the pool, `None` when the two ends differ in family.
    pub fn family(&self) -> Option<Family> {
        let family = Family::of(self.start);
        (family == Family::of(self.end)).then_some(family)
    }

    /// Whether both ends are of one family and `start <= end`.
    pub fn is_well_formed(&self) -> bool {
        self.bounds().is_some()
    }

    /// The family and integer bounds of a well-formed pool.
    pub(crate) fn bounds(&self) -> Option<(Family, u128, u128)> {
        let family = self.family()?;
        let (s, e) = (ip_to_u128(self.start), ip_to_u128(self.end));
        (s <= e).then_some((family, s, e))
    }

    /// Number of addresses in the pool; 0 for a malformed pool, saturating
    /// at `u128::MAX` for the (only) pool that would hold 2^128 addresses.
    pub fn size(&self) -> u128 {
        match self.bounds() {
            Some((_, s, e)) => (e - s).saturating_add(1),
            None => 0,
        }
    }

    /// Whether `ip` lies in the pool (false across families or for a
    /// malformed pool).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match self.bounds() {
            Some((family, s, e)) => {
                let v = ip_to_u128(ip);
                Family::of(ip) == family && s <= v && v <= e
            }
            None => false,
        }
    }

    /// Whether the two pools share an address (false if either is malformed
    /// or they are of different families).
    pub fn overlaps(&self, other: &Pool) -> bool {
        match (self.bounds(), other.bounds()) {
            (Some((fa, sa, ea)), Some((fb, sb, eb))) => fa == fb && sa <= eb && sb <= ea,
            _ => false,
        }
    }

    /// The pool rendered as the Python dict Neutron echoes back when the
    /// bounds cannot form a range: `{'start': '10.0.0.9', 'end': '10.0.0.2'}`.
    pub fn neutron_dict_repr(&self) -> String {
        format!("{{'start': '{}', 'end': '{}'}}", self.start, self.end)
    }
}

impl fmt::Display for Pool {
    /// `start-end`, like netaddr's `IPRange`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// The allocation pools Neutron creates for a subnet when none are given.
/// See the module documentation for the exact rules.
pub fn default_pools(cidr: IpNet, gateway: Option<IpAddr>) -> Vec<Pool> {
    let family = Family::of_net(cidr);
    let (first, last) = net_bounds(cidr);
    if first == last {
        return vec![Pool::single(cidr.network())];
    }
    let lo = first + 1;
    let hi = last - u128::from(family == Family::V4);
    if lo >= hi {
        return Vec::new();
    }
    let range = |s: u128, e: u128| Pool::new(to_ip(s, family), to_ip(e, family));
    let gw = gateway.filter(|g| Family::of(*g) == family).map(ip_to_u128).filter(|g| (lo..=hi).contains(g));
    match gw {
        None => vec![range(lo, hi)],
        Some(g) if g == lo => vec![range(lo + 1, hi)],
        Some(g) if g == hi => vec![range(lo, hi - 1)],
        Some(g) => vec![range(lo, g - 1), range(g + 1, hi)],
    }
}

/// Validates user-supplied allocation pools for `cidr` (and that `gateway`
/// is outside them) with Neutron's checks, order and error kinds; see the
/// module documentation.
pub fn validate_pools(cidr: IpNet, pools: &[Pool], gateway: Option<IpAddr>) -> Result<(), IpamError> {
    if let Some(bad) = pools.iter().find(|p| !p.is_well_formed()) {
        return Err(IpamError::InvalidAllocationPool { pool: bad.neutron_dict_repr() });
    }

    let family = Family::of_net(cidr);
    let (first, last) = net_bounds(cidr);
    // Usable bounds; `None` when the subnet has no usable address at all.
    let usable =
        first.checked_add(1).zip(last.checked_sub(u128::from(family == Family::V4))).filter(|(lo, hi)| lo <= hi);
    for pool in pools {
        let Some((pool_family, s, e)) = pool.bounds() else {
            continue; // unreachable: checked above
        };
        if pool_family != family {
            return Err(IpamError::InvalidAllocationPool { pool: pool.to_string() });
        }
        let inside = usable.is_some_and(|(lo, hi)| lo <= s && e <= hi);
        if !inside {
            return Err(IpamError::OutOfBoundsAllocationPool { pool: pool.to_string(), subnet_cidr: cidr });
        }
    }

    if any_overlap(pools) {
        for (l, left) in pools.iter().enumerate() {
            if let Some(right) = pools[l + 1..].iter().find(|r| left.overlaps(r)) {
                return Err(IpamError::OverlappingAllocationPools {
                    pool_1: left.to_string(),
                    pool_2: right.to_string(),
                    subnet_cidr: cidr,
                });
            }
        }
    }

    if let Some(gw) = gateway {
        if let Some(pool) = pools.iter().find(|p| p.contains(gw)) {
            return Err(IpamError::GatewayConflictWithAllocationPools { ip_address: gw, pool: pool.to_string() });
        }
    }
    Ok(())
}

/// Whether any two well-formed pools overlap, in O(n log n).
fn any_overlap(pools: &[Pool]) -> bool {
    let mut ranges: Vec<(Family, u128, u128)> = pools.iter().filter_map(Pool::bounds).collect();
    ranges.sort_unstable();
    ranges.windows(2).any(|w| w[0].0 == w[1].0 && w[1].1 <= w[0].2)
}

/// Total number of addresses in the pools (malformed pools count 0;
/// saturates at `u128::MAX`). Pools are assumed disjoint.
pub fn pools_size(pools: &[Pool]) -> u128 {
    pools.iter().fold(0u128, |acc, p| acc.saturating_add(p.size()))
}

/// Whether `ip` lies in any of the pools.
pub fn pools_contain(pools: &[Pool], ip: IpAddr) -> bool {
    pools.iter().any(|p| p.contains(ip))
}

/// The `n`-th address (0-based) when the pools are walked in order, each
/// from start to end; `None` when `n >= pools_size(pools)`.
pub fn nth_address(pools: &[Pool], n: u128) -> Option<IpAddr> {
    let mut n = n;
    for pool in pools {
        let Some((family, s, _)) = pool.bounds() else {
            continue;
        };
        let size = pool.size();
        if n < size {
            return Some(to_ip(s + n, family));
        }
        n -= size;
    }
    None
}

/// A lazy iterator over every address of the pools, in order.
pub fn iter_addresses(pools: &[Pool]) -> AddressIter<'_> {
    AddressIter { pools, index: 0, next: None }
}

/// Iterator returned by [`iter_addresses`]; never materialises a range.
#[derive(Debug, Clone)]
pub struct AddressIter<'a> {
    pools: &'a [Pool],
    index: usize,
    /// Next value to yield in `pools[index]`, `None` before starting it.
    next: Option<u128>,
}

impl Iterator for AddressIter<'_> {
    type Item = IpAddr;

    fn next(&mut self) -> Option<IpAddr> {
        while let Some(pool) = self.pools.get(self.index) {
            let Some((family, s, e)) = pool.bounds() else {
                self.index += 1;
                self.next = None;
                continue;
            };
            let v = self.next.unwrap_or(s);
            if v > e {
                self.index += 1;
                self.next = None;
                continue;
            }
            match v.checked_add(1) {
                Some(n) => self.next = Some(n),
                None => {
                    self.index += 1;
                    self.next = None;
                }
            }
            return Some(to_ip(v, family));
        }
        None
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

    fn pool(s: &str, e: &str) -> Pool {
        Pool::new(ip(s), ip(e))
    }

    #[test]
    fn pool_basics() {
        let p = pool("10.0.0.2", "10.0.0.9");
        assert_eq!(p.to_string(), "10.0.0.2-10.0.0.9");
        assert_eq!(p.size(), 8);
        assert_eq!(p.family(), Some(Family::V4));
        assert!(p.is_well_formed());
        assert!(p.contains(ip("10.0.0.2")));
        assert!(p.contains(ip("10.0.0.9")));
        assert!(!p.contains(ip("10.0.0.10")));
        assert!(!p.contains(ip("::a00:5")));
        assert_eq!(Pool::single(ip("::1")).size(), 1);
        assert_eq!(pool("2001:db8::1", "2001:db8::ffff").to_string(), "2001:db8::1-2001:db8::ffff");
        let backwards = pool("10.0.0.9", "10.0.0.2");
        assert!(!backwards.is_well_formed());
        assert_eq!(backwards.size(), 0);
        assert!(!backwards.contains(ip("10.0.0.5")));
        let mixed = pool("10.0.0.1", "::1");
        assert_eq!(mixed.family(), None);
        assert_eq!(mixed.size(), 0);
        assert_eq!(mixed.neutron_dict_repr(), "{'start': '10.0.0.1', 'end': '::1'}");
        assert_eq!(pool("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").size(), u128::MAX);
        assert!(p.overlaps(&pool("10.0.0.9", "10.0.0.20")));
        assert!(!p.overlaps(&pool("10.0.0.10", "10.0.0.20")));
        assert!(!p.overlaps(&backwards));
    }

    #[test]
    fn default_pools_v4() {
        let n = net("10.0.0.0/24");
        assert_eq!(default_pools(n, None), vec![pool("10.0.0.1", "10.0.0.254")]);
        assert_eq!(default_pools(n, Some(ip("10.0.0.1"))), vec![pool("10.0.0.2", "10.0.0.254")]);
        assert_eq!(default_pools(n, Some(ip("10.0.0.254"))), vec![pool("10.0.0.1", "10.0.0.253")]);
        // A gateway in the middle splits the range.
        assert_eq!(
            default_pools(n, Some(ip("10.0.0.100"))),
            vec![pool("10.0.0.1", "10.0.0.99"), pool("10.0.0.101", "10.0.0.254")]
        );
        // Gateways outside the range change nothing.
        for gw in ["10.0.0.0", "10.0.0.255", "10.0.1.1", "192.168.0.1", "2001:db8::1"] {
            assert_eq!(default_pools(n, Some(ip(gw))), vec![pool("10.0.0.1", "10.0.0.254")], "{gw}");
        }
    }

    #[test]
    fn default_pools_v4_tiny() {
        let n = net("10.0.0.0/30");
        assert_eq!(default_pools(n, None), vec![pool("10.0.0.1", "10.0.0.2")]);
        assert_eq!(default_pools(n, Some(ip("10.0.0.1"))), vec![pool("10.0.0.2", "10.0.0.2")]);
        assert_eq!(default_pools(n, Some(ip("10.0.0.2"))), vec![pool("10.0.0.1", "10.0.0.1")]);
        // /31: no pools at all.
        assert_eq!(default_pools(net("10.0.0.0/31"), None), vec![]);
        assert_eq!(default_pools(net("10.0.0.0/31"), Some(ip("10.0.0.1"))), vec![]);
        // /32: the single address, even when it is the gateway.
        assert_eq!(default_pools(net("10.0.0.7/32"), None), vec![Pool::single(ip("10.0.0.7"))]);
        assert_eq!(default_pools(net("10.0.0.7/32"), Some(ip("10.0.0.7"))), vec![Pool::single(ip("10.0.0.7"))]);
        assert_eq!(default_pools(net("255.255.255.255/32"), None), vec![Pool::single(ip("255.255.255.255"))]);
        assert_eq!(default_pools(net("255.255.255.0/24"), None), vec![pool("255.255.255.1", "255.255.255.254")]);
    }

    #[test]
    fn default_pools_v6() {
        let n = net("2001:db8::/64");
        // The last address is kept on IPv6.
        assert_eq!(default_pools(n, None), vec![pool("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff")]);
        assert_eq!(
            default_pools(n, Some(ip("2001:db8::1"))),
            vec![pool("2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff")]
        );
        assert_eq!(
            default_pools(n, Some(ip("2001:db8::ffff:ffff:ffff:ffff"))),
            vec![pool("2001:db8::1", "2001:db8::ffff:ffff:ffff:fffe")]
        );
        assert_eq!(
            default_pools(n, Some(ip("2001:db8::1:0"))),
            vec![pool("2001:db8::1", "2001:db8::ffff"), pool("2001:db8::1:1", "2001:db8::ffff:ffff:ffff:ffff")]
        );
        assert_eq!(default_pools(n, Some(ip("2001:db8::"))), default_pools(n, None));
        assert_eq!(default_pools(n, Some(ip("fe80::1"))), default_pools(n, None));
        assert_eq!(default_pools(net("2001:db8::/126"), None), vec![pool("2001:db8::1", "2001:db8::3")]);
        assert_eq!(default_pools(net("2001:db8::/127"), None), vec![]);
        assert_eq!(default_pools(net("2001:db8::5/128"), None), vec![Pool::single(ip("2001:db8::5"))]);
        assert_eq!(
            default_pools(net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124"), None),
            vec![pool("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")]
        );
    }

    #[test]
    fn default_pools_pass_validation() {
        for (c, gw) in [
            ("10.0.0.0/24", Some("10.0.0.1")),
            ("10.0.0.0/24", Some("10.0.0.77")),
            ("10.0.0.0/24", None),
            ("10.0.0.0/30", Some("10.0.0.2")),
            ("2001:db8::/64", Some("2001:db8::1")),
            ("2001:db8::/126", Some("2001:db8::2")),
        ] {
            let n = net(c);
            let gw = gw.map(ip);
            assert_eq!(validate_pools(n, &default_pools(n, gw), gw), Ok(()), "{c}");
        }
    }

    #[test]
    fn validate_accepts_good_pools() {
        let n = net("10.0.0.0/24");
        assert_eq!(validate_pools(n, &[], Some(ip("10.0.0.1"))), Ok(()));
        assert_eq!(
            validate_pools(
                n,
                &[pool("10.0.0.2", "10.0.0.100"), pool("10.0.0.101", "10.0.0.254")],
                Some(ip("10.0.0.1"))
            ),
            Ok(())
        );
        assert_eq!(validate_pools(n, &[pool("10.0.0.1", "10.0.0.1")], None), Ok(()));
        // A gateway outside the subnet never conflicts.
        assert_eq!(validate_pools(n, &[pool("10.0.0.1", "10.0.0.254")], Some(ip("192.168.0.1"))), Ok(()));
        let n6 = net("2001:db8::/64");
        assert_eq!(
            validate_pools(n6, &[pool("2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff")], Some(ip("2001:db8::1"))),
            Ok(())
        );
    }

    #[test]
    fn validate_invalid_pool() {
        let n = net("10.0.0.0/24");
        let err = validate_pools(n, &[pool("10.0.0.9", "10.0.0.2")], None).unwrap_err();
        assert_eq!(err.neutron_type(), "InvalidAllocationPool");
        assert_eq!(err.status(), 400);
        assert_eq!(err.to_string(), "The allocation pool {'start': '10.0.0.9', 'end': '10.0.0.2'} is not valid.");
        let err = validate_pools(n, &[pool("10.0.0.2", "2001:db8::1")], None).unwrap_err();
        assert_eq!(err.to_string(), "The allocation pool {'start': '10.0.0.2', 'end': '2001:db8::1'} is not valid.");
        // Malformed pools are reported before out-of-bounds ones, wherever they are.
        let err = validate_pools(n, &[pool("10.1.0.2", "10.1.0.3"), pool("10.0.0.9", "10.0.0.2")], None).unwrap_err();
        assert_eq!(err.neutron_type(), "InvalidAllocationPool");
        // A pool of the wrong family.
        let err = validate_pools(n, &[pool("2001:db8::2", "2001:db8::9")], None).unwrap_err();
        assert_eq!(err, IpamError::InvalidAllocationPool { pool: "2001:db8::2-2001:db8::9".into() });
        assert_eq!(err.to_string(), "The allocation pool 2001:db8::2-2001:db8::9 is not valid.");
        let err = validate_pools(net("2001:db8::/64"), &[pool("10.0.0.2", "10.0.0.9")], None).unwrap_err();
        assert_eq!(err.to_string(), "The allocation pool 10.0.0.2-10.0.0.9 is not valid.");
    }

    #[test]
    fn validate_out_of_bounds() {
        let n = net("10.0.0.0/24");
        let oob = |p: Pool| validate_pools(n, &[p], None).unwrap_err();
        let err = oob(pool("10.0.0.0", "10.0.0.9"));
        assert_eq!(err.neutron_type(), "OutOfBoundsAllocationPool");
        assert_eq!(err.status(), 400);
        assert_eq!(err.to_string(), "The allocation pool 10.0.0.0-10.0.0.9 spans beyond the subnet cidr 10.0.0.0/24.");
        assert_eq!(
            oob(pool("10.0.0.200", "10.0.0.255")).to_string(),
            "The allocation pool 10.0.0.200-10.0.0.255 spans beyond the subnet cidr 10.0.0.0/24."
        );
        assert!(matches!(oob(pool("10.0.1.1", "10.0.1.9")), IpamError::OutOfBoundsAllocationPool { .. }));
        assert!(matches!(oob(pool("9.0.0.1", "10.0.0.9")), IpamError::OutOfBoundsAllocationPool { .. }));
        // v6: network address out, last address in.
        let n6 = net("2001:db8::/64");
        let err = validate_pools(n6, &[pool("2001:db8::", "2001:db8::9")], None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The allocation pool 2001:db8::-2001:db8::9 spans beyond the subnet cidr 2001:db8::/64."
        );
        assert_eq!(
            validate_pools(n6, &[pool("2001:db8::ffff:ffff:ffff:0", "2001:db8::ffff:ffff:ffff:ffff")], None),
            Ok(())
        );
        // Tiny subnets: nothing is in bounds on v4 /31, /32 and v6 /128.
        for (c, a) in [
            ("10.0.0.0/31", "10.0.0.0"),
            ("10.0.0.0/31", "10.0.0.1"),
            ("10.0.0.7/32", "10.0.0.7"),
            ("2001:db8::5/128", "2001:db8::5"),
            ("0.0.0.0/32", "0.0.0.0"),
            ("255.255.255.255/32", "255.255.255.255"),
        ] {
            assert!(
                matches!(
                    validate_pools(net(c), &[Pool::single(ip(a))], None),
                    Err(IpamError::OutOfBoundsAllocationPool { .. })
                ),
                "{c} {a}"
            );
        }
        assert_eq!(validate_pools(net("2001:db8::/127"), &[Pool::single(ip("2001:db8::1"))], None), Ok(()));
        assert_eq!(validate_pools(net("10.0.0.0/30"), &[pool("10.0.0.1", "10.0.0.2")], None), Ok(()));
        // Family is checked before bounds, pool by pool in order.
        let err = validate_pools(n, &[pool("10.0.0.0", "10.0.0.9"), pool("::1", "::2")], None).unwrap_err();
        assert_eq!(err.neutron_type(), "OutOfBoundsAllocationPool");
    }

    #[test]
    fn validate_overlaps() {
        let n = net("10.0.0.0/24");
        let err = validate_pools(n, &[pool("10.0.0.2", "10.0.0.9"), pool("10.0.0.5", "10.0.0.20")], None).unwrap_err();
        assert_eq!(err.neutron_type(), "OverlappingAllocationPools");
        assert_eq!(err.status(), 409);
        assert_eq!(
            err.to_string(),
            "Found overlapping allocation pools: 10.0.0.2-10.0.0.9 10.0.0.5-10.0.0.20 for subnet 10.0.0.0/24."
        );
        // Touching at one address overlaps; adjacent does not.
        assert!(validate_pools(n, &[pool("10.0.0.2", "10.0.0.9"), pool("10.0.0.9", "10.0.0.9")], None).is_err());
        assert_eq!(validate_pools(n, &[pool("10.0.0.2", "10.0.0.9"), pool("10.0.0.10", "10.0.0.19")], None), Ok(()));
        // Neutron's double loop reports the first left pool with any overlap, then the first right one.
        let pools = [
            pool("10.0.0.100", "10.0.0.110"),
            pool("10.0.0.50", "10.0.0.60"),
            pool("10.0.0.105", "10.0.0.120"),
            pool("10.0.0.55", "10.0.0.56"),
        ];
        assert_eq!(
            validate_pools(n, &pools, None),
            Err(IpamError::OverlappingAllocationPools {
                pool_1: "10.0.0.100-10.0.0.110".into(),
                pool_2: "10.0.0.105-10.0.0.120".into(),
                subnet_cidr: n,
            })
        );
        let pools = [pool("10.0.0.1", "10.0.0.3"), pool("10.0.0.50", "10.0.0.60"), pool("10.0.0.40", "10.0.0.55")];
        assert_eq!(
            validate_pools(n, &pools, None),
            Err(IpamError::OverlappingAllocationPools {
                pool_1: "10.0.0.50-10.0.0.60".into(),
                pool_2: "10.0.0.40-10.0.0.55".into(),
                subnet_cidr: n,
            })
        );
        let n6 = net("2001:db8::/64");
        let err =
            validate_pools(n6, &[pool("2001:db8::10", "2001:db8::20"), pool("2001:db8::1", "2001:db8::10")], None)
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Found overlapping allocation pools: 2001:db8::10-2001:db8::20 2001:db8::1-2001:db8::10 for subnet 2001:db8::/64."
        );
    }

    #[test]
    fn validate_gateway_conflict() {
        let n = net("10.0.0.0/24");
        let pools = [pool("10.0.0.2", "10.0.0.9"), pool("10.0.0.20", "10.0.0.29")];
        let err = validate_pools(n, &pools, Some(ip("10.0.0.25"))).unwrap_err();
        assert_eq!(err.neutron_type(), "GatewayConflictWithAllocationPools");
        assert_eq!(err.status(), 409);
        assert_eq!(err.to_string(), "Gateway ip 10.0.0.25 conflicts with allocation pool 10.0.0.20-10.0.0.29.");
        assert!(validate_pools(n, &pools, Some(ip("10.0.0.2"))).is_err());
        assert!(validate_pools(n, &pools, Some(ip("10.0.0.9"))).is_err());
        assert_eq!(validate_pools(n, &pools, Some(ip("10.0.0.10"))), Ok(()));
        assert_eq!(validate_pools(n, &pools, None), Ok(()));
        // Overlap is reported before the gateway conflict.
        let err =
            validate_pools(n, &[pool("10.0.0.2", "10.0.0.9"), pool("10.0.0.3", "10.0.0.4")], Some(ip("10.0.0.3")))
                .unwrap_err();
        assert_eq!(err.neutron_type(), "OverlappingAllocationPools");
        let n6 = net("2001:db8::/64");
        let err = validate_pools(n6, &[pool("2001:db8::1", "2001:db8::ff")], Some(ip("2001:db8::1"))).unwrap_err();
        assert_eq!(err.to_string(), "Gateway ip 2001:db8::1 conflicts with allocation pool 2001:db8::1-2001:db8::ff.");
    }

    #[test]
    fn sizes_and_membership() {
        let pools = [pool("10.0.0.2", "10.0.0.4"), pool("10.0.0.10", "10.0.0.10"), pool("10.0.0.9", "10.0.0.2")];
        assert_eq!(pools_size(&pools), 4);
        assert_eq!(pools_size(&[]), 0);
        assert!(pools_contain(&pools, ip("10.0.0.3")));
        assert!(pools_contain(&pools, ip("10.0.0.10")));
        assert!(!pools_contain(&pools, ip("10.0.0.5")));
        assert!(!pools_contain(&pools, ip("10.0.0.9")));
        let v6 = default_pools(net("2001:db8::/64"), Some(ip("2001:db8::1")));
        assert_eq!(pools_size(&v6), (1u128 << 64) - 2);
        let huge = [pool("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), pool("::1", "::2")];
        assert_eq!(pools_size(&huge), u128::MAX);
    }

    #[test]
    fn nth_and_iteration() {
        let pools = [pool("10.0.0.2", "10.0.0.4"), pool("10.0.0.9", "10.0.0.2"), pool("10.0.0.10", "10.0.0.11")];
        let expected: Vec<IpAddr> = ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.10", "10.0.0.11"].map(ip).to_vec();
        assert_eq!(iter_addresses(&pools).collect::<Vec<_>>(), expected);
        for (i, a) in expected.iter().enumerate() {
            assert_eq!(nth_address(&pools, i as u128), Some(*a));
        }
        assert_eq!(nth_address(&pools, 5), None);
        assert_eq!(nth_address(&[], 0), None);
        assert_eq!(iter_addresses(&[]).count(), 0);
        let v6 = default_pools(net("2001:db8::/64"), None);
        assert_eq!(nth_address(&v6, 0), Some(ip("2001:db8::1")));
        assert_eq!(nth_address(&v6, (1u128 << 64) - 2), Some(ip("2001:db8::ffff:ffff:ffff:ffff")));
        assert_eq!(nth_address(&v6, (1u128 << 64) - 1), None);
        assert_eq!(
            iter_addresses(&v6).take(3).collect::<Vec<_>>(),
            ["2001:db8::1", "2001:db8::2", "2001:db8::3"].map(ip).to_vec()
        );
        // The very top of the v6 space does not overflow.
        let top = [
            pool("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            Pool::single(ip("::1")),
        ];
        assert_eq!(
            iter_addresses(&top).collect::<Vec<_>>(),
            ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::1"]
                .map(ip)
                .to_vec()
        );
        let top4 = [pool("255.255.255.254", "255.255.255.255")];
        assert_eq!(iter_addresses(&top4).count(), 2);
    }
}

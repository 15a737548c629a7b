//! Choosing a free address from allocation pools, without I/O.
//!
//! The store drives the choice: first [`pick_address`] makes a few uniform
//! random probes over the pools, asking the caller whether each candidate is
//! taken; when every probe hits an allocated address the caller loads the
//! sorted list of allocated addresses and calls [`random_free`] (uniform
//! over the free addresses) or [`first_free`] (lowest free address in pool
//! order, what Neutron does for DHCP and distributed ports via
//! `PreferNextAddressRequest`).
//!
//! Neither fallback walks the free space: both only look at the allocated
//! list (binary searches plus, for `first_free`, the run of allocated
//! addresses at the start of a pool), so a /64 pool with millions of
//! allocations is handled in O(len) at worst.
//!
//! Neutron's own driver picks at random among the first 1000 free
//! addresses of the pools; this crate picks uniformly over all of them,
//! which spreads allocations and keeps probing effective.

use std::borrow::Cow;
use std::net::IpAddr;

use rand::Rng;

use crate::addr::{ip_to_u128, sort_key, to_ip, Family};
use crate::pools::{nth_address, pools_size, Pool};

/// Outcome of [`pick_address`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickResult {
    /// A probe hit an address the caller reported as free.
    Found(IpAddr),
    /// The pools contain no address at all (Neutron's
    /// `IpAddressGenerationFailure`).
    NoAddresses,
    /// Every probe hit an allocated address; the caller should fall back to
    /// [`random_free`] or [`first_free`] with the full allocated list.
    ProbesExhausted,
}

/// Makes up to `probes` uniform random picks over all the pool addresses
/// and returns the first one for which `is_allocated` is false.
pub fn pick_address<R, F>(pools: &[Pool], rng: &mut R, mut is_allocated: F, probes: usize) -> PickResult
where
    R: Rng + ?Sized,
    F: FnMut(IpAddr) -> bool,
{
    let total = pools_size(pools);
    if total == 0 {
        return PickResult::NoAddresses;
    }
    for _ in 0..probes {
        let n = rng.gen_range(0..total);
        if let Some(ip) = nth_address(pools, n) {
            if !is_allocated(ip) {
                return PickResult::Found(ip);
            }
        }
    }
    PickResult::ProbesExhausted
}

/// A set of allocated addresses prepared for [`first_free`],
/// [`random_free`] and [`count_free`]: a strictly increasing list.
///
/// Building it checks the caller's list in one linear pass and borrows it
/// when it already is strictly increasing (the expected case: the store
/// reads it `ORDER BY` address); otherwise it sorts and deduplicates a
/// copy. Build it once to serve several choices from the same list (e.g. a
/// bulk port create); the free functions build one per call.
#[derive(Debug, Clone)]
pub struct Allocated<'a> {
    addrs: Cow<'a, [IpAddr]>,
}

impl<'a> Allocated<'a> {
    /// Prepares a list that should be sorted ascending in `IpAddr` order
    /// (IPv4 before IPv6); duplicates, unsorted input, addresses outside any
    /// pool and either family are all tolerated.
    pub fn new(addrs: &'a [IpAddr]) -> Allocated<'a> {
        if addrs.windows(2).all(|w| w[0] < w[1]) {
            Allocated { addrs: Cow::Borrowed(addrs) }
        } else {
            Allocated::from_vec(addrs.to_vec())
        }
    }

    /// Takes ownership of a list, sorting and deduplicating it.
    pub fn from_vec(mut addrs: Vec<IpAddr>) -> Allocated<'static> {
        addrs.sort_unstable();
        addrs.dedup();
        Allocated { addrs: Cow::Owned(addrs) }
    }

    /// The strictly increasing addresses.
    pub fn as_slice(&self) -> &[IpAddr] {
        &self.addrs
    }

    /// Number of distinct addresses.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Whether there are no addresses.
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// Whether `ip` is in the set (binary search).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.addrs.binary_search(&ip).is_ok()
    }

    /// Index range of the addresses falling inside `s..=e` of `family`.
    fn range(&self, family: Family, s: u128, e: u128) -> (usize, usize) {
        let lo = self.addrs.partition_point(|a| sort_key(*a) < (family, s));
        let hi = self.addrs.partition_point(|a| sort_key(*a) <= (family, e));
        (lo, hi.max(lo))
    }

    /// Free addresses of one pool.
    fn pool_free(&self, pool: &Pool) -> u128 {
        match pool.bounds() {
            Some((family, s, e)) => {
                let (lo, hi) = self.range(family, s, e);
                pool.size().saturating_sub((hi - lo) as u128)
            }
            None => 0,
        }
    }

    /// Number of pool addresses not in the set (saturating at `u128::MAX`).
    pub fn count_free(&self, pools: &[Pool]) -> u128 {
        pools.iter().fold(0u128, |acc, p| acc.saturating_add(self.pool_free(p)))
    }

    /// The first pool address, walking the pools in order, not in the set.
    /// Costs two binary searches per pool plus the run of allocated
    /// addresses at the start of the pool where the answer lies.
    pub fn first_free(&self, pools: &[Pool]) -> Option<IpAddr> {
        for pool in pools {
            let Some((family, s, e)) = pool.bounds() else {
                continue;
            };
            let (mut idx, hi) = self.range(family, s, e);
            let mut candidate = s;
            loop {
                let taken = idx < hi && ip_to_u128(self.addrs[idx]) == candidate;
                if !taken {
                    return Some(to_ip(candidate, family));
                }
                if candidate == e {
                    break;
                }
                candidate += 1;
                idx += 1;
            }
        }
        None
    }

    /// A pool address not in the set, chosen uniformly among all of them;
    /// `None` when there is none. Costs O(pools × log len): the free
    /// addresses of each pool are counted, an index into them is drawn, and
    /// the address at that index is located by binary search over the
    /// allocated addresses of its pool. Pools are assumed disjoint
    /// (overlapping pools only skew the distribution).
    pub fn random_free<R: Rng + ?Sized>(&self, pools: &[Pool], rng: &mut R) -> Option<IpAddr> {
        let free: Vec<u128> = pools.iter().map(|p| self.pool_free(p)).collect();
        let total = free.iter().fold(0u128, |acc, f| acc.saturating_add(*f));
        if total == 0 {
            return None;
        }
        let mut k = rng.gen_range(0..total);
        for (pool, pool_free) in pools.iter().zip(free) {
            if k >= pool_free {
                k -= pool_free;
                continue;
            }
            let (family, s, e) = pool.bounds()?;
            let (lo, hi) = self.range(family, s, e);
            let j = free_index_offset(&self.addrs[lo..hi], s, k);
            let value = s.saturating_add(k).saturating_add(j as u128);
            return (value <= e).then(|| to_ip(value, family));
        }
        None
    }
}

/// Number of addresses of the pools not in `allocated_sorted` (see
/// [`Allocated::new`] for what the list may hold). Saturates at
/// `u128::MAX`.
pub fn count_free(pools: &[Pool], allocated_sorted: &[IpAddr]) -> u128 {
    Allocated::new(allocated_sorted).count_free(pools)
}

/// The first address, walking the pools in order, that is not in
/// `allocated_sorted`; `None` when every pool address is allocated.
///
/// `allocated_sorted` should be sorted ascending (`IpAddr` order); it may
/// contain duplicates and addresses outside the pools, and an unsorted list
/// is sorted internally (costing a copy). One linear pass over the list
/// checks its order; nothing iterates over free addresses.
pub fn first_free(pools: &[Pool], allocated_sorted: &[IpAddr]) -> Option<IpAddr> {
    Allocated::new(allocated_sorted).first_free(pools)
}

/// An address chosen uniformly among the pool addresses not in
/// `allocated_sorted`, or `None` when there is none.
///
/// Same input conventions and cost as [`first_free`] (one linear pass over
/// the list, then binary searches; see [`Allocated::random_free`]).
pub fn random_free<R: Rng + ?Sized>(pools: &[Pool], allocated_sorted: &[IpAddr], rng: &mut R) -> Option<IpAddr> {
    Allocated::new(allocated_sorted).random_free(pools, rng)
}

/// For the k-th free address (0-based) of a pool starting at `s`, the
/// number of allocated addresses (`in_pool`, strictly increasing, all in the
/// pool) that precede it.
///
/// The j-th allocated address a_j is preceded by a_j - s - j free addresses
/// of the pool, a count that never decreases with j; the answer is the
/// number of allocated addresses preceded by at most k free ones, and the
/// k-th free address is then s + k + answer.
fn free_index_offset(in_pool: &[IpAddr], s: u128, k: u128) -> usize {
    let (mut lo, mut hi) = (0usize, in_pool.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let free_before = ip_to_u128(in_pool[mid]).saturating_sub(s).saturating_sub(mid as u128);
        if free_before <= k {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::pools::{default_pools, iter_addresses, pools_contain};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn pool(s: &str, e: &str) -> Pool {
        Pool::new(ip(s), ip(e))
    }

    fn rng(seed: u64) -> StdRng {
        StdRng::seed_from_u64(seed)
    }

    /// Pools with gaps: .2-.4, .10-.12, .20
    fn gapped() -> Vec<Pool> {
        vec![pool("10.0.0.2", "10.0.0.4"), pool("10.0.0.10", "10.0.0.12"), Pool::single(ip("10.0.0.20"))]
    }

    #[test]
    fn pick_finds_free_addresses() {
        let pools = gapped();
        let mut r = rng(1);
        let taken: HashSet<IpAddr> = ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.10"].map(ip).into();
        for _ in 0..200 {
            match pick_address(&pools, &mut r, |a| taken.contains(&a), 64) {
                PickResult::Found(a) => {
                    assert!(pools_contain(&pools, a));
                    assert!(!taken.contains(&a));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn pick_is_uniform_enough() {
        let pools = gapped();
        let mut r = rng(2);
        let mut seen = BTreeSet::new();
        for _ in 0..500 {
            if let PickResult::Found(a) = pick_address(&pools, &mut r, |_| false, 1) {
                seen.insert(a);
            }
        }
        let all: BTreeSet<IpAddr> = iter_addresses(&pools).collect();
        assert_eq!(seen, all);
    }

    #[test]
    fn pick_reports_exhaustion() {
        let pools = gapped();
        let mut r = rng(3);
        let mut calls = 0;
        let res = pick_address(
            &pools,
            &mut r,
            |_| {
                calls += 1;
                true
            },
            5,
        );
        assert_eq!(res, PickResult::ProbesExhausted);
        assert_eq!(calls, 5);
        assert_eq!(pick_address(&pools, &mut r, |_| false, 0), PickResult::ProbesExhausted);
        assert_eq!(pick_address(&[], &mut r, |_| false, 5), PickResult::NoAddresses);
        assert_eq!(pick_address(&[pool("10.0.0.9", "10.0.0.1")], &mut r, |_| false, 5), PickResult::NoAddresses);
    }

    #[test]
    fn pick_over_a_v6_slash_64() {
        let pools = default_pools("2001:db8::/64".parse().unwrap(), Some(ip("2001:db8::1")));
        let mut r = rng(4);
        let PickResult::Found(a) = pick_address(&pools, &mut r, |_| false, 1) else {
            panic!("no address");
        };
        assert!(pools_contain(&pools, a));
    }

    #[test]
    fn first_free_basics() {
        let pools = gapped();
        assert_eq!(first_free(&pools, &[]), Some(ip("10.0.0.2")));
        assert_eq!(first_free(&pools, &[ip("10.0.0.2")]), Some(ip("10.0.0.3")));
        assert_eq!(first_free(&pools, &[ip("10.0.0.3")]), Some(ip("10.0.0.2")));
        let first_pool_full = ["10.0.0.2", "10.0.0.3", "10.0.0.4"].map(ip);
        assert_eq!(first_free(&pools, &first_pool_full), Some(ip("10.0.0.10")));
        let mut most =
            ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.10", "10.0.0.11", "10.0.0.12"].map(ip).to_vec();
        assert_eq!(first_free(&pools, &most), Some(ip("10.0.0.20")));
        most.push(ip("10.0.0.20"));
        assert_eq!(first_free(&pools, &most), None);
        assert_eq!(first_free(&[], &[]), None);
    }

    #[test]
    fn first_free_tolerates_messy_lists() {
        let pools = gapped();
        // Duplicates, out-of-pool and other-family entries.
        let list = ["10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3", "10.0.0.5", "::1", "::a00:4"].map(ip);
        assert_eq!(first_free(&pools, &list), Some(ip("10.0.0.4")));
        // Unsorted input is sorted internally.
        let unsorted = ["10.0.0.3", "10.0.0.2", "::1", "10.0.0.4"].map(ip);
        assert_eq!(first_free(&pools, &unsorted), Some(ip("10.0.0.10")));
        assert_eq!(count_free(&pools, &unsorted), 4);
    }

    #[test]
    fn first_free_follows_pool_order() {
        let pools = [pool("10.0.0.100", "10.0.0.101"), pool("10.0.0.2", "10.0.0.3")];
        assert_eq!(first_free(&pools, &[]), Some(ip("10.0.0.100")));
        assert_eq!(first_free(&pools, &[ip("10.0.0.100"), ip("10.0.0.101")]), Some(ip("10.0.0.2")));
    }

    #[test]
    fn first_free_at_the_top_of_the_space() {
        let top = [pool("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")];
        let all: Vec<IpAddr> = iter_addresses(&top).collect();
        assert_eq!(first_free(&top, &all), None);
        assert_eq!(first_free(&top, &all[..1]), Some(all[1]));
        let mut r = rng(5);
        assert_eq!(random_free(&top, &all[..1], &mut r), Some(all[1]));
        assert_eq!(random_free(&top, &all, &mut r), None);
    }

    #[test]
    fn counting() {
        let pools = gapped();
        assert_eq!(count_free(&pools, &[]), 7);
        assert_eq!(count_free(&pools, &["10.0.0.2", "10.0.0.11", "10.0.0.13"].map(ip)), 5);
        assert_eq!(count_free(&[], &[ip("10.0.0.1")]), 0);
    }

    #[test]
    fn random_free_on_pools_with_gaps() {
        let pools = gapped();
        let allocated = ["10.0.0.2", "10.0.0.4", "10.0.0.11", "10.0.0.12"].map(ip);
        let expected: BTreeSet<IpAddr> = ["10.0.0.3", "10.0.0.10", "10.0.0.20"].map(ip).into();
        let mut r = rng(6);
        let mut seen = BTreeSet::new();
        for _ in 0..300 {
            let a = random_free(&pools, &allocated, &mut r).unwrap();
            assert!(expected.contains(&a), "{a}");
            seen.insert(a);
        }
        assert_eq!(seen, expected);
        let everything: Vec<IpAddr> = iter_addresses(&pools).collect();
        assert_eq!(random_free(&pools, &everything, &mut r), None);
        assert_eq!(random_free(&[], &[], &mut r), None);
    }

    #[test]
    fn random_free_property() {
        // Small v4 and v6 pool sets with gaps; random allocated subsets
        // (plus noise outside the pools): every draw must be free and in a
        // pool, and enough draws must hit every free address.
        let v4 = vec![pool("10.0.0.2", "10.0.0.9"), pool("10.0.0.20", "10.0.0.24"), Pool::single(ip("10.0.0.40"))];
        let v6 = vec![pool("2001:db8::2", "2001:db8::7"), pool("2001:db8::100", "2001:db8::103")];
        let noise = ["10.0.0.1", "10.0.0.15", "10.0.0.255", "2001:db8::1", "2001:db8::ffff"].map(ip);
        let mut r = rng(7);
        for pools in [v4, v6] {
            let universe: Vec<IpAddr> = iter_addresses(&pools).collect();
            for round in 0..200 {
                let mut allocated: Vec<IpAddr> = universe.iter().copied().filter(|_| r.gen_bool(0.5)).collect();
                if round % 3 == 0 {
                    allocated.extend(noise);
                }
                if round % 5 == 0 {
                    allocated.extend(allocated.clone()); // duplicates
                }
                allocated.sort();
                let taken: HashSet<IpAddr> = allocated.iter().copied().collect();
                let free: BTreeSet<IpAddr> = universe.iter().copied().filter(|a| !taken.contains(a)).collect();
                assert_eq!(count_free(&pools, &allocated), free.len() as u128);
                assert_eq!(first_free(&pools, &allocated), universe.iter().copied().find(|a| !taken.contains(a)));
                let mut seen = BTreeSet::new();
                for _ in 0..(free.len() * 40 + 1) {
                    match random_free(&pools, &allocated, &mut r) {
                        Some(a) => {
                            assert!(pools_contain(&pools, a), "{a} outside pools");
                            assert!(!taken.contains(&a), "{a} is allocated");
                            seen.insert(a);
                        }
                        None => assert!(free.is_empty()),
                    }
                }
                assert_eq!(seen, free, "round {round}");
            }
        }
    }

    #[test]
    fn huge_v6_pool_with_millions_of_allocations() {
        let cidr = "2001:db8::/64".parse().unwrap();
        let pools = default_pools(cidr, Some(ip("2001:db8::1")));
        let base = ip_to_u128(ip("2001:db8::2"));
        // The first two million pool addresses are taken, plus a sparse
        // tail; the fallbacks only look at this list, never at free space.
        let mut list: Vec<IpAddr> = (0..2_000_000u128).map(|i| to_ip(base + i, Family::V6)).collect();
        list.extend((1..1000u128).map(|i| to_ip(base + (i << 40), Family::V6)));
        assert_eq!(first_free(&pools, &list), Some(to_ip(base + 2_000_000, Family::V6)));
        assert_eq!(count_free(&pools, &list), (1u128 << 64) - 2 - 2_000_999);
        let mut r = rng(8);
        for _ in 0..3 {
            let a = random_free(&pools, &list, &mut r).unwrap();
            assert!(pools_contain(&pools, a));
            assert!(list.binary_search(&a).is_err());
        }
        // Prepared once, many draws.
        let allocated = Allocated::new(&list);
        assert_eq!(allocated.len(), list.len());
        for _ in 0..2000 {
            let a = allocated.random_free(&pools, &mut r).unwrap();
            assert!(pools_contain(&pools, a));
            assert!(!allocated.contains(a));
        }
        // A pool that is almost full: one free address after a dense block.
        let small = [Pool::new(to_ip(base, Family::V6), to_ip(base + 2_000_000, Family::V6))];
        for _ in 0..20 {
            assert_eq!(allocated.random_free(&small, &mut r), Some(to_ip(base + 2_000_000, Family::V6)));
        }
        assert_eq!(allocated.count_free(&small), 1);
        // Nearly full pool with the hole in the middle of the block.
        let mut holed = list.clone();
        let hole = holed.remove(1_234_567);
        let holed = Allocated::from_vec(holed);
        let block = [Pool::new(to_ip(base, Family::V6), to_ip(base + 1_999_999, Family::V6))];
        for _ in 0..20 {
            assert_eq!(holed.random_free(&block, &mut r), Some(hole));
        }
        assert_eq!(holed.first_free(&block), Some(hole));
        assert_eq!(holed.count_free(&block), 1);
        assert_eq!(allocated.first_free(&block), None);
        assert_eq!(allocated.random_free(&block, &mut r), None);
    }

    #[test]
    fn allocated_set_normalises() {
        let a = Allocated::new(&[]);
        assert!(a.is_empty());
        let list = ["10.0.0.3", "::1", "10.0.0.1", "10.0.0.3"].map(ip);
        let a = Allocated::new(&list);
        assert_eq!(a.as_slice(), &["10.0.0.1", "10.0.0.3", "::1"].map(ip));
        assert_eq!(a.len(), 3);
        assert!(a.contains(ip("::1")));
        assert!(!a.contains(ip("10.0.0.2")));
        let sorted = ["10.0.0.1", "10.0.0.3"].map(ip);
        assert!(matches!(Allocated::new(&sorted).addrs, Cow::Borrowed(_)));
        assert_eq!(Allocated::from_vec(list.to_vec()).as_slice(), a.as_slice());
    }

    #[test]
    fn free_index_offset_matches_a_linear_scan() {
        let s = 100u128;
        let in_pool: Vec<IpAddr> = [100u128, 101, 104, 105, 106, 110].iter().map(|v| to_ip(*v, Family::V4)).collect();
        let taken: HashSet<u128> = in_pool.iter().map(|a| ip_to_u128(*a)).collect();
        let free: Vec<u128> = (100u128..=120).filter(|v| !taken.contains(v)).collect();
        for (k, expected) in free.iter().enumerate() {
            let j = free_index_offset(&in_pool, s, k as u128);
            assert_eq!(s + k as u128 + j as u128, *expected, "k={k}");
        }
    }
}

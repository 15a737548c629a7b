//! Pure IP address management arithmetic for Neutrino, following OpenStack
//! Neutron's semantics: subnet cidr validation, gateway defaults and rules,
//! allocation pools (defaults, validation, arithmetic), free-address
//! selection, MAC address parsing/generation and IPv6 EUI-64 addresses.
//!
//! The crate performs no I/O. Errors are [`IpamError`] values carrying
//! Neutron's exception name, HTTP status and message.
//!
//! Module overview:
//! * [`addr`] — address families and the integer view of addresses;
//! * [`cidr`] — subnet cidr parsing/validation and address predicates;
//! * [`gateway`] — default gateway and gateway validation;
//! * [`pools`] — allocation pools: defaults, validation, arithmetic;
//! * [`pick`] — choosing a free address;
//! * [`mac`] — MAC addresses;
//! * [`eui64`] — IPv6 SLAAC addresses.
//!
//! # Example: creating a subnet and allocating from it
//!
//! ```
//! use neutrino_ipam::{
//!     default_gateway, default_pools, first_free, parse_cidr, pick_address, validate_gateway,
//!     validate_pools, PickResult,
//! };
//! use rand::SeedableRng;
//!
//! # fn main() -> Result<(), neutrino_ipam::IpamError> {
//! let cidr = parse_cidr("10.0.0.5/24", Some(4))?; // host bits cleared
//! assert_eq!(cidr.to_string(), "10.0.0.0/24");
//! let gateway = default_gateway(cidr); // 10.0.0.1
//! if let Some(gw) = gateway {
//!     validate_gateway(cidr, gw)?;
//! }
//! let pools = default_pools(cidr, gateway); // 10.0.0.2-10.0.0.254
//! validate_pools(cidr, &pools, gateway)?;
//! assert_eq!(pools[0].to_string(), "10.0.0.2-10.0.0.254");
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(7);
//! let allocated = vec!["10.0.0.2".parse().unwrap()];
//! let ip = match pick_address(&pools, &mut rng, |ip| allocated.contains(&ip), 8) {
//!     PickResult::Found(ip) => Some(ip),
//!     PickResult::ProbesExhausted => first_free(&pools, &allocated),
//!     PickResult::NoAddresses => None,
//! };
//! assert!(ip.is_some_and(|ip| !allocated.contains(&ip)));
//! # Ok(())
//! # }
//! ```

pub mod addr;
pub mod cidr;
pub mod error;
pub mod eui64;
pub mod gateway;
pub mod mac;
pub mod pick;
pub mod pools;

pub use addr::{ip_to_u128, u128_to_ip, Family};
pub use cidr::{
    check_ip_version, check_net_version, cidrs_overlap, ip_in_cidr, is_valid_host_address, is_valid_router_address,
    parse_cidr, validate_dhcp_cidr,
};
pub use error::IpamError;
pub use eui64::eui64_address;
pub use gateway::{default_gateway, validate_gateway};
pub use mac::{format_mac, generate_mac, is_multicast_mac, parse_base_mac, parse_mac};
pub use pick::{count_free, first_free, pick_address, random_free, Allocated, PickResult};
pub use pools::{
    default_pools, iter_addresses, nth_address, pools_contain, pools_size, validate_pools, AddressIter, Pool,
};

/// Re-export of the network types used throughout the API.
pub use ipnet::{IpNet, Ipv4Net, Ipv6Net};

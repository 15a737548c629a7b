//! The error type of the crate.
//!
//! Every variant corresponds to one Neutron exception (or to one message of
//! Neutron's generic `InvalidInput` / attribute-validation `HTTPBadRequest`).
//! [`IpamError::neutron_type`] gives the exception class name Neutron puts in
//! the `type` field of its error body, [`IpamError::status`] the HTTP status
//! Neutron's fault map assigns to it, and `Display` is Neutron's message with
//! the values filled in.

use std::net::IpAddr;

use ipnet::IpNet;

/// An IPAM validation or computation error, mirroring Neutron's exceptions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    /// The cidr string cannot be parsed as an address with a prefix at all
    /// (neutron-lib's `convert_cidr_to_canonical_format`, raised as
    /// `InvalidInput`).
    #[error("Invalid input for operation: {cidr} is not in a CIDR format.")]
    CidrFormat {
        /// The string as supplied by the caller.
        cidr: String,
    },

    /// The cidr is an address but not a subnet, e.g. it lacks the `/prefix`
    /// part (neutron-lib's `validate_subnet`, reported by the API layer as an
    /// `HTTPBadRequest` for attribute `cidr`).
    #[error("Invalid input for cidr. Reason: '{cidr}' is not a valid IP subnet.")]
    InvalidSubnet {
        /// The string as supplied by the caller.
        cidr: String,
    },

    /// An address or cidr does not belong to the requested IP version
    /// (Neutron's `_validate_ip_version`, raised as `InvalidInput`).
    #[error("Invalid input for operation: {name} '{addr}' does not match the ip_version '{ip_version}'.")]
    IpVersionMismatch {
        /// The attribute name: `cidr`, `gateway_ip`, `dns_nameserver`, ...
        name: String,
        /// The offending value.
        addr: String,
        /// The subnet's `ip_version`.
        ip_version: u8,
    },

    /// A subnet cidr with prefix length 0 (Neutron's `_validate_subnet_cidr`).
    #[error("Invalid input for operation: 0 is not allowed as CIDR prefix length.")]
    ZeroPrefixLength,

    /// A new subnet overlaps an existing one on the network (Neutron's
    /// `_validate_subnet_cidr`). Neutron's message has no closing period of
    /// its own; `InvalidInput` appends one.
    #[error(
        "Invalid input for operation: Requested subnet with cidr: {cidr} for network: {network_id} overlaps with another subnet."
    )]
    SubnetOverlap {
        /// The requested (normalised) cidr.
        cidr: IpNet,
        /// The network the subnet is being created on.
        network_id: String,
    },

    /// The gateway is the network address or (IPv4) the last address of the
    /// subnet (Neutron's `check_gateway_invalid_in_subnet`).
    #[error("Invalid input for operation: Gateway is not valid on subnet.")]
    InvalidGateway,

    /// DHCP enabled on a v4 subnet longer than /30 or a v6 subnet longer
    /// than /126.
    #[error("Invalid input for operation: Subnet has a prefix length that is incompatible with DHCP service enabled.")]
    DhcpPrefixLength,

    /// DHCP enabled on a multicast subnet.
    #[error("Invalid input for operation: Multicast IP subnet is not supported if enable_dhcp is True.")]
    DhcpMulticast,

    /// DHCP enabled on a loopback subnet.
    #[error("Invalid input for operation: Loopback IP subnet is not supported if enable_dhcp is True.")]
    DhcpLoopback,

    /// DHCP enabled on a v4 subnet starting at 0.0.0.0. Neutron's own
    /// message already ends with a period and `InvalidInput` appends another
    /// one; the doubled period is reproduced on purpose.
    #[error("Invalid input for operation: First IP '0.0.0.0' of network is not supported if enable_dhcp is True..")]
    DhcpFirstIpZero,

    /// An allocation pool whose bounds are unusable: start after end, the
    /// two ends of different families, or a family other than the subnet's.
    #[error("The allocation pool {pool} is not valid.")]
    InvalidAllocationPool {
        /// The pool as Neutron renders it (`start-end`, or Neutron's dict
        /// form `{'start': '…', 'end': '…'}` when the bounds could not even
        /// form a range).
        pool: String,
    },

    /// An allocation pool reaching outside the usable part of the cidr
    /// (this includes the network address, and the broadcast address on v4).
    #[error("The allocation pool {pool} spans beyond the subnet cidr {subnet_cidr}.")]
    OutOfBoundsAllocationPool {
        /// The pool, rendered `start-end`.
        pool: String,
        /// The subnet cidr.
        subnet_cidr: IpNet,
    },

    /// Two allocation pools share at least one address.
    #[error("Found overlapping allocation pools: {pool_1} {pool_2} for subnet {subnet_cidr}.")]
    OverlappingAllocationPools {
        /// The earlier pool in request order, rendered `start-end`.
        pool_1: String,
        /// The later pool in request order, rendered `start-end`.
        pool_2: String,
        /// The subnet cidr.
        subnet_cidr: IpNet,
    },

    /// The gateway address lies inside an allocation pool.
    #[error("Gateway ip {ip_address} conflicts with allocation pool {pool}.")]
    GatewayConflictWithAllocationPools {
        /// The gateway address.
        ip_address: IpAddr,
        /// The first pool (in request order) containing it, `start-end`.
        pool: String,
    },

    /// A MAC address string Neutron's `validate_mac_address` rejects.
    #[error("Invalid input for mac_address. Reason: '{mac}' is not a valid MAC address.")]
    InvalidMacAddress {
        /// The string as supplied by the caller.
        mac: String,
    },

    /// An unusable `base_mac` configuration value.
    #[error("An invalid value was provided for base_mac: {value}.")]
    InvalidBaseMac {
        /// The configured value.
        value: String,
    },

    /// EUI-64 (SLAAC) addressing requested on a prefix that is not a /64.
    #[error(
        "Invalid input for operation: Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64."
    )]
    Eui64PrefixLength {
        /// The offending prefix.
        cidr: IpNet,
    },
}

impl IpamError {
    /// The Neutron exception class name reported in the `type` field of a
    /// Neutron error body (`NeutronError.type`).
    pub fn neutron_type(&self) -> &'static str {
        match self {
            IpamError::CidrFormat { .. }
            | IpamError::IpVersionMismatch { .. }
            | IpamError::ZeroPrefixLength
            | IpamError::SubnetOverlap { .. }
            | IpamError::InvalidGateway
            | IpamError::DhcpPrefixLength
            | IpamError::DhcpMulticast
            | IpamError::DhcpLoopback
            | IpamError::DhcpFirstIpZero
            | IpamError::Eui64PrefixLength { .. } => "InvalidInput",
            IpamError::InvalidSubnet { .. } | IpamError::InvalidMacAddress { .. } => "HTTPBadRequest",
            IpamError::InvalidAllocationPool { .. } => "InvalidAllocationPool",
            IpamError::OutOfBoundsAllocationPool { .. } => "OutOfBoundsAllocationPool",
            IpamError::OverlappingAllocationPools { .. } => "OverlappingAllocationPools",
            IpamError::GatewayConflictWithAllocationPools { .. } => "GatewayConflictWithAllocationPools",
            IpamError::InvalidBaseMac { .. } => "InvalidConfigurationOption",
        }
    }

    /// The HTTP status Neutron's fault map gives the exception: 400 for
    /// `BadRequest` subclasses, 409 for `Conflict` and `InUse` subclasses and
    /// 500 for a bad configuration value.
    pub fn status(&self) -> u16 {
        match self {
            IpamError::OverlappingAllocationPools { .. } | IpamError::GatewayConflictWithAllocationPools { .. } => 409,
            IpamError::InvalidBaseMac { .. } => 500,
            _ => 400,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn messages_and_kinds() {
        let cases: Vec<(IpamError, &str, u16, &str)> = vec![
            (
                IpamError::CidrFormat { cidr: "x/24".into() },
                "InvalidInput",
                400,
                "Invalid input for operation: x/24 is not in a CIDR format.",
            ),
            (
                IpamError::InvalidSubnet { cidr: "10.0.0.0".into() },
                "HTTPBadRequest",
                400,
                "Invalid input for cidr. Reason: '10.0.0.0' is not a valid IP subnet.",
            ),
            (
                IpamError::IpVersionMismatch {
                    name: "cidr".into(),
                    addr: "10.0.0.0/24".into(),
                    ip_version: 6,
                },
                "InvalidInput",
                400,
                "Invalid input for operation: cidr '10.0.0.0/24' does not match the ip_version '6'.",
            ),
            (
                IpamError::ZeroPrefixLength,
                "InvalidInput",
                400,
                "Invalid input for operation: 0 is not allowed as CIDR prefix length.",
            ),
            (
                IpamError::SubnetOverlap {
                    cidr: net("10.0.0.0/24"),
                    network_id: "n1".into(),
                },
                "InvalidInput",
                400,
                "Invalid input for operation: Requested subnet with cidr: 10.0.0.0/24 for network: n1 overlaps with another subnet.",
            ),
            (
                IpamError::InvalidGateway,
                "InvalidInput",
                400,
                "Invalid input for operation: Gateway is not valid on subnet.",
            ),
            (
                IpamError::DhcpPrefixLength,
                "InvalidInput",
                400,
                "Invalid input for operation: Subnet has a prefix length that is incompatible with DHCP service enabled.",
            ),
            (
                IpamError::DhcpMulticast,
                "InvalidInput",
                400,
                "Invalid input for operation: Multicast IP subnet is not supported if enable_dhcp is True.",
            ),
            (
                IpamError::DhcpLoopback,
                "InvalidInput",
                400,
                "Invalid input for operation: Loopback IP subnet is not supported if enable_dhcp is True.",
            ),
            (
                IpamError::DhcpFirstIpZero,
                "InvalidInput",
                400,
                "Invalid input for operation: First IP '0.0.0.0' of network is not supported if enable_dhcp is True..",
            ),
            (
                IpamError::InvalidAllocationPool { pool: "10.0.0.9-10.0.0.2".into() },
                "InvalidAllocationPool",
                400,
                "The allocation pool 10.0.0.9-10.0.0.2 is not valid.",
            ),
            (
                IpamError::OutOfBoundsAllocationPool {
                    pool: "10.0.0.0-10.0.0.9".into(),
                    subnet_cidr: net("10.0.0.0/24"),
                },
                "OutOfBoundsAllocationPool",
                400,
                "The allocation pool 10.0.0.0-10.0.0.9 spans beyond the subnet cidr 10.0.0.0/24.",
            ),
            (
                IpamError::OverlappingAllocationPools {
                    pool_1: "10.0.0.2-10.0.0.9".into(),
                    pool_2: "10.0.0.5-10.0.0.20".into(),
                    subnet_cidr: net("10.0.0.0/24"),
                },
                "OverlappingAllocationPools",
                409,
                "Found overlapping allocation pools: 10.0.0.2-10.0.0.9 10.0.0.5-10.0.0.20 for subnet 10.0.0.0/24.",
            ),
            (
                IpamError::GatewayConflictWithAllocationPools {
                    ip_address: "10.0.0.5".parse().unwrap(),
                    pool: "10.0.0.2-10.0.0.9".into(),
                },
                "GatewayConflictWithAllocationPools",
                409,
                "Gateway ip 10.0.0.5 conflicts with allocation pool 10.0.0.2-10.0.0.9.",
            ),
            (
                IpamError::InvalidMacAddress { mac: "zz".into() },
                "HTTPBadRequest",
                400,
                "Invalid input for mac_address. Reason: 'zz' is not a valid MAC address.",
            ),
            (
                IpamError::InvalidBaseMac { value: "fa:16".into() },
                "InvalidConfigurationOption",
                500,
                "An invalid value was provided for base_mac: fa:16.",
            ),
            (
                IpamError::Eui64PrefixLength { cidr: net("2001:db8::/56") },
                "InvalidInput",
                400,
                "Invalid input for operation: Invalid CIDR 2001:db8::/56 for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64.",
            ),
        ];
        for (err, kind, status, msg) in cases {
            assert_eq!(err.neutron_type(), kind, "{err:?}");
            assert_eq!(err.status(), status, "{err:?}");
            assert_eq!(err.to_string(), msg);
        }
    }
}

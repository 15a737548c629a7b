//! Neutron v2.0 resource shapes, error kinds and device-name derivation.
//!
//! Everything here is plain data: no I/O. The server stores resources as the
//! JSON documents these types serialise to, so the field names and renames
//! below *are* the wire format of the API.
#![warn(missing_docs)]

pub mod agent;
pub mod fault;
pub mod l2;
pub mod l3;
pub mod names;
pub mod network;
pub mod port;
pub mod rbac;
pub mod router;
pub mod security_group;
pub mod sg;
pub mod subnet;
pub mod time;

pub use agent::Agent;
pub use fault::Fault;
pub use network::Network;
pub use port::{AllowedAddressPair, ExtraDhcpOpt, FixedIp, Port};
pub use rbac::RbacPolicy;
pub use router::{ExternalFixedIp, ExternalGatewayInfo, FloatingIp, PortForwarding, Router};
pub use security_group::{SecurityGroup, SecurityGroupRule};
pub use subnet::{AllocationPool, HostRoute, Subnet};

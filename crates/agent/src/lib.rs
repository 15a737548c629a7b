//! Neutrino's node agents. The L2 agent is level-triggered: it reads what
//! its host should have from the server (the agent channel), compares it
//! with what the kernel has, and changes only the difference — at start,
//! after every change it hears of, and when it lost track of the change
//! log. The kernel is reached only through [`dataplane::Dataplane`]. With
//! `[securitygroup] firewall_driver` set, it also filters its ports by
//! their security groups ([`firewall`], nftables).
#![warn(missing_docs)]

pub mod channel;
pub mod daemon;
pub mod dataplane;
pub mod dhcp;
pub mod firewall;
pub mod l2;
pub mod l3;
pub mod metadata;
pub mod nat;
pub mod ovs;
pub mod reconcile;
pub mod state;

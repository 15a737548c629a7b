//! Open vSwitch: the OVSDB client and the OVS agent's bridge layout
//! (`br-int`, `br-tun`, provider bridges), and a per-node userspace OVS
//! instance for machines without systemd (tests, one-machine setups).

pub mod agent;
pub mod bridges;
pub mod firewall;
pub mod flows;
pub mod hybrid;
pub mod instance;
pub mod ovsdb;
pub mod ports;
pub mod provider;
pub mod rows;
pub mod tunnels;

//! The `agent` resource: an agent process on a host, as it reported itself.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Neutron's `agent_type` of the Linux bridge L2 agent.
pub const LINUX_BRIDGE_AGENT: &str = "Linux bridge agent";
/// Neutron's `agent_type` of the Open vSwitch L2 agent.
pub const OVS_AGENT: &str = "Open vSwitch agent";

/// An agent as stored (the API adds `alive`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// UUID.
    pub id: String,
    /// `Linux bridge agent`, `DHCP agent`, …
    pub agent_type: String,
    /// `neutron-linuxbridge-agent`, …
    pub binary: String,
    /// The host it runs on.
    pub host: String,
    /// Its message topic (`N/A` for L2 agents, as Neutron reports).
    pub topic: String,
    /// Whether the operator lets it serve.
    pub admin_state_up: bool,
    /// What it reported about itself (mappings, tunnel types, local_ip, …).
    pub configurations: Map<String, Value>,
    /// First report (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub created_at: String,
    /// Last start of the process.
    pub started_at: String,
    /// Last report.
    pub heartbeat_timestamp: String,
    /// Operator's description.
    pub description: Option<String>,
    /// Availability zone (DHCP and L3 agents).
    pub availability_zone: Option<String>,
    /// Whether it has synced its resources since it started.
    pub resources_synced: Option<bool>,
}

/// Neutron's agent timestamp form: `2026-11-27 05:40:00`.
pub fn agent_time(unix_secs: i64) -> String {
    crate::time::format_timestamp(unix_secs).replace('T', " ").trim_end_matches('Z').to_string()
}

/// Seconds since the epoch of an agent timestamp.
pub fn parse_agent_time(text: &str) -> Option<i64> {
    crate::time::parse_timestamp(&format!("{}Z", text.replacen(' ', "T", 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_times_round_trip() {
        assert_eq!(agent_time(1_476_110_147), "2016-10-10 14:35:47");
        assert_eq!(parse_agent_time("2016-10-10 14:35:47"), Some(1_476_110_147));
        assert_eq!(parse_agent_time("yesterday"), None);
    }
}

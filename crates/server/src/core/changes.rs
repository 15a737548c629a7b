//! Appending committed changes to the change log agents stream, and waking
//! the agents waiting on this server.

use neutrino_model::fault::Resource;
use neutrino_store::{Change, Tx};
use serde_json::Value;

use super::{now, Plugin};
use crate::error::PluginResult;

/// `create`, `update` or `delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Create,
    Update,
    Delete,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
}

/// The change record of `doc` (a resource's API document).
pub(crate) fn change_of(resource: Resource, op: Op, doc: &Value) -> Change {
    let text = |k: &str| doc.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let network_id = match resource {
        Resource::Network => text("id"),
        Resource::Subnet | Resource::Port => text("network_id"),
        Resource::RbacPolicy => text("object_id"),
        Resource::FloatingIp => text("floating_network_id"),
        Resource::Router | Resource::SecurityGroup | Resource::SecurityGroupRule => None,
    };
    Change {
        seq: 0,
        resource: resource.singular().to_string(),
        resource_id: text("id").unwrap_or_default(),
        revision: doc.get("revision_number").and_then(Value::as_i64).unwrap_or(0),
        op: op.as_str().to_string(),
        network_id,
        host: text("binding:host_id"),
        committed_at: now(),
    }
}

impl Plugin {
    /// Records a change of `doc` in the transaction that makes it.
    pub(crate) async fn log_change(&self, tx: &mut Tx, resource: Resource, op: Op, doc: &Value) -> PluginResult<()> {
        tx.append_change(&change_of(resource, op, doc)).await?;
        Ok(())
    }

    /// Drops all but the newest `keep` changes; agents behind the cut
    /// resync from the full state. Returns how many went.
    pub async fn compact_change_log(&self, keep: i64) -> PluginResult<usize> {
        let mut tx = self.begin().await?;
        let (_, last) = tx.change_bounds().await?;
        let n = if last > keep { tx.compact_changes(last - keep).await? } else { 0 };
        tx.commit().await?;
        if last > keep {
            self.feed.forget_upto(last - keep);
        }
        Ok(n)
    }

    /// Wakes the change streams waiting on this server (after a commit).
    pub(crate) fn changed(&self) {
        self.feed.nudge();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_change_names_its_network_and_host() {
        let doc =
            serde_json::json!({"id": "p1", "network_id": "n1", "revision_number": 3, "binding:host_id": "node-1"});
        let c = change_of(Resource::Port, Op::Update, &doc);
        assert_eq!((c.resource.as_str(), c.resource_id.as_str(), c.revision), ("port", "p1", 3));
        assert_eq!((c.network_id.as_deref(), c.host.as_deref()), (Some("n1"), Some("node-1")));
        let unbound = serde_json::json!({"id": "p2", "network_id": "n1", "binding:host_id": ""});
        assert_eq!(change_of(Resource::Port, Op::Delete, &unbound).host, None);
        let net = serde_json::json!({"id": "n1", "revision_number": 1});
        assert_eq!(change_of(Resource::Network, Op::Create, &net).network_id.as_deref(), Some("n1"));
    }
}

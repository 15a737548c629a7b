//! The hybrid plug (Neutron's `ovs_hybrid_plug`, which the
//! `iptables_hybrid` firewall driver asks for): an instance's `tap…` sits
//! on a Linux bridge of its own, `qbr…`, with one end of a veth pair,
//! `qvb…`; the other end, `qvo…`, is the port's port on the integration
//! bridge. On `qbr…` the kernel's bridge netfilter shows the instance's
//! frames to the security-group firewall ([`crate::firewall`]), as a
//! network's bridge does for the Linux bridge agent — Open vSwitch alone
//! would not.
//!
//! The compute side creates only the `tap…`; this agent builds the rest and
//! takes it down again (Neutron leaves that to Nova's os-vif), level-
//! triggered from the kernel's links: what exists and is right is left
//! alone, so a restarted agent changes nothing under live traffic. Only
//! devices the agent made (its alias) are ever deleted.

use std::collections::BTreeSet;

use neutrino_model::names;

use crate::dataplane::{Link, Op, Snapshot};

/// Default MTU when the instance's device reports none.
const DEFAULT_MTU: u32 = 1500;

/// The kernel changes that give each of `ports` (port ids whose `tap…`
/// exists in `snapshot`) its `qbr…` with the `tap…` and a `qvb…`/`qvo…`
/// veth of the tap's MTU, all up; and that delete the agent's `qbr…`
/// bridges and `qvb…` veths (with their `qvo…` peer) of ports no longer
/// plugged this way.
pub fn plan(ports: &[String], snapshot: &Snapshot) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut keep: BTreeSet<String> = BTreeSet::new();
    for id in ports {
        let Some(tap) = snapshot.link(&names::tap_device(id)) else { continue };
        let (qbr, qvb, qvo) = (names::hybrid_bridge(id), names::hybrid_bridge_veth(id), names::hybrid_ovs_veth(id));
        let mtu = if tap.mtu == 0 { DEFAULT_MTU } else { tap.mtu };
        let bridge = snapshot.link(&qbr);
        if bridge.is_none() {
            ops.push(Op::AddBridge { name: qbr.clone() });
        }
        up(&mut ops, &qbr, bridge);
        let (b, o) = (snapshot.link(&qvb), snapshot.link(&qvo));
        let paired = matches!((b, o), (Some(b), Some(_)) if b.peer.as_deref() == Some(qvo.as_str()));
        if !paired {
            // Half a pair, or two strangers: make it again (only ends of ours go).
            for end in [b, o].into_iter().flatten().filter(|l| l.owned) {
                ops.push(Op::DelLink { name: end.name.clone() });
            }
            ops.push(Op::AddVeth { name: qvb.clone(), peer: qvo.clone(), mtu });
        } else {
            for end in [b, o].into_iter().flatten().filter(|l| l.mtu != mtu) {
                ops.push(Op::SetMtu { dev: end.name.clone(), mtu });
            }
        }
        let (b, o) = if paired { (b, o) } else { (None, None) };
        for (dev, link) in [(&tap.name, Some(tap)), (&qvb, b)] {
            if link.and_then(|l| l.master.as_deref()) != Some(qbr.as_str()) {
                ops.push(Op::SetMaster { dev: dev.clone(), master: qbr.clone() });
            }
        }
        up(&mut ops, &qvb, b);
        up(&mut ops, &qvo, o);
        up(&mut ops, &tap.name, Some(tap));
        keep.extend([qbr, qvb]);
    }
    let stale = |l: &&Link| {
        l.owned
            && !keep.contains(&l.name)
            && ((l.kind == "bridge" && l.name.starts_with("qbr")) || (l.kind == "veth" && l.name.starts_with("qvb")))
    };
    ops.extend(snapshot.links.iter().filter(stale).map(|l| Op::DelLink { name: l.name.clone() }));
    ops
}

/// Brings `dev` up unless `link` (what the kernel has of it) is up already.
fn up(ops: &mut Vec<Op>, dev: &str, link: Option<&Link>) {
    if !link.is_some_and(|l| l.up) {
        ops.push(Op::SetUp { dev: dev.to_string() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::{Dataplane, Memory};

    const P: &str = "4e8e5957-649f-477b-9e5b-f1f75b21c03c";
    const Q: &str = "5f9f6a68-0000-4000-8000-000000000002";

    fn tap(id: &str, mtu: u32) -> Link {
        Link {
            name: names::tap_device(id),
            kind: "veth".into(),
            master: None,
            up: false,
            vni: None,
            local: None,
            mtu,
            peer: None,
            owned: false,
        }
    }

    async fn kernel_after(k: &Memory, ports: &[String]) -> (Vec<Op>, Snapshot) {
        let ops = plan(ports, &k.snapshot().await.unwrap_or_default());
        k.apply(&ops).await.unwrap_or_default();
        (ops, k.snapshot().await.unwrap_or_default())
    }

    #[tokio::test]
    async fn builds_the_plug_once_and_then_leaves_it_alone() {
        let k = Memory::with_links(vec![tap(P, 1450)]);
        let ports = vec![P.to_string()];
        let (ops, s) = kernel_after(&k, &ports).await;
        assert!(ops.contains(&Op::AddBridge { name: "qbr4e8e5957-64".into() }), "{ops:?}");
        assert!(
            ops.contains(&Op::AddVeth { name: "qvb4e8e5957-64".into(), peer: "qvo4e8e5957-64".into(), mtu: 1450 }),
            "the veth takes the instance's MTU: {ops:?}"
        );
        for dev in ["tap4e8e5957-64", "qvb4e8e5957-64"] {
            assert_eq!(s.link(dev).and_then(|l| l.master.as_deref()), Some("qbr4e8e5957-64"), "{dev}");
        }
        for dev in ["tap4e8e5957-64", "qbr4e8e5957-64", "qvb4e8e5957-64", "qvo4e8e5957-64"] {
            assert!(s.link(dev).is_some_and(|l| l.up), "{dev} up");
        }
        assert_eq!(s.link("qvo4e8e5957-64").and_then(|l| l.master.as_deref()), None, "qvo is Open vSwitch's");
        let (again, _) = kernel_after(&k, &ports).await;
        assert!(again.is_empty(), "a second round changes nothing: {again:?}");
    }

    #[tokio::test]
    async fn repairs_half_a_pair_and_follows_the_mtu() {
        let k = Memory::with_links(vec![tap(P, 1500)]);
        let ports = vec![P.to_string()];
        kernel_after(&k, &ports).await;
        // Someone deleted the veth.
        k.apply(&[Op::DelLink { name: "qvo4e8e5957-64".into() }]).await.unwrap_or_default();
        let (ops, s) = kernel_after(&k, &ports).await;
        assert!(!ops.iter().any(|o| matches!(o, Op::AddBridge { .. })), "the bridge is kept: {ops:?}");
        assert!(s.link("qvb4e8e5957-64").is_some_and(|l| l.peer.as_deref() == Some("qvo4e8e5957-64")));
        assert_eq!(s.link("qvb4e8e5957-64").and_then(|l| l.master.as_deref()), Some("qbr4e8e5957-64"));
        // The instance's MTU changes: the veth follows.
        let mut bigger = s.clone();
        for l in &mut bigger.links {
            if l.name == "tap4e8e5957-64" {
                l.mtu = 9000;
            }
        }
        let ops = plan(&ports, &bigger);
        assert_eq!(
            ops,
            [
                Op::SetMtu { dev: "qvb4e8e5957-64".into(), mtu: 9000 },
                Op::SetMtu { dev: "qvo4e8e5957-64".into(), mtu: 9000 }
            ]
        );
    }

    #[tokio::test]
    async fn removes_only_its_own_plugs_of_ports_gone() {
        let mut foreign_bridge = tap(Q, 1500);
        foreign_bridge.name = "qbrsomeone-els".into();
        foreign_bridge.kind = "bridge".into();
        let k = Memory::with_links(vec![tap(P, 1500), tap(Q, 1500), foreign_bridge]);
        kernel_after(&k, &[P.to_string(), Q.to_string()]).await;
        let (ops, s) = kernel_after(&k, &[Q.to_string()]).await;
        assert_eq!(ops, [Op::DelLink { name: "qbr4e8e5957-64".into() }, Op::DelLink { name: "qvb4e8e5957-64".into() }]);
        assert!(s.link("qvo4e8e5957-64").is_none(), "the peer goes with its veth");
        assert!(s.link("tap4e8e5957-64").is_some_and(|l| l.master.is_none()), "the instance's tap stays, released");
        assert!(s.link("qbrsomeone-els").is_some(), "not ours");
        assert!(s.link("qbr5f9f6a68-00").is_some());
    }
}

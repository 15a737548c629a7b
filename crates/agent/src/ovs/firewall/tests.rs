use neutrino_model::sg::SecurityGroupRuleState;

use super::*;
use crate::firewall::tests::{self as fw, WEB};

const DHCP: &str = "33333333-2222-3333-4444-555555555555";

/// The nftables firewall's test host — P1 in group web (egress anything,
/// SSH in from 192.0.2.0/24, ping from the group's members) — with the
/// network's DHCP port.
fn state() -> HostState {
    let mut s = fw::state();
    let mut dhcp = fw::port(DHCP, "fa:16:3e:00:00:03", "10.0.0.2", &[WEB]);
    dhcp.device_owner = "network:dhcp".into();
    s.ports.push(dhcp);
    s
}

fn rule(direction: &str, ethertype: &str, protocol: Option<&str>) -> SecurityGroupRuleState {
    fw::rule("r", direction, ethertype, protocol)
}

fn on_bridge(s: &HostState) -> Vec<BridgePort<'_>> {
    s.ports
        .iter()
        .map(|p| BridgePort { port: p, device: neutrino_model::names::tap_device(&p.id), local_vlan: 3 })
        .collect()
}

fn lines(flows: &[Flow]) -> Vec<String> {
    flows
        .iter()
        .map(|f| format!("table={},priority={},{} actions={}", f.table, f.priority, f.matches, f.actions))
        .collect()
}

#[test]
fn port_ranges_become_aligned_blocks_that_cover_exactly_the_range() {
    assert_eq!(range_masks(22, 22), [(22, 0xffff)]);
    assert_eq!(range_masks(1024, 2047), [(1024, 0xfc00)]);
    for (lo, hi) in [(8000u16, 8080u16), (1, 65535), (3, 3000), (65535, 65535)] {
        let mut covered = Vec::new();
        for (value, mask) in range_masks(lo, hi) {
            assert_eq!(value & !mask, 0, "{value:#x}/{mask:#x} is aligned");
            let size = u32::from(!mask) + 1;
            covered.extend((0..size).map(|k| u32::from(value) + k));
        }
        assert_eq!(covered, (u32::from(lo)..=u32::from(hi)).collect::<Vec<_>>(), "{lo}-{hi}");
    }
}

#[test]
fn rules_become_openflow_matches() {
    let of = |r: &SecurityGroupRuleState| rules::parse(r).and_then(|p| openflow_matches(&p)).map(|f| f.matches);
    let mut ssh = rule("ingress", "IPv4", Some("tcp"));
    (ssh.port_range_min, ssh.port_range_max) = (Some(22), Some(22));
    ssh.remote_ip_prefix = Some("192.0.2.7/24".into());
    assert_eq!(of(&ssh), Ok(vec!["tcp,nw_src=192.0.2.0/24,tp_dst=22".to_string()]));
    let mut dns6 = rule("egress", "IPv6", Some("udp"));
    (dns6.port_range_min, dns6.port_range_max) = (Some(52), Some(53));
    dns6.remote_ip_prefix = Some("2001:db8::/64".into());
    assert_eq!(of(&dns6), Ok(vec!["udp6,ipv6_dst=2001:db8::/64,tp_dst=0x34/0xfffe".to_string()]));
    let mut echo6 = rule("ingress", "IPv6", Some("icmp"));
    (echo6.port_range_min, echo6.port_range_max) = (Some(128), Some(0));
    assert_eq!(of(&echo6), Ok(vec!["icmp6,icmp_type=128,icmp_code=0".to_string()]));
    assert_eq!(of(&rule("ingress", "IPv4", Some("gre"))), Ok(vec!["ip,nw_proto=47".to_string()]));
    assert_eq!(of(&rule("egress", "IPv6", None)), Ok(vec!["ipv6".to_string()]));
    let members = {
        let mut r = rule("ingress", "IPv4", Some("icmp"));
        r.remote_group_id = Some(WEB.into());
        r
    };
    let written = rules::parse(&members).and_then(|p| openflow_matches(&p));
    assert_eq!(
        written,
        Ok(RuleFlows { matches: vec!["icmp".to_string()], group: Some((WEB.to_string(), Family::V4)) }),
        "the group is matched through a conjunction"
    );
    let mut dccp = rule("ingress", "IPv4", Some("dccp"));
    dccp.port_range_min = Some(5000);
    assert!(of(&dccp).is_err(), "OpenFlow has no DCCP ports; the rule allows nothing");
}

#[test]
fn a_filtered_port_gets_its_tables_and_the_dhcp_port_switches_normally() {
    let s = state();
    let ports = on_bridge(&s);
    let f = lines(&flows(&s, &ports, &["patch-tun".to_string()]));
    let (tap, dhcp) = ("tap11111111-22", "tap33333333-22");
    for want in [
        "table=60,priority=0, actions=drop".to_string(),
        "table=60,priority=50,in_port=patch-tun actions=NORMAL".into(),
        format!("table=60,priority=50,in_port={dhcp} actions=NORMAL"),
        format!("table=60,priority=100,in_port={tap} actions=set_field:1->reg5,set_field:3->reg6,resubmit(,71)"),
        "table=60,priority=90,dl_vlan=3,dl_dst=fa:16:3e:00:00:01 actions=set_field:1->reg5,set_field:3->reg6,strip_vlan,resubmit(,81)".into(),
        format!("table=60,priority=90,in_port={dhcp},dl_dst=fa:16:3e:00:00:01 actions=set_field:1->reg5,set_field:3->reg6,resubmit(,81)"),
        "table=71,priority=90,reg5=1,ip,dl_src=fa:16:3e:00:00:01,nw_src=10.0.0.11 actions=ct(table=72,zone=NXM_NX_REG6[0..15])".into(),
        "table=71,priority=90,reg5=1,arp,dl_src=fa:16:3e:00:00:01,arp_sha=fa:16:3e:00:00:01,arp_spa=10.0.0.11 actions=resubmit(,73)".into(),
        "table=71,priority=100,reg5=1,udp,tp_src=67 actions=drop".into(),
        "table=71,priority=95,reg5=1,icmp6,dl_src=fa:16:3e:00:00:01,ipv6_src=fe80::f816:3eff:fe00:1,icmp_type=135 actions=resubmit(,73)".into(),
        "table=71,priority=10,reg5=1 actions=drop".into(),
        "table=72,priority=70,reg5=1,ct_state=+new+trk,ip actions=ct(commit,zone=NXM_NX_REG6[0..15]),resubmit(,73)".into(),
        "table=73,priority=90,reg6=3,dl_dst=fa:16:3e:00:00:01 actions=set_field:1->reg5,resubmit(,81)".into(),
        "table=73,priority=0, actions=NORMAL".into(),
        format!("table=81,priority=100,reg5=1,arp actions=output:{tap}"),
        "table=81,priority=90,reg5=1,ip actions=ct(table=82,zone=NXM_NX_REG6[0..15])".into(),
        format!("table=82,priority=90,reg5=1,ct_state=+est-inv+trk actions=output:{tap}"),
        format!("table=82,priority=70,reg5=1,ct_state=+new+trk,tcp,nw_src=192.0.2.0/24,tp_dst=22 actions=ct(commit,zone=NXM_NX_REG6[0..15]),output:{tap}"),
        "table=82,priority=71,reg5=1,ct_state=+new+trk,icmp,icmp_type=8 actions=conjunction(1,1/2)".into(),
        "table=82,priority=71,ip,nw_src=10.0.0.11 actions=conjunction(1,2/2)".into(),
        "table=82,priority=71,ip,nw_src=10.0.0.12 actions=conjunction(1,2/2)".into(),
        format!("table=82,priority=70,conj_id=1,ip actions=ct(commit,zone=NXM_NX_REG6[0..15]),output:{tap}"),
        "table=82,priority=10,reg5=1 actions=drop".into(),
    ] {
        assert!(f.contains(&want), "missing {want}\nin:\n{}", f.join("\n"));
    }
    assert!(!f.iter().any(|l| l.contains("reg5=2")), "the DHCP port is not filtered");
    // Pure: shuffled input, same flows.
    let mut reversed = s.clone();
    reversed.ports.reverse();
    assert_eq!(lines(&flows(&reversed, &on_bridge(&reversed), &["patch-tun".to_string()])), f);
}

#[test]
fn stateless_groups_skip_conntrack_and_a_bad_mac_is_dead() {
    let mut s = state();
    s.firewall.security_groups[0].stateful = false;
    let f = lines(&flows(&s, &on_bridge(&s), &[]));
    assert!(!f.iter().any(|l| l.contains("ct(")), "no conntrack: {f:?}");
    assert!(f.contains(
        &"table=82,priority=70,reg5=1,tcp,nw_src=192.0.2.0/24,tp_dst=22 actions=output:tap11111111-22".to_string()
    ));
    s.ports[0].mac_address = "not-a-mac".into();
    let f = lines(&flows(&s, &on_bridge(&s), &[]));
    assert!(
        !f.iter().any(|l| l.contains("tap11111111-22")),
        "neither filtered nor switched: dropped by table 60's default"
    );
}

#[test]
fn ports_of_one_group_share_its_member_flows() {
    let mut s = state();
    s.ports.push(fw::port("22222222-2222-3333-4444-555555555555", "fa:16:3e:00:00:02", "10.0.0.12", &[WEB]));
    let f = lines(&flows(&s, &on_bridge(&s), &[]));
    let member =
        |ip: &str| format!("table=82,priority=71,ip,nw_src={ip} actions=conjunction(1,2/2),conjunction(2,2/2)");
    for ip in ["10.0.0.11", "10.0.0.12"] {
        assert!(f.contains(&member(ip)), "missing {}\nin:\n{}", member(ip), f.join("\n"));
    }
    let members = f.iter().filter(|l| l.starts_with("table=82") && l.contains("nw_src=10.0.0.1")).count();
    assert_eq!(members, 2, "one flow per member, not per port");
    // A group without members completes no conjunction: no member flows at all.
    s.firewall.remote_groups.clear();
    let f = lines(&flows(&s, &on_bridge(&s), &[]));
    assert!(!f.iter().any(|l| l.contains(",2/2)")), "{f:?}");
}

#[test]
fn flows_grow_with_ports_plus_members_not_their_product() {
    let mut s = state();
    s.ports.clear();
    for n in 0..20u32 {
        let id = format!("{n:08x}-2222-3333-4444-555555555555");
        s.ports.push(fw::port(&id, &format!("fa:16:3e:00:01:{n:02x}"), &format!("10.0.1.{}", n + 10), &[WEB]));
    }
    let members: Vec<String> =
        (0..1000u32).map(|n| format!("10.{}.{}.{}", 2 + n / 65536, (n / 256) % 256, n % 256)).collect();
    s.firewall.remote_groups.insert(WEB.to_string(), members);
    let f = flows(&s, &on_bridge(&s), &[]);
    let member_flows = f.iter().filter(|x| x.actions.contains(",2/2)") || x.actions.ends_with("2/2)")).count();
    assert_eq!(member_flows, 1000, "one flow per member for the group's one ingress rule");
    let per_port = (f.len() - member_flows) / 20;
    assert!(per_port < 60, "{per_port} flows per port");
    assert!(f.len() < 20 * 60 + 1000 + 10, "{} flows", f.len());
}

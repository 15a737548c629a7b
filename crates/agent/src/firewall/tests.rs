use std::collections::BTreeMap;

use neutrino_model::sg::{HostFirewall, SecurityGroupRuleState, SecurityGroupState};
use neutrino_model::{AllowedAddressPair, FixedIp};

use super::*;
use crate::state::NetworkState;

pub(crate) const NET: &str = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
pub(crate) const WEB: &str = "5a5a5a5a-0000-4000-8000-000000000001";
pub(crate) const P1: &str = "11111111-2222-3333-4444-555555555555";
const P2: &str = "22222222-2222-3333-4444-555555555555";

pub(crate) fn rule(id: &str, direction: &str, ethertype: &str, protocol: Option<&str>) -> SecurityGroupRuleState {
    SecurityGroupRuleState {
        id: id.into(),
        direction: direction.into(),
        ethertype: ethertype.into(),
        protocol: protocol.map(String::from),
        port_range_min: None,
        port_range_max: None,
        remote_ip_prefix: None,
        remote_group_id: None,
    }
}

pub(crate) fn port(id: &str, mac: &str, ip: &str, groups: &[&str]) -> PortState {
    PortState {
        id: id.into(),
        network_id: NET.into(),
        mac_address: mac.into(),
        fixed_ips: vec![FixedIp { subnet_id: "s".into(), ip_address: ip.into() }],
        admin_state_up: true,
        status: "ACTIVE".into(),
        device_owner: "compute:nova".into(),
        port_security_enabled: true,
        security_groups: groups.iter().map(|g| g.to_string()).collect(),
        allowed_address_pairs: vec![],
    }
}

/// One port in group `web`: egress anything (IPv4), ingress SSH from
/// 192.0.2.0/24 and ICMP echo from the group's members.
pub(crate) fn state() -> HostState {
    let mut ssh = rule("r2", "ingress", "IPv4", Some("tcp"));
    ssh.port_range_min = Some(22);
    ssh.port_range_max = Some(22);
    ssh.remote_ip_prefix = Some("192.0.2.0/24".into());
    let mut ping = rule("r3", "ingress", "IPv4", Some("icmp"));
    ping.port_range_min = Some(8);
    ping.remote_group_id = Some(WEB.into());
    HostState {
        last: 1,
        host: "node-1".into(),
        networks: vec![NetworkState {
            id: NET.into(),
            mtu: 1450,
            admin_state_up: true,
            network_type: "vxlan".into(),
            physical_network: None,
            segmentation_id: Some(77),
        }],
        ports: vec![port(P1, "fa:16:3e:00:00:01", "10.0.0.11", &[WEB])],
        peers: vec![],
        firewall: HostFirewall {
            security_groups: vec![SecurityGroupState {
                id: WEB.into(),
                stateful: true,
                rules: vec![rule("r1", "egress", "IPv4", None), ssh, ping],
            }],
            remote_groups: BTreeMap::from([(WEB.to_string(), vec!["10.0.0.11".into(), "10.0.0.12".into()])]),
        },
    }
}

fn zones() -> BTreeMap<String, u16> {
    BTreeMap::from([(names::bridge(NET), ZONE_START)])
}

#[test]
fn the_whole_ruleset_of_one_port() {
    let r = ruleset(&state(), &zones());
    let c = &r.comment;
    assert!(c.starts_with("neutrino-sg ") && c.len() == "neutrino-sg ".len() + 32, "{c}");
    let expected = format!(
        "\
table bridge neutrino-sg {{
\tmap from_port {{
\t\ttype ifname : verdict
\t\tcomment \"{c}\"
\t\telements = {{ \"tap11111111-22\" : jump spoof-{P1} }}
\t}}
\tmap to_port {{
\t\ttype ifname : verdict
\t\telements = {{ \"tap11111111-22\" : jump to-{P1} }}
\t}}
\tchain prerouting {{
\t\ttype filter hook prerouting priority -300; policy accept;
\t\tmeta mark set meta mark & 0xff000000
\t\tiifname vmap @from_port
\t}}
\tchain forward {{
\t\ttype filter hook forward priority -200; policy accept;
\t\toifname vmap @to_port
\t}}
\tchain spoof-{P1} {{
\t\tmeta mark set meta mark | 0x00000001
\t\tether saddr != {{ fa:16:3e:00:00:01 }} drop
\t\tether type != {{ arp, ip, ip6 }} drop
\t\tarp saddr ip 0.0.0.0 return
\t\tarp saddr ether . arp saddr ip != {{ fa:16:3e:00:00:01 . 10.0.0.11 }} drop
\t\tip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return
\t\tether saddr . ip saddr != {{ fa:16:3e:00:00:01 . 10.0.0.11 }} drop
\t\tether type ip udp sport 67 drop
\t\tip6 saddr :: ip6 daddr ff02::/16 icmpv6 type {{ 131, 135, 143 }} return
\t\tether saddr . ip6 saddr != {{ fa:16:3e:00:00:01 . fe80::f816:3eff:fe00:1 }} drop
\t\ticmpv6 type 134 drop
\t\tether type ip6 udp sport 547 drop
\t}}
\tchain to-{P1} {{
\t\tmeta mark set meta mark & 0xff000fff | 0x00001000
\t\tether type != {{ arp, ip, ip6 }} drop
\t}}
}}
table inet neutrino-sg {{
\tmap zones {{
\t\ttypeof iifname : ct zone
\t\tcomment \"{c}\"
\t}}
\tset rg4-{WEB} {{
\t\ttype ipv4_addr
\t\tflags interval
\t}}
\tchain raw {{
\t\ttype filter hook prerouting priority raw; policy accept;
\t\tct zone set iifname map @zones
\t}}
\tchain forward {{
\t\ttype filter hook forward priority filter; policy accept;
\t\tmeta mark & 0x00000fff vmap {{ 0x00000001 : jump egress-{P1} }}
\t\tmeta mark & 0x00fff000 vmap {{ 0x00001000 : jump ingress-{P1} }}
\t}}
\tchain input {{
\t\ttype filter hook input priority filter; policy accept;
\t\tmeta mark & 0x00000fff vmap {{ 0x00000001 : jump egress-{P1} }}
\t}}
\tchain egress-{P1} {{
\t\tct state established,related return
\t\tct state invalid drop
\t\tmeta nfproto ipv4 udp sport 68 udp dport 67 return
\t\tmeta nfproto ipv6 udp sport 546 udp dport 547 return
\t\tmeta nfproto ipv6 icmpv6 type {{ 130, 131, 132, 133, 135, 136, 143 }} return
\t\tmeta nfproto ipv4 return
\t\tdrop
\t}}
\tchain ingress-{P1} {{
\t\tct state established,related accept
\t\tct state invalid drop
\t\tmeta nfproto ipv4 udp sport 67 udp dport 68 accept
\t\tmeta nfproto ipv6 udp sport 547 udp dport 546 accept
\t\tmeta nfproto ipv6 icmpv6 type {{ 130, 135, 136 }} accept
\t\tmeta nfproto ipv6 ip6 saddr fe80::/10 icmpv6 type 134 accept
\t\tmeta nfproto ipv4 ip saddr 192.0.2.0/24 tcp dport 22 accept
\t\tmeta nfproto ipv4 ip saddr @rg4-{WEB} icmp type 8 accept
\t\tdrop
\t}}
}}
"
    );
    assert_eq!(r.tables.as_deref(), Some(expected.as_str()));
    let tx = r.replace();
    assert_eq!(tx.kind, TxKind::Replace);
    let head = "table bridge neutrino-sg {}\ndelete table bridge neutrino-sg\ntable inet neutrino-sg {}\ndelete table inet neutrino-sg\n";
    let tail = format!(
        "add element inet neutrino-sg rg4-{WEB} {{ 10.0.0.11, 10.0.0.12 }}\nadd element inet neutrino-sg zones {{ \"brq0a1b2c3d-4e\" : 4097 }}\n"
    );
    assert_eq!(tx.text, format!("{head}{expected}{tail}"));
}

#[test]
fn an_unchanged_input_gives_identical_text_whatever_the_order() {
    let a = ruleset(&state(), &zones());
    assert_eq!(a, ruleset(&state(), &zones()));
    let mut shuffled = state();
    shuffled.firewall.security_groups[0].rules.reverse();
    shuffled.firewall.remote_groups.insert(WEB.into(), vec!["10.0.0.12".into(), "10.0.0.11".into()]);
    shuffled.ports[0].security_groups = vec![WEB.into(), WEB.into()];
    assert_eq!(a, ruleset(&shuffled, &zones()));
    // A second group with a duplicate of a rule adds nothing.
    let mut two = state();
    let mut other = two.firewall.security_groups[0].clone();
    other.id = "6b6b6b6b-0000-4000-8000-000000000002".into();
    two.firewall.security_groups.push(other.clone());
    two.ports[0].security_groups.push(other.id.clone());
    assert_eq!(a.tables, ruleset(&two, &zones()).tables);
}

#[test]
fn ports_that_are_not_filtered() {
    let mut s = state();
    s.ports[0].port_security_enabled = false;
    let r = ruleset(&s, &zones());
    assert_eq!(r.tables, None, "no filtered port, no tables");
    assert_eq!(plan(&r, &Observed::default()), None, "nothing to remove");
    let loaded = ruleset(&state(), &zones()).observed();
    let tx = plan(&r, &loaded).expect("tables to remove");
    assert_eq!(tx.kind, TxKind::Remove);
    assert_eq!(
        tx.text,
        "table bridge neutrino-sg {}\ndelete table bridge neutrino-sg\ntable inet neutrino-sg {}\ndelete table inet neutrino-sg\n"
    );

    // Router and DHCP ports are trusted; other ports keep their filters.
    let mut s = state();
    let mut dhcp = port(P2, "fa:16:3e:00:00:02", "10.0.0.2", &[WEB]);
    dhcp.device_owner = "network:dhcp".into();
    s.ports.push(dhcp);
    let text = ruleset(&s, &zones()).tables.expect("tables");
    assert!(!text.contains("tap22222222-22") && !text.contains(P2), "{text}");
    assert_eq!(Some(text), ruleset(&state(), &zones()).tables);
}

#[test]
fn a_stateless_group_has_no_conntrack_and_both_directions_explicit() {
    let mut s = state();
    s.firewall.security_groups[0].stateful = false;
    let text = ruleset(&s, &zones()).tables.expect("tables");
    assert!(!text.contains("ct state"), "{text}");
    assert!(text.contains(&format!("\tchain egress-{P1} {{\n\t\tmeta nfproto ipv4 udp sport 68 udp dport 67 return\n")));
    assert!(text.contains("\t\tmeta nfproto ipv4 ip saddr 192.0.2.0/24 tcp dport 22 accept\n"));
}

#[test]
fn a_port_without_groups_sends_and_receives_only_dhcp_and_neighbour_discovery() {
    let mut s = state();
    s.ports[0].security_groups.clear();
    let text = ruleset(&s, &zones()).tables.expect("tables");
    let egress = format!(
        "\tchain egress-{P1} {{\n\t\tct state established,related return\n\t\tct state invalid drop\n\t\tmeta nfproto ipv4 udp sport 68 udp dport 67 return\n\t\tmeta nfproto ipv6 udp sport 546 udp dport 547 return\n\t\tmeta nfproto ipv6 icmpv6 type {{ 130, 131, 132, 133, 135, 136, 143 }} return\n\t\tdrop\n\t}}\n"
    );
    assert!(text.contains(&egress), "{text}");
    assert!(!text.contains("rg4-"), "no remote group named");
}

#[test]
fn values_that_do_not_parse_are_skipped() {
    let mut s = state();
    let g = &mut s.firewall.security_groups[0];
    g.rules.push(SecurityGroupRuleState {
        remote_ip_prefix: Some("10.0.0.0/8; flush ruleset".into()),
        ..rule("bad1", "ingress", "IPv4", None)
    });
    g.rules.push(rule("bad2", "ingress", "IPv4", Some("tcp } accept")));
    g.rules.push(SecurityGroupRuleState { port_range_min: Some(0), ..rule("bad3", "ingress", "IPv4", Some("udp")) });
    s.firewall.remote_groups.get_mut(WEB).expect("web").push("10.0.0.300".into());
    s.ports[0]
        .allowed_address_pairs
        .push(AllowedAddressPair { ip_address: "10.0.0.99\"; drop".into(), mac_address: String::new() });
    s.ports[0].fixed_ips.push(FixedIp { subnet_id: "s".into(), ip_address: "not-an-ip".into() });
    assert_eq!(ruleset(&s, &zones()), ruleset(&state(), &zones()), "everything bad skipped, the rest unchanged");

    // Unusable ports: a bad MAC drops all its traffic; a bad id is not named at all.
    let mut s = state();
    s.ports.push(port(P2, "fa:16:3e:00:00:zz", "10.0.0.12", &[WEB]));
    s.ports.push(port("evil\" accept; #", "fa:16:3e:00:00:03", "10.0.0.13", &[WEB]));
    let text = ruleset(&s, &zones()).tables.expect("tables");
    assert!(text.contains("\t\tiifname { \"tap22222222-22\" } drop\n"), "{text}");
    assert!(text.contains("\t\toifname { \"tap22222222-22\" } drop\n"), "{text}");
    assert!(!text.contains("evil"), "{text}");
}

#[test]
fn members_are_merged_and_split_by_family() {
    let mut s = state();
    let mut v6 = rule("r6", "ingress", "IPv6", None);
    v6.remote_group_id = Some(WEB.into());
    s.firewall.security_groups[0].rules.push(v6);
    s.firewall.remote_groups.insert(
        WEB.into(),
        vec![
            "10.0.0.11".into(),
            "10.0.0.0/25".into(),
            "10.0.0.200".into(),
            "2001:db8::5".into(),
            "2001:db8::/127".into(),
        ],
    );
    let r = ruleset(&s, &zones());
    let shown = |name: String| -> Vec<String> { r.elements[&name].iter().map(Element::to_string).collect() };
    assert_eq!(shown(format!("rg4-{WEB}")), ["10.0.0.0/25", "10.0.0.200"]);
    assert_eq!(shown(format!("rg6-{WEB}")), ["2001:db8::/127", "2001:db8::5"]);
    assert!(r.tables.as_deref().is_some_and(|t| t.contains(&format!("\tset rg6-{WEB} {{\n\t\ttype ipv6_addr\n"))));
}

#[test]
fn member_changes_are_element_changes_only() {
    let before = ruleset(&state(), &zones());
    let kernel = before.observed();
    assert_eq!(plan(&before, &kernel), None, "the kernel has it: nothing to do");
    assert_eq!(plan(&before, &Observed::default()).map(|t| t.kind), Some(TxKind::Replace));

    let mut s = state();
    s.firewall.remote_groups.insert(WEB.into(), vec!["10.0.0.11".into(), "10.0.0.13".into()]);
    let after = ruleset(&s, &zones());
    assert_eq!(after.tables, before.tables, "the rules do not change");
    let tx = plan(&after, &kernel).expect("a change");
    assert_eq!(tx.kind, TxKind::Elements);
    assert_eq!(
        tx.text,
        format!(
            "delete element inet neutrino-sg rg4-{WEB} {{ 10.0.0.12 }}\nadd element inet neutrino-sg rg4-{WEB} {{ 10.0.0.13 }}\n"
        )
    );
    assert_eq!(plan(&after, &tx.after), None);

    // A rule change is a replace; so is a kernel whose table was changed behind our back.
    let mut s = state();
    s.firewall.security_groups[0].rules.pop();
    assert_eq!(plan(&ruleset(&s, &zones()), &kernel).map(|t| t.kind), Some(TxKind::Replace));
    let mut tampered = kernel.clone();
    tampered.bridge = None;
    assert_eq!(plan(&before, &tampered).map(|t| t.kind), Some(TxKind::Replace));
}

#[test]
fn zones_are_kept_and_new_networks_get_free_ones() {
    let b = |n: &str| n.to_string();
    let bridges = BTreeMap::from([(b("brqa"), b("a")), (b("brqb"), b("b")), (b("brqc"), b("c"))]);
    let observed = BTreeMap::from([(b("brqb"), 4097), (b("brqgone"), 4098), (b("brqc"), 7)]);
    assert_eq!(
        assign_zones(&bridges, &observed),
        BTreeMap::from([(b("a"), 4098), (b("b"), 4097), (b("c"), 4099)]),
        "kept where valid; zones below ZONE_START are not ours"
    );
    // The zone map changes by elements when a network arrives.
    let r = ruleset(&state(), &zones());
    let mut two = state();
    let other = "9f9f9f9f-0000-4000-8000-000000000009";
    two.networks.push(NetworkState { id: other.into(), ..two.networks[0].clone() });
    let bridges2 = zone_bridges(&two, Plug::NetworkBridge);
    let zones2 = bridge_zones(&bridges2, &assign_zones(&bridges2, &r.observed().zones()));
    assert_eq!(zones2[&names::bridge(NET)], ZONE_START);
    assert_eq!(zones2[&names::bridge(other)], ZONE_START + 1);
    let tx = plan(&ruleset(&two, &zones2), &r.observed()).expect("a change");
    assert_eq!(tx.kind, TxKind::Elements);
    assert_eq!(tx.text, "add element inet neutrino-sg zones { \"brq9f9f9f9f-00\" : 4098 }\n");
    assert!(tx.flush_zones.is_empty());
    // The network leaves again: its zone is given up, and emptied.
    let back = plan(&r, &tx.after).expect("a change");
    assert_eq!(back.text, "delete element inet neutrino-sg zones { \"brq9f9f9f9f-00\" }\n");
    assert_eq!(back.flush_zones, [ZONE_START + 1]);
    // No filtered port at all: the tables go, and every zone is emptied.
    let mut none = state();
    none.ports.clear();
    let gone = plan(&ruleset(&none, &BTreeMap::new()), &tx.after).expect("a removal");
    assert_eq!((gone.kind, gone.flush_zones), (TxKind::Remove, vec![ZONE_START, ZONE_START + 1]));
}

#[test]
fn with_the_hybrid_plug_every_port_bridge_of_a_network_shares_its_zone() {
    let mut s = state();
    s.ports.push(port(P2, "fa:16:3e:00:00:02", "10.0.0.12", &[WEB]));
    let mut dhcp = port("33333333-2222-3333-4444-555555555555", "fa:16:3e:00:00:03", "10.0.0.2", &[]);
    dhcp.device_owner = "network:dhcp".into();
    s.ports.push(dhcp);
    let other = "9f9f9f9f-0000-4000-8000-000000000009";
    let mut elsewhere = port("44444444-2222-3333-4444-555555555555", "fa:16:3e:00:00:04", "10.0.0.11", &[WEB]);
    elsewhere.network_id = other.into();
    s.ports.push(elsewhere);
    let bridges = zone_bridges(&s, Plug::Hybrid);
    assert_eq!(
        bridges.keys().cloned().collect::<Vec<_>>(),
        ["qbr11111111-22", "qbr22222222-22", "qbr44444444-22"],
        "instance ports only: the DHCP port sits on br-int"
    );
    // The kernel gives P2's bridge a zone: the whole network keeps it.
    let observed = BTreeMap::from([("qbr22222222-22".to_string(), 5000)]);
    let zones = assign_zones(&bridges, &observed);
    assert_eq!(zones, BTreeMap::from([(NET.to_string(), 5000), (other.to_string(), ZONE_START)]));
    let by_bridge = bridge_zones(&bridges, &zones);
    assert_eq!(by_bridge["qbr11111111-22"], 5000);
    assert_eq!(by_bridge["qbr22222222-22"], 5000);
    assert_eq!(by_bridge["qbr44444444-22"], ZONE_START);
    let r = ruleset(&s, &by_bridge);
    assert_eq!(r.elements[ZONES].len(), 3, "{:?}", r.elements[ZONES]);
    // The rules key ports by their tap, wherever it is plugged.
    let text = r.tables.expect("tables");
    assert!(text.contains("\"tap11111111-22\" : jump spoof-11111111-2222-3333-4444-555555555555"), "{text}");
}

#[test]
fn the_kernels_maps_and_sets_read_back() {
    let maps = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
        {"map": {"family": "bridge", "name": "from_port", "table": "neutrino-sg", "type": "ifname", "handle": 1, "comment": "neutrino-sg 00ff", "map": "verdict", "elem": [["tap1", {"jump": {"target": "spoof-1"}}]]}},
        {"map": {"family": "inet", "name": "zones", "table": "neutrino-sg", "type": "ifname", "handle": 5, "comment": "neutrino-sg 00ff", "map": "integer", "elem": [["brqA", 4097]]}},
        {"map": {"family": "inet", "name": "zones", "table": "someone-else", "type": "ifname", "handle": 5, "map": "integer", "elem": [["brqB", 1]]}}]}"#;
    let sets = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
        {"set": {"family": "inet", "name": "rg4-g", "table": "neutrino-sg", "type": "ipv4_addr", "handle": 6, "flags": ["interval"], "elem": ["10.0.0.11", {"prefix": {"addr": "10.0.1.0", "len": 24}}, {"range": ["10.0.2.1", "10.0.2.5"]}]}},
        {"set": {"family": "inet", "name": "rg6-g", "table": "neutrino-sg", "type": "ipv6_addr", "handle": 7, "flags": ["interval"]}}]}"#;
    let o = parse_observed(maps, sets).expect("parses");
    assert!(o.present);
    assert_eq!((o.bridge.as_deref(), o.inet.as_deref()), (Some("neutrino-sg 00ff"), Some("neutrino-sg 00ff")));
    assert_eq!(o.zones(), BTreeMap::from([("brqA".to_string(), 4097)]));
    let rg4: Vec<String> = o.elements["rg4-g"].iter().map(Element::to_string).collect();
    assert_eq!(rg4, ["10.0.0.11", "10.0.1.0/24", "10.0.2.1-10.0.2.5"]);
    assert!(o.elements["rg6-g"].is_empty());

    let empty = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}]}"#;
    assert_eq!(parse_observed(empty, empty), Ok(Observed::default()));
    // An element this firewall never writes: the tables are replaced, not patched.
    let odd = sets.replace(r#""10.0.0.11""#, r#"{"elem": {"val": "10.0.0.11", "timeout": 5}}"#);
    assert_eq!(parse_observed(maps, &odd).map(|o| o.inet), Ok(None));
    assert!(parse_observed("not json", empty).is_err());
}

#[tokio::test]
async fn the_l2_agent_loads_the_firewall_first_and_then_changes_nothing() {
    use crate::channel::Channel;
    use crate::dataplane::Memory;
    use crate::l2::L2Agent;
    use crate::reconcile::L2Config;

    let dataplane = Memory::default();
    dataplane.plug(&names::tap_device(P1));
    let agent = L2Agent {
        channel: Channel::new("http://127.0.0.1:9", None).expect("channel"),
        dataplane,
        config: L2Config { local_ip: Some("192.0.2.1".into()), firewall: true, ..L2Config::default() },
        host: "node-1".into(),
        report_interval: 30,
    };
    let s = state();
    assert_eq!(agent.reconcile(&s).await.expect("round").firewall, Some(TxKind::Replace));
    assert_eq!(agent.reconcile(&s).await.expect("round").firewall, None, "level-triggered: nothing to do");
    let mut joined = state();
    joined.firewall.remote_groups.get_mut(WEB).expect("web").push("10.0.0.13".into());
    assert_eq!(agent.reconcile(&joined).await.expect("round").firewall, Some(TxKind::Elements));
    let txs = agent.dataplane.firewall_transactions();
    assert_eq!(txs.len(), 2);
    assert_eq!(txs[1].text, format!("add element inet neutrino-sg rg4-{WEB} {{ 10.0.0.13 }}\n"));

    let off = L2Agent { config: L2Config { firewall: false, ..agent.config.clone() }, ..agent };
    assert_eq!(off.reconcile(&s).await.expect("round").firewall, None, "noop driver: the firewall is left alone");
    assert_eq!(off.dataplane.firewall_transactions().len(), 2);
}

#[tokio::test]
async fn a_running_firewall_plans_against_its_record_and_reads_the_kernel_when_it_has_none() {
    use crate::dataplane::Memory;

    let kernel = Memory::default();
    let mut fw = Firewall::default();
    assert!(fw.resync_due(), "nothing applied yet: the kernel is read first");
    assert_eq!(fw.sync(&kernel, &state()).await.expect("sync"), Some(TxKind::Replace));
    assert!(!fw.resync_due());
    // Planned from the record, not from the kernel: against an empty kernel
    // a member joining is still only an element added.
    let mut joined = state();
    joined.firewall.remote_groups.get_mut(WEB).expect("web").push("10.0.0.13".into());
    let elsewhere = Memory::default();
    assert_eq!(fw.sync(&elsewhere, &joined).await.expect("sync"), Some(TxKind::Elements));
    assert_eq!(
        elsewhere.firewall_transactions()[0].text,
        format!("add element inet neutrino-sg rg4-{WEB} {{ 10.0.0.13 }}\n")
    );
    // A fresh firewall (a restarted agent) reads an empty kernel and loads it all.
    let empty = Memory::default();
    assert_eq!(Firewall::default().sync(&empty, &joined).await.expect("sync"), Some(TxKind::Replace));
    assert_eq!(Firewall::default().sync(&empty, &joined).await.expect("sync"), None, "and then finds it right");
}

#[tokio::test]
async fn addresses_that_leave_a_port_lose_their_connection_tracking() {
    use crate::dataplane::Memory;

    let kernel = Memory::default();
    let mut fw = Firewall::default();
    let mut s = state();
    s.ports.push(port(P2, "fa:16:3e:00:00:02", "10.0.0.12", &[WEB]));
    fw.sync(&kernel, &s).await.expect("sync");
    assert!(kernel.firewall_transactions()[0].forget.is_empty(), "a fresh firewall knows of no address that left");
    // P2's address changes: its old one is forgotten in the network's zone.
    s.ports[1].fixed_ips[0].ip_address = "10.0.0.22".into();
    fw.sync(&kernel, &s).await.expect("sync");
    let ip = |a: &str| a.parse::<IpAddr>().expect("ip");
    assert_eq!(kernel.firewall_transactions()[1].forget, [(ZONE_START, ip("10.0.0.12"))]);
    // P1 goes and P2 takes over its address: P1's connections must not carry over.
    s.ports.remove(0);
    s.ports[0].fixed_ips[0].ip_address = "10.0.0.11".into();
    fw.sync(&kernel, &s).await.expect("sync");
    assert_eq!(
        kernel.firewall_transactions()[2].forget,
        [(ZONE_START, ip("10.0.0.11")), (ZONE_START, ip("10.0.0.22"))]
    );
    // Nothing changes: nothing is forgotten, nothing applied.
    assert_eq!(fw.sync(&kernel, &s).await.expect("sync"), None);
    assert_eq!(kernel.firewall_transactions().len(), 3);
}

//! `neutrino bench --sg` (root): the security group firewall's speed on this
//! machine, in a namespace `sb<pid>-node` removed at the end. (1) A group
//! of `--sg-rules` rules on `--sg-ports` filtered ports applied from
//! nothing (one atomic transaction); (2) a resync of the same state (which
//! must apply nothing); (3) one member added to a remote group of
//! `--sg-members` (which must be one element-only transaction); (4) from
//! the API call that adds an ingress rule to the first ping it lets through,
//! with an embedded server and a filtering L2 agent (namespaces `sl<pid>-…`).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use neutrino_agent::dataplane::{ip, IpRoute};
use neutrino_agent::firewall::{Firewall, TxKind};
use neutrino_agent::state::{HostFirewall, HostState, NetworkState, PortState};
use neutrino_model::sg::{SecurityGroupRuleState, SecurityGroupState};
use neutrino_model::FixedIp;

const NET: &str = "7f3d2c1b-0000-4000-8000-000000000001";
const GROUP: &str = "5e6f7a8b-0000-4000-8000-000000000002";
const REMOTE: &str = "5e6f7a8b-0000-4000-8000-000000000003";

struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn rule(i: usize) -> SecurityGroupRuleState {
    SecurityGroupRuleState {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        direction: "ingress".into(),
        ethertype: "IPv4".into(),
        protocol: Some("tcp".into()),
        port_range_min: Some(1000 + i as u32),
        port_range_max: Some(1000 + i as u32),
        remote_ip_prefix: Some(format!("10.{}.{}.0/24", 100 + i / 250, i % 250)),
        remote_group_id: None,
    }
}

fn state(ports: usize, rules: usize, members: usize) -> HostState {
    let mut all: Vec<SecurityGroupRuleState> = (0..rules).map(rule).collect();
    all.push(SecurityGroupRuleState { remote_ip_prefix: None, remote_group_id: Some(REMOTE.into()), ..rule(rules) });
    let ports = (0..ports)
        .map(|i| PortState {
            id: format!("{i:08x}-9a8b-4000-8000-000000000000"),
            network_id: NET.into(),
            mac_address: format!("fa:16:3e:00:{:02x}:{:02x}", i / 256, i % 256),
            fixed_ips: vec![FixedIp { subnet_id: "s".into(), ip_address: format!("10.0.{}.{}", i / 250, 1 + i % 250) }],
            admin_state_up: true,
            status: "ACTIVE".into(),
            device_owner: "compute:nova".into(),
            port_security_enabled: true,
            security_groups: vec![GROUP.into()],
            allowed_address_pairs: vec![],
        })
        .collect();
    let remote: Vec<String> = (0..members).map(|i| format!("10.200.{}.{}", i / 250, 1 + i % 250)).collect();
    HostState {
        last: 1,
        host: "bench".into(),
        networks: vec![NetworkState {
            id: NET.into(),
            mtu: 1450,
            admin_state_up: true,
            network_type: "vxlan".into(),
            physical_network: None,
            segmentation_id: Some(100),
        }],
        ports,
        peers: vec![],
        firewall: HostFirewall {
            security_groups: vec![SecurityGroupState { id: GROUP.into(), stateful: true, rules: all }],
            remote_groups: BTreeMap::from([(REMOTE.to_string(), remote)]),
        },
    }
}

/// One firewall round of `fw` (a fresh one reads the kernel back first).
async fn timed(fw: &mut Firewall, dp: &IpRoute, s: &HostState) -> Result<(Duration, Option<TxKind>)> {
    let t = Instant::now();
    let kind = fw.sync(dp, s).await?;
    Ok((t.elapsed(), kind))
}

/// Runs the measures and prints them.
pub async fn run(ports: usize, rules: usize, members: usize) -> Result<ExitCode> {
    let ns = Namespace(format!("sb{}-node", std::process::id() % 100_000));
    ip(None, &["netns", "add", &ns.0]).await?;
    let dp = IpRoute { netns: Some(ns.0.clone()) };
    let mut s = state(ports, rules, members);
    let (full, kind) = timed(&mut Firewall::default(), &dp, &s).await?;
    if kind != Some(TxKind::Replace) {
        bail!("the first sync applied {kind:?}, not a replace");
    }
    let listed =
        tokio::process::Command::new("ip").args(["netns", "exec", &ns.0, "nft", "list", "ruleset"]).output().await?;
    let text = String::from_utf8_lossy(&listed.stdout);
    let rule_lines = text.lines().filter(|l| l.contains(" accept") || l.contains(" drop")).count();
    // A restarted agent: reads the kernel back and finds it right.
    let mut agent = Firewall::default();
    let (again, kind) = timed(&mut agent, &dp, &s).await?;
    if kind.is_some() {
        bail!("a resync of the same state applied {kind:?}");
    }
    // The running agent: plans against its record of what it applied.
    let mut member_times = Vec::new();
    for i in 0..10 {
        if let Some(set) = s.firewall.remote_groups.get_mut(REMOTE) {
            set.push(format!("10.201.0.{}", i + 1));
        }
        let (t, kind) = timed(&mut agent, &dp, &s).await?;
        if kind != Some(TxKind::Elements) {
            bail!("adding a member applied {kind:?}, not elements only");
        }
        member_times.push(t);
    }
    member_times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "security group firewall, {ports} filtered ports, one group of {rules} rules + a remote group of {members}:"
    );
    println!(
        "  apply from nothing (one transaction)      {:>8.1} ms  ({rule_lines} accept/drop rules in the kernel)",
        ms(full)
    );
    println!("  resync, nothing to change                 {:>8.1} ms", ms(again));
    println!(
        "  add one remote member (elements only)     p50 {:>6.1} ms  max {:>6.1} ms  (10 runs)",
        ms(member_times[member_times.len() / 2]),
        ms(member_times[member_times.len() - 1])
    );
    drop(ns);
    rule_latency(20).await?;
    Ok(ExitCode::SUCCESS)
}

/// (4): an embedded server and a filtering L2 agent; `rounds` times, a rule
/// letting one instance ping another is added through the API and the time
/// to the first reply taken; the rule is then deleted and the ping refused again.
async fn rule_latency(rounds: usize) -> Result<()> {
    use crate::bench_l2::{call, instance, pct, pings, AgentBench, Site};
    use serde_json::{json, Value};

    let bench = AgentBench::start("sl", true).await?;
    let AgentBench { prefix, api, node, channel, client, .. } = &bench;
    let post = |path: &str, body: Value| {
        let url = format!("{api}/{path}");
        let client = client.clone();
        async move { call(&client, reqwest::Method::POST, &url, body).await }
    };
    let net = post("networks", json!({"network": {"name": "bench-sg"}})).await?;
    let net_id = net["network"]["id"].as_str().unwrap_or_default().to_string();
    post(
        "subnets",
        json!({"subnet": {"network_id": net_id, "cidr": "10.8.0.0/16", "ip_version": 4, "enable_dhcp": false}}),
    )
    .await?;
    let lonely = post("security-groups", json!({"security_group": {"name": "outsider"}})).await?;
    let lonely = lonely["security_group"]["id"].as_str().unwrap_or_default().to_string();
    let (target_vm, probe_vm) = (format!("{prefix}-target"), format!("{prefix}-probe"));
    let site = Site { client, api, channel, node, net: &net_id };
    let target = instance(&site, &target_vm, "10.8.0.10", Value::Null).await?;
    instance(&site, &probe_vm, "10.8.0.20", json!({"security_groups": [lonely]})).await?;
    let port = call(client, reqwest::Method::GET, &format!("{api}/ports/{target}"), Value::Null).await?;
    let group = port["port"]["security_groups"][0].as_str().unwrap_or_default().to_string();
    // Both wired and filtered: the probe is refused.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let p = call(client, reqwest::Method::GET, &format!("{api}/ports/{target}"), Value::Null).await?;
        if p["port"]["status"] == "ACTIVE" && !pings(&probe_vm, "10.8.0.10").await {
            break;
        }
        if Instant::now() > deadline {
            bail!("the target never became ACTIVE and filtered");
        }
    }
    // The first round is a warm-up, not counted: pings sent before the
    // target was wired leave the probe's ARP entry failed, and its retry
    // (1 s) would be measured instead of the firewall.
    let mut lat = Vec::with_capacity(rounds + 1);
    for _ in 0..=rounds {
        let t = Instant::now();
        let rule = post(
            "security-group-rules",
            json!({"security_group_rule": {"security_group_id": group, "direction": "ingress", "protocol": "icmp",
                                           "remote_ip_prefix": "10.8.0.20/32"}}),
        )
        .await?;
        while !pings(&probe_vm, "10.8.0.10").await {
            if t.elapsed() > Duration::from_secs(10) {
                bail!("the rule did not take effect within 10 s");
            }
        }
        lat.push(t.elapsed());
        let id = rule["security_group_rule"]["id"].as_str().unwrap_or_default();
        call(client, reqwest::Method::DELETE, &format!("{api}/security-group-rules/{id}"), Value::Null).await.ok();
        let t = Instant::now();
        while pings(&probe_vm, "10.8.0.10").await {
            if t.elapsed() > Duration::from_secs(10) {
                bail!("the rule's removal did not take effect within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    bench.stop().await;
    lat.remove(0);
    lat.sort();
    println!(
        "  API rule create -> first ping through     p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  ({rounds} runs)",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        pct(&lat, 1.0)
    );
    Ok(())
}

//! `neutrino bench --l2` (root): the L2 agent's speed on this machine.
//! (1) From `port create` to the first ping reply of a new instance (port
//! create, bind and plug as `vif plug` does, address, ping an instance
//! already there). (2) A full sync of an agent over N ports already in
//! place: time and kernel operations (which must be zero). Everything runs
//! in namespaces named `nb<pid>-…`, removed at the end.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use neutrino_agent::channel::Channel;
use neutrino_agent::dataplane::{ip, IpRoute};
use neutrino_agent::l2::L2Agent;
use neutrino_agent::reconcile::L2Config;
use serde_json::{json, Value};
use tokio::process::Command;

pub(crate) struct Namespaces(pub(crate) String);

impl Drop for Namespaces {
    fn drop(&mut self) {
        let list = std::process::Command::new("ip").args(["netns", "list"]).output();
        let text = list.map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
        for name in text.lines().filter_map(|l| l.split_whitespace().next()) {
            if name.starts_with(&format!("{}-", self.0)) {
                let _ = std::process::Command::new("ip").args(["netns", "del", name]).status();
            }
        }
    }
}

pub(crate) async fn pings(vm: &str, ip: &str) -> bool {
    Command::new("ip")
        .args(["netns", "exec", vm, "ping", "-c", "1", "-W", "0.05", ip])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

pub(crate) async fn call(client: &reqwest::Client, method: reqwest::Method, url: &str, body: Value) -> Result<Value> {
    let resp = client.request(method, url).json(&body).send().await?;
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{url}: {status}: {v}");
    }
    Ok(v)
}

pub(crate) fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Where instances are made: the API, the agent channel, the node namespace and the network.
pub(crate) struct Site<'a> {
    pub(crate) client: &'a reqwest::Client,
    pub(crate) api: &'a str,
    pub(crate) channel: &'a Channel,
    pub(crate) node: &'a str,
    pub(crate) net: &'a str,
}

/// Creates (with `extra` port attributes), binds and plugs one port with `ip`; returns its id.
pub(crate) async fn instance(site: &Site<'_>, vm: &str, ip_addr: &str, extra: Value) -> Result<String> {
    let Site { client, api, channel, node, net } = *site;
    let mut body = json!({"network_id": net, "fixed_ips": [{"ip_address": ip_addr}]});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let port = call(client, reqwest::Method::POST, &format!("{api}/ports"), json!({ "port": body })).await?;
    let id = port["port"]["id"].as_str().context("no port id")?.to_string();
    let (p, mtu) = channel.bind(&id, "bench", vm, "compute:nova").await?;
    let mac = p["mac_address"].as_str().context("no MAC")?.to_string();
    let tap = neutrino_model::names::tap_device(&id);
    ip(None, &["netns", "add", vm]).await?;
    let mtu = mtu.to_string();
    ip(
        None,
        &[
            "-n", node, "link", "add", &tap, "mtu", &mtu, "type", "veth", "peer", "name", "eth0", "mtu", &mtu,
            "address", &mac, "netns", vm,
        ],
    )
    .await?;
    ip(Some(vm), &["addr", "add", &format!("{ip_addr}/16"), "dev", "eth0"]).await?;
    ip(Some(vm), &["link", "set", "eth0", "up"]).await?;
    Ok(id)
}

/// An embedded server and a running L2 agent (host `bench`) working in
/// namespace `<prefix>-node`; scratch files and namespaces go on drop.
pub(crate) struct AgentBench {
    pub(crate) prefix: String,
    pub(crate) api: String,
    pub(crate) node: String,
    pub(crate) channel: Channel,
    pub(crate) client: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _scratch: crate::bench::Scratch,
    _cleanup: Namespaces,
}

impl AgentBench {
    /// Starts both (namespaces `<tag><pid>-…`) and waits for the agent's registration.
    pub(crate) async fn start(tag: &str, firewall: bool) -> Result<AgentBench> {
        let prefix = format!("{tag}{}", std::process::id() % 100_000);
        let cleanup = Namespaces(prefix.clone());
        let dir = std::env::temp_dir().join(format!("neutrino-bench-{prefix}"));
        std::fs::create_dir_all(&dir)?;
        let scratch = crate::bench::Scratch(Some(dir.clone()));
        let base = crate::bench::start_embedded(&dir).await?;
        let api = format!("{base}/v2.0");
        let node = format!("{prefix}-node");
        ip(None, &["netns", "add", &node]).await?;
        ip(Some(&node), &["link", "set", "lo", "up"]).await?;
        let channel = Channel::new(&base, None)?;
        let agent = L2Agent {
            channel: channel.clone(),
            dataplane: IpRoute { netns: Some(node.clone()) },
            config: L2Config { local_ip: Some("127.0.0.1".into()), firewall, ..L2Config::default() },
            host: "bench".into(),
            report_interval: 30,
        };
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = agent
                .run(
                    async {
                        let _ = stop_rx.await;
                    },
                    || {},
                )
                .await;
        });
        let client = reqwest::Client::new();
        // Bindings need the agent registered.
        let deadline = Instant::now() + Duration::from_secs(10);
        while call(&client, reqwest::Method::GET, &format!("{api}/agents"), Value::Null).await?["agents"]
            .as_array()
            .is_none_or(|a| a.is_empty())
        {
            if Instant::now() > deadline {
                bail!("the agent did not register");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(AgentBench { prefix, api, node, channel, client, stop, task, _scratch: scratch, _cleanup: cleanup })
    }

    /// Stops the agent (then drop removes the rest).
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Runs the L2 benchmark.
pub async fn run(rounds: usize, sync_ports: usize) -> Result<ExitCode> {
    if !std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    {
        bail!("bench --l2 needs root (network namespaces)");
    }
    let bench = AgentBench::start("nb", false).await?;
    let AgentBench { prefix, api, node, channel, client, .. } = &bench;
    let (prefix, api, node, channel, client) =
        (prefix.clone(), api.clone(), node.clone(), channel.clone(), client.clone());
    call(&client, reqwest::Method::PUT, &format!("{api}/quotas/noauth-project"), json!({"quota": {"port": -1}}))
        .await?;
    let net =
        call(&client, reqwest::Method::POST, &format!("{api}/networks"), json!({"network": {"name": "bench"}})).await?;
    let net_id = net["network"]["id"].as_str().context("no network id")?.to_string();
    call(
        &client,
        reqwest::Method::POST,
        &format!("{api}/subnets"),
        json!({"subnet": {"network_id": net_id, "cidr": "10.9.0.0/16", "ip_version": 4}}),
    )
    .await?;
    let first_vm = format!("{prefix}-vm0");
    let site = Site { client: &client, api: &api, channel: &channel, node: &node, net: &net_id };
    instance(&site, &first_vm, "10.9.0.10", Value::Null).await?;

    // (1) port create + plug -> first ping reply.
    let (mut lat, mut active) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let vm = format!("{prefix}-vm{}", i + 1);
        let addr = format!("10.9.1.{}", i + 1);
        let t = Instant::now();
        let id = instance(&site, &vm, &addr, Value::Null).await?;
        // The instance speaks once its port is ACTIVE (wired), as a booting VM
        // would; pinging earlier only arms the kernel's 1 s ARP retry timer.
        loop {
            let p =
                call(&client, reqwest::Method::GET, &format!("{api}/ports/{id}?fields=status"), Value::Null).await?;
            if p["port"]["status"] == "ACTIVE" {
                break;
            }
            if t.elapsed() > Duration::from_secs(10) {
                bail!("port not ACTIVE within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        active.push(t.elapsed());
        while !pings(&vm, "10.9.0.10").await {
            if t.elapsed() > Duration::from_secs(10) {
                bail!("no reply within 10 s");
            }
        }
        lat.push(t.elapsed());
    }
    lat.sort();
    active.sort();
    println!("| measure | n | p50 (ms) | p99 (ms) | max (ms) |");
    println!("|---|---|---|---|---|");
    for (name, v) in [("port create + plug -> port ACTIVE", &active), ("port create + plug -> first ping reply", &lat)]
    {
        println!("| {name} | {} | {:.1} | {:.1} | {:.1} |", v.len(), pct(v, 0.5), pct(v, 0.99), pct(v, 1.0));
    }

    // (2) full sync over `sync_ports` ports already in place.
    let mut taps = Vec::with_capacity(sync_ports);
    for i in 0..sync_ports {
        let port =
            call(&client, reqwest::Method::POST, &format!("{api}/ports"), json!({"port": {"network_id": net_id}}))
                .await?;
        let id = port["port"]["id"].as_str().context("no port id")?.to_string();
        channel.bind(&id, "bench", &format!("vm-sync-{i}"), "compute:nova").await?;
        taps.push(format!("tuntap add dev {} mode tap", neutrino_model::names::tap_device(&id)));
    }
    IpRoute { netns: Some(node.clone()) }.batch("ip", &taps).await?;
    let expected = sync_ports + rounds + 1;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ports =
            call(&client, reqwest::Method::GET, &format!("{api}/ports?status=ACTIVE&fields=id"), Value::Null).await?;
        if ports["ports"].as_array().map_or(0, Vec::len) >= expected {
            break;
        }
        if Instant::now() > deadline {
            bail!("the agent did not wire {expected} ports within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let fresh = L2Agent {
        channel: channel.clone(),
        dataplane: IpRoute { netns: Some(node.clone()) },
        config: L2Config { local_ip: Some("127.0.0.1".into()), ..L2Config::default() },
        host: "bench".into(),
        report_interval: 30,
    };
    let mut syncs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let state = channel.state("bench").await?;
        let report = fresh.reconcile(&state).await.map_err(anyhow::Error::msg)?;
        syncs.push((t.elapsed(), report.ops, state.ports.len()));
    }
    for (took, ops, ports) in &syncs {
        println!(
            "| full sync, {ports} ports in place | 1 | {:.1} | - | - | (kernel operations: {ops})",
            took.as_secs_f64() * 1000.0
        );
    }
    bench.stop().await;
    if syncs.iter().any(|(_, ops, _)| *ops > 0) {
        bail!("a full sync over a right kernel changed something");
    }
    Ok(ExitCode::SUCCESS)
}

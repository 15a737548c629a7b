//! `neutrino bench --agents N`: one `neutrino server` process holding N L2
//! agents' long polls of the change stream (the direct channel, each agent
//! on its own connection, filtered to its host), its memory (VmRSS) idle
//! and with them all connected, and per commit how many agents are woken
//! and how soon. A benchmark, not a test: it prints figures.

use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

use crate::bench::Scratch;

/// Hosts per network: a port bound to one host concerns this many agents.
const HOSTS_PER_NETWORK: usize = 10;

/// The resident memory of process `pid`, in MiB.
fn rss_mib(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS for {pid}"))?;
    Ok(kib / 1024.0)
}

/// Starts `neutrino server` (this binary) on a fresh SQLite file in `dir`.
async fn start_server(dir: &std::path::Path) -> Result<(tokio::process::Child, String)> {
    let conf = dir.join("neutron.conf");
    std::fs::write(
        &conf,
        format!(
            "[DEFAULT]\nauth_strategy = noauth\nstate_path = {0}\n[quotas]\nquota_port = -1\nquota_network = -1\n\
             quota_subnet = -1\n[database]\nconnection = sqlite:///{0}/neutrino.db\n",
            dir.display()
        ),
    )?;
    let exe = std::env::current_exe()?;
    let up = tokio::process::Command::new(&exe).args(["db", "upgrade", "--config-file"]).arg(&conf).output().await?;
    if !up.status.success() {
        bail!("db upgrade failed: {}", String::from_utf8_lossy(&up.stderr));
    }
    let mut child = tokio::process::Command::new(&exe)
        .args(["server", "--bind-host", "127.0.0.1", "--bind-port", "0", "--config-file"])
        .arg(&conf)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains("API listening") {
                return Some(l);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .ok_or_else(|| anyhow!("the server did not start"))?;
    let at = line.find("http://").ok_or_else(|| anyhow!("no URL in {line}"))?;
    let url: String = line[at..].chars().take_while(|c| !c.is_whitespace()).collect();
    Ok((child, url.trim_end_matches("/v2.0").to_string()))
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Result<Value> {
    let r = client.post(&url).json(&body).send().await?;
    let status = r.status();
    let v: Value = r.json().await?;
    if !status.is_success() {
        bail!("POST {url}: {status}: {v}");
    }
    Ok(v)
}

/// Runs the benchmark with `n` agents and `commits` bound ports.
pub async fn run(n: usize, commits: usize) -> Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("neutrino-bench-agents-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let _scratch = Scratch(Some(dir.clone()));
    let (server, base) = start_server(&dir).await?;
    let pid = server.id().ok_or_else(|| anyhow!("the server exited"))?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(n + 64).build()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_mib(pid)?;

    // The agents register; every host gets a port on one of n/10 networks.
    let nets = n.div_ceil(HOSTS_PER_NETWORK);
    let mut networks = Vec::new();
    for k in 0..nets {
        let v = post(&client, format!("{base}/v2.0/networks"), json!({"network": {"name": format!("n{k}")}})).await?;
        let id = v["network"]["id"].as_str().ok_or_else(|| anyhow!("no network id"))?.to_string();
        let cidr = format!("10.{}.{}.0/24", k / 256, k % 256);
        post(
            &client,
            format!("{base}/v2.0/subnets"),
            json!({"subnet": {"network_id": id, "cidr": cidr, "ip_version": 4}}),
        )
        .await?;
        networks.push(id);
    }
    let setup: Vec<Result<Value>> = stream::iter(0..n)
        .map(|i| {
            let (client, base, net) = (client.clone(), base.clone(), networks[i / HOSTS_PER_NETWORK].clone());
            async move {
                let report = json!({"agent": {"agent_type": "Linux bridge agent", "binary": "neutron-linuxbridge-agent",
                    "host": format!("node-{i}"), "topic": "N/A", "start_flag": true,
                    "configurations": {"tunnel_types": ["vxlan"], "local_ip": "192.0.2.10", "devices": 1}}});
                post(&client, format!("{base}/agent/v1/report"), report).await?;
                let port = json!({"port": {"network_id": net, "binding:host_id": format!("node-{i}")}});
                post(&client, format!("{base}/v2.0/ports"), port).await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for r in setup {
        r?;
    }
    let registered = rss_mib(pid)?;

    // Every agent long-polls its host's changes, again after each answer.
    // From the end of the log (pages of it until one is empty), as an agent after its full sync.
    let mut position = 0;
    loop {
        let page: Value = client.get(format!("{base}/agent/v1/changes?after={position}")).send().await?.json().await?;
        position = page["last"].as_i64().unwrap_or(position);
        if page["changes"].as_array().is_none_or(|c| c.is_empty()) {
            break;
        }
    }
    let (woke_tx, mut woke_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let agents: Vec<_> = (0..n)
        .map(|i| {
            let (client, base, woke, polls) = (client.clone(), base.clone(), woke_tx.clone(), polls.clone());
            tokio::spawn(async move {
                let mut after = position;
                loop {
                    let url = format!("{base}/agent/v1/changes?after={after}&wait=60&host=node-{i}&firewall=0");
                    polls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Ok(r) = client.get(url).send().await else { return };
                    let Ok(v) = r.json::<Value>().await else { return };
                    after = v["last"].as_i64().unwrap_or(after);
                    if v["changes"].as_array().is_some_and(|c| !c.is_empty()) {
                        let _ = woke.send((i, Instant::now()));
                    }
                }
            })
        })
        .collect();
    drop(woke_tx);
    while polls.load(std::sync::atomic::Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let waiting = rss_mib(pid)?;

    // Ports bound to one host after another: who hears, and when.
    let mut latencies = Vec::new();
    let mut woken = 0usize;
    let mut unexpected = 0usize;
    for c in 0..commits {
        let host = (c * 37) % n;
        let net = &networks[host / HOSTS_PER_NETWORK];
        let expected: Vec<usize> = (host / HOSTS_PER_NETWORK * HOSTS_PER_NETWORK
            ..((host / HOSTS_PER_NETWORK + 1) * HOSTS_PER_NETWORK).min(n))
            .collect();
        let t = Instant::now();
        post(
            &client,
            format!("{base}/v2.0/ports"),
            json!({"port": {"network_id": net, "binding:host_id": format!("node-{host}")}}),
        )
        .await?;
        let mut heard = std::collections::BTreeSet::new();
        let deadline = t + Duration::from_secs(10);
        while heard.len() < expected.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, woke_rx.recv()).await {
                Ok(Some((i, at))) => {
                    if expected.contains(&i) {
                        heard.insert(i);
                        latencies.push(at.duration_since(t));
                    } else {
                        unexpected += 1;
                    }
                }
                _ => bail!("commit {c}: only {} of {} agents heard within 10 s", heard.len(), expected.len()),
            }
        }
        woken += heard.len();
        // Anyone else woken by this commit shows up within a moment.
        tokio::time::sleep(Duration::from_millis(50)).await;
        while let Ok((i, _)) = woke_rx.try_recv() {
            if !expected.contains(&i) {
                unexpected += 1;
            }
        }
    }
    let after = rss_mib(pid)?;
    for a in agents {
        a.abort();
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies.get(((latencies.len() as f64 - 1.0) * p).round() as usize).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!("| agents | long polls | server RSS idle | registered | all waiting | after {commits} commits |");
    println!("|--------|------------|-----------------|------------|-------------|-------------------|");
    println!("| {n} | {n} | {idle:.1} MiB | {registered:.1} MiB | {waiting:.1} MiB | {after:.1} MiB |");
    println!();
    println!(
        "per commit (a port bound to one host, {HOSTS_PER_NETWORK} hosts per network): {:.1} agents woken of {n}, \
         {unexpected} woken that it does not concern; commit → agent answered p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        woken as f64 / commits.max(1) as f64,
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    drop(server);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rss_of_this_process_is_read() {
        let mib = super::rss_mib(std::process::id()).expect("rss");
        assert!(mib > 1.0, "{mib}");
    }
}

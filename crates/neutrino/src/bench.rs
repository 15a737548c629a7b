//! `neutrino bench`: API throughput and latency (ops/s, p50, p99) for
//! network/subnet/port create, port show and the list of many ports.
//! A benchmark, not a test: it asserts nothing and prints figures.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

/// Options of `neutrino bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// API to measure; default: an all-in-one started in-process on a temporary SQLite store.
    /// Several servers of one deployment, comma-separated, share the calls round-robin.
    #[arg(long)]
    pub url: Option<String>,
    /// A token for `--url` under keystone auth (`openstack token issue -f value -c id`).
    #[arg(long, env = "OS_AUTH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Networks (and subnets) to create.
    #[arg(long, default_value_t = 200)]
    pub networks: usize,
    /// Ports to create one by one (and then show).
    #[arg(long, default_value_t = 2000)]
    pub ports: usize,
    /// Ports in the network whose full list is timed.
    #[arg(long, default_value_t = 10_000)]
    pub list_size: usize,
    /// How many times the full list is fetched.
    #[arg(long, default_value_t = 20)]
    pub list_rounds: usize,
    /// Measure the L2 agent instead (root): port create + plug to first ping, and a full sync.
    #[arg(long)]
    pub l2: bool,
    /// With --l2: instances created one by one for the first-ping measure.
    #[arg(long, default_value_t = 20)]
    pub l2_rounds: usize,
    /// With --l2: ports in place for the full-sync measure.
    #[arg(long, default_value_t = 1000)]
    pub l2_sync_ports: usize,
    /// Measure the agent channel instead: this many L2 agents long-polling one
    /// `neutrino server` process (its memory, and who a commit wakes).
    #[arg(long)]
    pub agents: Option<usize>,
    /// With --agents: ports bound (one host each) while they wait.
    #[arg(long, default_value_t = 50)]
    pub agent_commits: usize,
    /// Measure the security group firewall instead (root).
    #[arg(long)]
    pub sg: bool,
    /// With --sg: filtered ports.
    #[arg(long, default_value_t = 200)]
    pub sg_ports: usize,
    /// With --sg: rules of their group.
    #[arg(long, default_value_t = 500)]
    pub sg_rules: usize,
    /// With --sg: members of the remote group.
    #[arg(long, default_value_t = 1000)]
    pub sg_members: usize,
}

struct Stats {
    name: String,
    ops: usize,
    wall: Duration,
    lat: Vec<Duration>,
}

impl Stats {
    fn pct(&self, p: f64) -> Duration {
        if self.lat.is_empty() {
            return Duration::ZERO;
        }
        let mut v = self.lat.clone();
        v.sort_unstable();
        let idx = ((p / 100.0) * (v.len() as f64 - 1.0)).round() as usize;
        v[idx.min(v.len() - 1)]
    }

    fn line(&self) -> String {
        format!(
            "| {:<28} | {:>6} | {:>9.0} | {:>8.2} | {:>8.2} |",
            self.name,
            self.ops,
            self.ops as f64 / self.wall.as_secs_f64().max(1e-9),
            self.pct(50.0).as_secs_f64() * 1e3,
            self.pct(99.0).as_secs_f64() * 1e3
        )
    }
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<(Duration, Value)> {
    let start = Instant::now();
    let mut req = client.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let bytes = resp.bytes().await?;
    let took = start.elapsed();
    if !status.is_success() {
        bail!("{url}: {status}: {}", String::from_utf8_lossy(&bytes));
    }
    let v = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes)? };
    Ok((took, v))
}

/// A GET timed until the last byte arrives, without parsing the body
/// (what a client waits for; parsing 10,000 ports is the client's cost).
async fn fetch(client: &reqwest::Client, url: &str) -> Result<(Duration, Value)> {
    let start = Instant::now();
    let resp = client.get(url).send().await?;
    let status = resp.status();
    let bytes = resp.bytes().await?;
    let took = start.elapsed();
    if !status.is_success() {
        bail!("{url}: {status}");
    }
    Ok((took, Value::from(bytes.len())))
}

/// Runs `n` calls of `make(i)` with `conc` in flight.
async fn timed<F, Fut>(name: &str, n: usize, conc: usize, make: F) -> Result<(Stats, Vec<Value>)>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(Duration, Value)>>,
{
    let start = Instant::now();
    let results: Vec<Result<(Duration, Value)>> =
        stream::iter(0..n).map(make).buffer_unordered(conc.max(1)).collect().await;
    let wall = start.elapsed();
    let mut lat = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    for r in results {
        let (d, v) = r?;
        lat.push(d);
        values.push(v);
    }
    Ok((Stats { name: name.to_string(), ops: n, wall, lat }, values))
}

fn id(v: &Value, key: &str) -> Result<String> {
    v.get(key)
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| anyhow!("no {key}.id in {v}"))
}

/// Removes the embedded server's state directory when the bench ends.
pub(crate) struct Scratch(pub(crate) Option<std::path::PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The servers' API roots; call `i` goes to server `i mod n`.
struct Servers(Vec<String>);

impl Servers {
    fn at(&self, i: usize) -> String {
        self.0[i % self.0.len()].clone()
    }
}

/// Runs the benchmark and prints a Markdown table.
pub async fn run(args: BenchArgs) -> Result<ExitCode> {
    if args.l2 {
        return crate::bench_l2::run(args.l2_rounds, args.l2_sync_ports).await;
    }
    if args.sg {
        return crate::bench_sg::run(args.sg_ports, args.sg_rules, args.sg_members).await;
    }
    if let Some(n) = args.agents {
        return crate::bench_agents::run(n, args.agent_commits).await;
    }
    let mut scratch = Scratch(None);
    let bases: Vec<String> = match &args.url {
        Some(u) => u.split(',').map(|b| b.trim().trim_end_matches('/').to_string()).filter(|b| !b.is_empty()).collect(),
        None => {
            let dir = std::env::temp_dir().join(format!("neutrino-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            scratch.0 = Some(dir.clone());
            vec![start_embedded(&dir).await?]
        }
    };
    if bases.is_empty() {
        bail!("--url names no server");
    }
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(t) = &args.token {
        headers.insert(
            "x-auth-token",
            reqwest::header::HeaderValue::from_str(t).context("the token is not a header value")?,
        );
    }
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(args.concurrency * 2).default_headers(headers).build()?;
    // Call i goes to server i mod n.
    let apis = Arc::new(Servers(bases.iter().map(|b| format!("{b}/v2.0")).collect()));
    let api = apis.0[0].clone();
    let c = args.concurrency;
    let mut rows = Vec::new();
    // The bench creates more than Neutron's default quotas allow one project
    // (the caller's: the token's, or noauth's).
    let (_, who) = call(&client, reqwest::Method::GET, &format!("{api}/quotas/project"), None).await?;
    let project = who["project"]["project_id"].as_str().unwrap_or("noauth-project").to_string();
    call(
        &client,
        reqwest::Method::PUT,
        &format!("{api}/quotas/{project}"),
        Some(json!({"quota": {"network": -1, "subnet": -1, "port": -1}})),
    )
    .await?;

    let (s, nets) = timed("network create", args.networks, c, |i| {
        let (client, api) = (client.clone(), apis.at(i));
        async move {
            call(
                &client,
                reqwest::Method::POST,
                &format!("{api}/networks"),
                Some(json!({"network": {"name": format!("bench-net-{i}")}})),
            )
            .await
        }
    })
    .await?;
    rows.push(s);
    let net_ids: Vec<String> = nets.iter().map(|v| id(v, "network")).collect::<Result<_>>()?;
    let net_ids = Arc::new(net_ids);

    let (s, _) = timed("subnet create", args.networks, c, |i| {
        let (client, api, nets) = (client.clone(), apis.at(i), net_ids.clone());
        async move {
            let body = json!({"subnet": {"network_id": nets[i], "ip_version": 4, "cidr": format!("10.{}.{}.0/24", i / 256, i % 256)}});
            call(&client, reqwest::Method::POST, &format!("{api}/subnets"), Some(body)).await
        }
    })
    .await?;
    rows.push(s);

    // One big network for ports: a /16 holds the create run and the list set.
    let (_, net) = call(
        &client,
        reqwest::Method::POST,
        &format!("{api}/networks"),
        Some(json!({"network": {"name": "bench-ports"}})),
    )
    .await?;
    let big = Arc::new(id(&net, "network")?);
    call(
        &client,
        reqwest::Method::POST,
        &format!("{api}/subnets"),
        Some(json!({"subnet": {"network_id": *big, "ip_version": 4, "cidr": "172.16.0.0/16"}})),
    )
    .await?;

    let (s, ports) = timed(&format!("port create (c={c})"), args.ports, c, |i| {
        let (client, api, big) = (client.clone(), apis.at(i), big.clone());
        async move {
            call(
                &client,
                reqwest::Method::POST,
                &format!("{api}/ports"),
                Some(json!({"port": {"network_id": *big, "name": format!("p{i}")}})),
            )
            .await
        }
    })
    .await?;
    rows.push(s);
    let port_ids: Arc<Vec<String>> = Arc::new(ports.iter().map(|v| id(v, "port")).collect::<Result<_>>()?);

    let (s, _) = timed(&format!("port show (c={c})"), port_ids.len(), c, |i| {
        let (client, api, ids) = (client.clone(), apis.at(i), port_ids.clone());
        async move { call(&client, reqwest::Method::GET, &format!("{api}/ports/{}", ids[i]), None).await }
    })
    .await?;
    rows.push(s);

    // Fill the network to list_size ports with bulk creates of 500.
    let mut have = args.ports;
    while have < args.list_size {
        let n = (args.list_size - have).min(500);
        let items: Vec<Value> = (0..n).map(|_| json!({"network_id": *big})).collect();
        call(&client, reqwest::Method::POST, &format!("{api}/ports"), Some(json!({"ports": items}))).await?;
        have += n;
    }
    let list_url = format!("{api}/ports?network_id={}", *big);
    let (_, first) = call(&client, reqwest::Method::GET, &list_url, None).await?;
    let listed = first.get("ports").and_then(Value::as_array).map_or(0, Vec::len);
    if listed != args.list_size {
        bail!("listed {listed} ports, expected {}", args.list_size);
    }
    let (s, _) = timed(&format!("port list ({} ports)", args.list_size), args.list_rounds, 1, |_| {
        let (client, url) = (client.clone(), list_url.clone());
        async move { fetch(&client, &url).await }
    })
    .await?;
    rows.push(s);

    println!("| operation                    |    ops |     ops/s | p50 (ms) | p99 (ms) |");
    println!("|------------------------------|--------|-----------|----------|----------|");
    for r in &rows {
        println!("{}", r.line());
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts an all-in-one API on 127.0.0.1 (ephemeral port) over a fresh SQLite file.
pub(crate) async fn start_embedded(dir: &std::path::Path) -> Result<String> {
    let url = format!("sqlite:///{}", dir.join("neutrino.db").display());
    let store = neutrino_store::Store::open(&url, &neutrino_store::StoreOptions::default()).await?;
    store.upgrade().await?;
    let loaded = neutrino_config::Loaded::defaults();
    let plugin = neutrino_server::Plugin::from_config(store, &loaded.config).map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("bind 127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = neutrino_server::serve::serve(
            listener,
            Arc::new(plugin),
            neutrino_server::api::Auth::Noauth,
            std::future::pending(),
        )
        .await;
    });
    Ok(format!("http://{addr}"))
}

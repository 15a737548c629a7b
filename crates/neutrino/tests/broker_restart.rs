//! The agent channel over RabbitMQ, against a private broker this test
//! starts on spare ports (the machine's own stays up): an L2 agent that
//! knows no server URL at all registers and wires ports through the broker
//! alone, woken by the server's notices; the broker is killed (`kill -9`)
//! and started again while a port is bound — the agent converges
//! afterwards, and notices flow again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod servers;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use neutrino_agent::channel::Channel;
use neutrino_store::testing::TestDb;
use serde_json::{json, Value};
use servers::{start, until_active, until_registered, write_conf, MemoryAgent, TempDir};

const RABBIT: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

/// A RabbitMQ node of this test's own: its files under `dir`, listening on
/// 127.0.0.1 only, killed with its whole process group.
struct PrivateBroker {
    dir: PathBuf,
    port: u16,
    dist_port: u16,
    node: String,
    child: Option<Child>,
}

fn spare_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

impl PrivateBroker {
    /// A broker in `dir`, or `None` (printed) where RabbitMQ is not installed
    /// and this is not CI.
    fn new(dir: &Path) -> Option<PrivateBroker> {
        if !Path::new(RABBIT).exists() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI needs RabbitMQ ({RABBIT})");
            eprintln!("SKIP: RabbitMQ is not installed ({RABBIT})");
            return None;
        }
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("plugins"), "[].\n").unwrap();
        std::fs::write(dir.join("env.conf"), "").unwrap();
        let node = format!("neutrino_t_{}_{}@localhost", std::process::id(), spare_port());
        Some(PrivateBroker { dir: dir.to_path_buf(), port: spare_port(), dist_port: spare_port(), node, child: None })
    }

    fn url(&self) -> String {
        format!("rabbit://guest:guest@127.0.0.1:{}/", self.port)
    }

    /// Starts the node (again, on the same files) and waits for its listener.
    fn launch(&mut self) {
        let d = &self.dir;
        let out = std::fs::OpenOptions::new().create(true).append(true).open(d.join("out")).unwrap();
        let child = Command::new(RABBIT)
            .env("HOME", d)
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", d.join("log"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("plugins"))
            .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq"))
            .env("RABBITMQ_CONF_ENV_FILE", d.join("env.conf"))
            .env("RABBITMQ_PID_FILE", d.join("pid"))
            .env_remove("RABBITMQ_ALLOW_INPUT")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(120);
        while !listening(self.port) {
            assert!(Instant::now() < deadline, "the private RabbitMQ did not start; see {}", d.join("out").display());
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `kill -9` of the node and all its processes.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", c.id())]).status();
            let _ = c.wait();
            let deadline = Instant::now() + Duration::from_secs(10);
            while listening(self.port) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_on_the_broker_converge_after_it_restarts() {
    let tmp = TempDir::new("neutrino-rabbit");
    let dir = tmp.0.clone();
    let Some(mut broker) = PrivateBroker::new(&dir.join("broker")) else { return };
    broker.launch();
    let db = TestDb::new();
    let exchange = format!("neutrino_t_{}", std::process::id());
    let extra = format!("transport_url = {}\ncontrol_exchange = {exchange}", broker.url());
    let conf = write_conf(&dir, &db.url, &extra);
    let (_server, api) = start(&conf, true);

    // The agent knows the broker only. Its heartbeat is every 30 s, so
    // between heartbeats only a notice wakes it (or a device appearing).
    let settings = neutrino_bus::BusSettings::new(&broker.url(), &exchange).unwrap();
    let agent = MemoryAgent::start(Channel::over_bus(settings, None).unwrap(), 30);
    let kernel = agent.kernel.clone();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let call = |method: reqwest::Method, path: String, body: Value| {
        let (client, url) = (client.clone(), format!("{api}/v2.0/{path}"));
        async move {
            let r = client.request(method, url).json(&body).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<Value>().await.unwrap()
        }
    };
    until_registered(&client, &api, "node-1").await;
    let net = call(reqwest::Method::POST, "networks".into(), json!({"network": {"name": "bus"}})).await;
    let net = net["network"]["id"].as_str().unwrap().to_string();
    let subnet = json!({"subnet": {"network_id": net, "cidr": "10.42.0.0/24", "ip_version": 4}});
    call(reqwest::Method::POST, "subnets".into(), subnet).await;
    // A port whose device exists before it is bound here: binding it is a
    // change that only the server's notice tells the agent of in time.
    let bound_port = |name: &'static str| {
        let (net, kernel) = (net.clone(), kernel.clone());
        async move {
            let p =
                call(reqwest::Method::POST, "ports".into(), json!({"port": {"network_id": net, "name": name}})).await;
            let id = p["port"]["id"].as_str().unwrap().to_string();
            kernel.plug(&neutrino_model::names::tap_device(&id));
            tokio::time::sleep(Duration::from_millis(500)).await;
            let bind = json!({"port": {"binding:host_id": "node-1", "device_owner": "compute:nova"}});
            call(reqwest::Method::PUT, format!("ports/{id}"), bind).await;
            id
        }
    };
    let p1 = bound_port("before").await;
    until_active(&client, &api, &p1, Duration::from_secs(10)).await;

    // The broker dies. The API goes on (nothing waits on the broker); a
    // port is bound meanwhile; the broker comes back on the same files.
    broker.kill();
    let p2 = bound_port("during").await;
    broker.launch();
    let restarted = Instant::now();
    until_active(&client, &api, &p2, Duration::from_secs(60)).await;
    eprintln!("the port bound during the outage was wired {:?} after the broker was back", restarted.elapsed());

    // Calls and notices flow again: a new binding is wired as fast as before.
    let p3 = bound_port("after").await;
    until_active(&client, &api, &p3, Duration::from_secs(10)).await;

    agent.stop().await;
    drop(broker);
}

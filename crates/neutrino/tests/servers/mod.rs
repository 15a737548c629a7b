//! `neutrino server` processes for the fault tests: configuration, start
//! (reading the address it listens on), `kill -9`, and waiting for what an
//! agent does.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use neutrino_agent::channel::Channel;
use neutrino_agent::dataplane::Memory;
use neutrino_agent::l2::L2Agent;
use neutrino_agent::reconcile::L2Config;
use serde_json::Value;

/// A `neutrino server` process, killed (`SIGKILL`) on drop.
pub struct ServerProcess(Option<Child>);

impl ServerProcess {
    /// `kill -9`, then reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A directory of the test's, removed when dropped (a failed test too).
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `$TMPDIR/{name}-{pid}`, created.
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `dir/neutron.conf` for a noauth server on database `url`, with
/// `extra` lines in `[DEFAULT]`.
pub fn write_conf(dir: &Path, url: &str, extra: &str) -> PathBuf {
    let conf = dir.join("neutron.conf");
    let text = format!(
        "[DEFAULT]\nauth_strategy = noauth\nstate_path = {}\n{extra}\n[quotas]\nquota_port = -1\n[database]\nconnection = {url}\n",
        dir.display()
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

/// Migrates (once) and starts `neutrino server`; returns it and its API
/// root. Its log goes to `server.log` beside the configuration.
pub fn start(conf: &Path, migrate: bool) -> (ServerProcess, String) {
    let bin = env!("CARGO_BIN_EXE_neutrino");
    if migrate {
        let up = Command::new(bin).args(["db", "upgrade", "--config-file"]).arg(conf).output().unwrap();
        assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    }
    let log = std::fs::OpenOptions::new().create(true).append(true).open(conf.with_file_name("server.log")).unwrap();
    let mut child = Command::new(bin)
        .args(["server", "--bind-host", "127.0.0.1", "--bind-port", "0", "--config-file"])
        .arg(conf)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("API listening") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).expect("the server did not start");
    let at = line.find("http://").expect("an URL in the listening line");
    let url: String = line[at..].chars().take_while(|c| !c.is_whitespace()).collect();
    (ServerProcess(Some(child)), url.trim_end_matches("/v2.0").to_string())
}

/// Polls `GET {api}/v2.0/ports/{id}` until the port is ACTIVE; fails after `within`.
pub async fn until_active(client: &reqwest::Client, api: &str, id: &str, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let p: Value = client.get(format!("{api}/v2.0/ports/{id}")).send().await.unwrap().json().await.unwrap();
        if p["port"]["status"] == "ACTIVE" {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "port {id} not ACTIVE within {within:?}: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until an agent of `host` is registered (it reached a server).
pub async fn until_registered(client: &reqwest::Client, api: &str, host: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v: Value = client.get(format!("{api}/v2.0/agents?host={host}")).send().await.unwrap().json().await.unwrap();
        if v["agents"].as_array().is_some_and(|a| !a.is_empty()) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the agent of {host} never reported");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An in-process L2 agent of host `node-1` on an in-memory dataplane.
pub struct MemoryAgent {
    /// Its kernel (plug devices there).
    pub kernel: std::sync::Arc<Memory>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl MemoryAgent {
    /// Starts it on `channel`, reporting every `report_interval` seconds.
    pub fn start(channel: Channel, report_interval: u64) -> MemoryAgent {
        let kernel = std::sync::Arc::new(Memory::default());
        let agent = L2Agent {
            channel,
            dataplane: kernel.clone(),
            config: L2Config { local_ip: Some("192.0.2.1".into()), ..L2Config::default() },
            host: "node-1".into(),
            report_interval,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = agent
                .run(
                    async {
                        let _ = stopped.await;
                    },
                    || {},
                )
                .await;
        });
        MemoryAgent { kernel, stop, task }
    }

    /// Stops it and waits for it to end.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

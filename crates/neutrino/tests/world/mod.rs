//! What the privileged scenario tests share: a `World` of namespaces and
//! processes removed on drop (even after a failure), the `neutrino` binary,
//! a blocking API client and small shell helpers.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Runs a command, panicking with its output when it fails.
pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

pub fn try_sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Everything the scenario made, removed on drop (even after a failure).
pub struct World {
    pub prefix: String,
    pub dir: std::path::PathBuf,
    pub children: Vec<Child>,
}

impl World {
    /// A fresh world for `test` with namespaces `<tag><pid>-…`, or `None`
    /// (after saying why) without root — a failure under CI, which has root.
    pub fn new(test: &str, tag: &str) -> Option<World> {
        if !is_root() {
            assert!(std::env::var("CI").is_err(), "CI runs as root: this scenario must not skip");
            eprintln!("SKIP {test}: needs root (network namespaces)");
            return None;
        }
        let prefix = format!("{tag}{}", std::process::id() % 100_000);
        let dir = std::env::temp_dir().join(format!("neutrino-scenario-{prefix}"));
        std::fs::create_dir_all(&dir).unwrap();
        Some(World { prefix, dir, children: Vec::new() })
    }

    pub fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        }
        for c in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        // Grandchildren (dnsmasq) outlive their agents by design: find them by their files.
        if let Ok(entries) = std::fs::read_dir("/proc") {
            let marker = self.dir.to_string_lossy().to_string();
            for e in entries.flatten() {
                let pid = e.file_name().to_string_lossy().to_string();
                if pid.chars().all(|c| c.is_ascii_digit()) {
                    let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                    if String::from_utf8_lossy(&cmd).contains(&marker) {
                        let _ = Command::new("kill").arg(&pid).status();
                    }
                }
            }
        }
        let list = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        for line in list.lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            if name.starts_with(&format!("{}-", self.prefix)) {
                let _ = Command::new("ip").args(["netns", "del", name]).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_neutrino"))
}

/// Starts a process and waits for a stdout line containing `marker`; returns the line.
pub fn start(world: &mut World, cmd: &mut Command, marker: &str) -> String {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    world.children.push(child);
    let (tx, rx) = std::sync::mpsc::channel();
    let marker = marker.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains(&marker) {
                let _ = tx.send(line);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30)).expect("process did not report readiness")
}

pub struct Api {
    pub base: String,
    pub rt: tokio::runtime::Runtime,
    pub client: reqwest::Client,
}

impl Api {
    pub fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let mut r = self.client.request(method, format!("{}{path}", self.base));
            if let Some(b) = body {
                r = r.json(&b);
            }
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json().await.unwrap_or(Value::Null))
        })
    }
    pub fn post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.call(reqwest::Method::POST, path, Some(body));
        assert_eq!(s, 201, "{path}: {v}");
        v
    }
    pub fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).1
    }
    /// POSTs `attributes` as one `kind` (`network`, `security_group`, …) to `path`; returns its id.
    pub fn create(&self, path: &str, kind: &str, attributes: Value) -> String {
        let v = self.post(path, json!({ kind: attributes }));
        v[kind]["id"].as_str().unwrap_or_else(|| panic!("{path}: no id in {v}")).to_string()
    }
    /// A subnet of `cidr` on `network` without DHCP (IPv4 or IPv6 by the CIDR); returns its id.
    pub fn static_subnet(&self, network: &str, cidr: &str) -> String {
        let version = if cidr.contains(':') { 6 } else { 4 };
        self.create(
            "/v2.0/subnets",
            "subnet",
            json!({"network_id": network, "cidr": cidr, "ip_version": version, "enable_dhcp": false}),
        )
    }
}

pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

pub fn pings(ns: &str, ip: &str) -> bool {
    try_sh(&["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", ip])
}

/// Runs busybox's DHCP client in `vm` (eth0) once; returns what the lease
/// said (`ip= mask= router= dns= mtu= tftp=`) and applies the address and route.
pub fn dhcp_client(dir: &Path, vm: &str) -> Option<String> {
    let hook = dir.join("udhcpc.sh");
    let seen = dir.join(format!("lease-{vm}.txt"));
    let _ = std::fs::remove_file(&seen);
    std::fs::write(
        &hook,
        "#!/bin/sh\ncase \"$1\" in bound|renew)\n  \
         echo \"ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu tftp=$tftp\" > \"$LEASE_FILE\"\n  \
         ip addr add $ip/$mask dev $interface\n  ip route replace default via $router\n;; esac\n",
    )
    .ok()?;
    sh(&["chmod", "755", hook.to_str()?]);
    for _ in 0..5 {
        let ok = Command::new("ip")
            .args(["netns", "exec", vm, "env", &format!("LEASE_FILE={}", seen.display())])
            .args([
                "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3", "-T", "1", "-O", "mtu", "-O", "tftp",
                "-s",
            ])
            .arg(&hook)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return std::fs::read_to_string(&seen).ok();
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    None
}

/// A stand-in for Nova's metadata service on 127.0.0.1: answers one request
/// (`ami-id\nhostname\n`), hands over what it received, then goes away.
pub fn metadata_upstream() -> (u16, std::sync::mpsc::Receiver<String>) {
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = upstream.local_addr().unwrap().port();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = upstream.accept() {
            use std::io::{Read, Write};
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\nami-id\nhostname\n");
            let _ = seen_tx.send(String::from_utf8_lossy(&buf).to_string());
        }
    });
    (port, seen_rx)
}

/// `curl` of the metadata address from `vm`: the body and the HTTP status.
pub fn curl_metadata(vm: &str, extra: &[&str]) -> String {
    let mut args = vec!["netns", "exec", vm, "curl", "-s", "-m", "5", "-o", "-", "-w", " %{http_code}"];
    args.extend_from_slice(extra);
    args.push("http://169.254.169.254/latest/meta-data/");
    let out = Command::new("ip").args(&args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The signature Nova expects for `instance_id` (HMAC-SHA256 with `secret`).
pub fn nova_signature(secret: &str, instance_id: &str) -> String {
    sh(&[
        "python3",
        "-c",
        &format!("import hmac,hashlib;print(hmac.new(b'{secret}', b'{instance_id}', hashlib.sha256).hexdigest())"),
    ])
    .trim()
    .to_string()
}

/// The API root URL in a "listening" line.
fn url_in(line: &str) -> String {
    line.split_whitespace().find(|t| t.starts_with("http://")).unwrap().trim_end_matches("/v2.0").to_string()
}

/// Starts `neutrino server` with `conf` (Neutron INI text) over its own
/// state, the schema upgraded first; returns the API's root URL.
pub fn start_server(w: &mut World, conf: &str) -> String {
    let path = w.dir.join("server.conf");
    std::fs::write(&path, conf).unwrap();
    let state_dir = w.dir.join("state");
    let up =
        bin().args(["db", "upgrade", "--config-file"]).arg(&path).arg("--state-dir").arg(&state_dir).output().unwrap();
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    let line = start(
        w,
        bin()
            .args(["server", "--bind-host", "127.0.0.1", "--bind-port", "0", "--config-file"])
            .arg(&path)
            .arg("--state-dir")
            .arg(&state_dir),
        "API listening",
    );
    url_in(&line)
}

/// Starts `neutrino all-in-one` with `conf` on an ephemeral port; returns the API's root URL.
pub fn start_all_in_one(w: &mut World, conf: &str) -> String {
    let path = w.dir.join("aio.conf");
    std::fs::write(&path, conf).unwrap();
    let state_dir = w.dir.join("state");
    let line = start(
        w,
        bin().args(["all-in-one", "--bind-port", "0", "--config-file"]).arg(&path).arg("--state-dir").arg(&state_dir),
        "API listening",
    );
    url_in(&line)
}

/// Node namespaces `<prefix>-<name>` with `eth-u` (the address given, up)
/// on the bridge `br-u` of namespace `<prefix>-underlay`: the VXLAN underlay.
pub fn underlay(w: &World, nodes: &[(&str, &str)]) {
    let under = w.ns("underlay");
    sh(&["ip", "netns", "add", &under]);
    sh(&["ip", "-n", &under, "link", "add", "br-u", "type", "bridge"]);
    sh(&["ip", "-n", &under, "link", "set", "br-u", "up"]);
    for (i, (node, ip)) in nodes.iter().enumerate() {
        let ns = w.ns(node);
        sh(&["ip", "netns", "add", &ns]);
        let peer = format!("u{i}");
        sh(&["ip", "-n", &ns, "link", "add", "eth-u", "type", "veth", "peer", "name", &peer, "netns", &under]);
        sh(&["ip", "-n", &under, "link", "set", &peer, "master", "br-u", "up"]);
        sh(&["ip", "-n", &ns, "addr", "add", &format!("{ip}/24"), "dev", "eth-u"]);
        sh(&["ip", "-n", &ns, "link", "set", "eth-u", "up"]);
        sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
    }
}

/// A port on `network` with address `ip`, plugged by `neutrino vif plug`
/// (agent configuration `conf`) on `node` as instance namespace `vm`, the
/// address set inside; returns the port id.
pub fn plug_instance(api: &Api, conf: &Path, network: &str, node: &str, vm: &str, ip: &str) -> String {
    plug_instance_with(api, conf, network, node, vm, ip, json!({}))
}

/// [`plug_instance`] with more attributes for the port (`extra`, an object).
pub fn plug_instance_with(
    api: &Api,
    conf: &Path,
    network: &str,
    node: &str,
    vm: &str,
    ip: &str,
    extra: Value,
) -> String {
    let mut port = json!({"network_id": network, "fixed_ips": [{"ip_address": ip}]});
    if let (Value::Object(p), Value::Object(extra)) = (&mut port, extra) {
        p.extend(extra);
    }
    let port = api.post("/v2.0/ports", json!({ "port": port }));
    let port_id = port["port"]["id"].as_str().unwrap().to_string();
    let out = bin()
        .args(["vif", "plug", &port_id, "--host", node, "--netns", vm, "--config-file"])
        .arg(conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "vif plug: {}", String::from_utf8_lossy(&out.stderr));
    sh(&["ip", "-n", vm, "addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
    port_id
}

/// Waits (15 s at most) until port `id` is ACTIVE.
pub fn until_active(api: &Api, id: &str) {
    wait_until("port ACTIVE", Duration::from_secs(15), || {
        api.get(&format!("/v2.0/ports/{id}"))["port"]["status"] == "ACTIVE"
    });
}

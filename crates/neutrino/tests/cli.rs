//! The `neutrino` binary as a user runs it: config show on the seed's files,
//! bad config, the db commands, server readiness and shutdown.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_neutrino"));
    c.env_remove("RUST_LOG");
    c
}

fn seed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seed-configs").join(name)
}

struct Dir(PathBuf);
impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("neutrino-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn config_show_loads_the_seed_files_with_their_warnings() {
    let dir = Dir::new("seed");
    let out = bin()
        .args(["config", "show", "--format", "json", "--state-dir"])
        .arg(&dir.0)
        .arg("--config-file")
        .arg(seed("neutron.conf"))
        .arg("--config-file")
        .arg(seed("ml2_conf.ini"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let opt = |s: &str, k: &str| v["options"][s][k]["value"].clone();
    assert_eq!(opt("ml2", "type_drivers"), serde_json::json!(["flat", "vlan", "vxlan"]));
    assert_eq!(opt("ml2", "tenant_network_types"), serde_json::json!(["vxlan"]));
    assert_eq!(opt("ml2", "mechanism_drivers"), serde_json::json!(["openvswitch", "l2population"]));
    assert_eq!(opt("ml2_type_vxlan", "vni_ranges"), serde_json::json!(["1:1000"]));
    assert_eq!(opt("DEFAULT", "allow_overlapping_ips"), serde_json::json!(true));
    assert_eq!(opt("DEFAULT", "core_plugin"), serde_json::json!("ml2"));
    assert_eq!(v["options"]["DEFAULT"]["state_path"]["source"], "command line");
    let warnings: Vec<String> =
        v["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect();
    let has = |needle: &str| warnings.iter().any(|w| w.contains(needle));
    assert!(has("memcached_servers"), "{warnings:?}");
    assert!(has("transport_url"), "{warnings:?}");
    assert!(has("connection"), "{warnings:?}");
    assert!(has("router"), "{warnings:?}");
    assert!(!warnings.iter().any(|w| w.contains("NEUTRON_DBPASS")), "secrets are masked: {warnings:?}");

    let text = bin().args(["config", "show", "--config-file"]).arg(seed("ml2_conf.ini")).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("vni_ranges"), "{text}");
    assert!(text.contains("ml2_conf.ini:"), "sources are shown: {text}");
}

#[test]
fn every_seed_agent_file_loads() {
    for f in [
        "linuxbridge_agent.ini",
        "openvswitch_agent.ini",
        "openvswitch_agent.compute.ini",
        "dhcp_agent.ini",
        "l3_agent.ini",
        "metadata_agent.ini",
        "dhcp_agent.linuxbridge.ini",
        "l3_agent.linuxbridge.ini",
    ] {
        let out = bin().args(["config", "show", "--config-file"]).arg(seed(f)).output().unwrap();
        assert!(out.status.success(), "{f}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn a_bad_value_names_file_section_and_key() {
    let dir = Dir::new("bad");
    let f = dir.0.join("ml2.ini");
    std::fs::write(&f, "[ml2_type_vxlan]\nvni_ranges = 9:1\n").unwrap();
    let out = bin().args(["config", "show", "--config-file"]).arg(&f).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ml2.ini:2") && err.contains("[ml2_type_vxlan]") && err.contains("vni_ranges"), "{err}");
}

fn wait_for_url(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no URL in {line:?}"));
    url.trim_end_matches("/v2.0").to_string()
}

fn get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "clean exit after SIGTERM: {status:?}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("server did not stop on SIGTERM");
}

#[test]
fn db_commands_and_server_schema_gate() {
    let dir = Dir::new("db");
    let state = dir.0.to_str().unwrap();
    let out = bin().args(["db", "current", "--state-dir", state]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("empty"));
    let out = bin().args(["db", "check", "--state-dir", state]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out =
        bin().args(["server", "--state-dir", state, "--bind-host", "127.0.0.1", "--bind-port", "0"]).output().unwrap();
    assert!(!out.status.success(), "server refuses an empty schema");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("neutrino db upgrade"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin().args(["db", "upgrade", "--state-dir", state]).output().unwrap();
    assert!(out.status.success());
    let out = bin().args(["db", "check", "--state-dir", state]).output().unwrap();
    assert!(out.status.success());
    let out = bin().args(["db", "current", "--state-dir", state]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("(head)"));

    let mut child = bin()
        .args(["server", "--state-dir", state, "--bind-host", "127.0.0.1", "--bind-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = wait_for_url(&mut child);
    assert_eq!(get(&format!("{base}/healthcheck")), (200, "OK".to_string()));
    terminate(&mut child);
}

#[test]
fn all_in_one_serves_on_a_fresh_state_dir() {
    let dir = Dir::new("aio");
    let mut child = bin()
        .args(["all-in-one", "--bind-port", "0", "--state-dir"])
        .arg(&dir.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = wait_for_url(&mut child);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let (status, body) = get(&format!("{base}/v2.0/networks"));
    assert_eq!((status, body.as_str()), (200, "{\"networks\":[]}"));
    terminate(&mut child);
    assert!(dir.0.join("neutrino.db").exists());
}

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
    assert!(!has("transport_url"), "the seed's broker is used (servers serve agents there): {warnings:?}");
    assert_eq!(opt("DEFAULT", "transport_url"), serde_json::json!("rabbit://openstack:***@ren3"));
    assert_eq!(opt("DEFAULT", "control_exchange"), serde_json::json!("neutron"));
    assert!(!has("[database]"), "the seed's MySQL connection is used as it is: {warnings:?}");
    assert!(!has("service_plugins"), "the router plugin is built: {warnings:?}");
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

#[test]
fn agents_refuse_drivers_that_are_not_built() {
    let dir = Dir::new("drivers");
    for (role, ini, needle) in [
        ("l3", "[DEFAULT]\ninterface_driver = ivs\n", "interface_driver = ivs"),
        ("dhcp", "[DEFAULT]\ninterface_driver = ivs\n", "interface_driver = ivs"),
        (
            "l3",
            "[DEFAULT]\nexternal_network_bridge = br-ex\n",
            "external_network_bridge = br-ex needs interface_driver = openvswitch",
        ),
        ("l3", "[DEFAULT]\nagent_mode = dvr_snat\n", "agent_mode = dvr_snat"),
    ] {
        let f = dir.0.join(format!("{role}.ini"));
        std::fs::write(&f, format!("{ini}[agent]\nserver_url = http://127.0.0.1:9\n")).unwrap();
        let out = bin().args(["agent", role, "--config-file"]).arg(&f).arg("--state-dir").arg(&dir.0).output().unwrap();
        assert!(!out.status.success(), "{role} started with {ini}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
    }
}

/// The stdout lines up to the API's "listening" line, and the API root URL.
fn wait_for_url_lines(child: &mut Child) -> (String, Vec<String>) {
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "stdout ended: {lines:?}");
        lines.push(line.trim_end().to_string());
        if line.contains("API listening") {
            let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap();
            return (url.trim_end_matches("/v2.0").to_string(), lines);
        }
    }
}

fn wait_for_url(child: &mut Child) -> String {
    wait_for_url_lines(child).0
}

/// A request with optional headers and JSON body: (status, headers, body).
fn call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut r = reqwest::Client::new().request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    })
}

/// `export KEY=value` lines of an openrc file.
fn openrc(path: &Path) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A token for the openrc's user and project.
fn token_from(env: &std::collections::HashMap<String, String>) -> String {
    let body = serde_json::json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": env["OS_USERNAME"],
            "domain": {"name": env["OS_USER_DOMAIN_NAME"]}, "password": env["OS_PASSWORD"]}}},
        "scope": {"project": {"name": env["OS_PROJECT_NAME"], "domain": {"name": env["OS_PROJECT_DOMAIN_NAME"]}}}}});
    let (status, headers, text) = call("POST", &format!("{}/auth/tokens", env["OS_AUTH_URL"]), &[], Some(body));
    assert_eq!(status, 201, "{text}");
    headers["x-subject-token"].to_str().unwrap().to_string()
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
    let noauth = dir.0.join("noauth.conf");
    std::fs::write(&noauth, "[DEFAULT]\nauth_strategy = noauth\n").unwrap();
    let noauth = noauth.to_str().unwrap();
    let out = bin()
        .args(["server", "--state-dir", state, "--config-file", noauth, "--bind-host", "127.0.0.1", "--bind-port", "0"])
        .output()
        .unwrap();
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

    // keystone (the default) without the built-in identity needs a Keystone to ask.
    let out =
        bin().args(["server", "--state-dir", state, "--bind-host", "127.0.0.1", "--bind-port", "0"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[keystone_authtoken] auth_url") && err.contains("[identity] enabled"), "{err}");

    let mut child = bin()
        .args(["server", "--state-dir", state, "--config-file", noauth, "--bind-host", "127.0.0.1", "--bind-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = wait_for_url(&mut child);
    assert_eq!(get(&format!("{base}/healthcheck")), (200, "OK".to_string()));
    terminate(&mut child);
}

#[test]
fn all_in_one_bootstraps_identity_and_writes_openrc() {
    let dir = Dir::new("aio");
    let mut child = bin()
        .args(["all-in-one", "--bind-port", "0", "--identity-bind-port", "0", "--state-dir"])
        .arg(&dir.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (base, lines) = wait_for_url_lines(&mut child);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let rc = dir.0.join("openrc");
    assert!(lines.iter().any(|l| l.contains(rc.to_str().unwrap())), "the openrc path is printed: {lines:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&rc).unwrap().permissions().mode() & 0o777, 0o600, "credentials are private");
    }
    let env = openrc(&rc);
    assert_eq!(env["OS_IDENTITY_API_VERSION"], "3");
    assert_eq!(env["OS_USERNAME"], "admin");
    assert!(env["OS_PASSWORD"].len() >= 20);
    // No token: 401 pointing at the identity; with the openrc's token: 200.
    let (status, headers, _) = call("GET", &format!("{base}/v2.0/networks"), &[], None);
    assert_eq!(status, 401);
    let www = headers["www-authenticate"].to_str().unwrap();
    assert!(www.starts_with("Keystone uri=\"http://127.0.0.1:"), "{www}");
    let token = token_from(&env);
    let (status, _, body) = call("GET", &format!("{base}/v2.0/networks"), &[("X-Auth-Token", &token)], None);
    assert_eq!((status, body.as_str()), (200, "{\"networks\":[]}"));
    terminate(&mut child);
    assert!(dir.0.join("neutrino.db").exists());

    // A restart on other ports keeps the admin and points the catalog and openrc at the new listeners.
    let password = env["OS_PASSWORD"].clone();
    let mut child = bin()
        .args(["all-in-one", "--bind-port", "0", "--identity-bind-port", "0", "--state-dir"])
        .arg(&dir.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (base2, lines) = wait_for_url_lines(&mut child);
    assert!(!lines.iter().any(|l| l.contains("Bootstrapped")), "{lines:?}");
    let env2 = openrc(&rc);
    assert_eq!(env2["OS_PASSWORD"], password);
    let token = token_from(&env2);
    let (status, _, body) = call(
        "GET",
        &format!("{}/auth/tokens", env2["OS_AUTH_URL"]),
        &[("X-Auth-Token", &token), ("X-Subject-Token", &token)],
        None,
    );
    assert_eq!(status, 200);
    assert!(body.contains(&format!("\"url\":\"{base2}\"")), "the catalog's network endpoint is {base2}: {body}");
    terminate(&mut child);
}

#[test]
fn identity_bootstrap_is_idempotent() {
    let dir = Dir::new("bootstrap");
    let state = dir.0.to_str().unwrap();
    let out = bin().args(["identity", "bootstrap", "--state-dir", state, "--admin-password", "pw1"]).output().unwrap();
    assert!(!out.status.success(), "needs a migrated schema");
    assert!(String::from_utf8_lossy(&out.stderr).contains("neutrino db upgrade"));
    assert!(bin().args(["db", "upgrade", "--state-dir", state]).output().unwrap().status.success());
    let out = bin().args(["identity", "bootstrap", "--state-dir", state, "--admin-password", "pw1"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    for what in [
        "domain Default",
        "project admin",
        "user admin",
        "role admin",
        "role member",
        "role reader",
        "region RegionOne",
        "service keystone",
        "service neutron",
    ] {
        assert!(text.contains(&format!("created {what}")), "{what}: {text}");
    }
    let out = bin().args(["identity", "bootstrap", "--state-dir", state, "--admin-password", "pw2"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!text.contains("created"), "nothing new the second time: {text}");
    assert!(text.contains("password set"), "{text}");
}

#[test]
fn a_policy_file_next_to_the_config_overrides_the_defaults() {
    let dir = Dir::new("policy");
    let conf = dir.0.join("neutron.conf");
    std::fs::write(&conf, "[DEFAULT]\nauth_strategy = noauth\n[identity]\nenabled = false\n").unwrap();
    // Only admins may create networks; everything else keeps Neutron's defaults.
    std::fs::write(dir.0.join("policy.yaml"), "# site policy\n\"create_network\": \"rule:admin_only\"\n").unwrap();
    let mut child = bin()
        .args(["all-in-one", "--bind-port", "0", "--config-file"])
        .arg(&conf)
        .arg("--state-dir")
        .arg(dir.0.join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = wait_for_url(&mut child);
    let member = [("X-Roles", "member"), ("X-Project-Id", "p1")];
    let body = serde_json::json!({"network": {"name": "n"}});
    let (status, _, text) = call("POST", &format!("{base}/v2.0/networks"), &member, Some(body.clone()));
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("create_network"), "{text}");
    let (status, _, _) = call("POST", &format!("{base}/v2.0/networks"), &[], Some(body));
    assert_eq!(status, 201);
    let (status, _, _) = call("GET", &format!("{base}/v2.0/networks"), &member, None);
    assert_eq!(status, 200, "reads keep the defaults");
    terminate(&mut child);

    // A broken rule refuses to start, naming the rule.
    std::fs::write(dir.0.join("policy.yaml"), "\"create_network\": \"rule:admin_only or\"\n").unwrap();
    let out = bin()
        .args(["all-in-one", "--bind-port", "0", "--config-file"])
        .arg(&conf)
        .arg("--state-dir")
        .arg(dir.0.join("state"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("policy.yaml") && err.contains("create_network"), "{err}");
    // An explicitly named file that is missing is an error too.
    std::fs::write(&conf, "[DEFAULT]\nauth_strategy = noauth\n[oslo_policy]\npolicy_file = site.yaml\n").unwrap();
    let out = bin()
        .args(["all-in-one", "--bind-port", "0", "--config-file"])
        .arg(&conf)
        .arg("--state-dir")
        .arg(dir.0.join("state"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("site.yaml"));
}

#[test]
fn logs_can_be_json_lines() {
    let dir = Dir::new("jsonlog");
    let state = dir.0.to_str().unwrap();
    let out = bin().args(["--log-format", "json", "db", "upgrade", "--state-dir", state]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let applied = lines.iter().find(|l| l["fields"]["message"] == "migration applied").expect("a migration logged");
    assert_eq!(applied["level"], "INFO");
    assert!(applied["fields"]["version"].is_number(), "{applied}");
    assert!(applied["timestamp"].is_string() && applied["target"].is_string(), "{applied}");
    // The same through the environment; text is the default.
    let other = Dir::new("jsonlog-env");
    let env = bin()
        .args(["db", "upgrade", "--state-dir", other.0.to_str().unwrap()])
        .env("NEUTRINO_LOG_FORMAT", "json")
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&env.stderr).lines().next().unwrap_or_default().to_string();
    assert!(serde_json::from_str::<serde_json::Value>(&first).is_ok(), "{first}");
    let third = Dir::new("textlog");
    let text = bin().args(["db", "upgrade", "--state-dir", third.0.to_str().unwrap()]).output().unwrap();
    let first = String::from_utf8_lossy(&text.stderr).lines().next().unwrap_or_default().to_string();
    assert!(!first.is_empty() && serde_json::from_str::<serde_json::Value>(&first).is_err(), "{first}");
    let bad = bin().args(["--log-format", "xml", "db", "current", "--state-dir", state]).output().unwrap();
    assert!(!bad.status.success());
}

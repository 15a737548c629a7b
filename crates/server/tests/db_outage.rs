//! The database goes away under a running server: a private PostgreSQL
//! (initdb on a spare port, run as the `postgres` user), or a private
//! MariaDB (its own data directory and spare port), is stopped for 10 s; the API answers 503 ServiceUnavailable instead of hanging, and
//! once the database is back it serves again by itself, with nothing lost.
//! Skips without root or without the database's server binaries, except
//! under CI, where that fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::Server;
use serde_json::json;

/// A PostgreSQL cluster of this test's own.
struct PrivatePg {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PrivatePg {
    fn new() -> Option<PrivatePg> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| d.filter_map(Result::ok).map(|e| e.path().join("bin")).find(|b| b.join("initdb").exists()));
        let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
        let Some(bin) = bin.filter(|_| root) else {
            let why = if root {
                "PostgreSQL's server binaries are not installed"
            } else {
                "needs root (runs postgres as its user)"
            };
            assert!(!ci, "CI has root and PostgreSQL: the outage test must not skip ({why})");
            eprintln!("SKIP db_outage: {why}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("neutrino-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        run("chown", &["postgres:", dir.to_str().unwrap()]);
        let pg = PrivatePg { bin, dir, port };
        pg.as_postgres("initdb", &["-D", &pg.data(), "-A", "trust", "-U", "postgres", "--no-sync"]);
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) {
        let tool = self.bin.join(tool).display().to_string();
        let mut all = vec!["-u", "postgres", "--", tool.as_str()];
        all.extend_from_slice(args);
        run("runuser", &all);
    }

    fn start(&self) {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        self.as_postgres("pg_ctl", &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"]);
    }

    fn stop(&self) {
        self.as_postgres("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl").display().to_string();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", &pg_ctl, "-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A database server the test can stop and start again.
trait PrivateDb {
    fn start(&self);
    fn stop(&self);
    fn url(&self) -> String;
}

impl PrivateDb for PrivatePg {
    fn start(&self) {
        PrivatePg::start(self);
    }
    fn stop(&self) {
        PrivatePg::stop(self);
    }
    fn url(&self) -> String {
        PrivatePg::url(self)
    }
}

/// A MariaDB server of this test's own (its own data directory, spare
/// port, grant tables skipped), stopped with `kill -9`.
struct PrivateMaria {
    dir: PathBuf,
    port: u16,
    child: std::sync::Mutex<Option<std::process::Child>>,
}

impl PrivateMaria {
    fn new() -> Option<PrivateMaria> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
        let installed = std::path::Path::new("/usr/sbin/mariadbd").exists();
        if !(root && installed) {
            let why = if root { "MariaDB's server is not installed" } else { "needs root (runs mariadbd as mysql)" };
            assert!(!ci, "CI has root and MariaDB: the outage test must not skip ({why})");
            eprintln!("SKIP db_outage (MariaDB): {why}");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("neutrino-maria-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        run("chown", &["mysql:", dir.to_str().unwrap()]);
        let data = format!("--datadir={}", dir.join("data").display());
        run(
            "mariadb-install-db",
            &["--no-defaults", &data, "--user=mysql", "--auth-root-authentication-method=normal", "--skip-test-db"],
        );
        let m = PrivateMaria { dir, port, child: std::sync::Mutex::new(None) };
        m.start();
        run("mariadb", &["-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root", "-e", "CREATE DATABASE neutrino"]);
        Some(m)
    }
}

impl PrivateDb for PrivateMaria {
    fn start(&self) {
        let d = &self.dir;
        let log = std::fs::File::create(d.join("log")).unwrap();
        let child = Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", d.join("data").display()))
            .arg(format!("--port={}", self.port))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", d.join("sock").display()))
            .arg(format!("--pid-file={}", d.join("pid").display()))
            .args(["--user=mysql", "--skip-grant-tables", "--innodb-buffer-pool-size=16M"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        *self.child.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the private MariaDB did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/neutrino", self.port)
    }
}

impl Drop for PrivateMaria {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_503_while_the_database_is_down_and_recovers_by_itself() {
    let Some(pg) = PrivatePg::new() else { return };
    pg.start();
    outage(&pg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_503_while_mariadb_is_down_and_recovers_by_itself() {
    let Some(maria) = PrivateMaria::new() else { return };
    outage(&maria).await;
}

/// Stops `db` under a server for 10 s, then starts it again.
async fn outage(pg: &dyn PrivateDb) {
    let s = Server::start_on("[DEFAULT]\nallow_overlapping_ips = true\n", &pg.url()).await;
    let before = s.network(json!({"name": "before"})).await;

    pg.stop();
    let t = Instant::now();
    let r = s.post("/v2.0/networks", json!({"network": {"name": "during"}})).await;
    assert_eq!((r.status, r.error_type()), (503, "ServiceUnavailable"), "{}", r.body);
    let l = s.get("/v2.0/networks").await;
    assert_eq!((l.status, l.error_type()), (503, "ServiceUnavailable"), "{}", l.body);
    // An answer, not a hang (the pool gives up after its 3 s acquire timeout),
    // to every call for as long as the database stays down (10 s).
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    while t.elapsed() < Duration::from_secs(10) {
        let asked = Instant::now();
        let r = s.get("/v2.0/ports").await;
        assert_eq!((r.status, r.error_type()), (503, "ServiceUnavailable"), "{}", r.body);
        assert!(asked.elapsed() < Duration::from_secs(5), "answered in {:?}", asked.elapsed());
    }

    pg.start();
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        let r = s.post("/v2.0/networks", json!({"network": {"name": "after"}})).await;
        if r.status == 201 {
            break r.body["network"]["id"].as_str().unwrap().to_string();
        }
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(Instant::now() < deadline, "the API did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let listed = s.get("/v2.0/networks?fields=name").await;
    let names: Vec<&str> =
        listed.body["networks"].as_array().unwrap().iter().filter_map(|n| n["name"].as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "before" || **n == "after").count(), 2, "{names:?}");
    assert!(!names.contains(&"during"), "nothing half-made while down: {names:?}");
    assert_ne!(before, after);
}

//! A userspace Open vSwitch of one node, without systemd: its own database,
//! sockets, pid and log files in one directory, `ovsdb-server` and
//! `ovs-vswitchd` started inside the node's network namespace (entered with
//! `nsenter --net`, which changes nothing else), stopped on drop. Several
//! run side by side on one machine (the scenario tests' nodes).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Debian's schema of the Open_vSwitch database.
pub const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// A running instance.
#[derive(Debug)]
pub struct OvsInstance {
    dir: PathBuf,
    netns: Option<String>,
}

impl OvsInstance {
    /// Whether Open vSwitch's programs are installed.
    pub fn available() -> bool {
        Path::new(SCHEMA).exists()
            && ["ovsdb-tool", "ovsdb-server", "ovs-vswitchd"]
                .iter()
                .all(|p| Command::new(p).arg("--version").output().map(|o| o.status.success()).unwrap_or(false))
    }

    /// Creates a database in `dir` and starts both daemons inside network
    /// namespace `netns` (or where this process is).
    pub fn start(dir: &Path, netns: Option<&str>) -> Result<OvsInstance, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let me = OvsInstance { dir: dir.to_path_buf(), netns: netns.map(str::to_string) };
        let db = me.path("conf.db");
        if !Path::new(&db).exists() {
            me.run("ovsdb-tool", &["create", &db, SCHEMA])?;
        }
        me.run(
            "ovsdb-server",
            &[
                &db,
                &format!("--remote=punix:{}", me.path("db.sock")),
                &format!("--pidfile={}", me.path("ovsdb-server.pid")),
                &format!("--unixctl={}", me.path("ovsdb-server.ctl")),
                &format!("--log-file={}", me.path("ovsdb-server.log")),
                "--detach",
            ],
        )?;
        me.run(
            "ovs-vswitchd",
            &[
                &format!("unix:{}", me.path("db.sock")),
                &format!("--pidfile={}", me.path("ovs-vswitchd.pid")),
                &format!("--unixctl={}", me.path("ovs-vswitchd.ctl")),
                &format!("--log-file={}", me.path("ovs-vswitchd.log")),
                "--detach",
            ],
        )?;
        Ok(me)
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// `[ovs] ovsdb_connection` of this instance.
    pub fn ovsdb_connection(&self) -> String {
        format!("unix:{}", self.path("db.sock"))
    }

    /// The directory of its files (`ovs-ofctl` reaches a bridge at `DIR/BRIDGE.mgmt`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `program args…` in the node's namespace with this instance's directories.
    fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/run/netns/{ns}")).arg(program);
                c
            }
            None => Command::new(program),
        };
        let out = cmd
            .args(args)
            .env("OVS_RUNDIR", &self.dir)
            .env("OVS_DBDIR", &self.dir)
            .env("OVS_LOGDIR", &self.dir)
            .env("OVS_SYSCONFDIR", &self.dir)
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if !out.status.success() {
            return Err(format!("{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `ovs-vsctl` on this instance's database.
    pub fn vsctl(&self, args: &[&str]) -> Result<String, String> {
        let db = format!("--db={}", self.ovsdb_connection());
        let mut all = vec![db.as_str(), "--timeout=20"];
        all.extend_from_slice(args);
        self.run("ovs-vsctl", &all)
    }

    /// The operator's part of tunnelling with the userspace datapath: the
    /// underlay `nic` as a port of a netdev `bridge` that carries the VTEP
    /// address `cidr` on its internal port.
    pub fn underlay(&self, bridge: &str, nic: &str, cidr: &str) -> Result<(), String> {
        self.attach_nic(bridge, nic)?;
        for args in [vec!["addr", "replace", cidr, "dev", bridge], vec!["link", "set", bridge, "up"]] {
            self.run("ip", &args)?;
        }
        Ok(())
    }

    /// The operator's part of a provider network: the physical `nic` as a
    /// port of a netdev `bridge` (the one `bridge_mappings` names), the NIC up.
    pub fn attach_nic(&self, bridge: &str, nic: &str) -> Result<(), String> {
        self.vsctl(&["--may-exist", "add-br", bridge, "--", "set", "bridge", bridge, "datapath_type=netdev"])?;
        self.vsctl(&["--may-exist", "add-port", bridge, nic])?;
        self.run("ip", &["link", "set", nic, "up"])?;
        Ok(())
    }

    fn stop_daemon(&self, name: &str) {
        let Ok(pid) = std::fs::read_to_string(self.path(&format!("{name}.pid"))) else { return };
        let pid = pid.trim().to_string();
        let _ = Command::new("kill").arg(&pid).status();
        for _ in 0..100 {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    }
}

impl Drop for OvsInstance {
    fn drop(&mut self) {
        self.stop_daemon("ovs-vswitchd");
        self.stop_daemon("ovsdb-server");
    }
}

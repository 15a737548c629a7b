//! The helper processes agents run inside namespaces (dnsmasq, radvd):
//! started in the foreground as children (`nsenter --net`, which execs, so
//! the child's pid is the daemon's), judged alive from their real state (a
//! zombie is dead), adopted after an agent restart through their pid file,
//! reloaded with SIGHUP and stopped with SIGTERM.

use std::path::Path;
use std::time::Duration;

use tokio::process::{Child, Command};

/// A daemon this agent started or adopted.
#[derive(Debug)]
pub struct Daemon {
    child: Option<Child>,
    /// Its process id.
    pub pid: u32,
}

impl Daemon {
    /// Starts `program args…` in network namespace `netns`.
    pub fn spawn(netns: &str, program: &str, args: &[String]) -> Result<Daemon, String> {
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{netns}"))
            .arg(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let pid = child.id().ok_or_else(|| format!("{program} exited at once"))?;
        Ok(Daemon { child: Some(child), pid })
    }

    /// The live daemon whose pid `pid_file` holds, if its command line
    /// contains every one of `markers` (so a recycled pid is not taken).
    pub fn adopt(pid_file: &Path, markers: &[&str]) -> Option<Daemon> {
        let pid: u32 = std::fs::read_to_string(pid_file).ok()?.trim().parse().ok()?;
        let mut d = Daemon { child: None, pid };
        let cmdline = d.cmdline()?.join(" ");
        (markers.iter().all(|m| cmdline.contains(m)) && d.alive()).then_some(d)
    }

    /// Its command line, program first.
    pub fn cmdline(&self) -> Option<Vec<String>> {
        let raw = std::fs::read(format!("/proc/{}/cmdline", self.pid)).ok()?;
        Some(
            raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect(),
        )
    }

    /// Whether it still runs (a zombie is dead).
    pub fn alive(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
                .ok()
                .and_then(|s| s.rsplit(')').next().map(|rest| !rest.trim_start().starts_with('Z')))
                .unwrap_or(false),
        }
    }

    /// SIGHUP: re-read its files.
    pub async fn reload(&self) {
        let _ = Command::new("kill").args(["-HUP", &self.pid.to_string()]).status().await;
    }

    /// SIGTERM, then waits (up to 5 s) for it to be gone.
    pub async fn stop(mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status().await;
        match &mut self.child {
            Some(c) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), c.wait()).await;
            }
            None => {
                for _ in 0..250 {
                    if !Path::new(&format!("/proc/{}", self.pid)).exists() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
}

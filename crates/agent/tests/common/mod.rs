//! What the agent crate's privileged tests share: shell helpers, polling,
//! and running code inside a network namespace.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs a command, panicking with its complaint when it fails; returns stdout.
pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn ok(args: &[&str]) -> bool {
    Command::new(args[0]).args(&args[1..]).output().is_ok_and(|o| o.status.success())
}

pub fn pings(ns: &str, addr: &str) -> bool {
    ok(&["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", addr])
}

pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out: {what}");
}

/// Runs `f` on a thread inside `ns` (sockets made there stay there).
pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

/// Whether a TCP connection from `ns` to `to` opens within a second.
pub fn connects(ns: &str, to: &str) -> bool {
    let addr: SocketAddr = to.parse().unwrap();
    in_ns(ns, move || TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok())
}

/// Deletes every network namespace named `<prefix>-…` (a test's own).
pub fn delete_namespaces(prefix: &str) {
    let list = Command::new("ip").args(["netns", "list"]).output().map(|o| o.stdout).unwrap_or_default();
    for line in String::from_utf8_lossy(&list).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        if name.starts_with(&format!("{prefix}-")) {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

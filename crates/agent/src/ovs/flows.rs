//! OpenFlow tables of the agent's bridges, level-triggered and without a
//! gap: every round installs the whole wanted table under a new cookie of
//! the agent's (an identical flow is replaced in place, keeping traffic
//! flowing) and deletes the flows of its older cookies, all in one OpenFlow
//! bundle (`ovs-ofctl --bundle`, applied atomically). Flows of other
//! cookies (an operator's, on a provider bridge) are never touched; a
//! restarted agent finds its previous cookie in the table and replaces
//! only what is stale.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Command;

/// The agent's cookies: this value in the high 32 bits, a generation below.
pub const COOKIE_MARK: u64 = 0x6e75_7472 << 32; // "nutr"
const MARK_MASK: u64 = 0xffff_ffff << 32;

/// One flow, in `ovs-ofctl`'s syntax.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flow {
    /// Table.
    pub table: u8,
    /// Priority.
    pub priority: u16,
    /// Match fields, e.g. `in_port=patch-tun,dl_vlan=1` (may be empty).
    pub matches: String,
    /// Actions, e.g. `mod_vlan_vid:100,NORMAL` (`drop` for none).
    pub actions: String,
}

impl Flow {
    /// A flow of `table` at `priority` matching `matches`, doing `actions`.
    pub fn new(table: u8, priority: u16, matches: &str, actions: &str) -> Flow {
        Flow { table, priority, matches: matches.to_string(), actions: actions.to_string() }
    }

    fn line(&self, cookie: u64) -> String {
        let m = if self.matches.is_empty() { String::new() } else { format!(",{}", self.matches) };
        format!("add cookie={cookie:#x},table={},priority={}{m},actions={}", self.table, self.priority, self.actions)
    }
}

/// Flow errors.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// `ovs-ofctl` failed.
    #[error("ovs-ofctl {what}: {why}")]
    Ofctl {
        /// Which call.
        what: String,
        /// Its complaint.
        why: String,
    },
    /// A flow field would let text into the bundle file that is not a flow.
    #[error("not a flow field: {0:?}")]
    Field(String),
}

/// How `ovs-ofctl` reaches a bridge: `unix:DIR/BRIDGE.mgmt` of a per-node
/// instance, or the bridge name for the system one.
#[derive(Debug, Clone)]
pub struct Switch {
    /// The `ovs-ofctl` target.
    pub target: String,
}

impl Switch {
    /// Runs `ovs-ofctl -O OpenFlow14 args…`, with `input` on its standard input.
    fn ofctl(&self, args: &[&str], input: &str, what: &str) -> Result<String, FlowError> {
        let fail = |why: String| FlowError::Ofctl { what: what.into(), why };
        let mut child = Command::new("ovs-ofctl")
            .args(["-O", "OpenFlow14"])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| fail(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes()).map_err(|e| fail(e.to_string()))?;
        }
        let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_string()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The cookies of the flows in the table.
    pub fn cookies(&self) -> Result<BTreeSet<u64>, FlowError> {
        let dump = self.ofctl(&["dump-flows", "--no-stats", &self.target], "", "dump-flows")?;
        Ok(dump.lines().filter_map(cookie_of).collect())
    }

    /// Makes the agent's flows of this bridge exactly `flows`, in one
    /// bundle; returns the cookie they now carry.
    pub fn apply(&self, flows: &[Flow]) -> Result<u64, FlowError> {
        for f in flows {
            for field in [&f.matches, &f.actions] {
                if field.chars().any(|c| c.is_control() || c == ' ') {
                    return Err(FlowError::Field(field.clone()));
                }
            }
        }
        let ours: BTreeSet<u64> = self.cookies()?.into_iter().filter(|c| c & MARK_MASK == COOKIE_MARK).collect();
        let cookie = next_cookie(&ours);
        let mut bundle = String::new();
        for f in flows {
            bundle.push_str(&f.line(cookie));
            bundle.push('\n');
        }
        for old in &ours {
            bundle.push_str(&format!("delete cookie={old:#x}/-1\n"));
        }
        self.ofctl(&["--bundle", "add-flows", &self.target, "-"], &bundle, "add-flows --bundle")?;
        Ok(cookie)
    }
}

/// A cookie of ours not in `present`: the next generation after the highest.
fn next_cookie(present: &BTreeSet<u64>) -> u64 {
    let top = present.iter().map(|c| c & !MARK_MASK).max().unwrap_or(0);
    COOKIE_MARK | ((top + 1) & !MARK_MASK)
}

/// The cookie of one `dump-flows` line (` cookie=0x…, table=…`).
fn cookie_of(line: &str) -> Option<u64> {
    let rest = line.trim_start().strip_prefix("cookie=")?;
    let hex = rest.split(',').next()?.trim().strip_prefix("0x")?;
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_from_dumps_and_the_next_is_new() {
        assert_eq!(
            cookie_of(" cookie=0x6e75747200000002, table=0, priority=1 actions=NORMAL"),
            Some(0x6e75747200000002)
        );
        assert_eq!(cookie_of("NXST_FLOW reply (xid=0x4):"), None);
        assert_eq!(next_cookie(&BTreeSet::new()), COOKIE_MARK | 1);
        assert_eq!(next_cookie(&BTreeSet::from([COOKIE_MARK | 1, COOKIE_MARK | 7])), COOKIE_MARK | 8);
    }

    #[test]
    fn a_flow_is_one_add_line_and_nothing_else() {
        let f = Flow::new(0, 3, "in_port=patch-tun,dl_vlan=100", "mod_vlan_vid:1,NORMAL");
        assert_eq!(
            f.line(0x10),
            "add cookie=0x10,table=0,priority=3,in_port=patch-tun,dl_vlan=100,actions=mod_vlan_vid:1,NORMAL"
        );
        assert_eq!(Flow::new(22, 0, "", "drop").line(1), "add cookie=0x1,table=22,priority=0,actions=drop");
        let s = Switch { target: "unix:/nonexistent".into() };
        let evil = Flow::new(0, 1, "ip\ndelete", "drop");
        assert!(matches!(s.apply(&[evil]), Err(FlowError::Field(_))));
    }
}

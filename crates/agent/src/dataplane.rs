//! The kernel as the L2 agent sees it: links (bridges, VXLAN devices,
//! ports), forwarding entries of VXLAN devices and permanent neighbour
//! entries; and the operations that change them; and the security-group
//! firewall's tables ([`crate::firewall`]). [`IpRoute`] is the real one
//! (iproute2 argument vectors, batched, and `nft`, in the node namespace);
//! [`Memory`] is a model for unit tests.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::firewall;

/// A network device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Name.
    pub name: String,
    /// `bridge`, `vxlan`, `veth`, `tun`, … (empty for plain devices).
    pub kind: String,
    /// The bridge it is enslaved to.
    pub master: Option<String>,
    /// Administratively up.
    pub up: bool,
    /// VNI of a VXLAN device.
    pub vni: Option<u32>,
    /// Local address of a VXLAN device.
    pub local: Option<String>,
    /// MTU.
    pub mtu: u32,
    /// The other end of a veth in the same namespace.
    pub peer: Option<String>,
    /// Whether this agent made it (its alias is [`OWNED_ALIAS`]): only
    /// such devices are ever deleted.
    pub owned: bool,
}

/// The alias set on every device the agent creates.
pub const OWNED_ALIAS: &str = "neutrino-l2";

/// A unicast or flood forwarding entry of a VXLAN device.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FdbEntry {
    /// The VXLAN device.
    pub dev: String,
    /// MAC (`00:00:00:00:00:00` floods).
    pub mac: String,
    /// The remote VTEP.
    pub dst: String,
}

/// A permanent neighbour (ARP) entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NeighEntry {
    /// Device.
    pub dev: String,
    /// IP address.
    pub ip: String,
    /// MAC.
    pub mac: String,
}

/// What the kernel has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Links.
    pub links: Vec<Link>,
    /// VXLAN forwarding entries (those with a remote).
    pub fdb: Vec<FdbEntry>,
    /// Permanent neighbour entries.
    pub neigh: Vec<NeighEntry>,
}

impl Snapshot {
    /// A link by name.
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }
}

/// One change to the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Create a bridge.
    AddBridge {
        /// Name.
        name: String,
    },
    /// Create a VXLAN device (UDP 4789, no learning).
    AddVxlan {
        /// Name.
        name: String,
        /// VNI.
        vni: u32,
        /// Local VTEP address.
        local: String,
    },
    /// Create an 802.1q VLAN device on a physical interface.
    AddVlan {
        /// Name (`<interface>.<vid>`).
        name: String,
        /// The physical interface.
        parent: String,
        /// VLAN id.
        vid: u32,
    },
    /// Create a veth pair (both ends in the node).
    AddVeth {
        /// One end.
        name: String,
        /// The other end.
        peer: String,
        /// MTU of both ends.
        mtu: u32,
    },
    /// Enslave a device to a bridge.
    SetMaster {
        /// Device.
        dev: String,
        /// Bridge.
        master: String,
    },
    /// Set a device's MTU.
    SetMtu {
        /// Device.
        dev: String,
        /// MTU.
        mtu: u32,
    },
    /// Bring a device up.
    SetUp {
        /// Device.
        dev: String,
    },
    /// Delete a device.
    DelLink {
        /// Device.
        name: String,
    },
    /// Add a forwarding entry.
    AddFdb(FdbEntry),
    /// Remove a forwarding entry.
    DelFdb(FdbEntry),
    /// Add or replace a permanent neighbour entry.
    SetNeigh(NeighEntry),
    /// Remove a neighbour entry.
    DelNeigh(NeighEntry),
}

/// Dataplane errors.
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    /// A tool could not be run.
    #[error("cannot run {tool}: {source}")]
    Spawn {
        /// The tool.
        tool: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// A tool failed.
    #[error("{tool} failed: {stderr}")]
    Failed {
        /// The tool.
        tool: &'static str,
        /// Its complaint.
        stderr: String,
    },
    /// A tool's JSON did not parse.
    #[error("{tool} printed unexpected output: {reason}")]
    Parse {
        /// The tool.
        tool: &'static str,
        /// Why.
        reason: String,
    },
}

impl From<DataplaneError> for String {
    fn from(e: DataplaneError) -> String {
        e.to_string()
    }
}

/// Runs one `ip [-n NETNS] ARGS…` (an argument vector, never a shell): the
/// single-shot kernel changes of the compute side and the DHCP agent.
pub async fn ip(netns: Option<&str>, args: &[&str]) -> Result<(), DataplaneError> {
    IpRoute { netns: netns.map(str::to_string) }.run("ip", args).await
}

/// Has `dev` (in `netns`) compute the checksums of what it sends itself
/// (`ethtool -K DEV tx off`) instead of leaving them to a NIC: behind a
/// userspace Open vSwitch datapath nothing ever completes them, and the
/// receiver drops those packets (a DHCP offer, a TCP segment).
pub async fn checksums_in_software(netns: Option<&str>, dev: &str) -> Result<(), DataplaneError> {
    exec(netns, "ethtool", &["-K", dev, "tx", "off"], None).await.map(|_| ())
}

/// Runs `TOOL ARGS…` inside network namespace `netns` (`ip netns exec`,
/// which also gives the tool the namespace's `/sys`), or in the current
/// one, with `input` on stdin; returns its stdout. An argument vector,
/// never a shell: the kernel tools other than `ip`/`bridge` (nft,
/// conntrack, sysctl) of the agents.
pub async fn exec(
    netns: Option<&str>,
    tool: &'static str,
    args: &[&str],
    input: Option<&str>,
) -> Result<String, DataplaneError> {
    let mut c = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, tool]);
            c
        }
        None => Command::new(tool),
    };
    let mut child = c
        .args(args)
        .stdin(if input.is_some() { std::process::Stdio::piped() } else { std::process::Stdio::null() })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| DataplaneError::Spawn { tool, source })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes()).await.map_err(|source| DataplaneError::Spawn { tool, source })?;
    }
    let out = child.wait_with_output().await.map_err(|source| DataplaneError::Spawn { tool, source })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let place = netns.map(|ns| format!(" in {ns}")).unwrap_or_default();
        Err(DataplaneError::Failed {
            tool,
            stderr: format!("{tool} {}{place}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()),
        })
    }
}

/// Reads and changes the kernel.
pub trait Dataplane: Send + Sync {
    /// What the kernel has now.
    fn snapshot(&self) -> impl std::future::Future<Output = Result<Snapshot, DataplaneError>> + Send;
    /// Applies `ops` in order.
    fn apply(&self, ops: &[Op]) -> impl std::future::Future<Output = Result<(), DataplaneError>> + Send;
    /// A signal raised whenever links appear, change or go (the compute
    /// side plugging an instance), if this dataplane can watch.
    fn watch_links(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }
    /// What the kernel has of the security-group firewall
    /// ([`crate::firewall`]); none by default.
    fn observe_firewall(&self) -> impl std::future::Future<Output = Result<firewall::Observed, DataplaneError>> + Send {
        async { Ok(firewall::Observed::default()) }
    }
    /// Applies one firewall transaction; nothing by default.
    fn apply_firewall(
        &self,
        tx: &firewall::Transaction,
    ) -> impl std::future::Future<Output = Result<(), DataplaneError>> + Send {
        let _ = tx;
        async { Ok(()) }
    }
}

/// The kernel through iproute2 (`ip`, `bridge`), in a named network
/// namespace or the current one. Reads are `-json`; writes are batched in
/// one `ip -batch` and one `bridge -batch` per round. Only names derived
/// from ids and addresses from the server's validated state are passed.
#[derive(Debug, Clone, Default)]
pub struct IpRoute {
    /// The node namespace (`[agent] node_namespace`), if any.
    pub netns: Option<String>,
}

impl IpRoute {
    fn command(&self, tool: &'static str) -> Command {
        let mut c = Command::new(tool);
        if let Some(ns) = &self.netns {
            c.arg("-n").arg(ns);
        }
        c.kill_on_drop(true);
        c
    }

    /// Runs `TOOL [-n NETNS] -j ARGS…` and parses its JSON array (empty output: none).
    pub async fn json(&self, tool: &'static str, args: &[&str]) -> Result<Vec<Value>, DataplaneError> {
        let out = self
            .command(tool)
            .arg("-j")
            .args(args)
            .output()
            .await
            .map_err(|source| DataplaneError::Spawn { tool, source })?;
        if !out.status.success() {
            return Err(DataplaneError::Failed {
                tool,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_str::<Vec<Value>>(&text).map_err(|e| DataplaneError::Parse { tool, reason: e.to_string() })
    }

    async fn run(&self, tool: &'static str, args: &[&str]) -> Result<(), DataplaneError> {
        let out =
            self.command(tool).args(args).output().await.map_err(|source| DataplaneError::Spawn { tool, source })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(DataplaneError::Failed {
                tool,
                stderr: format!("{} {}: {}", tool, args.join(" "), String::from_utf8_lossy(&out.stderr).trim()),
            })
        }
    }

    /// Runs `lines` as one `TOOL -force -batch -` (`ip` or `bridge`).
    pub async fn batch(&self, tool: &'static str, lines: &[String]) -> Result<(), DataplaneError> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut child = self
            .command(tool)
            .args(["-force", "-batch", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|source| DataplaneError::Spawn { tool, source })?;
        if let Some(mut stdin) = child.stdin.take() {
            let text = lines.join("\n") + "\n";
            stdin.write_all(text.as_bytes()).await.map_err(|source| DataplaneError::Spawn { tool, source })?;
        }
        let out = child.wait_with_output().await.map_err(|source| DataplaneError::Spawn { tool, source })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(DataplaneError::Failed { tool, stderr: String::from_utf8_lossy(&out.stderr).trim().to_string() })
        }
    }
}

fn parse_link(v: &Value) -> Option<Link> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let info = v.get("linkinfo");
    let data = info.and_then(|i| i.get("info_data"));
    Some(Link {
        name: s("ifname")?,
        kind: info.and_then(|i| i.get("info_kind")).and_then(Value::as_str).unwrap_or_default().to_string(),
        master: s("master"),
        up: v.get("flags").and_then(Value::as_array).is_some_and(|f| f.iter().any(|x| x == "UP")),
        vni: data.and_then(|d| d.get("id")).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()),
        local: data.and_then(|d| d.get("local")).and_then(Value::as_str).map(str::to_string),
        mtu: v.get("mtu").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
        peer: s("link").filter(|_| info.and_then(|i| i.get("info_kind")).and_then(Value::as_str) == Some("veth")),
        owned: v.get("ifalias").and_then(Value::as_str) == Some(OWNED_ALIAS),
    })
}

fn is_vxlan_dev(name: &str) -> bool {
    name.starts_with("vxlan-")
}

impl Dataplane for IpRoute {
    /// `nft -j list maps` and `nft -j list sets inet` in the node namespace
    /// (which also turns its bridge netfilter on).
    async fn observe_firewall(&self) -> Result<firewall::Observed, DataplaneError> {
        firewall::observe_in(self.netns.as_deref()).await
    }

    /// `nft -f -` in the node namespace.
    async fn apply_firewall(&self, tx: &firewall::Transaction) -> Result<(), DataplaneError> {
        firewall::apply_in(self.netns.as_deref(), tx).await
    }

    fn watch_links(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        use tokio::io::AsyncBufReadExt;
        let mut child = self
            .command("ip")
            .args(["monitor", "link"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| tracing::warn!(error = %e, "cannot watch links; relying on the change stream"))
            .ok()?;
        let stdout = child.stdout.take()?;
        let notify = std::sync::Arc::new(tokio::sync::Notify::new());
        let signal = notify.clone();
        tokio::spawn(async move {
            let _child = child; // killed on drop when the task ends
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(_)) = lines.next_line().await {
                signal.notify_one();
            }
        });
        Some(notify)
    }

    async fn snapshot(&self) -> Result<Snapshot, DataplaneError> {
        let links: Vec<Link> = self.json("ip", &["-d", "link", "show"]).await?.iter().filter_map(parse_link).collect();
        let fdb = self
            .json("bridge", &["fdb", "show"])
            .await?
            .iter()
            .filter_map(|e| {
                let dev = e.get("ifname").and_then(Value::as_str)?;
                let dst = e.get("dst").and_then(Value::as_str)?;
                is_vxlan_dev(dev).then(|| FdbEntry {
                    dev: dev.to_string(),
                    mac: e.get("mac").and_then(Value::as_str).unwrap_or_default().to_string(),
                    dst: dst.to_string(),
                })
            })
            .collect();
        let neigh = self
            .json("ip", &["neigh", "show", "nud", "permanent"])
            .await?
            .iter()
            .filter_map(|e| {
                let dev = e.get("dev").and_then(Value::as_str)?;
                is_vxlan_dev(dev).then(|| NeighEntry {
                    dev: dev.to_string(),
                    ip: e.get("dst").and_then(Value::as_str).unwrap_or_default().to_string(),
                    mac: e.get("lladdr").and_then(Value::as_str).unwrap_or_default().to_string(),
                })
            })
            .collect();
        Ok(Snapshot { links, fdb, neigh })
    }

    async fn apply(&self, ops: &[Op]) -> Result<(), DataplaneError> {
        let (mut links, mut fdb, mut neigh) = (Vec::new(), Vec::new(), Vec::new());
        for op in ops {
            match op {
                Op::AddBridge { name } => {
                    links.push(format!("link add {name} type bridge"));
                    links.push(format!("link set {name} alias {OWNED_ALIAS}"));
                }
                Op::AddVxlan { name, vni, local } => {
                    links.push(format!("link add {name} type vxlan id {vni} dstport 4789 local {local} nolearning"));
                    links.push(format!("link set {name} alias {OWNED_ALIAS}"));
                }
                Op::AddVlan { name, parent, vid } => {
                    links.push(format!("link add link {parent} name {name} type vlan id {vid}"));
                    links.push(format!("link set {name} alias {OWNED_ALIAS}"));
                }
                Op::AddVeth { name, peer, mtu } => {
                    links.push(format!("link add {name} mtu {mtu} type veth peer name {peer} mtu {mtu}"));
                    links.push(format!("link set {name} alias {OWNED_ALIAS}"));
                    links.push(format!("link set {peer} alias {OWNED_ALIAS}"));
                }
                Op::SetMaster { dev, master } => links.push(format!("link set {dev} master {master}")),
                Op::SetMtu { dev, mtu } => links.push(format!("link set {dev} mtu {mtu}")),
                Op::SetUp { dev } => links.push(format!("link set {dev} up")),
                Op::DelLink { name } => links.push(format!("link del {name}")),
                Op::AddFdb(e) if e.mac == "00:00:00:00:00:00" => {
                    fdb.push(format!("fdb append {} dev {} dst {}", e.mac, e.dev, e.dst))
                }
                Op::AddFdb(e) => fdb.push(format!("fdb replace {} dev {} dst {} self permanent", e.mac, e.dev, e.dst)),
                Op::DelFdb(e) => fdb.push(format!("fdb del {} dev {} dst {} self", e.mac, e.dev, e.dst)),
                Op::SetNeigh(n) => {
                    neigh.push(format!("neigh replace {} lladdr {} dev {} nud permanent", n.ip, n.mac, n.dev))
                }
                Op::DelNeigh(n) => neigh.push(format!("neigh del {} dev {}", n.ip, n.dev)),
            }
        }
        // Devices first, then what lives on them.
        let first = self.batch("ip", &links).await;
        let second = self.batch("bridge", &fdb).await;
        let third = self.batch("ip", &neigh).await;
        first.and(second).and(third)
    }
}

/// A shared dataplane is one (tests keep a handle on an agent's kernel).
impl<D: Dataplane> Dataplane for std::sync::Arc<D> {
    fn snapshot(&self) -> impl std::future::Future<Output = Result<Snapshot, DataplaneError>> + Send {
        (**self).snapshot()
    }

    fn apply(&self, ops: &[Op]) -> impl std::future::Future<Output = Result<(), DataplaneError>> + Send {
        (**self).apply(ops)
    }

    fn watch_links(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        (**self).watch_links()
    }

    fn observe_firewall(&self) -> impl std::future::Future<Output = Result<firewall::Observed, DataplaneError>> + Send {
        (**self).observe_firewall()
    }

    fn apply_firewall(
        &self,
        tx: &firewall::Transaction,
    ) -> impl std::future::Future<Output = Result<(), DataplaneError>> + Send {
        (**self).apply_firewall(tx)
    }
}

/// An in-memory kernel for tests; counts the operations applied.
#[derive(Debug, Default)]
pub struct Memory {
    state: Mutex<Snapshot>,
    applied: Mutex<Vec<Op>>,
    firewall: Mutex<(firewall::Observed, Vec<firewall::Transaction>)>,
    /// Raised when a device is plugged, as the kernel's link events are.
    links_changed: std::sync::Arc<tokio::sync::Notify>,
}

impl Memory {
    /// A kernel with these links.
    pub fn with_links(links: Vec<Link>) -> Memory {
        Memory { state: Mutex::new(Snapshot { links, ..Snapshot::default() }), ..Memory::default() }
    }

    /// Every operation applied so far.
    pub fn applied(&self) -> Vec<Op> {
        self.applied.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// Every firewall transaction applied so far.
    pub fn firewall_transactions(&self) -> Vec<firewall::Transaction> {
        self.firewall.lock().map(|f| f.1.clone()).unwrap_or_default()
    }

    /// Adds a device (as `vif plug` would) and raises a link event.
    pub fn plug(&self, name: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.links.push(Link {
                name: name.into(),
                kind: "veth".into(),
                master: None,
                up: false,
                vni: None,
                local: None,
                mtu: 1500,
                peer: None,
                owned: false,
            });
        }
        self.links_changed.notify_one();
    }

    fn apply_one(s: &mut Snapshot, op: &Op) {
        let link = |name: &str, kind: &str| Link {
            name: name.into(),
            kind: kind.into(),
            master: None,
            up: false,
            vni: None,
            local: None,
            mtu: 1500,
            peer: None,
            owned: true,
        };
        match op {
            Op::AddBridge { name } => s.links.push(link(name, "bridge")),
            Op::AddVxlan { name, vni, local } => {
                let mut l = link(name, "vxlan");
                l.vni = Some(*vni);
                l.local = Some(local.clone());
                s.links.push(l);
            }
            Op::AddVlan { name, .. } => s.links.push(link(name, "vlan")),
            Op::AddVeth { name, peer, mtu } => {
                for end in [name, peer] {
                    let other = if end == name { peer } else { name };
                    s.links.push(Link { mtu: *mtu, peer: Some(other.clone()), ..link(end, "veth") });
                }
            }
            Op::SetMaster { dev, master } => {
                s.links.iter_mut().filter(|l| l.name == *dev).for_each(|l| l.master = Some(master.clone()))
            }
            Op::SetMtu { dev, mtu } => s.links.iter_mut().filter(|l| l.name == *dev).for_each(|l| l.mtu = *mtu),
            Op::SetUp { dev } => s.links.iter_mut().filter(|l| l.name == *dev).for_each(|l| l.up = true),
            Op::DelLink { name } => {
                // A veth goes with its peer.
                let peer = s.links.iter().find(|l| l.name == *name).and_then(|l| l.peer.clone());
                s.links.retain(|l| l.name != *name && Some(&l.name) != peer.as_ref());
                s.links.iter_mut().filter(|l| l.master.as_deref() == Some(name)).for_each(|l| l.master = None);
                s.fdb.retain(|e| e.dev != *name);
                s.neigh.retain(|e| e.dev != *name);
            }
            Op::AddFdb(e) => {
                if e.mac != "00:00:00:00:00:00" {
                    s.fdb.retain(|x| !(x.dev == e.dev && x.mac == e.mac));
                }
                s.fdb.push(e.clone());
            }
            Op::DelFdb(e) => s.fdb.retain(|x| x != e),
            Op::SetNeigh(n) => {
                s.neigh.retain(|x| !(x.dev == n.dev && x.ip == n.ip));
                s.neigh.push(n.clone());
            }
            Op::DelNeigh(n) => s.neigh.retain(|x| !(x.dev == n.dev && x.ip == n.ip)),
        }
    }
}

impl Dataplane for Memory {
    async fn snapshot(&self) -> Result<Snapshot, DataplaneError> {
        Ok(self.state.lock().map(|s| s.clone()).unwrap_or_default())
    }

    async fn apply(&self, ops: &[Op]) -> Result<(), DataplaneError> {
        if let (Ok(mut s), Ok(mut a)) = (self.state.lock(), self.applied.lock()) {
            for op in ops {
                Self::apply_one(&mut s, op);
                a.push(op.clone());
            }
        }
        Ok(())
    }

    fn watch_links(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        Some(self.links_changed.clone())
    }

    async fn observe_firewall(&self) -> Result<firewall::Observed, DataplaneError> {
        Ok(self.firewall.lock().map(|f| f.0.clone()).unwrap_or_default())
    }

    async fn apply_firewall(&self, tx: &firewall::Transaction) -> Result<(), DataplaneError> {
        if let Ok(mut f) = self.firewall.lock() {
            f.0 = tx.after.clone();
            f.1.push(tx.clone());
        }
        Ok(())
    }
}

/// Names of links in a snapshot, for diagnostics.
pub fn names(s: &Snapshot) -> BTreeSet<String> {
    s.links.iter().map(|l| l.name.clone()).collect()
}

//! Command line: Neutron's `--config-file`/`--config-dir` on every command.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Neutrino: the OpenStack Networking (Neutron) v2.0 API and its agents.
#[derive(Debug, Parser)]
#[command(name = "neutrino", version, about)]
pub struct Cli {
    /// Verbose logs (also RUST_LOG).
    #[arg(long, global = true)]
    pub debug: bool,
    /// Log lines as text, or as one JSON object each (for log collectors).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "NEUTRINO_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line: time, level, target, fields, spans.
    Json,
}

/// Configuration sources shared by every command.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// A Neutron configuration file (repeatable; later files override earlier ones).
    #[arg(long = "config-file", value_name = "PATH")]
    pub config_files: Vec<PathBuf>,
    /// A directory of configuration files (*.conf, then *.ini, sorted).
    #[arg(long = "config-dir", value_name = "DIR")]
    pub config_dirs: Vec<PathBuf>,
    /// State directory (overrides [DEFAULT] state_path; default: the user's data directory).
    #[arg(long = "state-dir", value_name = "DIR", env = "NEUTRINO_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

/// Listener overrides.
#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Address to listen on (overrides [DEFAULT] bind_host).
    #[arg(long = "bind-host")]
    pub bind_host: Option<IpAddr>,
    /// Port to listen on (overrides [DEFAULT] bind_port; 0 picks a free one).
    #[arg(long = "bind-port")]
    pub bind_port: Option<u16>,
    /// Port of the built-in identity (overrides [identity] bind_port; 0 picks a free one).
    #[arg(long = "identity-bind-port")]
    pub identity_bind_port: Option<u16>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The API server (refuses an empty or older schema: run `db upgrade`).
    Server {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        listen: ListenArgs,
    },
    /// Everything in one process on an embedded SQLite store (the default deployment).
    #[command(name = "all-in-one")]
    AllInOne {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        listen: ListenArgs,
    },
    /// Database schema management.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Node agents: `l2` (the Linux bridge agent), `dhcp`, `l3` (legacy routers).
    Agent {
        #[command(flatten)]
        config: ConfigArgs,
        /// Role to run (`l2`, `dhcp` or `l3`).
        #[arg(required = true)]
        roles: Vec<String>,
        /// This node's name (default: [DEFAULT] host, else the hostname).
        #[arg(long)]
        host: Option<String>,
    },
    /// The compute side: create or remove an instance's interface for a port.
    Vif {
        #[command(subcommand)]
        action: VifAction,
    },
    /// The built-in identity.
    Identity {
        #[command(subcommand)]
        action: IdentityAction,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Measure API throughput and latency against a server (a benchmark, not a test).
    Bench(crate::bench::BenchArgs),
}

/// `neutrino db …`
#[derive(Debug, Clone, Subcommand)]
pub enum DbAction {
    /// Apply pending migrations.
    Upgrade(ConfigArgs),
    /// Print the schema version.
    Current(ConfigArgs),
    /// Exit non-zero unless the schema matches this binary.
    Check(ConfigArgs),
}

impl DbAction {
    /// The configuration arguments of the action.
    pub fn config(&self) -> &ConfigArgs {
        match self {
            DbAction::Upgrade(c) | DbAction::Current(c) | DbAction::Check(c) => c,
        }
    }
}

/// `neutrino vif …`
#[derive(Debug, Clone, Subcommand)]
pub enum VifAction {
    /// Bind PORT to the host and create its interface: a veth `tap<port>` in the node's namespace
    /// whose peer `eth0` (with the port's MAC and the network's MTU) is in NETNS, or a tap device.
    Plug {
        #[command(flatten)]
        config: ConfigArgs,
        /// The port's id.
        port: String,
        /// The host to bind to (default: [DEFAULT] host, else the hostname).
        #[arg(long)]
        host: Option<String>,
        /// The instance's network namespace (created if missing).
        #[arg(long, conflicts_with = "tap", required_unless_present = "tap")]
        netns: Option<String>,
        /// A tap device for a VM instead of a namespace.
        #[arg(long)]
        tap: Option<String>,
        /// `device_id` of the port (default: the namespace or tap name).
        #[arg(long = "device-id")]
        device_id: Option<String>,
        /// `device_owner` of the port.
        #[arg(long = "device-owner", default_value = "compute:nova")]
        device_owner: String,
    },
    /// Unbind PORT and remove its interface.
    Unplug {
        #[command(flatten)]
        config: ConfigArgs,
        /// The port's id.
        port: String,
    },
}

/// `neutrino identity …`
#[derive(Debug, Clone, Subcommand)]
pub enum IdentityAction {
    /// Create (or keep) the default domain, the admin project and user, the roles admin, manager,
    /// member and reader, the region and the identity and network endpoints; sets the admin's password.
    Bootstrap(BootstrapArgs),
}

/// `neutrino identity bootstrap` options (keystone-manage bootstrap's).
#[derive(Debug, Clone, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The admin user's password.
    #[arg(long = "admin-password", alias = "bootstrap-password", env = "OS_BOOTSTRAP_PASSWORD")]
    pub admin_password: String,
    /// The admin user's name.
    #[arg(long = "admin-username", alias = "bootstrap-username", default_value = "admin")]
    pub admin_username: String,
    /// The admin project's name.
    #[arg(long = "project-name", alias = "bootstrap-project-name", default_value = "admin")]
    pub project_name: String,
    /// The region of the endpoints (default: [identity] region_name).
    #[arg(long = "region-id", alias = "bootstrap-region-id")]
    pub region_id: Option<String>,
    /// The identity endpoint URL (default: [identity] public_endpoint, else from its listener).
    #[arg(long = "identity-url", alias = "bootstrap-public-url")]
    pub identity_url: Option<String>,
    /// The network endpoint URL (default: [identity] network_endpoint, else from the API listener).
    #[arg(long = "network-url")]
    pub network_url: Option<String>,
}

/// Output format of `config show`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// One option per line with its source.
    Text,
    /// JSON.
    Json,
}

/// `neutrino config …`
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration with the source of each value, and the warnings.
    Show {
        #[command(flatten)]
        config: ConfigArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

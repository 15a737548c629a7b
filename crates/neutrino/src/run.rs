//! What each command does.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use neutrino_config::{Loaded, Source};
use neutrino_server::Plugin;
use neutrino_store::{Store, StoreOptions};
use tracing::{info, warn};

use crate::cli::{
    Cli, Command, ConfigAction, ConfigArgs, DbAction, Format, IdentityAction, ListenArgs, LogFormat, VifAction,
};

/// Logs to stderr, as text or JSON lines; `--debug` or RUST_LOG for more.
pub fn init_tracing(debug: bool, format: LogFormat) {
    let default = if debug { "debug" } else { "info,tower_http=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
    }
}

/// Runs the command.
pub async fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Server { config, listen } => serve(&config, &listen, Mode::Server).await,
        Command::AllInOne { config, listen } => serve(&config, &listen, Mode::AllInOne).await,
        Command::Db { action } => db(action).await,
        Command::Agent { config, roles, host } => {
            let loaded = load_config(&config)?;
            report_warnings(&loaded);
            let signal = shutdown_signal()?;
            crate::agent::run(&loaded, &roles, host.as_deref(), signal).await
        }
        Command::Vif { action: VifAction::Plug { config, port, host, netns, tap, device_id, device_owner } } => {
            let loaded = load_config(&config)?;
            crate::agent::plug(
                &loaded,
                &port,
                host.as_deref(),
                netns.as_deref(),
                tap.as_deref(),
                device_id.as_deref(),
                &device_owner,
            )
            .await
        }
        Command::Vif { action: VifAction::Unplug { config, port } } => {
            let loaded = load_config(&config)?;
            crate::agent::unplug(&loaded, &port).await
        }
        Command::Identity { action: IdentityAction::Bootstrap(args) } => {
            let loaded = load_config(&args.config)?;
            report_warnings(&loaded);
            let store = open_store(&loaded).await?;
            if let Err(e) = store.check_schema().await {
                bail!("{e}");
            }
            let result = crate::identity::bootstrap_command(store.clone(), &loaded.config, &args).await;
            store.close().await;
            result.map(|()| ExitCode::SUCCESS)
        }
        Command::Config { action: ConfigAction::Show { config, format } } => {
            let loaded = load_config(&config)?;
            match format {
                Format::Text => print!("{}", loaded.render_text()),
                Format::Json => println!("{}", serde_json::to_string_pretty(&loaded.to_json())?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => crate::bench::run(args).await,
    }
}

/// The user's data directory for Neutrino's state.
fn default_state_dir() -> PathBuf {
    dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("neutrino")
}

/// Loads the configuration files; `--state-dir` (or, when no file sets
/// `state_path`, the user's data directory) becomes `state_path`.
pub fn load_config(args: &ConfigArgs) -> Result<Loaded> {
    let mut loaded = neutrino_config::load(&args.config_files, &args.config_dirs)?;
    let state_from_file = loaded.get("DEFAULT", "state_path").is_some_and(|v| !matches!(v.source, Source::Default));
    let state_dir = match (&args.state_dir, state_from_file) {
        (Some(dir), _) => Some(dir.clone()),
        (None, false) => Some(default_state_dir()),
        (None, true) => None,
    };
    if let Some(dir) = state_dir {
        let text = dir.to_str().context("the state directory path is not valid UTF-8")?;
        loaded.set_override("DEFAULT", "state_path", text)?;
    }
    Ok(loaded)
}

/// The store URL: `[database] connection` (SQLite, PostgreSQL or MySQL),
/// else the embedded SQLite file in `state_path`.
fn database_url(loaded: &Loaded) -> String {
    match loaded.config.database.backend() {
        Some(_) => loaded.config.database.connection.clone().unwrap_or_default(),
        _ => {
            let path = Path::new(&loaded.config.default.state_path).join("neutrino.db");
            format!("sqlite:///{}", path.display())
        }
    }
}

fn report_warnings(loaded: &Loaded) {
    for w in &loaded.warnings {
        warn!("{w}");
    }
}

async fn open_store(loaded: &Loaded) -> Result<Store> {
    let url = database_url(loaded);
    if let Some(parent) =
        url.strip_prefix("sqlite:///").map(Path::new).and_then(Path::parent).filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let db = &loaded.config.database;
    let defaults = StoreOptions::default();
    let opts = StoreOptions {
        pool_size: db.max_pool_size.unwrap_or(defaults.pool_size),
        acquire_timeout: db.pool_timeout.map_or(defaults.acquire_timeout, std::time::Duration::from_secs),
        ..defaults
    };
    Store::open(&url, &opts).await.with_context(|| format!("cannot open the database {url}"))
}

async fn db(action: DbAction) -> Result<ExitCode> {
    let loaded = load_config(action.config())?;
    report_warnings(&loaded);
    let store = open_store(&loaded).await?;
    let code = match action {
        DbAction::Upgrade(_) => {
            let applied = store.upgrade().await?;
            let state = store.schema_state().await?;
            println!("applied {} migration(s); schema at {}", applied.len(), state.latest);
            ExitCode::SUCCESS
        }
        DbAction::Current(_) => {
            let state = store.schema_state().await?;
            match state.current {
                Some(v) => println!("{v}{}", if state.is_current() { " (head)" } else { "" }),
                None => println!("empty (no schema): run `neutrino db upgrade`"),
            }
            ExitCode::SUCCESS
        }
        DbAction::Check(_) => match store.check_schema().await {
            Ok(state) => {
                println!("schema {} is current", state.latest);
                ExitCode::SUCCESS
            }
            Err(e) => {
                println!("{e}");
                ExitCode::from(1)
            }
        },
    };
    store.close().await;
    Ok(code)
}

/// Changes kept in the change log by the periodic compaction.
const CHANGES_KEPT: i64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Server,
    AllInOne,
}

async fn serve(args: &ConfigArgs, listen: &ListenArgs, mode: Mode) -> Result<ExitCode> {
    let mut loaded = load_config(args)?;
    if let Some(h) = listen.bind_host {
        loaded.set_override("DEFAULT", "bind_host", &h.to_string())?;
    }
    if let Some(p) = listen.bind_port {
        if p != 0 {
            loaded.set_override("DEFAULT", "bind_port", &p.to_string())?;
        }
    }
    report_warnings(&loaded);
    let store = open_store(&loaded).await?;
    match mode {
        Mode::AllInOne => {
            let applied = store.upgrade().await?;
            if !applied.is_empty() {
                info!(migrations = applied.len(), "database schema upgraded");
            }
        }
        Mode::Server => {
            if let Err(e) = store.check_schema().await {
                bail!("{e}");
            }
        }
    }
    let mut plugin = Plugin::from_config(store.clone(), &loaded.config).map_err(anyhow::Error::msg)?;
    // The all-in-one is a whole cloud's networking: routers included, as in DevStack.
    if mode == Mode::AllInOne {
        plugin.settings.l3_router = true;
    }
    // The all-in-one's own L2 agent talks to this process with a secret of its own.
    let agent_secret = match (&plugin.settings.channel_secret, mode) {
        (Some(s), _) => s.clone(),
        (None, Mode::AllInOne) => {
            let s = uuid::Uuid::new_v4().simple().to_string();
            plugin.settings.channel_secret = Some(s.clone());
            s
        }
        (None, Mode::Server) => String::new(),
    };
    if let Some(policy) = load_policy(&loaded)? {
        plugin.policy = Arc::new(policy);
    }
    let config = &loaded.config;
    let default_host = match mode {
        Mode::AllInOne => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Mode::Server => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let host = config.default.bind_host.unwrap_or(default_host);
    let port = if listen.bind_port == Some(0) { 0 } else { config.default.bind_port };
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(host, port))
        .await
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    let addr = listener.local_addr()?;

    // The built-in identity: on by default in the all-in-one.
    let identity_enabled = config.identity.enabled.unwrap_or(mode == Mode::AllInOne);
    let mut identity = None;
    if identity_enabled {
        let id_port = listen.identity_bind_port.unwrap_or(config.identity.bind_port);
        let id_listener =
            tokio::net::TcpListener::bind(SocketAddr::new(config.identity.bind_host, id_port)).await.with_context(
                || format!("cannot listen on {}:{id_port} for the built-in identity", config.identity.bind_host),
            )?;
        let id_addr = id_listener.local_addr()?;
        let service = crate::identity::open(store.clone(), config).await?;
        let base = crate::identity::identity_base(config, id_addr);
        if mode == Mode::AllInOne {
            let network_url =
                config.identity.network_endpoint.clone().unwrap_or_else(|| crate::identity::listener_url(addr));
            if let Some(openrc) = crate::identity::first_start(&service, config, &base, &network_url).await? {
                println!("Bootstrapped the built-in identity: the admin's credentials are in {}", openrc.display());
            }
        }
        identity = Some((service, base, id_listener, id_addr));
    }
    let auth = crate::identity::auth(config, identity.as_ref().map(|(s, b, _, _)| (s, b.as_str())))?;
    info!(
        address = %addr,
        database = %store.url(),
        type_drivers = ?plugin.types.loaded(),
        auth_strategy = %config.default.auth_strategy,
        "neutrino {} listening",
        if mode == Mode::AllInOne { "all-in-one" } else { "server" }
    );

    let signal = shutdown_signal()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let mut servers = tokio::task::JoinSet::new();
    if let Some((service, base, id_listener, id_addr)) = identity {
        println!("Neutrino identity listening on http://{id_addr}/v3");
        let router =
            neutrino_identity::api::router(neutrino_identity::api::IdentityApi { identity: service, base_url: base });
        let done = stopped(stop_rx.clone());
        servers.spawn(async move { axum::serve(id_listener, router).with_graceful_shutdown(done).await });
    }
    println!("Neutrino API listening on http://{addr}/v2.0 (auth_strategy={})", config.default.auth_strategy);
    let done = stopped(stop_rx.clone());
    let plugin = Arc::new(plugin);
    let plugin_for_compaction = plugin.clone();
    // With a broker configured, agents of `[agent] channel = rabbit` are served there too.
    let bus_task = match &config.default.transport_url {
        Some(url) => {
            let settings = neutrino_bus::BusSettings::new(url, &config.default.control_exchange)?;
            info!(control_exchange = %config.default.control_exchange, "serving the agent channel on the message broker");
            Some(tokio::spawn(neutrino_server::serve::serve_bus(settings, plugin.clone(), auth.clone())))
        }
        None => None,
    };
    servers.spawn(async move { neutrino_server::serve::serve(listener, plugin, auth, done).await });
    // The all-in-one runs the L2 agent role of this host in-process (on the
    // same channel interface, over loopback); VXLAN's VTEP defaults to 127.0.0.1.
    let agent_task = if mode == Mode::AllInOne {
        let local = format!("http://{}", SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port()));
        let agent = crate::agent::l2_agent(&loaded, None, Some((&local, &agent_secret)), Some("127.0.0.1"))?;
        let done = stopped(stop_rx.clone());
        Some(tokio::spawn(async move {
            let host = agent.host.clone();
            if let Err(e) = agent.run(done, || info!(%host, "in-process L2 agent synced")).await {
                warn!(error = %e, "the in-process L2 agent stopped");
            }
        }))
    } else {
        None
    };
    tokio::spawn(async move {
        signal.await;
        let _ = stop_tx.send(true);
    });
    // The change log keeps the newest changes; agents further behind resync.
    let compactor = {
        let plugin = plugin_for_compaction.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                tick.tick().await;
                match plugin.compact_change_log(CHANGES_KEPT).await {
                    Ok(0) => {}
                    Ok(n) => info!(dropped = n, "change log compacted"),
                    Err(e) => warn!(error = %e, "change log compaction failed"),
                }
            }
        })
    };
    let mut result = Ok(());
    while let Some(joined) = servers.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(anyhow::Error::new(e).context("a listener failed")),
            Err(e) => result = Err(anyhow::Error::new(e).context("a listener task failed")),
        }
    }
    compactor.abort();
    if let Some(task) = bus_task {
        task.abort();
    }
    if let Some(task) = agent_task {
        let _ = task.await;
    }
    store.close().await;
    info!("stopped");
    result.map(|()| ExitCode::SUCCESS)
}

/// The policy file of `[oslo_policy] policy_file`: an absolute path, or a
/// name looked up next to the configuration files (as oslo.config's
/// `find_file`). A missing file named by the default is no error; one named
/// explicitly is.
fn load_policy(loaded: &Loaded) -> Result<Option<neutrino_server::policy::Policy>> {
    let name = &loaded.config.oslo_policy.policy_file;
    let explicit = loaded.get("oslo_policy", "policy_file").is_some_and(|v| !matches!(v.source, Source::Default));
    let path = Path::new(name);
    let candidates: Vec<PathBuf> = if path.is_absolute() {
        vec![path.to_path_buf()]
    } else {
        loaded.files().iter().filter_map(|f| f.parent()).map(|d| d.join(path)).collect()
    };
    match candidates.into_iter().find(|p| p.is_file()) {
        Some(p) => {
            let policy = neutrino_server::policy::Policy::with_file(&p)
                .with_context(|| format!("invalid policy file {}", p.display()))?;
            info!(file = %p.display(), "policy overrides loaded");
            Ok(Some(policy))
        }
        None if explicit => bail!("[oslo_policy] policy_file {name} not found next to the configuration files"),
        None => Ok(None),
    }
}

/// SIGTERM or SIGINT, registered now (before the process announces it is
/// listening, so a prompt SIGTERM is not fatal), awaited later.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            info!("shutting down: draining in-flight requests");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
            info!("shutting down: draining in-flight requests");
        })
    }
}

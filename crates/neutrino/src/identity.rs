//! Wiring of authentication: the built-in identity's listener, its
//! first-start bootstrap and `openrc`, `neutrino identity bootstrap`, and
//! the validator the API uses.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use neutrino_config::{AuthStrategy, Config};
use neutrino_identity::{Bootstrap, Identity, IdentitySettings, RemoteKeystone, RemoteSettings, Validator};
use neutrino_server::api::Auth;
use neutrino_store::Store;
use rand::distributions::{Alphanumeric, DistString};

/// A host name for URLs of a listener: its address, or for a wildcard
/// bind this machine's host name.
fn url_host(ip: IpAddr) -> String {
    if ip.is_unspecified() {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let name = name.trim();
        return if name.is_empty() { "localhost".into() } else { name.to_string() };
    }
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// `http://host:port` of a listener.
pub fn listener_url(addr: SocketAddr) -> String {
    format!("http://{}:{}", url_host(addr.ip()), addr.port())
}

/// The identity's public base URL (without `/v3`): configured, else the listener's.
pub fn identity_base(config: &Config, listener: SocketAddr) -> String {
    match &config.identity.public_endpoint {
        Some(url) => url.trim_end_matches("/v3").to_string(),
        None => listener_url(listener),
    }
}

/// Opens the built-in identity over the store.
pub async fn open(store: Store, config: &Config) -> Result<Arc<Identity>> {
    let settings = IdentitySettings { token_expiration: config.identity.token_expiration as i64 };
    Ok(Arc::new(Identity::open(store, settings).await.context("cannot open the built-in identity")?))
}

/// The API's authentication.
pub fn auth(config: &Config, builtin: Option<(&Arc<Identity>, &str)>) -> Result<Auth> {
    if config.default.auth_strategy == AuthStrategy::Noauth {
        return Ok(Auth::Noauth);
    }
    if let Some((identity, base)) = builtin {
        return Ok(Auth::Keystone {
            validator: Validator::BuiltIn(identity.clone()),
            www_authenticate_uri: base.to_string(),
        });
    }
    let k = &config.keystone_authtoken;
    let Some(auth_url) = k.get("auth_url") else {
        bail!(
            "auth_strategy = keystone needs either the built-in identity ([identity] enabled = true) or \
             [keystone_authtoken] auth_url and the service credentials"
        );
    };
    let auth_url = auth_url.trim_end_matches('/');
    let auth_url = if auth_url.ends_with("/v3") { auth_url.to_string() } else { format!("{auth_url}/v3") };
    let need = |key: &str| {
        k.get(key)
            .map(str::to_string)
            .with_context(|| format!("auth_strategy = keystone needs [keystone_authtoken] {key}"))
    };
    let settings = RemoteSettings {
        auth_url: auth_url.clone(),
        username: need("username")?,
        password: need("password")?,
        user_domain_name: k.get("user_domain_name").unwrap_or("Default").to_string(),
        project_name: need("project_name")?,
        project_domain_name: k.get("project_domain_name").unwrap_or("Default").to_string(),
        cache_time: (k.token_cache_time >= 0).then_some(k.token_cache_time),
        timeout: Duration::from_secs(k.get("http_connect_timeout").and_then(|t| t.parse().ok()).unwrap_or(10)),
    };
    let www = k.get("www_authenticate_uri").or_else(|| k.get("auth_uri")).unwrap_or(&auth_url).to_string();
    Ok(Auth::Keystone {
        validator: Validator::Remote(Arc::new(RemoteKeystone::new(settings)?)),
        www_authenticate_uri: www,
    })
}

/// A generated password: 24 letters and digits.
fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 24)
}

/// The all-in-one's start: on the first, bootstraps an empty identity with
/// a generated admin password and writes `$state_path/openrc` (returning
/// its path); on later ones, points the bootstrapped catalog entries and
/// `openrc` at the listeners of this run.
pub async fn first_start(
    identity: &Identity,
    config: &Config,
    identity_base: &str,
    network_url: &str,
) -> Result<Option<PathBuf>> {
    if !identity.is_empty().await? {
        let identity_url = format!("{identity_base}/v3");
        let changed = identity.sync_catalog(&identity_url, network_url).await?;
        if changed > 0 {
            tracing::info!(changed, "catalog endpoints now point at this process's listeners");
        }
        let openrc = Path::new(&config.default.state_path).join("openrc");
        if openrc.exists() {
            update_openrc_url(&openrc, &identity_url)?;
        }
        return Ok(None);
    }
    let password = generate_password();
    let spec = Bootstrap {
        admin_username: "admin".into(),
        admin_password: password.clone(),
        project_name: "admin".into(),
        region_id: config.identity.region_name.clone(),
        identity_url: format!("{identity_base}/v3"),
        network_url: network_url.to_string(),
    };
    identity.bootstrap(&spec).await.context("cannot bootstrap the built-in identity")?;
    let path = Path::new(&config.default.state_path).join("openrc");
    write_openrc(&path, &spec)?;
    Ok(Some(path))
}

/// Writes the admin's credentials as the seed's `openrc` (mode 0600).
fn write_openrc(path: &Path, b: &Bootstrap) -> Result<()> {
    let text = format!(
        "# Neutrino all-in-one: the admin's credentials. Use: source {}\n\
         export OS_USERNAME={}\nexport OS_PASSWORD={}\nexport OS_PROJECT_NAME={}\n\
         export OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\n\
         export OS_AUTH_URL={}\nexport OS_IDENTITY_API_VERSION=3\nexport OS_REGION_NAME={}\n",
        path.display(),
        b.admin_username,
        b.admin_password,
        b.project_name,
        b.identity_url,
        b.region_id
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}

/// Rewrites the `OS_AUTH_URL` line of an existing `openrc`.
fn update_openrc_url(path: &Path, identity_url: &str) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let line = format!("export OS_AUTH_URL={identity_url}");
    if text.lines().any(|l| l == line) {
        return Ok(());
    }
    let updated: Vec<&str> =
        text.lines().map(|l| if l.starts_with("export OS_AUTH_URL=") { line.as_str() } else { l }).collect();
    std::fs::write(path, updated.join("\n") + "\n").with_context(|| format!("cannot write {}", path.display()))
}

/// `neutrino identity bootstrap`.
pub async fn bootstrap_command(store: Store, config: &Config, args: &crate::cli::BootstrapArgs) -> Result<()> {
    if args.admin_password.is_empty() {
        bail!("--admin-password must not be empty");
    }
    let identity = open(store, config).await?;
    let host = config.default.bind_host.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let spec = Bootstrap {
        admin_username: args.admin_username.clone(),
        admin_password: args.admin_password.clone(),
        project_name: args.project_name.clone(),
        region_id: args.region_id.clone().unwrap_or_else(|| config.identity.region_name.clone()),
        identity_url: args.identity_url.clone().unwrap_or_else(|| {
            let listener = SocketAddr::new(config.identity.bind_host, config.identity.bind_port);
            format!("{}/v3", identity_base(config, listener))
        }),
        network_url: args.network_url.clone().unwrap_or_else(|| {
            config
                .identity
                .network_endpoint
                .clone()
                .unwrap_or_else(|| listener_url(SocketAddr::new(host, config.default.bind_port)))
        }),
    };
    let report = identity.bootstrap(&spec).await?;
    for created in &report.created {
        println!("created {created}");
    }
    println!(
        "admin user {} ({}) has the admin role on project {} ({}); password set",
        spec.admin_username, report.admin_user_id, spec.project_name, report.admin_project_id
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_listeners() {
        assert_eq!(listener_url("127.0.0.1:5000".parse().expect("addr")), "http://127.0.0.1:5000");
        assert_eq!(listener_url("[::1]:9696".parse().expect("addr")), "http://[::1]:9696");
        let wildcard = listener_url("0.0.0.0:9696".parse().expect("addr"));
        assert!(!wildcard.contains("0.0.0.0") && wildcard.ends_with(":9696"), "{wildcard}");
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}

//! The metadata proxy: for isolated networks a listener on
//! 169.254.169.254:80 inside a `qdhcp-…` namespace, for routed networks one
//! on 0.0.0.0:9697 inside a `qrouter-…` namespace (where nftables redirects
//! 169.254.169.254:80 to it). Its socket is made there, the process staying
//! where it is. It identifies the calling instance by its network or router
//! and source address (through the agent channel) and forwards
//! to the metadata service with `X-Instance-ID`, `X-Tenant-ID`,
//! `X-Forwarded-For` and `X-Instance-ID-Signature` (HMAC-SHA256 of the
//! instance id with `metadata_proxy_shared_secret`, as Nova checks it).
//! Unknown source → 404; upstream unreachable → 502; never a hang.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::channel::Channel;

/// The metadata address.
pub const METADATA_IP: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);

/// Where the metadata service is (metadata_agent.ini).
#[derive(Debug, Clone)]
pub struct MetadataConfig {
    /// `nova_metadata_host` (or `nova_metadata_ip`).
    pub host: String,
    /// `nova_metadata_port`.
    pub port: u16,
    /// `nova_metadata_protocol`.
    pub protocol: String,
    /// `metadata_proxy_shared_secret`.
    pub secret: String,
}

/// What the proxy serves, which tells the server where to look up a caller's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// An isolated network (`metadata-lookup?network_id=`).
    Network(String),
    /// The networks attached to a router (`metadata-lookup?router_id=`).
    Router(String),
}

impl Scope {
    /// The lookup's query parameter.
    fn param(&self) -> (&'static str, &str) {
        match self {
            Scope::Network(id) => ("network_id", id),
            Scope::Router(id) => ("router_id", id),
        }
    }
}

#[derive(Clone)]
struct Proxy {
    channel: Channel,
    scope: Scope,
    config: MetadataConfig,
    client: reqwest::Client,
}

/// `X-Instance-ID-Signature`: hex HMAC-SHA256 of the instance id.
pub fn sign(secret: &str, instance_id: &str) -> String {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(instance_id.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn plain(status: StatusCode, text: &str) -> Response {
    (status, text.to_string()).into_response()
}

async fn forward(State(p): State<Proxy>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let ip = peer.ip().to_string();
    let (key, id) = p.scope.param();
    let query = form_urlencoded::Serializer::new(String::new()).append_pair(key, id).append_pair("ip", &ip).finish();
    let who: serde_json::Value = match p.channel.get_json(&format!("/agent/v1/metadata-lookup?{query}")).await {
        Ok(v) => v,
        Err(crate::channel::ChannelError::Status { status: 404, .. }) => {
            return plain(StatusCode::NOT_FOUND, "Not Found")
        }
        Err(e) => {
            tracing::warn!(error = %e, "metadata lookup failed");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "An unknown error has occurred.");
        }
    };
    let (Some(instance), Some(project)) = (who["instance_id"].as_str(), who["project_id"].as_str()) else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str()).to_string();
    let url = format!("{}://{}:{}{path}", p.config.protocol, p.config.host, p.config.port);
    let method = req.method().clone();
    let body = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
        Ok(b) => b,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "Bad Request"),
    };
    let upstream = p
        .client
        .request(method, &url)
        .header("X-Instance-ID", instance)
        .header("X-Tenant-ID", project)
        .header("X-Forwarded-For", &ip)
        .header("X-Instance-ID-Signature", sign(&p.config.secret, instance))
        .body(body)
        .send()
        .await;
    match upstream {
        Ok(r) => {
            let status = StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let ctype = r.headers().get("content-type").cloned();
            match r.bytes().await {
                Ok(b) => {
                    let mut resp = Response::new(Body::from(b));
                    *resp.status_mut() = status;
                    if let Some(c) = ctype {
                        resp.headers_mut().insert("content-type", c);
                    }
                    resp
                }
                Err(_) => plain(StatusCode::BAD_GATEWAY, "Bad Gateway"),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, url = %url, "the metadata service did not answer");
            plain(StatusCode::BAD_GATEWAY, "Bad Gateway")
        }
    }
}

/// A listening socket made inside the named network namespace.
pub fn listen_in(netns: &str, addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let path = format!("/run/netns/{netns}");
    std::thread::spawn(move || -> std::io::Result<std::net::TcpListener> {
        let ns = std::fs::File::open(&path)?;
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
        let l = std::net::TcpListener::bind(addr)?;
        l.set_nonblocking(true)?;
        Ok(l)
    })
    .join()
    .map_err(|_| std::io::Error::other("the namespace thread panicked"))?
}

/// Serves the metadata proxy of `network_id` on 169.254.169.254:80 in `netns` until aborted.
pub async fn serve(channel: Channel, network_id: String, netns: String, config: MetadataConfig) -> std::io::Result<()> {
    let addr = SocketAddr::new(IpAddr::V4(METADATA_IP), 80);
    serve_at(channel, Scope::Network(network_id), &netns, addr, config).await
}

/// Serves the metadata proxy of `router_id` on 0.0.0.0:`port` in `netns` until aborted.
pub async fn serve_router(
    channel: Channel,
    router_id: String,
    netns: String,
    port: u16,
    config: MetadataConfig,
) -> std::io::Result<()> {
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
    serve_at(channel, Scope::Router(router_id), &netns, addr, config).await
}

/// Serves the metadata proxy for `scope` on `addr` in `netns` until aborted.
pub async fn serve_at(
    channel: Channel,
    scope: Scope,
    netns: &str,
    addr: SocketAddr,
    config: MetadataConfig,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listen_in(netns, addr)?)?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(std::io::Error::other)?;
    let app = axum::Router::new().fallback(forward).with_state(Proxy { channel, scope, config, client });
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_name_the_network_or_the_router() {
        assert_eq!(Scope::Network("n1".into()).param(), ("network_id", "n1"));
        assert_eq!(Scope::Router("r1".into()).param(), ("router_id", "r1"));
    }

    #[test]
    fn signatures_are_novas() {
        // Python: hmac.new(b"secret", b"instance", hashlib.sha256).hexdigest()
        assert_eq!(sign("secret", "instance"), "fac450cbc556373851e9f5755126936b598b1749a007d96b7e0b7f1a5cd274e9");
    }
}

//! oslo.messaging's `transport_url` to AMQP URIs.

use crate::BusError;

/// The AMQP URIs of `transport_url`: `rabbit://[user:pass@]host[:port][,…]/[vhost]`
/// (oslo.messaging's form: several hosts of one cluster, comma-separated,
/// each with its own credentials; no vhost means the default one, `/`), or
/// an `amqp://` URI used as it is.
pub fn broker_urls(transport_url: &str) -> Result<Vec<String>, BusError> {
    let bad = |why: &str| BusError::Url(format!("{why} (in '{}')", mask(transport_url)));
    let (scheme, rest) = transport_url.split_once("://").ok_or_else(|| bad("expected rabbit://…"))?;
    match scheme {
        "amqp" => return Ok(vec![transport_url.to_string()]),
        "rabbit" | "kombu" => {}
        other => return Err(bad(&format!("the '{other}' transport is not supported; use rabbit://"))),
    }
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "ssl" && !matches!(v, "0" | "false" | "False") {
            return Err(bad("TLS to the broker (ssl=…) is not built"));
        }
    }
    let (hosts, vhost) = rest.split_once('/').unwrap_or((rest, ""));
    let vhost = if vhost.is_empty() || vhost == "%2f" || vhost == "%2F" { "%2f" } else { vhost };
    let mut urls = Vec::new();
    for host in hosts.split(',').map(str::trim) {
        let (creds, addr) = match host.rsplit_once('@') {
            Some((c, a)) => (Some(c), a),
            None => (None, host),
        };
        if addr.is_empty() {
            return Err(bad("a host is empty"));
        }
        // A port is there unless the address ends in a bracketed IPv6 literal or has no colon.
        let has_port = match addr.rfind(':') {
            Some(i) => !addr[i..].contains(']') && addr[i + 1..].parse::<u16>().is_ok(),
            None => false,
        };
        if !has_port && addr.contains(':') && !addr.ends_with(']') {
            return Err(bad("a port is not a number"));
        }
        let addr = if has_port { addr.to_string() } else { format!("{addr}:5672") };
        let creds = creds.map(|c| format!("{c}@")).unwrap_or_default();
        urls.push(format!("amqp://{creds}{addr}/{vhost}"));
    }
    Ok(urls)
}

/// The URL with passwords hidden, for messages.
pub(crate) fn mask(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let hosts: Vec<String> = rest
        .split(',')
        .map(|h| match h.rsplit_once('@') {
            Some((creds, addr)) => match creds.split_once(':') {
                Some((user, _)) => format!("{user}:***@{addr}"),
                None => h.to_string(),
            },
            None => h.to_string(),
        })
        .collect();
    format!("{scheme}://{}", hosts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_url_is_the_default_vhost_on_the_default_port() {
        assert_eq!(
            broker_urls("rabbit://openstack:admin@ren3").expect("url"),
            ["amqp://openstack:admin@ren3:5672/%2f"]
        );
        assert_eq!(broker_urls("rabbit://u:p@h:5673/").expect("url"), ["amqp://u:p@h:5673/%2f"]);
    }

    #[test]
    fn a_cluster_is_each_host_with_its_credentials_and_the_vhost() {
        assert_eq!(
            broker_urls("rabbit://a:1@h1:5672,b:2@h2,[::1]:5674,[fe80::1]/nova").expect("url"),
            [
                "amqp://a:1@h1:5672/nova",
                "amqp://b:2@h2:5672/nova",
                "amqp://[::1]:5674/nova",
                "amqp://[fe80::1]:5672/nova"
            ]
        );
    }

    #[test]
    fn amqp_uris_are_taken_as_they_are() {
        let u = "amqp://guest:guest@127.0.0.1:5672/%2f";
        assert_eq!(broker_urls(u).expect("url"), [u]);
    }

    #[test]
    fn what_cannot_be_used_is_refused_without_showing_the_password() {
        for (url, why) in [
            ("kafka://u:secret@h", "'kafka' transport"),
            ("rabbit://u:secret@h:port", "not a number"),
            ("rabbit://u:secret@h?ssl=1", "TLS"),
            ("rabbit://u:secret@,h2", "empty"),
            ("ren3", "expected rabbit"),
        ] {
            let e = broker_urls(url).expect_err("refused").to_string();
            assert!(e.contains(why), "{url}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
    }
}

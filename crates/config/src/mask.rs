//! Masking of secrets for display: secret options and URL passwords.

/// What a masked secret is shown as.
pub const MASK: &str = "***";

/// Whether the option `key` holds a secret (`password`, `*_password`,
/// `*secret`, e.g. `channel_secret`, `metadata_proxy_shared_secret`).
pub fn is_secret_key(key: &str) -> bool {
    key == "password" || key.ends_with("_password") || key.ends_with("secret")
}

/// The value of `key` as it may be displayed: `***` for a secret option,
/// else the value with any URL password replaced by `***`.
pub fn mask_value(key: &str, value: &str) -> String {
    if is_secret_key(key) && !value.is_empty() {
        MASK.to_string()
    } else {
        mask_url_password(value)
    }
}

/// Replaces the password of every `user:password@host` of a URL
/// (`scheme://…`, several hosts separated by commas as in `rabbit://` URLs).
/// Text without `://` is returned unchanged. When in doubt, more is masked.
pub fn mask_url_password(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let (head, rest) = text.split_at(scheme_end + 3);
    let parts: Vec<String> = rest
        .split(',')
        .map(|part| match part.rfind('@') {
            Some(at) => {
                let userinfo = &part[..at];
                match userinfo.find(':') {
                    Some(colon) => format!("{}:{MASK}{}", &userinfo[..colon], &part[at..]),
                    None => part.to_string(),
                }
            }
            None => part.to_string(),
        })
        .collect();
    format!("{head}{}", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        for key in ["password", "admin_password", "channel_secret", "metadata_proxy_shared_secret"] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["username", "password_policy", "host"] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn url_passwords() {
        assert_eq!(mask_url_password("rabbit://openstack:admin@ren3"), "rabbit://openstack:***@ren3");
        assert_eq!(
            mask_url_password("mysql+pymysql://neutron:NEUTRON_DBPASS@ren3/neutron"),
            "mysql+pymysql://neutron:***@ren3/neutron"
        );
        assert_eq!(
            mask_url_password("rabbit://a:p1@h1:5672,b:p2@h2:5672/vhost"),
            "rabbit://a:***@h1:5672,b:***@h2:5672/vhost"
        );
        assert_eq!(mask_url_password("mysql://u:pa/ss@h/db"), "mysql://u:***@h/db");
        assert_eq!(mask_url_password("sqlite:////var/lib/n.db"), "sqlite:////var/lib/n.db");
        assert_eq!(mask_url_password("http://ren3:5000"), "http://ren3:5000");
        assert_eq!(mask_url_password("rabbit://guest@h"), "rabbit://guest@h");
        assert_eq!(mask_url_password("plain"), "plain");
    }

    #[test]
    fn mask_values() {
        assert_eq!(mask_value("password", "neutron"), "***");
        assert_eq!(mask_value("password", ""), "");
        assert_eq!(mask_value("transport_url", "rabbit://u:p@h"), "rabbit://u:***@h");
        assert_eq!(mask_value("host", "ren3"), "ren3");
    }
}

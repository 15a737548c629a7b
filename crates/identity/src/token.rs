//! Token format: `nt1.<key id>.<payload>.<mac>` — a base64url JSON payload
//! (who, which scope, when) authenticated with HMAC-SHA256 under a signing
//! key kept in the store, so every server validates what any server issued
//! and tokens survive restarts. Tokens hold ids only; names, roles and the
//! catalog are read at validation time, so a disabled user or a removed role
//! takes effect at once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const PREFIX: &str = "nt1";

/// What a token was scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenScope {
    /// No scope: the user only.
    #[serde(rename = "u")]
    Unscoped,
    /// A project id.
    #[serde(rename = "p")]
    Project(String),
    /// A domain id.
    #[serde(rename = "d")]
    Domain(String),
}

/// The signed content of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPayload {
    /// The user's id.
    #[serde(rename = "u")]
    pub user_id: String,
    /// The scope.
    #[serde(rename = "s")]
    pub scope: TokenScope,
    /// Authentication methods (`password`, `token`).
    #[serde(rename = "m")]
    pub methods: Vec<String>,
    /// Issue time, unix milliseconds (revocations by time need better than seconds).
    #[serde(rename = "i")]
    pub issued_at_ms: i64,
    /// Expiry, unix seconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
    /// Audit ids: this token's, then the one it was re-scoped from.
    #[serde(rename = "a")]
    pub audit_ids: Vec<String>,
}

/// A signing key.
#[derive(Clone)]
pub struct Key {
    /// Id carried by the tokens it signs.
    pub id: String,
    /// The secret.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Why a token string is not a valid token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    /// Not `nt1.<kid>.<payload>.<mac>`, or undecodable.
    #[error("malformed token")]
    Malformed,
    /// Signed with a key this server does not have.
    #[error("unknown signing key {0}")]
    UnknownKey(String),
    /// The MAC does not match.
    #[error("bad signature")]
    BadSignature,
}

fn mac(secret: &[u8], signed: &str) -> Option<Hmac<Sha256>> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).ok()?;
    m.update(signed.as_bytes());
    Some(m)
}

/// Signs `payload` with `key`.
pub fn sign(key: &Key, payload: &TokenPayload) -> Option<String> {
    let json = serde_json::to_vec(payload).ok()?;
    let signed = format!("{PREFIX}.{}.{}", key.id, URL_SAFE_NO_PAD.encode(json));
    let tag = mac(&key.secret, &signed)?.finalize().into_bytes();
    Some(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag)))
}

/// The key id a token claims, if the token is shaped like one of ours.
pub fn key_id(token: &str) -> Option<&str> {
    let mut parts = token.split('.');
    (parts.next() == Some(PREFIX)).then_some(())?;
    parts.next().filter(|k| !k.is_empty())
}

/// Checks a token's MAC with the key it names (looked up in `keys`) and
/// returns its payload. Expiry and revocation are the caller's to check.
pub fn verify(keys: &[Key], token: &str) -> Result<TokenPayload, TokenFormatError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [prefix, kid, body, tag] = parts.as_slice() else {
        return Err(TokenFormatError::Malformed);
    };
    if *prefix != PREFIX {
        return Err(TokenFormatError::Malformed);
    }
    let key = keys.iter().find(|k| k.id == *kid).ok_or_else(|| TokenFormatError::UnknownKey((*kid).to_string()))?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenFormatError::Malformed)?;
    let signed_len = prefix.len() + kid.len() + body.len() + 2;
    let signed = &token[..signed_len];
    mac(&key.secret, signed)
        .ok_or(TokenFormatError::Malformed)?
        .verify_slice(&tag)
        .map_err(|_| TokenFormatError::BadSignature)?;
    let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| TokenFormatError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenFormatError::Malformed)
}

/// A new random secret, base64 (as stored).
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a stored secret.
pub fn decode_secret(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok().filter(|b| b.len() >= 16)
}

/// A fresh audit id (Keystone's are 22 url-safe characters).
pub fn new_audit_id() -> String {
    URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> Key {
        Key { id: id.into(), secret: decode_secret(&new_secret()).expect("secret") }
    }

    fn payload() -> TokenPayload {
        TokenPayload {
            user_id: "u1".into(),
            scope: TokenScope::Project("p1".into()),
            methods: vec!["password".into()],
            issued_at_ms: 100_000,
            expires_at: 3700,
            audit_ids: vec!["a1".into()],
        }
    }

    #[test]
    fn round_trip_and_tamper_detection() {
        let k = key("k1");
        let t = sign(&k, &payload()).expect("sign");
        assert_eq!(key_id(&t), Some("k1"));
        assert_eq!(verify(std::slice::from_ref(&k), &t), Ok(payload()));
        // Another key with the same id: bad signature.
        assert_eq!(verify(&[key("k1")], &t), Err(TokenFormatError::BadSignature));
        assert_eq!(verify(&[key("k2")], &t), Err(TokenFormatError::UnknownKey("k1".into())));
        // A changed payload fails the MAC.
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        let mut p = payload();
        p.scope = TokenScope::Project("p2".into());
        parts[2] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&p).expect("json"));
        assert_eq!(verify(std::slice::from_ref(&k), &parts.join(".")), Err(TokenFormatError::BadSignature));
        for bad in ["", "nt1", "nt1.k1.x", "gAAAAA.k1.a.b", "nt1.k1.!!.??"] {
            assert!(verify(std::slice::from_ref(&k), bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn audit_ids_are_keystone_sized() {
        assert_eq!(new_audit_id().len(), 22);
        assert_ne!(new_audit_id(), new_audit_id());
    }
}

//! Rows of the built-in identity that are not API documents: password
//! hashes, token signing keys and revoked tokens.

use crate::backend::{Reader, Tx};
use crate::conn::{oi, t};
use crate::error::StoreError;
use crate::query::SqlValue;

/// A token signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id, carried by every token it signs.
    pub id: String,
    /// The secret, base64.
    pub secret: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
}

macro_rules! identity_reads {
    ($ty:ty) => {
        impl $ty {
            /// The password hash of a user, if one is set.
            pub async fn password_hash(&mut self, user_id: &str) -> Result<Option<String>, StoreError> {
                let sql = "SELECT hash FROM identity_passwords WHERE user_id = ?";
                match self.conn().row(sql, &[t(user_id)]).await? {
                    Some(r) => Ok(Some(r.text(0)?)),
                    None => Ok(None),
                }
            }

            /// Every token signing key, oldest first.
            pub async fn signing_keys(&mut self) -> Result<Vec<SigningKey>, StoreError> {
                let sql = "SELECT id, secret, created_at FROM identity_signing_keys ORDER BY created_at, id";
                let rows = self.conn().rows(sql, &[]).await?;
                rows.iter()
                    .map(|r| Ok(SigningKey { id: r.text(0)?, secret: r.text(1)?, created_at: r.text(2)? }))
                    .collect()
            }

            /// Whether the token of `audit_id` was revoked.
            pub async fn is_revoked(&mut self, audit_id: &str) -> Result<bool, StoreError> {
                let sql = "SELECT 1 FROM identity_revocations WHERE audit_id = ?";
                Ok(self.conn().row(sql, &[t(audit_id)]).await?.is_some())
            }

            /// The time (ms) before which every token of `subject` (`user:<id>`
            /// or `project:<id>`) is revoked, if set.
            pub async fn revoked_before(&mut self, subject: &str) -> Result<Option<i64>, StoreError> {
                let sql = "SELECT issued_before FROM identity_revocations WHERE audit_id = ?";
                match self.conn().row(sql, &[t(subject)]).await? {
                    Some(r) => r.opt_int(0),
                    None => Ok(None),
                }
            }
        }
    };
}

identity_reads!(Tx);
identity_reads!(Reader);

impl Tx {
    /// Sets (or replaces) a user's password hash.
    pub async fn set_password_hash(&mut self, user_id: &str, hash: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let sql = conn.dialect().upsert("identity_passwords", &["user_id", "hash"], &["user_id"], &["hash"]);
        conn.execute(&sql, &[t(user_id), t(hash)]).await?;
        Ok(())
    }

    /// Adds a signing key unless one with its id exists. Returns whether it was added.
    pub async fn add_signing_key(&mut self, key: &SigningKey) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let sql = conn.dialect().insert_or_ignore("identity_signing_keys", &["id", "secret", "created_at"]);
        Ok(conn.execute(&sql, &[t(&key.id), t(&key.secret), t(&key.created_at)]).await? == 1)
    }

    /// Revokes every token of `subject` (`user:<id>` or `project:<id>`)
    /// issued before `before_ms`, remembered until `expires_at` (unix
    /// seconds: when the last such token expires).
    pub async fn revoke_tokens_before(
        &mut self,
        subject: &str,
        before_ms: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let sql = conn.dialect().upsert(
            "identity_revocations",
            &["audit_id", "expires_at", "issued_before"],
            &["audit_id"],
            &["expires_at", "issued_before"],
        );
        conn.execute(&sql, &[t(subject), SqlValue::Int(expires_at), oi(Some(before_ms))]).await?;
        Ok(())
    }

    /// Records a revoked token until `expires_at` (unix seconds), and forgets
    /// revocations of tokens that have expired by `now`.
    pub async fn revoke_token(&mut self, audit_id: &str, expires_at: i64, now: i64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        conn.execute("DELETE FROM identity_revocations WHERE expires_at < ?", &[SqlValue::Int(now)]).await?;
        let sql = conn.dialect().insert_or_ignore("identity_revocations", &["audit_id", "expires_at"]);
        conn.execute(&sql, &[t(audit_id), SqlValue::Int(expires_at)]).await?;
        Ok(())
    }
}

//! Rows of the built-in identity that are not API documents: password
//! hashes, token signing keys and revoked tokens.

use rusqlite::{params, Connection, OptionalExtension};

use crate::backend::{Reader, Tx};
use crate::error::StoreError;

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

fn password_hash(conn: &Connection, user_id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT hash FROM identity_passwords WHERE user_id = ?")?
        .query_row(params![user_id], |r| r.get(0))
        .optional()?)
}

fn signing_keys(conn: &Connection) -> Result<Vec<SigningKey>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT id, secret, created_at FROM identity_signing_keys ORDER BY created_at, id")?;
    let rows = stmt.query_map([], |r| Ok(SigningKey { id: r.get(0)?, secret: r.get(1)?, created_at: r.get(2)? }))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

fn is_revoked(conn: &Connection, audit_id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM identity_revocations WHERE audit_id = ?")?
        .query_row(params![audit_id], |_| Ok(()))
        .optional()?
        .is_some())
}

fn revoked_before(conn: &Connection, subject: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT issued_before FROM identity_revocations WHERE audit_id = ?")?
        .query_row(params![subject], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten())
}

macro_rules! identity_reads {
    ($ty:ty) => {
        impl $ty {
            /// The password hash of a user, if one is set.
            pub async fn password_hash(&mut self, user_id: &str) -> Result<Option<String>, StoreError> {
                password_hash(self.conn().0, user_id)
            }

            /// Every token signing key, oldest first.
            pub async fn signing_keys(&mut self) -> Result<Vec<SigningKey>, StoreError> {
                signing_keys(self.conn().0)
            }

            /// Whether the token of `audit_id` was revoked.
            pub async fn is_revoked(&mut self, audit_id: &str) -> Result<bool, StoreError> {
                is_revoked(self.conn().0, audit_id)
            }

            /// The time (ms) before which every token of `subject` (`user:<id>`
            /// or `project:<id>`) is revoked, if set.
            pub async fn revoked_before(&mut self, subject: &str) -> Result<Option<i64>, StoreError> {
                revoked_before(self.conn().0, subject)
            }
        }
    };
}

identity_reads!(Tx);
identity_reads!(Reader);

impl Tx {
    /// Sets (or replaces) a user's password hash.
    pub async fn set_password_hash(&mut self, user_id: &str, hash: &str) -> Result<(), StoreError> {
        self.conn()
            .0
            .prepare_cached(
                "INSERT INTO identity_passwords (user_id, hash) VALUES (?, ?) \
                 ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash",
            )?
            .execute(params![user_id, hash])?;
        Ok(())
    }

    /// Adds a signing key unless one with its id exists. Returns whether it was added.
    pub async fn add_signing_key(&mut self, key: &SigningKey) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .0
            .prepare_cached(
                "INSERT INTO identity_signing_keys (id, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            )?
            .execute(params![key.id, key.secret, key.created_at])?;
        Ok(n == 1)
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
        self.conn()
            .0
            .prepare_cached(
                "INSERT INTO identity_revocations (audit_id, expires_at, issued_before) VALUES (?, ?, ?) \
                 ON CONFLICT (audit_id) DO UPDATE SET expires_at = excluded.expires_at, issued_before = excluded.issued_before",
            )?
            .execute(params![subject, expires_at, before_ms])?;
        Ok(())
    }

    /// Records a revoked token until `expires_at` (unix seconds), and forgets
    /// revocations of tokens that have expired by `now`.
    pub async fn revoke_token(&mut self, audit_id: &str, expires_at: i64, now: i64) -> Result<(), StoreError> {
        let conn = self.conn().0;
        conn.prepare_cached("DELETE FROM identity_revocations WHERE expires_at < ?")?.execute(params![now])?;
        conn.prepare_cached(
            "INSERT INTO identity_revocations (audit_id, expires_at) VALUES (?, ?) ON CONFLICT (audit_id) DO NOTHING",
        )?
        .execute(params![audit_id, expires_at])?;
        Ok(())
    }
}

//! Password hashes: Argon2id in PHC string form, computed off the async
//! workers (a hash takes tens of milliseconds on purpose).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::{IdentityError, IdentityResult};

/// Longest password accepted (Keystone's `max_password_length`): hashing
/// is deliberately slow, so unbounded input would be a denial of service.
pub const MAX_PASSWORD_LENGTH: usize = 4096;

/// Hashes a password with a fresh salt.
pub async fn hash(password: &str) -> IdentityResult<String> {
    if password.len() > MAX_PASSWORD_LENGTH {
        return Err(IdentityError::Validation(format!(
            "Invalid input for field 'password': longer than {MAX_PASSWORD_LENGTH} characters."
        )));
    }
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| IdentityError::Internal(format!("cannot hash a password: {e}")))
    })
    .await
    .map_err(|e| IdentityError::Internal(format!("password hashing task failed: {e}")))?
}

/// Whether `password` matches the stored `hash`. A corrupt hash, or a
/// password longer than any that can be set, matches nothing.
pub async fn verify(hash: &str, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_LENGTH {
        return false;
    }
    let (hash, password) = (hash.to_owned(), password.to_owned());
    tokio::task::spawn_blocking(move || match PasswordHash::new(&hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "a stored password hash does not parse");
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ_by_salt() {
        let a = hash("s3cret").await.expect("hash");
        let b = hash("s3cret").await.expect("hash");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(verify(&a, "s3cret").await);
        assert!(!verify(&a, "s3cret ").await);
        assert!(!verify("not a hash", "s3cret").await);
        let long = "x".repeat(MAX_PASSWORD_LENGTH + 1);
        assert!(matches!(hash(&long).await, Err(IdentityError::Validation(_))));
        assert!(!verify(&a, &long).await);
    }
}

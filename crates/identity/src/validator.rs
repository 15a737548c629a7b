//! Who validates tokens for the API: the built-in identity in this process
//! (revocation is immediate) or an external Keystone (cached).

use std::sync::Arc;

use crate::error::{IdentityError, IdentityResult};
use crate::identity::Identity;
use crate::records::TokenBody;
use crate::remote::RemoteKeystone;

/// A token validator.
#[derive(Debug, Clone)]
pub enum Validator {
    /// The identity service of this process.
    BuiltIn(Arc<Identity>),
    /// An external Keystone.
    Remote(Arc<RemoteKeystone>),
}

impl Validator {
    /// The token's body; 401 when the token is not valid.
    pub async fn validate(&self, token: &str) -> IdentityResult<TokenBody> {
        match self {
            Validator::BuiltIn(identity) => match identity.validate_with(token, false).await {
                Ok(v) => Ok(v.body),
                Err(IdentityError::NotFound { .. }) => Err(IdentityError::unauthenticated()),
                Err(e) => Err(e),
            },
            Validator::Remote(keystone) => keystone.validate(token).await,
        }
    }
}

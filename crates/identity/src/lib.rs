//! Neutrino's built-in identity: the subset of the Identity (Keystone) v3
//! API that the `openstack` CLI, openstacksdk and test tooling need —
//! password authentication, signed tokens with roles and a service catalog,
//! validation and revocation, and the administration of domains, projects,
//! users, roles, grants, regions, services and endpoints — kept in the
//! store. Also the validator the Neutron API uses: this identity, or an
//! external Keystone asked as keystonemiddleware does.
#![warn(missing_docs)]

mod admin;
pub mod api;
mod auth;
mod bootstrap;
mod error;
mod identity;
mod password;
pub mod records;
mod remote;
pub mod token;
mod validator;

pub use admin::Input;
pub use auth::{AuthRequest, ValidToken};
pub use bootstrap::{Bootstrap, BootstrapReport};
pub use error::{IdentityError, IdentityResult};
pub use identity::{Identity, IdentitySettings};
pub use remote::{RemoteKeystone, RemoteSettings};
pub use validator::Validator;

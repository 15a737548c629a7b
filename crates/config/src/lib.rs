//! Neutron's INI configuration files, loaded with oslo.config semantics into
//! typed sections.
//!
//! [`load`] reads `--config-file` and `--config-dir` inputs, merges them key
//! by key (later files win), interpolates `$name` references, and builds a
//! [`Config`] of typed sections. Unknown options and options whose feature is
//! not built yet become [`Warning`]s; invalid values of known options are
//! [`ConfigError`]s naming file, line, section and key. The raw effective
//! values stay available through [`Loaded::get`], and
//! [`Loaded::render_text`] / [`Loaded::to_json`] show everything with its
//! source (`config show`).
//!
//! ```no_run
//! # fn main() -> Result<(), neutrino_config::ConfigError> {
//! let mut loaded = neutrino_config::load(&["/etc/neutron/neutron.conf".into()], &[])?;
//! loaded.set_override("DEFAULT", "bind_port", "9797")?;
//! for warning in &loaded.warnings {
//!     eprintln!("warning: {warning}");
//! }
//! assert_eq!(loaded.config.default.bind_port, 9797);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod build;
mod error;
pub mod ini;
mod interpolate;
pub mod known;
mod load;
pub mod mask;
mod raw;
mod sections;
mod show;
pub mod value;
mod warning;

#[cfg(test)]
mod testutil;

pub use error::{ConfigError, ValueError};
pub use load::{config_paths, load, Loaded};
pub use raw::{canonical_section, Source, Value, DEFAULT_SECTION};
pub use sections::{
    AgentChannel, AgentSection, AuthStrategy, Config, DatabaseBackend, DatabaseSection, DefaultSection,
    IdentitySection, KeystoneAuthtokenSection, Ml2Section, Ml2TypeFlatSection, Ml2TypeGreSection, Ml2TypeVlanSection,
    Ml2TypeVxlanSection, QuotasSection, VlanRange, DEFAULT_TENANT_NETWORK_TYPES,
};
pub use warning::Warning;

#[cfg(test)]
mod load_tests;
#[cfg(test)]
mod show_tests;
#[cfg(test)]
mod validation_tests;

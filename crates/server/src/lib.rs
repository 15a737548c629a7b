//! The Neutron v2.0 API server: HTTP API ([`api`]), the ML2 core plugin
//! ([`core`], [`ml2`]) and their settings.

pub mod api;
pub mod context;
pub mod core;
pub mod error;
pub mod ml2;
pub mod policy;
pub mod serve;
pub mod settings;

pub use context::RequestContext;
pub use core::Plugin;
pub use error::PluginError;
pub use settings::Settings;

//! Warnings: options that are accepted but unknown, or whose feature is not
//! built yet. Loading goes on; the binary prints them.

use std::fmt;
use std::path::PathBuf;

use crate::raw::Source;

/// A warning about the configuration. `Display` gives the message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Warning {
    /// An option this crate does not know (in a known or unknown section).
    UnknownOption {
        /// The section, as written.
        section: String,
        /// The option name.
        key: String,
        /// The file.
        path: PathBuf,
        /// The line of the key.
        line: usize,
    },
    /// A known option whose feature (or value) is not built yet.
    NotBuilt {
        /// The section.
        section: String,
        /// The option name.
        key: String,
        /// The value, secrets masked.
        value: String,
        /// Where the value comes from.
        origin: Source,
        /// What is done instead (the fallback).
        message: String,
    },
    /// Agent options of one section of one file, stored for the agent roles.
    AgentOptions {
        /// The section.
        section: String,
        /// The file; `None` for command-line overrides.
        path: Option<PathBuf>,
    },
    /// Options of a section whose feature is not built yet (one per file section).
    SectionNotBuilt {
        /// The section.
        section: String,
        /// The file; `None` for command-line overrides.
        path: Option<PathBuf>,
        /// What is done with the options.
        message: String,
    },
}

/// ` in FILE:LINE`, ` (default)` or ` on the command line`.
fn at(origin: &Source) -> String {
    match origin {
        Source::File { .. } => format!(" in {origin}"),
        Source::Default => " (default)".to_string(),
        Source::CommandLine => " on the command line".to_string(),
    }
}

/// ` of FILE` or ` on the command line`.
fn of(path: &Option<PathBuf>) -> String {
    match path {
        Some(path) => format!(" of {}", path.display()),
        None => " on the command line".to_string(),
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownOption { section, key, path, line } => {
                write!(f, "unknown option [{section}] {key} in {}:{line}, ignored", path.display())
            }
            Warning::NotBuilt { section, key, value, origin, message } => {
                write!(f, "[{section}] {key} = {value}{}: {message}", at(origin))
            }
            Warning::AgentOptions { section, path } => {
                write!(f, "agent options in [{section}]{} are accepted; the agents do not use them yet", of(path))
            }
            Warning::SectionNotBuilt { section, path, message } => {
                write!(f, "options in [{section}]{}: {message}", of(path))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let unknown = Warning::UnknownOption {
            section: "oslo_concurrency".into(),
            key: "lock_path".into(),
            path: "/etc/neutron/neutron.conf".into(),
            line: 45,
        };
        assert_eq!(
            unknown.to_string(),
            "unknown option [oslo_concurrency] lock_path in /etc/neutron/neutron.conf:45, ignored"
        );
        let not_built = Warning::NotBuilt {
            section: "DEFAULT".into(),
            key: "auth_strategy".into(),
            value: "keystone".into(),
            origin: Source::Default,
            message: "falling back to noauth".into(),
        };
        assert_eq!(not_built.to_string(), "[DEFAULT] auth_strategy = keystone (default): falling back to noauth");
        let agent =
            Warning::AgentOptions { section: "ovs".into(), path: Some("/etc/neutron/openvswitch_agent.ini".into()) };
        assert_eq!(
            agent.to_string(),
            "agent options in [ovs] of /etc/neutron/openvswitch_agent.ini are accepted; \
             the agents do not use them yet"
        );
        let section = Warning::SectionNotBuilt { section: "nova".into(), path: None, message: "not used".into() };
        assert_eq!(section.to_string(), "options in [nova] on the command line: not used");
    }
}

//! Errors of configuration loading and of single-value parsing.

use std::path::PathBuf;

use thiserror::Error;

use crate::raw::Source;

/// Why the configuration could not be loaded; the process must refuse to start.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A configuration file or directory could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A line of a file is not valid INI syntax.
    #[error("syntax error in {}:{line}: {reason}", .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line number, starting at 1.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// A known option has a value that cannot be used.
    #[error("invalid value for [{section}] {key} in {}:{line}: {reason}", .path.display())]
    Invalid {
        /// The file holding the value.
        path: PathBuf,
        /// The line of the key, starting at 1.
        line: usize,
        /// The section, as written (`DEFAULT` for the default group).
        section: String,
        /// The option name.
        key: String,
        /// The value (secrets masked) and why it is refused.
        reason: String,
    },
    /// A command-line override has a value that cannot be used.
    #[error("invalid value for [{section}] {key} on the command line: {reason}")]
    InvalidOverride {
        /// The section.
        section: String,
        /// The option name.
        key: String,
        /// The value (secrets masked) and why it is refused.
        reason: String,
    },
    /// A built-in default is invalid (a bug in this crate, never user input).
    #[error("invalid built-in default for [{section}] {key}: {reason}")]
    InvalidDefault {
        /// The section.
        section: String,
        /// The option name.
        key: String,
        /// Why the default is refused.
        reason: String,
    },
    /// A command-line override names an option this crate does not know.
    #[error("unknown option [{section}] {key} on the command line")]
    UnknownOverride {
        /// The section.
        section: String,
        /// The option name.
        key: String,
    },
}

impl ConfigError {
    /// The error for an unusable value of `[section] key` that came from `origin`.
    pub(crate) fn invalid(origin: &Source, section: &str, key: &str, reason: String) -> Self {
        let (section, key) = (section.to_string(), key.to_string());
        match origin {
            Source::File { path, line } => {
                ConfigError::Invalid { path: path.clone(), line: *line, section, key, reason }
            }
            Source::CommandLine => ConfigError::InvalidOverride { section, key, reason },
            Source::Default => ConfigError::InvalidDefault { section, key, reason },
        }
    }
}

/// Why a single value could not be parsed into its type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{reason}")]
pub struct ValueError {
    /// Human-readable reason, e.g. `min is greater than max`.
    pub reason: String,
}

impl ValueError {
    /// A value error with the given reason.
    pub fn new(reason: impl Into<String>) -> Self {
        ValueError { reason: reason.into() }
    }
}

//! Raw effective values: the text of each option and where it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Where an effective value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// The built-in default (no file and no override set it).
    Default,
    /// A configuration file, at the line of the key.
    File {
        /// The file.
        path: PathBuf,
        /// The line of the key, starting at 1.
        line: usize,
    },
    /// A command-line override (`Loaded::set_override`).
    CommandLine,
}

impl fmt::Display for Source {
    /// `default`, `FILE:LINE` or `command line`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::CommandLine => f.write_str("command line"),
        }
    }
}

/// The effective value of one option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The value after `$name` interpolation.
    pub text: String,
    /// The value as written, before interpolation.
    pub raw: String,
    /// Where the value comes from.
    pub source: Source,
}

/// Values by section, then by key.
pub(crate) type Sections = BTreeMap<String, BTreeMap<String, Value>>;

/// The name of the default group.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// A section name as this crate stores it: `DEFAULT` in any case becomes
/// `DEFAULT`, every other name is kept as written.
pub fn canonical_section(name: &str) -> String {
    if name.eq_ignore_ascii_case(DEFAULT_SECTION) {
        DEFAULT_SECTION.to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_display() {
        assert_eq!(Source::Default.to_string(), "default");
        assert_eq!(Source::CommandLine.to_string(), "command line");
        let file = Source::File { path: PathBuf::from("/etc/neutron/neutron.conf"), line: 7 };
        assert_eq!(file.to_string(), "/etc/neutron/neutron.conf:7");
    }

    #[test]
    fn default_section_is_case_insensitive_others_kept() {
        assert_eq!(canonical_section("default"), "DEFAULT");
        assert_eq!(canonical_section("Default"), "DEFAULT");
        assert_eq!(canonical_section("ML2"), "ML2");
        assert_eq!(canonical_section("cors.subdomain"), "cors.subdomain");
    }
}

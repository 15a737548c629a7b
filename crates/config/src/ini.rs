//! INI parser with oslo.config's rules, remembering the line of each key.
//!
//! The rules, as oslo.config's parser applies them:
//! - `[name]` starts a section; the line must end with `]` and the name must
//!   not be empty. `DEFAULT` is matched case-insensitively, other names are
//!   kept as written.
//! - `key = value` or `key: value` (whichever separator comes first); key and
//!   value are trimmed, and a value wrapped in matching quotes loses them.
//! - A line starting with `#` or `;` is a comment.
//! - A line starting with a space or tab continues the previous value; the
//!   parts are joined with a newline. A blank line ends a value.
//! - A key before any section header is an error.
//!
//! One leniency over oslo.config: an indented comment line that follows no
//! key is ignored instead of being an "unexpected continuation".

use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::raw::canonical_section;

/// One `key = value` assignment of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The section (`DEFAULT` canonicalised).
    pub section: String,
    /// The key, trimmed.
    pub key: String,
    /// The value, trimmed, continuation lines joined with `\n`.
    pub value: String,
    /// The line of the key, starting at 1.
    pub line: usize,
}

/// A parsed file: its assignments in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniFile {
    /// The file the text came from.
    pub path: PathBuf,
    /// Every assignment, in order (a repeated key appears twice; the later wins).
    pub entries: Vec<Entry>,
    /// Every section header, in order, with its line.
    pub sections: Vec<(String, usize)>,
}

/// An assignment whose continuation lines may still follow.
struct Pending {
    section: String,
    key: String,
    parts: Vec<String>,
    line: usize,
}

impl Pending {
    fn finish(self) -> Entry {
        Entry { section: self.section, key: self.key, value: self.parts.join("\n"), line: self.line }
    }
}

/// Parses the text of the file `path`.
pub fn parse(path: &Path, text: &str) -> Result<IniFile, ConfigError> {
    let syntax =
        |line: usize, reason: &str| ConfigError::Syntax { path: path.to_path_buf(), line, reason: reason.to_string() };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut file = IniFile { path: path.to_path_buf(), entries: Vec::new(), sections: Vec::new() };
    let mut section: Option<String> = None;
    let mut pending: Option<Pending> = None;

    for (index, raw_line) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw_line.trim_end();
        if line.is_empty() {
            if let Some(done) = pending.take() {
                file.entries.push(done.finish());
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let content = line.trim_start();
            match pending.as_mut() {
                Some(open) => open.parts.push(content.to_string()),
                None if content.starts_with(['#', ';']) => {}
                None => return Err(syntax(number, "unexpected continuation line")),
            }
            continue;
        }
        if let Some(done) = pending.take() {
            file.entries.push(done.finish());
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name =
                rest.strip_suffix(']').ok_or_else(|| syntax(number, "invalid section header (must end with ])"))?;
            if name.is_empty() {
                return Err(syntax(number, "empty section name"));
            }
            let name = canonical_section(name);
            file.sections.push((name.clone(), number));
            section = Some(name);
        } else if line.starts_with(['#', ';']) {
            // comment
        } else {
            let (key, value) =
                split_key_value(line).ok_or_else(|| syntax(number, "no ':' or '=' found in assignment"))?;
            if key.is_empty() {
                return Err(syntax(number, "key cannot be empty"));
            }
            let Some(current) = section.as_ref() else {
                return Err(syntax(number, "section must be started before assignment"));
            };
            pending = Some(Pending {
                section: current.clone(),
                key: key.to_string(),
                parts: vec![value.to_string()],
                line: number,
            });
        }
    }
    if let Some(done) = pending.take() {
        file.entries.push(done.finish());
    }
    Ok(file)
}

/// Splits at the first `=` or `:`, trims both sides and removes matching quotes.
fn split_key_value(line: &str) -> Option<(&str, &str)> {
    let at = line.find(['=', ':'])?;
    let key = line[..at].trim();
    let mut value = line[at + 1..].trim();
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            value = &value[1..value.len() - 1];
            break;
        }
    }
    Some((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> IniFile {
        parse(Path::new("/etc/neutron/test.conf"), text).expect("parses")
    }

    fn entry(file: &IniFile, section: &str, key: &str) -> Entry {
        file.entries.iter().rev().find(|e| e.section == section && e.key == key).cloned().expect("entry present")
    }

    fn syntax_error(text: &str) -> (usize, String) {
        match parse(Path::new("/etc/neutron/bad.conf"), text) {
            Err(ConfigError::Syntax { line, reason, path }) => {
                assert_eq!(path, Path::new("/etc/neutron/bad.conf"));
                (line, reason)
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn sections_keys_and_line_numbers() {
        let file = parse_ok("[DEFAULT]\ncore_plugin = ml2\n\n[ml2]\ntype_drivers=flat,vxlan\n");
        let core = entry(&file, "DEFAULT", "core_plugin");
        assert_eq!(core.value, "ml2");
        assert_eq!(core.line, 2);
        let types = entry(&file, "ml2", "type_drivers");
        assert_eq!(types.value, "flat,vxlan");
        assert_eq!(types.line, 5);
        assert_eq!(file.sections, vec![("DEFAULT".to_string(), 1), ("ml2".to_string(), 4)]);
    }

    #[test]
    fn comments_are_skipped() {
        let file = parse_ok("# a comment\n[DEFAULT]\n; another\n#key = no\nhost = a\n\n  # indented, no key\n");
        assert_eq!(file.entries.len(), 1);
        assert_eq!(entry(&file, "DEFAULT", "host").value, "a");
    }

    #[test]
    fn colon_separator_and_first_separator_wins() {
        let file = parse_ok("[DEFAULT]\nhost: node1\ntransport_url = rabbit://u:p@h\na:b = c\n");
        assert_eq!(entry(&file, "DEFAULT", "host").value, "node1");
        assert_eq!(entry(&file, "DEFAULT", "transport_url").value, "rabbit://u:p@h");
        assert_eq!(entry(&file, "DEFAULT", "a").value, "b = c");
    }

    #[test]
    fn whitespace_trimmed_empty_values_and_quotes() {
        let file = parse_ok("[ovs]\n  \nbridge_mappings =\n   local_ip   =   10.0.0.1   \n");
        // "   local_ip" is indented: it continues bridge_mappings, as in oslo.config.
        assert_eq!(entry(&file, "ovs", "bridge_mappings").value, "\nlocal_ip   =   10.0.0.1");
        let file = parse_ok("[ovs]\nbridge_mappings =\nlocal_ip   =   10.0.0.1   \nq = \"quoted value\"\ns = 'x'\n");
        assert_eq!(entry(&file, "ovs", "bridge_mappings").value, "");
        assert_eq!(entry(&file, "ovs", "local_ip").value, "10.0.0.1");
        assert_eq!(entry(&file, "ovs", "q").value, "quoted value");
        assert_eq!(entry(&file, "ovs", "s").value, "x");
    }

    #[test]
    fn continuation_lines_join_with_newline_until_blank_line() {
        let file = parse_ok("[ml2]\nmechanism_drivers = openvswitch,\n    l2population\n\textra\n\nx = 1\n");
        let e = entry(&file, "ml2", "mechanism_drivers");
        assert_eq!(e.value, "openvswitch,\nl2population\nextra");
        assert_eq!(e.line, 2);
        assert_eq!(entry(&file, "ml2", "x").line, 6);
    }

    #[test]
    fn default_header_case_insensitive_other_names_as_written() {
        let file = parse_ok("[default]\na = 1\n[ML2]\nb = 2\n");
        assert_eq!(entry(&file, "DEFAULT", "a").value, "1");
        assert_eq!(entry(&file, "ML2", "b").value, "2");
    }

    #[test]
    fn repeated_key_keeps_both_later_last() {
        let file = parse_ok("[DEFAULT]\nhost = a\nhost = b\n");
        assert_eq!(file.entries.len(), 2);
        assert_eq!(entry(&file, "DEFAULT", "host").value, "b");
    }

    #[test]
    fn windows_line_endings_and_bom() {
        let file = parse_ok("\u{feff}[DEFAULT]\r\nhost = a\r\n");
        assert_eq!(entry(&file, "DEFAULT", "host").value, "a");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        assert_eq!(
            syntax_error("[DEFAULT]\nhost = a\njust words\n"),
            (3, "no ':' or '=' found in assignment".to_string())
        );
        assert_eq!(syntax_error("[DEFAULT\n"), (1, "invalid section header (must end with ])".to_string()));
        assert_eq!(syntax_error("\n[]\n"), (2, "empty section name".to_string()));
        assert_eq!(syntax_error("[DEFAULT]\n= value\n"), (2, "key cannot be empty".to_string()));
        assert_eq!(syntax_error("host = a\n"), (1, "section must be started before assignment".to_string()));
        assert_eq!(syntax_error("[DEFAULT]\n\n  orphan\n"), (3, "unexpected continuation line".to_string()));
    }

    #[test]
    fn syntax_error_display_names_file_and_line() {
        let err = parse(Path::new("/etc/neutron/bad.conf"), "[DEFAULT]\noops\n").expect_err("syntax error");
        assert_eq!(err.to_string(), "syntax error in /etc/neutron/bad.conf:2: no ':' or '=' found in assignment");
    }
}

//! `$name` / `${name}` interpolation over the merged values, as oslo.config
//! does it: the name is looked up in the value's own section, then in
//! `[DEFAULT]`; `${section.name}` names another section; `$$` (or `\$`) is a
//! literal `$`; a `$` not followed by a name is kept as is. A known option
//! that is unset interpolates as the empty string. Referenced values are
//! interpolated in turn; a cycle is an error.
//!
//! A failure in a known option is an error. Unknown options are ignored
//! anyway, so a failure there keeps their text as written.

use std::collections::HashMap;

use crate::error::ConfigError;
use crate::known;
use crate::mask::mask_value;
use crate::raw::{canonical_section, Sections, Source, DEFAULT_SECTION};

/// Where and why interpolation failed (the innermost option).
struct Failure {
    section: String,
    key: String,
    reason: String,
}

struct Interpolator<'a> {
    base: &'a Sections,
    done: HashMap<(String, String), String>,
    stack: Vec<(String, String)>,
}

/// Interpolates every value that is not a built-in default, in place.
pub(crate) fn interpolate(values: &mut Sections) -> Result<(), ConfigError> {
    let base = values.clone();
    let mut interpolator = Interpolator { base: &base, done: HashMap::new(), stack: Vec::new() };
    for (section, keys) in values.iter_mut() {
        for (key, value) in keys.iter_mut() {
            if value.source == Source::Default {
                continue;
            }
            match interpolator.resolve(section, key) {
                Ok(text) => value.text = text,
                Err(failure) if known::is_known(section, key) => {
                    return Err(failure_error(&base, failure));
                }
                Err(_) => value.text = value.raw.clone(),
            }
        }
    }
    Ok(())
}

fn failure_error(base: &Sections, failure: Failure) -> ConfigError {
    let value = base.get(&failure.section).and_then(|keys| keys.get(&failure.key));
    let (origin, raw) = match value {
        Some(value) => (value.source.clone(), value.raw.as_str()),
        None => (Source::Default, ""),
    };
    let reason = format!("'{}' — {}", mask_value(&failure.key, raw), failure.reason);
    ConfigError::invalid(&origin, &failure.section, &failure.key, reason)
}

impl Interpolator<'_> {
    fn has(&self, section: &str, key: &str) -> bool {
        self.base.get(section).is_some_and(|keys| keys.contains_key(key)) || known::is_known(section, key)
    }

    fn resolve(&mut self, section: &str, key: &str) -> Result<String, Failure> {
        let id = (section.to_string(), key.to_string());
        if let Some(text) = self.done.get(&id) {
            return Ok(text.clone());
        }
        let Some(value) = self.base.get(section).and_then(|keys| keys.get(key)) else {
            // A known option that nothing sets.
            return Ok(String::new());
        };
        if self.stack.contains(&id) {
            return Err(Failure { section: id.0, key: id.1, reason: format!("circular reference through ${key}") });
        }
        self.stack.push(id.clone());
        let expanded = self.expand(section, key, &value.raw);
        self.stack.pop();
        let text = expanded?;
        self.done.insert(id, text.clone());
        Ok(text)
    }

    fn expand(&mut self, section: &str, key: &str, raw: &str) -> Result<String, Failure> {
        let chars: Vec<char> = raw.chars().collect();
        let mut out = String::with_capacity(raw.len());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' && chars.get(i + 1) == Some(&'$') {
                out.push('$');
                i += 2;
                continue;
            }
            if c != '$' {
                out.push(c);
                i += 1;
                continue;
            }
            match chars.get(i + 1) {
                Some('$') => {
                    out.push('$');
                    i += 2;
                }
                Some('{') => {
                    let close = chars[i + 2..].iter().position(|&c| c == '}');
                    let name: Option<String> = close.map(|len| chars[i + 2..i + 2 + len].iter().collect());
                    match (close, name) {
                        (Some(len), Some(name)) if is_name(&name) => {
                            out.push_str(&self.lookup(section, key, &name)?);
                            i += len + 3;
                        }
                        _ => {
                            out.push('$');
                            i += 1;
                        }
                    }
                }
                Some(&first) if first == '_' || first.is_ascii_alphabetic() => {
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && is_name_char(chars[end]) {
                        end += 1;
                    }
                    let name: String = chars[start..end].iter().collect();
                    out.push_str(&self.lookup(section, key, &name)?);
                    i = end;
                }
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        }
        Ok(out)
    }

    fn lookup(&mut self, section: &str, key: &str, name: &str) -> Result<String, Failure> {
        if let Some((group, option)) = name.split_once('.') {
            let group = canonical_section(group);
            if self.has(&group, option) {
                return self.resolve(&group, option);
            }
        }
        if self.has(section, name) {
            return self.resolve(section, name);
        }
        if self.has(DEFAULT_SECTION, name) {
            return self.resolve(DEFAULT_SECTION, name);
        }
        Err(Failure { section: section.to_string(), key: key.to_string(), reason: format!("unknown variable ${name}") })
    }
}

fn is_name_char(c: char) -> bool {
    c == '_' || c == '.' || c.is_ascii_alphanumeric()
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first == '_' || first.is_ascii_alphabetic()) && chars.all(is_name_char)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::Value;
    use std::path::PathBuf;

    fn file_value(text: &str, line: usize) -> Value {
        Value {
            text: text.to_string(),
            raw: text.to_string(),
            source: Source::File { path: PathBuf::from("/etc/neutron/neutron.conf"), line },
        }
    }

    fn sections(entries: &[(&str, &str, &str)]) -> Sections {
        let mut sections = Sections::new();
        for (line, (section, key, text)) in entries.iter().enumerate() {
            sections.entry(section.to_string()).or_default().insert(key.to_string(), file_value(text, line + 1));
        }
        sections
    }

    fn text(sections: &Sections, section: &str, key: &str) -> String {
        sections[section][key].text.clone()
    }

    #[test]
    fn plain_braced_dollar_and_backslash() {
        let mut s = sections(&[
            ("DEFAULT", "state_path", "/srv/neutron"),
            ("oslo_concurrency", "lock_path", "$state_path/lock"),
            ("DEFAULT", "host", "${state_path}x"),
            ("DEFAULT", "transport_url", "rabbit://u:pa$$word@h"),
            ("DEFAULT", "api_workers", "a\\$b $ c$"),
        ]);
        interpolate(&mut s).expect("interpolates");
        assert_eq!(text(&s, "oslo_concurrency", "lock_path"), "/srv/neutron/lock");
        assert_eq!(text(&s, "DEFAULT", "host"), "/srv/neutronx");
        assert_eq!(text(&s, "DEFAULT", "transport_url"), "rabbit://u:pa$word@h");
        assert_eq!(text(&s, "DEFAULT", "api_workers"), "a$b $ c$");
        assert_eq!(s["oslo_concurrency"]["lock_path"].raw, "$state_path/lock");
    }

    #[test]
    fn own_section_before_default_and_dotted_names() {
        let mut s = sections(&[
            ("DEFAULT", "local_ip", "10.0.0.1"),
            ("ovs", "local_ip", "10.0.0.2"),
            ("ovs", "bridge_mappings", "x:$local_ip"),
            ("vxlan", "local_ip", "${ovs.local_ip}"),
        ]);
        interpolate(&mut s).expect("interpolates");
        assert_eq!(text(&s, "ovs", "bridge_mappings"), "x:10.0.0.2");
        assert_eq!(text(&s, "vxlan", "local_ip"), "10.0.0.2");
    }

    #[test]
    fn known_but_unset_is_empty() {
        let mut s = sections(&[("DEFAULT", "state_path", "/x/$host/y")]);
        interpolate(&mut s).expect("interpolates");
        assert_eq!(text(&s, "DEFAULT", "state_path"), "/x//y");
    }

    #[test]
    fn recursive_values() {
        let mut s = sections(&[
            ("DEFAULT", "host", "node1"),
            ("DEFAULT", "state_path", "/var/lib/$host"),
            ("database", "connection", "sqlite:///$state_path/db"),
        ]);
        interpolate(&mut s).expect("interpolates");
        assert_eq!(text(&s, "database", "connection"), "sqlite:////var/lib/node1/db");
    }

    #[test]
    fn unknown_variable_in_known_key_is_an_error() {
        let mut s = sections(&[("DEFAULT", "state_path", "/x"), ("DEFAULT", "host", "$nope/a")]);
        let err = interpolate(&mut s).expect_err("unknown variable");
        assert_eq!(
            err.to_string(),
            "invalid value for [DEFAULT] host in /etc/neutron/neutron.conf:2: \
             '$nope/a' — unknown variable $nope"
        );
    }

    #[test]
    fn unknown_variable_in_unknown_key_keeps_text() {
        let mut s = sections(&[("oslo_concurrency", "lock_path", "$nope/lock")]);
        interpolate(&mut s).expect("unknown keys are not checked");
        assert_eq!(text(&s, "oslo_concurrency", "lock_path"), "$nope/lock");
    }

    #[test]
    fn cycles_are_errors() {
        let mut s = sections(&[("DEFAULT", "host", "$state_path"), ("DEFAULT", "state_path", "$host")]);
        let err = interpolate(&mut s).expect_err("cycle");
        assert!(err.to_string().contains("circular reference"), "{err}");
    }
}

//! The API policy engine: the part of oslo.policy's rule language that Neutron's policies use,
//! over Neutron's default rules ([`defaults`]), which an operator's policy file overrides rule
//! by rule.
//!
//! Pure: no I/O beyond reading the policy file, no knowledge of requests. The caller builds the
//! [`Credentials`] (with roles already expanded by role inference) and the target document
//! (the resource's attributes, plus Neutron's extras such as `network:project_id` for a port or
//! subnet, and `shared`/`router:external` of the network for `field:networks:…` checks).

mod defaults;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use thiserror::Error;

use parse::{Check, FieldValue, Kind, Part, Template};
pub use parse::{ParseError, SyntaxError};

/// The rule used for an action that has none (oslo.policy's `default_rule`).
const DEFAULT_RULE: &str = "default";

/// Who is asking: oslo.policy's credentials dict (`context.to_policy_values()`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The user, when known (`user_id:%(user_id)s` checks).
    pub user_id: Option<String>,
    /// The project the token is scoped to; also answers `tenant_id` checks.
    pub project_id: String,
    /// Role names, already expanded by role inference (admin ⇒ manager ⇒ member ⇒ reader).
    pub roles: Vec<String>,
    /// Whether the caller is a cloud admin (`is_admin:True` checks).
    pub is_admin: bool,
}

impl Credentials {
    /// Whether the credential `key` renders as `expected` (oslo.policy's `GenericCheck`).
    fn matches(&self, key: &str, expected: &str) -> bool {
        match key {
            "project_id" | "tenant_id" => self.project_id == expected,
            "user_id" => self.user_id.as_deref() == Some(expected),
            // Booleans compare as Python's `str(True)`, but case-insensitively.
            "is_admin" => expected.eq_ignore_ascii_case(if self.is_admin { "true" } else { "false" }),
            // A list credential matches when any element does.
            "roles" => self.roles.iter().any(|role| role == expected),
            _ => false,
        }
    }
}

/// Why a policy cannot be loaded.
#[derive(Debug, Error)]
pub enum PolicyError {
    /// The policy file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A `.json` policy file is not JSON.
    #[error("policy file is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A policy file is not YAML.
    #[error("policy file is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    /// The document is not a mapping of rule names to check strings.
    #[error("policy file must map rule names to check strings")]
    NotAMapping,
    /// A rule's value is not a check string (the legacy list form is not supported).
    #[error("policy rule {rule:?}: the check must be a string")]
    NotAString {
        /// The rule.
        rule: String,
    },
    /// A rule's check string does not parse.
    #[error("policy rule {rule:?}: {error}")]
    Rule {
        /// The rule.
        rule: String,
        /// What is wrong, and where in the check string.
        #[source]
        error: ParseError,
    },
    /// A rule refers back to itself through `rule:` checks.
    #[error("policy rule {rule:?} refers back to itself through rule: checks")]
    Cycle {
        /// A rule on the cycle.
        rule: String,
    },
}

/// A set of parsed rules by name.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: HashMap<String, Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    text: String,
    check: Check,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::defaults()
    }
}

impl Policy {
    /// Neutron's default rules.
    pub fn defaults() -> Policy {
        match Policy::build(default_texts()) {
            Ok(policy) => policy,
            Err(error) => unreachable!("the built-in policy table is valid (a unit test parses it): {error}"),
        }
    }

    /// The defaults overlaid with the rules of a YAML or JSON policy file (JSON when its name ends
    /// in `.json`).
    pub fn with_file(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io { path: path.to_owned(), source })?;
        Policy::from_text(&text, path.extension().and_then(|extension| extension.to_str()))
    }

    /// The defaults overlaid with the rules of a policy document: YAML (a superset of JSON), or
    /// strict JSON when `format_hint` is `json`. An empty document overrides nothing.
    pub fn from_text(text: &str, format_hint: Option<&str>) -> Result<Policy, PolicyError> {
        let mut texts = default_texts();
        texts.extend(decode(text, format_hint)?);
        Policy::build(texts)
    }

    /// Whether `creds` may do `action` on `target`; an action without a rule falls back to the
    /// `default` rule, and a `rule:` check naming no rule is false.
    pub fn enforce(&self, action: &str, creds: &Credentials, target: &Map<String, Value>) -> bool {
        let rule = self.rules.get(action).or_else(|| self.rules.get(DEFAULT_RULE));
        rule.is_some_and(|rule| self.check(&rule.check, creds, target))
    }

    /// The check string of a rule, as written.
    pub fn rule_text(&self, name: &str) -> Option<&str> {
        self.rules.get(name).map(|rule| rule.text.as_str())
    }

    fn build(texts: BTreeMap<String, String>) -> Result<Policy, PolicyError> {
        let mut rules = HashMap::with_capacity(texts.len());
        for (rule, text) in texts {
            let check = parse::parse(&text).map_err(|error| PolicyError::Rule { rule: rule.clone(), error })?;
            rules.insert(rule, Rule { text, check });
        }
        match find_cycle(&rules) {
            Some(rule) => Err(PolicyError::Cycle { rule: rule.to_owned() }),
            None => Ok(Policy { rules }),
        }
    }

    /// Evaluates a check; terminates because [`Policy::build`] rejects cyclic rules.
    fn check(&self, check: &Check, creds: &Credentials, target: &Map<String, Value>) -> bool {
        match check {
            Check::True => true,
            Check::False => false,
            Check::Rule(name) => self.rules.get(name).is_some_and(|rule| self.check(&rule.check, creds, target)),
            Check::Role(role) => {
                render(role, target).is_some_and(|role| creds.roles.iter().any(|held| held.eq_ignore_ascii_case(&role)))
            }
            Check::Generic { kind, value } => render(value, target).is_some_and(|value| match kind {
                Kind::Literal(literal) => *literal == value,
                Kind::Credential(key) => creds.matches(key, &value),
            }),
            Check::Field { field, value } => target.get(field).is_some_and(|actual| field_matches(value, actual)),
            Check::Not(inner) => !self.check(inner, creds, target),
            Check::And(checks) => checks.iter().all(|check| self.check(check, creds, target)),
            Check::Or(checks) => checks.iter().any(|check| self.check(check, creds, target)),
        }
    }
}

fn default_texts() -> BTreeMap<String, String> {
    defaults::DEFAULT_RULES.iter().map(|(name, text)| ((*name).to_owned(), (*text).to_owned())).collect()
}

/// The `(rule, check string)` pairs of a policy document.
fn decode(text: &str, format_hint: Option<&str>) -> Result<Vec<(String, String)>, PolicyError> {
    let json = format_hint.is_some_and(|hint| hint.trim_start_matches('.').eq_ignore_ascii_case("json"));
    let document: Value = if text.trim().is_empty() {
        Value::Null
    } else if json {
        serde_json::from_str(text)?
    } else {
        serde_yaml_ng::from_str(text)?
    };
    let entries = match document {
        Value::Null => return Ok(Vec::new()),
        Value::Object(entries) => entries,
        _ => return Err(PolicyError::NotAMapping),
    };
    entries
        .into_iter()
        .map(|(rule, value)| match value {
            Value::String(text) => Ok((rule, text)),
            _ => Err(PolicyError::NotAString { rule }),
        })
        .collect()
}

/// A rule that reaches itself through `rule:` checks, if any.
fn find_cycle(rules: &HashMap<String, Rule>) -> Option<&str> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        name: &'a str,
        rules: &'a HashMap<String, Rule>,
        marks: &mut HashMap<&'a str, Mark>,
    ) -> Option<&'a str> {
        match marks.get(name) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => return Some(name),
            None => {}
        }
        let rule = rules.get(name)?;
        marks.insert(name, Mark::Visiting);
        let mut referenced = Vec::new();
        references(&rule.check, &mut referenced);
        for next in referenced {
            if let Some(on_cycle) = visit(next, rules, marks) {
                return Some(on_cycle);
            }
        }
        marks.insert(name, Mark::Done);
        None
    }
    let mut marks = HashMap::new();
    let mut names: Vec<&str> = rules.keys().map(String::as_str).collect();
    names.sort_unstable();
    names.into_iter().find_map(|name| visit(name, rules, &mut marks))
}

/// The rule names a check refers to.
fn references<'a>(check: &'a Check, out: &mut Vec<&'a str>) {
    match check {
        Check::Rule(name) => out.push(name),
        Check::Not(inner) => references(inner, out),
        Check::And(checks) | Check::Or(checks) => checks.iter().for_each(|check| references(check, out)),
        _ => {}
    }
}

/// Python's `template % target`; `None` when an attribute is missing (the check is then false).
fn render(template: &Template, target: &Map<String, Value>) -> Option<String> {
    let mut rendered = String::new();
    for part in &template.0 {
        match part {
            Part::Text(text) => rendered.push_str(text),
            Part::Attr(name) => rendered.push_str(&python_str(target.get(name)?)),
        }
    }
    Some(rendered)
}

/// A target value as Python's `str()` renders it in oslo.policy.
fn python_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

/// Neutron's `FieldCheck`: booleans compare as booleans, other values as their text.
fn field_matches(expected: &FieldValue, actual: &Value) -> bool {
    match (expected, actual) {
        (FieldValue::Literal(text), Value::Bool(actual)) => {
            text.eq_ignore_ascii_case(if *actual { "true" } else { "false" })
        }
        (FieldValue::Literal(text), Value::String(actual)) => text == actual,
        (FieldValue::Literal(text), Value::Number(actual)) => *text == actual.to_string(),
        (FieldValue::Prefix(prefix), Value::String(actual)) => actual.starts_with(prefix.as_str()),
        (FieldValue::Exact(exact), Value::String(actual)) => exact == actual,
        _ => false,
    }
}

//! Request bodies: unknown and read-only attributes, and typed values with
//! Neutron's validation messages ("Invalid input for name. Reason: …").

use serde_json::{Map, Value};

use crate::error::{PluginError, PluginResult};

/// Whether a body creates or updates a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// POST.
    Create,
    /// PUT.
    Update,
}

/// One attribute of a resource: may it be given on create / on update.
#[derive(Debug, Clone, Copy)]
pub struct AttrRule {
    /// Attribute name.
    pub name: &'static str,
    /// Allowed in POST.
    pub post: bool,
    /// Allowed in PUT.
    pub put: bool,
}

/// Shorthand for the attribute tables.
pub const fn rule(name: &'static str, post: bool, put: bool) -> AttrRule {
    AttrRule { name, post, put }
}

/// A request body being taken apart attribute by attribute.
#[derive(Debug)]
pub struct Body {
    map: Map<String, Value>,
}

fn reason(attr: &str, why: impl std::fmt::Display) -> PluginError {
    PluginError::BadRequest(format!("Invalid input for {attr}. Reason: {why}."))
}

/// Python's rendering of a JSON value in Neutron's messages.
pub fn py(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

impl Body {
    /// Checks the attributes of a resource body against `rules` for `op`.
    pub fn new(value: Value, rules: &[AttrRule], op: Op) -> PluginResult<Body> {
        let Value::Object(map) = value else {
            return Err(PluginError::BadRequest(
                "Body contains invalid data: the resource must be a JSON object".into(),
            ));
        };
        let mut unknown: Vec<&str> =
            map.keys().filter(|k| !rules.iter().any(|r| r.name == k.as_str())).map(String::as_str).collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(PluginError::BadRequest(format!("Unrecognized attribute(s) '{}'", unknown.join(", "))));
        }
        for r in rules {
            if !map.contains_key(r.name) {
                continue;
            }
            match op {
                Op::Create if !r.post => {
                    return Err(PluginError::BadRequest(format!("Attribute '{}' not allowed in POST", r.name)))
                }
                Op::Update if !r.put => {
                    return Err(PluginError::BadRequest(format!("Cannot update read-only attribute {}", r.name)))
                }
                _ => {}
            }
        }
        Ok(Body { map })
    }

    /// Whether the attribute was given.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The raw value, left in place.
    pub fn peek(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// Removes and returns the raw value.
    pub fn raw(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    /// Fails with Neutron's "Required attribute … not specified".
    pub fn required<T>(key: &str, v: Option<T>) -> PluginResult<T> {
        v.ok_or_else(|| {
            PluginError::BadRequest(format!("Failed to parse request. Required attribute '{key}' not specified"))
        })
    }

    /// A string of at most `max_len` characters.
    pub fn string(&mut self, key: &str, max_len: usize) -> PluginResult<Option<String>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                if s.chars().count() > max_len {
                    Err(reason(key, format!("'{s}' exceeds maximum length of {max_len}")))
                } else {
                    Ok(Some(s))
                }
            }
            Some(v) => Err(reason(key, format!("'{}' is not a valid string", py(&v)))),
        }
    }

    /// A string or null.
    pub fn string_or_null(&mut self, key: &str, max_len: usize) -> PluginResult<Option<Option<String>>> {
        if matches!(self.map.get(key), Some(Value::Null)) {
            self.map.remove(key);
            return Ok(Some(None));
        }
        Ok(self.string(key, max_len)?.map(Some))
    }

    /// A boolean as Neutron converts it (true/false, "true"/"false", 0/1, "0"/"1").
    pub fn boolean(&mut self, key: &str) -> PluginResult<Option<bool>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(v) => to_bool(&v)
                .map(Some)
                .ok_or_else(|| PluginError::InvalidInput(format!("'{}' cannot be converted to boolean", py(&v)))),
        }
    }

    /// An integer within `[min, max]`.
    pub fn integer(&mut self, key: &str, min: i64, max: i64) -> PluginResult<Option<i64>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(v) => {
                let n = to_int(&v).ok_or_else(|| reason(key, format!("'{}' is not an integer", py(&v))))?;
                if n < min {
                    return Err(reason(key, format!("'{n}' is too small - must be at least '{min}'")));
                }
                if n > max {
                    return Err(reason(key, format!("'{n}' is too large - must be no larger than '{max}'")));
                }
                Ok(Some(n))
            }
        }
    }

    /// An integer or null.
    pub fn integer_or_null(&mut self, key: &str, min: i64, max: i64) -> PluginResult<Option<Option<i64>>> {
        if matches!(self.map.get(key), Some(Value::Null)) {
            self.map.remove(key);
            return Ok(Some(None));
        }
        Ok(self.integer(key, min, max)?.map(Some))
    }

    /// A UUID (canonical lower-case form returned).
    pub fn uuid(&mut self, key: &str) -> PluginResult<Option<String>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                parse_uuid(&s).map(Some).ok_or_else(|| reason(key, format!("'{s}' is not a valid UUID")))
            }
            Some(v) => Err(reason(key, format!("'{}' is not a valid UUID", py(&v)))),
        }
    }

    /// A list of strings, each at most `max_len`, no duplicates.
    pub fn string_list(&mut self, key: &str, max_len: usize) -> PluginResult<Option<Vec<String>>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                let mut out: Vec<String> = Vec::with_capacity(items.len());
                for item in items {
                    let Value::String(s) = item else {
                        return Err(reason(key, format!("'{}' is not a valid string", py(&item))));
                    };
                    if s.chars().count() > max_len {
                        return Err(reason(key, format!("'{s}' exceeds maximum length of {max_len}")));
                    }
                    if out.contains(&s) {
                        return Err(reason(key, format!("Duplicate items in the list: '{s}'")));
                    }
                    out.push(s);
                }
                Ok(Some(out))
            }
            Some(v) => Err(reason(key, format!("'{}' is not a list", py(&v)))),
        }
    }

    /// A list of JSON objects (validated further by the caller).
    pub fn object_list(&mut self, key: &str) -> PluginResult<Option<Vec<Map<String, Value>>>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(Vec::new())),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::Object(m) => out.push(m),
                        other => return Err(reason(key, format!("'{}' is not a dictionary", py(&other)))),
                    }
                }
                Ok(Some(out))
            }
            Some(v) => Err(reason(key, format!("'{}' is not a list", py(&v)))),
        }
    }

    /// A JSON object.
    pub fn object(&mut self, key: &str) -> PluginResult<Option<Map<String, Value>>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(Map::new())),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(reason(key, format!("'{}' is not a dictionary", py(&v)))),
        }
    }

    /// A value from a fixed set (null allowed when `nullable`).
    pub fn one_of(&mut self, key: &str, allowed: &[&str], nullable: bool) -> PluginResult<Option<Option<String>>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Null) if nullable => Ok(Some(None)),
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(Some(s))),
            Some(v) => Err(reason(
                key,
                format!(
                    "{} is not in [{}]",
                    py(&v),
                    allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }
}

/// Neutron's `convert_to_boolean`.
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => str_to_bool(s),
        _ => None,
    }
}

/// Neutron's boolean strings.
pub fn str_to_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn to_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A UUID in canonical hyphenated lower-case form, or None.
pub fn parse_uuid(s: &str) -> Option<String> {
    uuid::Uuid::parse_str(s).ok().map(|u| u.hyphenated().to_string())
}

/// A fresh random UUID.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// Neutron's `MAX_TAG_LEN`.
pub const MAX_TAG_LEN: usize = 255;

/// The tag rules: 1 to 255 characters, no commas or slashes.
pub fn validate_tag(tag: &str) -> PluginResult<()> {
    if tag.is_empty() {
        return Err(PluginError::BadRequest(
            "Invalid input for tags. Reason: '' Blank strings are not permitted.".into(),
        ));
    }
    if tag.chars().count() > MAX_TAG_LEN {
        return Err(PluginError::BadRequest(format!(
            "Invalid input for tags. Reason: '{tag}' exceeds maximum length of {MAX_TAG_LEN}."
        )));
    }
    if tag.contains(',') || tag.contains('/') {
        return Err(PluginError::BadRequest(format!("Invalid input for tags. Reason: '{tag}' contains ',' or '/'.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RULES: &[AttrRule] = &[rule("name", true, true), rule("id", false, false), rule("network_id", true, false)];

    fn msg(e: PluginError) -> String {
        e.to_string()
    }

    #[test]
    fn unknown_and_read_only_attributes_are_refused() {
        let e = Body::new(json!({"name": "a", "zz": 1, "aa": 2}), RULES, Op::Create).err();
        assert_eq!(e.map(msg).as_deref(), Some("Unrecognized attribute(s) 'aa, zz'"));
        let e = Body::new(json!({"id": "x"}), RULES, Op::Create).err();
        assert_eq!(e.map(msg).as_deref(), Some("Attribute 'id' not allowed in POST"));
        let e = Body::new(json!({"network_id": "x"}), RULES, Op::Update).err();
        assert_eq!(e.map(msg).as_deref(), Some("Cannot update read-only attribute network_id"));
        assert!(Body::new(json!([1]), RULES, Op::Create).is_err());
    }

    #[test]
    fn typed_values_carry_neutron_reasons() {
        let mut b = Body {
            map: json!({"name": 5, "up": "yes", "n": "x", "big": 99, "u": "nope"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        assert_eq!(
            b.string("name", 255).err().map(msg).as_deref(),
            Some("Invalid input for name. Reason: '5' is not a valid string.")
        );
        assert_eq!(
            b.boolean("up").err().map(msg).as_deref(),
            Some("Invalid input for operation: 'yes' cannot be converted to boolean.")
        );
        assert_eq!(
            b.integer("n", 0, 10).err().map(msg).as_deref(),
            Some("Invalid input for n. Reason: 'x' is not an integer.")
        );
        assert_eq!(
            b.integer("big", 0, 10).err().map(msg).as_deref(),
            Some("Invalid input for big. Reason: '99' is too large - must be no larger than '10'.")
        );
        assert_eq!(
            b.uuid("u").err().map(msg).as_deref(),
            Some("Invalid input for u. Reason: 'nope' is not a valid UUID.")
        );
    }

    #[test]
    fn booleans_convert_like_neutron() {
        assert_eq!(to_bool(&json!("True")), Some(true));
        assert_eq!(to_bool(&json!(0)), Some(false));
        assert_eq!(to_bool(&json!("1")), Some(true));
        assert_eq!(to_bool(&json!(2)), None);
        assert_eq!(to_bool(&json!(null)), None);
    }

    #[test]
    fn tags_are_limited() {
        assert!(validate_tag("ok-tag").is_ok());
        assert!(validate_tag(&"x".repeat(255)).is_ok());
        assert!(validate_tag(&"x".repeat(256)).is_err());
        assert!(validate_tag("a,b").is_err());
        assert!(validate_tag("").is_err());
    }
}

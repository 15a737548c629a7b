//! The oslo.policy rule language: check strings parsed into a [`Check`] tree.
//!
//! Grammar (as `oslo_policy._parser`): tokens are split on whitespace, with leading `(` and
//! trailing `)` peeled off each word; `and`, `or`, `not` are keywords in any case; the
//! precedence is `not` > `and` > `or`. The empty string is always true.

use thiserror::Error;

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// `@`, or the empty rule.
    True,
    /// `!`.
    False,
    /// `rule:NAME`: another rule of the policy (false when there is none).
    Rule(String),
    /// `role:NAME`: the caller has the role, compared case-insensitively.
    Role(Template),
    /// `KEY:VALUE`: the credential `KEY` (or a literal such as `True`) equals `VALUE`, rendered
    /// against the target (`project_id:%(project_id)s`, `is_admin:True`).
    Generic { kind: Kind, value: Template },
    /// `field:RESOURCE:FIELD=VALUE`: the target's `FIELD` has the value.
    Field { field: String, value: FieldValue },
    /// `not CHECK`.
    Not(Box<Check>),
    /// `CHECK and CHECK …`.
    And(Vec<Check>),
    /// `CHECK or CHECK …`.
    Or(Vec<Check>),
}

/// The left side of a generic check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A credential name (`project_id`, `user_id`, `is_admin`, `roles`).
    Credential(String),
    /// A Python literal (`True`, `'member'`, `42`), as its `str()`.
    Literal(String),
}

/// The right side of a check: text with `%(attr)s` substitutions from the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template(pub(crate) Vec<Part>);

/// A piece of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Literal text.
    Text(String),
    /// `%(attr)s`: the target attribute `attr` (which may contain a colon: `network:project_id`).
    Attr(String),
}

/// The expected value of a field check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldValue {
    /// Equal as a string, or as a boolean when the field is one (`True`/`False`).
    Literal(String),
    /// `~^text`: a string starting with the text (Python's `re.match`).
    Prefix(String),
    /// `~^text$`: exactly the string.
    Exact(String),
}

/// Why a check string does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SyntaxError {
    /// A token where none of its kind can stand.
    #[error("unexpected `{0}`")]
    Unexpected(String),
    /// The rule stops inside an expression.
    #[error("unexpected end of rule")]
    UnexpectedEnd,
    /// A `(` without its `)`.
    #[error("missing `)`")]
    MissingParen,
    /// A rule of only white space (oslo.policy would fail it closed).
    #[error("rule has no check")]
    Blank,
    /// A word that is not `@`, `!` nor `KIND:MATCH`.
    #[error("`{0}` is not a check (expected `@`, `!` or KIND:MATCH)")]
    NotACheck(String),
    /// A field check not of the form `field:RESOURCE:FIELD=VALUE`.
    #[error("`{0}` is not a field check (expected field:RESOURCE:FIELD=VALUE)")]
    BadField(String),
    /// A `~` field value beyond the supported regular expressions.
    #[error("regular expression `{0}` is not supported (only literal text with `^` and `$`)")]
    UnsupportedRegex(String),
    /// A `%` not starting `%(attr)s` or `%%`.
    #[error("`{0}`: substitutions are written %(attr)s")]
    BadSubstitution(String),
}

/// A [`SyntaxError`] and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("position {position}: {error}")]
pub struct ParseError {
    /// 1-based character position in the check string.
    pub position: usize,
    /// What is wrong there.
    pub error: SyntaxError,
}

/// Parses one check string.
pub(crate) fn parse(text: &str) -> Result<Check, ParseError> {
    if text.is_empty() {
        return Ok(Check::True);
    }
    let mut parser = Parser { text, tokens: tokenize(text), next: 0 };
    if parser.tokens.is_empty() {
        return Err(parser.error_at(0, SyntaxError::Blank));
    }
    let check = parser.or_expr()?;
    match parser.tokens.get(parser.next) {
        None => Ok(check),
        Some(token) => Err(parser.error_at(token.at, SyntaxError::Unexpected(token.kind.text().to_owned()))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind<'a> {
    Open,
    Close,
    And,
    Or,
    Not,
    Check(&'a str),
}

impl<'a> TokenKind<'a> {
    fn text(self) -> &'a str {
        match self {
            TokenKind::Open => "(",
            TokenKind::Close => ")",
            TokenKind::And => "and",
            TokenKind::Or => "or",
            TokenKind::Not => "not",
            TokenKind::Check(text) => text,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: TokenKind<'a>,
    /// Byte offset in the rule.
    at: usize,
}

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        let end = rest[start..].find(char::is_whitespace).map_or(rest.len(), |len| start + len);
        let at = text.len() - rest.len() + start;
        words_into_tokens(&rest[start..end], at, &mut tokens);
        rest = &rest[end..];
    }
    tokens
}

fn words_into_tokens<'a>(word: &'a str, at: usize, tokens: &mut Vec<Token<'a>>) {
    let inner = word.trim_start_matches('(');
    let opens = word.len() - inner.len();
    tokens.extend((0..opens).map(|i| Token { kind: TokenKind::Open, at: at + i }));
    let at = at + opens;
    let check = inner.trim_end_matches(')');
    let closes = inner.len() - check.len();
    if !check.is_empty() {
        let kind = match check.to_ascii_lowercase().as_str() {
            "and" => TokenKind::And,
            "or" => TokenKind::Or,
            "not" => TokenKind::Not,
            _ => TokenKind::Check(check),
        };
        tokens.push(Token { kind, at });
    }
    let at = at + check.len();
    tokens.extend((0..closes).map(|i| Token { kind: TokenKind::Close, at: at + i }));
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token<'a>>,
    next: usize,
}

impl<'a> Parser<'a> {
    fn error_at(&self, at: usize, error: SyntaxError) -> ParseError {
        let position = self.text.get(..at).map_or(at, |before| before.chars().count()) + 1;
        ParseError { position, error }
    }

    fn eat(&mut self, kind: TokenKind<'a>) -> bool {
        let found = self.tokens.get(self.next).is_some_and(|token| token.kind == kind);
        if found {
            self.next += 1;
        }
        found
    }

    fn or_expr(&mut self) -> Result<Check, ParseError> {
        let first = self.and_expr()?;
        if !self.eat(TokenKind::Or) {
            return Ok(first);
        }
        let mut checks = vec![first, self.and_expr()?];
        while self.eat(TokenKind::Or) {
            checks.push(self.and_expr()?);
        }
        Ok(Check::Or(checks))
    }

    fn and_expr(&mut self) -> Result<Check, ParseError> {
        let first = self.not_expr()?;
        if !self.eat(TokenKind::And) {
            return Ok(first);
        }
        let mut checks = vec![first, self.not_expr()?];
        while self.eat(TokenKind::And) {
            checks.push(self.not_expr()?);
        }
        Ok(Check::And(checks))
    }

    fn not_expr(&mut self) -> Result<Check, ParseError> {
        if self.eat(TokenKind::Not) {
            return Ok(Check::Not(Box::new(self.not_expr()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Check, ParseError> {
        let Some(token) = self.tokens.get(self.next).copied() else {
            return Err(self.error_at(self.text.len(), SyntaxError::UnexpectedEnd));
        };
        self.next += 1;
        match token.kind {
            TokenKind::Open => {
                let inner = self.or_expr()?;
                if self.eat(TokenKind::Close) {
                    Ok(inner)
                } else {
                    let at = self.tokens.get(self.next).map_or(self.text.len(), |next| next.at);
                    Err(self.error_at(at, SyntaxError::MissingParen))
                }
            }
            TokenKind::Check(text) => parse_check(text).map_err(|error| self.error_at(token.at, error)),
            other => Err(self.error_at(token.at, SyntaxError::Unexpected(other.text().to_owned()))),
        }
    }
}

/// One check word: `@`, `!`, `rule:…`, `role:…`, `field:…` or a generic `KEY:VALUE`.
fn parse_check(text: &str) -> Result<Check, SyntaxError> {
    match text {
        "@" => return Ok(Check::True),
        "!" => return Ok(Check::False),
        _ => {}
    }
    let Some((kind, value)) = text.split_once(':') else {
        return Err(SyntaxError::NotACheck(text.to_owned()));
    };
    Ok(match kind {
        "rule" => Check::Rule(value.to_owned()),
        "role" => Check::Role(template(value)?),
        "field" => field_check(value)?,
        _ => Check::Generic { kind: generic_kind(kind), value: template(value)? },
    })
}

/// `RESOURCE:FIELD=VALUE`, split as Neutron's `FieldCheck`: the resource up to the first colon,
/// then the field up to the first `=` (so `networks:router:external=True` is `router:external`).
fn field_check(spec: &str) -> Result<Check, SyntaxError> {
    let bad = || SyntaxError::BadField(format!("field:{spec}"));
    let (_resource, field_value) = spec.split_once(':').ok_or_else(bad)?;
    let (field, value) = field_value.split_once('=').ok_or_else(bad)?;
    if field.is_empty() {
        return Err(bad());
    }
    let value = match value.strip_prefix('~') {
        Some(pattern) => regex_subset(pattern)?,
        None => FieldValue::Literal(value.to_owned()),
    };
    Ok(Check::Field { field: field.to_owned(), value })
}

/// The regular expressions Neutron's defaults use (`~^network:`): literal text (metacharacters
/// escaped with `\`), matched from the start as `re.match` does, and to the end with `$`.
fn regex_subset(pattern: &str) -> Result<FieldValue, SyntaxError> {
    let unsupported = || SyntaxError::UnsupportedRegex(pattern.to_owned());
    let body = pattern.strip_prefix('^').unwrap_or(pattern);
    let (body, exact) = match body.strip_suffix('$') {
        Some(stripped) if !stripped.ends_with('\\') => (stripped, true),
        _ => (body, false),
    };
    let mut literal = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) if !escaped.is_alphanumeric() => literal.push(escaped),
                _ => return Err(unsupported()),
            },
            '.' | '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' => return Err(unsupported()),
            _ => literal.push(c),
        }
    }
    Ok(if exact { FieldValue::Exact(literal) } else { FieldValue::Prefix(literal) })
}

/// The left side of a generic check: a Python literal (oslo.policy tries `ast.literal_eval`
/// first) or a credential name.
fn generic_kind(kind: &str) -> Kind {
    let quoted = kind.len() >= 2
        && ((kind.starts_with('\'') && kind.ends_with('\'')) || (kind.starts_with('"') && kind.ends_with('"')));
    if quoted {
        Kind::Literal(kind[1..kind.len() - 1].to_owned())
    } else if matches!(kind, "True" | "False" | "None") {
        Kind::Literal(kind.to_owned())
    } else if let Ok(number) = kind.parse::<i64>() {
        Kind::Literal(number.to_string())
    } else {
        Kind::Credential(kind.to_owned())
    }
}

/// Python's `match % target` for the `%(attr)s` and `%%` forms.
fn template(text: &str) -> Result<Template, SyntaxError> {
    let bad = || SyntaxError::BadSubstitution(text.to_owned());
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(percent) = rest.find('%') {
        literal.push_str(&rest[..percent]);
        rest = &rest[percent + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            literal.push('%');
            rest = after;
            continue;
        }
        let name_and_rest = rest.strip_prefix('(').ok_or_else(bad)?;
        let (name, after) = name_and_rest.split_once(')').ok_or_else(bad)?;
        rest = after.strip_prefix('s').ok_or_else(bad)?;
        if !literal.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut literal)));
        }
        parts.push(Part::Attr(name.to_owned()));
    }
    literal.push_str(rest);
    if !literal.is_empty() || parts.is_empty() {
        parts.push(Part::Text(literal));
    }
    Ok(Template(parts))
}

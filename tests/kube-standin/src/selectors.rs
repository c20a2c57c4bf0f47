//! Label and field selectors (`?labelSelector=` / `?fieldSelector=`) evaluated over stored
//! objects held as `serde_json::Value`.
//!
//! Data flow: the query text is parsed once into a list of requirements ([`LabelSelector::parse`],
//! [`FieldSelector::parse`]); a syntax error is reported with the offending requirement, so the
//! caller can turn it into a 400 the way kube-apiserver does. Each list or watch then calls
//! `matches` per object; a selector matches when every requirement does (the comma is AND).
//!
//! Label selectors follow kube-apiserver's grammar: `key`, `!key`, `key=value`, `key==value`,
//! `key!=value`, `key in (a, b)`, `key notin (a, b)`, and the rarely used `key>3` / `key<3`
//! (integer comparison). Keys may carry a DNS prefix (`app.kubernetes.io/name`); keys and
//! values are validated with the Kubernetes label rules, so a selector kube-apiserver would
//! reject is rejected here too. As in Kubernetes, `!=` and `notin` also match objects that do
//! not have the label at all. Labels are read from `metadata.labels`.
//!
//! Field selectors are `path=value`, `path==value` and `path!=value`, comma separated, with
//! `\,`, `\=` and `\\` escapes in values. The path is dotted (`metadata.name`, `spec.nodeName`,
//! `involvedObject.uid`) and the object's value there is compared as a string: strings as they
//! are, numbers and booleans as their JSON text, a missing field or `null` as `""`.
//! Difference from kube-apiserver: it accepts only the few fields each resource supports (and
//! answers 400 for others); this stand-in accepts every path, which is a superset and fine for
//! tests. It also trims whitespace around paths and values, where kube-apiserver would not.

use serde_json::Value;

/// Why a selector could not be parsed. Each variant names the requirement at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectorError {
    /// A label selector requirement is malformed or names an invalid key or value.
    #[error("parsing label selector requirement {requirement:?}: {reason}")]
    Label {
        /// The requirement as written (between commas).
        requirement: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A field selector requirement is malformed.
    #[error("parsing field selector requirement {requirement:?}: {reason}")]
    Field {
        /// The requirement as written (between commas).
        requirement: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A parsed label selector. The default (and the parse of `""`) matches everything.
#[derive(Debug, Clone, Default)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

#[derive(Debug, Clone)]
struct LabelRequirement {
    key: String,
    op: LabelOp,
}

#[derive(Debug, Clone)]
enum LabelOp {
    Exists,
    DoesNotExist,
    /// `=`, `==` and `in` all mean "present and one of these values".
    In(Vec<String>),
    /// `!=` and `notin`: "absent, or none of these values".
    NotIn(Vec<String>),
    GreaterThan(i64),
    LessThan(i64),
}

impl LabelSelector {
    /// Parses label selector text as kube-apiserver does; `""` (or only whitespace) matches
    /// everything.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let requirements = split_label_requirements(text)
            .into_iter()
            .map(|raw| {
                parse_label_requirement(raw).map_err(|reason| SelectorError::Label {
                    requirement: raw.trim().to_owned(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { requirements })
    }

    /// Whether `object["metadata"]["labels"]` satisfies every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        // Label values are always strings in Kubernetes; anything else counts as absent
        // rather than being coerced, so a malformed object never matches by accident.
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.requirements.iter().all(|req| {
            let value = label(&req.key);
            match &req.op {
                LabelOp::Exists => value.is_some(),
                LabelOp::DoesNotExist => value.is_none(),
                LabelOp::In(values) => value.is_some_and(|v| values.iter().any(|w| w == v)),
                LabelOp::NotIn(values) => !value.is_some_and(|v| values.iter().any(|w| w == v)),
                LabelOp::GreaterThan(bound) => value
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|n| n > *bound),
                LabelOp::LessThan(bound) => value
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|n| n < *bound),
            }
        })
    }
}

/// Splits at commas outside parentheses: the commas inside `in (a, b)` separate values, not
/// requirements. Unbalanced parentheses are left for the requirement parser to report.
fn split_label_requirements(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0_i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth <= 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A key, a value, or the words `in` / `notin` (which are operators only in operator
    /// position, so `tier=in` stays a valid selector as in Kubernetes).
    Word(String),
    Bang,
    Equals,
    DoubleEquals,
    NotEquals,
    Open,
    Close,
    Comma,
    Greater,
    Less,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let token = match c {
            c if c.is_whitespace() => continue,
            '!' if chars.peek() == Some(&'=') => {
                chars.next();
                Token::NotEquals
            }
            '!' => Token::Bang,
            '=' if chars.peek() == Some(&'=') => {
                chars.next();
                Token::DoubleEquals
            }
            '=' => Token::Equals,
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            '>' => Token::Greater,
            '<' => Token::Less,
            first => {
                let mut word = String::from(first);
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || "!=(),<>".contains(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                Token::Word(word)
            }
        };
        tokens.push(token);
    }
    if tokens.is_empty() {
        return Err("empty requirement".to_owned());
    }
    Ok(tokens)
}

fn parse_label_requirement(raw: &str) -> Result<LabelRequirement, String> {
    let tokens = tokenize(raw)?;
    let (key, op) = match tokens.as_slice() {
        [Token::Bang, Token::Word(key)] => (key, LabelOp::DoesNotExist),
        [Token::Bang, ..] => return Err("expected a single key after `!`".to_owned()),
        [Token::Word(key)] => (key, LabelOp::Exists),
        [
            Token::Word(key),
            Token::Equals | Token::DoubleEquals,
            rest @ ..,
        ] => (key, LabelOp::In(vec![single_value(rest)?])),
        [Token::Word(key), Token::NotEquals, rest @ ..] => {
            (key, LabelOp::NotIn(vec![single_value(rest)?]))
        }
        [Token::Word(key), Token::Word(op), rest @ ..] if op == "in" => {
            (key, LabelOp::In(value_set(rest)?))
        }
        [Token::Word(key), Token::Word(op), rest @ ..] if op == "notin" => {
            (key, LabelOp::NotIn(value_set(rest)?))
        }
        [Token::Word(key), Token::Greater, rest @ ..] => {
            (key, LabelOp::GreaterThan(integer_value(rest)?))
        }
        [Token::Word(key), Token::Less, rest @ ..] => {
            (key, LabelOp::LessThan(integer_value(rest)?))
        }
        [Token::Word(_), ..] => {
            return Err(
                "expected an operator (=, ==, !=, in, notin, >, <) or nothing after the key"
                    .to_owned(),
            );
        }
        _ => return Err("expected a key or `!key`".to_owned()),
    };
    validate_label_key(key)?;
    Ok(LabelRequirement {
        key: key.clone(),
        op,
    })
}

/// The value after `=`, `==` or `!=`; nothing at all means the empty value, as in Kubernetes.
fn single_value(rest: &[Token]) -> Result<String, String> {
    let value = match rest {
        [] => String::new(),
        [Token::Word(value)] => value.clone(),
        _ => return Err("expected a single value after the operator".to_owned()),
    };
    validate_label_value(&value)?;
    Ok(value)
}

/// `(a, b, c)`; empty members (`(a,)`, `()`) are the empty value, as Kubernetes parses them.
fn value_set(rest: &[Token]) -> Result<Vec<String>, String> {
    let [Token::Open, inner @ .., Token::Close] = rest else {
        return Err("expected a parenthesised value list after in/notin".to_owned());
    };
    let mut values = Vec::new();
    let mut current: Option<String> = None;
    for token in inner {
        match token {
            Token::Word(word) if current.is_none() => current = Some(word.clone()),
            Token::Comma => values.push(current.take().unwrap_or_default()),
            _ => return Err("expected comma-separated values inside the parentheses".to_owned()),
        }
    }
    values.push(current.unwrap_or_default());
    for value in &values {
        validate_label_value(value)?;
    }
    Ok(values)
}

fn integer_value(rest: &[Token]) -> Result<i64, String> {
    match rest {
        [Token::Word(value)] => value
            .parse()
            .map_err(|_| format!("{value:?} is not an integer, which > and < require")),
        _ => Err("expected a single integer after > or <".to_owned()),
    }
}

/// A qualified name: optional DNS-subdomain prefix and `/`, then a name of at most 63
/// characters.
fn validate_label_key(key: &str) -> Result<(), String> {
    let name = match key.split_once('/') {
        Some((prefix, name)) => {
            if !is_dns_subdomain(prefix) {
                return Err(format!(
                    "key prefix {prefix:?} is not a DNS subdomain \
                     (lowercase alphanumerics, '-' and '.', at most 253 characters)"
                ));
            }
            name
        }
        None => key,
    };
    if name.is_empty() || !is_label_name(name) {
        return Err(format!("key name {name:?} is invalid ({LABEL_NAME_RULE})"));
    }
    Ok(())
}

fn validate_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_label_name(value) {
        Ok(())
    } else {
        Err(format!("value {value:?} is invalid ({LABEL_NAME_RULE})"))
    }
}

const LABEL_NAME_RULE: &str =
    "at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";

/// The shape shared by label names and non-empty label values.
fn is_label_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            bytes.len() <= 63
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text.split('.').all(|part| {
            let bytes = part.as_bytes();
            match (bytes.first(), bytes.last()) {
                (Some(first), Some(last)) => {
                    bytes.len() <= 63
                        && (first.is_ascii_lowercase() || first.is_ascii_digit())
                        && (last.is_ascii_lowercase() || last.is_ascii_digit())
                        && bytes
                            .iter()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                }
                _ => false,
            }
        })
}

/// A parsed field selector. The default (and the parse of `""`) matches everything.
#[derive(Debug, Clone, Default)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

#[derive(Debug, Clone)]
struct FieldRequirement {
    path: Vec<String>,
    value: String,
    equal: bool,
}

impl FieldSelector {
    /// Parses field selector text; `""` matches everything. Any dotted path is accepted.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for raw in split_unescaped_commas(text) {
            // Kubernetes skips empty terms (`a=b,,c=d`), so an empty selector matches all.
            if raw.trim().is_empty() {
                continue;
            }
            let requirement =
                parse_field_requirement(raw).map_err(|reason| SelectorError::Field {
                    requirement: raw.trim().to_owned(),
                    reason,
                })?;
            requirements.push(requirement);
        }
        Ok(Self { requirements })
    }

    /// Whether the object's value at every requirement's path compares as required.
    pub fn matches(&self, object: &Value) -> bool {
        self.requirements
            .iter()
            .all(|req| (field_text(object, &req.path) == req.value) == req.equal)
    }
}

/// Splits at commas not preceded by a backslash escape; the escapes stay for the value
/// unescaper, which also rejects unknown ones.
fn split_unescaped_commas(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_field_requirement(raw: &str) -> Result<FieldRequirement, String> {
    // The first unescaped operator splits the term; `!=` and `==` are checked before `=` so
    // that `a!=b` is not read as the path `a!`.
    let mut split = None;
    let mut escaped = false;
    for (i, c) in raw.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        let rest = &raw[i..];
        if c == '\\' {
            escaped = true;
        } else if rest.starts_with("!=") {
            split = Some((i, 2, false));
        } else if rest.starts_with("==") {
            split = Some((i, 2, true));
        } else if c == '=' {
            split = Some((i, 1, true));
        }
        if split.is_some() {
            break;
        }
    }
    let Some((at, len, equal)) = split else {
        return Err("expected path=value, path==value or path!=value".to_owned());
    };
    let path_text = raw[..at].trim();
    let path: Vec<String> = path_text.split('.').map(str::to_owned).collect();
    if path.iter().any(String::is_empty) {
        return Err(format!(
            "path {path_text:?} is not a dotted field path like metadata.name"
        ));
    }
    let value = unescape_field_value(raw[at + len..].trim())?;
    Ok(FieldRequirement { path, value, equal })
}

fn unescape_field_value(text: &str) -> Result<String, String> {
    let mut value = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            value.push(c);
            continue;
        }
        match chars.next() {
            Some(escaped @ ('\\' | ',' | '=')) => value.push(escaped),
            Some(other) => {
                return Err(format!(
                    "invalid escape \\{other} in the value (only \\\\, \\, and \\= exist)"
                ));
            }
            None => return Err("the value ends with a lone backslash".to_owned()),
        }
    }
    Ok(value)
}

/// The object's value at `path` as the string a field selector compares.
fn field_text(object: &Value, path: &[String]) -> String {
    let mut current = object;
    for segment in path {
        match current.get(segment.as_str()) {
            Some(next) => current = next,
            None => return String::new(),
        }
    }
    match current {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(labels: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "ns", "labels": labels}})
    }

    fn label_matches(selector: &str, labels: Value) -> bool {
        LabelSelector::parse(selector)
            .unwrap_or_else(|e| panic!("{selector:?} should parse: {e}"))
            .matches(&pod(labels))
    }

    #[test]
    fn empty_label_selector_matches_everything() {
        assert!(label_matches("", json!({})));
        assert!(label_matches("   ", json!({"a": "b"})));
        let no_metadata = json!({"kind": "Pod"});
        assert!(LabelSelector::parse("").unwrap().matches(&no_metadata));
    }

    #[test]
    fn equality_forms() {
        let labels = json!({"app": "web", "tier": "front"});
        assert!(label_matches("app=web", labels.clone()));
        assert!(label_matches("app==web", labels.clone()));
        assert!(label_matches(" app = web , tier==front ", labels.clone()));
        assert!(!label_matches("app=db", labels.clone()));
        assert!(!label_matches("app=web,tier=back", labels.clone()));
        assert!(!label_matches("missing=web", labels));
    }

    #[test]
    fn not_equal_and_notin_match_objects_without_the_label() {
        assert!(label_matches("app!=web", json!({"app": "db"})));
        assert!(!label_matches("app!=web", json!({"app": "web"})));
        assert!(label_matches("app!=web", json!({})));
        assert!(label_matches("app notin (web,db)", json!({})));
        assert!(label_matches("app notin (web,db)", json!({"app": "cache"})));
        assert!(!label_matches("app notin (web, db)", json!({"app": "db"})));
    }

    #[test]
    fn set_based_and_existence() {
        let labels = json!({"app.kubernetes.io/name": "web", "env": "prod"});
        assert!(label_matches("env in (prod, staging)", labels.clone()));
        assert!(label_matches("env in(prod)", labels.clone()));
        assert!(!label_matches("env in (dev,staging)", labels.clone()));
        assert!(label_matches("app.kubernetes.io/name", labels.clone()));
        assert!(!label_matches("!app.kubernetes.io/name", labels.clone()));
        assert!(label_matches("!team", labels.clone()));
        assert!(!label_matches("team", labels.clone()));
        assert!(label_matches(
            "app.kubernetes.io/name=web, env in (prod), !team",
            labels
        ));
    }

    #[test]
    fn empty_value_and_keyword_values() {
        assert!(label_matches("a=", json!({"a": ""})));
        assert!(!label_matches("a=", json!({"a": "x"})));
        assert!(label_matches("a in (x,)", json!({"a": ""})));
        // `in` is an operator only after a key.
        assert!(label_matches("mode=in", json!({"mode": "in"})));
    }

    #[test]
    fn integer_comparisons() {
        assert!(label_matches("replicas>2", json!({"replicas": "3"})));
        assert!(!label_matches("replicas>3", json!({"replicas": "3"})));
        assert!(label_matches("replicas<3", json!({"replicas": "2"})));
        assert!(!label_matches("replicas>1", json!({"replicas": "many"})));
        assert!(!label_matches("replicas>1", json!({})));
    }

    #[test]
    fn non_string_label_values_count_as_absent() {
        assert!(!label_matches("a", json!({"a": 1})));
        assert!(label_matches("!a", json!({"a": null})));
    }

    #[test]
    fn invalid_label_selectors_name_the_requirement() {
        for (text, bad) in [
            ("app=web,", ""),
            ("app=web,,tier=x", ""),
            ("app in (a,b", "app in (a,b"),
            ("app in a", "app in a"),
            ("app = = web", "app = = web"),
            ("app=web extra", "app=web extra"),
            ("!app=web", "!app=web"),
            ("Bad_Prefix/app=x", "Bad_Prefix/app=x"),
            ("-app=x", "-app=x"),
            ("app=-x", "app=-x"),
            ("a/b/c=x", "a/b/c=x"),
            ("app>x", "app>x"),
            ("=web", "=web"),
            ("app notin ((a))", "app notin ((a))"),
        ] {
            match LabelSelector::parse(text) {
                Err(SelectorError::Label {
                    requirement,
                    reason,
                }) => {
                    assert_eq!(requirement, bad, "for {text:?}");
                    assert!(!reason.is_empty());
                }
                other => panic!("{text:?} should fail, got {other:?}"),
            }
        }
        let long = format!("app={}", "x".repeat(64));
        assert!(LabelSelector::parse(&long).is_err());
        let message = LabelSelector::parse("app in a").unwrap_err().to_string();
        assert!(message.contains("\"app in a\""), "{message}");
    }

    #[test]
    fn field_selector_compares_strings_at_dotted_paths() {
        let event = json!({
            "metadata": {"name": "e1", "namespace": "default"},
            "type": "Warning",
            "involvedObject": {"uid": "u-1", "kind": "Pod"},
            "spec": {"replicas": 3, "paused": false, "nothing": null},
        });
        let matches = |text: &str| FieldSelector::parse(text).unwrap().matches(&event);
        assert!(matches(""));
        assert!(matches("metadata.name=e1"));
        assert!(matches("metadata.name==e1,metadata.namespace=default"));
        assert!(!matches("metadata.name=e2"));
        assert!(matches("metadata.name!=e2"));
        assert!(matches("type=Warning, involvedObject.uid = u-1"));
        assert!(matches("spec.replicas=3"));
        assert!(matches("spec.paused=false"));
        assert!(matches("spec.nodeName="));
        assert!(matches("spec.nothing="));
        assert!(!matches("spec.nodeName!="));
        assert!(matches("spec.nodeName!=node-1"));
        assert!(!matches("metadata.name.deeper=e1"));
    }

    #[test]
    fn field_selector_escapes() {
        let object = json!({"metadata": {"name": "a,b=c\\d"}});
        let selector = FieldSelector::parse(r"metadata.name=a\,b\=c\\d").unwrap();
        assert!(selector.matches(&object));
        // An escaped comma does not split the selector into two requirements.
        let not = FieldSelector::parse(r"metadata.name!=a\,b").unwrap();
        assert!(not.matches(&object));
    }

    #[test]
    fn invalid_field_selectors() {
        for (text, bad) in [
            ("metadata.name", "metadata.name"),
            ("metadata.name=x,type", "type"),
            (".name=x", ".name=x"),
            ("metadata..name=x", "metadata..name=x"),
            ("=x", "=x"),
            (r"metadata.name=a\b", r"metadata.name=a\b"),
            (r"metadata.name=a\", r"metadata.name=a\"),
        ] {
            match FieldSelector::parse(text) {
                Err(SelectorError::Field { requirement, .. }) => {
                    assert_eq!(requirement, bad, "for {text:?}");
                }
                other => panic!("{text:?} should fail, got {other:?}"),
            }
        }
    }
}

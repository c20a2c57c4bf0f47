//! ESO's `remoteRef.property` on a secret's JSON: first a literal top-level key, then a dotted
//! path into nested objects and arrays (the subset of gjson people use: `a.b.c`, `list.0`,
//! `\.` for a dot inside a key). The selected value becomes Secret bytes: a string as its raw
//! UTF-8, anything else as JSON.
//!
//! gjson's wildcards (`*`, `?`), queries and modifiers (`#`, `@`, `|`) are refused with
//! [`SelectError::Unsupported`] rather than treated as plain key names, so a property that
//! works under ESO never silently selects something else here.

use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// A property that does not select anything.
/// Exhaustive on purpose: store crates restate it in their own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// Neither a top-level key nor a path into the secret.
    #[error("property {property:?} not found in {path}")]
    Missing {
        /// The property asked for.
        property: String,
        /// The secret, as the store names it (`vault secret secret/data/app`).
        path: String,
    },
    /// The property uses gjson syntax beyond plain keys, dots and array indexes.
    #[error(
        "property {property:?} of {path} uses gjson syntax that is not supported \
         ({what}); use a top-level key or a dotted path such as a.b.0"
    )]
    Unsupported {
        /// The property asked for.
        property: String,
        /// The secret, as the store names it (`vault secret secret/data/app`).
        path: String,
        /// The construct found.
        what: &'static str,
    },
    /// The value is stored as text or bytes that are not a JSON object: it has no keys.
    #[error("{path} is not a JSON object, so it has no properties or keys to take")]
    NotAnObject {
        /// The secret, as the store names it.
        path: String,
    },
}

/// The value `property` selects in `data` (see the module doc), or why there is none.
pub(super) fn select<'a>(
    data: &'a Map<String, Value>,
    property: &str,
    path: &str,
) -> Result<&'a Value, SelectError> {
    if let Some(value) = data.get(property) {
        return Ok(value);
    }
    let segments = parse(property).map_err(|what| SelectError::Unsupported {
        property: property.to_owned(),
        path: path.to_owned(),
        what,
    })?;
    let mut segments = segments.iter();
    let mut current = match segments.next() {
        Some(first) => data.get(first.as_str()),
        None => None,
    };
    for segment in segments {
        current = current.and_then(|value| step(value, segment));
    }
    current.ok_or_else(|| SelectError::Missing {
        property: property.to_owned(),
        path: path.to_owned(),
    })
}

/// One step down: an object member, or an array element when the segment is an index.
fn step<'a>(value: &'a Value, segment: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment
            .parse::<usize>()
            .ok()
            .and_then(|index| items.get(index)),
        _ => None,
    }
}

/// Split a dotted path on unescaped dots; `\x` stands for `x`. Refuses gjson's other syntax.
fn parse(property: &str) -> Result<Vec<String>, &'static str> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = property.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            '.' => segments.push(std::mem::take(&mut current)),
            '*' | '?' => return Err("wildcard"),
            '#' => return Err("array query"),
            '@' => return Err("modifier"),
            '|' => return Err("pipe"),
            _ => current.push(c),
        }
    }
    segments.push(current);
    if segments.iter().any(String::is_empty) {
        return Err("empty path segment");
    }
    Ok(segments)
}

/// Secret bytes for a value: strings raw, everything else as JSON.
pub(super) fn encode(value: &Value) -> Zeroizing<Vec<u8>> {
    match value {
        Value::String(text) => Zeroizing::new(text.as_bytes().to_vec()),
        other => super::to_json_zeroized(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn pick(value: &Value, property: &str) -> Result<Vec<u8>, SelectError> {
        let map = data(value.clone());
        select(&map, property, "secret/data/app").map(|v| encode(v).to_vec())
    }

    #[test]
    fn literal_keys_win_over_paths() {
        let secret = json!({"tls.crt": "literal", "tls": {"crt": "nested"}});
        assert_eq!(pick(&secret, "tls.crt").unwrap(), b"literal");
        let secret = json!({"tls": {"crt": "nested"}});
        assert_eq!(pick(&secret, "tls.crt").unwrap(), b"nested");
    }

    #[test]
    fn paths_walk_objects_and_arrays() {
        let secret = json!({"a": {"b": {"c": "deep"}}, "list": ["x", {"y": 2}], "o": {"0": "k"}});
        assert_eq!(pick(&secret, "a.b.c").unwrap(), b"deep");
        assert_eq!(pick(&secret, "list.0").unwrap(), b"x");
        assert_eq!(pick(&secret, "list.1.y").unwrap(), b"2");
        assert_eq!(pick(&secret, "o.0").unwrap(), b"k");
        let escaped = json!({"a": {"b.c": "dotted"}});
        assert_eq!(pick(&escaped, r"a.b\.c").unwrap(), b"dotted");
    }

    #[test]
    fn non_strings_are_json() {
        let secret = json!({"n": 42, "t": true, "z": null, "o": {"k": "v"}, "l": [1, "a"]});
        assert_eq!(pick(&secret, "n").unwrap(), b"42");
        assert_eq!(pick(&secret, "t").unwrap(), b"true");
        assert_eq!(pick(&secret, "z").unwrap(), b"null");
        assert_eq!(pick(&secret, "o").unwrap(), br#"{"k":"v"}"#);
        assert_eq!(pick(&secret, "l").unwrap(), br#"[1,"a"]"#);
    }

    #[test]
    fn missing_names_property_and_path_but_no_value() {
        let secret = json!({"password": "hunter2", "a": {"b": "c"}});
        for property in ["user", "a.x", "a.b.c", "password.0", "list.9"] {
            let err = pick(&secret, property).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, SelectError::Missing { .. }),
                "{property}: {err:?}"
            );
            assert!(
                text.contains(property) && text.contains("secret/data/app"),
                "{text}"
            );
            assert!(!text.contains("hunter2"), "{text}");
        }
    }

    #[test]
    fn gjson_extras_are_refused() {
        let secret = json!({"a": [{"b": 1}]});
        for (property, what) in [
            ("a.*", "wildcard"),
            ("a.#", "array query"),
            ("a|@reverse", "pipe"),
            ("@this", "modifier"),
            ("a..b", "empty path segment"),
        ] {
            match pick(&secret, property) {
                Err(SelectError::Unsupported { what: found, .. }) => {
                    assert_eq!(found, what, "{property}")
                }
                other => panic!("{property}: {other:?}"),
            }
        }
    }
}

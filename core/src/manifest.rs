//! Kubernetes manifests as people hand them to us: a YAML stream (`---`-separated documents)
//! or a JSON stream (concatenated objects), read the way kubectl reads them.
//!
//! Data flow: a leading UTF-8 byte-order mark is dropped → unquoted scalars that kubectl
//! (YAML 1.1) and we (YAML 1.2) would read differently are refused (`manifest_plain`) → each YAML document is read into a
//! `serde_yaml_ng::Value` (which refuses duplicate mapping keys, as kubectl does) → merge keys
//! (`<<: *base`) are applied, local tags dropped (`!!binary`, which kubectl decodes and our
//! parser cannot see, is refused) → the caller's type is deserialized from the tree →
//! the tree's strings are wiped, since they may be plaintext. The parser's own scratch
//! buffers are outside our reach. Error text is redacted: serde quotes offending scalars, and
//! those may be secret values.

use serde::Deserialize as _;
use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

/// Why a manifest stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// A document is not valid YAML, or does not have the expected shape.
    #[error("document {document}: invalid YAML: {message}")]
    Yaml {
        /// 1-based index in the stream.
        document: usize,
        /// The parser's message, with quoted values redacted.
        message: String,
    },
    /// A YAML feature we cannot read the way kubectl does.
    #[error("{0}")]
    Unsupported(&'static str),
    /// An unquoted scalar kubectl would read otherwise than we do.
    #[error(transparent)]
    Ambiguous(#[from] crate::manifest_plain::Ambiguous),
    /// A document is not valid JSON, or does not have the expected shape.
    #[error("document {document}: invalid JSON: {message}")]
    Json {
        /// 1-based index in the stream.
        document: usize,
        /// The parser's message, with quoted values redacted.
        message: String,
    },
}

/// Parse every non-empty document of a YAML or JSON stream.
pub fn parse_documents<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, ManifestError> {
    let mut docs = Vec::new();
    for (index, value) in parse_values(text)?.iter_mut().enumerate() {
        let parsed = T::deserialize(&*value);
        crate::yaml::wipe(value);
        docs.push(parsed.map_err(|err| ManifestError::Yaml {
            document: index + 1,
            message: redact(&err.to_string()),
        })?);
    }
    Ok(docs)
}

/// Every non-empty document of a YAML or JSON stream as a tree, merge keys applied. The caller wipes the trees' strings ([`crate::yaml::wipe`]) when done.
pub fn parse_values(text: &str) -> Result<Vec<Value>, ManifestError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut docs = Vec::new();
    if text.trim_start().starts_with('{') {
        for (index, doc) in serde_json::Deserializer::from_str(text)
            .into_iter::<serde_json::Value>()
            .enumerate()
        {
            let json_error = |err: &dyn std::fmt::Display| ManifestError::Json {
                document: index + 1,
                message: redact(&err.to_string()),
            };
            let doc = doc.map_err(|err| json_error(&err))?;
            docs.push(serde_yaml_ng::to_value(doc).map_err(|err| json_error(&err))?);
        }
        return Ok(docs);
    }
    // The YAML parser drops the `!!binary` tag and hands on the base64 text, where go-yaml
    // (kubectl) decodes it: refuse rather than seal something else than kubectl would apply.
    if text.contains("!!binary") || text.contains("tag:yaml.org,2002:binary") {
        return Err(ManifestError::Unsupported(
            "!!binary values are not supported: give the value base64-encoded under data",
        ));
    }
    // kubectl reads plain scalars by YAML 1.1's rules, we by 1.2's: refuse what they disagree on.
    if let Some(ambiguous) = crate::manifest_plain::find_ambiguous(text) {
        return Err(ambiguous.into());
    }
    for (index, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let yaml_error = |err: &dyn std::fmt::Display| ManifestError::Yaml {
            document: index + 1,
            message: redact(&err.to_string()),
        };
        let mut value = Value::deserialize(doc).map_err(|err| yaml_error(&err))?;
        if value.is_null() {
            continue; // an empty document (`---` with nothing after it)
        }
        value.apply_merge().map_err(|err| yaml_error(&err))?;
        resolve_tags(&mut value);
        docs.push(value);
    }
    Ok(docs)
}

/// Local tags (`!foo`) are dropped and their values kept, as kubectl's YAML-to-JSON step does.
fn resolve_tags(value: &mut Value) {
    match value {
        Value::Tagged(tagged) => {
            let mut inner = std::mem::take(&mut tagged.value);
            resolve_tags(&mut inner);
            *value = inner;
        }
        Value::Sequence(items) => items.iter_mut().for_each(resolve_tags),
        Value::Mapping(map) => map.values_mut().for_each(resolve_tags),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// Replace the quoted scalars serde puts in type errors (`invalid type: string "hunter2"`)
/// with a placeholder; field names (quoted with backticks) stay, they help and are not secret.
pub fn redact(message: &str) -> String {
    // A duplicate key names a key, never a value: keep it, it is what the person must fix.
    if message.contains("duplicate entry with key") {
        return message.to_owned();
    }
    redact_all(message)
}

/// Replace every double-quoted part of `message`, duplicate keys included: for inputs whose
/// mapping keys may themselves be secret (a key pasted where a name belongs).
pub fn redact_all(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c == '"' {
            // Skip to the closing quote, honouring backslash escapes.
            let mut escaped = false;
            for inner in chars.by_ref() {
                match (escaped, inner) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    _ => escaped = false,
                }
            }
            out.push_str("\"<redacted>\"");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Doc {
        kind: String,
        #[serde(default)]
        value: Option<u32>,
    }

    #[test]
    fn yaml_stream_skips_empty_documents() {
        let docs: Vec<Doc> =
            parse_documents("---\nkind: A\n---\n---\nkind: B\nvalue: 2\n").unwrap();
        assert_eq!(
            docs,
            [
                Doc {
                    kind: "A".into(),
                    value: None
                },
                Doc {
                    kind: "B".into(),
                    value: Some(2)
                }
            ]
        );
    }

    #[test]
    fn json_stream_of_objects() {
        let docs: Vec<Doc> = parse_documents("{\"kind\":\"A\"}\n{\"kind\":\"B\"}").unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn errors_name_the_document_and_hide_values() {
        let err =
            parse_documents::<Doc>("kind: A\n---\nkind: B\nvalue: \"hunter2\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("document 2: invalid YAML"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let err = parse_documents::<Doc>("{\"kind\":\"A\",\"value\":\"hunter2\"}").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in ".{0,400}") {
            let _ = parse_documents::<Doc>(&text);
        }

        #[test]
        fn redaction_removes_every_quoted_value(secret in "[a-zA-Z0-9]{8,20}") {
            let message = format!("invalid type: string \"{secret}\", expected u32");
            prop_assert!(!redact(&message).contains(&secret));
        }
    }
}

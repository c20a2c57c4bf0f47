//! Kubernetes manifests as people hand them to us: a YAML stream (`---`-separated documents)
//! or a JSON stream (concatenated objects), deserialized one document at a time straight into
//! the caller's type, so plaintext lands in the caller's zeroizing fields and not in an
//! intermediate `Value`. Error text is redacted: serde quotes offending scalars, and those may
//! be secret values.

use serde::Deserialize as _;
use serde::de::DeserializeOwned;

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
    if text.trim_start().starts_with('{') {
        let mut docs = Vec::new();
        for (index, doc) in serde_json::Deserializer::from_str(text)
            .into_iter::<T>()
            .enumerate()
        {
            docs.push(doc.map_err(|err| ManifestError::Json {
                document: index + 1,
                message: redact(&err.to_string()),
            })?);
        }
        return Ok(docs);
    }
    let mut docs = Vec::new();
    for (index, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        // `Option` turns empty documents (`---` with nothing after it) into `None`.
        let parsed = Option::<T>::deserialize(doc).map_err(|err| ManifestError::Yaml {
            document: index + 1,
            message: redact(&err.to_string()),
        })?;
        docs.extend(parsed);
    }
    Ok(docs)
}

/// Replace the quoted scalars serde puts in type errors (`invalid type: string "hunter2"`)
/// with a placeholder; field names (quoted with backticks) stay, they help and are not secret.
pub fn redact(message: &str) -> String {
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

//! Plain Kubernetes Secrets: reading them from manifests (with `data` and `stringData`),
//! validating names and keys as the API server would, and writing them back out.
//!
//! Values live in `Zeroizing` buffers from the moment serde hands them over until they are
//! dropped; the parser's own scratch buffers are outside our reach.

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::manifest::{self, ManifestError};

/// Largest Secret the API server stores (etcd's 1 MiB object limit, as kube-apiserver checks).
pub const MAX_SECRET_BYTES: usize = 1024 * 1024;

/// Plaintext bytes of one Secret value.
pub type Value = Zeroizing<Vec<u8>>;

/// A Secret with decoded values.
#[derive(Debug, Clone, Default)]
pub struct PlainSecret {
    /// Metadata as given.
    pub metadata: ObjectMeta,
    /// `type`, if set.
    pub type_: Option<String>,
    /// `immutable`, if set.
    pub immutable: Option<bool>,
    /// Decoded values; `stringData` already folded in.
    pub data: BTreeMap<String, Value>,
}

impl PlainSecret {
    /// The name, for messages.
    pub fn display_name(&self) -> String {
        match (&self.metadata.namespace, &self.metadata.name) {
            (Some(ns), Some(name)) => format!("{ns}/{name}"),
            (None, Some(name)) => name.clone(),
            _ => "<unnamed>".to_owned(),
        }
    }

    /// Total bytes of the values.
    pub fn data_len(&self) -> usize {
        self.data.values().map(|v| v.len()).sum()
    }
}

/// Why a Secret manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Not parseable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The stream holds no document.
    #[error("no Secret found in the input")]
    Empty,
    /// A document is not a v1 Secret.
    #[error("document {document}: expected kind Secret (apiVersion v1), found {found}")]
    WrongKind {
        /// 1-based index.
        document: usize,
        /// What it was.
        found: String,
    },
    /// A `data` value is not base64.
    #[error("secret {secret}: data[{key:?}] is not valid base64")]
    BadBase64 {
        /// Which Secret.
        secret: String,
        /// Which key.
        key: String,
    },
    /// A name, namespace or key breaks the API server's rules.
    #[error("{what} {value:?} is invalid: {rule}")]
    InvalidName {
        /// `secret name`, `namespace` or `data key`.
        what: &'static str,
        /// The offending name (names are not secret).
        value: String,
        /// The rule broken.
        rule: &'static str,
    },
    /// Over the API server's size limit.
    #[error("secret {secret}: {bytes} bytes of data is over the 1 MiB Secret limit")]
    TooLarge {
        /// Which Secret.
        secret: String,
        /// Its size.
        bytes: usize,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretDoc {
    api_version: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(rename = "type")]
    type_: Option<String>,
    immutable: Option<bool>,
    #[serde(default)]
    data: Option<BTreeMap<String, Zeroizing<String>>>,
    #[serde(default)]
    string_data: Option<BTreeMap<String, Zeroizing<String>>>,
    #[serde(default)]
    items: Vec<SecretDoc>,
}

/// Every Secret in a YAML or JSON stream; `v1 List`s are flattened.
pub fn parse_secrets(text: &str) -> Result<Vec<PlainSecret>, SecretError> {
    let docs: Vec<SecretDoc> = manifest::parse_documents(text)?;
    let mut out = Vec::new();
    for (index, doc) in docs.into_iter().enumerate() {
        flatten(index + 1, doc, &mut out)?;
    }
    if out.is_empty() {
        return Err(SecretError::Empty);
    }
    Ok(out)
}

fn flatten(document: usize, doc: SecretDoc, out: &mut Vec<PlainSecret>) -> Result<(), SecretError> {
    let kind = doc.kind.as_deref().unwrap_or("<none>");
    if kind == "List" || kind == "SecretList" {
        for item in doc.items {
            flatten(document, item, out)?;
        }
        return Ok(());
    }
    let api_ok = matches!(doc.api_version.as_deref(), None | Some("v1"));
    if kind != "Secret" || !api_ok {
        let found = format!(
            "{} {kind}",
            doc.api_version.as_deref().unwrap_or("<no apiVersion>")
        );
        return Err(SecretError::WrongKind { document, found });
    }
    let mut secret = PlainSecret {
        metadata: doc.metadata,
        type_: doc.type_,
        immutable: doc.immutable,
        data: BTreeMap::new(),
    };
    for (key, encoded) in doc.data.unwrap_or_default() {
        let compact: Zeroizing<String> =
            Zeroizing::new(encoded.chars().filter(|c| !c.is_whitespace()).collect());
        let value = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| SecretError::BadBase64 {
                secret: secret.display_name(),
                key: key.clone(),
            })?;
        secret.data.insert(key, Zeroizing::new(value));
    }
    // stringData wins over data for the same key, as on the API server.
    for (key, text) in doc.string_data.unwrap_or_default() {
        secret
            .data
            .insert(key, Zeroizing::new(text.as_bytes().to_vec()));
    }
    out.push(secret);
    Ok(())
}

/// Check a Secret name (DNS-1123 subdomain).
pub fn validate_name(name: &str) -> Result<(), SecretError> {
    let rule = "must be a lowercase RFC 1123 subdomain: a-z, 0-9, '-' and '.', at most 253 \
                characters, starting and ending with a letter or digit";
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .split('.')
            .all(|part| dns_label_chars(part) && !part.is_empty());
    if ok {
        Ok(())
    } else {
        Err(SecretError::InvalidName {
            what: "secret name",
            value: name.to_owned(),
            rule,
        })
    }
}

/// Check a namespace name (DNS-1123 label).
pub fn validate_namespace(namespace: &str) -> Result<(), SecretError> {
    let rule = "must be a lowercase RFC 1123 label: a-z, 0-9 and '-', at most 63 characters, \
                starting and ending with a letter or digit";
    if !namespace.is_empty() && namespace.len() <= 63 && dns_label_chars(namespace) {
        Ok(())
    } else {
        Err(SecretError::InvalidName {
            what: "namespace",
            value: namespace.to_owned(),
            rule,
        })
    }
}

/// Check a data key (`[-._a-zA-Z0-9]+`, at most 253 characters, not `.` or `..`).
pub fn validate_key(key: &str) -> Result<(), SecretError> {
    let rule = "a data key must consist of alphanumerics, '-', '_' or '.', at most 253 characters";
    let ok = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(SecretError::InvalidName {
            what: "data key",
            value: key.to_owned(),
            rule,
        })
    }
}

fn dns_label_chars(part: &str) -> bool {
    let bytes = part.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(|b| edge(b) || *b == b'-')
}

/// Validate everything the API server would before sealing: name, namespace, keys, size.
pub fn validate(secret: &PlainSecret) -> Result<(), SecretError> {
    validate_name(secret.metadata.name.as_deref().unwrap_or_default())?;
    if let Some(ns) = &secret.metadata.namespace {
        validate_namespace(ns)?;
    }
    for key in secret.data.keys() {
        validate_key(key)?;
    }
    let bytes = secret.data_len();
    if bytes > MAX_SECRET_BYTES {
        return Err(SecretError::TooLarge {
            secret: secret.display_name(),
            bytes,
        });
    }
    Ok(())
}

/// The v1 Secret manifest of a [`PlainSecret`], values base64-encoded. The returned strings
/// hold plaintext: callers print them and drop them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretManifest<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: &'a ObjectMeta,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    type_: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    immutable: Option<bool>,
    data: BTreeMap<&'a str, Zeroizing<String>>,
}

impl<'a> SecretManifest<'a> {
    /// Borrow a secret for output.
    pub fn new(secret: &'a PlainSecret) -> Self {
        SecretManifest {
            api_version: "v1",
            kind: "Secret",
            metadata: &secret.metadata,
            type_: secret.type_.as_deref(),
            immutable: secret.immutable,
            data: secret
                .data
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str(),
                        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&v[..])),
                    )
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_data_wins_and_lists_flatten() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  metadata: {name: a}\n  data: {k: dg==}\n  stringData: {k: w}\n---\nkind: Secret\nmetadata: {name: b, namespace: n}\ntype: Opaque\nstringData: {x: y}\n";
        let secrets = parse_secrets(text).unwrap();
        assert_eq!(secrets.len(), 2);
        assert_eq!(&secrets[0].data["k"][..], b"w");
        assert_eq!(secrets[1].display_name(), "n/b");
        assert_eq!(secrets[1].type_.as_deref(), Some("Opaque"));
    }

    #[test]
    fn refuses_other_kinds_and_bad_base64() {
        assert!(matches!(
            parse_secrets("kind: ConfigMap\n"),
            Err(SecretError::WrongKind { .. })
        ));
        assert!(matches!(
            parse_secrets("apiVersion: v2\nkind: Secret\n"),
            Err(SecretError::WrongKind { .. })
        ));
        let err =
            parse_secrets("kind: Secret\nmetadata: {name: a}\ndata: {k: '***'}\n").unwrap_err();
        assert_eq!(err.to_string(), "secret a: data[\"k\"] is not valid base64");
        assert_eq!(parse_secrets("---\n").unwrap_err(), SecretError::Empty);
    }

    #[test]
    fn names_follow_the_api_server_rules() {
        assert!(validate_name("db-creds.v1").is_ok());
        for bad in ["", "Upper", "-x", "x-", "a..b", &"a".repeat(254)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert!(validate_namespace("a.b").is_err());
        assert!(validate_key("tls.crt").is_ok());
        assert!(validate_key("a/b").is_err());
        assert!(validate_key("..").is_err());
    }
}

//! Plain Kubernetes Secrets: reading them from manifests (with `data` and `stringData`),
//! validating names and keys as the API server would, and writing them back out.
//!
//! Data flow: [`manifest::parse_values`] reads each document into a tree (duplicate keys
//! refused, merge keys applied, `!!binary` decoded) → Secrets are read field by field with
//! kubectl's rules (a number or boolean where a string belongs is refused, naming the object
//! and field; `~`/`null` values are empty), other objects kept as JSON → the trees' strings
//! are wiped. Values live in `Zeroizing` buffers from then on; the parser's own scratch
//! buffers are outside our reach.

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize as _, Serialize};
use serde_yaml_ng::Value as YamlValue;
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
    /// A field holds the wrong kind of value (kubectl refuses it too).
    #[error(
        "secret {secret}: {field} is {found}, expected {expected} (quote it to make it a string)"
    )]
    WrongType {
        /// Which Secret.
        secret: String,
        /// Which field, e.g. `stringData["port"]`.
        field: String,
        /// What it holds (`a number`, `a boolean`, …), never the value.
        found: &'static str,
        /// What kubectl accepts there.
        expected: &'static str,
    },
    /// A document cannot be read as an object.
    #[error("document {document}: malformed Secret: {message}")]
    Malformed {
        /// 1-based index.
        document: usize,
        /// What is wrong (values redacted).
        message: String,
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

/// One document of a manifest stream handed to `seal`: a Secret to seal, or any other object,
/// kept as it was read (so a whole kustomize output can be piped through).
#[derive(Debug, Clone)]
pub enum Document {
    /// A v1 Secret, values decoded (boxed: it is the large variant).
    Secret(Box<PlainSecret>),
    /// Anything else, as JSON.
    Other(serde_json::Value),
}

/// Every Secret in a YAML or JSON stream; `v1 List`s are flattened. Any other kind is refused.
pub fn parse_secrets(text: &str) -> Result<Vec<PlainSecret>, SecretError> {
    let mut out = Vec::new();
    for (index, doc) in parse_stream(text)?.into_iter().enumerate() {
        match doc {
            Document::Secret(secret) => out.push(*secret),
            Document::Other(other) => {
                return Err(SecretError::WrongKind {
                    document: index + 1,
                    found: describe_kind(&other),
                });
            }
        }
    }
    if out.is_empty() {
        return Err(SecretError::Empty);
    }
    Ok(out)
}

/// Every document of a YAML or JSON stream, in order, `v1 List`s flattened: Secrets decoded,
/// everything else kept as read. An empty stream is [`SecretError::Empty`].
pub fn parse_stream(text: &str) -> Result<Vec<Document>, SecretError> {
    let mut values = manifest::parse_values(text)?;
    let mut out = Vec::new();
    let mut result = Ok(());
    for (index, value) in values.iter_mut().enumerate() {
        if result.is_ok() {
            result = flatten(index + 1, value, &mut out);
        }
        crate::yaml::wipe(value);
    }
    result?;
    if out.is_empty() {
        return Err(SecretError::Empty);
    }
    Ok(out)
}

fn describe_kind(object: &serde_json::Value) -> String {
    let field = |name: &str| object.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    format!(
        "{} {}",
        field("apiVersion").unwrap_or_else(|| "<no apiVersion>".to_owned()),
        field("kind").unwrap_or_else(|| "<none>".to_owned())
    )
}

fn flatten(
    document: usize,
    doc: &mut YamlValue,
    out: &mut Vec<Document>,
) -> Result<(), SecretError> {
    let text = |v: Option<&YamlValue>| v.and_then(YamlValue::as_str).map(str::to_owned);
    let kind = text(doc.get("kind"));
    let api_version = text(doc.get("apiVersion"));
    let is_list = matches!(kind.as_deref(), Some("List" | "SecretList"))
        && matches!(api_version.as_deref(), None | Some("v1"));
    if is_list {
        if let Some(YamlValue::Sequence(items)) = doc.get_mut("items") {
            for item in items {
                flatten(document, item, out)?;
            }
        }
        return Ok(());
    }
    let secret_kind = kind
        .as_deref()
        .is_some_and(|k| k.eq_ignore_ascii_case("Secret"));
    let is_secret =
        kind.as_deref() == Some("Secret") && matches!(api_version.as_deref(), None | Some("v1"));
    if secret_kind && !is_secret {
        // Passed through, a Secret we do not recognise would put plaintext in Git.
        return Err(SecretError::WrongKind {
            document,
            found: format!(
                "{} {}",
                api_version.as_deref().unwrap_or("<no apiVersion>"),
                kind.as_deref().unwrap_or_default()
            ),
        });
    }
    if !is_secret {
        let malformed = |err: serde_json::Error| SecretError::Malformed {
            document,
            message: manifest::redact(&err.to_string()),
        };
        let json = serde_json::to_value(&*doc).map_err(malformed)?;
        out.push(Document::Other(json));
        return Ok(());
    }
    out.push(Document::Secret(Box::new(secret_from_value(
        document, doc,
    )?)));
    Ok(())
}

/// A Secret document, field by field, refusing what kubectl refuses: values that are not
/// strings (`~`/`null` are empty, as kubectl reads them), a non-string `type`, a non-boolean
/// `immutable`.
fn secret_from_value(document: usize, doc: &YamlValue) -> Result<PlainSecret, SecretError> {
    let malformed = |message: String| SecretError::Malformed { document, message };
    let metadata: ObjectMeta = match doc.get("metadata") {
        None | Some(YamlValue::Null) => ObjectMeta::default(),
        Some(meta) => ObjectMeta::deserialize(meta).map_err(|err| {
            malformed(format!("metadata: {}", manifest::redact(&err.to_string())))
        })?,
    };
    let mut secret = PlainSecret {
        metadata,
        ..PlainSecret::default()
    };
    let name = secret.display_name();
    let wrong = |field: String, found: &YamlValue, expected: &'static str| SecretError::WrongType {
        secret: name.clone(),
        field,
        found: kind_of(found),
        expected,
    };
    secret.type_ = match doc.get("type") {
        None | Some(YamlValue::Null) => None,
        Some(YamlValue::String(t)) => Some(t.clone()),
        Some(other) => return Err(wrong("type".into(), other, "a string")),
    };
    secret.immutable = match doc.get("immutable") {
        None | Some(YamlValue::Null) => None,
        Some(YamlValue::Bool(b)) => Some(*b),
        Some(other) => return Err(wrong("immutable".into(), other, "true or false")),
    };
    for (field, base64_encoded) in [("data", true), ("stringData", false)] {
        let map = match doc.get(field) {
            None | Some(YamlValue::Null) => continue,
            Some(YamlValue::Mapping(map)) => map,
            Some(other) => return Err(wrong(field.into(), other, "a map of strings")),
        };
        for (key, value) in map {
            let key = match key {
                YamlValue::String(k) => k.clone(),
                // kubectl turns the keys `true` and `1` into strings; so do we.
                YamlValue::Bool(b) => b.to_string(),
                YamlValue::Number(n) => n.to_string(),
                other => return Err(wrong(format!("{field} key"), other, "a string")),
            };
            let bytes: Value = match value {
                YamlValue::Null => Zeroizing::new(Vec::new()),
                YamlValue::String(text) if base64_encoded => {
                    let compact: Zeroizing<String> =
                        Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(compact.as_bytes())
                        .map_err(|_| SecretError::BadBase64 {
                            secret: name.clone(),
                            key: key.clone(),
                        })?;
                    Zeroizing::new(decoded)
                }
                YamlValue::String(text) => Zeroizing::new(text.as_bytes().to_vec()),
                other => return Err(wrong(format!("{field}[{key:?}]"), other, "a string")),
            };
            // stringData wins over data for the same key, as on the API server.
            secret.data.insert(key, bytes);
        }
    }
    Ok(secret)
}

/// What a YAML node is, for messages (never its value).
fn kind_of(value: &YamlValue) -> &'static str {
    match value {
        YamlValue::Null => "null",
        YamlValue::Bool(_) => "a boolean",
        YamlValue::Number(_) => "a number",
        YamlValue::String(_) => "a string",
        YamlValue::Sequence(_) => "a list",
        YamlValue::Mapping(_) => "a map",
        YamlValue::Tagged(_) => "a tagged value",
    }
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

/// Whether `key` may be a key of a Secret's (or ConfigMap's) `data`, by kube-apiserver's rule
/// (`IsConfigMapKey` in k8s.io/apimachinery's `pkg/util/validation`): non-empty, at most 253
/// bytes, only `[-._a-zA-Z0-9]`, not `.` or `..`, and not starting with `..` (the kubelet
/// projects keys as file names next to its own `..data` links). The one check of a Secret key
/// everywhere: the plugin's inputs, sealing, the sync decision and template keys.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && key != "."
        && !key.starts_with("..")
}

/// Check a data key ([`valid_key`]), saying the rule when it fails.
pub fn validate_key(key: &str) -> Result<(), SecretError> {
    let rule = "a data key must consist of alphanumerics, '-', '_' or '.', at most 253 characters, \
                not '.' and not starting with '..'";
    let ok = valid_key(key);
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
        let text = "apiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  metadata: {name: a}\n  data: {k: dg==}\n  stringData: {k: w}\n---\nkind: Secret\nmetadata: {name: b, namespace: ns}\ntype: Opaque\nstringData: {x: z}\n";
        let secrets = parse_secrets(text).unwrap();
        assert_eq!(secrets.len(), 2);
        assert_eq!(&secrets[0].data["k"][..], b"w");
        assert_eq!(secrets[1].display_name(), "ns/b");
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
    fn values_are_read_as_kubectl_reads_them() {
        let one = |text: &str| parse_secrets(text).map(|mut s| s.remove(0));
        // `~`/`null` are empty; a byte-order mark is ignored; merge keys apply, explicit wins.
        let secret = one("\u{feff}kind: Secret\nmetadata: {name: a}\nstringData:\n  <<: {u: admin, p: old}\n  p: new\n  e: ~\n  m: null\n").unwrap();
        let got: Vec<(&str, &[u8])> = secret
            .data
            .iter()
            .map(|(k, v)| (k.as_str(), &v[..]))
            .collect();
        assert_eq!(
            got,
            [("e", &b""[..]), ("m", b""), ("p", b"new"), ("u", b"admin")]
        );
        // `!!binary`, which kubectl decodes, is refused rather than misread.
        let err =
            one("kind: Secret\nmetadata: {name: a}\nstringData: {b: !!binary aGk=}\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("!!binary values are not supported"),
            "{err}"
        );
        // Keys kubectl turns into strings.
        let secret =
            one("kind: Secret\nmetadata: {name: a}\nstringData: {1: x, true: z}\n").unwrap();
        assert_eq!(secret.data.keys().collect::<Vec<_>>(), ["1", "true"]);
        // Duplicate keys, anywhere.
        let err =
            one("kind: Secret\nmetadata: {name: a}\ndata:\n  k: dg==\n  k: dw==\n").unwrap_err();
        assert!(
            err.to_string().contains("duplicate entry with key \"k\""),
            "{err}"
        );
        // Unquoted words kubectl reads as booleans (YAML 1.1) and YAML 1.2 as text: refused,
        // naming the place and never the value.
        let err =
            one("kind: Secret\nmetadata: {name: a}\nstringData:\n  enabled: on\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 4, column 12: kubectl (YAML 1.1) reads this unquoted scalar as a boolean and \
             YAML 1.2 readers as text: quote it (\"…\") to mean the text"
        );
        // Numbers and booleans where strings belong, named by object and field.
        let err =
            one("kind: Secret\nmetadata: {name: a, namespace: ns}\nstringData: {port: 5432}\n")
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret ns/a: stringData[\"port\"] is a number, expected a string (quote it to make it a string)"
        );
        let err =
            one("kind: Secret\nmetadata: {name: a}\ntype: 1\nstringData: {k: v}\n").unwrap_err();
        assert!(err.to_string().contains("type is a number"), "{err}");
        let err = one("kind: Secret\nmetadata: {name: a}\nimmutable: 'true'\n").unwrap_err();
        assert!(err.to_string().contains("immutable is a string"), "{err}");
        assert!(
            !format!(
                "{:?}",
                one("kind: Secret\nmetadata: {name: a}\nstringData: {k: [hunter2]}\n")
            )
            .contains("hunter2")
        );
    }

    #[test]
    fn streams_keep_other_kinds_but_refuse_unknown_secrets() {
        let docs = parse_stream(
            "kind: ConfigMap\ndata: {a: 'yes'}\n---\nkind: Secret\nmetadata: {name: a}\n",
        )
        .unwrap();
        assert!(matches!(&docs[0], Document::Other(v) if v["data"]["a"] == "yes"));
        assert!(matches!(&docs[1], Document::Secret(_)));
        for bad in [
            "apiVersion: v2\nkind: Secret\n",
            "kind: secret\n",
            "apiVersion: v1\nkind: SECRET\n",
        ] {
            assert!(
                matches!(parse_stream(bad), Err(SecretError::WrongKind { .. })),
                "{bad}"
            );
        }
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

    #[test]
    fn keys_follow_kube_apiservers_rule() {
        for good in ["ok-key_1.x", ".hidden", "a..b", "x..", &"k".repeat(253)] {
            assert!(valid_key(good), "{good:?} is a valid key");
        }
        for bad in [
            "",
            ".",
            "..",
            "..data",
            "..x",
            "a/b",
            "a b",
            "é",
            &"k".repeat(254),
        ] {
            assert!(!valid_key(bad), "{bad:?} is not a valid key");
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
    }
}

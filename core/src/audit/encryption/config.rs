//! Reading an EncryptionConfiguration without keeping its keys.
//!
//! The file goes through [`crate::manifest::parse_values`] (YAML or JSON, redacted errors) into
//! a tree; this module walks the tree by hand instead of deserializing into typed structs, so
//! that no `secret` ever lands in a field: each key is base64-decoded into a zeroizing buffer,
//! measured, and dropped. The tree's strings are wiped before returning, on success and on
//! error. Error paths name indices (`resources[1].providers[0].aescbc.keys[2]`), never names or
//! values read from the file, so a broken file cannot leak a key through an error message.

use base64::Engine as _;
use serde_yaml_ng::Value;
use zeroize::Zeroizing;

use crate::manifest::ManifestError;

/// An EncryptionConfiguration (`apiserver.config.k8s.io/v1`, also the older `EncryptionConfig`
/// kind), YAML or JSON, reduced to what the checks need: per resources entry the resource
/// patterns and the ordered providers, per provider its keys' names and decoded lengths. Never
/// the key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionConfig {
    /// The `resources` entries, in file order (the first matching entry wins).
    pub resources: Vec<ResourceRule>,
}

/// One entry of `resources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRule {
    /// The patterns as written: `secrets`, `configmaps`, `*.`, `*.*`, `widgets.example.com`, …
    pub resources: Vec<String>,
    /// The providers in order: the first encrypts every write.
    pub providers: Vec<Provider>,
}

/// One provider of a resources entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Which transformer.
    pub kind: ProviderKind,
    /// Its keys (empty for `identity` and `kms`).
    pub keys: Vec<KeyInfo>,
}

/// The transformer a provider configures.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderKind {
    /// Plaintext.
    Identity,
    /// AES-CBC with PKCS#7 padding.
    Aescbc,
    /// AES-GCM with a random nonce.
    Aesgcm,
    /// XSalsa20-Poly1305.
    Secretbox,
    /// Envelope encryption through a KMS plugin.
    Kms {
        /// `apiVersion` of the provider (missing means v1).
        version: KmsVersion,
        /// The provider's `name` (empty when missing).
        name: String,
    },
}

impl ProviderKind {
    /// The provider's key in the file: `identity`, `aescbc`, …, `kms`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Aescbc => "aescbc",
            Self::Aesgcm => "aesgcm",
            Self::Secretbox => "secretbox",
            Self::Kms { .. } => "kms",
        }
    }

    /// Whether the provider holds its keys in the file (and so has a length to check).
    pub fn has_local_keys(&self) -> bool {
        matches!(self, Self::Aescbc | Self::Aesgcm | Self::Secretbox)
    }
}

/// The KMS plugin API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KmsVersion {
    /// Deprecated in 1.28, off by default since 1.29.
    V1,
    /// GA since 1.29, the recommended provider.
    V2,
}

/// A key of an `aescbc`, `aesgcm` or `secretbox` provider, measured and forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key's `name` (a label, not key material).
    pub name: String,
    /// The decoded `secret`'s length in bytes.
    pub length: usize,
}

/// Why an EncryptionConfiguration could not be read. The text names places by index and never
/// quotes the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptionConfigError {
    /// The file is not valid YAML or JSON.
    #[error("invalid encryption configuration stream")]
    Manifest(#[source] ManifestError),
    /// No document has kind `EncryptionConfiguration` (or `EncryptionConfig`).
    #[error("no document of kind EncryptionConfiguration (apiserver.config.k8s.io/v1)")]
    NotFound,
    /// A part of the document does not have the shape the apiserver requires.
    #[error("{path}: {problem}")]
    Shape {
        /// Where, by index: `resources[1].providers[0].aescbc.keys[2]`.
        path: String,
        /// What is wrong.
        problem: &'static str,
    },
}

impl EncryptionConfig {
    /// Read the first EncryptionConfiguration document of a YAML or JSON stream.
    pub fn from_text(text: &str) -> Result<Self, EncryptionConfigError> {
        let mut values = crate::manifest::parse_values(text)
            .map_err(|err| EncryptionConfigError::Manifest(scrub(err)))?;
        let result = values
            .iter()
            .find(|v| {
                matches!(
                    v.get("kind").and_then(Value::as_str),
                    Some("EncryptionConfiguration" | "EncryptionConfig")
                )
            })
            .ok_or(EncryptionConfigError::NotFound)
            .and_then(read_config);
        // The tree holds every key's base64 text: wipe it whatever happened.
        values.iter_mut().for_each(crate::yaml::wipe);
        result
    }
}

/// The shared redaction keeps duplicate mapping keys (in a Secret they are data keys, names);
/// in a broken EncryptionConfiguration a mapping key may be a pasted key, so every quoted
/// scalar goes.
fn scrub(err: ManifestError) -> ManifestError {
    match err {
        ManifestError::Yaml { document, message } => ManifestError::Yaml {
            document,
            message: crate::manifest::redact_all(&message),
        },
        ManifestError::Json { document, message } => ManifestError::Json {
            document,
            message: crate::manifest::redact_all(&message),
        },
        other => other,
    }
}

fn shape(path: impl Into<String>, problem: &'static str) -> EncryptionConfigError {
    EncryptionConfigError::Shape {
        path: path.into(),
        problem,
    }
}

/// A sequence at `key`; missing or null reads as empty, anything else is an error.
fn sequence<'v>(
    value: &'v Value,
    key: &str,
    path: &str,
) -> Result<&'v [Value], EncryptionConfigError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Sequence(items)) => Ok(items),
        Some(_) => Err(shape(format!("{path}.{key}"), "is not a list")),
    }
}

fn read_config(doc: &Value) -> Result<EncryptionConfig, EncryptionConfigError> {
    let entries = sequence(doc, "resources", "")
        .map_err(|_| shape("resources", "is not a list"))?
        .iter()
        .enumerate()
        .map(|(index, entry)| read_rule(entry, &format!("resources[{index}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EncryptionConfig { resources: entries })
}

fn read_rule(entry: &Value, path: &str) -> Result<ResourceRule, EncryptionConfigError> {
    if !entry.is_mapping() {
        return Err(shape(path, "is not a mapping"));
    }
    let resources = sequence(entry, "resources", path)?
        .iter()
        .enumerate()
        .map(|(index, pattern)| {
            pattern
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| shape(format!("{path}.resources[{index}]"), "is not a string"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let providers = sequence(entry, "providers", path)?
        .iter()
        .enumerate()
        .map(|(index, provider)| read_provider(provider, &format!("{path}.providers[{index}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ResourceRule {
        resources,
        providers,
    })
}

const KINDS: [&str; 5] = ["identity", "aescbc", "aesgcm", "secretbox", "kms"];

fn read_provider(provider: &Value, path: &str) -> Result<Provider, EncryptionConfigError> {
    let mut named = KINDS.iter().filter(|kind| provider.get(**kind).is_some());
    let (Some(kind), None) = (named.next(), named.next()) else {
        return Err(shape(
            path,
            "must set exactly one of identity, aescbc, aesgcm, secretbox, kms",
        ));
    };
    let body = provider.get(*kind).unwrap_or(&Value::Null);
    let path = format!("{path}.{kind}");
    let kind = match *kind {
        "identity" => ProviderKind::Identity,
        "aescbc" => ProviderKind::Aescbc,
        "aesgcm" => ProviderKind::Aesgcm,
        "secretbox" => ProviderKind::Secretbox,
        _ => {
            let version = match body.get("apiVersion").and_then(Value::as_str) {
                None | Some("v1") => KmsVersion::V1,
                Some("v2") => KmsVersion::V2,
                Some(_) => return Err(shape(format!("{path}.apiVersion"), "is not v1 or v2")),
            };
            let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
            ProviderKind::Kms {
                version,
                name: name.to_owned(),
            }
        }
    };
    let keys = if kind.has_local_keys() {
        let keys = sequence(body, "keys", &path)?;
        if keys.is_empty() {
            return Err(shape(
                format!("{path}.keys"),
                "is empty: the apiserver refuses it",
            ));
        }
        keys.iter()
            .enumerate()
            .map(|(index, key)| read_key(key, &format!("{path}.keys[{index}]")))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    Ok(Provider { kind, keys })
}

fn read_key(key: &Value, path: &str) -> Result<KeyInfo, EncryptionConfigError> {
    let name = key
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| shape(format!("{path}.name"), "is missing or not a string"))?;
    let secret = key
        .get("secret")
        .and_then(Value::as_str)
        .ok_or_else(|| shape(format!("{path}.secret"), "is missing or not a string"))?;
    // Decoded into a buffer that is zeroed on drop: only its length leaves this function.
    let decoded = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(secret.trim())
            .map_err(|_| shape(format!("{path}.secret"), "is not valid base64"))?,
    );
    Ok(KeyInfo {
        name: name.to_owned(),
        length: decoded.len(),
    })
}

//! The `SealedSecret` custom resource, in our group (`kubectl-secrets.io/v1alpha1`) and in
//! Bitnami's (`bitnami.com/v1alpha1`), with the same schema so either converts to the other
//! without loss.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::seal::crypto::Scope;

/// Our API group.
pub const GROUP: &str = "kubectl-secrets.io";
/// Bitnami's API group.
pub const BITNAMI_GROUP: &str = "bitnami.com";
/// `apiVersion` of our SealedSecret.
pub const API_VERSION: &str = "kubectl-secrets.io/v1alpha1";
/// `apiVersion` of Bitnami's SealedSecret.
pub const BITNAMI_API_VERSION: &str = "bitnami.com/v1alpha1";

/// Desired state of a SealedSecret: the encrypted values and the Secret to make from them.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "kubectl-secrets.io",
    version = "v1alpha1",
    kind = "SealedSecret",
    namespaced,
    status = "SealedSecretStatus",
    shortname = "seal",
    derive = "PartialEq",
    derive = "Default",
    doc = "Secret values sealed with the cluster's public key; the agent unseals them into a Secret of the same name."
)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretSpec {
    /// Secret key → base64 sealed value.
    #[serde(default)]
    pub encrypted_data: BTreeMap<String, String>,
    /// The Secret to create: its metadata, type, immutability and templated data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<SecretTemplateSpec>,
    /// Deprecated v1 format: the whole Secret as one sealed blob (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// Shape of the Secret a SealedSecret produces.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplateSpec {
    /// Labels, annotations and finalizers for the Secret (name and namespace are forced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    /// Secret type, e.g. `Opaque` or `kubernetes.io/tls`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Whether the Secret is immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// Templated values (Go-template subset) rendered over the decrypted data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
}

/// Observed state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretStatus {
    /// Generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (ours) and `Synced` (Bitnami's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<SealedSecretCondition>,
}

/// A status condition, Bitnami's shape (with `lastUpdateTime`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretCondition {
    /// `Ready` or `Synced`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Last time the condition was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<String>,
    /// Last time the status changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Machine-readable cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What went wrong, for people; never a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Bitnami's SealedSecret (`bitnami.com/v1alpha1`): the same spec, another group.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "bitnami.com",
    version = "v1alpha1",
    kind = "SealedSecret",
    root = "BitnamiSealedSecret",
    doc = "Bitnami Sealed Secrets' SealedSecret, unsealed by the agent in compat mode (--bitnami-compat).",
    derive = "PartialEq",
    derive = "Default",
    namespaced,
    status = "SealedSecretStatus"
)]
pub struct BitnamiSealedSecretSpec {
    /// The shared spec.
    #[serde(flatten)]
    pub inner: SealedSecretSpec,
}

impl From<BitnamiSealedSecret> for SealedSecret {
    fn from(b: BitnamiSealedSecret) -> Self {
        SealedSecret {
            metadata: b.metadata,
            spec: b.spec.inner,
            status: b.status,
        }
    }
}

impl From<SealedSecret> for BitnamiSealedSecret {
    fn from(s: SealedSecret) -> Self {
        BitnamiSealedSecret {
            metadata: s.metadata,
            spec: BitnamiSealedSecretSpec { inner: s.spec },
            status: s.status,
        }
    }
}

impl SealedSecret {
    /// The scope, read from the top-level annotations (never the template's).
    pub fn scope(&self) -> Scope {
        Scope::from_annotations(self.metadata.annotations.as_ref())
    }

    /// Name and namespace as written, `""` when absent.
    pub fn name_and_namespace(&self) -> (&str, &str) {
        (
            self.metadata.name.as_deref().unwrap_or_default(),
            self.metadata.namespace.as_deref().unwrap_or_default(),
        )
    }

    /// The OAEP label of this object's values.
    pub fn label(&self) -> Vec<u8> {
        let (name, namespace) = self.name_and_namespace();
        self.scope().label(namespace, name)
    }
}

/// Which `apiVersion` to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// `kubectl-secrets.io/v1alpha1`.
    #[default]
    Native,
    /// `bitnami.com/v1alpha1`.
    Bitnami,
}

/// A SealedSecret read from a manifest, remembering which group it came in.
#[derive(Debug, Clone, PartialEq)]
pub struct AnySealedSecret {
    /// The object, as ours.
    pub object: SealedSecret,
    /// The group it was written in.
    pub flavor: Flavor,
}

impl AnySealedSecret {
    /// Serialize in the flavor it came in (or another).
    pub fn to_value(&self, flavor: Flavor) -> serde_json::Value {
        let result = match flavor {
            Flavor::Native => serde_json::to_value(&self.object),
            Flavor::Bitnami => serde_json::to_value(BitnamiSealedSecret::from(self.object.clone())),
        };
        // Serializing plain structs of strings and maps into a Value cannot fail.
        result.unwrap_or(serde_json::Value::Null)
    }
}

/// Why a SealedSecret manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealedSecretError {
    /// Not parseable.
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    /// No document.
    #[error("no SealedSecret found in the input")]
    Empty,
    /// A document of another kind or group.
    #[error(
        "document {document}: expected a SealedSecret ({API_VERSION} or {BITNAMI_API_VERSION}), found {found}"
    )]
    WrongKind {
        /// 1-based index.
        document: usize,
        /// `apiVersion kind` found.
        found: String,
    },
    /// A document that is no object at all (plain text reads as a YAML string).
    #[error(
        "document {document} is {found}, not a SealedSecret: expected a JSON or YAML object \
         with apiVersion and kind"
    )]
    NotAnObject {
        /// 1-based index.
        document: usize,
        /// What it is instead: `a string`, `a number`, `a list`, …
        found: &'static str,
    },
    /// Right kind, wrong shape.
    #[error("document {document}: malformed SealedSecret: {message}")]
    Malformed {
        /// 1-based index.
        document: usize,
        /// What is wrong (values redacted).
        message: String,
    },
}

/// Every SealedSecret in a YAML or JSON stream (`v1` `List`s flattened), in either group. SealedSecrets hold only
/// ciphertext, so going through a `Value` here exposes nothing.
pub fn parse_sealed_secrets(text: &str) -> Result<Vec<AnySealedSecret>, SealedSecretError> {
    let docs: Vec<serde_json::Value> = crate::manifest::parse_documents(text)?;
    let mut out = Vec::with_capacity(docs.len());
    // A `v1` `List` (what `-o json` prints for several objects) counts as its items.
    let mut flat = Vec::with_capacity(docs.len());
    for (index, doc) in docs.into_iter().enumerate() {
        let is_list = doc.get("kind").and_then(|v| v.as_str()) == Some("List")
            && doc.get("apiVersion").and_then(|v| v.as_str()) == Some("v1");
        match (is_list, doc) {
            (true, serde_json::Value::Object(mut list)) => {
                if let Some(serde_json::Value::Array(items)) = list.remove("items") {
                    flat.extend(items.into_iter().map(|item| (index, item)));
                }
            }
            (_, doc) => flat.push((index, doc)),
        }
    }
    for (index, doc) in flat {
        let document = index + 1;
        let found = match &doc {
            serde_json::Value::Object(_) => None,
            serde_json::Value::String(_) => Some("a string"),
            serde_json::Value::Number(_) => Some("a number"),
            serde_json::Value::Bool(_) => Some("a boolean"),
            serde_json::Value::Array(_) => Some("a list"),
            serde_json::Value::Null => Some("empty (null)"),
        };
        if let Some(found) = found {
            return Err(SealedSecretError::NotAnObject { document, found });
        }
        let api_version = doc.get("apiVersion").and_then(|v| v.as_str());
        let kind = doc.get("kind").and_then(|v| v.as_str());
        let flavor = match (api_version, kind) {
            (Some(API_VERSION), Some("SealedSecret")) => Flavor::Native,
            (Some(BITNAMI_API_VERSION), Some("SealedSecret")) => Flavor::Bitnami,
            _ => {
                let found = match (api_version, kind) {
                    (Some(api_version), Some(kind)) => format!("{api_version} {kind}"),
                    (Some(api_version), None) => format!("{api_version} without a kind"),
                    (None, Some(kind)) => format!("{kind} without an apiVersion"),
                    (None, None) => "an object without apiVersion or kind".to_owned(),
                };
                return Err(SealedSecretError::WrongKind { document, found });
            }
        };
        let object: SealedSecret =
            serde_json::from_value(doc).map_err(|err| SealedSecretError::Malformed {
                document,
                message: crate::manifest::redact(&err.to_string()),
            })?;
        out.push(AnySealedSecret { object, flavor });
    }
    if out.is_empty() {
        return Err(SealedSecretError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BITNAMI: &str = r#"
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: mysecret
  namespace: myns
  creationTimestamp: null
  annotations: {sealedsecrets.bitnami.com/namespace-wide: "true"}
spec:
  encryptedData:
    foo: AgBy
  template:
    metadata: {name: mysecret, namespace: myns, labels: {app: x}, creationTimestamp: null}
    type: kubernetes.io/basic-auth
    immutable: true
    data:
      url: "https://{{ .foo }}@host"
status:
  observedGeneration: 3
  conditions:
  - type: Synced
    status: "True"
    lastUpdateTime: "2026-01-01T00:00:00Z"
"#;

    #[test]
    fn bitnami_and_native_convert_without_loss() {
        let bitnami: BitnamiSealedSecret = serde_yaml_ng::from_str(BITNAMI).unwrap();
        let native = SealedSecret::from(bitnami.clone());
        assert_eq!(native.scope(), Scope::NamespaceWide);
        assert_eq!(native.label(), b"myns");
        let native_json = serde_json::to_value(&native).unwrap();
        assert_eq!(native_json["apiVersion"], API_VERSION);
        let back = BitnamiSealedSecret::from(native);
        assert_eq!(back, bitnami);
        let mut original: serde_json::Value = serde_yaml_ng::from_str(BITNAMI).unwrap();
        // `creationTimestamp: null` is accepted and dropped (kubeseal's newer output omits it).
        original["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("creationTimestamp");
        original["spec"]["template"]["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("creationTimestamp");
        assert_eq!(serde_json::to_value(&back).unwrap(), original);
    }

    #[test]
    fn parses_both_groups_and_refuses_others() {
        let native = serde_json::to_string(
            &AnySealedSecret {
                object: SealedSecret::default(),
                flavor: Flavor::Native,
            }
            .to_value(Flavor::Native),
        )
        .unwrap();
        let stream = format!("{BITNAMI}---\n{native}\n");
        let parsed = parse_sealed_secrets(&stream).unwrap();
        assert_eq!(
            parsed.iter().map(|p| p.flavor).collect::<Vec<_>>(),
            [Flavor::Bitnami, Flavor::Native]
        );
        assert_eq!(parsed[0].object.spec.encrypted_data["foo"], "AgBy");
        let err = parse_sealed_secrets("apiVersion: v1\nkind: Secret\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "document 1: expected a SealedSecret (kubectl-secrets.io/v1alpha1 or bitnami.com/v1alpha1), found v1 Secret"
        );
        let err = parse_sealed_secrets(
            "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nspec: {encryptedData: [1]}\n",
        )
        .unwrap_err();
        assert!(
            matches!(err, SealedSecretError::Malformed { document: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn text_that_is_no_object_says_what_it_is() {
        for (text, found) in [
            ("hello world\n", "a string"),
            ("42\n", "a number"),
            ("[1, 2]\n", "a list"),
            ("true\n", "a boolean"),
        ] {
            let err = parse_sealed_secrets(text).unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "document 1 is {found}, not a SealedSecret: expected a JSON or YAML object \
                     with apiVersion and kind"
                ),
                "{text}"
            );
        }
        let err = parse_sealed_secrets("spec: {}\n").unwrap_err().to_string();
        assert!(
            err.ends_with("found an object without apiVersion or kind") && !err.contains("<none>"),
            "{err}"
        );
        let err = parse_sealed_secrets("kind: SealedSecret\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("found SealedSecret without an apiVersion"),
            "{err}"
        );
    }
}

//! The custom resources this project serves, in `kubectl-secrets.io/v1alpha1`: `SealedSecret`
//! (Bitnami's shape, also read in `bitnami.com/v1alpha1`), and `ExternalSecret`, `SecretStore`
//! and `ClusterSecretStore` with External Secrets Operator v1 field names and meanings; the
//! `Ready` condition rule they share; and [`crds`], which turns these types into the CRDs the
//! chart ships.
//!
//! Data flow: a manifest or an API object deserialises into these types; the pure decisions
//! (`crate::seal::decide`, `crate::sync`) read them; the agent writes their `status`.
//!
//! Fields ESO has and we do not implement are kept (the schema preserves unknown fields) so
//! that `crate::sync::validate` can reject them by name instead of the API server dropping
//! them silently. Nothing here writes defaults back into a spec: GitOps tools would show a diff.

pub mod crds;
pub mod external_secret;
pub mod sealed_secret;
pub mod secret_store;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use external_secret::{ExternalSecret, ExternalSecretSpec, ExternalSecretStatus};
pub use secret_store::{ClusterSecretStore, SecretStore, SecretStoreSpec, SecretStoreStatus};

/// Fields present in a manifest that this version does not know. Kept so that they can be
/// rejected by name; never part of the schema (the CRD preserves unknown fields instead).
pub type Unknown = BTreeMap<String, serde_json::Value>;

/// A status condition in ESO's shape.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable cause, e.g. `SecretSynced`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What happened, for people; never a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When `status` last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

impl Condition {
    /// A `Ready` condition; `last_transition_time` is carried over from `previous` when the
    /// status did not change.
    pub fn ready(
        ok: bool,
        reason: &str,
        message: impl Into<String>,
        previous: &[Condition],
        now: &str,
    ) -> Condition {
        let status = if ok { "True" } else { "False" };
        let last_transition_time = previous
            .iter()
            .find(|c| c.type_ == "Ready" && c.status == status)
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or_else(|| now.to_owned());
        Condition {
            type_: "Ready".into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_transition_time: Some(last_transition_time),
        }
    }
}

/// The `Ready` condition among `conditions`, if any.
pub fn ready_condition(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == "Ready")
}

/// A reference to a key of a Secret (`SecretKeySelector` in ESO).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    /// The Secret's name.
    pub name: String,
    /// The key in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Its namespace: only on a ClusterSecretStore; a SecretStore uses its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Fields this version does not implement.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

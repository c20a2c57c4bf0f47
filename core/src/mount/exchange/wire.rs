//! The exchange's wire types: the two requests and the answer, as JSON (camelCase), with
//! `Debug` that never shows a token.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// One file asked of a mount-only SealedSecret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestItem {
    /// The file's path in the volume.
    pub path: String,
    /// The SealedSecret (in the pod's namespace).
    pub name: String,
    /// The key after template rendering.
    pub key: String,
}

/// `POST /v1/mount`. `Debug` never shows the token.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MountRequest {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod_name: String,
    /// The pod's uid.
    #[serde(rename = "podUID")]
    pub pod_uid: String,
    /// The pod's service account.
    pub service_account: String,
    /// The pod's own token for audience `kubectl-secrets`.
    pub token: Zeroizing<String>,
    /// What to open.
    pub items: Vec<RequestItem>,
    /// Random, base64, at least [`super::MIN_NONCE_BYTES`].
    pub nonce: String,
    /// When the provider made the request (RFC 3339).
    pub time: String,
    /// The provider's one-time X25519 public key, base64.
    pub ephemeral_key: String,
}

impl std::fmt::Debug for MountRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountRequest")
            .field("namespace", &self.namespace)
            .field("pod_name", &self.pod_name)
            .field("pod_uid", &self.pod_uid)
            .field("service_account", &self.service_account)
            .field("items", &self.items)
            .field("time", &self.time)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/mount/version-key`: the provider's own token. `Debug` never shows it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionKeyRequest {
    /// The provider's service-account token for audience `kubectl-secrets`.
    pub token: Zeroizing<String>,
    /// See [`MountRequest::nonce`].
    pub nonce: String,
    /// See [`MountRequest::time`].
    pub time: String,
    /// See [`MountRequest::ephemeral_key`].
    pub ephemeral_key: String,
}

impl std::fmt::Debug for VersionKeyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionKeyRequest")
            .field("time", &self.time)
            .finish_non_exhaustive()
    }
}

/// An answered file's metadata with its opened value.
pub type OpenedFile = (FileMeta, Zeroizing<Vec<u8>>);

/// One answered file: its path and version (the value is in the ciphertext).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMeta {
    /// The file's path.
    pub path: String,
    /// Its version (never reveals the value).
    pub version: String,
}

/// The controller's answer to either request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Answer {
    /// The files, in the order of the values in the ciphertext.
    pub files: Vec<FileMeta>,
    /// AES-256-GCM of the length-prefixed values, base64.
    pub ciphertext: String,
    /// The controller's one-time X25519 public key, base64.
    pub controller_key: String,
    /// Ed25519 by the mount key, base64.
    pub signature: String,
}

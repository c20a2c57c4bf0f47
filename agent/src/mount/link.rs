//! What the node provider asks the controller: the keys of mount-only SealedSecrets (the
//! provider holds no sealing key) and the cluster key behind object versions of values that
//! have no version of their own. The trait keeps the provider's mount flow testable without
//! a controller; the HTTPS implementation lives beside it.

use std::future::Future;
use std::pin::Pin;

use secrets_core::mount::request::{PodIdentity, PodToken};
use zeroize::Zeroizing;

/// A boxed future, so the trait stays dyn-compatible.
pub type LinkFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, LinkError>> + Send + 'a>>;

/// One file asked of a mount-only SealedSecret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedItem {
    /// The file's path in the volume.
    pub path: String,
    /// The SealedSecret's name (in the pod's namespace).
    pub name: String,
    /// The key of the Secret it describes (after template rendering).
    pub key: String,
}

/// One answered file. `Debug` never shows the contents.
pub struct SealedFile {
    /// The file's path in the volume.
    pub path: String,
    /// The opened value.
    pub contents: Zeroizing<Vec<u8>>,
    /// A version that changes with the value and never reveals it (a hash of the ciphertext
    /// with the opening key's fingerprint).
    pub version: String,
}

impl std::fmt::Debug for SealedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedFile")
            .field("path", &self.path)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Why the controller could not answer; the message names the cause, never a value.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LinkError {
    /// The failure category (`store::ErrorKind` names: permission_denied, not_found,
    /// unavailable, timeout, throttled, rejected, bad_response, invalid_config, credentials).
    pub category: &'static str,
    /// What failed and why.
    pub message: String,
}

/// The controller, as the provider sees it.
pub trait ControllerLink: Send + Sync {
    /// Open `items` for `pod`, proving its identity with its own token for audience
    /// `kubectl-secrets` (`secrets_core::mount::CONTROLLER_AUDIENCE`).
    fn open_sealed<'a>(
        &'a self,
        pod: &'a PodIdentity,
        token: &'a PodToken,
        items: &'a [SealedItem],
    ) -> LinkFuture<'a, Vec<SealedFile>>;

    /// The cluster's object-version HMAC key (stable across provider restarts).
    fn version_key(&self) -> LinkFuture<'_, Zeroizing<Vec<u8>>>;
}

//! A store's `spec.provider.vault` as the client needs it: server, namespace and CA → a
//! [`VaultConfig`]; the auth method; the KV mount and version; what a `version` may be; and how
//! each [`VaultError`] maps onto the seam's [`ErrorKind`]s.

use std::sync::Arc;
use std::time::Duration;

use secrets_core::api::secret_store::{VaultKvVersion, VaultProvider};
use secrets_core::store::{CallObserver, CredentialSource, ErrorKind, StoreError};

use super::VaultStore;
use crate::{KvVersion, STORE_TYPE, VaultConfig, VaultError};

/// How the store logs in; the credentials for it come from the caller's [`CredentialSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// A token used as given. With `look_up`, `lookup-self` must accept it (the plugin checks
    /// a person's token up front); without, a denied lookup only leaves its lease unknown.
    Token {
        /// Require `lookup-self` to accept the token.
        look_up: bool,
    },
    /// Kubernetes auth at `mount` as `role`, with a service-account token.
    Kubernetes {
        /// Auth mount (`kubernetes`).
        mount: String,
        /// Vault role.
        role: String,
    },
    /// AppRole auth at `mount`.
    AppRole {
        /// Auth mount (`approle`).
        mount: String,
    },
}

/// What the caller decides about a store, beside its spec.
#[derive(Clone)]
pub struct StoreOptions {
    /// Names the store in log lines (`SecretStore "vault"`).
    pub label: String,
    /// Limit for one call.
    pub timeout: Duration,
    /// Told about every call.
    pub observer: Option<CallObserver>,
    /// Check the mount before believing a "not found" (see the module doc).
    pub mount_check: bool,
}

impl StoreOptions {
    /// Options for a store named `label` in logs: the default timeout, no observer, the mount
    /// checked.
    pub fn new(label: impl Into<String>) -> Self {
        StoreOptions {
            label: label.into(),
            timeout: VaultConfig::DEFAULT_TIMEOUT,
            observer: None,
            mount_check: true,
        }
    }
}

pub(super) fn engine(version: VaultKvVersion) -> KvVersion {
    match version {
        VaultKvVersion::V1 => KvVersion::V1,
        VaultKvVersion::V2 => KvVersion::V2,
    }
}

/// Whether `version` can be read from a KV `engine` mount: a KV v2 version number; KV v1 keeps
/// no versions. The text completes "`remoteRef.version "x"` …".
pub fn check_version(engine: VaultKvVersion, version: &str) -> Result<(), String> {
    match engine {
        VaultKvVersion::V1 => {
            Err("is set, but KV v1 keeps no versions; drop the version or use a KV v2 mount".into())
        }
        VaultKvVersion::V2 => version
            .parse::<u64>()
            .map(drop)
            .map_err(|_| "must be a KV v2 version number".into()),
    }
}

/// The seam's error for a Vault error: the kind callers branch on, Vault's own text.
pub(crate) fn store_error(err: &VaultError) -> StoreError {
    let kind = match err {
        VaultError::NotFound { .. } => ErrorKind::NotFound,
        VaultError::PermissionDenied { .. } => ErrorKind::PermissionDenied,
        // Vault's rate-limit quotas answer 429.
        VaultError::Rejected { status: 429, .. } => ErrorKind::Throttled,
        VaultError::Rejected { .. } => ErrorKind::Rejected,
        VaultError::Unavailable { .. } | VaultError::Sealed { .. } | VaultError::Server { .. } => {
            ErrorKind::Unavailable
        }
        VaultError::Timeout { .. } => ErrorKind::Timeout,
        VaultError::BadResponse { .. } => ErrorKind::BadResponse,
        VaultError::InvalidConfig { .. }
        | VaultError::InvalidPath { .. }
        | VaultError::MountMismatch { .. } => ErrorKind::InvalidConfig,
    };
    StoreError::new(STORE_TYPE, kind, err.to_string())
}

pub(super) fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::new(STORE_TYPE, ErrorKind::InvalidConfig, message)
}

impl VaultStore {
    /// The store a `spec.provider.vault` block describes. `ca_pem` is the `caProvider`'s
    /// bundle the caller read (a `caBundle` in the spec is decoded here); `credentials` are
    /// asked for at every login. Makes no request.
    pub fn from_spec(
        spec: &VaultProvider,
        ca_pem: Option<Vec<u8>>,
        credentials: Arc<dyn CredentialSource>,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let mut config = VaultConfig::new(spec.server.clone()).with_timeout(options.timeout);
        if let Some(ns) = &spec.namespace {
            config = config.with_namespace(ns.clone());
        }
        if let Some(b64) = &spec.ca_bundle {
            use base64::Engine as _;
            let pem = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| invalid("spec.provider.vault.caBundle is not base64"))?;
            config = config.with_ca_bundle(pem);
        } else if let Some(pem) = ca_pem {
            config = config.with_ca_bundle(pem);
        }
        let auth = &spec.auth;
        let auth = if auth.token_secret_ref.is_some() {
            AuthMethod::Token { look_up: false }
        } else if let Some(k) = &auth.kubernetes {
            AuthMethod::Kubernetes {
                mount: k.mount_path.clone().unwrap_or_else(|| "kubernetes".into()),
                role: k.role.clone(),
            }
        } else if let Some(a) = &auth.app_role {
            AuthMethod::AppRole {
                mount: a.path.clone().unwrap_or_else(|| "approle".into()),
            }
        } else {
            return Err(invalid(
                "spec.provider.vault.auth needs one of tokenSecretRef, kubernetes, appRole",
            ));
        };
        Self::new(
            &config,
            spec.mount(),
            spec.kv_version(),
            auth,
            credentials,
            options,
        )
    }
}

//! Which store implementation serves a store spec: one small function per provider, behind a
//! trait so tests can put an in-memory store (`secrets-store-fake`) where Vault would be. The
//! next stores (aws, azure, gcp) plug in at [`Providers::open`].

use std::sync::Arc;
use std::time::Duration;

use secrets_core::api::SecretStoreSpec;
use secrets_core::store::{
    CallObserver, CredentialSource, ErrorKind, Store, StoreError, StoreType,
};

/// Everything a store is built from; the agent resolved the CA and the credentials.
pub struct OpenRequest<'a> {
    /// Names the store object in messages and logs (`SecretStore "vault"`).
    pub label: String,
    /// The store's spec.
    pub spec: &'a SecretStoreSpec,
    /// The `caProvider` bundle, read by the agent.
    pub ca_pem: Option<Vec<u8>>,
    /// Asked at every login.
    pub credentials: Arc<dyn CredentialSource>,
    /// Limit of one store call.
    pub timeout: Duration,
    /// Told about every call (`provider_calls_total`).
    pub observer: CallObserver,
}

/// Builds the store a spec names.
pub trait StoreFactory: Send + Sync {
    /// The store for `request.spec`; makes no request to it.
    fn open(&self, request: OpenRequest<'_>) -> Result<Arc<dyn Store>, StoreError>;
}

/// The stores this agent ships: today Vault / OpenBao.
#[derive(Debug, Default, Clone, Copy)]
pub struct Providers;

impl StoreFactory for Providers {
    fn open(&self, request: OpenRequest<'_>) -> Result<Arc<dyn Store>, StoreError> {
        if let Some(vault) = &request.spec.provider.vault {
            let options = secrets_store_vault::StoreOptions {
                label: request.label,
                timeout: request.timeout,
                observer: Some(request.observer),
                mount_check: true,
            };
            let store = secrets_store_vault::VaultStore::from_spec(
                vault,
                request.ca_pem,
                request.credentials,
                options,
            )?;
            return Ok(Arc::new(store));
        }
        Err(StoreError::new(
            StoreType::new("unknown"),
            ErrorKind::InvalidConfig,
            format!(
                "{} has no provider kubectl-secrets implements",
                request.label
            ),
        ))
    }
}

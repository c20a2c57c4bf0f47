//! Which store implementation serves a store spec: one arm per provider, behind a trait so
//! tests can put an in-memory store (`secrets-store-fake`) where a real one would be.
//!
//! Data flow: [`OpenRequest`] (spec, resolved CA and credentials, call limits) + the
//! process-wide [`Providers`] settings (endpoint overrides, batching, credential cache) →
//! `secrets_store_{vault,aws,azure,gcp}` → one `dyn Store`.

use std::sync::Arc;
use std::time::Duration;

use secrets_core::api::SecretStoreSpec;
use secrets_core::store::{
    CallObserver, CredentialSource, Endpoints, ErrorKind, OpenOptions, Store, StoreError, StoreType,
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

/// The stores this agent ships, with the process-wide settings the cloud stores take.
#[derive(Debug, Clone)]
pub struct Providers {
    /// Endpoint overrides (env and flags).
    pub endpoints: Endpoints,
    /// AWS `BatchGetSecretValue` for current versions (off only to measure).
    pub batch: bool,
    /// Cloud credentials kept until near expiry (off only to measure).
    pub credential_cache: bool,
}

impl Default for Providers {
    /// Public endpoints, batching and the credential cache on.
    fn default() -> Self {
        Providers {
            endpoints: Endpoints::default(),
            batch: true,
            credential_cache: true,
        }
    }
}

impl Providers {
    fn options(&self, request: &OpenRequest<'_>) -> OpenOptions {
        OpenOptions {
            label: request.label.clone(),
            timeout: request.timeout,
            observer: Some(request.observer.clone()),
            endpoints: self.endpoints.clone(),
            batch: self.batch,
            credential_cache: self.credential_cache,
            person: false,
        }
    }
}

impl StoreFactory for Providers {
    fn open(&self, request: OpenRequest<'_>) -> Result<Arc<dyn Store>, StoreError> {
        let provider = &request.spec.provider;
        if let Some(vault) = &provider.vault {
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
        let options = self.options(&request);
        let credentials = Arc::clone(&request.credentials);
        if let Some(aws) = &provider.aws {
            return secrets_store_aws::open(aws, credentials, options);
        }
        if let Some(azure) = &provider.azurekv {
            return secrets_store_azure::open(azure, credentials, options);
        }
        if let Some(gcp) = &provider.gcpsm {
            return secrets_store_gcp::open(gcp, credentials, options);
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

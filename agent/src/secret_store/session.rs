//! Store resolution and sessions, for any store: an ExternalSecret's `secretStoreRef` → the
//! store object (from a reflector cache, no API call) → checks (spec problems, ClusterSecretStore
//! namespace conditions) → the refs it points at (`secrets_core::store::refs`: CA, credentials,
//! each in its namespace) → the CA read here, the credentials handed over as a source the
//! store asks at each login ([`super::credentials`]) → one `dyn Store` per store object from
//! the [`StoreFactory`] → one [`Session`]. Editing a store replaces its session (the old one is
//! closed: a login's token is revoked).
//!
//! Nothing here speaks a store's protocol: token renewal, mount checks and what counts as "not
//! found" belong to each store crate behind the seam.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::reflector::{ObjectRef, Store as Reflector};
use secrets_core::api::secret_store::StoreKind;
use secrets_core::api::{ClusterSecretStore, SecretStore, SecretStoreSpec};
use secrets_core::store::refs::{self, Scope};
use secrets_core::store::{
    CallObserver, ErrorKind, ReadKey, RemoteValue, Store, StoreError, StoreType,
};
use secrets_core::sync::validate;

use super::credentials::{self, KubeCredentials};
use super::factory::{OpenRequest, StoreFactory};
use super::limiter::PriorityLimiter;

/// The store type of an error raised before a store implementation exists.
const UNKNOWN: StoreType = StoreType::new("unknown");

/// The store type a spec names (its provider), for errors and metrics before the store is
/// built.
pub(crate) fn provider_type(spec: &SecretStoreSpec) -> StoreType {
    let p = &spec.provider;
    if p.vault.is_some() {
        secrets_store_vault::STORE_TYPE
    } else if p.aws.is_some() {
        secrets_store_aws::STORE_TYPE
    } else if p.azurekv.is_some() {
        secrets_store_azure::STORE_TYPE
    } else if p.gcpsm.is_some() {
        secrets_store_gcp::STORE_TYPE
    } else {
        UNKNOWN
    }
}

/// Identity of a store object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct StoreKey {
    /// Its kind.
    pub(crate) kind: StoreKind,
    /// Its namespace (empty for a ClusterSecretStore).
    pub(crate) namespace: String,
    /// Its name.
    pub(crate) name: String,
}

impl std::fmt::Display for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.kind.as_str(), self.name)
    }
}

/// Who reads: the store object and the credentials it reads with (a description, never a
/// value). The read cache keys on it, so one identity's read is never served to another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Identity {
    /// The store object.
    pub(crate) store: StoreKey,
    /// The credentials (`refs::CredentialRef`'s description).
    pub(crate) credentials: String,
}

/// A usable view of one store object.
pub(crate) struct Session {
    /// The store object.
    pub(crate) key: StoreKey,
    /// The store's uid and generation it was made from.
    version: String,
    /// Who reads through it.
    pub(crate) identity: Identity,
    /// The store behind the seam.
    pub(crate) store: Arc<dyn Store>,
    /// Reads per second towards this store.
    pub(crate) limiter: PriorityLimiter,
}

impl Session {
    /// A session over `store` (tests build one directly).
    pub(crate) fn new(
        identity: Identity,
        version: String,
        store: Arc<dyn Store>,
        rate: u32,
    ) -> Session {
        Session {
            key: identity.store.clone(),
            version,
            identity,
            store,
            limiter: PriorityLimiter::new(rate, rate.saturating_mul(2)),
        }
    }

    /// Read one remote secret. `Err` of kind `NotFound` is the store's answer that it is
    /// gone: the one error on which synced data may be deleted.
    pub(crate) async fn read(&self, read: &ReadKey) -> Result<RemoteValue, StoreError> {
        self.store.read(read).await
    }

    /// Check that the store works (store status).
    pub(crate) async fn validate(&self) -> Result<(), StoreError> {
        self.store.check().await
    }

    async fn close(&self) {
        self.store.close().await;
    }
}

/// The reflector caches sessions are made from.
pub(crate) struct Caches {
    /// SecretStores.
    pub(crate) secret_stores: Reflector<SecretStore>,
    /// ClusterSecretStores.
    pub(crate) cluster_stores: Reflector<ClusterSecretStore>,
    /// Namespaces (their labels, for ClusterSecretStore conditions).
    pub(crate) namespaces: Reflector<Namespace>,
}

/// What identifies one edit of a store: its uid and generation.
pub(crate) fn version(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.uid.as_deref().unwrap_or_default(),
        meta.generation.unwrap_or_default()
    )
}

/// How sessions are made.
pub(crate) struct Settings {
    /// Builds a store from its spec.
    pub(crate) factory: Arc<dyn StoreFactory>,
    /// Told about every store call.
    pub(crate) observer: CallObserver,
    /// Reads per second per store.
    pub(crate) rate: u32,
    /// Limit of one store call.
    pub(crate) timeout: Duration,
}

/// All sessions, and the caches of stores they are made from.
pub(crate) struct Stores {
    kube: kube::Client,
    caches: Caches,
    sessions: Mutex<HashMap<StoreKey, Arc<Session>>>,
    settings: Settings,
}

impl Stores {
    /// Sessions over these reflector caches.
    pub(crate) fn new(kube: kube::Client, caches: Caches, settings: Settings) -> Stores {
        Stores {
            kube,
            caches,
            sessions: Mutex::new(HashMap::new()),
            settings,
        }
    }

    /// The spec of a store and its version (uid and generation), from the cache.
    pub(crate) fn spec(&self, key: &StoreKey) -> Option<(SecretStoreSpec, String)> {
        match key.kind {
            StoreKind::SecretStore => self
                .caches
                .secret_stores
                .get(&ObjectRef::new(&key.name).within(&key.namespace))
                .map(|s| (s.spec.clone(), version(&s.metadata))),
            StoreKind::ClusterSecretStore => self
                .caches
                .cluster_stores
                .get(&ObjectRef::new(&key.name))
                .map(|s| (s.spec.inner.clone(), version(&s.metadata))),
        }
    }

    /// The session for the store an ExternalSecret in `namespace` names, after every check.
    pub(crate) async fn for_external_secret(
        &self,
        kind: StoreKind,
        name: &str,
        namespace: &str,
    ) -> Result<Arc<Session>, StoreError> {
        let cluster = kind == StoreKind::ClusterSecretStore;
        let key = StoreKey {
            kind,
            namespace: if cluster {
                String::new()
            } else {
                namespace.to_owned()
            },
            name: name.to_owned(),
        };
        let Some((spec, version)) = self.spec(&key) else {
            let where_ = if cluster {
                String::new()
            } else {
                format!(" in namespace {namespace:?}")
            };
            // Not the store's "not found": nothing may be deleted for a missing store object.
            return Err(StoreError::new(
                UNKNOWN,
                ErrorKind::InvalidConfig,
                format!("{} {name:?} not found{where_}", kind.as_str()),
            ));
        };
        if cluster && !self.namespace_allowed(&spec, namespace) {
            return Err(StoreError::new(
                provider_type(&spec),
                ErrorKind::PermissionDenied,
                format!(
                    "ClusterSecretStore {name:?} does not allow namespace {namespace:?} (see its spec.conditions)"
                ),
            ));
        }
        self.session(&key, &spec, &version).await
    }

    fn namespace_allowed(&self, spec: &SecretStoreSpec, namespace: &str) -> bool {
        if spec.conditions.is_none() {
            return true;
        }
        // Labels from the namespace cache: no API call per reconcile.
        let labels = self
            .caches
            .namespaces
            .get(&ObjectRef::new(namespace))
            .and_then(|n| n.metadata.labels.clone())
            .unwrap_or_default();
        super::selector::namespace_admitted(spec, namespace, &labels)
    }

    /// The session for a store spec, made (or remade after an edit) as needed.
    pub(crate) async fn session(
        &self,
        key: &StoreKey,
        spec: &SecretStoreSpec,
        version: &str,
    ) -> Result<Arc<Session>, StoreError> {
        let replaced = {
            let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            match sessions.get(key) {
                // The hot path: the store has not changed since its session was made.
                Some(s) if s.version == version => return Ok(s.clone()),
                other => other.cloned(),
            }
        };
        let session = Arc::new(self.open(key, spec, version.to_owned()).await?);
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), session.clone());
        if let Some(old) = replaced {
            tokio::spawn(async move { old.close().await });
        }
        Ok(session)
    }

    /// Forget the session of a store that no longer exists.
    pub(crate) async fn forget(&self, key: &StoreKey) {
        let old = self
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        if let Some(old) = old {
            old.close().await;
        }
    }

    /// Check the spec, resolve its refs, read its CA, and let the factory build the store.
    async fn open(
        &self,
        key: &StoreKey,
        spec: &SecretStoreSpec,
        version: String,
    ) -> Result<Session, StoreError> {
        let cluster = key.kind == StoreKind::ClusterSecretStore;
        let invalid = |problems: String| {
            StoreError::new(
                provider_type(spec),
                ErrorKind::InvalidConfig,
                format!(
                    "{} {:?} is invalid: {problems}",
                    key.kind.as_str(),
                    key.name
                ),
            )
        };
        let problems = validate::store(spec, cluster);
        if !problems.is_empty() {
            return Err(invalid(problems.join("; ")));
        }
        let scope = if cluster {
            Scope::Cluster
        } else {
            Scope::Namespaced(&key.namespace)
        };
        let refs = refs::resolve(spec, scope).map_err(|e| invalid(e.message().to_owned()))?;
        let label = key.to_string();
        let ca_pem = match &refs.ca {
            Some(ca) => Some(credentials::read_ca(&self.kube, ca, &label).await?),
            None => None,
        };
        let identity = Identity {
            store: key.clone(),
            credentials: refs.credentials.to_string(),
        };
        let source = KubeCredentials::new(self.kube.clone(), refs.credentials, label.clone());
        let store = self.settings.factory.open(OpenRequest {
            label,
            spec,
            ca_pem,
            credentials: Arc::new(source),
            timeout: self.settings.timeout,
            observer: self.settings.observer.clone(),
        })?;
        Ok(Session::new(identity, version, store, self.settings.rate))
    }
}

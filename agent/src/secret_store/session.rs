//! Store resolution and provider sessions: an ExternalSecret's `secretStoreRef` → the store
//! object (from a reflector cache, no API call) → checks (spec problems, ClusterSecretStore
//! namespace conditions) → one [`Session`] per store: one Vault client and one token, renewed
//! before it expires instead of a login per reconcile. Editing a store replaces its session.
//!
//! Each session also keeps what Vault says its mount is (engine and KV version, read once and
//! again at every store validation). A read goes ahead only if the mount is the KV version the
//! store names; a "not found" answer counts (and may delete synced data) only when the mount
//! could be checked, because a KV v1 mount read as v2 says "not found" for every key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use kube::api::{Api, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use secrets_core::api::secret_store::{CaProviderType, KvVersion, StoreKind, VaultProvider};
use secrets_core::api::{ClusterSecretStore, SecretKeySelector, SecretStore, SecretStoreSpec};
use secrets_core::sync::validate;
use secrets_core::vault::{
    self, KvSecret, MountInfo, Observer, Token, VaultClient, VaultConfig, VaultError,
};
use zeroize::Zeroizing;

use super::limiter::PriorityLimiter;

/// Lifetime asked of service-account tokens for Vault logins (ESO uses the same).
const SA_TOKEN_SECONDS: i64 = 600;

/// Why a store cannot be used; the message goes into `Ready=False` as it is (never a value).
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// No such store.
    #[error("{kind} {name:?} not found{where_}")]
    NotFound {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
        /// ` in namespace "x"` or empty.
        where_: String,
    },
    /// The store's spec has problems.
    #[error("{kind} {name:?} is invalid: {problems}")]
    Invalid {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
        /// What is wrong.
        problems: String,
    },
    /// A ClusterSecretStore's conditions exclude the namespace.
    #[error(
        "ClusterSecretStore {name:?} does not allow namespace {namespace:?} (see its spec.conditions)"
    )]
    NamespaceNotAllowed {
        /// Store name.
        name: String,
        /// The ExternalSecret's namespace.
        namespace: String,
    },
    /// Getting credentials from Kubernetes failed.
    #[error("{doing}: {cause}")]
    Credentials {
        /// What we were doing.
        doing: String,
        /// Why it failed.
        cause: String,
    },
    /// Vault's mount metadata says the store's KV version is wrong for its mount.
    #[error("spec.provider.vault.version is {expected}, but vault mount {mount:?} is {found}")]
    MountMismatch {
        /// The store's version.
        expected: vault::KvVersion,
        /// The mount as Vault names it.
        mount: String,
        /// What it is (`KV v1`, `a "transit" engine`).
        found: String,
    },
    /// The mount's metadata could not be read.
    #[error("checking vault mount {mount:?}: {source}")]
    MountCheck {
        /// The store's `spec.provider.vault.path`.
        mount: String,
        /// Why.
        source: VaultError,
    },
    /// Vault answered "not found" on a mount whose KV version could not be checked: not
    /// trusted as "the secret is gone".
    #[error(
        "{source}, but the KV version of vault mount {mount:?} could not be checked ({why}), \
         so this answer changes nothing"
    )]
    UnverifiedNotFound {
        /// The `NotFound` answer.
        source: VaultError,
        /// The store's `spec.provider.vault.path`.
        mount: String,
        /// Why the mount could not be checked.
        why: String,
    },
    /// Vault answered with an error.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl StoreError {
    /// Whether retrying soon may help (the provider or the API had trouble).
    pub(crate) fn transient(&self) -> bool {
        match self {
            StoreError::Vault(e) | StoreError::MountCheck { source: e, .. } => e.is_transient(),
            StoreError::Credentials { .. } => true,
            _ => false,
        }
    }
}

/// Identity of a store.
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

enum Auth {
    Token(SecretKeySelector),
    Kubernetes {
        mount: String,
        role: String,
        namespace: String,
        service_account: String,
        audiences: Vec<String>,
    },
    AppRole {
        mount: String,
        role_id: String,
        secret: SecretKeySelector,
    },
}

/// A logged-in view of one store.
pub(crate) struct Session {
    /// The store.
    pub(crate) key: StoreKey,
    /// The store's uid and generation it was made from.
    version: String,
    client: VaultClient,
    mount: String,
    engine: vault::KvVersion,
    auth: Auth,
    /// Namespace where credential refs without one live (the SecretStore's).
    ref_namespace: String,
    kube: kube::Client,
    token: tokio::sync::Mutex<Option<Token>>,
    /// What Vault says the mount is; `None` until first asked.
    mount_state: tokio::sync::Mutex<Option<MountState>>,
    /// Whether "the token's TTL is unknown" was logged (once per session).
    lease_unknown_logged: AtomicBool,
    /// Reads per second towards this store.
    pub(crate) limiter: PriorityLimiter,
}

/// The mount's metadata as last read.
enum MountState {
    /// Vault described the mount.
    Known(MountInfo),
    /// Vault refused to describe it (not transiently): reads go ahead, but their "not found"
    /// is not trusted. Forgotten with the token, since a stale token is one cause.
    Unknown(VaultError),
}

fn secret_key(sel: &SecretKeySelector, default_key: &str) -> String {
    sel.key.clone().unwrap_or_else(|| default_key.to_owned())
}

impl Session {
    async fn secret_value(
        &self,
        sel: &SecretKeySelector,
        default_key: &str,
    ) -> Result<Zeroizing<String>, StoreError> {
        let namespace = sel
            .namespace
            .clone()
            .unwrap_or_else(|| self.ref_namespace.clone());
        let key = secret_key(sel, default_key);
        let doing = format!(
            "reading key {key:?} of Secret {namespace}/{} for {}",
            sel.name, self.key
        );
        let api: Api<Secret> = Api::namespaced(self.kube.clone(), &namespace);
        let secret = api
            .get_opt(&sel.name)
            .await
            .map_err(|e| StoreError::Credentials {
                doing: doing.clone(),
                cause: e.to_string(),
            })?
            .ok_or_else(|| StoreError::Credentials {
                doing: doing.clone(),
                cause: "the Secret does not exist".into(),
            })?;
        let bytes = secret
            .data
            .and_then(|mut d| d.remove(&key))
            .ok_or_else(|| StoreError::Credentials {
                doing: doing.clone(),
                cause: "the Secret has no such key".into(),
            })?;
        let text = String::from_utf8(bytes.0).map_err(|_| StoreError::Credentials {
            doing,
            cause: "the value is not UTF-8".into(),
        })?;
        Ok(Zeroizing::new(text.trim().to_owned()))
    }

    async fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[String],
    ) -> Result<Zeroizing<String>, StoreError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.kube.clone(), namespace);
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: audiences.to_vec(),
                expiration_seconds: Some(SA_TOKEN_SECONDS),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = api
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .map_err(|e| StoreError::Credentials {
                doing: format!(
                    "requesting a token for service account {namespace}/{name} for {}",
                    self.key
                ),
                cause: e.to_string(),
            })?;
        let token = answer.status.map(|s| s.token).unwrap_or_default();
        Ok(Zeroizing::new(token))
    }

    async fn login(&self) -> Result<Token, StoreError> {
        Ok(match &self.auth {
            Auth::Token(sel) => {
                self.client
                    .use_token(self.secret_value(sel, "token").await?)
                    .await?
            }
            Auth::Kubernetes {
                mount,
                role,
                namespace,
                service_account,
                audiences,
            } => {
                let jwt = self
                    .service_account_token(namespace, service_account, audiences)
                    .await?;
                self.client.login_kubernetes(mount, role, &jwt).await?
            }
            Auth::AppRole {
                mount,
                role_id,
                secret,
            } => {
                let secret_id = self.secret_value(secret, "secretId").await?;
                self.client
                    .login_approle(mount, role_id, &secret_id)
                    .await?
            }
        })
    }

    /// A usable token: the cached one, renewed when past two thirds of its life, else a login.
    pub(crate) async fn token(&self) -> Result<Token, StoreError> {
        let mut slot = self.token.lock().await;
        let now = Instant::now();
        if let Some(token) = slot.as_ref() {
            if !token.needs_renewal(now) {
                return Ok(token.clone());
            }
            if token.renewable() && !token.is_expired(now) {
                match self.client.renew_self(token, None).await {
                    Ok(renewed) => {
                        *slot = Some(renewed.clone());
                        return Ok(renewed);
                    }
                    Err(err) => {
                        tracing::info!(store = %self.key, error = %err, "token renewal failed; logging in again")
                    }
                }
            }
        }
        let token = self.login().await?;
        if !token.lease_known() && !self.lease_unknown_logged.swap(true, Ordering::Relaxed) {
            tracing::info!(
                store = %self.key,
                "auth/token/lookup-self was denied for the store's token, so its TTL is unknown \
                 and it is never renewed; reads show whether it works"
            );
        }
        *slot = Some(token.clone());
        Ok(token)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
        let mut mount = self.mount_state.lock().await;
        if matches!(*mount, Some(MountState::Unknown(_))) {
            *mount = None;
        }
    }

    /// Ask Vault what the mount is and remember it. A refusal is remembered as unknown; a
    /// transient failure is returned.
    async fn fetch_mount(&self, token: &Token) -> Result<MountState, StoreError> {
        match self.client.mount_info(token, &self.mount).await {
            Ok(info) => Ok(MountState::Known(info)),
            Err(source) if source.is_transient() => Err(StoreError::MountCheck {
                mount: self.mount.clone(),
                source,
            }),
            Err(source) => Ok(MountState::Unknown(source)),
        }
    }

    /// The mount against the store's KV version: `Ok(None)` when it matches, `Ok(Some(why))`
    /// when it could not be checked, `Err` on a mismatch. Asks Vault only when nothing is
    /// remembered (concurrent first reads wait for one answer).
    async fn check_mount(&self, token: &Token) -> Result<Option<String>, StoreError> {
        let mut slot = self.mount_state.lock().await;
        let state = match slot.take() {
            Some(state) => state,
            None => self.fetch_mount(token).await?,
        };
        let state = slot.insert(state);
        match state {
            MountState::Known(info) => match info.expect_kv(self.engine) {
                Ok(()) => Ok(None),
                Err(VaultError::MountMismatch {
                    mount,
                    found,
                    expected,
                }) => Err(StoreError::MountMismatch {
                    expected,
                    mount,
                    found,
                }),
                Err(other) => Err(other.into()),
            },
            MountState::Unknown(why) => Ok(Some(why.to_string())),
        }
    }

    /// Read one remote secret. `Err(Vault(NotFound))` is an answer, not a failure, and only
    /// comes from a mount checked to be the store's KV version: it is the one error on which
    /// synced data may be deleted.
    pub(crate) async fn read(
        &self,
        key: &str,
        version: Option<u64>,
    ) -> Result<KvSecret, StoreError> {
        let token = self.token().await?;
        let unchecked = self.check_mount(&token).await?;
        match self
            .client
            .kv_read(&token, &self.mount, self.engine, key, version)
            .await
        {
            Err(err @ VaultError::PermissionDenied { .. }) => {
                // The token may have been revoked: the next attempt logs in again.
                self.forget_token().await;
                Err(err.into())
            }
            Err(source @ VaultError::NotFound { .. }) => Err(match unchecked {
                None => source.into(),
                Some(why) => StoreError::UnverifiedNotFound {
                    source,
                    mount: self.mount.clone(),
                    why,
                },
            }),
            other => Ok(other?),
        }
    }

    /// Check that the store works: a token, and Vault's description of the mount, which the
    /// token can read only with some capability under the mount (a real check of access,
    /// unlike `lookup-self`, which a least-privilege token may lack) and which shows whether
    /// the store's KV version is the mount's.
    pub(crate) async fn validate(&self) -> Result<(), StoreError> {
        let token = self.token().await?;
        let state = self.fetch_mount(&token).await?;
        if let MountState::Unknown(source) = state {
            // Possibly a revoked token: the next attempt logs in again.
            self.forget_token().await;
            return Err(StoreError::MountCheck {
                mount: self.mount.clone(),
                source,
            });
        }
        *self.mount_state.lock().await = Some(state);
        self.check_mount(&token).await.map(drop)
    }

    /// Give the token back to Vault (a login we made; never a token from a Secret).
    async fn close(&self) {
        if matches!(self.auth, Auth::Token(_)) {
            return;
        }
        if let Some(token) = self.token.lock().await.take()
            && let Err(err) = self.client.revoke_self(&token).await
        {
            tracing::debug!(store = %self.key, error = %err, "revoking a replaced store's token");
        }
    }
}

/// The reflector caches sessions are made from.
pub(crate) struct Caches {
    /// SecretStores.
    pub(crate) secret_stores: Store<SecretStore>,
    /// ClusterSecretStores.
    pub(crate) cluster_stores: Store<ClusterSecretStore>,
    /// Namespaces (their labels, for ClusterSecretStore conditions).
    pub(crate) namespaces: Store<Namespace>,
}

/// What identifies one edit of a store: its uid and generation.
pub(crate) fn version(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.uid.as_deref().unwrap_or_default(),
        meta.generation.unwrap_or_default()
    )
}

/// All sessions, and the caches of stores they are made from.
pub(crate) struct Stores {
    kube: kube::Client,
    secret_stores: Store<SecretStore>,
    cluster_stores: Store<ClusterSecretStore>,
    namespaces: Store<Namespace>,
    sessions: Mutex<HashMap<StoreKey, Arc<Session>>>,
    observer: Observer,
    rate: u32,
    timeout: Duration,
}

impl Stores {
    /// Sessions over these reflector caches; `rate` reads per second per store.
    pub(crate) fn new(
        kube: kube::Client,
        caches: Caches,
        observer: Observer,
        rate: u32,
        timeout: Duration,
    ) -> Stores {
        Stores {
            kube,
            secret_stores: caches.secret_stores,
            cluster_stores: caches.cluster_stores,
            namespaces: caches.namespaces,
            sessions: Mutex::new(HashMap::new()),
            observer,
            rate,
            timeout,
        }
    }

    /// The spec of a store and its version (uid and generation), from the cache.
    pub(crate) fn spec(&self, key: &StoreKey) -> Option<(SecretStoreSpec, String)> {
        match key.kind {
            StoreKind::SecretStore => self
                .secret_stores
                .get(&ObjectRef::new(&key.name).within(&key.namespace))
                .map(|s| (s.spec.clone(), version(&s.metadata))),
            StoreKind::ClusterSecretStore => self
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
        let key = StoreKey {
            kind,
            namespace: if kind == StoreKind::SecretStore {
                namespace.to_owned()
            } else {
                String::new()
            },
            name: name.to_owned(),
        };
        let (spec, version) = self.spec(&key).ok_or_else(|| StoreError::NotFound {
            kind: kind.as_str(),
            name: name.to_owned(),
            where_: if kind == StoreKind::SecretStore {
                format!(" in namespace {namespace:?}")
            } else {
                String::new()
            },
        })?;
        if kind == StoreKind::ClusterSecretStore && !self.namespace_allowed(&spec, namespace) {
            return Err(StoreError::NamespaceNotAllowed {
                name: name.to_owned(),
                namespace: namespace.to_owned(),
            });
        }
        self.session(&key, &spec, &version).await
    }

    fn namespace_allowed(&self, spec: &SecretStoreSpec, namespace: &str) -> bool {
        let Some(conditions) = &spec.conditions else {
            return true;
        };
        // Labels from the namespace cache: no API call per reconcile.
        let labels = self
            .namespaces
            .get(&ObjectRef::new(namespace))
            .and_then(|n| n.metadata.labels.clone())
            .unwrap_or_default();
        conditions.iter().any(|c| {
            c.namespaces.iter().flatten().any(|n| n == namespace)
                || c.namespace_selector.as_ref().is_some_and(|selector| {
                    crate::external_secret::selector_matches(selector, &labels)
                })
        })
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
        let kind = key.kind.as_str();
        let problems = validate::store(spec, key.kind == StoreKind::ClusterSecretStore);
        if !problems.is_empty() {
            return Err(StoreError::Invalid {
                kind,
                name: key.name.clone(),
                problems: problems.join("; "),
            });
        }
        let Some(vault_spec) = &spec.provider.vault else {
            return Err(StoreError::Invalid {
                kind,
                name: key.name.clone(),
                problems: "no provider".into(),
            });
        };
        let session = Arc::new(self.open(key, vault_spec, version.to_owned()).await?);
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), session.clone());
        if let Some(old) = replaced {
            tokio::spawn(async move { old.close().await });
        }
        Ok(session)
    }

    /// Forget sessions of stores that no longer exist.
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

    async fn open(
        &self,
        key: &StoreKey,
        spec: &VaultProvider,
        version: String,
    ) -> Result<Session, StoreError> {
        let ref_namespace = key.namespace.clone();
        let mut config = VaultConfig::new(spec.server.clone()).with_timeout(self.timeout);
        if let Some(ns) = &spec.namespace {
            config = config.with_namespace(ns.clone());
        }
        if let Some(b64) = &spec.ca_bundle {
            use base64::Engine as _;
            let pem = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| StoreError::Invalid {
                    kind: key.kind.as_str(),
                    name: key.name.clone(),
                    problems: "spec.provider.vault.caBundle is not base64".into(),
                })?;
            config = config.with_ca_bundle(pem);
        }
        if let Some(ca) = &spec.ca_provider {
            let namespace = ca
                .namespace
                .clone()
                .unwrap_or_else(|| ref_namespace.clone());
            let doing = format!(
                "reading the CA bundle {:?} key {:?} in {namespace:?} for {key}",
                ca.name, ca.key
            );
            let fail = |cause: String| StoreError::Credentials {
                doing: doing.clone(),
                cause,
            };
            let pem = match ca.type_ {
                CaProviderType::Secret => Api::<Secret>::namespaced(self.kube.clone(), &namespace)
                    .get_opt(&ca.name)
                    .await
                    .map_err(|e| fail(e.to_string()))?
                    .and_then(|s| s.data)
                    .and_then(|mut d| d.remove(&ca.key))
                    .map(|b| b.0),
                CaProviderType::ConfigMap => {
                    Api::<ConfigMap>::namespaced(self.kube.clone(), &namespace)
                        .get_opt(&ca.name)
                        .await
                        .map_err(|e| fail(e.to_string()))?
                        .and_then(|c| c.data)
                        .and_then(|mut d| d.remove(&ca.key))
                        .map(String::into_bytes)
                }
            }
            .ok_or_else(|| fail("not found".into()))?;
            config = config.with_ca_bundle(pem);
        }
        let client = VaultClient::new(&config)?.with_observer(self.observer.clone());
        let auth = &spec.auth;
        let auth = if let Some(sel) = &auth.token_secret_ref {
            Auth::Token(sel.clone())
        } else if let Some(k) = &auth.kubernetes {
            let sa = k.service_account_ref.clone().unwrap_or_default();
            Auth::Kubernetes {
                mount: k.mount_path.clone().unwrap_or_else(|| "kubernetes".into()),
                role: k.role.clone(),
                namespace: sa.namespace.unwrap_or_else(|| ref_namespace.clone()),
                service_account: sa.name,
                audiences: sa.audiences.unwrap_or_default(),
            }
        } else if let Some(a) = &auth.app_role {
            Auth::AppRole {
                mount: a.path.clone().unwrap_or_else(|| "approle".into()),
                role_id: a.role_id.clone().unwrap_or_default(),
                secret: a.secret_ref.clone(),
            }
        } else {
            return Err(StoreError::Invalid {
                kind: key.kind.as_str(),
                name: key.name.clone(),
                problems: "no auth method".into(),
            });
        };
        Ok(Session {
            key: key.clone(),
            version,
            client,
            mount: spec.mount().to_owned(),
            engine: match spec.kv_version() {
                KvVersion::V1 => vault::KvVersion::V1,
                KvVersion::V2 => vault::KvVersion::V2,
            },
            auth,
            ref_namespace,
            kube: self.kube.clone(),
            token: tokio::sync::Mutex::new(None),
            mount_state: tokio::sync::Mutex::new(None),
            lease_unknown_logged: AtomicBool::new(false),
            limiter: PriorityLimiter::new(self.rate, self.rate.saturating_mul(2)),
        })
    }
}

#[cfg(test)]
mod tests;

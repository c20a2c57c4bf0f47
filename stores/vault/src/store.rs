//! The Vault / OpenBao store behind the seam: a store spec (`spec.provider.vault`) → client
//! configuration, auth method and mount → [`VaultStore`], which logs in with the credentials its
//! caller passes in, keeps one token (renewed at two thirds of its lease instead of a login per
//! read), checks the mount, and maps every [`VaultError`] onto the seam's [`StoreError`].
//!
//! Data flow:
//!
//! ```text
//!  VaultProvider + CA PEM (resolved by the caller) + CredentialSource ──[from_spec]──▶ VaultStore
//!  read(ReadKey) ──▶ token() (cached │ renew-self │ login with fresh credentials)
//!               ──▶ check_mount() (sys/internal/ui/mounts, once per session)
//!               ──▶ kv_read ──▶ RemoteValue │ StoreError
//! ```
//!
//! The mount check guards deletions: a KV v1 mount read as v2 answers "not found" for every
//! key, so a "not found" counts ([`ErrorKind::NotFound`]) only when the mount could be checked
//! to be the KV version the store names; on an unchecked mount it is
//! [`ErrorKind::BadResponse`]. A store read by a person (the plugin, which deletes nothing) may
//! skip the check ([`StoreOptions::mount_check`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use secrets_core::api::secret_store::VaultKvVersion;
use secrets_core::store::{
    CredentialSource, Credentials, ErrorKind, ReadKey, RemoteValue, Store, StoreError, StoreFuture,
    StoreType,
};

use crate::{KvVersion, MountInfo, STORE_TYPE, Token, VaultClient, VaultConfig, VaultError};

mod spec;

pub(crate) use spec::store_error;
pub use spec::{AuthMethod, StoreOptions, check_version};
use spec::{engine, invalid};

/// One Vault KV mount, logged in.
pub struct VaultStore {
    label: String,
    client: VaultClient,
    mount: String,
    engine: KvVersion,
    auth: AuthMethod,
    credentials: Arc<dyn CredentialSource>,
    mount_check: bool,
    token: tokio::sync::Mutex<Option<Token>>,
    /// What Vault says the mount is; `None` until first asked.
    mount_state: tokio::sync::Mutex<Option<MountState>>,
    /// Whether "the token's TTL is unknown" was logged (once per store).
    lease_unknown_logged: AtomicBool,
}

/// The mount's metadata as last read.
enum MountState {
    /// Vault described the mount.
    Known(MountInfo),
    /// Vault refused to describe it (not transiently): reads go ahead, but their "not found"
    /// is not trusted. Forgotten with the token, since a stale token is one cause.
    Unknown(VaultError),
}

impl VaultStore {
    /// A store for the KV `engine` mount at `mount` of the server `config` describes (the
    /// plugin builds its own configuration from a person's environment).
    pub fn new(
        config: &VaultConfig,
        mount: &str,
        engine_version: VaultKvVersion,
        auth: AuthMethod,
        credentials: Arc<dyn CredentialSource>,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let mut client = VaultClient::new(config).map_err(|e| store_error(&e))?;
        if let Some(observer) = options.observer {
            client = client.with_observer(Arc::new(move |call, outcome| {
                observer(STORE_TYPE, call.as_str(), outcome.as_str())
            }));
        }
        Ok(VaultStore {
            label: options.label,
            client,
            mount: mount.to_owned(),
            engine: engine(engine_version),
            auth,
            credentials,
            mount_check: options.mount_check,
            token: tokio::sync::Mutex::new(None),
            mount_state: tokio::sync::Mutex::new(None),
            lease_unknown_logged: AtomicBool::new(false),
        })
    }

    /// The server URL.
    pub fn server(&self) -> &str {
        self.client.server()
    }

    /// The KV mount.
    pub fn mount(&self) -> &str {
        &self.mount
    }

    /// How many calls of this kind the store made (tests, benchmarks).
    pub fn calls(&self, call: crate::Call) -> u64 {
        self.client.calls(call)
    }

    /// Log in now (or reuse the token): the plugin checks a person's token before browsing.
    pub async fn login(&self) -> Result<(), StoreError> {
        self.token().await.map(drop)
    }

    async fn fresh_login(&self) -> Result<Token, StoreError> {
        let credentials = self.credentials.credentials().await?;
        let client = &self.client;
        let result = match (&self.auth, credentials) {
            (AuthMethod::Token { look_up: true }, Credentials::Token(token)) => {
                client.login_token(token).await
            }
            (AuthMethod::Token { look_up: false }, Credentials::Token(token)) => {
                client.use_token(token).await
            }
            (
                AuthMethod::Kubernetes { mount, role },
                Credentials::ServiceAccountToken { token, .. },
            ) => client.login_kubernetes(mount, role, &token).await,
            (AuthMethod::AppRole { mount }, Credentials::AppRole { role_id, secret_id }) => {
                client.login_approle(mount, &role_id, &secret_id).await
            }
            (auth, other) => {
                return Err(invalid(format!(
                    "the vault {auth:?} login was given {} credentials",
                    other.kind()
                )));
            }
        };
        result.map_err(|e| store_error(&e))
    }

    /// A usable token: the cached one, renewed when past two thirds of its life, else a login.
    async fn token(&self) -> Result<Token, StoreError> {
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
                        tracing::info!(store = %self.label, error = %err, "token renewal failed; logging in again")
                    }
                }
            }
        }
        let token = self.fresh_login().await?;
        if !token.lease_known() && !self.lease_unknown_logged.swap(true, Ordering::Relaxed) {
            tracing::info!(
                store = %self.label,
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

    /// Vault's errors carry only text (no typed cause), so its text is part of this message.
    fn mount_check_failed(&self, source: &VaultError) -> StoreError {
        StoreError::new(
            STORE_TYPE,
            store_error(source).kind(),
            format!("checking vault mount {:?}: {source}", self.mount),
        )
    }

    /// Ask Vault what the mount is. A refusal is remembered as unknown; a transient failure
    /// is returned.
    async fn fetch_mount(&self, token: &Token) -> Result<MountState, StoreError> {
        match self.client.mount_info(token, &self.mount).await {
            Ok(info) => Ok(MountState::Known(info)),
            Err(source) if source.is_transient() => Err(self.mount_check_failed(&source)),
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
        match slot.insert(state) {
            MountState::Known(info) => match info.expect_kv(self.engine) {
                Ok(()) => Ok(None),
                Err(VaultError::MountMismatch {
                    mount,
                    found,
                    expected,
                }) => Err(invalid(format!(
                    "spec.provider.vault.version is {expected}, but vault mount {mount:?} is {found}"
                ))),
                Err(other) => Err(store_error(&other)),
            },
            MountState::Unknown(why) => Ok(Some(why.to_string())),
        }
    }

    async fn read_value(&self, read: &ReadKey) -> Result<RemoteValue, StoreError> {
        let version = match read.version.as_deref() {
            None => None,
            Some(v) => Some(v.parse::<u64>().map_err(|_| {
                invalid(format!(
                    "version {v:?} of {:?} must be a KV v2 version number",
                    read.key
                ))
            })?),
        };
        let token = self.token().await?;
        let unchecked = if self.mount_check {
            self.check_mount(&token).await?
        } else {
            None
        };
        match self
            .client
            .kv_read(&token, &self.mount, self.engine, &read.key, version)
            .await
        {
            Ok(secret) => Ok(secret.into_value()),
            Err(err @ VaultError::PermissionDenied { .. }) => {
                // The token may have been revoked: the next attempt logs in again.
                self.forget_token().await;
                Err(store_error(&err))
            }
            Err(source @ VaultError::NotFound { .. }) => Err(match unchecked {
                None => store_error(&source),
                Some(why) => StoreError::new(
                    STORE_TYPE,
                    ErrorKind::BadResponse,
                    format!(
                        "{source}, but the KV version of vault mount {:?} could not be checked \
                         ({why}), so this answer changes nothing",
                        self.mount
                    ),
                ),
            }),
            Err(err) => Err(store_error(&err)),
        }
    }

    /// Check that the store works: a token, and Vault's description of the mount, which the
    /// token can read only with some capability under the mount (a real check of access,
    /// unlike `lookup-self`, which a least-privilege token may lack) and which shows whether
    /// the store's KV version is the mount's.
    async fn validate(&self) -> Result<(), StoreError> {
        let token = self.token().await?;
        let state = self.fetch_mount(&token).await?;
        if let MountState::Unknown(source) = &state {
            // Possibly a revoked token: the next attempt logs in again.
            let err = self.mount_check_failed(source);
            self.forget_token().await;
            return Err(err);
        }
        *self.mount_state.lock().await = Some(state);
        self.check_mount(&token).await.map(drop)
    }
}

impl Store for VaultStore {
    fn store_type(&self) -> StoreType {
        STORE_TYPE
    }

    fn check_version(&self, version: &str) -> Result<(), String> {
        let spec_version = match self.engine {
            KvVersion::V1 => VaultKvVersion::V1,
            KvVersion::V2 => VaultKvVersion::V2,
        };
        check_version(spec_version, version)
    }

    fn read<'a>(&'a self, read: &'a ReadKey) -> StoreFuture<'a, RemoteValue> {
        Box::pin(self.read_value(read))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async move {
            let token = self.token().await?;
            self.client
                .kv_list(&token, &self.mount, self.engine, prefix)
                .await
                .map_err(|e| store_error(&e))
        })
    }

    fn check(&self) -> StoreFuture<'_, ()> {
        Box::pin(self.validate())
    }

    fn login(&self) -> StoreFuture<'_, ()> {
        Box::pin(VaultStore::login(self))
    }

    /// Give the token back to Vault (a login we made; never a token we were given).
    fn close(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if matches!(self.auth, AuthMethod::Token { .. }) {
                return;
            }
            if let Some(token) = self.token.lock().await.take()
                && let Err(err) = self.client.revoke_self(&token).await
            {
                tracing::debug!(store = %self.label, error = %err, "revoking a replaced store's token");
            }
        })
    }
}

#[cfg(test)]
mod tests;

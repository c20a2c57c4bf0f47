//! The GCP Secret Manager store behind the seam: a read is one `:access` of the secret's
//! version (`latest` unless pinned) with the store's access token; `LatestOrFetch` reads the
//! newest ENABLED version when `latest` is disabled or destroyed; `metadataPolicy: Fetch`
//! reads the secret's labels and annotations instead; a listing pages through the secrets of
//! the project (or location).
//!
//! Data flow:
//!
//! ```text
//!  read(ReadKey) ──▶ check key, version ──▶ Auth::token ──▶ Client::access ──▶ Accessed
//!     (FAILED_PRECONDITION on latest + LatestOrFetch ──▶ newest_enabled ──▶ access N)
//!     ──▶ RemoteValue::raw(bytes)     │ 401 ──▶ forget the token ──▶ StoreError
//!  read(ReadKey{metadata}) ──▶ Client::metadata ──▶ RemoteValue {labels, annotations}
//!  list(prefix) ──▶ Client::list_page… ──▶ names starting with prefix
//!  check() ──▶ a token, then a one-entry list (403 still proves the token is accepted)
//! ```

use std::future::Future;
use std::pin::Pin;

use secrets_core::store::{ReadKey, RemoteValue, Store, StoreError, StoreFuture, StoreType};

use crate::auth::Auth;
use crate::client::Client;
use crate::observe::Call;
use crate::spec::{StoreSpec, VersionPolicy, check_version, secret_ok};
use crate::{GcpError, STORE_TYPE};

/// One GCP Secret Manager project (or location), logged in as one identity.
pub struct GcpStore {
    pub(crate) spec: StoreSpec,
    pub(crate) client: Client,
    pub(crate) auth: Auth,
}

impl GcpStore {
    /// How many calls of this kind the store made (tests, benchmarks).
    pub fn calls(&self, call: Call) -> u64 {
        self.client.calls(call)
    }

    /// The Secret Manager endpoint the store reads from.
    pub fn secret_manager_endpoint(&self) -> &str {
        &self.client.endpoints.secret_manager
    }

    fn secret<'k>(&self, key: &'k str) -> Result<&'k str, GcpError> {
        let secret = key.trim_matches('/');
        if secret_ok(secret) {
            Ok(secret)
        } else {
            Err(GcpError::Config(format!(
                "remote key {key:?} is not a GCP secret id (1-255 letters, digits, - and _; the \
                 store's projectID and location say where it is)"
            )))
        }
    }

    /// A call with the token; a refused token is dropped so the next call logs in again.
    async fn with_token<T, F, Fut>(&self, call: F) -> Result<T, StoreError>
    where
        F: FnOnce(crate::token::AccessToken) -> Fut,
        Fut: Future<Output = Result<T, GcpError>>,
    {
        let token = self.auth.token(&self.client).await?;
        match call(token).await {
            Ok(value) => Ok(value),
            Err(err) => {
                if err.token_refused() {
                    self.auth.forget().await;
                }
                Err(err.into())
            }
        }
    }

    async fn read_value(&self, read: &ReadKey) -> Result<RemoteValue, StoreError> {
        let secret = self.secret(&read.key)?;
        let name = self.client.secret_name(secret);
        if read.metadata {
            let data = self
                .with_token(|t| async move { self.client.metadata(&t.value, secret).await })
                .await?;
            return Ok(RemoteValue::new(STORE_TYPE, name, None, data));
        }
        let version = read.version.as_deref().unwrap_or("latest");
        check_version(version)
            .map_err(|why| GcpError::Config(format!("{why} (remote key {secret:?})")))?;
        let fetch = self.spec.policy == VersionPolicy::LatestOrFetch && version == "latest";
        let name_ref = &name;
        let accessed = self
            .with_token(|t| async move {
                match self.client.access(&t.value, secret, version).await {
                    Err(err) if err.is_failed_precondition() && fetch => {
                        let newest = self.client.newest_enabled(&t.value, secret).await?;
                        let Some(newest) = newest else {
                            return Err(GcpError::Unreadable(format!(
                                "gcpsm secret {name_ref} has no ENABLED version (secretVersionSelectionPolicy: LatestOrFetch)"
                            )));
                        };
                        self.client.access(&t.value, secret, &newest.to_string()).await
                    }
                    Err(err) if err.is_failed_precondition() && version == "latest" => Err(GcpError::Unreadable(format!(
                        "{err}; set spec.provider.gcpsm.secretVersionSelectionPolicy: LatestOrFetch to read the newest ENABLED version instead"
                    ))),
                    other => other,
                }
            })
            .await?;
        Ok(RemoteValue::raw(
            STORE_TYPE,
            format!("{name}/versions/{}", accessed.version),
            Some(accessed.version),
            accessed.data,
        ))
    }

    async fn list_names(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let asked = page.clone();
            let (found, next) = self
                .with_token(|t| async move {
                    self.client
                        .list_page(&t.value, asked.as_deref(), None)
                        .await
                })
                .await?;
            names.extend(found.into_iter().filter(|n| n.starts_with(prefix)));
            match next {
                Some(next) if Some(&next) != page.as_ref() => page = Some(next),
                _ => break,
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn validate(&self) -> Result<(), StoreError> {
        let token = self.auth.token(&self.client).await?;
        match self.client.list_page(&token.value, None, Some(1)).await {
            // A least-privilege identity may read secrets without listing them: a 403 still
            // shows Secret Manager took the token, which is what can be checked without a
            // key to read.
            Ok(_) | Err(GcpError::Api { http: 403, .. }) => Ok(()),
            Err(err) => {
                if err.token_refused() {
                    self.auth.forget().await;
                }
                Err(err.into())
            }
        }
    }
}

impl Store for GcpStore {
    fn store_type(&self) -> StoreType {
        STORE_TYPE
    }

    fn check_version(&self, version: &str) -> Result<(), String> {
        check_version(version)
    }

    fn read<'a>(&'a self, read: &'a ReadKey) -> StoreFuture<'a, RemoteValue> {
        Box::pin(self.read_value(read))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(self.list_names(prefix))
    }

    fn login(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.auth.token(&self.client).await.map(drop) })
    }

    fn check(&self) -> StoreFuture<'_, ()> {
        Box::pin(self.validate())
    }

    /// Google access tokens expire by themselves; there is nothing to give back.
    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
}

//! The store's access token: made from the credentials its caller passes in, kept per store
//! (one identity, the whole chain: STS and impersonation together) until five minutes before
//! it expires, made by one caller while concurrent ones wait.
//!
//! Data flow: `token()` ──▶ cached and fresh? ──▶ it │ else credentials ──▶
//! - `Keys{secretAccessKey}` (a key JSON) ──▶ a self-signed JWT, one hour (no call);
//! - `Federated` (a Kubernetes token) ──▶ STS for the pool `audience` ──▶ federated token
//!   ──▶ `generateAccessToken` as `gcpServiceAccountEmail` (or the account's
//!   `iam.gke.io/gcp-service-account` annotation) when one is named;
//! - `Token` (a person's `gcloud auth print-access-token`) ──▶ used as it is, never cached.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrets_core::store::{CredentialSource, Credentials, ErrorKind, StoreError};
use tokio::time::Instant;

use crate::client::Client;
use crate::key::{JWT_LIFETIME_SECONDS, ServiceAccountKey};
use crate::spec::{Login, SERVICE_ACCOUNT_ANNOTATION, email_ok};
use crate::token::AccessToken;
use crate::{GcpError, STORE_TYPE};

/// The `Credentials::Keys` name of the key JSON.
pub const KEY_NAME: &str = "secretAccessKey";

pub(crate) struct Auth {
    login: Login,
    credentials: Arc<dyn CredentialSource>,
    cache: bool,
    slot: tokio::sync::Mutex<Option<AccessToken>>,
}

fn epoch_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Auth {
    pub(crate) fn new(login: Login, credentials: Arc<dyn CredentialSource>, cache: bool) -> Auth {
        Auth {
            login,
            credentials,
            cache,
            slot: tokio::sync::Mutex::new(None),
        }
    }

    /// A usable token: the cached one while fresh, else a new one (cached when the credential
    /// cache is on and it lives longer than the margin).
    pub(crate) async fn token(&self, client: &Client) -> Result<AccessToken, StoreError> {
        let mut slot = self.slot.lock().await;
        if let Some(token) = slot.as_ref()
            && token.fresh(Instant::now())
        {
            return Ok(token.clone());
        }
        let token = self.fresh(client).await?;
        *slot = (self.cache && token.fresh(Instant::now())).then(|| token.clone());
        Ok(token)
    }

    /// Drop the cached token (Secret Manager refused it).
    pub(crate) async fn forget(&self) {
        *self.slot.lock().await = None;
    }

    async fn fresh(&self, client: &Client) -> Result<AccessToken, StoreError> {
        let credentials = self.credentials.credentials().await?;
        match (&self.login, credentials) {
            (_, Credentials::Token(token)) => Ok(AccessToken {
                value: token,
                expires: None,
            }),
            // A key JSON reads whatever the store's login: the agent passes keys only for
            // `secretRef` stores, and the plugin a person's own key for any store.
            (_, Credentials::Keys(keys)) => {
                let json = keys.get(KEY_NAME).ok_or_else(|| {
                    StoreError::new(
                        STORE_TYPE,
                        ErrorKind::Credentials,
                        format!("the gcpsm credentials have no {KEY_NAME} (the service-account key JSON)"),
                    )
                })?;
                let key = ServiceAccountKey::parse(json).map_err(|source| GcpError::Key {
                    doing: "reading the service-account key of auth.secretRef".into(),
                    source,
                })?;
                let started = Instant::now();
                let jwt = key.sign(epoch_seconds()).map_err(|source| GcpError::Key {
                    doing: format!("signing a JWT as {}", key.email()),
                    source,
                })?;
                Ok(AccessToken::new(
                    jwt,
                    started,
                    Duration::from_secs(JWT_LIFETIME_SECONDS),
                ))
            }
            (Login::Federation { audience, email }, Credentials::Federated(federated)) => {
                let account = federated.account();
                let started = Instant::now();
                let sts = client.sts(&federated.token, audience, &account).await?;
                let email = email
                    .clone()
                    .or_else(|| {
                        federated
                            .annotations
                            .get(SERVICE_ACCOUNT_ANNOTATION)
                            .cloned()
                    })
                    .filter(|e| !e.is_empty());
                let Some(email) = email else {
                    return Ok(AccessToken::new(
                        sts.token,
                        started,
                        Duration::from_secs(sts.lifetime_seconds),
                    ));
                };
                if !email_ok(&email) {
                    return Err(GcpError::Config(format!(
                        "the {SERVICE_ACCOUNT_ANNOTATION} annotation of service account {account} ({email:?}) is not a service account email"
                    ))
                    .into());
                }
                let now = i64::try_from(epoch_seconds()).unwrap_or(i64::MAX);
                let generated = client.generate(&sts.token, &email, &account, now).await?;
                Ok(AccessToken::new(
                    generated.token,
                    started,
                    Duration::from_secs(generated.lifetime_seconds),
                ))
            }
            (login, other) => Err(StoreError::new(
                STORE_TYPE,
                ErrorKind::InvalidConfig,
                format!(
                    "the gcpsm {} login was given {} credentials",
                    match login {
                        Login::Key => "secretRef",
                        Login::Federation { .. } => "workloadIdentityFederation",
                    },
                    other.kind()
                ),
            )),
        }
    }
}

//! The AWS Secrets Manager store behind the seam: `spec.provider.aws` + the caller's
//! credentials → [`AwsStore`], which builds its credentials along the role chain once and
//! keeps them until [`crate::keys::REFRESH_BEFORE`] their expiry (per store instance, which
//! the agent keys by identity and whole chain), and reads through `GetSecretValue`,
//! `BatchGetSecretValue`, `DescribeSecret` and `ListSecrets`.
//!
//! Data flow:
//!
//! ```text
//!  open(AwsProvider, CredentialSource, OpenOptions) ──▶ AwsStore (no request)
//!  session(): cached keys │ credentials() ──[chain::plan]──▶ Plan ──▶ STS / Pod Identity calls ──▶ keys
//!  read(ReadKey) ─ metadata ──▶ DescribeSecret ──▶ tags as keys
//!               ─ current version, batching on ──▶ collector (25 ms) ──▶ BatchGetSecretValue ≤ 20 ids
//!               ─ otherwise ──▶ GetSecretValue (VersionId │ VersionStage)
//!  list(prefix) ──▶ ListSecrets (all pages) ──▶ names under the store's prefix
//! ```

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::SystemTime;

use secrets_core::api::secret_store::AwsProvider;
use secrets_core::store::{
    CredentialSource, Credentials, ErrorKind, OpenOptions, ReadKey, RemoteValue, Store, StoreError,
    StoreFuture, StoreType,
};
use secrets_store_http::{HttpClient, check_endpoint};
use zeroize::Zeroizing;

use crate::batch::{Collector, WINDOW};
use crate::chain::{Base, ChainSpec, Given, Plan, plan};
use crate::client::{Body, Client};
use crate::endpoints::{Overrides, Resolved, pod_identity_host_ok, resolve};
use crate::error::{AwsError, CallContext};
use crate::keys::AwsKeys;
use crate::observe::Op;
use crate::sm::VersionSel;
use crate::{STORE_TYPE, sts};

mod read;

pub(crate) use read::Answer;

/// Keys ready to sign with, and who they act as.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) keys: AwsKeys,
    pub(crate) principal: String,
    /// Whether AWS answered while the keys were made (false for static keys used as they
    /// are: nothing has shown yet that AWS knows them).
    pub(crate) proven: bool,
}

pub(crate) struct Inner {
    pub(crate) label: String,
    pub(crate) prefix: String,
    pub(crate) endpoints: Resolved,
    pub(crate) client: Client,
    credentials: Arc<dyn CredentialSource>,
    chain: ChainSpec,
    cache: tokio::sync::Mutex<Option<Session>>,
    credential_cache: bool,
    pub(crate) batch: bool,
    pub(crate) batch_denied: AtomicBool,
    pub(crate) collector: Arc<Collector<Answer>>,
}

/// One AWS Secrets Manager store.
#[derive(Clone)]
pub struct AwsStore {
    pub(crate) inner: Arc<Inner>,
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::new(STORE_TYPE, ErrorKind::InvalidConfig, message)
}

/// The store `provider` describes (see [`crate::open`]).
pub(crate) fn open_store(
    provider: &AwsProvider,
    credentials: Arc<dyn CredentialSource>,
    options: OpenOptions,
) -> Result<AwsStore, StoreError> {
    if provider.service != "SecretsManager" {
        return Err(invalid(format!(
            "spec.provider.aws.service {:?} is not supported (only SecretsManager)",
            provider.service
        )));
    }
    let e = &options.endpoints;
    let endpoints = resolve(
        provider.region.trim(),
        Overrides {
            any: e.aws_endpoint_url.as_deref(),
            secrets_manager: e.aws_secretsmanager_url.as_deref(),
            sts: e.aws_sts_url.as_deref(),
            pod_identity: e.aws_pod_identity_url.as_deref(),
        },
    )?;
    check_endpoint(&endpoints.secrets_manager).map_err(invalid)?;
    check_endpoint(&endpoints.sts).map_err(invalid)?;
    let pod_uri: http::Uri = endpoints.pod_identity.parse().map_err(|_| {
        invalid(format!(
            "endpoint {:?} is not a URL",
            endpoints.pod_identity
        ))
    })?;
    let pod_ok = match pod_uri.scheme_str() {
        Some("https") => true,
        Some("http") => pod_uri.host().is_some_and(pod_identity_host_ok),
        _ => false,
    };
    if !pod_ok {
        return Err(invalid(format!(
            "the EKS Pod Identity endpoint {:?} must be https://, or http:// to the agent's \
             link-local address or loopback",
            endpoints.pod_identity
        )));
    }
    let http = HttpClient::new(options.timeout).map_err(|e| {
        StoreError::new(
            STORE_TYPE,
            ErrorKind::InvalidConfig,
            format!("building the https client: {e}"),
        )
    })?;
    let chain = ChainSpec {
        additional_roles: provider.additional_roles.clone().unwrap_or_default(),
        role: provider.role.clone(),
        external_id: provider.external_id.clone(),
    };
    Ok(AwsStore {
        inner: Arc::new(Inner {
            label: options.label,
            prefix: provider.prefix.clone().unwrap_or_default(),
            endpoints,
            client: Client::new(http, provider.region.trim().to_owned(), options.observer),
            credentials,
            chain,
            cache: tokio::sync::Mutex::new(None),
            credential_cache: options.credential_cache,
            batch: options.batch,
            batch_denied: AtomicBool::new(false),
            collector: Collector::new(WINDOW),
        }),
    })
}

impl AwsStore {
    /// How many calls of `op` this store made (tests, benchmarks).
    pub fn calls(&self, op: Op) -> u64 {
        self.inner.client.counters.get(op)
    }

    /// The Secrets Manager endpoint requests go to.
    pub fn secrets_manager_endpoint(&self) -> &str {
        &self.inner.endpoints.secrets_manager
    }
}

impl Inner {
    /// Keys for the next call: the cached ones while fresh, else the whole chain again.
    pub(crate) async fn session(&self) -> Result<Session, StoreError> {
        if !self.credential_cache {
            return self.build_session().await;
        }
        let mut slot = self.cache.lock().await;
        if let Some(session) = slot.as_ref()
            && session.keys.fresh_at(SystemTime::now())
        {
            return Ok(session.clone());
        }
        let session = self.build_session().await?;
        *slot = Some(session.clone());
        Ok(session)
    }

    async fn check(&self) -> Result<(), StoreError> {
        let session = self.session().await?;
        if session.proven {
            return Ok(());
        }
        let op = Op::GetCallerIdentity;
        let result = self
            .client
            .call(
                op,
                &self.endpoints.sts,
                Body::Form(sts::caller_identity_body()),
                Some(&session.keys),
                CallContext {
                    action: op.action(),
                    secret: None,
                    principal: &session.principal,
                },
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => {
                self.forget_session().await;
                Err(err.into())
            }
        }
    }

    /// Drop the cached keys (AWS refused them).
    pub(crate) async fn forget_session(&self) {
        *self.cache.lock().await = None;
    }

    async fn build_session(&self) -> Result<Session, StoreError> {
        let credentials = self.credentials.credentials().await?;
        let plan = match &credentials {
            Credentials::Keys(keys) => plan(Given::Keys(keys), &self.chain),
            Credentials::Federated(token) => plan(
                Given::Federated {
                    token: &token.token,
                    namespace: &token.namespace,
                    service_account: &token.service_account,
                    annotations: &token.annotations,
                    pod_identity: token.pod_identity,
                },
                &self.chain,
            ),
            other => {
                return Err(invalid(format!(
                    "the aws store was given {} credentials; it logs in with auth.secretRef \
                     (static keys) or auth.jwt (a service account's token)",
                    other.kind()
                )));
            }
        }?;
        self.run(&plan).await.map_err(StoreError::from)
    }

    /// Run a chain: its base, then each AssumeRole signed with the previous link's keys.
    async fn run(&self, plan: &Plan) -> Result<Session, AwsError> {
        let mut keys = match &plan.base {
            Base::Static(keys) => keys.clone(),
            Base::WebIdentity {
                role_arn, token, ..
            } => {
                let principal = plan.base.describe();
                let op = Op::AssumeRoleWithWebIdentity;
                let body = self
                    .client
                    .call(
                        op,
                        &self.endpoints.sts,
                        Body::Form(sts::web_identity_body(role_arn, token)),
                        None,
                        CallContext {
                            action: op.action(),
                            secret: None,
                            principal: &principal,
                        },
                    )
                    .await?;
                AwsKeys::from_sts_xml(utf8(&body, op)?, op.action())?
            }
            Base::PodIdentity { token, .. } => {
                let principal = plan.base.describe();
                let op = Op::PodIdentity;
                let body = self
                    .client
                    .call(
                        op,
                        &self.endpoints.pod_identity,
                        Body::Get {
                            authorization: token.clone(),
                        },
                        None,
                        CallContext {
                            action: op.action(),
                            secret: None,
                            principal: &principal,
                        },
                    )
                    .await?;
                AwsKeys::from_pod_identity_json(&body, op.action())?
            }
        };
        for (i, step) in plan.roles.iter().enumerate() {
            let acting = format!("{} assuming {}", plan.acting_before(i), step.role_arn);
            let op = Op::AssumeRole;
            let body = self
                .client
                .call(
                    op,
                    &self.endpoints.sts,
                    Body::Form(sts::assume_role_body(
                        &step.role_arn,
                        step.external_id.as_deref(),
                    )),
                    Some(&keys),
                    CallContext {
                        action: op.action(),
                        secret: None,
                        principal: &acting,
                    },
                )
                .await?;
            keys = AwsKeys::from_sts_xml(utf8(&body, op)?, op.action())?;
        }
        Ok(Session {
            keys,
            principal: plan.principal(),
            proven: !(matches!(plan.base, Base::Static(_)) && plan.roles.is_empty()),
        })
    }

    /// A Secrets Manager call about `secret` (when it is about one): the answer's body and
    /// who the call acted as.
    pub(crate) async fn sm_call(
        &self,
        op: Op,
        body: Vec<u8>,
        secret: Option<&str>,
    ) -> Result<(Zeroizing<Vec<u8>>, String), StoreError> {
        let session = self.session().await?;
        let result = self
            .client
            .call(
                op,
                &self.endpoints.secrets_manager,
                Body::Json(body),
                Some(&session.keys),
                CallContext {
                    action: op.action(),
                    secret,
                    principal: &session.principal,
                },
            )
            .await;
        match result {
            Ok(body) => Ok((body, session.principal)),
            Err(err) => {
                if err.forgets_credentials() {
                    self.forget_session().await;
                }
                Err(err.into())
            }
        }
    }
}

fn utf8(body: &[u8], op: Op) -> Result<&str, AwsError> {
    std::str::from_utf8(body)
        .map_err(|_| AwsError::bad_response(op.action(), "the answer is not UTF-8"))
}

impl Store for AwsStore {
    fn store_type(&self) -> StoreType {
        STORE_TYPE
    }

    fn check_version(&self, version: &str) -> Result<(), String> {
        VersionSel::parse(Some(version)).map(drop)
    }

    fn read<'a>(&'a self, read: &'a ReadKey) -> StoreFuture<'a, RemoteValue> {
        Box::pin(self.read_value(read))
    }

    fn coalesces(&self, read: &ReadKey) -> bool {
        !read.metadata
            && self.inner.batch
            && !self
                .inner
                .batch_denied
                .load(std::sync::atomic::Ordering::Relaxed)
            && VersionSel::parse(read.version.as_deref()) == Ok(VersionSel::Current)
    }

    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(self.list_names(prefix))
    }

    fn login(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.inner.session().await.map(drop) })
    }

    /// The credentials work: the chain ran (STS / Pod Identity answered), or, for static keys
    /// used as they are, `sts:GetCallerIdentity` (which needs no permission) accepts them.
    fn check(&self) -> StoreFuture<'_, ()> {
        Box::pin(self.inner.check())
    }

    /// STS sessions cannot be given back; the keys are dropped (and wiped).
    fn close(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move { self.inner.forget_session().await })
    }
}

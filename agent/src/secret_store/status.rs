//! Store validation: every SecretStore and ClusterSecretStore is checked (spec problems, or any
//! other `invalid_config` error, such as a KV version Vault's mount metadata contradicts →
//! `InvalidProviderConfig`; the store's own check, for Vault a login and a read of the mount's
//! metadata, which needs a capability under the mount → `Valid` or `ValidationFailed` with
//! the store's own error) when it changes and again every
//! `spec.refreshInterval` seconds (default 300), through the same session the ExternalSecrets
//! use, so validating costs no extra login and refreshes the mount the session checks reads
//! against. `auth/token/lookup-self` is not part of it: a token may be denied that and still
//! read.

use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt as _;
use kube::api::Api;
use kube::runtime::controller::Action;
use secrets_core::api::secret_store::StoreKind;
use secrets_core::api::{
    ClusterSecretStore, Condition, SecretStore, SecretStoreSpec, SecretStoreStatus,
};

use secrets_core::store::ErrorKind;

use super::Stores;
use super::session::StoreKey;
use crate::metrics::Metrics;
use crate::runtime::{self, Backoff, Error, Outcome};
use crate::telemetry::error_chain;

/// Default revalidation period.
const DEFAULT_REVALIDATE: Duration = Duration::from_secs(300);

/// Shared by the store status reconciles: the sessions the ExternalSecrets use too.
pub(crate) struct Context {
    client: kube::Client,
    stores: Arc<Stores>,
    metrics: Arc<Metrics>,
    failures: Backoff,
}

impl Context {
    /// A context over these sessions.
    pub(crate) fn new(client: kube::Client, stores: Arc<Stores>, metrics: Arc<Metrics>) -> Self {
        Context {
            client,
            stores,
            metrics,
            failures: Backoff::default(),
        }
    }
}

impl runtime::Shared for Context {
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    fn failures(&self) -> &Backoff {
        &self.failures
    }
}

/// One of the two store kinds.
pub(crate) trait StoreObject: runtime::Object {
    /// Its kind.
    const KIND: StoreKind;
    /// Its spec.
    fn spec(&self) -> &SecretStoreSpec;
    /// Its status.
    fn status(&self) -> Option<&SecretStoreStatus>;
    /// An API for it.
    fn api(client: kube::Client, namespace: &str) -> Api<Self>;
}

impl runtime::Object for SecretStore {
    const CONTROLLER: &'static str = "secretstore";
}

impl StoreObject for SecretStore {
    const KIND: StoreKind = StoreKind::SecretStore;
    fn spec(&self) -> &SecretStoreSpec {
        &self.spec
    }
    fn status(&self) -> Option<&SecretStoreStatus> {
        self.status.as_ref()
    }
    fn api(client: kube::Client, namespace: &str) -> Api<Self> {
        Api::namespaced(client, namespace)
    }
}

impl runtime::Object for ClusterSecretStore {
    const CONTROLLER: &'static str = "clustersecretstore";
}

impl StoreObject for ClusterSecretStore {
    const KIND: StoreKind = StoreKind::ClusterSecretStore;
    fn spec(&self) -> &SecretStoreSpec {
        &self.spec.inner
    }
    fn status(&self) -> Option<&SecretStoreStatus> {
        self.status.as_ref()
    }
    fn api(client: kube::Client, _namespace: &str) -> Api<Self> {
        Api::all(client)
    }
}

/// Validate one store and write its status.
pub(crate) async fn reconcile<S: StoreObject>(
    store: Arc<S>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    runtime::timed(&*store, &*ctx, steps(&*store, &ctx)).await
}

async fn steps<S: StoreObject>(store: &S, ctx: &Context) -> Result<Outcome, Error> {
    let namespace = store.namespace().unwrap_or_default();
    let key = StoreKey {
        kind: S::KIND,
        namespace: namespace.clone(),
        name: store.name_any(),
    };
    if store.meta().deletion_timestamp.is_some() {
        ctx.stores.forget(&key).await;
        return Ok(Outcome::Done { next: None });
    }
    let (ok, config_error, reason, message) = check(store, ctx, &key).await;
    let previous = store.status().cloned().unwrap_or_default();
    if !ok {
        // Said once per change of the outcome, not at every revalidation.
        let said_before = secrets_core::api::ready_condition(&previous.conditions)
            .is_some_and(|c| c.message.as_deref() == Some(message.as_str()));
        if !said_before {
            tracing::warn!(store = %key, reason, error = %message, "store validation failed");
        }
    }
    let now = secrets_core::rfc3339::now();
    let status = SecretStoreStatus {
        conditions: vec![Condition::ready(
            ok,
            reason,
            message,
            &previous.conditions,
            &now,
        )],
        capabilities: Some("ReadOnly".into()),
        observed_generation: store.meta().generation,
    };
    let api = S::api(ctx.client.clone(), &namespace);
    runtime::status::write(&api, store, &previous, &status).await?;
    let every = store
        .spec()
        .refresh_interval
        .and_then(|s| u64::try_from(s).ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_REVALIDATE, Duration::from_secs);
    Ok(if ok || config_error {
        // A config error waits for an edit (which requeues at once) or the next revalidation.
        let next = Some(every);
        if ok {
            Outcome::Done { next }
        } else {
            Outcome::Failed { retry: next }
        }
    } else {
        Outcome::Failed {
            retry: Some(every.min(Duration::from_secs(30))),
        }
    })
}

/// Validate the store through its session: whether it is valid, whether a failure is its
/// configuration's, and the Ready reason and message.
async fn check<S: StoreObject>(
    store: &S,
    ctx: &Context,
    key: &StoreKey,
) -> (bool, bool, &'static str, String) {
    let version = super::session::version(store.meta());
    let result = match ctx.stores.session(key, store.spec(), &version).await {
        Ok(session) => session.validate().await,
        Err(err) => Err(err),
    };
    let config_error = matches!(&result, Err(e) if e.kind() == ErrorKind::InvalidConfig);
    // The chain is rendered once, here, where it meets the status.
    match &result {
        Ok(()) => (true, false, "Valid", "store validated".to_owned()),
        Err(err) if config_error => (false, true, "InvalidProviderConfig", error_chain(err)),
        Err(err) => (false, false, "ValidationFailed", error_chain(err)),
    }
}

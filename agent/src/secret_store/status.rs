//! Store validation: every SecretStore and ClusterSecretStore is checked (spec problems, or a
//! KV version Vault's mount metadata contradicts → `InvalidProviderConfig`; a login and a read
//! of the mount's metadata, which needs a capability under the mount → `Valid` or
//! `ValidationFailed` with Vault's own error) when it changes and again every
//! `spec.refreshInterval` seconds (default 300), through the same session the ExternalSecrets
//! use, so validating costs no extra login and refreshes the mount the session checks reads
//! against. `auth/token/lookup-self` is not part of it: a token may be denied that and still
//! read.

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt as _};
use secrets_core::api::secret_store::StoreKind;
use secrets_core::api::{
    ClusterSecretStore, Condition, SecretStore, SecretStoreSpec, SecretStoreStatus,
};
use serde::de::DeserializeOwned;

use super::session::{StoreError, StoreKey};
use crate::external_secret::{Context, Error, rfc3339};

/// Default revalidation period.
const DEFAULT_REVALIDATE: Duration = Duration::from_secs(300);

/// One of the two store kinds.
pub(crate) trait StoreObject:
    Resource<DynamicType = ()>
    + Clone
    + std::fmt::Debug
    + DeserializeOwned
    + serde::Serialize
    + Send
    + Sync
    + 'static
{
    /// Its kind.
    const KIND: StoreKind;
    /// Its spec.
    fn spec(&self) -> &SecretStoreSpec;
    /// Its status.
    fn status(&self) -> Option<&SecretStoreStatus>;
    /// An API for it.
    fn api(client: kube::Client, namespace: &str) -> Api<Self>;
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
    let namespace = store.namespace().unwrap_or_default();
    let key = StoreKey {
        kind: S::KIND,
        namespace: namespace.clone(),
        name: store.name_any(),
    };
    if store.meta().deletion_timestamp.is_some() {
        ctx.stores.forget(&key).await;
        return Ok(Action::await_change());
    }
    let spec = store.spec();
    let version = super::session::version(store.meta());
    let result = match ctx.stores.session(&key, spec, &version).await {
        Ok(session) => session.validate().await,
        Err(err) => Err(err),
    };
    let config_error = matches!(
        result,
        Err(StoreError::Invalid { .. } | StoreError::MountMismatch { .. })
    );
    let (ok, reason, message) = match &result {
        Ok(()) => (true, "Valid", "store validated".to_owned()),
        Err(err) if config_error => (false, "InvalidProviderConfig", err.to_string()),
        Err(err) => (false, "ValidationFailed", err.to_string()),
    };

    let previous = store.status().cloned().unwrap_or_default();
    if !ok {
        // Said once per change of the outcome, not at every revalidation.
        let said_before = secrets_core::api::ready_condition(&previous.conditions)
            .is_some_and(|c| c.message.as_deref() == Some(message.as_str()));
        if !said_before {
            tracing::warn!(store = %key, reason, error = %message, "store validation failed");
        }
    }
    let now = rfc3339(time::OffsetDateTime::now_utc());
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
    if status != previous {
        S::api(ctx.client.clone(), &namespace)
            .patch_status(
                &store.name_any(),
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({ "status": status })),
            )
            .await
            .map_err(Error::api("writing the store status"))?;
    }
    let every = spec
        .refresh_interval
        .and_then(|s| u64::try_from(s).ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_REVALIDATE, Duration::from_secs);
    Ok(Action::requeue(if ok || config_error {
        every
    } else {
        every.min(Duration::from_secs(30))
    }))
}

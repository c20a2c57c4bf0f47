//! The SealedSecret controller: for each SealedSecret (ours, and Bitnami's in compat mode)
//! read the world (the object, its Secret, the key ring) → decide (pure, in
//! `secrets_core::seal::decide`) → apply (create or replace the Secret) → write status (`Ready`,
//! and Bitnami's `Synced`) and an event on transitions.
//!
//! It owns Secrets, so a deleted Secret is re-created; a change of keys requeues everything, so
//! objects waiting for a restored key open as soon as it arrives. Failures back off per object
//! (exponential, capped); the counter resets on success.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt as _};
use secrets_core::api::sealed_secret::{
    BitnamiSealedSecret, SealedSecret, SealedSecretCondition, SealedSecretStatus,
};
use secrets_core::seal::decide::{self, Decision, Failure, Owner};
use secrets_core::seal::keys::KeyRing;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use zeroize::Zeroize as _;

use crate::metrics::Metrics;
use crate::telemetry::error_chain;

/// Shared by every reconcile.
pub struct Context {
    /// API client.
    pub client: kube::Client,
    /// Current keys.
    pub keys: watch::Receiver<Arc<KeyRing>>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Event recorder (events.k8s.io, source `secrets-agent`).
    pub recorder: Recorder,
    /// Decision options.
    pub options: decide::Options,
    /// This replica's identity (event reporter instance).
    pub instance: String,
    failures: crate::backoff::Backoff,
}

impl Context {
    /// A context for this client and key channel.
    pub fn new(
        client: kube::Client,
        keys: watch::Receiver<Arc<KeyRing>>,
        metrics: Arc<Metrics>,
        options: decide::Options,
        instance: String,
    ) -> Context {
        let reporter = Reporter {
            controller: "secrets-agent".into(),
            instance: Some(instance.clone()),
        };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            keys,
            metrics,
            options,
            instance,
            failures: crate::backoff::Backoff::default(),
        }
    }

    fn backoff(&self, key: &str) -> Duration {
        self.failures.failed(key)
    }

    fn succeeded(&self, key: &str) {
        self.failures.succeeded(key);
    }
}

/// Why a reconcile failed in a way worth retrying (API trouble); bad objects are not errors,
/// they get a status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Talking to the API server failed.
    #[error("{action}")]
    Api {
        /// What we were doing.
        action: &'static str,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

impl Error {
    /// Wrap a kube error with what we were doing.
    pub fn api(action: &'static str) -> impl FnOnce(kube::Error) -> Error {
        move |source| Error::Api { action, source }
    }
}

/// One of the two SealedSecret kinds.
trait Kind:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + serde::Serialize
    + Send
    + Sync
    + 'static
{
    const CONTROLLER: &'static str;
    fn native(&self) -> SealedSecret;
    fn status(&self) -> Option<&SealedSecretStatus>;
    fn bitnami() -> bool;
}

impl Kind for SealedSecret {
    const CONTROLLER: &'static str = "sealedsecret";
    fn native(&self) -> SealedSecret {
        self.clone()
    }
    fn status(&self) -> Option<&SealedSecretStatus> {
        self.status.as_ref()
    }
    fn bitnami() -> bool {
        false
    }
}

impl Kind for BitnamiSealedSecret {
    const CONTROLLER: &'static str = "bitnami-sealedsecret";
    fn native(&self) -> SealedSecret {
        SealedSecret::from(self.clone())
    }
    fn status(&self) -> Option<&SealedSecretStatus> {
        self.status.as_ref()
    }
    fn bitnami() -> bool {
        true
    }
}

/// Run the controllers until the future is dropped.
pub async fn run(ctx: Arc<Context>, concurrency: u16, bitnami_compat: bool) {
    let native = controller::<SealedSecret>(ctx.clone(), concurrency);
    if bitnami_compat {
        let bitnami = controller::<BitnamiSealedSecret>(ctx, concurrency);
        futures::future::join(native, bitnami).await;
    } else {
        native.await;
    }
}

async fn controller<K: Kind>(ctx: Arc<Context>, concurrency: u16) {
    let client = ctx.client.clone();
    let mut keys = ctx.keys.clone();
    keys.borrow_and_update();
    // Every change of keys requeues every object: a restored key opens what waited for it.
    let key_changes = futures::stream::unfold(keys, |mut keys| async move {
        keys.changed().await.ok().map(|()| ((), keys))
    });
    Controller::new(Api::<K>::all(client.clone()), watcher::Config::default())
        .owns(Api::<Secret>::all(client), watcher::Config::default())
        .reconcile_all_on(key_changes)
        // A watch whose CRD is not installed yet retries within seconds, not half a minute.
        .trigger_backoff(crate::backoff::WatchBackoff::default())
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
        .run(reconcile::<K>, error_policy::<K>, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(error = %error_chain(&err), "controller queue");
            }
        })
        .await;
}

fn object_key<K: Kind>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::CONTROLLER,
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

async fn reconcile<K: Kind>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(&*obj, &ctx).await;
    let label = match &result {
        Ok(Outcome::Failed(_)) | Err(_) => "error",
        Ok(_) => "success",
    };
    ctx.metrics
        .reconciled(K::CONTROLLER, label, started.elapsed().as_secs_f64());
    let key = object_key(&*obj);
    match result? {
        Outcome::Failed(failure) => {
            ctx.metrics.unseal_failed(failure.reason);
            Ok(Action::requeue(ctx.backoff(&key)))
        }
        Outcome::Done => {
            ctx.succeeded(&key);
            Ok(Action::await_change())
        }
    }
}

fn error_policy<K: Kind>(obj: Arc<K>, err: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(object = %object_key(&*obj), error = %error_chain(err), "reconcile failed; retrying");
    Action::requeue(ctx.backoff(&object_key(&*obj)))
}

enum Outcome {
    Done,
    Failed(Failure),
}

// `object`, not `name`: a span's entry in the JSON log already has a `name` (the span's).
#[tracing::instrument(skip_all, fields(object = %obj.name_any(), namespace = obj.namespace().unwrap_or_default()))]
async fn reconcile_inner<K: Kind>(obj: &K, ctx: &Context) -> Result<Outcome, Error> {
    if obj.meta().deletion_timestamp.is_some() {
        return Ok(Outcome::Done); // the Secret goes with it through garbage collection
    }
    let sealed = obj.native();
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    // read
    let existing = crate::wipe::Wiped(
        secrets
            .get_opt(&name)
            .await
            .map_err(Error::api("reading the Secret"))?,
    );
    let keys = ctx.keys.borrow().clone();
    let owner = Owner {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: name.clone(),
        uid: obj.uid().unwrap_or_default(),
    };
    // decide (pure; the RSA work happens here, off the async threads)
    let options = ctx.options;
    let decision = tokio::task::block_in_place(|| {
        decide::decide(&sealed, &owner, existing.as_ref(), &keys, options)
    });
    // apply
    let outcome = match decision {
        Decision::UpToDate => Ok(None),
        Decision::Write {
            mut secret,
            key_fingerprint,
            create,
        } => {
            let params = PostParams {
                field_manager: Some("secrets-agent".into()),
                ..Default::default()
            };
            let written = if create {
                secrets.create(&params, &secret).await
            } else {
                secrets.replace(&name, &params, &secret).await
            };
            if let Some(data) = secret.data.as_mut() {
                data.values_mut().for_each(|v| v.0.zeroize());
            }
            match written {
                Ok(_) => Ok(key_fingerprint),
                Err(kube::Error::Api(status)) if status.code == 422 => Err(Failure {
                    reason: "ApplyFailed",
                    message: format!("the API server refused the Secret: {}", status.message),
                }),
                Err(err) => return Err(Error::api("writing the Secret")(err)),
            }
        }
        Decision::Fail(failure) => Err(failure),
    };
    // status
    let generation = obj.meta().generation;
    let previous = obj.status().cloned().unwrap_or_default();
    let status = next_status(&previous, generation, &outcome, K::bitnami());
    if status != previous {
        let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = serde_json::json!({"status": status});
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(Error::api("writing the status"))?;
        event(ctx, obj, &outcome).await;
    }
    Ok(match outcome {
        Ok(_) => Outcome::Done,
        Err(failure) => {
            // The failure's message is its cause; `message` is the event's own text.
            tracing::warn!(reason = failure.reason, error = %failure.message, "cannot unseal");
            Outcome::Failed(failure)
        }
    })
}

/// The status after this reconcile: `Ready` (and `Synced`, Bitnami's, first for Bitnami
/// objects since its printer columns read `conditions[0]`), transition times kept when the
/// status did not change.
fn next_status(
    previous: &SealedSecretStatus,
    generation: Option<i64>,
    outcome: &Result<Option<String>, Failure>,
    bitnami: bool,
) -> SealedSecretStatus {
    let (status, reason, message) = match outcome {
        Ok(_) => ("True", "Unsealed", "the Secret is up to date".to_owned()),
        Err(f) => ("False", f.reason, f.message.clone()),
    };
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let condition = |type_: &str| {
        let old = previous.conditions.iter().find(|c| c.type_ == type_);
        let unchanged = old.is_some_and(|c| {
            c.status == status
                && c.reason.as_deref() == Some(reason)
                && c.message.as_deref() == Some(message.as_str())
        });
        if let (true, Some(old)) = (unchanged, old) {
            return old.clone();
        }
        let transition = match old {
            Some(c) if c.status == status => c.last_transition_time.clone(),
            _ => Some(now.clone()),
        };
        SealedSecretCondition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            last_update_time: Some(now.clone()),
            last_transition_time: transition,
            reason: Some(reason.to_owned()),
            message: Some(message.clone()),
        }
    };
    let conditions = if bitnami {
        vec![condition("Synced"), condition("Ready")]
    } else {
        vec![condition("Ready"), condition("Synced")]
    };
    SealedSecretStatus {
        observed_generation: generation,
        conditions,
    }
}

async fn event<K: Kind>(ctx: &Context, obj: &K, outcome: &Result<Option<String>, Failure>) {
    let (type_, reason, note) = match outcome {
        Ok(fp) => (
            EventType::Normal,
            "Unsealed".to_owned(),
            format!(
                "Secret unsealed (key {})",
                fp.as_deref().unwrap_or("unchanged")
            ),
        ),
        Err(f) => (
            EventType::Warning,
            format!("Err{}", f.reason),
            f.message.clone(),
        ),
    };
    let event = Event {
        type_,
        reason,
        note: Some(note),
        action: "Unseal".into(),
        secondary: None,
    };
    if let Err(err) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::debug!(error = %error_chain(&err), "publishing an event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_keeps_transition_times_and_orders_conditions() {
        let ok: Result<Option<String>, Failure> = Ok(None);
        let first = next_status(&SealedSecretStatus::default(), Some(1), &ok, false);
        assert_eq!(first.conditions[0].type_, "Ready");
        assert_eq!(first.observed_generation, Some(1));
        let again = next_status(&first, Some(1), &ok, false);
        assert_eq!(again, first, "an unchanged outcome writes nothing new");
        let failed: Result<Option<String>, Failure> = Err(Failure {
            reason: "DecryptionFailed",
            message: "no".into(),
        });
        let bad = next_status(&first, Some(2), &failed, true);
        assert_eq!(
            bad.conditions[0].type_, "Synced",
            "Bitnami's printer columns read conditions[0]"
        );
        assert_eq!(bad.conditions[1].status, "False");
        assert_eq!(
            bad.conditions[1].reason.as_deref(),
            Some("DecryptionFailed")
        );
    }
}

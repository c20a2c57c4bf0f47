//! The SealedSecret controller: for each SealedSecret (ours, and Bitnami's in compat mode)
//! read the world (the object, its Secret, the key ring) → decide (pure, in
//! `secrets_core::seal::decide`) → apply (create or replace the Secret) → write status (`Ready`,
//! and Bitnami's `Synced`) and an event on transitions. The steps are in [`reconcile`], the
//! status in [`status`]; the frame around them (span, metrics, backoff, status by server-side
//! apply, events) is [`crate::runtime`]'s.
//!
//! It owns Secrets, so a deleted Secret is re-created; a change of keys requeues everything, so
//! objects waiting for a restored key open as soon as it arrives. Failures back off per object
//! (exponential, capped); the counter resets on success.

mod reconcile;
mod status;

use std::sync::Arc;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::events::Recorder;
use kube::runtime::watcher;
use secrets_core::api::sealed_secret::{BitnamiSealedSecret, SealedSecret, SealedSecretStatus};
use secrets_core::seal::decide;
use secrets_core::seal::keys::KeyRing;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::runtime::{self, Backoff, WatchBackoff};
use crate::telemetry::error_chain;

pub use crate::runtime::Error;

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
    failures: Backoff,
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
        Context {
            recorder: runtime::events::recorder(client.clone(), instance.clone()),
            client,
            keys,
            metrics,
            options,
            instance,
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

/// One of the two SealedSecret kinds.
trait Kind: runtime::Object<Scope = k8s_openapi::NamespaceResourceScope> {
    fn native(&self) -> SealedSecret;
    fn status(&self) -> Option<&SealedSecretStatus>;
    fn bitnami() -> bool;
}

impl runtime::Object for SealedSecret {
    const CONTROLLER: &'static str = "sealedsecret";
}

impl Kind for SealedSecret {
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

impl runtime::Object for BitnamiSealedSecret {
    const CONTROLLER: &'static str = "bitnami-sealedsecret";
}

impl Kind for BitnamiSealedSecret {
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
        .trigger_backoff(WatchBackoff::default())
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
        .run(
            reconcile::reconcile::<K>,
            runtime::error_policy::<K, Context>,
            ctx,
        )
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(error = %error_chain(&err), "controller queue");
            }
        })
        .await;
}

//! Wiring of the sync controllers: reflector caches of the stores and namespaces feed
//! [`secret_store::Stores`]; the ExternalSecret controller is requeued by its Secret (our
//! label), by its store and by its own schedule; one store status controller per store kind
//! validates each store through the same sessions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::ResourceExt as _;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt as _, watcher};
use secrets_core::api::secret_store::StoreKind;
use secrets_core::api::{ClusterSecretStore, ExternalSecret, SecretStore};
use secrets_core::sync::decide::MANAGED_BY_LABEL;

use super::{Context, Settings, reconcile};
use crate::metrics::Metrics;
use crate::runtime::{self, Backoff, WatchBackoff};
use crate::secret_store;
use crate::telemetry::error_chain;

/// Run the sync controllers until the future is dropped.
pub async fn run(
    client: kube::Client,
    metrics: Arc<Metrics>,
    instance: String,
    settings: Settings,
) {
    run_with(
        client,
        metrics,
        instance,
        settings,
        Arc::new(secret_store::Providers::default()),
    )
    .await;
}

/// [`run`] with the stores `factory` builds (tests pass an in-memory store).
pub async fn run_with(
    client: kube::Client,
    metrics: Arc<Metrics>,
    instance: String,
    settings: Settings,
    factory: Arc<dyn secret_store::StoreFactory>,
) {
    let (ss_reader, ss_stream) = cache::<SecretStore>(&client);
    let (css_reader, css_stream) = cache::<ClusterSecretStore>(&client);
    let (ns_reader, ns_stream) = cache::<Namespace>(&client);
    let observer_metrics = metrics.clone();
    let observer: secrets_core::store::CallObserver = Arc::new(move |store, call, outcome| {
        observer_metrics.provider_call(store.as_str(), call, outcome)
    });
    let stores = Arc::new(secret_store::Stores::new(
        client.clone(),
        secret_store::Caches {
            secret_stores: ss_reader,
            cluster_stores: css_reader,
            namespaces: ns_reader,
        },
        secret_store::Settings {
            factory,
            observer,
            rate: settings.store_rate,
            timeout: settings.provider_timeout,
        },
    ));
    let status_ctx = Arc::new(secret_store::StatusContext::new(
        client.clone(),
        stores.clone(),
        metrics.clone(),
    ));
    let ctx = Arc::new(Context {
        stores,
        reads: secret_store::ReadCache::new(settings.share_reads),
        own_status: super::own_status::OwnStatus::default(),
        recorder: runtime::events::recorder(client.clone(), instance),
        client: client.clone(),
        metrics,
        failures: Backoff::default(),
        written: Mutex::new(HashMap::new()),
    });
    // The reflectors feed `Stores`; the controllers' own watches only requeue.
    futures::future::join4(
        futures::future::join3(ss_stream, css_stream, ns_stream),
        external_secrets(&client, ctx, settings.concurrency),
        store_status::<SecretStore>(&client, status_ctx.clone()),
        store_status::<ClusterSecretStore>(&client, status_ctx),
    )
    .await;
}

/// The ExternalSecret controller.
async fn external_secrets(client: &kube::Client, ctx: Arc<Context>, concurrency: u16) {
    let es_api = Api::<ExternalSecret>::all(client.clone());
    let controller = Controller::new(es_api, watcher::Config::default())
        .trigger_backoff(WatchBackoff::default());
    let es_reader = controller.store();
    let by_store = move |kind: StoreKind, namespace: Option<String>, name: String| {
        es_reader
            .state()
            .iter()
            .filter(|es| {
                es.store_kind() == kind
                    && es.spec.secret_store_ref.name == name
                    && (kind == StoreKind::ClusterSecretStore || es.namespace() == namespace)
            })
            .map(|es| ObjectRef::from_obj(&**es))
            .collect::<Vec<_>>()
    };
    let by_ss = by_store.clone();
    let by_css = by_store;
    controller
        .watches(
            Api::<Secret>::all(client.clone()),
            watcher::Config::default().labels(MANAGED_BY_LABEL),
            managing_external_secret,
        )
        .watches(
            Api::<SecretStore>::all(client.clone()),
            watcher::Config::default(),
            move |ss: SecretStore| by_ss(StoreKind::SecretStore, ss.namespace(), ss.name_any()),
        )
        .watches(
            Api::<ClusterSecretStore>::all(client.clone()),
            watcher::Config::default(),
            move |css: ClusterSecretStore| {
                by_css(StoreKind::ClusterSecretStore, None, css.name_any())
            },
        )
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
        .run(
            reconcile::reconcile,
            runtime::error_policy::<ExternalSecret, Context>,
            ctx,
        )
        .for_each(|r| async move {
            if let Err(err) = r {
                tracing::debug!(error = %error_chain(&err), "externalsecret queue");
            }
        })
        .await;
}

/// The ExternalSecret a synced Secret's label names.
fn managing_external_secret(secret: Secret) -> Option<ObjectRef<ExternalSecret>> {
    let namespace = secret.namespace();
    let es = secret.labels().get(MANAGED_BY_LABEL).cloned();
    es.map(|name| {
        let r = ObjectRef::<ExternalSecret>::new(&name);
        match namespace {
            Some(ns) => r.within(&ns),
            None => r,
        }
    })
}

/// The status controller of one store kind.
async fn store_status<S: secret_store::StoreObject>(
    client: &kube::Client,
    ctx: Arc<secret_store::StatusContext>,
) {
    Controller::new(Api::<S>::all(client.clone()), watcher::Config::default())
        .trigger_backoff(WatchBackoff::default())
        .run(
            secret_store::reconcile_status::<S>,
            runtime::error_policy::<S, secret_store::StatusContext>,
            ctx,
        )
        .for_each(|_| async {})
        .await;
}

/// A reflector cache of every `K` and the future that keeps it filled.
fn cache<K>(
    client: &kube::Client,
) -> (
    reflector::Store<K>,
    impl std::future::Future<Output = ()> + use<K>,
)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store::<K>();
    let stream = reflector::reflector(
        writer,
        watcher(Api::<K>::all(client.clone()), watcher::Config::default()),
    )
    // Short retries: a CRD installed after the agent must be picked up within seconds.
    .backoff(WatchBackoff::default())
    .for_each(|_| async {});
    (reader, stream)
}

//! The sync pattern: ExternalSecrets filled from SecretStores / ClusterSecretStores.
//!
//! ```text
//! SecretStore / ClusterSecretStore ──reflectors──▶ secret_store::Stores ──▶ Session (client + token)
//!        │ (validated by secret_store::status)                                │
//! ExternalSecret ──Controller──▶ reconcile::reconcile ──▶ secret_store::ReadCache ─┘
//!        ▲  requeued by: its Secret (label), its store, its own schedule
//! ```
//!
//! Only the leader runs this (see `lead` in lib.rs). Everything that costs a provider call goes
//! through one session per store and one shared read per (store, path, version).

mod own_status;
mod reconcile;
pub mod restart;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::ResourceExt as _;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt as _, watcher};
use secrets_core::api::secret_store::StoreKind;
use secrets_core::api::{ClusterSecretStore, ExternalSecret, SecretStore};
use secrets_core::sync::decide::MANAGED_BY_LABEL;

use crate::metrics::Metrics;
use crate::secret_store;

/// Settings of the sync controllers.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Concurrent ExternalSecret reconciles.
    pub concurrency: u16,
    /// Provider reads per second per store.
    pub store_rate: u32,
    /// Timeout of one provider call.
    pub provider_timeout: Duration,
}

/// Shared by every sync reconcile.
pub struct Context {
    pub(crate) client: kube::Client,
    pub(crate) stores: secret_store::Stores,
    pub(crate) reads: secret_store::ReadCache,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) recorder: Recorder,
    failures: crate::backoff::Backoff,
    /// Digest of the data we last wrote or saw, per Secret: drift shows as a mismatch. Kept in
    /// memory only (a digest of secret values is never published).
    written: Mutex<HashMap<(String, String), [u8; 32]>>,
    /// Statuses we wrote that the watch cache may not show yet.
    own_status: own_status::OwnStatus,
}

impl Context {
    pub(crate) fn backoff(&self, key: &str) -> Duration {
        self.failures.failed(key)
    }

    pub(crate) fn succeeded(&self, key: &str) {
        self.failures.succeeded(key);
    }

    pub(crate) fn remember(&self, namespace: &str, name: &str, secret: &Secret) {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                (namespace.to_owned(), name.to_owned()),
                reconcile::secret_digest(secret),
            );
    }

    pub(crate) fn forget(&self, namespace: &str, name: &str) {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(namespace.to_owned(), name.to_owned()));
    }

    pub(crate) fn drifted(&self, namespace: &str, name: &str, secret: &Secret) -> bool {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(namespace.to_owned(), name.to_owned()))
            .is_some_and(|d| *d != reconcile::secret_digest(secret))
    }
}

pub use crate::sealed_secret::Error;

pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn data_digest(data: Option<&BTreeMap<String, ByteString>>) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for (k, v) in data.into_iter().flatten() {
        ctx.update(&(k.len() as u64).to_be_bytes());
        ctx.update(k.as_bytes());
        ctx.update(&(v.0.len() as u64).to_be_bytes());
        ctx.update(&v.0);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// `matchLabels` and `matchExpressions` (In, NotIn, Exists, DoesNotExist) against labels.
pub(crate) fn selector_matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> bool {
    let labels_ok = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = selector.match_expressions.iter().flatten().all(|e| {
        let value = labels.get(&e.key);
        let values = e.values.as_deref().unwrap_or_default();
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
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
    .backoff(crate::backoff::WatchBackoff::default())
    .for_each(|_| async {});
    (reader, stream)
}

/// Run the sync controllers until the future is dropped.
pub async fn run(
    client: kube::Client,
    metrics: Arc<Metrics>,
    instance: String,
    settings: Settings,
) {
    let (ss_reader, ss_stream) = cache::<SecretStore>(&client);
    let (css_reader, css_stream) = cache::<ClusterSecretStore>(&client);
    let (ns_reader, ns_stream) = cache::<Namespace>(&client);
    let observer_metrics = metrics.clone();
    let observer: secrets_core::vault::Observer = Arc::new(move |call, outcome| {
        observer_metrics.provider_call("vault", call.as_str(), outcome.as_str())
    });
    let reporter = Reporter {
        controller: "secrets-agent".into(),
        instance: Some(instance),
    };
    let ctx = Arc::new(Context {
        stores: secret_store::Stores::new(
            client.clone(),
            secret_store::Caches {
                secret_stores: ss_reader,
                cluster_stores: css_reader,
                namespaces: ns_reader,
            },
            observer,
            settings.store_rate,
            settings.provider_timeout,
        ),
        reads: secret_store::ReadCache::default(),
        own_status: own_status::OwnStatus::default(),
        recorder: Recorder::new(client.clone(), reporter),
        client: client.clone(),
        metrics,
        failures: crate::backoff::Backoff::default(),
        written: Mutex::new(HashMap::new()),
    });

    let es_api = Api::<ExternalSecret>::all(client.clone());
    let controller = Controller::new(es_api, watcher::Config::default())
        .trigger_backoff(crate::backoff::WatchBackoff::default());
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
    let es_controller = controller
        .watches(
            Api::<Secret>::all(client.clone()),
            watcher::Config::default().labels(MANAGED_BY_LABEL),
            |secret: Secret| {
                let namespace = secret.namespace();
                let es = secret.labels().get(MANAGED_BY_LABEL).cloned();
                es.map(|name| {
                    let r = ObjectRef::<ExternalSecret>::new(&name);
                    match namespace {
                        Some(ns) => r.within(&ns),
                        None => r,
                    }
                })
            },
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
        .with_config(kube::runtime::controller::Config::default().concurrency(settings.concurrency))
        .run(reconcile::reconcile, error_policy, ctx.clone())
        .for_each(|r| async move {
            if let Err(err) = r {
                tracing::debug!(error = %error_chain(&err), "externalsecret queue");
            }
        });
    let ss_controller = Controller::new(
        Api::<SecretStore>::all(client.clone()),
        watcher::Config::default(),
    )
    .trigger_backoff(crate::backoff::WatchBackoff::default())
    .run(
        secret_store::reconcile_status::<SecretStore>,
        error_policy,
        ctx.clone(),
    )
    .for_each(|_| async {});
    let css_controller = Controller::new(
        Api::<ClusterSecretStore>::all(client),
        watcher::Config::default(),
    )
    .trigger_backoff(crate::backoff::WatchBackoff::default())
    .run(
        secret_store::reconcile_status::<ClusterSecretStore>,
        error_policy,
        ctx,
    )
    .for_each(|_| async {});
    // The reflectors feed `Stores`; the controllers' own watches only requeue.
    futures::future::join4(
        futures::future::join3(ss_stream, css_stream, ns_stream),
        es_controller,
        ss_controller,
        css_controller,
    )
    .await;
}

fn error_policy<K: kube::Resource<DynamicType = ()>>(
    obj: Arc<K>,
    err: &Error,
    ctx: Arc<Context>,
) -> Action {
    let key = format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.meta().namespace.clone().unwrap_or_default(),
        obj.meta().name.clone().unwrap_or_default()
    );
    tracing::warn!(object = %key, error = %error_chain(err), "reconcile failed; retrying");
    Action::requeue(ctx.backoff(&key))
}

/// Shared with the sync modules (`crate::external_secret::error_chain`).
pub(crate) use crate::telemetry::error_chain;

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn selectors_match_labels_and_expressions() {
        let labels: BTreeMap<String, String> = [("team".to_owned(), "a".to_owned())].into();
        let mut s = LabelSelector {
            match_labels: Some(labels.clone()),
            ..Default::default()
        };
        assert!(selector_matches(&s, &labels));
        assert!(!selector_matches(&s, &BTreeMap::new()));
        s.match_expressions = Some(vec![LabelSelectorRequirement {
            key: "env".into(),
            operator: "DoesNotExist".into(),
            values: None,
        }]);
        assert!(selector_matches(&s, &labels));
        s.match_expressions = Some(vec![LabelSelectorRequirement {
            key: "team".into(),
            operator: "NotIn".into(),
            values: Some(vec!["a".into()]),
        }]);
        assert!(!selector_matches(&s, &labels));
    }

    #[test]
    fn error_chains_carry_every_cause_once() {
        let inner = std::io::Error::other("connection reset");
        let err = Error::Api {
            action: "writing the status",
            source: kube::Error::Service(Box::new(inner)),
        };
        let text = error_chain(&err);
        assert!(
            text.starts_with("writing the status: ") && text.contains("connection reset"),
            "{text}"
        );
        assert_eq!(text.matches("connection reset").count(), 1, "{text}");
    }

    #[test]
    fn data_digest_separates_keys_and_values() {
        let a: BTreeMap<String, ByteString> = [("ab".to_owned(), ByteString(b"c".to_vec()))].into();
        let b: BTreeMap<String, ByteString> = [("a".to_owned(), ByteString(b"bc".to_vec()))].into();
        assert_ne!(data_digest(Some(&a)), data_digest(Some(&b)));
    }
}

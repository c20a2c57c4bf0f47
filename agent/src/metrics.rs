//! Prometheus metrics of the agent, served on the metrics port by [`crate::http::serve_metrics`].
//!
//! Data flow: the controller calls [`Metrics::reconciled`] and [`Metrics::unseal_failed`] as it
//! works, the key manager calls [`Metrics::set_keys`] and [`Metrics::set_last_renewal`] whenever
//! the key ring changes, the sync controllers count provider calls with
//! [`Metrics::provider_call`] and store failures with [`Metrics::sync_failed`], and the API counts each answer with [`Metrics::http_request`]. Every
//! figure lives in a `prometheus-client` registry (prefix `secrets_agent`); a scrape calls
//! [`Metrics::encode`], which writes the Prometheus text format (version 0.0.4) and works out
//! `seconds_since_key_renewal` from the stored timestamp at that moment.
//!
//! Labels only ever hold fixed categories (controller kind, result, reason, API path, status
//! code): never a secret, an object name or a raw URL, so the number of series stays bounded.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use time::OffsetDateTime;

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Reconcile duration buckets: 1 ms, doubling, up to ~16 s (15 buckets).
const DURATION_BUCKET_START: f64 = 0.001;
const DURATION_BUCKET_FACTOR: f64 = 2.0;
const DURATION_BUCKET_COUNT: u16 = 15;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    controller: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabel {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    path: &'static str,
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderCallLabels {
    provider: &'static str,
    call: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MountLabels {
    result: &'static str,
    category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyncFailureLabels {
    store: &'static str,
    category: &'static str,
}

type HistogramFamily = Family<ControllerLabel, Histogram, fn() -> Histogram>;
/// A histogram without labels that shows no series until first observed.
type UnlabelledHistogram = Family<Vec<(String, String)>, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(
        DURATION_BUCKET_START,
        DURATION_BUCKET_FACTOR,
        DURATION_BUCKET_COUNT,
    ))
}

/// The agent's metrics registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ReconcileLabels, Counter>,
    reconcile_duration: HistogramFamily,
    unseal_failures: Family<ReasonLabel, Counter>,
    keys: Gauge,
    renewal: Arc<RenewalClock>,
    http_requests: Family<HttpLabels, Counter>,
    provider_calls: Family<ProviderCallLabels, Counter>,
    sync_failures: Family<SyncFailureLabels, Counter>,
    mounts: Family<MountLabels, Counter>,
    mount_duration: UnlabelledHistogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("secrets_agent");
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles finished, by controller and result",
            reconciles.clone(),
        );
        let reconcile_duration: HistogramFamily =
            Family::new_with_constructor(duration_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "reconcile_duration",
            "Time one reconcile took, by controller",
            Unit::Seconds,
            reconcile_duration.clone(),
        );
        let unseal_failures = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "unseal_failures",
            "SealedSecrets that could not be turned into a Secret, by reason",
            unseal_failures.clone(),
        );
        let keys = Gauge::default();
        registry.register("keys", "Sealing keys loaded", keys.clone());
        let renewal = Arc::new(RenewalClock::default());
        registry.register_collector(Box::new(Arc::clone(&renewal)));
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Answers of the HTTP API, by path and status code",
            http_requests.clone(),
        );
        let provider_calls = Family::<ProviderCallLabels, Counter>::default();
        registry.register(
            "provider_calls",
            "Calls to secret providers, by provider, call (login, lookup, renew, read, list, revoke) and status",
            provider_calls.clone(),
        );
        let sync_failures = Family::<SyncFailureLabels, Counter>::default();
        registry.register(
            "sync_failures",
            "ExternalSecret syncs that failed in a store, by store type and error category",
            sync_failures.clone(),
        );
        let mounts = Family::<MountLabels, Counter>::default();
        registry.register(
            "mounts",
            "CSI Mount calls answered, by result (success, error) and failure category",
            mounts.clone(),
        );
        // A family without labels: no series until the first mount (a fresh registry stays
        // empty).
        let mount_duration: UnlabelledHistogram =
            Family::new_with_constructor(duration_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "mount_duration",
            "Time one CSI Mount call took",
            Unit::Seconds,
            mount_duration.clone(),
        );
        Metrics {
            registry,
            mounts,
            mount_duration,
            provider_calls,
            sync_failures,
            reconciles,
            reconcile_duration,
            unseal_failures,
            keys,
            renewal,
            http_requests,
        }
    }

    /// One reconcile finished: `controller` (`sealedsecret`), `result` (`success`/`error`).
    /// Both must be fixed names, never an object's.
    pub fn reconciled(&self, controller: &str, result: &str, seconds: f64) {
        let labels = ReconcileLabels {
            controller: controller.to_owned(),
            result: result.to_owned(),
        };
        self.reconciles.get_or_create(&labels).inc();
        let controller = ControllerLabel {
            controller: labels.controller,
        };
        if seconds.is_finite() && seconds >= 0.0 {
            self.reconcile_duration
                .get_or_create(&controller)
                .observe(seconds);
        }
    }

    /// A SealedSecret failed to unseal, by reason category.
    pub fn unseal_failed(&self, reason: &'static str) {
        self.unseal_failures
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// Number of sealing keys loaded.
    pub fn set_keys(&self, count: usize) {
        self.keys.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// When the newest key was made (for "seconds since last renewal").
    pub fn set_last_renewal(&self, at: time::OffsetDateTime) {
        self.renewal.set(at);
    }

    /// One API answer: `path` from the API's fixed set of route names, `code` the status.
    pub fn http_request(&self, path: &'static str, code: u16) {
        self.http_requests
            .get_or_create(&HttpLabels { path, code })
            .inc();
    }

    /// One call to a provider; all three labels are fixed names.
    pub fn provider_call(&self, provider: &'static str, call: &'static str, status: &'static str) {
        self.provider_calls
            .get_or_create(&ProviderCallLabels {
                provider,
                call,
                status,
            })
            .inc();
    }

    /// A sync failed in a store: `store` is the store *type* (`vault`), `category` the
    /// error's `StoreError::category()`; both fixed names, never an object's.
    pub fn sync_failed(&self, store: &'static str, category: &'static str) {
        self.sync_failures
            .get_or_create(&SyncFailureLabels { store, category })
            .inc();
    }

    /// One CSI Mount answered: `result` `success` or `error`, `category` the failure's
    /// category (empty on success); fixed names, never an object's.
    pub fn mounted(&self, result: &'static str, category: &'static str, seconds: f64) {
        self.mounts
            .get_or_create(&MountLabels { result, category })
            .inc();
        if seconds.is_finite() && seconds >= 0.0 {
            self.mount_duration
                .get_or_create(&Vec::new())
                .observe(seconds);
        }
    }

    /// Prometheus text exposition (format 0.0.4, see [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(err) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            // Writing into a String cannot fail; a collector could, and a partial page is
            // still better than none for whoever is debugging.
            tracing::warn!(error = %err, "encoding metrics failed");
        }
        out
    }
}

/// The newest key's creation time, kept as Unix nanoseconds (`i64::MIN` until known) and turned
/// into an age on every scrape.
#[derive(Debug)]
struct RenewalClock {
    unix_nanos: AtomicI64,
}

impl Default for RenewalClock {
    fn default() -> Self {
        RenewalClock {
            unix_nanos: AtomicI64::new(i64::MIN),
        }
    }
}

impl RenewalClock {
    fn set(&self, at: OffsetDateTime) {
        let nanos = i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX);
        // `i64::MIN` means "unknown"; a real time that far back cannot occur.
        self.unix_nanos
            .store(nanos.max(i64::MIN + 1), Ordering::Relaxed);
    }

    fn age_seconds(&self, now: OffsetDateTime) -> Option<f64> {
        let stored = self.unix_nanos.load(Ordering::Relaxed);
        if stored == i64::MIN {
            return None;
        }
        let nanos = now.unix_timestamp_nanos() - i128::from(stored);
        // f64 precision is ample for an age; clamp a clock that went backwards to zero.
        #[expect(
            clippy::cast_precision_loss,
            reason = "an age in seconds needs no nanosecond precision"
        )]
        let seconds = nanos as f64 / 1e9;
        Some(seconds.max(0.0))
    }
}

impl Collector for RenewalClock {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(age) = self.age_seconds(OffsetDateTime::now_utc()) else {
            // No key loaded yet: no sample rather than a misleading zero.
            return Ok(());
        };
        let gauge = ConstGauge::new(age);
        let metric = encoder.encode_descriptor(
            "seconds_since_key_renewal",
            "Seconds since the newest sealing key was made",
            None,
            gauge.metric_type(),
        )?;
        gauge.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(|value| value.parse().unwrap())
    }

    #[test]
    fn reconciles_are_counted_by_controller_and_result() {
        let metrics = Metrics::new();
        metrics.reconciled("sealedsecret", "success", 0.004);
        metrics.reconciled("sealedsecret", "success", 0.2);
        metrics.reconciled("sealedsecret", "error", 3.0);
        let text = metrics.encode();
        assert!(
            text.contains("# TYPE secrets_agent_reconciles_total counter"),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_reconciles_total{controller="sealedsecret",result="success"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_reconciles_total{controller="sealedsecret",result="error"}"#
            ),
            Some(1.0)
        );
        assert!(
            text.contains("# TYPE secrets_agent_reconcile_duration_seconds histogram"),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_reconcile_duration_seconds_count{controller="sealedsecret"}"#
            ),
            Some(3.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_reconcile_duration_seconds_bucket{controller="sealedsecret",le="0.002"}"#
            ),
            Some(0.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_reconcile_duration_seconds_bucket{controller="sealedsecret",le="0.004"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_reconcile_duration_seconds_bucket{controller="sealedsecret",le="+Inf"}"#
            ),
            Some(3.0)
        );
        let sum = sample(
            &text,
            r#"secrets_agent_reconcile_duration_seconds_sum{controller="sealedsecret"}"#,
        )
        .unwrap();
        assert!((sum - 3.204).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn a_nonsense_duration_counts_the_reconcile_but_not_the_time() {
        let metrics = Metrics::new();
        metrics.reconciled("sealedsecret", "success", f64::NAN);
        let text = metrics.encode();
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_reconciles_total{controller="sealedsecret",result="success"}"#
            ),
            Some(1.0)
        );
        assert!(!text.contains("reconcile_duration_seconds_count"), "{text}");
    }

    #[test]
    fn unseal_failures_keys_and_http_requests() {
        let metrics = Metrics::new();
        metrics.unseal_failed("decrypt");
        metrics.unseal_failed("decrypt");
        metrics.unseal_failed("update");
        metrics.set_keys(3);
        metrics.http_request("/v1/verify", 409);
        metrics.http_request("/v1/verify", 409);
        metrics.http_request("other", 404);
        let text = metrics.encode();
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_unseal_failures_total{reason="decrypt"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_unseal_failures_total{reason="update"}"#
            ),
            Some(1.0)
        );
        assert!(text.contains("# TYPE secrets_agent_keys gauge"), "{text}");
        assert_eq!(sample(&text, "secrets_agent_keys"), Some(3.0));
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_http_requests_total{path="/v1/verify",code="409"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_http_requests_total{path="other",code="404"}"#
            ),
            Some(1.0)
        );
        metrics.set_keys(1);
        assert_eq!(sample(&metrics.encode(), "secrets_agent_keys"), Some(1.0));
    }

    #[test]
    fn seconds_since_renewal_is_worked_out_at_scrape_time() {
        let metrics = Metrics::new();
        assert!(!metrics.encode().contains("seconds_since_key_renewal"));
        metrics.set_last_renewal(OffsetDateTime::now_utc() - time::Duration::hours(1));
        let text = metrics.encode();
        assert!(
            text.contains("# TYPE secrets_agent_seconds_since_key_renewal gauge"),
            "{text}"
        );
        let age = sample(&text, "secrets_agent_seconds_since_key_renewal").unwrap();
        assert!((3600.0..3660.0).contains(&age), "{age}");
        // A key stamped in the future (clock skew) reads as brand new, not negative.
        metrics.set_last_renewal(OffsetDateTime::now_utc() + time::Duration::hours(1));
        assert_eq!(
            sample(&metrics.encode(), "secrets_agent_seconds_since_key_renewal"),
            Some(0.0)
        );
    }

    #[test]
    fn mounts_are_counted_by_result_and_category_and_timed() {
        let metrics = Metrics::new();
        metrics.mounted("success", "", 0.003);
        metrics.mounted("error", "permission_denied", 0.2);
        metrics.mounted("error", "permission_denied", 0.1);
        let text = metrics.encode();
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_mounts_total{result="error",category="permission_denied"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"secrets_agent_mounts_total{result="success",category=""}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, "secrets_agent_mount_duration_seconds_count"),
            Some(3.0)
        );
        assert!(
            text.contains("# TYPE secrets_agent_mount_duration_seconds histogram"),
            "{text}"
        );
    }

    #[test]
    fn a_fresh_registry_exposes_only_the_keys_gauge() {
        let text = Metrics::new().encode();
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(samples, ["secrets_agent_keys 0"], "{text}");
    }
}

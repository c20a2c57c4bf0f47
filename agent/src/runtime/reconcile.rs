//! The frame around every reconcile: [`timed`] runs a controller's steps inside one span
//! (`reconcile_inner`, fields `controller`, `namespace`, `object`), records the reconcile
//! metrics, and turns the [`Outcome`] into the next wake-up; [`error_policy`] handles the
//! [`Error`]s with the same per-object backoff, keyed by [`object_key`].

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::Resource;
use kube::runtime::controller::Action;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Backoff, Error};
use crate::metrics::Metrics;
use crate::telemetry::error_chain;

/// An object a controller reconciles.
pub trait Object:
    Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Serialize + Send + Sync + 'static
{
    /// The controller's name in metrics, spans and backoff keys (`sealedsecret`, …).
    const CONTROLLER: &'static str;
}

/// What every controller's context offers the frame.
pub trait Shared {
    /// Where reconciles are counted.
    fn metrics(&self) -> &Metrics;
    /// Failure counts per object.
    fn failures(&self) -> &Backoff;
}

/// How a controller's steps ended. Failures here are the object's (reported in its status);
/// API trouble is an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; look again after this long, or when something changes.
    Done {
        /// The next scheduled look, if any.
        next: Option<Duration>,
    },
    /// Failed; retry after this long, or with the object's growing backoff.
    Failed {
        /// A wait the failure itself dictates (a rate limit, an edit to wait for).
        retry: Option<Duration>,
    },
}

/// `controller/namespace/name`: the object's backoff key and its name in warnings.
pub fn object_key<K: Object>(obj: &K) -> String {
    let meta = obj.meta();
    format!(
        "{}/{}/{}",
        K::CONTROLLER,
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

/// Run one reconcile's `steps` for `obj`: in its span, timed and counted (`success` or
/// `error`), then requeued as the outcome says; a success resets the object's backoff.
// `object`, not `name`: a span's entry in the JSON log already has a `name` (the span's).
#[tracing::instrument(
    name = "reconcile_inner",
    skip_all,
    fields(
        controller = K::CONTROLLER,
        object = obj.meta().name.as_deref().unwrap_or_default(),
        namespace = obj.meta().namespace.as_deref().unwrap_or_default(),
    )
)]
pub async fn timed<K, C>(
    obj: &K,
    ctx: &C,
    steps: impl Future<Output = Result<Outcome, Error>>,
) -> Result<Action, Error>
where
    K: Object,
    C: Shared,
{
    let started = Instant::now();
    let result = steps.await;
    let label = match &result {
        Ok(Outcome::Done { .. }) => "success",
        Ok(Outcome::Failed { .. }) | Err(_) => "error",
    };
    ctx.metrics()
        .reconciled(K::CONTROLLER, label, started.elapsed().as_secs_f64());
    let key = object_key(obj);
    Ok(match result? {
        Outcome::Done { next } => {
            ctx.failures().succeeded(&key);
            next.map_or_else(Action::await_change, Action::requeue)
        }
        Outcome::Failed { retry: Some(wait) } => Action::requeue(wait),
        Outcome::Failed { retry: None } => Action::requeue(ctx.failures().failed(&key)),
    })
}

/// The error policy of every controller: say what failed, retry with the object's backoff.
pub fn error_policy<K: Object, C: Shared>(obj: Arc<K>, err: &Error, ctx: Arc<C>) -> Action {
    let key = object_key(&*obj);
    tracing::warn!(object = %key, error = %error_chain(err), "reconcile failed; retrying");
    Action::requeue(ctx.failures().failed(&key))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    impl Object for ConfigMap {
        const CONTROLLER: &'static str = "configmap";
    }

    struct Ctx(Metrics, Backoff);

    impl Shared for Ctx {
        fn metrics(&self) -> &Metrics {
            &self.0
        }
        fn failures(&self) -> &Backoff {
            &self.1
        }
    }

    fn es() -> ConfigMap {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "db", "namespace": "team"}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn outcomes_requeue_and_failures_back_off_per_object() {
        let ctx = Ctx(Metrics::new(), Backoff::default());
        let es = es();
        assert_eq!(object_key(&es), "configmap/team/db");
        let failed = || async { Ok(Outcome::Failed { retry: None }) };
        let waits = [
            timed(&es, &ctx, failed()).await.unwrap(),
            timed(&es, &ctx, failed()).await.unwrap(),
        ];
        assert_eq!(
            waits,
            [
                Action::requeue(Duration::from_secs(1)),
                Action::requeue(Duration::from_secs(2))
            ]
        );
        // The error policy counts on the same key as `timed`.
        let err = Error::api("writing the status")(kube::Error::LinesCodecMaxLineLengthExceeded);
        let policy = error_policy(
            Arc::new(es.clone()),
            &err,
            Arc::new(Ctx(Metrics::new(), Backoff::default())),
        );
        assert_eq!(policy, Action::requeue(Duration::from_secs(1)));
        assert_eq!(
            error_policy(Arc::new(es.clone()), &err, Arc::new(ctx)),
            Action::requeue(Duration::from_secs(4))
        );
    }

    #[tokio::test]
    async fn a_success_resets_the_backoff_and_says_when_to_look_again() {
        let ctx = Ctx(Metrics::new(), Backoff::default());
        let es = es();
        let wait = Some(Duration::from_secs(7));
        timed(&es, &ctx, async { Ok(Outcome::Failed { retry: None }) })
            .await
            .unwrap();
        let done = timed(&es, &ctx, async move { Ok(Outcome::Done { next: wait }) }).await;
        assert_eq!(done.unwrap(), Action::requeue(Duration::from_secs(7)));
        let again = timed(&es, &ctx, async { Ok(Outcome::Failed { retry: None }) }).await;
        assert_eq!(again.unwrap(), Action::requeue(Duration::from_secs(1)));
        let dictated = Some(Duration::from_secs(9));
        let limited = timed(
            &es,
            &ctx,
            async move { Ok(Outcome::Failed { retry: dictated }) },
        )
        .await;
        assert_eq!(limited.unwrap(), Action::requeue(Duration::from_secs(9)));
    }
}

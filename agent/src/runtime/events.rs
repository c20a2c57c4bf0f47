//! Events, as every controller records them: through one [`Recorder`] whose reporting
//! controller is [`FIELD_MANAGER`], and — for a reconcile's outcome — only when the `Ready`
//! condition's status or reason moves ([`on_transition`]), so a periodic resync or a reworded
//! message adds nothing to `kubectl describe`. Publishing is best effort: a failure is logged
//! at debug and never fails the reconcile.

use kube::Resource;
use kube::runtime::events::{Event, Recorder, Reporter};

use super::FIELD_MANAGER;
use crate::telemetry::error_chain;

/// The recorder of this replica (`instance`: its identity).
pub fn recorder(client: kube::Client, instance: String) -> Recorder {
    let reporter = Reporter {
        controller: FIELD_MANAGER.into(),
        instance: Some(instance),
    };
    Recorder::new(client, reporter)
}

/// `Ready`'s status and reason, as far as events care.
pub type Ready<'a> = Option<(&'a str, Option<&'a str>)>;

/// Whether `Ready` moved between two statuses: appeared, or changed status or reason.
pub fn transitioned(before: Ready<'_>, after: Ready<'_>) -> bool {
    after.is_some() && before != after
}

/// Publish `event` about `obj`.
pub async fn publish<K: Resource<DynamicType = ()>>(recorder: &Recorder, obj: &K, event: &Event) {
    if let Err(err) = recorder.publish(event, &obj.object_ref(&())).await {
        tracing::debug!(error = %error_chain(&err), "publishing an event");
    }
}

/// Publish the event `event` makes when `Ready` moved from `before` to `after`.
pub async fn on_transition<K: Resource<DynamicType = ()>>(
    recorder: &Recorder,
    obj: &K,
    (before, after): (Ready<'_>, Ready<'_>),
    event: impl FnOnce() -> Event,
) {
    if transitioned(before, after) {
        publish(recorder, obj, &event()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_status_or_reason_moves_count() {
        let ok = Some(("True", Some("SecretSynced")));
        assert!(transitioned(None, ok), "the first Ready");
        assert!(
            !transitioned(ok, ok),
            "the same Ready, whatever its message"
        );
        assert!(transitioned(ok, Some(("False", Some("SecretSynced")))));
        assert!(transitioned(ok, Some(("True", Some("SecretDeleted")))));
        assert!(!transitioned(ok, None), "no Ready: nothing to say");
    }
}

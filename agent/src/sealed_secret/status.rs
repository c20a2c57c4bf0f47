//! A SealedSecret's status after a reconcile: `Ready` (ours) and `Synced` (Bitnami's), with
//! transition times kept while the outcome stays the same, written by server-side apply; and the
//! event when `Ready` moves.

use kube::ResourceExt as _;
use kube::api::Api;
use kube::runtime::events::{Event, EventType};
use secrets_core::api::sealed_secret::{SealedSecretCondition, SealedSecretStatus};

use super::reconcile::{Applied, Done};
use super::{Context, Error, Kind};
use crate::runtime;

/// Write the status `applied` leads to, and the event if `Ready` moved.
pub(super) async fn write<K: Kind>(obj: &K, ctx: &Context, applied: &Applied) -> Result<(), Error> {
    let previous = obj.status().cloned().unwrap_or_default();
    let status = next_status(&previous, obj.meta().generation, applied, K::bitnami());
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    if runtime::status::write(&api, obj, &previous, &status).await? {
        let moved = (ready(&previous), ready(&status));
        runtime::events::on_transition(&ctx.recorder, obj, moved, || event(applied)).await;
    }
    Ok(())
}

fn ready(status: &SealedSecretStatus) -> runtime::events::Ready<'_> {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.as_str(), c.reason.as_deref()))
}

/// The status after this reconcile: `Ready` (and `Synced`, Bitnami's, first for Bitnami
/// objects since its printer columns read `conditions[0]`), transition times kept when the
/// status did not change.
pub(super) fn next_status(
    previous: &SealedSecretStatus,
    generation: Option<i64>,
    applied: &Applied,
    bitnami: bool,
) -> SealedSecretStatus {
    let (status, reason, message) = match applied {
        Ok(Done::Secret(_)) => ("True", "Unsealed", "the Secret is up to date".to_owned()),
        Ok(Done::ServedByMounts) => (
            "True",
            "ServedByMounts",
            format!(
                "served to CSI mounts only ({}=true): it opens, and no Secret is made",
                secrets_core::mount::MOUNT_ONLY_ANNOTATION
            ),
        ),
        Err(f) => ("False", f.reason, f.message.clone()),
    };
    let now = secrets_core::rfc3339::now();
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

fn event(applied: &Applied) -> Event {
    let (type_, reason, note) = match applied {
        Ok(Done::ServedByMounts) => (
            EventType::Normal,
            "ServedByMounts".to_owned(),
            "it opens; served to CSI mounts only, no Secret is made".to_owned(),
        ),
        Ok(Done::Secret(fp)) => (
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
    Event {
        type_,
        reason,
        note: Some(note),
        action: "Unseal".into(),
        secondary: None,
    }
}

#[cfg(test)]
mod tests {
    use secrets_core::seal::decide::Failure;

    use super::*;

    #[test]
    fn status_keeps_transition_times_and_orders_conditions() {
        let ok: Applied = Ok(Done::Secret(None));
        let first = next_status(&SealedSecretStatus::default(), Some(1), &ok, false);
        assert_eq!(first.conditions[0].type_, "Ready");
        assert_eq!(first.observed_generation, Some(1));
        let again = next_status(&first, Some(1), &ok, false);
        assert_eq!(again, first, "an unchanged outcome writes nothing new");
        let failed: Applied = Err(Failure {
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
        let mounts = next_status(&bad, Some(3), &Ok(Done::ServedByMounts), false);
        assert_eq!(mounts.conditions[0].status, "True");
        assert_eq!(
            mounts.conditions[0].reason.as_deref(),
            Some("ServedByMounts")
        );
        assert!(
            mounts.conditions[0]
                .message
                .as_deref()
                .is_some_and(|m| m.contains("no Secret is made"))
        );
    }
}

//! An ExternalSecret's status after a reconcile — `Ready` with ESO's reasons, `refreshTime`
//! (when the data was read), `syncedResourceVersion`, `observedGeneration`, `binding` — written
//! by server-side apply, and the event when `Ready`'s status or reason moves. A reconcile
//! with nothing due keeps what the last sync said.

use kube::api::Api;
use kube::runtime::events::{Event, EventType};
use kube::{Resource as _, ResourceExt as _};
use secrets_core::api::external_secret::Binding;
use secrets_core::api::{Condition, ExternalSecret, ExternalSecretStatus, ready_condition};
use secrets_core::rfc3339;
use secrets_core::sync::decide::SECRET_DELETED;
use secrets_core::sync::schedule;

use super::reconcile::Outcome;
use super::{Context, Error};
use crate::runtime;

/// Write the status `outcome` leads to, with its event.
pub(super) async fn write(
    es: &ExternalSecret,
    ctx: &Context,
    outcome: &Outcome,
) -> Result<(), Error> {
    // A store's failure is counted at every attempt, by store type and error category.
    let category = match outcome {
        Outcome::Failed {
            store: Some((store, category)),
            ..
        } => {
            ctx.metrics.sync_failed(store.as_str(), category);
            Some(*category)
        }
        _ => None,
    };
    let previous = es.status.clone().unwrap_or_default();
    let Some((status, ready)) = next_status(es, &previous, outcome) else {
        return Ok(());
    };
    let api: Api<ExternalSecret> =
        Api::namespaced(ctx.client.clone(), &es.namespace().unwrap_or_default());
    if !runtime::status::write(&api, es, &previous, &status).await? {
        return Ok(());
    }
    if matches!(
        outcome,
        Outcome::Synced {
            changed: Some(_),
            ..
        }
    ) {
        // The next reconcile may come before the watch cache shows this status (see own_status).
        ctx.own_status.wrote(es, &status);
    }
    if let Some((ok, reason, message)) = &ready {
        let moved = (condition(&previous), condition(&status));
        runtime::events::on_transition(&ctx.recorder, es, moved, || {
            event(*ok, reason, category, message)
        })
        .await;
        if !ok {
            // Said once per change of the status, not at every retry.
            tracing::warn!(reason, category, error = %message, "sync failed");
        }
    }
    Ok(())
}

/// What the Ready condition says now: ok, reason, message.
type Ready = (bool, &'static str, String);

/// The status after this reconcile and the Ready it set (`None`: kept as it was); `None` when
/// there is nothing to write at all (nothing was due and no sync ever said anything).
fn next_status(
    es: &ExternalSecret,
    previous: &ExternalSecretStatus,
    outcome: &Outcome,
) -> Option<(ExternalSecretStatus, Option<Ready>)> {
    let mut status = ExternalSecretStatus {
        observed_generation: es.meta().generation,
        binding: Some(Binding {
            name: es.target_name().to_owned(),
        }),
        ..previous.clone()
    };
    let ready = match outcome {
        Outcome::Synced { changed: None, .. } => {
            // Nothing was due: keep what the last sync said.
            if previous.conditions.is_empty() {
                return None;
            }
            return Some((status, None));
        }
        Outcome::Synced {
            changed: Some(rec), ..
        } => {
            status.refresh_time = Some(rfc3339::format(rec.read_at));
            status.synced_resource_version = Some(schedule::synced_version(es));
            (true, rec.reason, rec.message.to_owned())
        }
        Outcome::Failed {
            reason, message, ..
        } => (false, *reason, message.clone()),
    };
    let (ok, reason, message) = &ready;
    let now = rfc3339::now();
    status.conditions = vec![Condition::ready(
        *ok,
        reason,
        message.clone(),
        &previous.conditions,
        &now,
    )];
    Some((status, Some(ready)))
}

fn condition(status: &ExternalSecretStatus) -> runtime::events::Ready<'_> {
    ready_condition(&status.conditions).map(|c| (c.status.as_str(), c.reason.as_deref()))
}

/// The Event of a `Ready` transition: a store's failure is named by its category
/// (`permission_denied`, `timeout`, …), any other failure `UpdateFailed`; `Ready` keeps ESO's
/// reason either way.
fn event(ok: bool, reason: &str, category: Option<&str>, message: &str) -> Event {
    Event {
        type_: if ok {
            EventType::Normal
        } else {
            EventType::Warning
        },
        reason: match (ok, reason, category) {
            (true, SECRET_DELETED, _) => "Deleted".into(),
            (true, _, _) => "Updated".into(),
            (false, _, Some(category)) => category.into(),
            (false, _, None) => "UpdateFailed".into(),
        },
        note: Some(message.to_owned()),
        action: "Sync".into(),
        secondary: None,
    }
}

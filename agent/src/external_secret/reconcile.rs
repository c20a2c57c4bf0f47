//! The ExternalSecret controller: read (the object, its target Secret, the store session and
//! the shared reads) → decide (`secrets_core::sync::decide::decide`, pure) → apply (write or delete
//! the Secret, restart listed workloads) → status (`Ready` with ESO's reasons, `refreshTime`
//! = when the data was read, `syncedResourceVersion`, `observedGeneration`) and events.
//!
//! When nothing is due the provider is not asked at all; the next wake-up is computed by
//! `secrets_core::sync::schedule`. Any provider or API failure leaves the Secret untouched and backs off.
//! Only the provider's answer that every remote secret is gone, under `deletionPolicy:
//! Delete`, deletes: reported as `Ready=True SecretDeleted` (ESO's reason), never as synced.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource as _, ResourceExt as _};
use secrets_core::api::external_secret::{Binding, CreationPolicy};
use secrets_core::api::{Condition, ExternalSecret, ExternalSecretStatus};
use secrets_core::sync::decide::{self, Decision, SECRET_DELETED};
use secrets_core::sync::schedule::{self, Due};
use secrets_core::sync::validate;
use time::OffsetDateTime;
use zeroize::Zeroize as _;

use super::{Context, Error, data_digest, restart, rfc3339};
use crate::secret_store::{Fetched, ReadError, Urgency};

const CONTROLLER: &str = "externalsecret";

/// What a reconcile ended with, for status, metrics and requeue.
enum Outcome {
    /// Synced (or nothing due); look again after this long, if ever.
    Synced {
        next: Option<Duration>,
        changed: Option<SyncRecord>,
    },
    /// Failed; the Secret is as it was.
    Failed {
        reason: &'static str,
        message: String,
        retry: Option<Duration>,
    },
}

/// What a successful sync records in status.
struct SyncRecord {
    read_at: OffsetDateTime,
    /// `SecretSynced`, or `SecretDeleted` when deletionPolicy Delete acted.
    reason: &'static str,
    message: &'static str,
}

const SECRET_SYNCED: &str = "SecretSynced";

/// Reconcile one ExternalSecret.
pub(super) async fn reconcile(es: Arc<ExternalSecret>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    // The cached object may not show the status our last reconcile of it wrote yet.
    let es = ctx.own_status.overlay(es);
    let key = format!(
        "{CONTROLLER}/{}/{}",
        es.namespace().unwrap_or_default(),
        es.name_any()
    );
    let result = reconcile_inner(&es, &ctx).await;
    let label = match &result {
        Ok(Outcome::Synced { .. }) => "success",
        _ => "error",
    };
    ctx.metrics
        .reconciled(CONTROLLER, label, started.elapsed().as_secs_f64());
    let outcome = result?;
    write_status(&es, &ctx, &outcome).await?;
    Ok(match outcome {
        Outcome::Synced { next, .. } => {
            ctx.succeeded(&key);
            next.map_or_else(Action::await_change, Action::requeue)
        }
        Outcome::Failed {
            retry: Some(wait), ..
        } => Action::requeue(wait),
        Outcome::Failed { retry: None, .. } => Action::requeue(ctx.backoff(&key)),
    })
}

#[tracing::instrument(skip_all, fields(object = %es.name_any(), namespace = es.namespace().unwrap_or_default()))]
async fn reconcile_inner(es: &ExternalSecret, ctx: &Context) -> Result<Outcome, Error> {
    if es.meta().deletion_timestamp.is_some() {
        ctx.own_status.forget(es);
        return Ok(Outcome::Synced {
            next: None,
            changed: None,
        });
    }
    let interval = match validate::external_secret(&es.spec) {
        Ok(i) => i,
        Err(problems) => {
            return Ok(Outcome::Failed {
                reason: "SecretSyncedError",
                message: format!("invalid spec: {}", problems.join("; ")),
                // Only an edit can fix it: wait for one.
                retry: Some(Duration::from_secs(3600)),
            });
        }
    };
    let namespace = es.namespace().unwrap_or_default();
    let target = es.target_name().to_owned();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    // read
    let existing = crate::wipe::Wiped(
        secrets
            .get_opt(&target)
            .await
            .map_err(Error::api("reading the target Secret"))?,
    );
    let policy = es.creation_policy();
    let writes = matches!(policy, CreationPolicy::Owner | CreationPolicy::Orphan);
    let last_read = es
        .status
        .as_ref()
        .and_then(|s| s.refresh_time.as_deref())
        .and_then(|t| {
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        });
    let since_read = last_read.map(|t| {
        (OffsetDateTime::now_utc() - t)
            .try_into()
            .unwrap_or(Duration::ZERO)
    });
    let mut due = schedule::due(es, interval, since_read, writes && existing.is_none());
    if let (Due::Later(_), Some(secret)) = (due, &*existing)
        && ctx.drifted(&namespace, &target, secret)
    {
        due = Due::Repair;
    }
    let (urgency, fresh) = match due {
        Due::Later(next) => {
            return Ok(Outcome::Synced {
                next,
                changed: None,
            });
        }
        Due::First => (Urgency::Urgent, false),
        Due::Changed { fresh } => (Urgency::Urgent, fresh),
        Due::Repair => (Urgency::Urgent, false),
        Due::Periodic => (Urgency::Refresh, false),
    };
    let store_ref = &es.spec.secret_store_ref;
    let session = match ctx
        .stores
        .for_external_secret(es.store_kind(), &store_ref.name, &namespace)
        .await
    {
        Ok(s) => s,
        Err(err) => return Ok(failed_store(err.to_string(), err.transient())),
    };
    let window = schedule::reuse_window(interval);
    let not_before = fresh.then_some(Instant::now());
    let mut fetched: Vec<(decide::ReadKey, Arc<Fetched>)> = Vec::new();
    for read in decide::reads(es) {
        match ctx
            .reads
            .get(&session, &read, window, not_before, urgency)
            .await
        {
            Ok(f) => fetched.push((read, f)),
            Err(ReadError::Throttled(wait)) => {
                return Ok(Outcome::Failed {
                    reason: "SecretSyncedError",
                    message: format!("waiting for {}'s rate limit", session.key),
                    retry: Some(wait),
                });
            }
            Err(ReadError::Store(err)) => {
                let message = format!("could not get secret data from {}: {err}", session.key);
                return Ok(failed_store(message, err.transient()));
            }
        }
    }
    let read_at = fetched
        .iter()
        .map(|(_, f)| f.wall)
        .min()
        .unwrap_or_else(OffsetDateTime::now_utc);
    // decide
    let answer = |k: &decide::ReadKey| {
        fetched
            .iter()
            .find(|(r, _)| r == k)
            .map(|(_, f)| f.answer())
    };
    let store_name = session.key.to_string();
    let decision = decide::decide(es, existing.as_ref(), &answer, &store_name);
    // apply
    let next = (interval > Duration::ZERO).then(|| interval + schedule::jitter(es, interval));
    let params = PostParams {
        field_manager: Some("secrets-agent".into()),
        ..Default::default()
    };
    let (reason, message) = match decision {
        Decision::UpToDate => {
            if let Some(s) = &*existing {
                ctx.remember(&namespace, &target, s);
            }
            (SECRET_SYNCED, "secret synced")
        }
        Decision::NothingToWrite => (
            SECRET_SYNCED,
            "secret data read; creationPolicy None writes nothing",
        ),
        Decision::Write {
            secret,
            create,
            data_changed,
        } => {
            if let Some(failed) = write(
                ctx,
                &secrets,
                (&namespace, &target),
                &params,
                secret,
                create,
            )
            .await?
            {
                return Ok(failed);
            }
            if data_changed {
                restart::rollout(ctx, es, &namespace).await;
            }
            let message = if create {
                "secret created"
            } else {
                "secret updated"
            };
            (SECRET_SYNCED, message)
        }
        Decision::Delete => {
            match secrets.delete(&target, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(err) => return Err(Error::api("deleting the target Secret")(err)),
            }
            ctx.forget(&namespace, &target);
            (
                SECRET_DELETED,
                "every remote secret is gone; deletionPolicy Delete deleted the Secret",
            )
        }
        Decision::DeleteKeys { secret } => {
            if let Some(failed) =
                write(ctx, &secrets, (&namespace, &target), &params, secret, false).await?
            {
                return Ok(failed);
            }
            restart::rollout(ctx, es, &namespace).await;
            (
                SECRET_DELETED,
                "every remote secret is gone; deletionPolicy Delete removed the synced keys from \
                 the Secret",
            )
        }
        Decision::NothingToDelete { message } => (SECRET_DELETED, message),
        Decision::Fail { reason, message } => {
            return Ok(Outcome::Failed {
                reason,
                message,
                retry: None,
            });
        }
    };
    Ok(Outcome::Synced {
        next,
        changed: Some(SyncRecord {
            read_at,
            reason,
            message,
        }),
    })
}

/// Create or replace the target Secret, wiping its data afterwards. `Ok(Some)`: the API
/// server refused it (a status to report, not a retry).
async fn write(
    ctx: &Context,
    secrets: &Api<Secret>,
    (namespace, target): (&str, &str),
    params: &PostParams,
    mut secret: Box<Secret>,
    create: bool,
) -> Result<Option<Outcome>, Error> {
    let written = if create {
        secrets.create(params, &secret).await
    } else {
        secrets.replace(target, params, &secret).await
    };
    if let Ok(w) = &written {
        ctx.remember(namespace, target, w);
    }
    if let Some(data) = secret.data.as_mut() {
        data.values_mut().for_each(|v| v.0.zeroize());
    }
    match written {
        Ok(_) => Ok(None),
        Err(kube::Error::Api(status)) if status.code == 422 => Ok(Some(Outcome::Failed {
            reason: "SecretSyncedError",
            message: format!(
                "the API server refused Secret {target:?}: {}",
                status.message
            ),
            retry: None,
        })),
        Err(err) => Err(Error::api("writing the target Secret")(err)),
    }
}

fn failed_store(message: String, transient: bool) -> Outcome {
    Outcome::Failed {
        reason: "SecretSyncedError",
        message,
        // A broken store spec waits for the store's own edits (which requeue us) or a slow retry.
        retry: (!transient).then_some(Duration::from_secs(300)),
    }
}

async fn write_status(es: &ExternalSecret, ctx: &Context, outcome: &Outcome) -> Result<(), Error> {
    let previous = es.status.clone().unwrap_or_default();
    let now = rfc3339(OffsetDateTime::now_utc());
    let mut status = ExternalSecretStatus {
        observed_generation: es.meta().generation,
        binding: Some(Binding {
            name: es.target_name().to_owned(),
        }),
        ..previous.clone()
    };
    let (ok, reason, message) = match outcome {
        Outcome::Synced { changed: None, .. } => {
            // Nothing was due: keep what the last sync said.
            if previous.conditions.is_empty() {
                return Ok(());
            }
            status.conditions = previous.conditions.clone();
            (true, "", String::new())
        }
        Outcome::Synced {
            changed: Some(rec), ..
        } => {
            status.refresh_time = Some(rfc3339(rec.read_at));
            status.synced_resource_version = Some(schedule::synced_version(es));
            (true, rec.reason, rec.message.to_owned())
        }
        Outcome::Failed {
            reason, message, ..
        } => (false, *reason, message.clone()),
    };
    if !reason.is_empty() {
        let ready = Condition::ready(ok, reason, message.clone(), &previous.conditions, &now);
        status.conditions = vec![ready];
    }
    if status == previous {
        return Ok(());
    }
    let api: Api<ExternalSecret> =
        Api::namespaced(ctx.client.clone(), &es.namespace().unwrap_or_default());
    api.patch_status(
        &es.name_any(),
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "status": status })),
    )
    .await
    .map_err(Error::api("writing the status"))?;
    if matches!(
        outcome,
        Outcome::Synced {
            changed: Some(_),
            ..
        }
    ) {
        ctx.own_status.wrote(es, &status);
    }
    let was = secrets_core::api::ready_condition(&previous.conditions)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()));
    let now_ready = secrets_core::api::ready_condition(&status.conditions)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()));
    if was != now_ready && !reason.is_empty() {
        let event = Event {
            type_: if ok {
                EventType::Normal
            } else {
                EventType::Warning
            },
            reason: match (ok, reason) {
                (true, SECRET_DELETED) => "Deleted".into(),
                (true, _) => "Updated".into(),
                (false, _) => "UpdateFailed".into(),
            },
            note: Some(message.clone()),
            action: "Sync".into(),
            secondary: None,
        };
        if let Err(err) = ctx.recorder.publish(&event, &es.object_ref(&())).await {
            tracing::debug!(error = %super::error_chain(&err), "publishing an event");
        }
    }
    if !ok {
        tracing::warn!(reason, error = %message, "sync failed");
    }
    Ok(())
}

/// Digest of a Secret's data, as remembered for drift detection.
pub(super) fn secret_digest(secret: &Secret) -> [u8; 32] {
    data_digest(secret.data.as_ref())
}

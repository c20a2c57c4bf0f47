//! One ExternalSecret reconcile as its steps: validate (the spec) → dereference (the target
//! Secret; is anything due?; the store session and the shared reads) → decide
//! (`secrets_core::sync::decide::decide`, pure) → apply (write or delete the Secret, restart
//! listed workloads) → status ([`super::status`]: `Ready` with ESO's reasons, `refreshTime` =
//! when the data was read, `syncedResourceVersion`, `observedGeneration`, and events).
//!
//! When nothing is due the provider is not asked at all; the next wake-up is computed by
//! `secrets_core::sync::schedule`. Any provider or API failure leaves the Secret untouched and backs off.
//! Only the provider's answer that every remote secret is gone, under `deletionPolicy:
//! Delete`, deletes: reported as `Ready=True SecretDeleted` (ESO's reason), never as synced.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams};
use kube::runtime::controller::Action;
use kube::{Resource as _, ResourceExt as _};
use secrets_core::api::ExternalSecret;
use secrets_core::api::external_secret::CreationPolicy;
use secrets_core::store::{StoreError, StoreType};
use secrets_core::sync::decide::{self, Decision, SECRET_DELETED};
use secrets_core::sync::schedule::{self, Due};
use secrets_core::sync::validate;
use time::OffsetDateTime;

use super::{Context, Error, restart, status};
use crate::runtime::{self, secret::Written};
use crate::secret_store::{Ask, Fetched, ReadError, Urgency};
use crate::telemetry::error_chain;
use crate::wipe::Wiped;

/// What a reconcile ended with, for status, metrics and requeue.
pub(super) enum Outcome {
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
        /// For a store's failure: its type and `StoreError::category()` (Event reason, metric).
        store: Option<(StoreType, &'static str)>,
    },
}

impl Outcome {
    fn verdict(&self) -> runtime::Outcome {
        match self {
            Outcome::Synced { next, .. } => runtime::Outcome::Done { next: *next },
            Outcome::Failed { retry, .. } => runtime::Outcome::Failed { retry: *retry },
        }
    }
}

/// What a successful sync records in status.
pub(super) struct SyncRecord {
    pub(super) read_at: OffsetDateTime,
    /// `SecretSynced`, or `SecretDeleted` when deletionPolicy Delete acted.
    pub(super) reason: &'static str,
    pub(super) message: &'static str,
}

const SECRET_SYNCED: &str = "SecretSynced";

/// Shortest requeue after a sync: a clock step never turns it into a busy loop.
const MIN_REQUEUE: Duration = Duration::from_secs(1);

/// The target Secret: where it lives and how to reach it.
struct Target {
    namespace: String,
    name: String,
    secrets: Api<Secret>,
}

/// The provider's answers for this reconcile, and the store that gave them.
struct Reads {
    store: String,
    fetched: Vec<(decide::ReadKey, Arc<Fetched>)>,
}

/// Reconcile one ExternalSecret.
pub(super) async fn reconcile(es: Arc<ExternalSecret>, ctx: Arc<Context>) -> Result<Action, Error> {
    // The cached object may not show the status our last reconcile of it wrote yet.
    let es = ctx.own_status.overlay(es);
    runtime::timed(&*es, &*ctx, steps(&es, &ctx)).await
}

async fn steps(es: &ExternalSecret, ctx: &Context) -> Result<runtime::Outcome, Error> {
    let outcome = sync(es, ctx).await?;
    status::write(es, ctx, &outcome).await?;
    Ok(outcome.verdict())
}

/// Everything up to the status: validate → dereference → decide → apply.
async fn sync(es: &ExternalSecret, ctx: &Context) -> Result<Outcome, Error> {
    if es.meta().deletion_timestamp.is_some() {
        ctx.own_status.forget(es);
        return Ok(Outcome::Synced {
            next: None,
            changed: None,
        });
    }
    let interval = match validate(es) {
        Ok(interval) => interval,
        Err(failed) => return Ok(failed),
    };
    let namespace = es.namespace().unwrap_or_default();
    let target = Target {
        secrets: Api::namespaced(ctx.client.clone(), &namespace),
        name: es.target_name().to_owned(),
        namespace,
    };
    let existing = Wiped(
        target
            .secrets
            .get_opt(&target.name)
            .await
            .map_err(Error::api("reading the target Secret"))?,
    );
    let (urgency, fresh) = match due(ctx, es, interval, &target, &existing) {
        Ok(due) => due,
        Err(next) => {
            return Ok(Outcome::Synced {
                next,
                changed: None,
            });
        }
    };
    let reads = match fetch(ctx, es, &target, interval, urgency, fresh).await {
        Ok(reads) => reads,
        Err(failed) => return Ok(failed),
    };
    let read_at = reads
        .fetched
        .iter()
        .map(|(_, f)| f.wall)
        .min()
        .unwrap_or_else(OffsetDateTime::now_utc);
    let decision = decide(es, &existing, &reads);
    // From the read, as the next `due` will count (refreshTime is to the second): a read taken
    // from the cache is older than this sync, and the group sharing it comes due together.
    let since_read = secrets_core::rfc3339::parse(&secrets_core::rfc3339::format(read_at))
        .and_then(|t| Duration::try_from(OffsetDateTime::now_utc() - t).ok())
        .unwrap_or(Duration::ZERO);
    let next = (interval > Duration::ZERO)
        .then(|| schedule::next_refresh(es, interval, since_read).max(MIN_REQUEUE));
    Ok(match apply(ctx, es, &target, &existing, decision).await? {
        Ok((reason, message)) => Outcome::Synced {
            next,
            changed: Some(SyncRecord {
                read_at,
                reason,
                message,
            }),
        },
        Err(failed) => failed,
    })
}

/// The spec's refresh interval, or the failure an invalid spec is.
fn validate(es: &ExternalSecret) -> Result<Duration, Outcome> {
    validate::external_secret(&es.spec).map_err(|problems| Outcome::Failed {
        reason: "SecretSyncedError",
        message: format!("invalid spec: {}", problems.join("; ")),
        // Only an edit can fix it: wait for one.
        retry: Some(Duration::from_secs(3600)),
        store: None,
    })
}

/// Whether the provider must be asked now (how urgently, and whether a fresh read is needed),
/// or `Err` with when to look again.
fn due(
    ctx: &Context,
    es: &ExternalSecret,
    interval: Duration,
    target: &Target,
    existing: &Wiped,
) -> Result<(Urgency, bool), Option<Duration>> {
    let writes = matches!(
        es.creation_policy(),
        CreationPolicy::Owner | CreationPolicy::Orphan
    );
    let last_read = es
        .status
        .as_ref()
        .and_then(|s| s.refresh_time.as_deref())
        .and_then(secrets_core::rfc3339::parse);
    let since_read = last_read.map(|t| {
        (OffsetDateTime::now_utc() - t)
            .try_into()
            .unwrap_or(Duration::ZERO)
    });
    let mut due = schedule::due(es, interval, since_read, writes && existing.is_none());
    if let (Due::Later(_), Some(secret)) = (due, &**existing)
        && ctx.drifted(&target.namespace, &target.name, secret)
    {
        due = Due::Repair;
    }
    match due {
        Due::Later(next) => Err(next),
        Due::First => Ok((Urgency::Urgent, false)),
        Due::Changed { fresh } => Ok((Urgency::Urgent, fresh)),
        Due::Repair => Ok((Urgency::Urgent, false)),
        Due::Periodic => Ok((Urgency::Refresh, false)),
    }
}

/// The store session and every read the decision needs, through the shared read cache.
async fn fetch(
    ctx: &Context,
    es: &ExternalSecret,
    target: &Target,
    interval: Duration,
    urgency: Urgency,
    fresh: bool,
) -> Result<Reads, Outcome> {
    let store_ref = &es.spec.secret_store_ref;
    let session = match ctx
        .stores
        .for_external_secret(es.store_kind(), &store_ref.name, &target.namespace)
        .await
    {
        Ok(s) => s,
        Err(err) => return Err(failed_store(error_chain(&err), &err)),
    };
    // Versions are strings only the store can judge (Vault KV numbers, AWS ids, …).
    let problems = validate::versions(&es.spec, &|v| session.store.check_version(v));
    if !problems.is_empty() {
        return Err(Outcome::Failed {
            reason: "SecretSyncedError",
            message: format!("invalid spec: {}", problems.join("; ")),
            retry: Some(Duration::from_secs(3600)),
            store: Some((session.store.store_type(), "invalid_config")),
        });
    }
    let ask = Ask {
        interval,
        urgency,
        not_before: fresh.then_some(Instant::now()),
    };
    // Concurrently: a store that batches puts all of them in one call.
    let reads = decide::reads(es);
    let answers =
        futures::future::join_all(reads.iter().map(|r| ctx.reads.get(&session, r, ask))).await;
    let mut fetched: Vec<(decide::ReadKey, Arc<Fetched>)> = Vec::with_capacity(reads.len());
    for (read, answer) in reads.into_iter().zip(answers) {
        match answer {
            Ok(f) => fetched.push((read, f)),
            Err(ReadError::Throttled(wait)) => {
                return Err(Outcome::Failed {
                    reason: "SecretSyncedError",
                    message: format!("waiting for {}'s rate limit", session.key),
                    retry: Some(wait),
                    store: Some((session.store.store_type(), "throttled")),
                });
            }
            Err(ReadError::Store(err)) => {
                let message = format!(
                    "could not get secret data from {}: {}",
                    session.key,
                    error_chain(&err)
                );
                return Err(failed_store(message, &err));
            }
        }
    }
    Ok(Reads {
        store: session.key.to_string(),
        fetched,
    })
}

/// The pure decision over the reads.
fn decide(es: &ExternalSecret, existing: &Wiped, reads: &Reads) -> Decision {
    let answer = |k: &decide::ReadKey| {
        reads
            .fetched
            .iter()
            .find(|(r, _)| r == k)
            .map(|(_, f)| f.answer())
    };
    decide::decide(es, existing.as_ref(), &answer, &reads.store)
}

/// Carry out the decision: `Ok` with the Ready reason and message of a sync, or `Err` with the
/// failure (the API server refused the Secret; the decision failed).
async fn apply(
    ctx: &Context,
    es: &ExternalSecret,
    target: &Target,
    existing: &Wiped,
    decision: Decision,
) -> Result<Result<(&'static str, &'static str), Outcome>, Error> {
    Ok(Ok(match decision {
        Decision::UpToDate => {
            if let Some(s) = &**existing {
                ctx.remember(&target.namespace, &target.name, s);
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
            if let Some(failed) = write(ctx, target, *secret, create).await? {
                return Ok(Err(failed));
            }
            if data_changed {
                restart::rollout(ctx, es, &target.namespace).await;
            }
            let message = if create {
                "secret created"
            } else {
                "secret updated"
            };
            (SECRET_SYNCED, message)
        }
        Decision::Delete => {
            match target
                .secrets
                .delete(&target.name, &DeleteParams::default())
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(err) => return Err(Error::api("deleting the target Secret")(err)),
            }
            ctx.forget(&target.namespace, &target.name);
            (
                SECRET_DELETED,
                "every remote secret is gone; deletionPolicy Delete deleted the Secret",
            )
        }
        Decision::DeleteKeys { secret } => {
            if let Some(failed) = write(ctx, target, *secret, false).await? {
                return Ok(Err(failed));
            }
            restart::rollout(ctx, es, &target.namespace).await;
            (
                SECRET_DELETED,
                "every remote secret is gone; deletionPolicy Delete removed the synced keys from \
                 the Secret",
            )
        }
        Decision::NothingToDelete { message } => (SECRET_DELETED, message),
        Decision::Fail { reason, message } => {
            return Ok(Err(Outcome::Failed {
                reason,
                message,
                retry: None,
                store: None,
            }));
        }
    }))
}

/// Create or replace the target Secret and remember what it holds. `Ok(Some)`: the API server
/// refused it (a status to report, not a retry).
async fn write(
    ctx: &Context,
    target: &Target,
    secret: Secret,
    create: bool,
) -> Result<Option<Outcome>, Error> {
    match runtime::secret::write(&target.secrets, secret, create).await? {
        Written::Stored(stored) => {
            ctx.remember(&target.namespace, &target.name, &stored);
            Ok(None)
        }
        Written::Refused(message) => Ok(Some(Outcome::Failed {
            reason: "SecretSyncedError",
            message,
            retry: None,
            store: None,
        })),
    }
}

/// A store's failure: `Ready` keeps ESO's reason, the Event and the metric take the error's
/// category. `message` is the error chain, rendered once.
fn failed_store(message: String, err: &StoreError) -> Outcome {
    Outcome::Failed {
        reason: "SecretSyncedError",
        message,
        // A broken store spec waits for the store's own edits (which requeue us) or a slow retry.
        retry: (!err.is_transient()).then_some(Duration::from_secs(300)),
        store: Some((err.store_type(), err.category())),
    }
}

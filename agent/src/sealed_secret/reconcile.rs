//! One SealedSecret reconcile as its steps: dereference (the Secret that exists, the keys) →
//! decide (pure; unsealing and validation happen there) → apply (write the Secret, or for a
//! mount-only SealedSecret delete the one it made before) → status.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt as _;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use secrets_core::ownership::Owner;
use secrets_core::seal::decide::{self, Decision, Failure, Stale};

use super::{Context, Error, Kind, status};
use crate::runtime::{self, Outcome};
use crate::wipe::Wiped;

/// What applying the decision came to, or why the Secret is not what the object says.
pub(super) type Applied = Result<Done, Failure>;

/// A decision applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Done {
    /// The Secret is as the object says: the fingerprint of the key that opened the one we
    /// wrote (`None`: it was up to date).
    Secret(Option<String>),
    /// Mount-only: it opens, and no Secret exists for it.
    ServedByMounts,
}

/// Reconcile one SealedSecret (either kind).
pub(super) async fn reconcile<K: Kind>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    runtime::timed(&*obj, &*ctx, steps(&*obj, &ctx)).await
}

async fn steps<K: Kind>(obj: &K, ctx: &Context) -> Result<Outcome, Error> {
    if obj.meta().deletion_timestamp.is_some() {
        return Ok(Outcome::Done { next: None }); // the Secret goes with it through garbage collection
    }
    let secrets: Api<Secret> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let existing = dereference(&secrets, &obj.name_any()).await?;
    let decision = decide(obj, ctx, &existing);
    let applied = apply(obj, ctx, &secrets, decision).await?;
    status::write(obj, ctx, &applied).await?;
    Ok(match applied {
        Ok(_) => Outcome::Done { next: None },
        Err(failure) => {
            // The failure's message is its cause; `message` is the event's own text.
            tracing::warn!(reason = failure.reason, error = %failure.message, "cannot unseal");
            ctx.metrics.unseal_failed(failure.reason);
            Outcome::Failed { retry: None }
        }
    })
}

/// The Secret that exists under the object's name, wiped when the reconcile is done.
async fn dereference(secrets: &Api<Secret>, name: &str) -> Result<Wiped, Error> {
    let existing = secrets
        .get_opt(name)
        .await
        .map_err(Error::api("reading the Secret"))?;
    Ok(Wiped(existing))
}

/// The pure decision; the RSA work happens here, off the async threads.
fn decide<K: Kind>(obj: &K, ctx: &Context, existing: &Wiped) -> Decision {
    let sealed = obj.native();
    let keys = ctx.keys.borrow().clone();
    let owner = Owner::of(obj);
    let options = ctx.options;
    tokio::task::block_in_place(|| {
        decide::decide(&sealed, &owner, existing.as_ref(), &keys, options)
    })
}

/// Write the Secret the decision asks for (or delete the one a mount-only object made).
async fn apply<K: Kind>(
    obj: &K,
    ctx: &Context,
    secrets: &Api<Secret>,
    decision: Decision,
) -> Result<Applied, Error> {
    Ok(match decision {
        Decision::UpToDate => Ok(Done::Secret(None)),
        Decision::MountOnly { delete, .. } => {
            if let Some(stale) = delete {
                delete_stale(obj, ctx, secrets, &stale).await?;
            }
            Ok(Done::ServedByMounts)
        }
        Decision::Write {
            secret,
            key_fingerprint,
            create,
        } => match runtime::secret::write(secrets, *secret, create).await? {
            runtime::secret::Written::Stored(_) => Ok(Done::Secret(key_fingerprint)),
            runtime::secret::Written::Refused(message) => Err(Failure {
                reason: "ApplyFailed",
                message,
            }),
        },
        Decision::Fail(failure) => Err(failure),
    })
}

/// Delete the Secret this object made before it was annotated mount-only: exactly that one
/// (uid precondition), with an event. Already gone is fine.
async fn delete_stale<K: Kind>(
    obj: &K,
    ctx: &Context,
    secrets: &Api<Secret>,
    stale: &Stale,
) -> Result<(), Error> {
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: stale.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match secrets.delete(&stale.name, &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
        Err(err) => {
            return Err(Error::api("deleting the Secret made before mount-only")(
                err,
            ));
        }
    }
    tracing::info!(secret = %stale.name, "deleted the Secret made before the SealedSecret became mount-only");
    let event = Event {
        type_: EventType::Normal,
        reason: "SecretDeleted".into(),
        note: Some(format!(
            "deleted Secret {:?}: this SealedSecret is annotated {}=true, so it is served to CSI \
             mounts only and no Secret is kept",
            stale.name,
            secrets_core::mount::MOUNT_ONLY_ANNOTATION
        )),
        action: "Delete".into(),
        secondary: None,
    };
    runtime::events::publish(&ctx.recorder, obj, &event).await;
    Ok(())
}

//! One SealedSecret reconcile as its steps: dereference (the Secret that exists, the keys) →
//! decide (pure; unsealing and validation happen there) → apply (write the Secret) → status.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt as _;
use kube::api::Api;
use kube::runtime::controller::Action;
use secrets_core::ownership::Owner;
use secrets_core::seal::decide::{self, Decision, Failure};

use super::{Context, Error, Kind, status};
use crate::runtime::{self, Outcome};
use crate::wipe::Wiped;

/// What applying the decision came to: the fingerprint of the key that opened a Secret we
/// wrote (`None`: it was up to date), or why the Secret is not what the object says.
pub(super) type Applied = Result<Option<String>, Failure>;

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
    let applied = apply(&secrets, decision).await?;
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

/// Write the Secret the decision asks for.
async fn apply(secrets: &Api<Secret>, decision: Decision) -> Result<Applied, Error> {
    Ok(match decision {
        Decision::UpToDate => Ok(None),
        Decision::Write {
            secret,
            key_fingerprint,
            create,
        } => match runtime::secret::write(secrets, *secret, create).await? {
            runtime::secret::Written::Stored(_) => Ok(key_fingerprint),
            runtime::secret::Written::Refused(message) => Err(Failure {
                reason: "ApplyFailed",
                message,
            }),
        },
        Decision::Fail(failure) => Err(failure),
    })
}

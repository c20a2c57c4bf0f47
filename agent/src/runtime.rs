//! Plumbing every controller shares — the SealedSecret and ExternalSecret controllers and the
//! store status controllers — as small functions, not a framework. One reconcile, left to right:
//!
//! ```text
//! Controller ──▶ reconcile::timed (span, timer, result counter, requeue or backoff)
//!                  └─ the controller's steps: dereference → validate → decide → apply → status
//!                       apply:  secret::write   (create or replace; plaintext wiped; 422 → Refused)
//!                       status: status::write   (server-side apply, field manager FIELD_MANAGER)
//!                               events::on_transition (only when Ready's status or reason moves)
//! failure ──▶ reconcile::error_policy (per-object backoff, the same key as `timed`)
//! ```
//!
//! A bad object is not an [`Error`]: its steps end in a failed outcome with a status. [`Error`]
//! is API trouble, worth retrying.

pub mod backoff;
pub mod events;
pub mod reconcile;
pub mod secret;
pub mod status;

pub use backoff::{Backoff, WatchBackoff};
pub use reconcile::{Object, Outcome, Shared, error_policy, object_key, timed};

/// The one name the agent writes under: the field manager of every write (Secrets, status,
/// restarts, keys) and the reporting controller of its events.
pub const FIELD_MANAGER: &str = "secrets-agent";

/// Why a reconcile failed in a way worth retrying (API trouble); bad objects are not errors,
/// they get a status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Talking to the API server failed.
    #[error("{action}")]
    Api {
        /// What we were doing.
        action: &'static str,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

impl Error {
    /// Wrap a kube error with what we were doing.
    pub fn api(action: &'static str) -> impl FnOnce(kube::Error) -> Error {
        move |source| Error::Api { action, source }
    }
}

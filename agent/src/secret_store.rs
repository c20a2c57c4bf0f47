//! Secret stores as the sync pattern uses them: a store object (SecretStore or
//! ClusterSecretStore, from a reflector cache) → checks → one session per store (client,
//! credentials, renewal) → reads shared through one cache and a per-store rate limit; and the
//! store controllers that write each store's own `Ready` status.
//!
//! ```text
//! SecretStore / ClusterSecretStore ──reflectors──▶ session::Stores ──▶ Session (client + token)
//!        │ status::reconcile (validate, Ready)                  │
//! ExternalSecret reconcile ──▶ reads::ReadCache (one read per store, path, version) ─┘
//!                               limiter::PriorityLimiter (first syncs before refreshes)
//! ```

mod limiter;
mod reads;
mod session;
mod status;

pub(crate) use reads::{Fetched, ReadCache, ReadError, Urgency};
pub(crate) use session::{Caches, Stores};
pub(crate) use status::reconcile as reconcile_status;

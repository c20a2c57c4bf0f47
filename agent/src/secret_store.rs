//! Secret stores as the sync pattern uses them, for any store behind the seam
//! (`secrets_core::store::Store`): a store object (SecretStore or ClusterSecretStore, from a
//! reflector cache) → checks → its refs resolved ([`credentials`]: CA, Secret keys,
//! TokenRequests) → the store built by a [`StoreFactory`] → one session per store object →
//! reads shared through one cache (keyed by the identity that reads) and a per-store rate
//! limit; and the store controllers that write each store's own `Ready` status.
//!
//! ```text
//! SecretStore / ClusterSecretStore ──reflectors──▶ session::Stores ──factory──▶ Session (dyn Store)
//!        │ status::reconcile (check, Ready)                   │
//! ExternalSecret reconcile ──▶ reads::ReadCache (one read per identity, path, version) ─┘
//!                               limiter::PriorityLimiter (first syncs before refreshes)
//! ```

mod credentials;
mod factory;
mod limiter;
mod reads;
pub(crate) mod selector;
mod session;
mod status;

pub(crate) use credentials::read_ca;
pub use factory::{OpenRequest, Providers, StoreFactory};
pub(crate) use reads::{Ask, Fetched, ReadCache, ReadError, Urgency};
pub(crate) use session::{Caches, Settings, Stores, version as store_version};
pub(crate) use status::{Context as StatusContext, StoreObject, reconcile as reconcile_status};

#[cfg(test)]
mod tests;

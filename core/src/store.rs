//! The store seam: the one interface between the patterns (sync, the coming CSI mount, the
//! plugin's wizard and `fetch remote`) and the secret stores (`stores/vault`, `stores/fake`,
//! later aws, azure, gcp). No runtime and no store's types live here.
//!
//! Data flow:
//!
//! ```text
//!  caller resolves credentials ──▶ Credentials / CredentialSource (agent: SecretRefs and
//!        │                          TokenRequests; CSI: the pod's token; plugin: the person's env)
//!        ▼
//!  store crate builds a `dyn Store` from the store's spec ──▶ read(ReadKey{key, version})
//!        │                                                     ──▶ RemoteValue ──[select / entries]──▶ bytes
//!        │                                                     list(prefix), check(), close()
//!        └─ every failure ──▶ StoreError { store type, kind, message, source }
//!                              kind.category() → metric label and Event reason
//! ```
//!
//! A version is a string the store checks itself ([`Store::check_version`]): Vault KV numbers,
//! later AWS version ids or stages, Azure hex ids, GCP numbers or `latest`. Only
//! [`ErrorKind::NotFound`] means "the store answered that the secret is gone": the one error on
//! which synced data may be deleted, so stores use it for nothing else. [`refs`] says, without
//! IO, which Secret, ConfigMap or service account a store spec points at and in which namespace,
//! for every binary that resolves them.

mod credentials;
mod endpoints;
mod error;
pub mod refs;
mod select;
mod value;

use std::future::Future;
use std::pin::Pin;

pub use credentials::{CredentialSource, Credentials, FederatedToken};
pub use endpoints::{Endpoints, OpenOptions};
pub use error::{ErrorKind, StoreError};
pub use select::SelectError;
pub use value::{RemoteValue, to_json_zeroized, wipe_json};

/// What every store call returns: a boxed future, so [`Store`] stays dyn-compatible without an
/// extra dependency.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Told about every call a store makes: `(store type, call, outcome)`, each a fixed label
/// (the agent feeds `provider_calls_total` from it).
pub type CallObserver = std::sync::Arc<dyn Fn(StoreType, &'static str, &'static str) + Send + Sync>;

/// A store implementation's fixed name (`vault`, `fake`, …): the `store` metric label, never an
/// object name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreType(&'static str);

impl StoreType {
    /// A store type named `name` (lowercase, fixed).
    pub const fn new(name: &'static str) -> Self {
        StoreType(name)
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for StoreType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// One read: a remote key and an optional version (none = the latest). `remoteRef.property`
/// is not part of it: one read serves every property, selected afterwards with
/// [`RemoteValue::select`], so many objects share one read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReadKey {
    /// Remote key, without surrounding slashes.
    pub key: String,
    /// Version as written in the spec; the store checks it ([`Store::check_version`]).
    pub version: Option<String>,
    /// `remoteRef.metadataPolicy: Fetch`: the secret's metadata (tags, labels) as the value's
    /// top-level keys instead of its content. A store without metadata answers
    /// [`ErrorKind::InvalidConfig`].
    pub metadata: bool,
}

impl ReadKey {
    /// A read of `key`'s content at `version` (none = the latest).
    pub fn new(key: impl Into<String>, version: Option<String>) -> Self {
        ReadKey {
            key: key.into(),
            version,
            metadata: false,
        }
    }
}

/// A secret store, as every pattern uses it. Implementations are cheap to share behind an
/// `Arc`; they keep their own login (token, renewal) and give it back in [`Store::close`].
pub trait Store: Send + Sync {
    /// The implementation's fixed name, for metric labels.
    fn store_type(&self) -> StoreType;

    /// Whether `version` is one this store can read (no IO). The text says what is wrong,
    /// without a field path: the caller knows which field it came from.
    fn check_version(&self, version: &str) -> Result<(), String>;

    /// Read one remote secret. `Err` with [`ErrorKind::NotFound`] is the store's answer that
    /// it does not exist (or its asked-for version is gone).
    fn read<'a>(&'a self, read: &'a ReadKey) -> StoreFuture<'a, RemoteValue>;

    /// Whether reads like this one, sent at about the same time, go out together in shared
    /// calls (AWS `BatchGetSecretValue`). Then a refresh of other keys that will soon be due
    /// costs no extra call when sent beside it, and the read cache does so (no IO here).
    fn coalesces(&self, read: &ReadKey) -> bool {
        let _ = read;
        false
    }

    /// The keys directly under `prefix` (folders end in `/`), for browsing; empty when
    /// nothing is there.
    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>>;

    /// Log in now with the credentials (or keep the login it has), without reading anything:
    /// the CSI provider proves a pod's token this way before it reuses the login for that
    /// pod's identity. Stores that need no login answer `Ok`.
    fn login(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    /// Check that the store works with these credentials (log in, look at what it reads
    /// from), for store status and `doctor`.
    fn check(&self) -> StoreFuture<'_, ()>;

    /// Give back what the store holds (revoke a token it logged in for). Never fails: a
    /// failure is the store's to log.
    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

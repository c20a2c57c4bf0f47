//! Store logins kept between mounts, per pod identity, so a warm mount does no login.
//!
//! Data flow: a mount's (store, namespace, service account, login, account annotations) →
//! [`Identity`]
//! → its [`Entry`] (made on first use; the least recently used one is evicted once
//! `capacity` identities are held, and its store token revoked) → the pod token the mount
//! presents, hashed (SHA-256) → if the entry holds a login and that digest is among its
//! *proofs* (tokens that already logged in successfully, each kept until the token's own
//! expiry), the login is reused; otherwise a store is opened with this token and logged in
//! once ([`secrets_core::store::Store::login`]), the digest becomes a proof and the new login
//! replaces the old one, whose token is revoked as soon as no mount still uses it.
//!
//! Why this keeps every mount honest:
//! - a mount is served only to a caller presenting a pod token for exactly this identity that
//!   is unexpired (checked by `token::check_bound` before the cache is asked) *and* that the
//!   store itself accepted (a digest of a token the store logged in with): a forged or
//!   altered token never matches a proof, so it goes to the store, which refuses it;
//! - values are never kept here, only logins: every mount reads its values anew, as that
//!   identity;
//! - identities never share an entry (the key holds namespace, service account, the login —
//!   Vault role and auth mount, AWS IRSA or Pod Identity, … — and the account's identity
//!   annotations, so a changed IRSA role logs in anew), and a store edit (uid or generation)
//!   starts over with a fresh login;
//! - the store keeps its login alive itself (Vault: `renew-self` at two thirds of the lease
//!   when used), and logs in again when it must with the newest proven token (the entry's
//!   credential slot), never with one the store has not accepted.
//!
//! Limits: a proof lives as long as the token's `exp` (the driver's tokens last about an
//! hour); a pod deleted in that time cannot mount anyway (the driver mounts for running pods),
//! and the first token of a new pod logs in again.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use secrets_core::store::{
    CredentialSource, Credentials, ErrorKind, FederatedToken, Store, StoreError, StoreFuture,
    StoreType,
};
use zeroize::Zeroizing;

/// Most proofs kept per identity (a pod's tokens rotate; several pods share an identity).
const MAX_PROOFS: usize = 16;

/// Whose login an entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// `SecretStore team/vault` or `ClusterSecretStore vault`.
    pub store: String,
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's service account.
    pub service_account: String,
    /// How the pod logs in (`mount::identity::MountAuth::login`).
    pub login: String,
    /// The account's annotations the store reads (empty for Vault).
    pub annotations: BTreeMap<String, String>,
}

/// A login in use: the store, revoked when the last mount using it lets go after it left
/// the cache.
pub struct Lease {
    store: Arc<dyn Store>,
    /// Set once the store was closed (or must not be).
    closed: AtomicBool,
}

impl Lease {
    fn new(store: Arc<dyn Store>) -> Self {
        Lease {
            store,
            closed: AtomicBool::new(false),
        }
    }

    /// The store to read through.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    async fn close_now(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.store.close().await;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // The last user let go of a replaced or evicted login: revoke its token.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = Arc::clone(&self.store);
            runtime.spawn(async move { store.close().await });
        }
    }
}

/// The newest proven pod token of an identity: what its store logs in with again when its
/// own login ran out; with the cloud stores' account details around it (`shape`).
#[derive(Default)]
struct Slot(Mutex<Option<Zeroizing<String>>>, Option<FederatedToken>);

impl CredentialSource for Slot {
    fn credentials(&self) -> StoreFuture<'_, Credentials> {
        let token = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let shape = self.1.clone();
        Box::pin(async move {
            match (token, shape) {
                (Some(token), None) => Ok(Credentials::ServiceAccountToken {
                    token,
                    audiences: Vec::new(),
                }),
                (Some(token), Some(shape)) => {
                    Ok(Credentials::Federated(Box::new(FederatedToken {
                        token,
                        ..shape
                    })))
                }
                (None, _) => Err(StoreError::new(
                    StoreType::new("unknown"),
                    ErrorKind::Credentials,
                    "no pod token has been presented for this identity",
                )),
            }
        })
    }
}

struct Proof {
    digest: [u8; 32],
    expires: i64,
}

#[derive(Default)]
struct State {
    /// The store object's uid and generation the login was made for.
    spec_version: String,
    lease: Option<Arc<Lease>>,
    proofs: Vec<Proof>,
    slot: Arc<Slot>,
}

struct Entry {
    state: tokio::sync::Mutex<State>,
    last_used: AtomicU64,
}

/// What a mount brings to the cache.
pub struct Presented<'a> {
    /// The pod token (already checked to be this pod's and unexpired).
    pub token: &'a Zeroizing<String>,
    /// Its `exp` (seconds since the epoch).
    pub expires: i64,
    /// Now (seconds since the epoch).
    pub now: i64,
    /// The store object's uid and generation.
    pub spec_version: &'a str,
    /// Cloud stores: the account details the token goes with (its own `token` left empty).
    pub federated: Option<&'a FederatedToken>,
}

/// The logins, bounded.
pub struct SessionCache {
    entries: Mutex<HashMap<Identity, Arc<Entry>>>,
    capacity: usize,
    clock: AtomicU64,
}

fn digest(token: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl SessionCache {
    /// A cache of at most `capacity` identities (at least one).
    pub fn new(capacity: usize) -> Self {
        SessionCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            clock: AtomicU64::new(0),
        }
    }

    /// Identities held.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entry(&self, identity: &Identity) -> Arc<Entry> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = entries.get(identity) {
            entry.last_used.store(tick, Ordering::Relaxed);
            return Arc::clone(entry);
        }
        if entries.len() >= self.capacity {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            // Dropping the entry drops its lease: revoked once no mount holds it.
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        let entry = Arc::new(Entry {
            state: tokio::sync::Mutex::new(State::default()),
            last_used: AtomicU64::new(tick),
        });
        entries.insert(identity.clone(), Arc::clone(&entry));
        entry
    }

    /// The login for `identity` that `presented` may use: the cached one if its token is
    /// proven, else a new login made with `open` and this token. Mounts of one identity
    /// wait for each other only while one of them logs in.
    pub async fn lease(
        &self,
        identity: &Identity,
        presented: Presented<'_>,
        open: impl FnOnce(Arc<dyn CredentialSource>) -> Result<Arc<dyn Store>, StoreError>,
    ) -> Result<Arc<Lease>, StoreError> {
        let entry = self.entry(identity);
        let mut state = entry.state.lock().await;
        if state.spec_version != presented.spec_version {
            *state = State {
                spec_version: presented.spec_version.to_owned(),
                ..State::default()
            };
        }
        state.proofs.retain(|p| p.expires > presented.now);
        let digest = digest(presented.token);
        if let Some(lease) = &state.lease
            && state.proofs.iter().any(|p| p.digest == digest)
        {
            let lease = Arc::clone(lease);
            *state.slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(presented.token.clone());
            return Ok(lease);
        }
        // A token the store has not yet accepted: log in with it, through a store of its own
        // so a refusal leaves the proven login in place.
        let slot = Arc::new(Slot(
            Mutex::new(Some(presented.token.clone())),
            presented.federated.cloned(),
        ));
        let store = open(Arc::clone(&slot) as Arc<dyn CredentialSource>)?;
        if let Err(err) = store.login().await {
            store.close().await;
            return Err(err);
        }
        let lease = Arc::new(Lease::new(store));
        state.lease = Some(Arc::clone(&lease));
        state.slot = slot;
        if state.proofs.len() >= MAX_PROOFS {
            state.proofs.remove(0);
        }
        state.proofs.push(Proof {
            digest,
            expires: presented.expires,
        });
        Ok(lease)
    }

    /// Revoke every login (at shutdown), waiting for each.
    pub async fn close_all(&self) {
        let entries: Vec<Arc<Entry>> = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, e)| e)
            .collect();
        for entry in entries {
            let lease = entry.state.lock().await.lease.take();
            if let Some(lease) = lease {
                lease.close_now().await;
            }
        }
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;

//! What the stand-in knows: the directory (tenants' applications with their client secrets and
//! federated credentials, the OIDC issuers it trusts, the access tokens it issued), the vault's
//! objects (secrets, keys, certificates, each a list of versions, newest last), the faults the
//! test asked for and the call counters. One mutex guards it all; no lock is held across IO.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// The resource of the public cloud's Key Vault, as its 401 challenge names it.
pub const PUBLIC_VAULT_RESOURCE: &str = "https://vault.azure.net";

/// One federated identity credential of an application: Entra exchanges an assertion for an
/// access token when its `iss` and `sub` equal these and its `aud` contains `audience`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedCredential {
    /// The token issuer (a cluster's service-account issuer URL).
    pub issuer: String,
    /// `system:serviceaccount:NAMESPACE:NAME`.
    pub subject: String,
    /// Usually `api://AzureADTokenExchange`.
    pub audience: String,
}

#[derive(Default)]
pub(crate) struct App {
    pub(crate) secrets: Vec<String>,
    pub(crate) federated: Vec<FederatedCredential>,
}

/// An access token the stand-in issued.
pub(crate) struct Issued {
    pub(crate) client_id: String,
    pub(crate) resource: String,
    pub(crate) expires: Instant,
}

#[derive(Clone)]
pub(crate) struct SecretVersion {
    pub(crate) version: String,
    pub(crate) value: String,
    pub(crate) content_type: Option<String>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) enabled: bool,
    pub(crate) created: u64,
    /// Set for a certificate's backing secret (Key Vault marks those `managed`).
    pub(crate) managed: bool,
}

#[derive(Clone)]
pub(crate) struct KeyVersion {
    pub(crate) version: String,
    pub(crate) jwk: Value,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) enabled: bool,
    pub(crate) created: u64,
}

#[derive(Clone)]
pub(crate) struct CertVersion {
    pub(crate) version: String,
    pub(crate) cer: Vec<u8>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) enabled: bool,
    pub(crate) created: u64,
}

pub(crate) struct Faults {
    /// Vault requests still to answer with 429.
    pub(crate) throttle: u32,
    pub(crate) retry_after: u64,
    /// Answer every request with 503.
    pub(crate) unavailable: bool,
    /// Application ids whose vault reads are refused (no role assignment).
    pub(crate) denied: Vec<String>,
    /// The resource named in the 401 challenge, and the one access tokens must be for.
    pub(crate) resource: String,
    /// `expires_in` of issued tokens.
    pub(crate) token_lifetime: u64,
}

pub(crate) struct Inner {
    pub(crate) apps: BTreeMap<(String, String), App>,
    /// Trusted OIDC issuers: issuer → public key (SPKI DER).
    pub(crate) issuers: BTreeMap<String, Vec<u8>>,
    pub(crate) tokens: HashMap<String, Issued>,
    pub(crate) secrets: BTreeMap<String, Vec<SecretVersion>>,
    pub(crate) keys: BTreeMap<String, Vec<KeyVersion>>,
    pub(crate) certificates: BTreeMap<String, Vec<CertVersion>>,
    pub(crate) faults: Faults,
    pub(crate) calls: BTreeMap<&'static str, u64>,
}

pub(crate) struct State {
    inner: Mutex<Inner>,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            inner: Mutex::new(Inner {
                apps: BTreeMap::new(),
                issuers: BTreeMap::new(),
                tokens: HashMap::new(),
                secrets: BTreeMap::new(),
                keys: BTreeMap::new(),
                certificates: BTreeMap::new(),
                faults: Faults {
                    throttle: 0,
                    retry_after: 1,
                    unavailable: false,
                    denied: Vec::new(),
                    resource: PUBLIC_VAULT_RESOURCE.to_owned(),
                    token_lifetime: 3599,
                },
                calls: BTreeMap::new(),
            }),
        }
    }

    /// The state; a test that panicked while holding it leaves it usable for the others.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    pub(crate) fn count(&mut self, route: &'static str) {
        *self.calls.entry(route).or_default() += 1;
    }

    pub(crate) fn app(&mut self, tenant: &str, client_id: &str) -> &mut App {
        self.apps
            .entry((tenant.to_owned(), client_id.to_owned()))
            .or_default()
    }

    /// Drop tokens past their expiry, so a long test does not grow the map.
    pub(crate) fn forget_expired(&mut self, now: Instant) {
        self.tokens.retain(|_, issued| issued.expires > now);
    }
}

/// Seconds since the epoch, for `attributes.created`/`updated`.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// 32 lowercase hex characters, as Key Vault version ids are; also used for access tokens.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0_u8; bytes];
    // A failing system RNG leaves zeros: acceptable for a test double's ids, and visible.
    let _ = aws_lc_rs::rand::fill(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

//! What the stand-in holds and the control API tests drive it with: secrets and their versions
//! per location, injected faults, the tokens it issued, the keys and impersonation grants it
//! trusts, and per-route call counts. Every handler locks [`Control`] once per request.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// A route the stand-in serves (the key of its call counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    /// `GET …/secrets/S/versions/V:access`.
    Access,
    /// `GET …/secrets/S/versions`.
    ListVersions,
    /// `GET …/secrets/S`.
    GetSecret,
    /// `GET …/secrets`.
    ListSecrets,
    /// STS `POST /v1/token`.
    StsToken,
    /// IAM Credentials `POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`.
    GenerateAccessToken,
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 6] = [
        Route::Access,
        Route::ListVersions,
        Route::GetSecret,
        Route::ListSecrets,
        Route::StsToken,
        Route::GenerateAccessToken,
    ];

    /// A short name, for count tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Access => "access",
            Route::ListVersions => "versions.list",
            Route::GetSecret => "secrets.get",
            Route::ListSecrets => "secrets.list",
            Route::StsToken => "sts.token",
            Route::GenerateAccessToken => "iam.generateAccessToken",
        }
    }
}

/// A secret version's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionState {
    Enabled,
    Disabled,
    Destroyed,
}

impl VersionState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            VersionState::Enabled => "ENABLED",
            VersionState::Disabled => "DISABLED",
            VersionState::Destroyed => "DESTROYED",
        }
    }
}

/// An error to answer instead of serving a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultError {
    /// 404 `NOT_FOUND`.
    NotFound,
    /// 403 `PERMISSION_DENIED`.
    PermissionDenied,
    /// 429 `RESOURCE_EXHAUSTED`, with `Retry-After` seconds when given.
    ResourceExhausted { retry_after: Option<u64> },
    /// 503 `UNAVAILABLE` (an outage).
    Unavailable,
}

/// An injected fault: requests to `route` (any route when `None`) for `secret` (any when
/// `None`) get `error`, `times` times (for ever when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub route: Option<Route>,
    pub secret: Option<String>,
    pub error: FaultError,
    pub times: Option<u32>,
}

impl Fault {
    /// `error` on every request to `route`, for ever.
    pub fn on(route: Route, error: FaultError) -> Fault {
        Fault {
            route: Some(route),
            secret: None,
            error,
            times: None,
        }
    }

    /// `error` on every route (an outage when `Unavailable`), for ever.
    pub fn everywhere(error: FaultError) -> Fault {
        Fault {
            route: None,
            secret: None,
            error,
            times: None,
        }
    }
}

pub(crate) struct Version {
    pub(crate) data: Vec<u8>,
    pub(crate) state: VersionState,
    pub(crate) created: SystemTime,
}

#[derive(Default)]
pub(crate) struct Secret {
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) annotations: BTreeMap<String, String>,
    /// Version `n` is at index `n - 1`, as numbers are never reused.
    pub(crate) versions: Vec<Version>,
    pub(crate) created: Option<SystemTime>,
}

/// Who a token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issued {
    pub(crate) principal: String,
    /// Issued by STS (only those may impersonate).
    pub(crate) federated: bool,
    pub(crate) expires: SystemTime,
}

/// The key of a secret: its location (`None` = global) and its name.
pub(crate) type SecretKey = (Option<String>, String);

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) secrets: BTreeMap<SecretKey, Secret>,
    pub(crate) faults: Vec<Fault>,
    pub(crate) corrupt_crc: bool,
    pub(crate) counts: BTreeMap<Route, u64>,
    pub(crate) issued: HashMap<String, Issued>,
    /// Service-account keys by key id: (email, public key DER).
    pub(crate) keys: BTreeMap<String, (String, Vec<u8>)>,
    /// (principal, service account email) pairs allowed to impersonate.
    pub(crate) impersonation: BTreeSet<(String, String)>,
    /// Principals allowed to read secrets; `None` = every authenticated principal.
    pub(crate) readers: Option<BTreeSet<String>>,
    pub(crate) token_lifetime: Option<Duration>,
    pub(crate) max_page_size: Option<usize>,
    pub(crate) last_sts_form: Option<BTreeMap<String, String>>,
    pub(crate) last_generate: Option<(String, serde_json::Value)>,
    pub(crate) principals_seen: Vec<String>,
}

/// The control API: seed secrets, inject faults, read counts. Shared with the server.
#[derive(Default)]
pub struct Control(Mutex<Inner>);

impl Control {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not take the stand-in down with it.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Add a version holding `data` to the secret `name` (global when `location` is `None`),
    /// creating the secret; returns the version number.
    pub fn add_version(&self, location: Option<&str>, name: &str, data: &[u8]) -> u64 {
        let mut inner = self.lock();
        let now = SystemTime::now();
        let secret = inner
            .secrets
            .entry((location.map(str::to_owned), name.to_owned()))
            .or_default();
        secret.created.get_or_insert(now);
        secret.versions.push(Version {
            data: data.to_vec(),
            state: VersionState::Enabled,
            created: now,
        });
        secret.versions.len() as u64
    }

    /// Create the secret `name` without versions if it does not exist.
    pub fn create_secret(&self, location: Option<&str>, name: &str) {
        let mut inner = self.lock();
        let secret = inner
            .secrets
            .entry((location.map(str::to_owned), name.to_owned()))
            .or_default();
        secret.created.get_or_insert_with(SystemTime::now);
    }

    /// Set a secret's labels and annotations (creating it without versions if needed).
    pub fn set_metadata(
        &self,
        location: Option<&str>,
        name: &str,
        labels: &[(&str, &str)],
        annotations: &[(&str, &str)],
    ) {
        self.create_secret(location, name);
        let mut inner = self.lock();
        if let Some(secret) = inner
            .secrets
            .get_mut(&(location.map(str::to_owned), name.to_owned()))
        {
            let owned = |pairs: &[(&str, &str)]| {
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            };
            secret.labels = owned(labels);
            secret.annotations = owned(annotations);
        }
    }

    /// Change a version's state (destroying also drops its data, as GCP does). False when
    /// there is no such version.
    pub fn set_state(
        &self,
        location: Option<&str>,
        name: &str,
        version: u64,
        state: VersionState,
    ) -> bool {
        let mut inner = self.lock();
        let Some(secret) = inner
            .secrets
            .get_mut(&(location.map(str::to_owned), name.to_owned()))
        else {
            return false;
        };
        let index = usize::try_from(version).ok().and_then(|v| v.checked_sub(1));
        match index.and_then(|i| secret.versions.get_mut(i)) {
            Some(v) => {
                v.state = state;
                if state == VersionState::Destroyed {
                    v.data.clear();
                }
                true
            }
            None => false,
        }
    }

    /// Delete a secret and all its versions. False when there was none.
    pub fn delete_secret(&self, location: Option<&str>, name: &str) -> bool {
        self.lock()
            .secrets
            .remove(&(location.map(str::to_owned), name.to_owned()))
            .is_some()
    }

    /// Inject a fault (checked in order of injection).
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Remove every fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Answer every access with a `dataCrc32c` that does not match the data.
    pub fn corrupt_crc(&self, corrupt: bool) {
        self.lock().corrupt_crc = corrupt;
    }

    /// Calls to `route` so far (failed ones included).
    pub fn count(&self, route: Route) -> u64 {
        self.lock().counts.get(&route).copied().unwrap_or(0)
    }

    /// Calls per route name, every route listed.
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        let inner = self.lock();
        Route::ALL
            .iter()
            .map(|r| (r.as_str(), inner.counts.get(r).copied().unwrap_or(0)))
            .collect()
    }

    /// Forget the counts.
    pub fn reset_counts(&self) {
        self.lock().counts.clear();
    }

    /// Trust the service-account key `key_id` of `email`, given its public key (PKIX
    /// `SubjectPublicKeyInfo` or PKCS#1 DER), for self-signed JWTs.
    pub fn register_key(&self, email: &str, key_id: &str, public_key_der: &[u8]) {
        self.lock().keys.insert(
            key_id.to_owned(),
            (email.to_owned(), public_key_der.to_vec()),
        );
    }

    /// Let `principal` (a pool principal, see [`crate::Config::principal`]) impersonate the
    /// service account `email`.
    pub fn allow_impersonation(&self, principal: &str, email: &str) {
        self.lock()
            .impersonation
            .insert((principal.to_owned(), email.to_owned()));
    }

    /// Accept `token` as an access token of `principal` (a person's `gcloud` token).
    pub fn add_access_token(&self, token: &str, principal: &str, lifetime: Duration) {
        self.lock().issued.insert(
            token.to_owned(),
            Issued {
                principal: principal.to_owned(),
                federated: false,
                expires: SystemTime::now() + lifetime,
            },
        );
    }

    /// Only these principals may read secrets (`None`: every authenticated one). Principals:
    /// `serviceAccount:EMAIL`, pool `principal://…`, or what [`Control::add_access_token`] named.
    pub fn restrict_readers(&self, readers: Option<&[&str]>) {
        self.lock().readers = readers.map(|list| list.iter().map(|p| (*p).to_owned()).collect());
    }

    /// Lifetime of the tokens STS and IAM issue from now on (default one hour).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = Some(lifetime);
    }

    /// Cap every list page at `size` entries, whatever the client asks.
    pub fn set_max_page_size(&self, size: usize) {
        self.lock().max_page_size = Some(size);
    }

    /// The last STS form, without `subject_token`.
    pub fn last_sts_form(&self) -> Option<BTreeMap<String, String>> {
        self.lock().last_sts_form.clone()
    }

    /// The last `generateAccessToken`: the service account and the JSON body.
    pub fn last_generate(&self) -> Option<(String, serde_json::Value)> {
        self.lock().last_generate.clone()
    }

    /// The principal of every authenticated Secret Manager call, in order.
    pub fn principals_seen(&self) -> Vec<String> {
        self.lock().principals_seen.clone()
    }

    /// Forget every issued token (as if they were revoked).
    pub fn revoke_tokens(&self) {
        self.lock().issued.clear();
    }
}

impl Inner {
    /// Count the call, then the first matching fault (used up once when limited).
    pub(crate) fn enter(&mut self, route: Route, secret: Option<&str>) -> Option<FaultError> {
        *self.counts.entry(route).or_default() += 1;
        let index = self.faults.iter().position(|f| {
            f.route.is_none_or(|r| r == route)
                && f.secret
                    .as_deref()
                    .is_none_or(|s| secret.is_some_and(|asked| asked == s))
        })?;
        let fault = self.faults.get_mut(index)?;
        let error = fault.error;
        if let Some(times) = fault.times.as_mut() {
            *times = times.saturating_sub(1);
            if *times == 0 {
                self.faults.remove(index);
            }
        }
        Some(error)
    }

    pub(crate) fn lifetime(&self) -> Duration {
        self.token_lifetime.unwrap_or(Duration::from_secs(3600))
    }
}

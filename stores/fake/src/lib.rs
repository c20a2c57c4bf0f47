//! `secrets-store-fake`: an in-memory store behind the store seam, for tests of everything
//! above it (the agent's sessions, read cache, singleflight, rate limits, status, events and
//! metrics) without a real store.
//!
//! Data flow: a test holds a [`FakeStore`] (cheap to clone; clones share one state) → sets and
//! deletes secrets (each set adds a version, `"1"`, `"2"`, …), injects an error of any
//! [`ErrorKind`] for one key or for every call, and may hold reads at a gate → the code under
//! test calls the seam's `read` / `list` / `check` / `close` → the test reads the call counters.
//!
//! Versions are strings the store checks like a numbered store would: digits only, else
//! [`FakeStore::check_version`] refuses them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use secrets_core::store::{
    ErrorKind, ReadKey, RemoteValue, Store, StoreError, StoreFuture, StoreType,
};
use serde_json::{Map, Value};

/// This store's type: the `store` metric label.
pub const STORE_TYPE: StoreType = StoreType::new("fake");

/// How many calls of each kind were made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    /// `read`.
    pub read: u64,
    /// `list`.
    pub list: u64,
    /// `check`.
    pub check: u64,
    /// `close`.
    pub close: u64,
}

#[derive(Default)]
struct State {
    /// key → versions, oldest first; `None` marks a deleted version.
    secrets: BTreeMap<String, Vec<Option<Map<String, Value>>>>,
    /// An error every call returns.
    failing: Option<ErrorKind>,
    /// An error reads of one key return.
    failing_keys: BTreeMap<String, ErrorKind>,
    /// What [`Store::coalesces`] answers for reads of the latest version.
    coalescing: bool,
    calls: Calls,
}

/// The in-memory store. Clones share one state.
#[derive(Clone, Default)]
pub struct FakeStore {
    state: Arc<Mutex<State>>,
    /// When set, reads wait until the gate is opened (to hold concurrent reads in flight).
    gate: Arc<tokio::sync::RwLock<()>>,
}

impl FakeStore {
    /// An empty store.
    pub fn new() -> Self {
        FakeStore::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Write a new version of `key` (a JSON object; anything else is stored as `{}`) and
    /// return its version string.
    pub fn set(&self, key: &str, data: Value) -> String {
        let data = match data {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let mut state = self.state();
        let versions = state.secrets.entry(key.to_owned()).or_default();
        versions.push(Some(data));
        versions.len().to_string()
    }

    /// Delete `key` with every version.
    pub fn delete(&self, key: &str) {
        self.state().secrets.remove(key);
    }

    /// Delete one version of `key` (`"1"` is the first).
    pub fn delete_version(&self, key: &str, version: &str) {
        let mut state = self.state();
        if let (Some(versions), Ok(n)) = (state.secrets.get_mut(key), version.parse::<usize>())
            && let Some(slot) = n.checked_sub(1).and_then(|i| versions.get_mut(i))
        {
            *slot = None;
        }
    }

    /// Make every call fail with `kind` (`None`: work again).
    pub fn fail(&self, kind: Option<ErrorKind>) {
        self.state().failing = kind;
    }

    /// Make reads of `key` fail with `kind` (`None`: work again).
    pub fn fail_key(&self, key: &str, kind: Option<ErrorKind>) {
        let mut state = self.state();
        match kind {
            Some(kind) => state.failing_keys.insert(key.to_owned(), kind),
            None => state.failing_keys.remove(key),
        };
    }

    /// Answer [`Store::coalesces`] with `on` for reads of the latest version, as a store with
    /// batch calls does (each read is still counted as one call here).
    pub fn set_coalescing(&self, on: bool) {
        self.state().coalescing = on;
    }

    /// The calls made so far.
    pub fn calls(&self) -> Calls {
        self.state().calls
    }

    /// Hold every read until the returned guard is dropped.
    pub async fn hold_reads(&self) -> tokio::sync::OwnedRwLockWriteGuard<()> {
        self.gate.clone().write_owned().await
    }

    fn error(kind: ErrorKind, what: &str) -> StoreError {
        StoreError::new(
            STORE_TYPE,
            kind,
            format!("fake store: {what} failed ({})", kind.category()),
        )
    }

    fn read_now(&self, read: &ReadKey) -> Result<RemoteValue, StoreError> {
        let mut state = self.state();
        state.calls.read += 1;
        if let Some(kind) = state
            .failing
            .or_else(|| state.failing_keys.get(&read.key).copied())
        {
            return Err(Self::error(kind, &format!("reading {:?}", read.key)));
        }
        let gone = || {
            StoreError::new(
                STORE_TYPE,
                ErrorKind::NotFound,
                format!("fake store has no secret at {}", read.key),
            )
        };
        let versions = state.secrets.get(&read.key).ok_or_else(gone)?;
        let (index, data) = match read.version.as_deref() {
            None => {
                let index = versions.len().checked_sub(1).ok_or_else(gone)?;
                (index, versions.get(index).cloned().flatten())
            }
            Some(v) => {
                let index = v
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .ok_or_else(|| Self::error(ErrorKind::InvalidConfig, "parsing the version"))?;
                (index, versions.get(index).cloned().flatten())
            }
        };
        let data = data.ok_or_else(gone)?;
        Ok(RemoteValue::new(
            STORE_TYPE,
            read.key.clone(),
            Some((index + 1).to_string()),
            data,
        ))
    }
}

impl Store for FakeStore {
    fn store_type(&self) -> StoreType {
        STORE_TYPE
    }

    fn check_version(&self, version: &str) -> Result<(), String> {
        if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err("must be a version number".into())
        }
    }

    fn read<'a>(&'a self, read: &'a ReadKey) -> StoreFuture<'a, RemoteValue> {
        Box::pin(async move {
            drop(self.gate.read().await);
            self.read_now(read)
        })
    }

    fn coalesces(&self, read: &ReadKey) -> bool {
        self.state().coalescing && read.version.is_none() && !read.metadata
    }

    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async move {
            let mut state = self.state();
            state.calls.list += 1;
            if let Some(kind) = state.failing {
                return Err(Self::error(kind, "listing"));
            }
            let mut out: Vec<String> = state
                .secrets
                .keys()
                .filter_map(|k| k.strip_prefix(prefix))
                .map(|rest| match rest.split_once('/') {
                    Some((folder, _)) => format!("{folder}/"),
                    None => rest.to_owned(),
                })
                .collect();
            out.dedup();
            Ok(out)
        })
    }

    fn check(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut state = self.state();
            state.calls.check += 1;
            match state.failing {
                Some(kind) => Err(Self::error(kind, "checking the store")),
                None => Ok(()),
            }
        })
    }

    fn close(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            self.state().calls.close += 1;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(k: &str, v: Option<&str>) -> ReadKey {
        ReadKey {
            key: k.into(),
            version: v.map(str::to_owned),
            metadata: false,
        }
    }

    #[tokio::test]
    async fn versions_deletes_errors_and_lists() {
        let s = FakeStore::new();
        assert_eq!(s.set("app/db", json!({"p": "one"})), "1");
        assert_eq!(s.set("app/db", json!({"p": "two"})), "2");
        s.set("app/cache/x", json!({}));
        let latest = s.read(&key("app/db", None)).await.unwrap();
        assert_eq!(latest.select(Some("p")).unwrap().as_slice(), b"two");
        assert_eq!(latest.version(), Some("2"));
        let first = s.read(&key("app/db", Some("1"))).await.unwrap();
        assert_eq!(first.select(Some("p")).unwrap().as_slice(), b"one");
        s.delete_version("app/db", "2");
        assert!(
            s.read(&key("app/db", None))
                .await
                .unwrap_err()
                .is_not_found()
        );
        assert_eq!(s.list("app/").await.unwrap(), ["cache/", "db"]);
        s.fail_key("app/db", Some(ErrorKind::Timeout));
        let err = s.read(&key("app/db", Some("1"))).await.unwrap_err();
        assert_eq!((err.category(), err.is_transient()), ("timeout", true));
        s.fail_key("app/db", None);
        s.fail(Some(ErrorKind::PermissionDenied));
        assert_eq!(s.check().await.unwrap_err().category(), "permission_denied");
        // Four reads: latest, version 1, the deleted latest, and the failing one.
        assert_eq!(s.calls().read, 4);
        assert!(s.check_version("3").is_ok() && s.check_version("latest").is_err());
    }
}

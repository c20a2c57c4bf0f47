//! KV reads and lists, and the secret they return.
//!
//! Data flow: `(mount, KvVersion, key, version)` → [`path::kv_path`] → one GET → the answer's
//! `data.data` (v2, with `data.metadata.version`) or `data` (v1) moved out of the wiped JSON
//! into a [`KvSecret`] → [`KvSecret::select`] / [`KvSecret::entries`] → Secret bytes.
//!
//! What counts as [`VaultError::NotFound`]: a 404 whose body is exactly KV's "nothing here"
//! (an empty `errors` list and no warnings: never written), and KV v2's answer for a deleted or
//! destroyed version (404, or 200, with `data.data: null` beside the version's metadata). Any
//! other 404 is [`VaultError::Rejected`] with Vault's text: "no handler for route" (no engine at
//! that mount) or the warning "Invalid path for a versioned K/V secrets engine" (a KV v1 store
//! pointed at a v2 mount; Vault sends it with an empty `errors` list, OpenBao without one).
//!
//! One misconfiguration cannot be told from the answer at all: a KV v1 mount read as v2 asks
//! for `<mount>/data/<key>`, which v1 answers exactly like a secret never written. Only the
//! mount's metadata ([`VaultClient::mount_info`]) tells the two apart, so callers that act on
//! `NotFound` (delete synced data) must check the mount first.

use std::collections::BTreeMap;
use std::fmt;

use http::Method;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::buffer::{WipedJson, wipe_value};
use super::client::{Answer, VaultClient};
use super::path::{self, Tree};
use super::{Call, Token, VaultError};
use secrets_core::store::RemoteValue;

use super::select::SelectError;

/// The KV secrets engine version of a mount (`spec.provider.vault.version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KvVersion {
    /// Unversioned KV: `<mount>/<key>`.
    V1,
    /// Versioned KV: `<mount>/data/<key>`, `<mount>/metadata/<key>`. ESO's default.
    #[default]
    V2,
}

/// One secret read from KV: its top-level keys and values (strings wiped on drop). A thin
/// view of the seam's [`RemoteValue`], which [`KvSecret::into_value`] hands over.
pub struct KvSecret(RemoteValue);

impl fmt::Display for KvVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KvVersion::V1 => "v1",
            KvVersion::V2 => "v2",
        })
    }
}

impl KvSecret {
    /// A secret as read from `path` (for tests and for callers that cache reads).
    pub fn new(path: impl Into<String>, version: Option<u64>, data: Map<String, Value>) -> Self {
        KvSecret(RemoteValue::new(
            crate::STORE_TYPE,
            path,
            version.map(|v| v.to_string()),
            data,
        ))
    }

    /// The API path it was read from, e.g. `secret/data/app/db`.
    pub fn path(&self) -> &str {
        self.0.path()
    }

    /// The KV v2 version read (`None` for KV v1).
    pub fn version(&self) -> Option<u64> {
        self.0.version().and_then(|v| v.parse().ok())
    }

    /// The top-level keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys()
    }

    /// What `remoteRef.property` selects (see [`RemoteValue::select`]).
    pub fn select(&self, property: Option<&str>) -> Result<Zeroizing<Vec<u8>>, SelectError> {
        self.0
            .select(property)
            .map_err(|e| SelectError::from_seam(e, self.path()))
    }

    /// Every top-level key with its value as Secret bytes: what `dataFrom[].extract` puts
    /// into the Secret (see [`RemoteValue::entries`]).
    pub fn entries(&self) -> BTreeMap<String, Zeroizing<Vec<u8>>> {
        self.0.entries()
    }

    /// The secret as the store seam passes it on.
    pub fn into_value(self) -> RemoteValue {
        self.0
    }
}

impl fmt::Debug for KvSecret {
    // Keys are shown, values never.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvSecret")
            .field("path", &self.path())
            .field("version", &self.version())
            .field("keys", &self.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl VaultClient {
    /// Read the secret `key` from the KV engine at `mount`; for KV v2 the latest version, or
    /// `version` when given.
    ///
    /// A key that already starts with the mount (`secret/app`, or `secret/data/app` for v2)
    /// is not prefixed again. See the module doc for what counts as `NotFound`.
    pub async fn kv_read(
        &self,
        token: &Token,
        mount: &str,
        engine: KvVersion,
        key: &str,
        version: Option<u64>,
    ) -> Result<KvSecret, VaultError> {
        let path = path::kv_path(mount, engine, Tree::Data, key, false)?;
        let query = match (engine, version) {
            (KvVersion::V1, Some(_)) => {
                return Err(VaultError::invalid_config(format!(
                    "a version was asked of {path}, but KV v1 keeps no versions; drop the \
                     version or use a KV v2 mount"
                )));
            }
            (KvVersion::V2, Some(version)) => Some(format!("version={version}")),
            (_, None) => None,
        };
        self.observed(Call::Read, async {
            let answer = self
                .send(Method::GET, &path, query.as_deref(), Some(token), None)
                .await?;
            self.kv_secret(&path, engine, answer)
        })
        .await
    }

    /// The keys directly under `prefix` in the KV engine at `mount` (sub-folders end in `/`),
    /// for browsing. An empty prefix lists the mount's root; a prefix with nothing under it
    /// gives an empty list (Vault answers that with 404).
    pub async fn kv_list(
        &self,
        token: &Token,
        mount: &str,
        engine: KvVersion,
        prefix: &str,
    ) -> Result<Vec<String>, VaultError> {
        let path = path::kv_path(mount, engine, Tree::Metadata, prefix, true)?;
        self.observed(Call::List, async {
            let answer = self
                .send(Method::GET, &path, Some("list=true"), Some(token), None)
                .await?;
            match self.kv_answer(&path, answer) {
                Err(VaultError::NotFound { .. }) => Ok(Vec::new()),
                Err(err) => Err(err),
                Ok(json) => match json.get("/data/keys").and_then(Value::as_array) {
                    Some(keys) => Ok(keys
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()),
                    None => Err(VaultError::bad_response(&path, "no data.keys list")),
                },
            }
        })
        .await
    }

    /// The KV status rules shared by reads and lists: success, `NotFound`, or an error.
    fn kv_answer(&self, path: &str, answer: Answer) -> Result<WipedJson, VaultError> {
        let Answer { status, json } = answer;
        match status {
            200 => Ok(json),
            404 if says_not_found(&json) => Err(VaultError::NotFound {
                path: path.to_owned(),
            }),
            _ => Err(self.status_error(path, status, &json)),
        }
    }

    fn kv_secret(
        &self,
        path: &str,
        engine: KvVersion,
        answer: Answer,
    ) -> Result<KvSecret, VaultError> {
        let mut json = self.kv_answer(path, answer)?;
        let (data, version) = match engine {
            KvVersion::V1 => (json.take("/data"), None),
            KvVersion::V2 => {
                let version = json.get("/data/metadata/version").and_then(Value::as_u64);
                (json.take("/data/data"), version)
            }
        };
        match data {
            Value::Object(map) => Ok(KvSecret::new(path, version, map)),
            // KV v2 keeps the metadata of a deleted or destroyed version and answers with
            // `data: null`.
            Value::Null => Err(VaultError::NotFound {
                path: path.to_owned(),
            }),
            mut other => {
                wipe_value(&mut other);
                Err(VaultError::bad_response(
                    path,
                    "the secret data is not a JSON object",
                ))
            }
        }
    }
}

/// Whether a 404's body is KV's "no secret here": an empty `errors` list with no warnings
/// (never written), or a version's metadata without data (KV v2, deleted or destroyed). A
/// warning means Vault is saying something else (the "Invalid path for a versioned K/V
/// secrets engine" of a v2 mount read as v1 comes with an empty `errors` list from Vault).
fn says_not_found(json: &WipedJson) -> bool {
    let no_errors = json
        .get("/errors")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty);
    let no_warnings = json
        .get("/warnings")
        .is_none_or(|w| w.is_null() || w.as_array().is_some_and(Vec::is_empty));
    let deleted_version = json.get("/data/metadata").is_some_and(Value::is_object)
        && json.get("/data/data").is_some_and(Value::is_null);
    (no_errors && no_warnings) || deleted_version
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(value: Value) -> KvSecret {
        match value {
            Value::Object(map) => KvSecret::new("secret/data/app", Some(3), map),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn whole_secret_is_json_and_entries_encode_each_key() {
        let kv = secret(json!({"user": "app", "port": 5432, "tls": {"ca": "x"}}));
        let whole: Value = serde_json::from_slice(&kv.select(None).unwrap()).unwrap();
        assert_eq!(
            whole,
            json!({"user": "app", "port": 5432, "tls": {"ca": "x"}})
        );
        let entries = kv.entries();
        assert_eq!(entries["user"].as_slice(), b"app");
        assert_eq!(entries["port"].as_slice(), b"5432");
        assert_eq!(entries["tls"].as_slice(), br#"{"ca":"x"}"#);
        let mut keys: Vec<_> = kv.keys().collect();
        keys.sort_unstable();
        assert_eq!(keys, ["port", "tls", "user"]);
    }

    fn not_found(body: Value) -> bool {
        says_not_found(&WipedJson(body))
    }

    #[test]
    fn only_kvs_own_nothing_here_is_not_found() {
        // Never written (both engines), and a deleted KV v2 version.
        assert!(not_found(json!({"errors": []})));
        assert!(not_found(json!({"errors": [], "warnings": null})));
        assert!(not_found(
            json!({"data": {"data": null, "metadata": {"version": 2, "deletion_time": "x"}}})
        ));
        // A KV v2 mount read as v1: Vault's shape (empty errors, a warning) and OpenBao's
        // (no errors, a warning).
        let warning = "Invalid path for a versioned K/V secrets engine.";
        assert!(!not_found(json!({"errors": [], "warnings": [warning]})));
        assert!(!not_found(json!({"data": null, "warnings": [warning]})));
        // No engine at the mount, a proxy's empty or HTML answer.
        assert!(!not_found(
            json!({"errors": ["no handler for route \"x/data/y\""]})
        ));
        assert!(!not_found(json!({})));
        assert!(!not_found(Value::Null));
    }

    #[test]
    fn debug_shows_keys_not_values() {
        let kv = secret(json!({"password": "hunter2"}));
        let debug = format!("{kv:?}");
        assert!(
            debug.contains("password") && debug.contains("secret/data/app"),
            "{debug}"
        );
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}

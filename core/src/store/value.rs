//! A remote secret as read: its top-level keys and values (JSON, strings wiped on drop), where
//! it was read from and which version, and ESO's two ways of turning it into Secret bytes:
//! [`RemoteValue::select`] (`remoteRef.property`, see [`super::select`]) and
//! [`RemoteValue::entries`] (`dataFrom[].extract`).
//!
//! A store whose secrets are bytes rather than JSON objects (AWS `SecretString` /
//! `SecretBinary`) builds its value with [`RemoteValue::raw`]: without a property the bytes
//! come out exactly as stored; when they are a JSON object, properties and `extract` read it.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};
use zeroize::{Zeroize as _, Zeroizing};

use super::StoreType;
use super::select::{self, SelectError};

/// One secret read from a store. `Debug` shows keys, never values.
pub struct RemoteValue {
    store: StoreType,
    path: String,
    version: Option<String>,
    data: Map<String, Value>,
    /// The bytes as stored, for stores whose values are bytes (see [`RemoteValue::raw`]).
    raw: Option<Zeroizing<Vec<u8>>>,
    /// Whether `data` is the value (false: raw bytes that are not a JSON object).
    object: bool,
}

impl RemoteValue {
    /// A secret a `store` store read from `path` (the store's own address of it, e.g. Vault's
    /// `secret/data/app/db`), at `version` when the store has versions.
    pub fn new(
        store: StoreType,
        path: impl Into<String>,
        version: Option<String>,
        data: Map<String, Value>,
    ) -> Self {
        RemoteValue {
            store,
            path: path.into(),
            version,
            data,
            raw: None,
            object: true,
        }
    }

    /// A secret stored as bytes (text or binary): [`RemoteValue::select`] without a property
    /// gives `bytes` unchanged; when they are a JSON object, properties and
    /// [`RemoteValue::entries`] read its keys (else there are none).
    pub fn raw(
        store: StoreType,
        path: impl Into<String>,
        version: Option<String>,
        bytes: Zeroizing<Vec<u8>>,
    ) -> Self {
        let (data, object) = match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => (map, true),
            Ok(mut other) => {
                wipe_json(&mut other);
                (Map::new(), false)
            }
            Err(_) => (Map::new(), false),
        };
        RemoteValue {
            store,
            path: path.into(),
            version,
            data,
            raw: Some(bytes),
            object,
        }
    }

    /// The store type that read it.
    pub fn store_type(&self) -> StoreType {
        self.store
    }

    /// Where it was read from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The version read, when the store has versions.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The top-level keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.data.keys().map(String::as_str)
    }

    /// What `remoteRef.property` selects: with no property the whole secret as JSON; else a
    /// literal top-level key, then a dotted path (see [`SelectError`] for what is refused).
    /// Strings come out as their raw bytes, other values as JSON. A value built with
    /// [`RemoteValue::raw`] comes out as stored when no property is given.
    pub fn select(&self, property: Option<&str>) -> Result<Zeroizing<Vec<u8>>, SelectError> {
        match property {
            None => Ok(match &self.raw {
                Some(bytes) => bytes.clone(),
                None => to_json_zeroized(&self.data),
            }),
            Some(property) => {
                self.require_object()?;
                let what = format!("{} secret {}", self.store, self.path);
                select::select(&self.data, property, &what).map(select::encode)
            }
        }
    }

    /// `Ok` when the value has keys to take (a JSON object), as `dataFrom[].extract` and a
    /// property need; a text or binary value that is not one is an error, not an empty map.
    pub fn require_object(&self) -> Result<(), SelectError> {
        if self.object {
            Ok(())
        } else {
            Err(SelectError::NotAnObject {
                path: format!("{} secret {}", self.store, self.path),
            })
        }
    }

    /// Every top-level key with its value as Secret bytes (same encoding as
    /// [`RemoteValue::select`]): what `dataFrom[].extract` puts into the Secret. Empty for a
    /// value that is not a JSON object ([`RemoteValue::require_object`] tells it from `{}`).
    pub fn entries(&self) -> BTreeMap<String, Zeroizing<Vec<u8>>> {
        self.data
            .iter()
            .map(|(key, value)| (key.clone(), select::encode(value)))
            .collect()
    }
}

impl fmt::Debug for RemoteValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteValue")
            .field("store", &self.store)
            .field("path", &self.path)
            .field("version", &self.version)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .field("raw_bytes", &self.raw.as_ref().map(|b| b.len()))
            .finish()
    }
}

impl Drop for RemoteValue {
    fn drop(&mut self) {
        wipe_json(&mut Value::Object(std::mem::take(&mut self.data)));
    }
}

/// Overwrite every string in `value`, keys included, and leave it empty.
pub fn wipe_json(value: &mut Value) {
    match value {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe_json),
        Value::Object(map) => {
            // Keys cannot be borrowed mutably inside a map; taking the entries out gives
            // owned keys we can wipe.
            for (mut key, mut item) in std::mem::take(map) {
                key.zeroize();
                wipe_json(&mut item);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Append `data` to `buf`; when it must grow, copy into a new allocation and wipe the old one
/// (growing by hand keeps `Vec` from freeing an allocation with the secret still in it).
fn push(buf: &mut Zeroizing<Vec<u8>>, data: &[u8]) {
    let needed = buf.len().saturating_add(data.len());
    if needed > buf.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(buf.capacity() * 2)));
        bigger.extend_from_slice(buf);
        *buf = bigger;
    }
    buf.extend_from_slice(data);
}

struct SecretWriter(Zeroizing<Vec<u8>>);

impl std::io::Write for SecretWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        push(&mut self.0, data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `value` as JSON in a zeroizing buffer.
pub fn to_json_zeroized<T: serde::Serialize + ?Sized>(value: &T) -> Zeroizing<Vec<u8>> {
    let mut writer = SecretWriter(Zeroizing::new(Vec::new()));
    // Serialising plain structs and JSON values into memory cannot fail: no I/O error is
    // possible and every key is a string.
    if serde_json::to_writer(&mut writer, value).is_err() {
        writer.0.clear();
    }
    writer.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(v: Value) -> RemoteValue {
        match v {
            Value::Object(map) => RemoteValue::new(
                StoreType::new("vault"),
                "secret/data/app",
                Some("3".into()),
                map,
            ),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn whole_secret_is_json_and_entries_encode_each_key() {
        let v = value(json!({"user": "app", "port": 5432, "tls": {"ca": "x"}}));
        let whole: Value = serde_json::from_slice(&v.select(None).unwrap()).unwrap();
        assert_eq!(
            whole,
            json!({"user": "app", "port": 5432, "tls": {"ca": "x"}})
        );
        let entries = v.entries();
        assert_eq!(entries["user"].as_slice(), b"app");
        assert_eq!(entries["port"].as_slice(), b"5432");
        assert_eq!(entries["tls"].as_slice(), br#"{"ca":"x"}"#);
        assert_eq!(v.version(), Some("3"));
    }

    #[test]
    fn a_missing_property_names_the_store_and_path_not_values() {
        let v = value(json!({"password": "hunter2"}));
        let err = v.select(Some("user")).unwrap_err().to_string();
        assert_eq!(
            err,
            "property \"user\" not found in vault secret secret/data/app"
        );
        let debug = format!("{v:?}");
        assert!(
            debug.contains("password") && !debug.contains("hunter2"),
            "{debug}"
        );
    }

    #[test]
    fn raw_values_come_out_as_stored() {
        let store = StoreType::new("aws");
        let text = RemoteValue::raw(
            store,
            "app",
            None,
            Zeroizing::new(b"plain hunter2".to_vec()),
        );
        assert_eq!(text.select(None).unwrap().as_slice(), b"plain hunter2");
        assert!(text.entries().is_empty());
        let not_object =
            "aws secret app is not a JSON object, so it has no properties or keys to take";
        assert_eq!(text.select(Some("a")).unwrap_err().to_string(), not_object);
        assert_eq!(text.require_object().unwrap_err().to_string(), not_object);
        assert!(!format!("{text:?}").contains("hunter2"));
        let number = RemoteValue::raw(store, "n", None, Zeroizing::new(b"42".to_vec()));
        assert!(number.require_object().is_err());
        let empty = RemoteValue::raw(store, "e", None, Zeroizing::new(b"{}".to_vec()));
        assert!(empty.require_object().is_ok() && empty.entries().is_empty());
        let json = RemoteValue::raw(
            store,
            "app",
            None,
            Zeroizing::new(br#"{ "b": 1, "a": "x" }"#.to_vec()),
        );
        // Exactly as stored (spacing and key order kept), yet properties work.
        assert_eq!(
            json.select(None).unwrap().as_slice(),
            br#"{ "b": 1, "a": "x" }"#
        );
        assert_eq!(json.select(Some("a")).unwrap().as_slice(), b"x");
        assert_eq!(json.entries()["b"].as_slice(), b"1");
        let binary = RemoteValue::raw(store, "bin", None, Zeroizing::new(vec![0, 255]));
        assert_eq!(binary.select(None).unwrap().as_slice(), &[0, 255]);
    }

    #[test]
    fn wiping_empties_every_string() {
        let mut v = json!({"a": "secret", "b": [{"c": "deep"}], "n": 1});
        wipe_json(&mut v);
        assert_eq!(v, json!({}));
        let body = to_json_zeroized(&json!({"jwt": "x".repeat(5000)}));
        let back: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(back["jwt"].as_str().map(str::len), Some(5000));
    }
}

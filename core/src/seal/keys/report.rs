//! What an agent says about the keys it holds (`GET /v1/keys`), and what `keys list -o json`
//! prints: public facts only — fingerprints, dates, and the Secret each key came from — never
//! key material. The agent builds it from its [`KeyRing`]; the plugin reads it back to know
//! which Secrets to list or back up (the agent's flags decide, e.g. Bitnami keys in compat
//! mode, and the plugin cannot see those).

use serde::{Deserialize, Serialize};

use super::{KeyOrigin, KeyRing};

/// Every key the agent holds, oldest first; exactly one has `newest: true` when any exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyList {
    /// The keys.
    pub keys: Vec<KeyEntry>,
}

/// One key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyEntry {
    /// `SHA256:…` of the public key.
    pub fingerprint: String,
    /// The key Secret's creationTimestamp (RFC 3339).
    pub created: String,
    /// The certificate's notBefore (RFC 3339).
    pub not_before: String,
    /// The certificate's notAfter (RFC 3339).
    pub not_after: String,
    /// True for the one key that seals new values.
    pub newest: bool,
    /// The Secret the key was loaded from.
    pub secret: SecretRef,
    /// Which label selected that Secret.
    pub origin: KeyOrigin,
}

/// A Secret by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl SecretRef {
    /// `namespace/name`.
    pub fn display(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl KeyList {
    /// The public facts of every key in `ring`, in the ring's order (oldest first).
    pub fn from_ring(ring: &KeyRing) -> KeyList {
        let last = ring.keys().len().checked_sub(1);
        let keys = ring
            .keys()
            .iter()
            .enumerate()
            .map(|(index, key)| {
                let (namespace, name) = key
                    .source
                    .split_once('/')
                    .unwrap_or(("", key.source.as_str()));
                KeyEntry {
                    fingerprint: key.fingerprint(),
                    created: crate::rfc3339::format(key.created),
                    not_before: crate::rfc3339::format(key.certificate.not_before()),
                    not_after: crate::rfc3339::format(key.certificate.not_after()),
                    newest: Some(index) == last,
                    secret: SecretRef {
                        namespace: namespace.to_owned(),
                        name: name.to_owned(),
                    },
                    origin: key.origin,
                }
            })
            .collect();
        KeyList { keys }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::seal::keys::{KeyBits, SealingKey, generate};

    #[test]
    fn lists_public_facts_oldest_first() {
        let now = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap();
        let make = |name: &str, age: time::Duration, origin: KeyOrigin| {
            let made =
                generate(KeyBits::Rsa2048, name, now - age, time::Duration::days(1)).unwrap();
            let data = BTreeMap::from([
                ("tls.key".to_owned(), made.key_pem.as_bytes().to_vec()),
                (
                    "tls.crt".to_owned(),
                    made.certificate.pem().as_bytes().to_vec(),
                ),
            ]);
            let mut key = SealingKey::from_secret_data(&format!("ns/{name}"), now, &data).unwrap();
            key.origin = origin;
            key
        };
        let ring = KeyRing::new(vec![
            make("new", time::Duration::hours(1), KeyOrigin::Ours),
            make("old", time::Duration::hours(5), KeyOrigin::Bitnami),
        ]);
        let list = KeyList::from_ring(&ring);
        assert_eq!(list.keys.len(), 2);
        assert_eq!(list.keys[0].secret.display(), "ns/old");
        assert_eq!(list.keys[0].origin, KeyOrigin::Bitnami);
        assert!(!list.keys[0].newest && list.keys[1].newest);
        assert_eq!(list.keys[1].fingerprint, ring.keys()[1].fingerprint());
        let json = serde_json::to_string(&list).unwrap();
        assert!(json.contains("\"origin\":\"bitnami\"") && json.contains("\"notAfter\""));
        assert!(!json.contains("PRIVATE"));
        assert_eq!(serde_json::from_str::<KeyList>(&json).unwrap(), list);
    }
}

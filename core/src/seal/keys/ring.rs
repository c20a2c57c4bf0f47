//! The set of sealing keys an agent holds, built from key Secrets (`kubernetes.io/tls`, PEM
//! key in `tls.key`, certificate in `tls.crt`). The newest key (latest certificate
//! `notBefore`, then Secret creation) seals; every key is tried to open.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{Certificate, KeyError, PrivateKey, parse_private_keys};

/// Label selecting our key Secrets.
pub const KEY_LABEL: &str = "kubectl-secrets.io/sealing-key";
/// Label selecting Bitnami's key Secrets (compat mode).
pub const BITNAMI_KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
/// Value of either label for a key in use.
pub const ACTIVE: &str = "active";
/// Annotation on the newest key Secret asking the leader for a new key now.
pub const RENEW_REQUESTED_AT: &str = "kubectl-secrets.io/renew-requested-at";

/// One loaded key.
#[derive(Debug)]
pub struct SealingKey {
    /// The private key.
    pub private: PrivateKey,
    /// Its certificate.
    pub certificate: Certificate,
    /// `namespace/name` of the Secret it came from.
    pub source: String,
    /// The Secret's creationTimestamp (tie-break after the certificate's notBefore).
    pub created: OffsetDateTime,
    /// Whose label selected the Secret ([`KeyOrigin::Ours`] unless the loader says otherwise).
    pub origin: KeyOrigin,
}

/// Which label selected a key Secret: ours, or Bitnami's (compat mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyOrigin {
    /// `kubectl-secrets.io/sealing-key=active`.
    #[default]
    Ours,
    /// `sealedsecrets.bitnami.com/sealed-secrets-key=active`.
    Bitnami,
}

impl SealingKey {
    /// Fingerprint of the public key.
    pub fn fingerprint(&self) -> String {
        self.private.public().fingerprint()
    }

    /// Build from a key Secret's `data` (base64-decoded values).
    pub fn from_secret_data(
        source: &str,
        created: OffsetDateTime,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<SealingKey, KeyError> {
        let key_pem = data
            .get("tls.key")
            .ok_or_else(|| KeyError::BadBackup(format!("secret {source}: no tls.key")))?;
        let cert_pem = data
            .get("tls.crt")
            .ok_or_else(|| KeyError::BadBackup(format!("secret {source}: no tls.crt")))?;
        let mut keys = parse_private_keys(key_pem)?;
        let private = keys.pop().ok_or(KeyError::NoPem {
            wanted: "PRIVATE KEY",
        })?;
        let certificate = Certificate::from_pem(cert_pem)?;
        if certificate.public_key().fingerprint() != private.public().fingerprint() {
            return Err(KeyError::BadBackup(format!(
                "secret {source}: tls.crt does not belong to tls.key"
            )));
        }
        Ok(SealingKey {
            private,
            certificate,
            source: source.to_owned(),
            created,
            origin: KeyOrigin::Ours,
        })
    }
}

/// Every key, oldest first; the last is the newest.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<SealingKey>,
}

impl KeyRing {
    /// Order keys by certificate notBefore, then Secret creation; drop duplicates (the same
    /// key restored twice) keeping the first.
    pub fn new(mut keys: Vec<SealingKey>) -> KeyRing {
        keys.sort_by_key(|k| (k.certificate.not_before(), k.created));
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| seen.insert(k.fingerprint()));
        KeyRing { keys }
    }

    /// The key that seals.
    pub fn newest(&self) -> Option<&SealingKey> {
        self.keys.last()
    }

    /// All keys, oldest first.
    pub fn keys(&self) -> &[SealingKey] {
        &self.keys
    }

    /// Is there no key at all?
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Private keys in the order to try: the one with `hint`'s fingerprint first (the key
    /// that opened this object last time), then newest to oldest.
    pub fn try_order(&self, hint: Option<&str>) -> Vec<&PrivateKey> {
        let mut order: Vec<&SealingKey> = self.keys.iter().rev().collect();
        if let Some(hint) = hint
            && let Some(pos) = order.iter().position(|k| k.fingerprint() == hint)
        {
            let hinted = order.remove(pos);
            order.insert(0, hinted);
        }
        order.into_iter().map(|k| &k.private).collect()
    }

    /// The fingerprint of the key at `index` in [`KeyRing::try_order`]`(hint)`.
    pub fn fingerprint_in_order(&self, hint: Option<&str>, index: usize) -> Option<String> {
        self.try_order(hint)
            .get(index)
            .map(|k| k.public().fingerprint())
    }
}

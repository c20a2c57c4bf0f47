//! The controller's mount key: an Ed25519 key pair with a self-signed certificate for the
//! mount endpoint's TLS and the answers' signatures, and a random 32-byte HMAC key for object
//! versions. All three live in one Secret in the agent namespace (only the controller reads
//! it); the certificate alone is published in a ConfigMap the provider pins.
//!
//! Data flow: the leader [`MountKey::generate`]s it when the Secret is missing and writes
//! [`MountKey::secret_data`]; every replica [`MountKey::from_secret_data`]s what it watches;
//! the provider takes the ConfigMap's [`CERT_FIELD`] through [`Pinned::from_pem`].

use std::collections::BTreeMap;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use rcgen::{CertificateParams, DnType, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

/// The Secret's field holding the PKCS#8 private key (PEM).
pub const KEY_FIELD: &str = "mount.key";
/// The certificate (PEM), in the Secret and in the published ConfigMap.
pub const CERT_FIELD: &str = "mount.crt";
/// The object-version HMAC key (32 raw bytes), in the Secret only.
pub const VERSION_FIELD: &str = "version.key";
/// How long the self-signed certificate is valid (it is pinned, not chained: rotation is by
/// replacing the Secret).
pub const VALIDITY: Duration = Duration::days(3650);

/// Why a mount key could not be made or read; never carries key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountKeyError {
    /// A field is missing or malformed.
    #[error("the mount key's {field} is {why}")]
    Field {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// Generation failed.
    #[error("making the mount key failed: {0}")]
    Generate(String),
}

fn field(field: &'static str, why: impl Into<String>) -> MountKeyError {
    MountKeyError::Field {
        field,
        why: why.into(),
    }
}

/// The mount key, loaded. `Debug` shows only the certificate's public key fingerprint.
pub struct MountKey {
    signer: Ed25519KeyPair,
    pkcs8: Zeroizing<Vec<u8>>,
    cert_pem: String,
    cert_der: Vec<u8>,
    version_key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for MountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountKey")
            .field("public_key", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl MountKey {
    /// A new key pair, certificate for `dns_names` (the Service's names) and version key.
    pub fn generate(dns_names: &[String], now: OffsetDateTime) -> Result<MountKey, MountKeyError> {
        let generate = |what: &str| MountKeyError::Generate(what.to_owned());
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| generate("ed25519 keygen"))?;
        let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
        let key_pem = Zeroizing::new(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.to_vec())));
        let signer = rcgen::KeyPair::from_pem_and_sign_algo(&key_pem, &rcgen::PKCS_ED25519)
            .map_err(|err| MountKeyError::Generate(err.to_string()))?;
        let mut params = CertificateParams::new(dns_names.to_vec())
            .map_err(|err| MountKeyError::Generate(err.to_string()))?;
        params
            .distinguished_name
            .push(DnType::CommonName, "kubectl-secrets mount endpoint");
        params.not_before = now - Duration::minutes(5);
        params.not_after = now + VALIDITY;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let mut serial = [0u8; 16];
        aws_lc_rs::rand::fill(&mut serial).map_err(|_| generate("serial number"))?;
        serial[0] &= 0x7f;
        params.serial_number = Some(serial.to_vec().into());
        let cert = params
            .self_signed(&signer)
            .map_err(|err| MountKeyError::Generate(err.to_string()))?;
        let mut version_key = Zeroizing::new(vec![0u8; 32]);
        aws_lc_rs::rand::fill(&mut version_key).map_err(|_| generate("version key"))?;
        let mut data = BTreeMap::new();
        data.insert(KEY_FIELD.to_owned(), key_pem.as_bytes().to_vec());
        data.insert(CERT_FIELD.to_owned(), cert.pem().into_bytes());
        data.insert(VERSION_FIELD.to_owned(), version_key.to_vec());
        let loaded = MountKey::from_secret_data(&data);
        for value in data.values_mut() {
            zeroize::Zeroize::zeroize(value);
        }
        loaded
    }

    /// Load the Secret's data: the key, a certificate for that very key, a 32-byte version
    /// key.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Result<MountKey, MountKeyError> {
        let get = |name: &'static str| data.get(name).ok_or_else(|| field(name, "missing"));
        let key_pem = get(KEY_FIELD)?;
        let parsed = pem::parse(key_pem).map_err(|_| field(KEY_FIELD, "not PEM"))?;
        if parsed.tag() != "PRIVATE KEY" {
            return Err(field(KEY_FIELD, "not a PKCS#8 PRIVATE KEY"));
        }
        let pkcs8 = Zeroizing::new(parsed.into_contents());
        let signer = Ed25519KeyPair::from_pkcs8(&pkcs8)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8))
            .map_err(|_| field(KEY_FIELD, "not an Ed25519 key"))?;
        let cert_pem = std::str::from_utf8(get(CERT_FIELD)?)
            .map_err(|_| field(CERT_FIELD, "not text"))?
            .to_owned();
        let pinned = Pinned::from_pem(&cert_pem)?;
        if pinned.public_key != signer.public_key().as_ref() {
            return Err(field(
                CERT_FIELD,
                "not the certificate of the key in mount.key",
            ));
        }
        let version_key = get(VERSION_FIELD)?;
        if version_key.len() != 32 {
            return Err(field(
                VERSION_FIELD,
                format!("{} bytes, not 32", version_key.len()),
            ));
        }
        Ok(MountKey {
            signer,
            pkcs8,
            cert_pem,
            cert_der: pinned.der,
            version_key: Zeroizing::new(version_key.clone()),
        })
    }

    /// The Secret's data (private: write it only to the mount-key Secret).
    pub fn secret_data(&self) -> BTreeMap<String, Zeroizing<Vec<u8>>> {
        let key_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", self.pkcs8.to_vec()));
        BTreeMap::from([
            (KEY_FIELD.to_owned(), Zeroizing::new(key_pem.into_bytes())),
            (
                CERT_FIELD.to_owned(),
                Zeroizing::new(self.cert_pem.as_bytes().to_vec()),
            ),
            (VERSION_FIELD.to_owned(), self.version_key.clone()),
        ])
    }

    /// The signing key.
    pub fn signer(&self) -> &Ed25519KeyPair {
        &self.signer
    }

    /// The PKCS#8 DER of the private key (for the TLS server).
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The certificate, PEM (what the ConfigMap publishes).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The object-version HMAC key.
    pub fn version_key(&self) -> &[u8] {
        &self.version_key
    }

    /// SHA-256 (hex, first 16 bytes) of the public key: for logs.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.signer.public_key().as_ref())
    }
}

fn fingerprint(public: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, public).as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A published certificate as the provider pins it: its DER and raw Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// The end-entity certificate the TLS server must present, byte for byte.
    pub der: Vec<u8>,
    /// The key the answers are signed with.
    pub public_key: Vec<u8>,
}

impl Pinned {
    /// Parse a PEM certificate with an Ed25519 key.
    pub fn from_pem(text: &str) -> Result<Pinned, MountKeyError> {
        let parsed = pem::parse(text.as_bytes()).map_err(|_| field(CERT_FIELD, "not PEM"))?;
        if parsed.tag() != "CERTIFICATE" {
            return Err(field(CERT_FIELD, "not a CERTIFICATE"));
        }
        let der = parsed.into_contents();
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|_| field(CERT_FIELD, "not an X.509 certificate"))?;
        let spki = &cert.tbs_certificate.subject_pki;
        if spki.algorithm.algorithm.to_id_string() != "1.3.101.112" {
            return Err(field(CERT_FIELD, "not for an Ed25519 key"));
        }
        let public_key = spki.subject_public_key.data.to_vec();
        if public_key.len() != 32 {
            return Err(field(CERT_FIELD, "an Ed25519 key of the wrong length"));
        }
        Ok(Pinned { der, public_key })
    }

    /// See [`MountKey::fingerprint`].
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(key: &MountKey) -> BTreeMap<String, Vec<u8>> {
        key.secret_data()
            .into_iter()
            .map(|(k, v)| (k, v.to_vec()))
            .collect()
    }

    #[test]
    fn generated_keys_round_trip_through_the_secret_and_pin() {
        let now = OffsetDateTime::now_utc();
        let key = MountKey::generate(&["secrets-agent.kubectl-secrets.svc".into()], now).unwrap();
        let loaded = MountKey::from_secret_data(&data(&key)).unwrap();
        assert_eq!(loaded.fingerprint(), key.fingerprint());
        assert_eq!(loaded.version_key(), key.version_key());
        assert_eq!(loaded.version_key().len(), 32);
        let pinned = Pinned::from_pem(key.cert_pem()).unwrap();
        assert_eq!(pinned.der, key.cert_der());
        assert_eq!(pinned.fingerprint(), key.fingerprint());
        assert!(!format!("{key:?}").contains("PRIVATE"));
        let other = MountKey::generate(&[], now).unwrap();
        assert_ne!(other.fingerprint(), key.fingerprint());
        assert_ne!(other.version_key(), key.version_key());
    }

    #[test]
    fn a_secret_that_does_not_hold_together_is_refused_by_field() {
        let now = OffsetDateTime::now_utc();
        let key = MountKey::generate(&[], now).unwrap();
        let other = MountKey::generate(&[], now).unwrap();
        let mut mixed = data(&key);
        mixed.insert(CERT_FIELD.into(), other.cert_pem().as_bytes().to_vec());
        let err = MountKey::from_secret_data(&mixed).unwrap_err();
        assert!(
            err.to_string().contains("not the certificate of the key"),
            "{err}"
        );
        let mut short = data(&key);
        short.insert(VERSION_FIELD.into(), vec![1; 16]);
        assert!(
            MountKey::from_secret_data(&short)
                .unwrap_err()
                .to_string()
                .contains("16 bytes")
        );
        let mut missing = data(&key);
        missing.remove(KEY_FIELD);
        assert_eq!(
            MountKey::from_secret_data(&missing).unwrap_err(),
            field(KEY_FIELD, "missing")
        );
        assert!(Pinned::from_pem("junk").is_err());
    }
}

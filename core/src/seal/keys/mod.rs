//! RSA key material: public keys from certificates, private keys from PEM or key backups, and
//! new sealing key pairs.
//!
//! Data flow: bytes from a file or a Secret → [`pem`] blocks (or a key-backup document, see
//! [`backup`]) → DER → a key parsed once into every compiled backend's form, so sealing and
//! opening never re-parse. Private key bytes are held in `Zeroizing` buffers; the parsed forms
//! are cleared by their libraries on drop.

mod backup;
mod certificate;
mod generate;
mod report;
mod ring;
mod size;

pub use backup::parse_private_keys;
pub use certificate::Certificate;
pub use generate::{GeneratedKey, KeyBits, generate};
pub use report::{KeyEntry, KeyList, SecretRef};
pub use ring::{
    ACTIVE, BITNAMI_KEY_LABEL, KEY_LABEL, KeyOrigin, KeyRing, RENEW_REQUESTED_AT, SealingKey,
};
pub use size::{MAX_BITS, MIN_BITS};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{
    KeyPair, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey,
};
use std::sync::Arc;

use zeroize::Zeroizing;

/// The RSA public half of a sealing key.
#[derive(Clone)]
pub struct PublicKey {
    spki_der: Vec<u8>,
    // Not `Clone` itself; shared because one certificate seals many values.
    awslc: Arc<OaepPublicEncryptingKey>,
    #[cfg(feature = "rustcrypto")]
    rustcrypto: rsa::PublicKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits())
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

impl PublicKey {
    /// Parse a DER `SubjectPublicKeyInfo` holding an RSA key.
    /// A modulus outside [`MIN_BITS`]..=[`MAX_BITS`] is refused by size, not as "not RSA".
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let unusable = || match size::spki(der) {
            Some(shape) => size::check(&shape).err().unwrap_or(KeyError::NotRsa),
            None => KeyError::NotRsa,
        };
        let public = PublicEncryptingKey::from_der(der).map_err(|_| unusable())?;
        let awslc = OaepPublicEncryptingKey::new(public).map_err(|_| unusable())?;
        Ok(PublicKey {
            spki_der: der.to_vec(),
            awslc: Arc::new(awslc),
            #[cfg(feature = "rustcrypto")]
            rustcrypto: {
                use rsa::pkcs8::DecodePublicKey;
                rsa::PublicKey::from_public_key_der(der).map_err(|_| KeyError::NotRsa)?
            },
        })
    }

    /// Modulus size in bytes (the length of every RSA block sealed for this key).
    pub fn modulus_len(&self) -> usize {
        self.awslc.key_size_bytes()
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.awslc.key_size_bits()
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// `SHA256:` and the lowercase hex SHA-256 of the DER `SubjectPublicKeyInfo`; the same as
    /// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`.
    pub fn fingerprint(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.spki_der);
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("SHA256:{hex}")
    }

    pub(crate) fn awslc(&self) -> &OaepPublicEncryptingKey {
        &self.awslc
    }

    #[cfg(feature = "rustcrypto")]
    pub(crate) fn rustcrypto(&self) -> &rsa::PublicKey {
        &self.rustcrypto
    }
}

/// An RSA private key able to open sealed values.
pub struct PrivateKey {
    pkcs8: Zeroizing<Vec<u8>>,
    awslc: OaepPrivateDecryptingKey,
    public: PublicKey,
    #[cfg(feature = "rustcrypto")]
    rustcrypto: rsa::PrivateKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material; the public fingerprint identifies it.
        f.debug_struct("PrivateKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Parse a DER PKCS#8 `PrivateKeyInfo` holding an RSA key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let private = PrivateDecryptingKey::from_pkcs8(der)
            .map_err(|_| private_key_error(size::pkcs8(der)))?;
        let public_der = private
            .public_key()
            .as_der()
            .map_err(|_| KeyError::BadPrivateKey)?
            .as_ref()
            .to_vec();
        let public = PublicKey::from_spki_der(&public_der)?;
        let awslc = OaepPrivateDecryptingKey::new(private).map_err(|_| KeyError::BadPrivateKey)?;
        Ok(PrivateKey {
            pkcs8: Zeroizing::new(der.to_vec()),
            awslc,
            public,
            #[cfg(feature = "rustcrypto")]
            rustcrypto: {
                use rsa::pkcs8::DecodePrivateKey;
                rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| KeyError::BadPrivateKey)?
            },
        })
    }

    /// Parse a DER PKCS#1 `RSAPrivateKey` (PEM `RSA PRIVATE KEY`, what Bitnami writes).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = KeyPair::from_der(der).map_err(|_| private_key_error(size::pkcs1(der)))?;
        let pkcs8: Pkcs8V1Der<'_> = pair.as_der().map_err(|_| KeyError::BadPrivateKey)?;
        let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
        Self::from_pkcs8_der(&pkcs8)
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// PEM `PRIVATE KEY` (PKCS#8), for writing key files and key Secrets.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            self.pkcs8.to_vec(),
        )))
    }

    pub(crate) fn awslc(&self) -> &OaepPrivateDecryptingKey {
        &self.awslc
    }

    #[cfg(feature = "rustcrypto")]
    pub(crate) fn rustcrypto(&self) -> &rsa::PrivateKey {
        &self.rustcrypto
    }
}

/// A private key the backend refused: by its size (or exponent) when that is the reason.
fn private_key_error(shape: Option<size::Shape>) -> KeyError {
    shape
        .and_then(|shape| size::check(&shape).err())
        .unwrap_or(KeyError::BadPrivateKey)
}

/// Why key material could not be read or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No PEM block of the wanted kind was found.
    #[error("no {wanted} PEM block found")]
    NoPem {
        /// The PEM label looked for.
        wanted: &'static str,
    },
    /// The PEM armour itself is broken.
    #[error("malformed PEM: {0}")]
    BadPem(String),
    /// The certificate's DER could not be parsed.
    #[error("malformed X.509 certificate")]
    BadCertificate,
    /// The key is not RSA (sealing is RSA-OAEP only).
    #[error("the key is not an RSA key (sealing needs RSA)")]
    NotRsa,
    /// An RSA key of a size sealing does not accept.
    #[error(
        "the RSA key is {bits} bits: sealing needs {min} to {max} bits (4096 recommended)",
        min = MIN_BITS,
        max = MAX_BITS
    )]
    KeySize {
        /// The modulus size found.
        bits: usize,
    },
    /// An RSA key whose public exponent sealing cannot use.
    #[error(
        "the RSA key's public exponent is not usable: sealing needs an odd exponent above 1 of \
         at most 33 bits (65537 is usual)"
    )]
    KeyExponent,
    /// The certificate's `notAfter` has passed.
    #[error("the certificate expired on {not_after}")]
    Expired {
        /// Expiry, RFC 3339.
        not_after: String,
    },
    /// The private key's DER is not a usable RSA key.
    #[error("malformed or unsupported RSA private key")]
    BadPrivateKey,
    /// A PEM block of a kind we do not read (encrypted keys, EC keys, ...).
    #[error("unsupported PEM block {0:?}: expected RSA PRIVATE KEY or PRIVATE KEY")]
    UnsupportedPem(String),
    /// A key backup document is malformed.
    #[error("malformed key backup: {0}")]
    BadBackup(String),
    /// Key generation or certificate signing failed.
    #[error("could not generate the key pair: {0}")]
    Generate(String),
}

/// Shared test keys: RSA key generation is slow, so each size is made once per test binary.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::OnceLock;

    use time::{Duration, OffsetDateTime};

    use super::{GeneratedKey, KeyBits, generate};

    pub(crate) fn key4096() -> &'static GeneratedKey {
        static KEY: OnceLock<GeneratedKey> = OnceLock::new();
        KEY.get_or_init(|| {
            generate(
                KeyBits::Rsa4096,
                "test",
                OffsetDateTime::now_utc(),
                Duration::days(1),
            )
            .unwrap()
        })
    }

    pub(crate) fn key2048() -> &'static GeneratedKey {
        static KEY: OnceLock<GeneratedKey> = OnceLock::new();
        KEY.get_or_init(|| {
            generate(
                KeyBits::Rsa2048,
                "other",
                OffsetDateTime::now_utc(),
                Duration::days(1),
            )
            .unwrap()
        })
    }
}

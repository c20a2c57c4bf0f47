//! A certificate's material (chain and private key) and the value of its backing secret as Key
//! Vault stores it: `application/x-pem-file` (the key, then the chain, as PEM) or
//! `application/x-pkcs12` (base64 of a password-less PFX).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain,
};

/// How the backing secret holds the certificate and key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertFormat {
    /// `application/x-pem-file`.
    Pem,
    /// `application/x-pkcs12`, PBES2 with AES-256 (what current tooling writes).
    Pkcs12,
    /// `application/x-pkcs12` with the legacy PBES1 3DES cipher (older Key Vault exports).
    Pkcs12Legacy,
}

/// A certificate chain (leaf first, DER) and the leaf's private key (PKCS#8 DER).
#[derive(Clone, Default)]
pub struct CertificateMaterial {
    pub chain_der: Vec<Vec<u8>>,
    pub key_pkcs8_der: Vec<u8>,
    pub tags: BTreeMap<String, String>,
}

impl std::fmt::Debug for CertificateMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateMaterial")
            .field("chain", &self.chain_der.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl CertificateMaterial {
    /// A fresh chain for `dns_name`: a leaf (its key kept here, PKCS#8) signed by a new CA,
    /// leaf first, as Key Vault lists a chain. Each call makes new keys, so two calls never
    /// share material.
    pub fn generate(dns_name: &str) -> Result<CertificateMaterial, String> {
        let failed = |what: &str, e: rcgen::Error| format!("{what}: {e}");
        let ca_key = rcgen::KeyPair::generate().map_err(|e| failed("the CA key", e))?;
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| failed("the CA parameters", e))?;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca
            .self_signed(&ca_key)
            .map_err(|e| failed("self-signing the CA", e))?;
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let leaf_key = rcgen::KeyPair::generate().map_err(|e| failed("the leaf key", e))?;
        let leaf = rcgen::CertificateParams::new(vec![dns_name.to_owned()])
            .map_err(|e| failed("the leaf parameters", e))?
            .signed_by(&leaf_key, &issuer)
            .map_err(|e| failed("signing the leaf", e))?;
        Ok(CertificateMaterial {
            chain_der: vec![leaf.der().to_vec(), ca_cert.der().to_vec()],
            key_pkcs8_der: leaf_key.serialize_der(),
            tags: BTreeMap::new(),
        })
    }

    /// The backing secret's value and content type.
    pub(crate) fn backing_secret(
        &self,
        format: CertFormat,
    ) -> Result<(String, &'static str), String> {
        match format {
            CertFormat::Pem => {
                let mut out =
                    pem::encode(&pem::Pem::new("PRIVATE KEY", self.key_pkcs8_der.clone()));
                for cert in &self.chain_der {
                    out.push_str(&pem::encode(&pem::Pem::new("CERTIFICATE", cert.clone())));
                }
                Ok((out, "application/x-pem-file"))
            }
            CertFormat::Pkcs12 | CertFormat::Pkcs12Legacy => {
                let algorithm = match format {
                    CertFormat::Pkcs12Legacy => EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
                    _ => EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
                };
                let key = PrivateKey::from_der(&self.key_pkcs8_der)
                    .map_err(|e| format!("reading the key: {e}"))?;
                let certs = self
                    .chain_der
                    .iter()
                    .map(|der| {
                        Certificate::from_der(der)
                            .map_err(|e| format!("reading a certificate: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let mut store = KeyStore::new();
                store.add_entry(
                    "cert",
                    KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new("cert", key, certs)),
                );
                let pfx = store
                    .writer("")
                    .encryption_algorithm(algorithm)
                    .write()
                    .map_err(|e| format!("writing the PFX: {e}"))?;
                Ok((STANDARD.encode(pfx), "application/x-pkcs12"))
            }
        }
    }
}

//! Sealing certificates: the first `CERTIFICATE` in a PEM bundle, RSA only.

use time::OffsetDateTime;
use x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION;

use super::{KeyError, PublicKey};

/// A parsed sealing certificate.
#[derive(Debug, Clone)]
pub struct Certificate {
    pem: String,
    public: PublicKey,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl Certificate {
    /// Parse the **first** `CERTIFICATE` block (as kubeseal does); other blocks are ignored.
    /// Checks that the key is RSA but not the dates: see [`Certificate::ensure_valid_at`].
    pub fn from_pem(bytes: &[u8]) -> Result<Self, KeyError> {
        let blocks = pem::parse_many(bytes).map_err(|err| KeyError::BadPem(err.to_string()))?;
        let block = blocks
            .into_iter()
            .find(|block| block.tag() == "CERTIFICATE")
            .ok_or(KeyError::NoPem {
                wanted: "CERTIFICATE",
            })?;
        let (_, cert) = x509_parser::parse_x509_certificate(block.contents())
            .map_err(|_| KeyError::BadCertificate)?;
        let spki = cert.public_key();
        if spki.algorithm.algorithm != OID_PKCS1_RSAENCRYPTION {
            return Err(KeyError::NotRsa);
        }
        let public = PublicKey::from_spki_der(spki.raw)?;
        let time = |t: x509_parser::time::ASN1Time| {
            OffsetDateTime::from_unix_timestamp(t.timestamp()).map_err(|_| KeyError::BadCertificate)
        };
        let not_before = time(cert.validity().not_before)?;
        let not_after = time(cert.validity().not_after)?;
        Ok(Certificate {
            pem: pem::encode(&block),
            public,
            not_before,
            not_after,
        })
    }

    /// Refuse a certificate past its `notAfter`, naming the date. Like kubeseal, `notBefore`
    /// is not checked: a clock a little behind the cluster's must not block sealing.
    pub fn ensure_valid_at(&self, now: OffsetDateTime) -> Result<(), KeyError> {
        if now > self.not_after {
            return Err(KeyError::Expired {
                not_after: crate::rfc3339::format(self.not_after),
            });
        }
        Ok(())
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// This certificate alone, PEM-encoded.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Start of validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
}

#[cfg(test)]
mod tests {
    use super::super::{KeyError, parse_private_keys};
    use super::Certificate;

    #[test]
    fn a_small_rsa_key_is_refused_by_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let weak = test_support::weak_rsa_keys(dir.path());
        let read = |p: &std::path::Path| std::fs::read(p).unwrap();
        let err = Certificate::from_pem(&read(&weak.rsa1024_cert)).unwrap_err();
        assert_eq!(err, KeyError::KeySize { bits: 1024 });
        assert_eq!(
            err.to_string(),
            "the RSA key is 1024 bits: sealing needs 2048 to 8192 bits (4096 recommended)"
        );
        assert_eq!(
            Certificate::from_pem(&read(&weak.big_exponent_cert)).unwrap_err(),
            KeyError::KeyExponent
        );
        for key in [&weak.rsa1024_pkcs8, &weak.rsa1024_pkcs1] {
            assert_eq!(
                parse_private_keys(&read(key)).unwrap_err(),
                KeyError::KeySize { bits: 1024 }
            );
        }
    }
}

//! New sealing key pairs: RSA with a self-signed certificate.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use super::{Certificate, KeyError, PrivateKey};

/// RSA modulus size of a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyBits {
    /// 2048 bits: only for tests and benchmarks of the smaller size.
    Rsa2048,
    /// 4096 bits, the Sealed Secrets default.
    #[default]
    Rsa4096,
}

/// A freshly generated key pair.
pub struct GeneratedKey {
    /// The private key, parsed.
    pub private: PrivateKey,
    /// The private key as PEM PKCS#8 (`PRIVATE KEY`).
    pub key_pem: Zeroizing<String>,
    /// The self-signed certificate, parsed.
    pub certificate: Certificate,
}

/// Generate an RSA key and a self-signed certificate for it, valid from `now` for `validity`
/// (Sealed Secrets uses ten years). The certificate is a CA with key usage
/// `keyEncipherment` (it wraps session keys), subject and issuer `CN=<common_name>`.
pub fn generate(
    bits: KeyBits,
    common_name: &str,
    now: OffsetDateTime,
    validity: Duration,
) -> Result<GeneratedKey, KeyError> {
    let size = match bits {
        KeyBits::Rsa2048 => KeySize::Rsa2048,
        KeyBits::Rsa4096 => KeySize::Rsa4096,
    };
    let generate_err = |what: &str| KeyError::Generate(what.to_owned());
    let private = PrivateDecryptingKey::generate(size).map_err(|_| generate_err("rsa keygen"))?;
    let pkcs8 = Zeroizing::new(
        private
            .as_der()
            .map_err(|_| generate_err("pkcs8 encoding"))?
            .as_ref()
            .to_vec(),
    );
    let private = PrivateKey::from_pkcs8_der(&pkcs8)?;
    let key_pem = private.to_pkcs8_pem();

    let signer = rcgen::KeyPair::from_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256)
        .map_err(|err| KeyError::Generate(err.to_string()))?;
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.not_before = now;
    params.not_after = now + validity;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyEncipherment];
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| generate_err("serial number"))?;
    serial[0] &= 0x7f; // keep the DER INTEGER positive
    params.serial_number = Some(serial.to_vec().into());
    let cert = params
        .self_signed(&signer)
        .map_err(|err| KeyError::Generate(err.to_string()))?;
    let certificate = Certificate::from_pem(cert.pem().as_bytes())?;
    Ok(GeneratedKey {
        private,
        key_pem,
        certificate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::keys::parse_private_keys;

    #[test]
    fn generated_pair_is_consistent_and_ten_years() {
        let now = OffsetDateTime::now_utc();
        let key = generate(KeyBits::Rsa2048, "test", now, Duration::days(3650)).unwrap();
        let cert = &key.certificate;
        assert_eq!(
            cert.public_key().fingerprint(),
            key.private.public().fingerprint()
        );
        assert_eq!(cert.public_key().bits(), 2048);
        assert_eq!((cert.not_after() - cert.not_before()).whole_days(), 3650);
        cert.ensure_valid_at(now).unwrap();
        let reread = parse_private_keys(key.key_pem.as_bytes()).unwrap();
        assert_eq!(reread.len(), 1);
        assert_eq!(
            reread[0].public().fingerprint(),
            cert.public_key().fingerprint()
        );
    }

    #[test]
    fn expired_certificate_names_the_date() {
        let then = OffsetDateTime::from_unix_timestamp(1_600_000_000).unwrap();
        let key = generate(KeyBits::Rsa2048, "old", then, Duration::days(1)).unwrap();
        let err = key
            .certificate
            .ensure_valid_at(OffsetDateTime::now_utc())
            .unwrap_err();
        assert_eq!(
            err,
            KeyError::Expired {
                not_after: "2020-09-14T12:26:40Z".to_owned()
            }
        );
    }
}

//! `certkey/NAME`: a certificate's backing secret turned into the chain and the private key
//! as PEM (certificates first, leaf first, then the key), whichever way Key Vault holds it:
//! `application/x-pem-file` (PEM blocks, key usually first) or `application/x-pkcs12`
//! (base64 of a password-less PFX, possibly with legacy PBES1 ciphers). Pure; every buffer
//! that holds key material is zeroizing, except p12-keystore's own working copies.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p12_keystore::Pkcs12Archive;
use zeroize::Zeroizing;

const PEM_FILE: &str = "application/x-pem-file";
const PKCS12: &str = "application/x-pkcs12";

/// The PEM of `value` (a backing secret's value with its `contentType`), or why it cannot be
/// converted. Errors never contain the value.
pub fn to_pem(value: &str, content_type: Option<&str>) -> Result<Zeroizing<String>, String> {
    match content_type.map(|c| c.split(';').next().unwrap_or(c).trim()) {
        Some(PKCS12) => from_pkcs12(value),
        Some(PEM_FILE) | None => from_pem(value),
        Some(other) => Err(format!(
            "the backing secret's contentType is {other:?}, neither {PEM_FILE} nor {PKCS12}"
        )),
    }
}

fn from_pem(value: &str) -> Result<Zeroizing<String>, String> {
    let mut certs = Vec::new();
    let mut keys = Vec::new();
    let mut lines = value.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(tag) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|t| t.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {tag}-----");
        let mut block = Zeroizing::new(format!("{line}\n"));
        let mut closed = false;
        for inner in lines.by_ref() {
            block.push_str(inner);
            block.push('\n');
            if inner == end {
                closed = true;
                break;
            }
        }
        if !closed {
            return Err(format!(
                "the backing secret's PEM block {tag:?} has no end line"
            ));
        }
        if tag == "CERTIFICATE" {
            certs.push(block);
        } else if tag.ends_with("PRIVATE KEY") {
            keys.push(block);
        }
    }
    assemble(certs, keys)
}

fn from_pkcs12(value: &str) -> Result<Zeroizing<String>, String> {
    let compact: Zeroizing<String> =
        Zeroizing::new(value.chars().filter(|c| !c.is_whitespace()).collect());
    let der = Zeroizing::new(
        STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| "the PKCS#12 backing secret is not base64".to_owned())?,
    );
    // Key Vault's PFX files have no password. The archive is read bag by bag: the key's
    // certificate (same local key id) first, then the others in the file's order.
    let archive = Pkcs12Archive::from_pkcs12(&der, "")
        .map_err(|e| format!("reading the PKCS#12 backing secret: {e}"))?;
    let [key] = archive.keys.as_slice() else {
        return Err(format!(
            "the PKCS#12 backing secret holds {} private keys, not one",
            archive.keys.len()
        ));
    };
    let key_id = key.local_key_id.as_ref().map(|id| id.as_ref().to_vec());
    let (mine, others): (Vec<_>, Vec<_>) = archive
        .certs
        .iter()
        .partition(|c| key_id.is_some() && c.local_key_id == key_id);
    let certs = mine
        .iter()
        .chain(&others)
        .map(|c| encode_block("CERTIFICATE", c.cert.as_der()))
        .collect();
    let key = encode_block("PRIVATE KEY", key.key.as_der());
    assemble(certs, vec![key])
}
/// One PEM block of `der`, with LF line endings, in a zeroizing string.
fn encode_block(tag: &str, der: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(STANDARD.encode(der));
    let mut out = Zeroizing::new(String::with_capacity(b64.len() + b64.len() / 64 + 64));
    out.push_str(&format!("-----BEGIN {tag}-----\n"));
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {tag}-----\n"));
    out
}

/// Certificates (in the order found: Key Vault writes the leaf first), then the one key.
fn assemble(
    certs: Vec<Zeroizing<String>>,
    keys: Vec<Zeroizing<String>>,
) -> Result<Zeroizing<String>, String> {
    if certs.is_empty() {
        return Err("the backing secret holds no certificate".to_owned());
    }
    if keys.len() != 1 {
        return Err(format!(
            "the backing secret holds {} private keys, not one",
            keys.len()
        ));
    }
    let total = certs.iter().chain(&keys).map(|b| b.len()).sum();
    let mut out = Zeroizing::new(String::with_capacity(total));
    for block in certs.iter().chain(&keys) {
        out.push_str(block);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p12_keystore::{
        Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain,
    };

    /// A leaf signed by a CA, both generated now: (leaf DER, CA DER, leaf key PKCS#8 DER).
    fn material() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["web.example".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        (
            leaf.der().to_vec(),
            ca_cert.der().to_vec(),
            leaf_key.serialize_der(),
        )
    }

    fn blocks(pem_text: &str) -> Vec<(String, Vec<u8>)> {
        pem::parse_many(pem_text)
            .unwrap()
            .into_iter()
            .map(|p| (p.tag().to_owned(), p.into_contents()))
            .collect()
    }

    #[test]
    fn pem_backing_secrets_come_out_chain_first() {
        let (leaf, ca, key) = material();
        let input = format!(
            "{}{}{}",
            pem::encode(&pem::Pem::new("PRIVATE KEY", key.clone())),
            pem::encode(&pem::Pem::new("CERTIFICATE", leaf.clone())),
            pem::encode(&pem::Pem::new("CERTIFICATE", ca.clone())),
        );
        let out = to_pem(&input, Some("application/x-pem-file")).unwrap();
        assert_eq!(
            blocks(&out),
            [
                ("CERTIFICATE".to_owned(), leaf),
                ("CERTIFICATE".to_owned(), ca),
                ("PRIVATE KEY".to_owned(), key)
            ]
        );
    }

    #[test]
    fn pkcs12_backing_secrets_are_converted_modern_and_legacy() {
        let (leaf, ca, key) = material();
        for algorithm in [
            EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
        ] {
            let certs = vec![
                Certificate::from_der(&leaf).unwrap(),
                Certificate::from_der(&ca).unwrap(),
            ];
            let chain = PrivateKeyChain::new("k", PrivateKey::from_der(&key).unwrap(), certs);
            let mut store = KeyStore::new();
            store.add_entry("k", KeyStoreEntry::PrivateKeyChain(chain));
            let pfx = store
                .writer("")
                .encryption_algorithm(algorithm)
                .write()
                .unwrap();
            let out = to_pem(&STANDARD.encode(pfx), Some("application/x-pkcs12")).unwrap();
            let found = blocks(&out);
            assert_eq!(found.len(), 3, "{algorithm:?}");
            assert_eq!(found[0], ("CERTIFICATE".to_owned(), leaf.clone()));
            assert_eq!(found[2], ("PRIVATE KEY".to_owned(), key.clone()));
        }
    }

    #[test]
    fn unusable_backing_secrets_say_why_without_the_value() {
        let err = to_pem("hunter2-not-base64!", Some("application/x-pkcs12")).unwrap_err();
        assert!(
            err.contains("not base64") && !err.contains("hunter2"),
            "{err}"
        );
        let err = to_pem("hunter2", Some("text/plain")).unwrap_err();
        assert!(
            err.contains("text/plain") && !err.contains("hunter2"),
            "{err}"
        );
        assert!(
            to_pem("hunter2", None)
                .unwrap_err()
                .contains("no certificate")
        );
        let (leaf, _, _) = material();
        let no_key = pem::encode(&pem::Pem::new("CERTIFICATE", leaf));
        assert!(
            to_pem(&no_key, None)
                .unwrap_err()
                .contains("0 private keys")
        );
    }
}

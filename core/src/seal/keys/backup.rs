//! Reading private keys for offline unsealing: PEM files (PKCS#1 or PKCS#8, any number of
//! blocks) or a key backup, the YAML/JSON a `kubectl get secret -l ...-key -o yaml` gives: one
//! `kubernetes.io/tls` Secret or a `v1 List` of them, each with the PEM key in `data["tls.key"]`.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{KeyError, PrivateKey};
use crate::manifest;

/// Every RSA private key in `bytes`. Certificate blocks beside the keys are skipped; an
/// input with no key at all is an error.
pub fn parse_private_keys(bytes: &[u8]) -> Result<Vec<PrivateKey>, KeyError> {
    let keys = if contains(bytes, b"-----BEGIN") && !looks_like_document(bytes) {
        parse_pem_keys(bytes)?
    } else {
        parse_backup(bytes)?
    };
    if keys.is_empty() {
        return Err(KeyError::NoPem {
            wanted: "PRIVATE KEY",
        });
    }
    Ok(keys)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A backup document embeds PEM only base64-encoded, so an unencoded `-----BEGIN` at the
/// start of a line means a PEM file; this checks for the document markers instead.
fn looks_like_document(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let first = text.trim_start();
    first.starts_with('{') || first.starts_with("apiVersion:") || first.starts_with("kind:")
}

fn parse_pem_keys(bytes: &[u8]) -> Result<Vec<PrivateKey>, KeyError> {
    let blocks = pem::parse_many(bytes).map_err(|err| KeyError::BadPem(err.to_string()))?;
    let mut keys = Vec::new();
    for block in blocks {
        let tag = block.tag().to_owned();
        let der = Zeroizing::new(block.into_contents());
        match tag.as_str() {
            "RSA PRIVATE KEY" => keys.push(PrivateKey::from_pkcs1_der(&der)?),
            "PRIVATE KEY" => keys.push(PrivateKey::from_pkcs8_der(&der)?),
            "CERTIFICATE" => {}
            _ => return Err(KeyError::UnsupportedPem(tag)),
        }
    }
    Ok(keys)
}

#[derive(Deserialize)]
struct BackupDoc {
    kind: Option<String>,
    #[serde(default)]
    metadata: BackupMeta,
    #[serde(default)]
    data: BTreeMap<String, Zeroizing<String>>,
    #[serde(default)]
    items: Vec<BackupDoc>,
}

#[derive(Deserialize, Default)]
struct BackupMeta {
    name: Option<String>,
}

fn parse_backup(bytes: &[u8]) -> Result<Vec<PrivateKey>, KeyError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| KeyError::BadBackup("not UTF-8 text and not PEM".to_owned()))?;
    let docs: Vec<BackupDoc> =
        manifest::parse_documents(text).map_err(|err| KeyError::BadBackup(err.to_string()))?;
    let mut keys = Vec::new();
    for doc in &docs {
        collect(doc, &mut keys)?;
    }
    Ok(keys)
}

fn collect(doc: &BackupDoc, keys: &mut Vec<PrivateKey>) -> Result<(), KeyError> {
    let name = doc.metadata.name.as_deref().unwrap_or("<unnamed>");
    match doc.kind.as_deref() {
        Some("List" | "SecretList") => {
            for item in &doc.items {
                collect(item, keys)?;
            }
            Ok(())
        }
        Some("Secret") => {
            let encoded = doc.data.get("tls.key").ok_or_else(|| {
                KeyError::BadBackup(format!("secret {name:?} has no data[\"tls.key\"]"))
            })?;
            let compact: Zeroizing<String> =
                Zeroizing::new(encoded.chars().filter(|c| !c.is_whitespace()).collect());
            let pem = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .map_err(|_| {
                        KeyError::BadBackup(format!("secret {name:?}: tls.key is not base64"))
                    })?,
            );
            let found = parse_pem_keys(&pem)
                .map_err(|err| KeyError::BadBackup(format!("secret {name:?}: tls.key: {err}")))?;
            keys.extend(found);
            Ok(())
        }
        other => Err(KeyError::BadBackup(format!(
            "expected a Secret or a List of Secrets, found kind {:?}",
            other.unwrap_or("<none>")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::keys::{KeyBits, generate};
    use time::{Duration, OffsetDateTime};

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn reads_pem_backup_secret_and_list() {
        let a = generate(
            KeyBits::Rsa2048,
            "a",
            OffsetDateTime::now_utc(),
            Duration::days(1),
        )
        .unwrap();
        let b = generate(
            KeyBits::Rsa2048,
            "b",
            OffsetDateTime::now_utc(),
            Duration::days(1),
        )
        .unwrap();
        let fp = |k: &PrivateKey| k.public().fingerprint();

        // Two PEM keys and a certificate in one file.
        let bundle = format!("{}{}{}", &*a.key_pem, a.certificate.pem(), &*b.key_pem);
        let keys = parse_private_keys(bundle.as_bytes()).unwrap();
        assert_eq!(
            keys.iter().map(fp).collect::<Vec<_>>(),
            [fp(&a.private), fp(&b.private)]
        );

        let secret = |name: &str, key: &str| {
            format!(
                "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  name: {name}\ndata:\n  tls.key: {}\n  tls.crt: {}\n",
                b64(key),
                b64("ignored")
            )
        };
        let one = parse_private_keys(secret("k1", &a.key_pem).as_bytes()).unwrap();
        assert_eq!(fp(&one[0]), fp(&a.private));

        let items: String = [secret("k1", &a.key_pem), secret("k2", &b.key_pem)]
            .iter()
            .map(|doc| format!("- {}\n", doc.trim_end().replace('\n', "\n  ")))
            .collect();
        let list = format!("apiVersion: v1\nkind: List\nitems:\n{items}");
        assert_eq!(parse_private_keys(list.as_bytes()).unwrap().len(), 2);

        let json = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"kind": "Secret", "metadata": {"name": "k"}, "data": {"tls.key": b64(&b.key_pem)}}
        ]});
        let keys = parse_private_keys(json.to_string().as_bytes()).unwrap();
        assert_eq!(fp(&keys[0]), fp(&b.private));
    }

    #[test]
    fn bad_inputs_say_why() {
        let err = |input: &str| {
            parse_private_keys(input.as_bytes())
                .unwrap_err()
                .to_string()
        };
        assert!(
            err("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")
                .contains("EC PRIVATE KEY")
        );
        assert!(err("kind: ConfigMap\n").contains("ConfigMap"));
        assert!(err("kind: Secret\nmetadata: {name: x}\ndata: {}\n").contains("\"x\" has no"));
        assert!(
            err("kind: Secret\nmetadata: {name: x}\ndata: {tls.key: '!!'}\n")
                .contains("not base64")
        );
        assert!(err("").contains("no PRIVATE KEY"));
    }
}

//! Certificates from Azure Key Vault through the real agent: azure-standin holds one
//! certificate chain (leaf + CA, fresh keys) twice, its backing secret as PEM and as PKCS#12;
//! an ExternalSecret reads `certkey/NAME` of both and `cert/NAME` of one (service principal
//! auth, wiring from `common::azure`). `certkey` must give the chain, leaf first, then the
//! private key, as PEM, whichever way the vault keeps them; `cert` the leaf's DER as the
//! vault holds it. The agent's log must hold none of the key material.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use azure_standin::{CertFormat, CertificateMaterial};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::azure::{SP_AUTH, azure_env, external_secret};
use common::wait_for;

const SP_SECRET: &str = "sp-secret-keys-19d0";

/// The PEM blocks of `text`: (tag, DER), in order. Panics on a block without its end line.
fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(tag) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|t| t.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {tag}-----");
        let body: String = lines
            .by_ref()
            .take_while(|l| *l != end)
            .collect::<Vec<_>>()
            .concat();
        assert!(text.contains(&end), "the {tag} block has no end line");
        blocks.push((tag.to_owned(), STANDARD.decode(body).unwrap()));
    }
    blocks
}

/// `certkey`'s value must be every certificate of `material`, leaf first, then its key.
fn assert_certkey(name: &str, value: &[u8], material: &CertificateMaterial) {
    let text = std::str::from_utf8(value).unwrap();
    assert!(
        text.starts_with("-----BEGIN CERTIFICATE-----"),
        "{name}: not PEM certificates first"
    );
    let blocks = pem_blocks(text);
    let certs: Vec<&Vec<u8>> = blocks
        .iter()
        .filter(|(tag, _)| tag == "CERTIFICATE")
        .map(|(_, der)| der)
        .collect();
    let keys: Vec<&Vec<u8>> = blocks
        .iter()
        .filter(|(tag, _)| tag.ends_with("PRIVATE KEY"))
        .map(|(_, der)| der)
        .collect();
    assert_eq!(
        certs,
        material.chain_der.iter().collect::<Vec<_>>(),
        "{name}: not the stored chain, leaf first"
    );
    assert_eq!(keys.len(), 1, "{name}: {} private key blocks", keys.len());
    assert!(
        *keys[0] == material.key_pkcs8_der,
        "{name}: not the stored private key"
    );
    assert!(
        blocks
            .last()
            .is_some_and(|(tag, _)| tag.ends_with("PRIVATE KEY")),
        "{name}: the key is not last"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn certkey_and_cert_from_pem_and_pkcs12() {
    let env = azure_env(&[]).await;
    env.service_principal("app-sp", SP_SECRET).await;
    env.cluster.apply(&env.store("sp", SP_AUTH));
    let pem_cert = CertificateMaterial::generate("web.example").unwrap();
    let pfx_cert = CertificateMaterial::generate("api.example").unwrap();
    env.azure
        .set_certificate("web-pem", &pem_cert, CertFormat::Pem)
        .unwrap();
    env.azure
        .set_certificate("api-pfx", &pfx_cert, CertFormat::Pkcs12)
        .unwrap();
    env.cluster.apply(&external_secret(
        "tls",
        "sp",
        "1h",
        "  - secretKey: web.pem\n    remoteRef: {key: certkey/web-pem}\n  - secretKey: api.pem\n    remoteRef: {key: certkey/api-pfx}\n  - secretKey: api.der\n    remoteRef: {key: cert/api-pfx}\n",
    ));
    let data = wait_for("the certificate Secret", || async {
        env.bytes("team", "tls").await.filter(|d| d.len() == 3)
    })
    .await;

    assert_certkey("certkey/web-pem", &data["web.pem"], &pem_cert);
    assert_certkey("certkey/api-pfx", &data["api.pem"], &pfx_cert);
    assert!(
        data["api.der"] == pfx_cert.chain_der[0],
        "cert/api-pfx is not the leaf's DER"
    );

    let logs = env.agent.stop();
    for material in [&pem_cert, &pfx_cert] {
        // A line of the base64 (as in PEM) of each key and leaf, past the DER headers that all
        // keys and certificates of one kind share.
        let key = STANDARD.encode(&material.key_pkcs8_der);
        let leaf = STANDARD.encode(&material.chain_der[0]);
        for text in [&key[48..112], &leaf[48..112]] {
            assert!(!logs.contains(text), "key material in the agent's log");
        }
    }
    for secret in [SP_SECRET, "standin-at-", "PRIVATE KEY"] {
        assert!(!logs.contains(secret), "{secret} in the agent's log");
    }
}

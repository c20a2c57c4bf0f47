//! The azure store against azure-standin (loopback TLS, its own CA): each test runs in a child
//! process of this binary whose `SSL_CERT_FILE` names the file the test writes the stand-in's
//! CA to before it opens a store (trust is read when a client is made; the environment of a
//! running test cannot be changed without `unsafe`).
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_standin::{
    AzureStandIn, CertFormat, CertificateMaterial, FederatedCredential, SecretOptions,
};
use secrets_core::api::secret_store::AzureKvProvider;
use secrets_core::store::{
    Credentials, ErrorKind, FederatedToken, OpenOptions, ReadKey, Store, StoreError,
};
use zeroize::Zeroizing;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "app-sp";
const SECRET: &str = "sp-hunter2";
const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// `Some(ca file)` in the child that runs `test`; `None` in the parent once the child passed.
fn child(test: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var("AZURE_TEST_CA_FILE") {
        return Some(PathBuf::from(path));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("SSL_CERT_FILE", &path)
        .env_remove("SSL_CERT_DIR")
        .env("AZURE_TEST_CA_FILE", &path)
        .status()
        .unwrap();
    assert!(status.success(), "{test} failed in its child process");
    None
}

async fn standin(ca: &Path) -> AzureStandIn {
    let azure = AzureStandIn::start().await.unwrap();
    azure.write_ca_file(ca).unwrap();
    azure.add_client_secret(TENANT, CLIENT, SECRET);
    azure
}

fn provider(azure: &AzureStandIn, auth_type: &str) -> AzureKvProvider {
    AzureKvProvider {
        vault_url: azure.url(),
        auth_type: Some(auth_type.to_owned()),
        tenant_id: Some(TENANT.to_owned()),
        ..Default::default()
    }
}

fn keys(pairs: &[(&str, &str)]) -> BTreeMap<String, Zeroizing<String>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Zeroizing::new((*v).to_owned())))
        .collect()
}

fn open_with(
    azure: &AzureStandIn,
    provider: &AzureKvProvider,
    credentials: Credentials,
) -> Arc<dyn Store> {
    let mut options = OpenOptions::new("SecretStore apps/azure");
    options.endpoints.azure_authority_host = Some(azure.url());
    options.timeout = Duration::from_secs(5);
    secrets_store_azure::open(provider, Arc::new(credentials), options).unwrap()
}

fn sp_store(azure: &AzureStandIn) -> Arc<dyn Store> {
    let credentials = Credentials::Keys(keys(&[("clientId", CLIENT), ("clientSecret", SECRET)]));
    open_with(azure, &provider(azure, "ServicePrincipal"), credentials)
}

async fn read(store: &dyn Store, key: &str, version: Option<&str>) -> Result<Vec<u8>, StoreError> {
    let value = store
        .read(&ReadKey::new(key, version.map(str::to_owned)))
        .await?;
    Ok(value.select(None).unwrap().to_vec())
}

#[tokio::test]
async fn service_principal_reads_secrets_versions_and_tags_with_one_login() {
    let Some(ca) = child("service_principal_reads_secrets_versions_and_tags_with_one_login") else {
        return;
    };
    let azure = standin(&ca).await;
    let v1 = azure.set_secret("db-password", "first");
    let mut tags = BTreeMap::new();
    tags.insert("team".to_owned(), "payments".to_owned());
    azure.set_secret_with(
        "db-password",
        "second",
        SecretOptions {
            tags,
            ..Default::default()
        },
    );
    let store = sp_store(&azure);
    assert_eq!(read(&*store, "db-password", None).await.unwrap(), b"second");
    assert_eq!(
        read(&*store, "secret/db-password", None).await.unwrap(),
        b"second"
    );
    assert_eq!(
        read(&*store, "db-password", Some(&v1)).await.unwrap(),
        b"first"
    );
    let mut fetch = ReadKey::new("db-password", None);
    fetch.metadata = true;
    let tags = store.read(&fetch).await.unwrap();
    assert_eq!(tags.select(Some("team")).unwrap().as_slice(), b"payments");
    // One challenge and one token for all of it: the token is cached per store.
    assert_eq!(azure.calls("token"), 1);
    assert_eq!(azure.calls("challenge"), 1);
    assert_eq!(azure.calls("secret_get"), 5);
    // A token within 5 minutes of its expiry is not reused.
    azure.set_token_lifetime(300);
    let short = sp_store(&azure);
    read(&*short, "db-password", None).await.unwrap();
    read(&*short, "db-password", None).await.unwrap();
    assert_eq!(azure.calls("token"), 3);
    assert!(store.check_version("3").is_err());
    assert!(store.check_version(&v1).is_ok());
}

#[tokio::test]
async fn missing_disabled_and_denied_secrets_say_so() {
    let Some(ca) = child("missing_disabled_and_denied_secrets_say_so") else {
        return;
    };
    let azure = standin(&ca).await;
    azure.set_secret("off", "hunter2");
    azure.set_secret_enabled("off", false);
    let store = sp_store(&azure);
    let gone = read(&*store, "nothing-here", None).await.unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");
    let off = read(&*store, "off", None).await.unwrap_err();
    assert_eq!(off.kind(), ErrorKind::Rejected, "{off}");
    assert!(
        off.to_string().contains("disabled") && !off.to_string().contains("hunter2"),
        "{off}"
    );
    azure.set_denied(CLIENT, true);
    let denied = read(&*store, "off", None).await.unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied, "{denied}");
    assert!(
        denied.to_string().contains("Key Vault Secrets User"),
        "{denied}"
    );
}

#[tokio::test]
async fn wrong_client_secret_is_denied_in_entras_words() {
    let Some(ca) = child("wrong_client_secret_is_denied_in_entras_words") else {
        return;
    };
    let azure = standin(&ca).await;
    azure.set_secret("db", "x");
    let credentials = Credentials::Keys(keys(&[
        ("clientId", CLIENT),
        ("clientSecret", "wrong-hunter2"),
    ]));
    let store = open_with(&azure, &provider(&azure, "ServicePrincipal"), credentials);
    let err = read(&*store, "db", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let text = err.to_string();
    assert!(
        text.contains("AADSTS7000215") && !text.contains("hunter2") && !text.contains("Trace ID"),
        "{text}"
    );
}

fn material() -> CertificateMaterial {
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
    CertificateMaterial {
        chain_der: vec![leaf.der().to_vec(), ca_cert.der().to_vec()],
        key_pkcs8_der: leaf_key.serialize_der(),
        tags: BTreeMap::new(),
    }
}

#[tokio::test]
async fn certificates_keys_and_certkey_bundles() {
    let Some(ca) = child("certificates_keys_and_certkey_bundles") else {
        return;
    };
    let azure = standin(&ca).await;
    let web = material();
    azure.set_certificate("web", &web, CertFormat::Pem).unwrap();
    azure
        .set_certificate("legacy", &web, CertFormat::Pkcs12Legacy)
        .unwrap();
    azure
        .set_certificate("modern", &web, CertFormat::Pkcs12)
        .unwrap();
    azure.set_key(
        "sign",
        serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "BB"}),
    );
    let store = sp_store(&azure);
    assert_eq!(
        read(&*store, "cert/web", None).await.unwrap(),
        web.chain_der[0]
    );
    let jwk: serde_json::Value =
        serde_json::from_slice(&read(&*store, "key/sign", None).await.unwrap()).unwrap();
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    for name in ["web", "legacy", "modern"] {
        let pem_text = read(&*store, &format!("certkey/{name}"), None)
            .await
            .unwrap();
        let blocks = pem::parse_many(&pem_text).unwrap();
        let tags: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
        assert_eq!(
            tags,
            ["CERTIFICATE", "CERTIFICATE", "PRIVATE KEY"],
            "{name}"
        );
        assert_eq!(blocks[0].contents(), web.chain_der[0].as_slice(), "{name}");
        assert_eq!(blocks[2].contents(), web.key_pkcs8_der.as_slice(), "{name}");
    }
    let listed = store.list("").await.unwrap();
    assert!(
        listed.contains(&"certkey/web".to_owned()) && listed.contains(&"cert/legacy".to_owned()),
        "{listed:?}"
    );
}

#[tokio::test]
async fn lists_follow_next_links() {
    let Some(ca) = child("lists_follow_next_links") else {
        return;
    };
    let azure = standin(&ca).await;
    for i in 0..30 {
        azure.set_secret(&format!("app-{i:02}"), "v");
    }
    azure.set_secret("other", "v");
    let store = sp_store(&azure);
    let listed = store.list("app-").await.unwrap();
    assert_eq!(listed.len(), 30, "{listed:?}");
    assert_eq!(
        azure.calls("secret_list"),
        3,
        "two pages (25 + 6), after the challenge"
    );
}

#[tokio::test]
async fn throttling_honours_retry_after() {
    let Some(ca) = child("throttling_honours_retry_after") else {
        return;
    };
    let azure = standin(&ca).await;
    azure.set_secret("db", "x");
    let store = sp_store(&azure);
    assert_eq!(read(&*store, "db", None).await.unwrap(), b"x");
    azure.throttle(1, 1);
    let started = Instant::now();
    assert_eq!(read(&*store, "db", None).await.unwrap(), b"x");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the Retry-After was not waited out"
    );
    azure.throttle(1, 30);
    let before = azure.calls("secret_get");
    let err = read(&*store, "db", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
    assert!(err.to_string().contains("30 s"), "{err}");
    // The vault's gate stays closed: the next read does not reach the vault.
    let again = read(&*store, "db", None).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Throttled);
    assert_eq!(azure.calls("secret_get"), before + 1);
}

#[tokio::test]
async fn a_challenge_for_another_resource_gets_no_token() {
    let Some(ca) = child("a_challenge_for_another_resource_gets_no_token") else {
        return;
    };
    let azure = standin(&ca).await;
    azure.set_secret("db", "x");
    azure.set_resource("https://management.azure.com");
    let store = sp_store(&azure);
    let err = read(&*store, "db", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    assert!(err.to_string().contains("management.azure.com"), "{err}");
    assert_eq!(azure.calls("token"), 0);
    // A US Government store refuses the public cloud's challenge too.
    azure.set_resource(azure_standin::PUBLIC_VAULT_RESOURCE);
    let mut gov = provider(&azure, "ServicePrincipal");
    gov.environment_type = Some("USGovernmentCloud".to_owned());
    let credentials = Credentials::Keys(keys(&[("clientId", CLIENT), ("clientSecret", SECRET)]));
    let store = open_with(&azure, &gov, credentials);
    let err = read(&*store, "db", None).await.unwrap_err();
    assert!(err.to_string().contains("vault.usgovcloudapi.net"), "{err}");
    assert_eq!(azure.calls("token"), 0);
}

fn federated(token: String, annotations: &[(&str, &str)]) -> Credentials {
    Credentials::Federated(Box::new(FederatedToken {
        token: Zeroizing::new(token),
        audiences: vec![azure_standin::TOKEN_EXCHANGE_AUDIENCE.to_owned()],
        namespace: "apps".to_owned(),
        service_account: "web".to_owned(),
        annotations: annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        keys: BTreeMap::new(),
        pod_identity: false,
    }))
}

#[tokio::test]
async fn workload_identity_uses_the_service_account_token() {
    let Some(ca) = child("workload_identity_uses_the_service_account_token") else {
        return;
    };
    let azure = standin(&ca).await;
    azure.set_secret("db", "from-wi");
    let signer = kube_standin::tokens::TokenSigner::new(ISSUER).unwrap();
    azure
        .trust_issuer(ISSUER, &signer.public_key_pem())
        .unwrap();
    azure.add_federated_credential(
        TENANT,
        "app-wi",
        FederatedCredential {
            issuer: ISSUER.to_owned(),
            subject: "system:serviceaccount:apps:web".to_owned(),
            audience: azure_standin::TOKEN_EXCHANGE_AUDIENCE.to_owned(),
        },
    );
    let token = |name: &str| {
        let subject = kube_standin::tokens::Subject {
            namespace: "apps".into(),
            name: name.into(),
            uid: "u".into(),
        };
        signer
            .issue(
                &subject,
                &[azure_standin::TOKEN_EXCHANGE_AUDIENCE.to_owned()],
                3600,
                time::OffsetDateTime::now_utc(),
            )
            .unwrap()
    };
    let annotations = [("azure.workload.identity/client-id", "app-wi")];
    let store = open_with(
        &azure,
        &provider(&azure, "WorkloadIdentity"),
        federated(token("web"), &annotations),
    );
    assert_eq!(read(&*store, "db", None).await.unwrap(), b"from-wi");
    // Another account has no federated credential: Entra's AADSTS70021, with what we sent.
    let other = token("intruder");
    let store = open_with(
        &azure,
        &provider(&azure, "WorkloadIdentity"),
        federated(other.clone(), &annotations),
    );
    let err = read(&*store, "db", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let text = err.to_string();
    assert!(
        text.contains("AADSTS70021") && text.contains("system:serviceaccount:apps:intruder"),
        "{text}"
    );
    assert!(
        text.contains(ISSUER) && text.contains("api://AzureADTokenExchange"),
        "{text}"
    );
    assert!(!text.contains(&other), "the token is in the error");
    // A client id from the store's keys that differs from the annotation is refused.
    let mut conflicting = federated(token("web"), &annotations);
    if let Credentials::Federated(f) = &mut conflicting {
        f.keys.insert(
            "clientId".to_owned(),
            Zeroizing::new("someone-else".to_owned()),
        );
    }
    let store = open_with(&azure, &provider(&azure, "WorkloadIdentity"), conflicting);
    let err = read(&*store, "db", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(
        err.to_string()
            .contains("azure.workload.identity/client-id"),
        "{err}"
    );
}

#[tokio::test]
async fn open_refuses_what_cannot_work() {
    let Some(ca) = child("open_refuses_what_cannot_work") else {
        return;
    };
    let azure = standin(&ca).await;
    let credentials = || Arc::new(Credentials::Keys(keys(&[])));
    let options = || OpenOptions::new("s");
    let mut p = provider(&azure, "ManagedIdentity");
    let err = secrets_store_azure::open(&p, credentials(), options())
        .err()
        .unwrap();
    assert!(err.to_string().contains("ManagedIdentity"), "{err}");
    p.auth_type = None;
    p.vault_url = "https://evil.example.com".to_owned();
    let err = secrets_store_azure::open(&p, credentials(), options())
        .err()
        .unwrap();
    assert!(err.to_string().contains(".vault.azure.net"), "{err}");
    p.vault_url = "https://v.vault.azure.net".to_owned();
    p.unknown
        .insert("identityId".to_owned(), serde_json::json!("x"));
    let err = secrets_store_azure::open(&p, credentials(), options())
        .err()
        .unwrap();
    assert!(err.to_string().contains("identityId"), "{err}");
}

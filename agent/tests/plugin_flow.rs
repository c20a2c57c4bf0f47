//! The whole seal pattern with the real binaries: `kubectl secrets seal` fetches the agent's
//! certificate through the API server's service proxy, `kubectl apply` stores the result, the
//! agent makes the Secret; `verify`, `keys rotate`, `reseal`, `status` and `fetch secret` work
//! against the running agent; objects sealed for another cluster, tampered with, or moved to
//! another namespace fail with a precise reason while the rest stay Ready; and Bitnami
//! SealedSecrets sealed by kubesealpy open in compat mode.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use secrets_core::api::sealed_secret::SealedSecret;
use test_support::Cluster;

use common::*;

fn run_plugin(cluster: &Cluster, cache: &Path, args: &[&str]) -> Output {
    Command::new(plugin())
        .args(args)
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("XDG_CACHE_HOME", cache)
        .env("HOME", cache)
        .env_remove("KUBECTL_SECRETS_CERT")
        .output()
        .unwrap()
}

fn ok(cluster: &Cluster, cache: &Path, args: &[&str]) -> String {
    let out = run_plugin(cluster, cache, args);
    assert!(
        out.status.success(),
        "kubectl-secrets {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seal_apply_verify_rotate_reseal_with_the_real_binaries() {
    let (cluster, client) = cluster().await;
    let port = free_port();
    let agent = start_replica(&cluster, "a", port);
    expose(&client, port).await;
    wait_keys(&client, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();

    // Seal without --cert: the agent's certificate, fetched through the proxy.
    let sealed = run_plugin(
        &cluster,
        &cache,
        &[
            "seal",
            "--name",
            "db",
            "-n",
            "team",
            "--from-literal",
            &format!("password={PASSWORD}"),
            "--output-file",
            &file("db.yaml"),
        ],
    );
    assert!(
        sealed.status.success(),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    assert!(
        String::from_utf8_lossy(&sealed.stderr).contains("using certificate SHA256:"),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    cluster.kubectl_ok(&["apply", "-f", &file("db.yaml")]);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    wait_for("the Secret from the plugin's SealedSecret", || {
        let api = secrets.clone();
        async move {
            api.get_opt("db")
                .await
                .ok()?
                .and_then(|s| s.data)
                .filter(|d| d["password"].0 == PASSWORD.as_bytes())
        }
    })
    .await;
    assert!(ok(&cluster, &cache, &["verify", &file("db.yaml")]).contains("ok"));

    // Other cluster's key, tampering, another namespace: precise failures, others unaffected.
    let foreign = secrets_core::seal::keys::generate(
        secrets_core::seal::keys::KeyBits::Rsa2048,
        "other-cluster",
        time::OffsetDateTime::now_utc(),
        time::Duration::days(1),
    )
    .unwrap();
    let other = secrets_core::seal::seal_secret(
        &plain("foreign", "team", &[("k", "v")]),
        foreign.certificate.public_key(),
        secrets_core::seal::crypto::Scope::Strict,
    )
    .unwrap();
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), "team");
    sealed_api
        .create(&PostParams::default(), &other)
        .await
        .unwrap();
    let mut tampered: SealedSecret =
        serde_yaml_ng::from_str(&std::fs::read_to_string(file("db.yaml")).unwrap()).unwrap();
    tampered.metadata.name = Some("tampered".into());
    let value = tampered.spec.encrypted_data.get_mut("password").unwrap();
    let mut raw = secrets_core::seal::crypto::decode(value).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    *value = secrets_core::seal::crypto::encode(&raw);
    // Same name, so the label matches: only the tampering can fail it.
    tampered.metadata.name = Some("db".into());
    tampered.metadata.namespace = Some("team".into());
    let tampered_file = file("tampered.yaml");
    std::fs::write(&tampered_file, serde_json::to_string(&tampered).unwrap()).unwrap();
    let verify = run_plugin(&cluster, &cache, &["verify", &tampered_file]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("tampered"),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let failure = wait_for("the foreign object's status", || {
        let api = sealed_api.clone();
        async move { ready(&api.get("foreign").await.ok()?).filter(|r| r.0 == "False") }
    })
    .await;
    assert_eq!(failure.1, "DecryptionFailed");
    assert!(
        failure.2.contains("1 key(s)") || failure.2.contains("none of the"),
        "{}",
        failure.2
    );
    let status = ok(&cluster, &cache, &["status", "-n", "team"]);
    assert!(
        status.contains("db") && status.contains("foreign") && status.contains("DecryptionFailed"),
        "{status}"
    );

    // keys rotate → a second key; reseal through the agent; the Secret keeps its bytes.
    ok(&cluster, &cache, &["keys", "rotate"]);
    wait_keys(&client, 2).await;
    let list = ok(&cluster, &cache, &["keys", "list"]);
    assert_eq!(
        list.lines().filter(|l| l.contains("SHA256:")).count(),
        2,
        "{list}"
    );
    let before = std::fs::read_to_string(file("db.yaml")).unwrap();
    ok(&cluster, &cache, &["reseal", &file("db.yaml")]);
    let after = std::fs::read_to_string(file("db.yaml")).unwrap();
    assert_ne!(before, after);
    cluster.kubectl_ok(&["apply", "-f", &file("db.yaml")]);
    assert!(ok(&cluster, &cache, &["verify", &file("db.yaml")]).contains("ok"));
    let shown = ok(&cluster, &cache, &["fetch", "secret", "db", "-n", "team"]);
    assert!(
        shown.contains("password") && !shown.contains(PASSWORD),
        "{shown}"
    );
    let logs = agent.stop();
    assert!(!logs.contains(PASSWORD), "a value reached the agent's logs");
}

/// kubesealpy (Python) seals a Bitnami SealedSecret for a Bitnami key; the agent in compat
/// mode loads that key and makes the Secret — nothing re-sealed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitnami_compat_opens_kubesealpy_objects() {
    let (cluster, client) = cluster().await;
    // A Bitnami key Secret, as a migrating cluster has it.
    let key = secrets_core::seal::keys::generate(
        secrets_core::seal::keys::KeyBits::Rsa2048,
        "sealed-secret",
        time::OffsetDateTime::now_utc(),
        time::Duration::days(3650),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    std::fs::write(&cert_path, key.certificate.pem()).unwrap();
    let mut bitnami_key = Secret::default();
    bitnami_key.metadata.name = Some("sealed-secrets-keyabcde".into());
    bitnami_key.metadata.labels = Some(
        [(
            "sealedsecrets.bitnami.com/sealed-secrets-key".to_owned(),
            "active".to_owned(),
        )]
        .into(),
    );
    bitnami_key.type_ = Some("kubernetes.io/tls".into());
    bitnami_key.data = Some(
        [
            (
                "tls.crt".to_owned(),
                k8s_openapi::ByteString(key.certificate.pem().as_bytes().to_vec()),
            ),
            (
                "tls.key".to_owned(),
                k8s_openapi::ByteString(key.key_pem.as_bytes().to_vec()),
            ),
        ]
        .into(),
    );
    Api::<Secret>::namespaced(client.clone(), "kubectl-secrets")
        .create(&PostParams::default(), &bitnami_key)
        .await
        .unwrap();
    let _agent = Agent::start_with(&cluster, &["--bitnami-compat"]);

    let python = test_support::tools_bin().join("python");
    let peer = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../plugin/tests/interop/kubesealpy_peer.py"
    );
    let mut child = Command::new(&python)
        .args([
            peer,
            "seal",
            cert_path.to_str().unwrap(),
            "legacy",
            "team",
            "strict",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    let value = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PASSWORD);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{{\"password\": \"{value}\"}}").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let manifest = dir.path().join("legacy.yaml");
    std::fs::write(&manifest, &out.stdout).unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("bitnami.com/v1alpha1"));
    cluster.kubectl_ok(&["apply", "-f", manifest.to_str().unwrap()]);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    let secret = wait_for("the Secret of the Bitnami object", || {
        let api = secrets.clone();
        async move { api.get_opt("legacy").await.ok()? }
    })
    .await;
    assert_eq!(secret.data.unwrap()["password"].0, PASSWORD.as_bytes());
    assert_eq!(
        secret.metadata.owner_references.unwrap()[0].api_version,
        "bitnami.com/v1alpha1"
    );
    let bitnami: Api<secrets_core::api::sealed_secret::BitnamiSealedSecret> =
        Api::namespaced(client, "team");
    let conditions = wait_for("Bitnami's Synced condition", || {
        let api = bitnami.clone();
        async move {
            api.get("legacy")
                .await
                .ok()?
                .status
                .filter(|s| !s.conditions.is_empty())
        }
    })
    .await
    .conditions;
    assert_eq!(
        (conditions[0].type_.as_str(), conditions[0].status.as_str()),
        ("Synced", "True")
    );
}

/// A Bitnami key Secret in `namespace`, labelled as Bitnami's controller labels its keys.
async fn bitnami_key(
    client: &kube::Client,
    namespace: &str,
) -> secrets_core::seal::keys::GeneratedKey {
    let key = secrets_core::seal::keys::generate(
        secrets_core::seal::keys::KeyBits::Rsa2048,
        "sealed-secret",
        time::OffsetDateTime::now_utc() - time::Duration::days(1),
        time::Duration::days(3650),
    )
    .unwrap();
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": "sealed-secrets-keyabcde",
            "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
        },
        "type": "kubernetes.io/tls",
        "stringData": {"tls.crt": key.certificate.pem(), "tls.key": &*key.key_pem},
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    key
}

/// In compat mode `keys list` and `keys backup` follow the agent's own list, Bitnami's key
/// (in its own namespace) included; restoring that backup into a new cluster opens an object
/// sealed to the Bitnami key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compat_keys_list_and_backup_include_bitnami_keys() {
    let (cluster, client) = cluster().await;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": "sealed-secrets"}}))
                .unwrap(),
        )
        .await
        .unwrap();
    let bitnami = bitnami_key(&client, "sealed-secrets").await;
    let bitnami_fp = bitnami.certificate.public_key().fingerprint();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let agent = Agent::spawn(
        &cluster,
        &[
            "--http-addr",
            &addr,
            "--bitnami-compat",
            "--bitnami-key-namespace",
            "sealed-secrets",
        ],
    );
    expose(&client, port).await;
    // The agent's own first key (RSA-4096, slow on a loaded machine: a longer deadline, and
    // the agent's log if it never comes).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    let ours = loop {
        if let Some(key) = key_secrets(&client).await.last() {
            break cert_of(key).public_key().fingerprint();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no sealing key; agent log:\n{}",
            agent.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");

    // Both keys, once the agent has loaded its own next to Bitnami's.
    let list = wait_for("both keys in keys list", || {
        let out = run_plugin(&cluster, &cache, &["keys", "list"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        std::future::ready(
            (out.status.success() && text.contains(&ours) && text.contains(&bitnami_fp))
                .then_some(text),
        )
    })
    .await;
    let row = |fp: &str| list.lines().find(|l| l.contains(fp)).unwrap().to_owned();
    assert!(
        row(&bitnami_fp).starts_with("sealed-secrets/sealed-secrets-keyabcde")
            && row(&bitnami_fp).contains("bitnami"),
        "{list}"
    );
    assert!(row(&ours).ends_with("yes"), "{list}");

    let backup = dir.path().join("backup.yaml");
    let out = run_plugin(
        &cluster,
        &cache,
        &["keys", "backup", "--output-file", backup.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("wrote 2 sealing key(s)"), "{err}");
    let text = std::fs::read_to_string(&backup).unwrap();
    let fingerprints: Vec<String> = secrets_core::seal::keys::parse_private_keys(text.as_bytes())
        .unwrap()
        .iter()
        .map(|k| k.public().fingerprint())
        .collect();
    assert!(
        fingerprints.contains(&bitnami_fp) && fingerprints.contains(&ours),
        "{fingerprints:?}"
    );
    drop(agent);

    // A new cluster with nothing but the backup: the Bitnami-sealed object opens.
    let (fresh, fresh_client) = common::cluster().await;
    let fresh_cache = dir.path().join("fresh-cache");
    ok(
        &fresh,
        &fresh_cache,
        &["keys", "restore", backup.to_str().unwrap()],
    );
    let _fresh_agent = Agent::start_with(&fresh, &["--bitnami-compat"]);
    let plain = plain("legacy", "team", &[("password", PASSWORD)]);
    let sealed = secrets_core::seal::seal_secret(
        &plain,
        bitnami.certificate.public_key(),
        secrets_core::seal::crypto::Scope::Strict,
    )
    .unwrap();
    let object = secrets_core::api::sealed_secret::AnySealedSecret {
        object: sealed,
        flavor: secrets_core::api::sealed_secret::Flavor::Bitnami,
    };
    let manifest = dir.path().join("legacy.json");
    std::fs::write(
        &manifest,
        serde_json::to_vec(&object.to_value(secrets_core::api::sealed_secret::Flavor::Bitnami))
            .unwrap(),
    )
    .unwrap();
    fresh.kubectl_ok(&["apply", "-f", manifest.to_str().unwrap()]);
    let secrets: Api<Secret> = Api::namespaced(fresh_client, "team");
    let secret = wait_for(
        "the Secret of the Bitnami object in the new cluster",
        || {
            let api = secrets.clone();
            async move { api.get_opt("legacy").await.ok()? }
        },
    )
    .await;
    assert_eq!(secret.data.unwrap()["password"].0, PASSWORD.as_bytes());
}

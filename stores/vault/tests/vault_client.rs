//! The Vault client against a real OpenBao dev server (and, for kubernetes auth, kube-standin's
//! TokenRequest and TokenReview): KV v1/v2 reads, versions, properties, lists, not-found and
//! permission answers, the three logins, token renewal, TLS trust, namespaces, and what the
//! client says when the server is stopped, sealed or silent. Every error checked here is also
//! checked not to carry a token or a secret value.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

use std::fmt::{Debug, Display};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrets_store_vault::{
    Call, KvSecret, KvVersion, MountInfo, Outcome, SelectError, Token, VaultClient, VaultConfig,
    VaultError,
};
use serde_json::{Value, json};
use test_support::{Cluster, OpenBao};
use zeroize::Zeroizing;

const PASSWORD: &str = "correct-horse-battery-staple";

fn client(bao: &OpenBao) -> VaultClient {
    VaultClient::new(&VaultConfig::new(bao.addr())).unwrap()
}

fn root(bao: &OpenBao) -> Token {
    Token::from_secret(Zeroizing::new(bao.root_token().to_owned()))
}

/// The error's text, `Debug` and category hold none of `secrets`.
fn assert_clean(err: &(impl Display + Debug), secrets: &[&str]) {
    let shown = format!("{err} | {err:?} | {err:#?}");
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!shown.contains(secret), "an error leaks a secret: {shown}");
    }
}

/// Read `key` from the dev server's KV v2 mount `secret/`, latest version.
async fn read_v2(vault: &VaultClient, token: &Token, key: &str) -> Result<KvSecret, VaultError> {
    vault
        .kv_read(token, "secret", KvVersion::V2, key, None)
        .await
}

/// The selected property as text.
fn property(secret: &KvSecret, name: &str) -> String {
    String::from_utf8(secret.select(Some(name)).unwrap().to_vec()).unwrap()
}

fn text(bytes: &Zeroizing<Vec<u8>>) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn kv2_reads_the_latest_or_a_pinned_version() {
    let bao = OpenBao::start_dev();
    let vault = client(&bao);
    let token = root(&bao);
    bao.kv2_put(
        "secret",
        "app/db",
        json!({"user": "app", "password": "first"}),
    );
    bao.kv2_put(
        "secret",
        "app/db",
        json!({"user": "app", "password": PASSWORD}),
    );

    let latest = read_v2(&vault, &token, "app/db").await.unwrap();
    assert_eq!(latest.version(), Some(2));
    assert_eq!(latest.path(), "secret/data/app/db");
    assert_eq!(property(&latest, "password"), PASSWORD);

    let first = vault
        .kv_read(&token, "secret", KvVersion::V2, "app/db", Some(1))
        .await
        .unwrap();
    assert_eq!(first.version(), Some(1));
    assert_eq!(property(&first, "password"), "first");

    // Keys carrying the mount (ESO's buildPath) read the same secret.
    for key in ["secret/app/db", "secret/data/app/db", "/app/db"] {
        let again = read_v2(&vault, &token, key).await.unwrap();
        assert_eq!(again.version(), Some(2), "{key}");
        assert_eq!(again.path(), "secret/data/app/db", "{key}");
    }
    // Secret data never shows in Debug.
    assert!(!format!("{latest:?}").contains(PASSWORD));
}

#[tokio::test]
async fn kv1_reads_and_refuses_versions() {
    let bao = OpenBao::start_dev();
    bao.enable_kv("kv1", 1);
    bao.write("kv1/app/db", json!({"password": PASSWORD}));
    let vault = client(&bao);
    let token = root(&bao);

    let secret = vault
        .kv_read(&token, "kv1", KvVersion::V1, "app/db", None)
        .await
        .unwrap();
    assert_eq!(secret.version(), None);
    assert_eq!(secret.path(), "kv1/app/db");
    assert_eq!(property(&secret, "password"), PASSWORD);

    let err = vault
        .kv_read(&token, "kv1", KvVersion::V1, "app/db", Some(2))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VaultError::InvalidConfig { reason } if reason.contains("KV v1 keeps no versions")),
        "{err:?}"
    );
    // Refused before sending: not a provider call.
    assert_eq!(vault.calls(Call::Read), 1);
}

#[tokio::test]
async fn properties_select_literal_keys_then_paths() {
    let bao = OpenBao::start_dev();
    bao.kv2_put(
        "secret",
        "app/config",
        json!({
            "password": PASSWORD,
            "tls.crt": "literal",
            "tls": {"crt": "nested", "chain": ["leaf", "root"]},
            "port": 5432,
            "enabled": true,
        }),
    );
    let vault = client(&bao);
    let secret = read_v2(&vault, &root(&bao), "app/config").await.unwrap();

    assert_eq!(property(&secret, "tls.crt"), "literal");
    assert_eq!(property(&secret, "tls.chain.1"), "root");
    assert_eq!(
        property(&secret, "tls"),
        r#"{"chain":["leaf","root"],"crt":"nested"}"#
    );
    assert_eq!(property(&secret, "port"), "5432");
    assert_eq!(property(&secret, "enabled"), "true");
    let whole: Value = serde_json::from_slice(&secret.select(None).unwrap()).unwrap();
    assert_eq!(whole["password"], PASSWORD);
    assert_eq!(whole["tls"]["crt"], "nested");

    let err = secret.select(Some("username")).unwrap_err();
    assert!(
        matches!(&err, SelectError::Missing { property, path } if property == "username" && path == "secret/data/app/config"),
        "{err:?}"
    );
    assert_clean(&err, &[PASSWORD]);
    let err = secret.select(Some("tls.chain.#")).unwrap_err();
    assert!(matches!(err, SelectError::Unsupported { .. }), "{err:?}");

    // dataFrom.extract: every top-level key, same encoding.
    let entries = secret.entries();
    let keys: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(keys, ["enabled", "password", "port", "tls", "tls.crt"]);
    assert_eq!(text(&entries["password"]), PASSWORD);
    assert_eq!(text(&entries["port"]), "5432");
    assert_eq!(
        text(&entries["tls"]),
        r#"{"chain":["leaf","root"],"crt":"nested"}"#
    );
}

#[tokio::test]
async fn not_found_means_never_written_or_deleted_and_nothing_else() {
    let bao = OpenBao::start_dev();
    bao.enable_kv("kv1", 1);
    let vault = client(&bao);
    let token = root(&bao);
    let read = |mount: &'static str, engine, key: &'static str, version| {
        let vault = vault.clone();
        let token = token.clone();
        async move { vault.kv_read(&token, mount, engine, key, version).await }
    };

    // Never written, in both engines.
    let err = read("secret", KvVersion::V2, "never", None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        VaultError::NotFound {
            path: "secret/data/never".into()
        }
    );
    let err = read("kv1", KvVersion::V1, "never", None).await.unwrap_err();
    assert_eq!(
        err,
        VaultError::NotFound {
            path: "kv1/never".into()
        }
    );

    // The latest version deleted: not found, though the older version is still there.
    bao.kv2_put("secret", "gone", json!({"password": "old"}));
    bao.kv2_put("secret", "gone", json!({"password": PASSWORD}));
    let deleted = bao.request("DELETE", "secret/data/gone", Some(bao.root_token()), None);
    assert!(deleted.is_success(), "{}", deleted.error_text());
    let err = read("secret", KvVersion::V2, "gone", None)
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::NotFound { .. }), "{err:?}");
    let old = read("secret", KvVersion::V2, "gone", Some(1))
        .await
        .unwrap();
    assert_eq!(property(&old, "password"), "old");

    // A destroyed version: not found.
    bao.write("secret/destroy/gone", json!({"versions": [1]}));
    let err = read("secret", KvVersion::V2, "gone", Some(1))
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::NotFound { .. }), "{err:?}");

    // A KV v1 store pointed at a v2 mount: Vault warns of the invalid path (404), which is
    // not "the secret is gone" either, for reads and lists alike.
    bao.kv2_put("secret", "app", json!({"password": PASSWORD}));
    let err = read("secret", KvVersion::V1, "app", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VaultError::Rejected { status: 404, detail, .. } if detail.contains("Invalid path for a versioned K/V")),
        "{err:?}"
    );
    assert_clean(&err, &[PASSWORD]);
    let err = vault
        .kv_list(&token, "secret", KvVersion::V1, "")
        .await
        .unwrap_err();
    assert!(
        matches!(err, VaultError::Rejected { status: 404, .. }),
        "{err:?}"
    );

    // No engine at that mount: Vault says so, and that is not "the secret is gone".
    let err = read("nomount", KvVersion::V2, "app", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VaultError::Rejected { status: 404, detail, .. } if detail.contains("no handler for route")),
        "{err:?}"
    );
}

/// A KV v1 mount read as v2 answers exactly like a secret never written, so only the mount's
/// metadata tells a wrong store version apart from deleted secrets; it does so for a token
/// that may only read one path under the mount (no `default` policy, no `sys/mounts`).
#[tokio::test]
async fn mount_metadata_tells_a_wrong_kv_version_from_a_missing_secret() {
    let bao = OpenBao::start_dev();
    bao.enable_kv("kv1", 1);
    bao.write("kv1/app", json!({"password": PASSWORD}));
    bao.kv2_put("secret", "app", json!({"password": PASSWORD}));
    bao.write("sys/mounts/transit", json!({"type": "transit"}));
    bao.write_policy(
        "one-path-each",
        r#"
path "kv1/app" { capabilities = ["read"] }
path "secret/data/app" { capabilities = ["read"] }
path "transit/keys/k" { capabilities = ["read"] }
"#,
    );
    let answer = bao.write(
        "auth/token/create",
        json!({"policies": ["one-path-each"], "no_default_policy": true}),
    );
    let secret = answer["auth"]["client_token"].as_str().unwrap().to_owned();
    let token = Token::from_secret(Zeroizing::new(secret.clone()));
    let vault = client(&bao);

    // The wrong version: the v1 secret exists, yet the v2 read says "not found".
    let misread = vault
        .kv_read(&root(&bao), "kv1", KvVersion::V2, "app", None)
        .await
        .unwrap_err();
    assert!(
        matches!(misread, VaultError::NotFound { .. }),
        "{misread:?}"
    );

    // The mount metadata says what each mount is, for the mount or any path below it.
    let kv1 = vault.mount_info(&token, "kv1").await.unwrap();
    assert_eq!(kv1, MountInfo::new("kv1", "kv", Some(KvVersion::V1)));
    assert_eq!(vault.mount_info(&token, "/kv1/app/").await.unwrap(), kv1);
    let kv2 = vault.mount_info(&token, "secret").await.unwrap();
    assert_eq!(kv2, MountInfo::new("secret", "kv", Some(KvVersion::V2)));
    let transit = vault.mount_info(&token, "transit").await.unwrap();
    assert_eq!((transit.engine(), transit.kv_version()), ("transit", None));

    // …and each wrong reading is named.
    let err = kv1.expect_kv(KvVersion::V2).unwrap_err();
    assert_eq!(
        err,
        VaultError::MountMismatch {
            mount: "kv1".into(),
            found: "KV v1".into(),
            expected: KvVersion::V2
        }
    );
    assert_eq!(
        kv2.expect_kv(KvVersion::V1).unwrap_err().to_string(),
        "vault mount \"secret\" is KV v2, but it is read as KV v1"
    );
    assert!(kv1.expect_kv(KvVersion::V1).is_ok() && kv2.expect_kv(KvVersion::V2).is_ok());

    // No mount there, a mount the token has no capability under, an unknown token: refused.
    bao.enable_kv("closed", 2);
    let unknown = Token::from_secret(Zeroizing::new("s.not-a-real-token".to_owned()));
    for (path, probe) in [("nomount", &token), ("closed", &token), ("kv1", &unknown)] {
        let err = vault.mount_info(probe, path).await.unwrap_err();
        assert!(
            matches!(err, VaultError::PermissionDenied { .. }),
            "{path}: {err:?}"
        );
        assert_clean(&err, &[&secret, "s.not-a-real-token"]);
    }
    assert_eq!(vault.calls(Call::Mount), 7);
    // A path that could climb out of the mount is refused before sending.
    assert!(matches!(
        vault.mount_info(&token, "../sys").await,
        Err(VaultError::InvalidPath { what: "mount", .. })
    ));
    assert_eq!(vault.calls(Call::Mount), 7);
}

/// A least-privilege token that may read its path but not look itself up is used with an
/// unknown lease; `login_token`, which checks a person's token, still refuses it.
#[tokio::test]
async fn a_token_denied_lookup_self_is_used_and_reads_decide() {
    let bao = OpenBao::start_dev();
    bao.kv2_put("secret", "app", json!({"password": PASSWORD}));
    bao.write_policy(
        "read-app",
        r#"path "secret/data/app" { capabilities = ["read"] }"#,
    );
    let answer = bao.write(
        "auth/token/create",
        json!({"policies": ["read-app"], "no_default_policy": true, "ttl": "1h"}),
    );
    let secret = answer["auth"]["client_token"].as_str().unwrap().to_owned();
    let vault = client(&bao);

    let denied = vault
        .lookup_self(&Token::from_secret(Zeroizing::new(secret.clone())))
        .await
        .unwrap_err();
    assert!(
        matches!(denied, VaultError::PermissionDenied { .. }),
        "{denied:?}"
    );
    let token = vault
        .use_token(Zeroizing::new(secret.clone()))
        .await
        .unwrap();
    assert!(!token.lease_known() && !token.renewable());
    assert!(!token.needs_renewal(Instant::now() + Duration::from_secs(86_400)));
    let read = read_v2(&vault, &token, "app").await.unwrap();
    assert_eq!(property(&read, "password"), PASSWORD);
    assert!(
        vault
            .login_token(Zeroizing::new(secret.clone()))
            .await
            .is_err()
    );

    // A token that may look itself up gets its lease, as with login_token.
    let full = bao.create_token(&["read-app"]);
    let token = vault.use_token(Zeroizing::new(full)).await.unwrap();
    assert!(token.lease_known() && !token.lease_duration().is_zero());

    // An unknown token is not refused here either (Vault answers it with the same 403);
    // its first read is.
    let unknown = vault
        .use_token(Zeroizing::new("s.not-a-real-token".to_owned()))
        .await
        .unwrap();
    let err = read_v2(&vault, &unknown, "app").await.unwrap_err();
    assert!(
        matches!(err, VaultError::PermissionDenied { .. }),
        "{err:?}"
    );

    // Other failures of the lookup are still failures.
    let mut stopped = bao;
    stopped.stop();
    let err = vault
        .use_token(Zeroizing::new(secret.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::Unavailable { .. }), "{err:?}");
    assert_clean(&err, &[&secret]);
}

#[tokio::test]
async fn a_policy_that_forbids_the_path_is_permission_denied() {
    let bao = OpenBao::start_dev();
    bao.kv2_put("secret", "allowed/app", json!({"password": "fine"}));
    bao.kv2_put("secret", "forbidden/app", json!({"password": PASSWORD}));
    bao.write_policy(
        "allowed-only",
        r#"path "secret/data/allowed/*" { capabilities = ["read"] }"#,
    );
    let token_secret = bao.create_token(&["allowed-only"]);
    let vault = client(&bao);
    let token = vault
        .login_token(Zeroizing::new(token_secret.clone()))
        .await
        .unwrap();

    let ok = read_v2(&vault, &token, "allowed/app").await.unwrap();
    assert_eq!(property(&ok, "password"), "fine");

    let err = read_v2(&vault, &token, "forbidden/app").await.unwrap_err();
    match &err {
        VaultError::PermissionDenied { path, detail } => {
            assert_eq!(path, "secret/data/forbidden/app");
            assert!(detail.contains("permission denied"), "{detail}");
        }
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "vault denied access to secret/data/forbidden/app: permission denied"
    );
    assert!(!err.is_transient());
    assert_clean(&err, &[PASSWORD, &token_secret]);

    // A token Vault does not know is refused the same way.
    let unknown = Token::from_secret(Zeroizing::new("s.not-a-real-token".to_owned()));
    let err = read_v2(&vault, &unknown, "allowed/app").await.unwrap_err();
    assert!(
        matches!(err, VaultError::PermissionDenied { .. }),
        "{err:?}"
    );
    assert_clean(&err, &["s.not-a-real-token"]);
}

#[tokio::test]
async fn a_given_token_is_looked_up_renewed_and_revoked() {
    let bao = OpenBao::start_dev();
    bao.write_policy(
        "reader",
        r#"path "secret/data/*" { capabilities = ["read"] }"#,
    );
    let answer = bao.write(
        "auth/token/create",
        json!({"policies": ["reader"], "ttl": "60s", "renewable": true}),
    );
    let secret = answer["auth"]["client_token"].as_str().unwrap().to_owned();
    let vault = client(&bao);

    let token = vault
        .login_token(Zeroizing::new(secret.clone()))
        .await
        .unwrap();
    assert!(token.renewable());
    assert!(
        (Duration::from_secs(50)..=Duration::from_secs(60)).contains(&token.lease_duration()),
        "{token:?}"
    );
    assert!(!token.needs_renewal(Instant::now()));
    assert!(token.needs_renewal(token.obtained_at() + Duration::from_secs(41)));
    assert!(!format!("{token:?}").contains(&secret));

    let info = vault.lookup_self(&token).await.unwrap();
    assert!(info.policies.contains(&"reader".to_owned()), "{info:?}");
    assert_eq!(info.token_type, "service");

    let renewed = vault
        .renew_self(&token, Some(Duration::from_secs(3600)))
        .await
        .unwrap();
    assert_eq!(renewed.lease_duration(), Duration::from_secs(3600));
    assert_eq!(renewed.expose_secret(), secret);
    let info = vault.lookup_self(&renewed).await.unwrap();
    assert!(info.ttl > Duration::from_secs(3500), "{info:?}");

    vault.revoke_self(&renewed).await.unwrap();
    let err = vault.lookup_self(&renewed).await.unwrap_err();
    assert!(
        matches!(err, VaultError::PermissionDenied { .. }),
        "{err:?}"
    );
    assert_clean(&err, &[&secret]);

    // The root token does not expire: nothing to renew, ever.
    let root = vault
        .login_token(Zeroizing::new(bao.root_token().to_owned()))
        .await
        .unwrap();
    assert_eq!(root.lease_duration(), Duration::ZERO);
    assert!(!root.needs_renewal(Instant::now() + Duration::from_secs(86_400 * 365)));
}

#[tokio::test]
async fn kubernetes_auth_logs_in_with_a_token_request() {
    let cluster = Cluster::start();
    let bao = cluster.openbao();
    cluster.create_service_accounts("platform", &["secrets-agent", "intruder"]);
    bao.kv2_put("secret", "app/db", json!({"password": PASSWORD}));
    bao.write_policy(
        "app",
        r#"path "secret/data/app/*" { capabilities = ["read"] }"#,
    );
    bao.create_role(
        "agent",
        &["secrets-agent"],
        &["platform"],
        &["app"],
        Some("vault"),
    );
    let vault = client(&bao);

    let jwt = cluster.token_request("platform", "secrets-agent", &["vault"], 600);
    let token = vault
        .login_kubernetes("kubernetes", "agent", &jwt)
        .await
        .unwrap();
    assert!(token.renewable());
    assert!(token.lease_duration() > Duration::ZERO);
    let secret = read_v2(&vault, &token, "app/db").await.unwrap();
    assert_eq!(property(&secret, "password"), PASSWORD);

    // A role that does not exist.
    let err = vault
        .login_kubernetes("kubernetes", "no-such-role", &jwt)
        .await
        .unwrap_err();
    match &err {
        VaultError::Rejected {
            path,
            status: 400,
            detail,
        } => {
            assert_eq!(path, "auth/kubernetes/login");
            assert!(detail.contains("invalid role name"), "{detail}");
        }
        other => panic!("expected Rejected 400, got {other:?}"),
    }
    assert_clean(&err, &[&jwt, token.expose_secret()]);

    // A service account the role is not bound to.
    let intruder = cluster.token_request("platform", "intruder", &["vault"], 600);
    let err = vault
        .login_kubernetes("kubernetes", "agent", &intruder)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        VaultError::PermissionDenied {
            path: "auth/kubernetes/login".into(),
            detail: "service account name not authorized".into(),
        }
    );
    assert_clean(&err, &[&intruder]);

    // The wrong audience fails the TokenReview.
    let wrong_audience = cluster.token_request("platform", "secrets-agent", &["not-vault"], 600);
    let err = vault
        .login_kubernetes("kubernetes", "agent", &wrong_audience)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VaultError::PermissionDenied { detail, .. } if detail.contains("invalid audience")),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_clean(&err, &[&wrong_audience]);
    assert_eq!(vault.calls(Call::Login), 4);
}

#[tokio::test]
async fn approle_logs_in_with_role_and_secret_id() {
    let bao = OpenBao::start_dev();
    bao.enable_auth("approle", "approle");
    bao.write_policy("app", r#"path "secret/data/*" { capabilities = ["read"] }"#);
    let (role_id, secret_id) = bao.approle_credentials("approle", "app", &["app"]);
    bao.kv2_put("secret", "app", json!({"password": PASSWORD}));
    let vault = client(&bao);

    let token = vault
        .login_approle("approle", &role_id, &secret_id)
        .await
        .unwrap();
    let secret = read_v2(&vault, &token, "app").await.unwrap();
    assert_eq!(property(&secret, "password"), PASSWORD);

    let wrong = "00000000-0000-0000-0000-000000000000";
    let err = vault
        .login_approle("approle", &role_id, wrong)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VaultError::Rejected { status: 400, detail, .. } if detail.contains("invalid role or secret ID")),
        "{err:?}"
    );
    assert_clean(&err, &[wrong, &secret_id, &role_id]);
}

#[tokio::test]
async fn lists_show_keys_and_folders_in_both_engines() {
    let bao = OpenBao::start_dev();
    bao.enable_kv("kv1", 1);
    for key in ["app/db", "app/api", "other"] {
        bao.kv2_put("secret", key, json!({"k": "v"}));
        bao.write(&format!("kv1/{key}"), json!({"k": "v"}));
    }
    let vault = client(&bao);
    let token = root(&bao);
    for (mount, engine) in [("secret", KvVersion::V2), ("kv1", KvVersion::V1)] {
        let top = vault.kv_list(&token, mount, engine, "").await.unwrap();
        assert_eq!(top, ["app/", "other"], "{mount}");
        let app = vault.kv_list(&token, mount, engine, "app/").await.unwrap();
        assert_eq!(app, ["api", "db"], "{mount}");
        let empty = vault
            .kv_list(&token, mount, engine, "nothing")
            .await
            .unwrap();
        assert!(empty.is_empty(), "{mount}: {empty:?}");
    }
    assert_eq!(vault.calls(Call::List), 6);
}

#[tokio::test]
async fn a_stopped_server_is_unavailable_at_once_and_the_client_recovers() {
    let mut bao = OpenBao::start_dev();
    bao.kv2_put("secret", "app", json!({"password": PASSWORD}));
    let vault = client(&bao);
    let token = root(&bao);
    // A pooled connection exists from here on.
    read_v2(&vault, &token, "app").await.unwrap();

    bao.stop();
    for _ in 0..2 {
        let started = Instant::now();
        let err = read_v2(&vault, &token, "app").await.unwrap_err();
        assert!(
            started.elapsed() < VaultConfig::DEFAULT_TIMEOUT / 2,
            "took {:?}",
            started.elapsed()
        );
        match &err {
            VaultError::Unavailable { server, cause } => {
                assert_eq!(server, bao.addr());
                assert!(!cause.is_empty());
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
        assert!(err.is_transient());
        assert_clean(&err, &[PASSWORD, bao.root_token()]);
    }

    // Back (empty, as dev servers are): the same client works again.
    bao.restart();
    bao.kv2_put("secret", "app", json!({"password": "again"}));
    let secret = read_v2(&vault, &token, "app").await.unwrap();
    assert_eq!(property(&secret, "password"), "again");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Accepts connections (the kernel completes the handshake) and never reads or answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let timeout = Duration::from_millis(500);
    let vault = VaultClient::new(&VaultConfig::new(format!("http://{addr}")).with_timeout(timeout))
        .unwrap();
    let token = Token::from_secret(Zeroizing::new("s.token".to_owned()));
    let started = Instant::now();
    let err = read_v2(&vault, &token, "app").await.unwrap_err();
    let took = started.elapsed();
    assert!(took >= timeout && took < timeout * 10, "took {took:?}");
    assert_eq!(
        err,
        VaultError::Timeout {
            server: format!("http://{addr}"),
            path: "secret/data/app".into(),
            after: timeout,
        }
    );
    assert!(err.is_transient());
    drop(silent);
}

#[tokio::test]
async fn a_sealed_server_says_so() {
    let bao = OpenBao::start_dev();
    bao.kv2_put("secret", "app", json!({"password": PASSWORD}));
    bao.write("sys/seal", json!({}));
    let vault = client(&bao);
    let err = read_v2(&vault, &root(&bao), "app").await.unwrap_err();
    assert_eq!(
        err,
        VaultError::Sealed {
            server: bao.addr().to_owned()
        }
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn tls_trusts_the_ca_bundle_and_nothing_else() {
    let bao = OpenBao::start_dev_tls();
    assert!(bao.addr().starts_with("https://"));
    bao.kv2_put("secret", "app", json!({"password": PASSWORD}));
    let ca = bao.ca_pem().unwrap().to_owned();
    let token = root(&bao);

    let trusted =
        VaultClient::new(&VaultConfig::new(bao.addr()).with_ca_bundle(ca.into_bytes())).unwrap();
    let secret = read_v2(&trusted, &token, "app").await.unwrap();
    assert_eq!(property(&secret, "password"), PASSWORD);

    // Another CA (a second dev server's): the certificate is not trusted.
    let other = OpenBao::start_dev_tls();
    let other_ca = other.ca_pem().unwrap().as_bytes().to_vec();
    let wrong = VaultClient::new(&VaultConfig::new(bao.addr()).with_ca_bundle(other_ca)).unwrap();
    let err = read_v2(&wrong, &token, "app").await.unwrap_err();
    match &err {
        VaultError::Unavailable { cause, .. } => {
            assert!(cause.contains("certificate"), "{cause}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_clean(&err, &[PASSWORD, bao.root_token()]);

    // No bundle: the system roots, which do not hold the dev CA either. (On a machine with no
    // system roots at all the client refuses to be built, which is just as safe.)
    match VaultClient::new(&VaultConfig::new(bao.addr())) {
        Ok(system) => {
            let err = read_v2(&system, &token, "app").await.unwrap_err();
            assert!(matches!(err, VaultError::Unavailable { .. }), "{err:?}");
        }
        Err(err) => assert!(
            matches!(&err, VaultError::InvalidConfig { reason } if reason.contains("no system CA")),
            "{err:?}"
        ),
    }
}

#[tokio::test]
async fn the_namespace_header_selects_the_namespace() {
    let bao = OpenBao::start_dev();
    bao.write("sys/namespaces/team-a", json!({}));
    bao.write(
        "team-a/sys/mounts/team-kv",
        json!({"type": "kv", "options": {"version": "2"}}),
    );
    bao.write(
        "team-a/team-kv/data/app",
        json!({"data": {"password": PASSWORD}}),
    );
    let token = root(&bao);

    let in_namespace =
        VaultClient::new(&VaultConfig::new(bao.addr()).with_namespace("team-a")).unwrap();
    let secret = in_namespace
        .kv_read(&token, "team-kv", KvVersion::V2, "app", None)
        .await
        .unwrap();
    assert_eq!(property(&secret, "password"), PASSWORD);

    let outside = client(&bao);
    let err = outside
        .kv_read(&token, "team-kv", KvVersion::V2, "app", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, VaultError::Rejected { status: 404, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_observer_sees_one_outcome_per_call() {
    let bao = OpenBao::start_dev();
    bao.kv2_put("secret", "app", json!({"password": PASSWORD}));
    let seen: Arc<Mutex<Vec<(Call, Outcome)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let vault = client(&bao).with_observer(Arc::new(move |call, outcome| {
        sink.lock().unwrap().push((call, outcome));
    }));
    let token = vault
        .login_token(Zeroizing::new(bao.root_token().to_owned()))
        .await
        .unwrap();
    let _found = read_v2(&vault, &token, "app").await.unwrap();
    let _missing = read_v2(&vault, &token, "missing").await.unwrap_err();
    let _rejected = vault
        .kv_list(&token, "nomount", KvVersion::V2, "")
        .await
        .unwrap_err();
    // Refused before sending: no call, no outcome.
    let _invalid = read_v2(&vault, &token, "../sys").await.unwrap_err();

    assert_eq!(
        *seen.lock().unwrap(),
        [
            (Call::Lookup, Outcome::Ok),
            (Call::Read, Outcome::Ok),
            (Call::Read, Outcome::NotFound),
            (Call::List, Outcome::Error),
        ]
    );
    // Counters are shared with clones.
    let clone = vault.clone();
    assert_eq!(clone.calls(Call::Read), 2);
    assert_eq!(clone.calls(Call::Lookup), 1);
    assert_eq!(clone.calls(Call::Login), 0);
}

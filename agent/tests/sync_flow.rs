//! The sync pattern end to end: kube-standin + a real OpenBao + the real agent binary.
//! ExternalSecrets from KV v2 and v1, properties, versions, dataFrom.extract, templates;
//! token, kubernetes and AppRole auth; creation and deletion policies; rollout restarts;
//! forced and periodic refreshes; outages; shared reads; ClusterSecretStore conditions; a store
//! whose KV version is wrong for its mount (never a deletion); tokens that may not look
//! themselves up.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::sync::{SyncEnv, create_secret, sync_env};
use common::wait_for;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, PostParams};
use serde_json::json;

const DB_PASSWORD: &str = "pw-9f8e7d6c-sync";
const NEW_PASSWORD: &str = "pw-rotated-41b2";

fn es(name: &str, store: &str, body: &str) -> String {
    format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  secretStoreRef: {{name: {store}}}\n{body}"
    )
}

async fn deployment(client: &kube::Client, name: &str) -> Api<Deployment> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), "team");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
    }))
    .unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    api
}

fn restarted_at(d: &Deployment) -> Option<String> {
    d.spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get("kubectl-secrets.io/restartedAt")
        .cloned()
}

#[tokio::test(flavor = "multi_thread")]
async fn kv2_data_extract_template_and_changes_reach_the_secret() {
    let env = sync_env(&[]).await;
    env.bao.kv2_put(
        "secret",
        "app/db",
        json!({"username": "app", "password": DB_PASSWORD, "nested": {"port": 5432}}),
    );
    env.bao.kv2_put(
        "secret",
        "app/config",
        json!({"mode": "prod", "region": "eu"}),
    );
    let deploy = deployment(&env.client, "web").await;
    env.apply(&es("app", "vault", "  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n  - secretKey: port\n    remoteRef: {key: app/db, property: nested.port}\n  dataFrom:\n  - extract: {key: app/config}\n  rolloutRestartTargets: [{kind: Deployment, name: web}]\n")).await;
    let (reason, message) = env.es_ready("team", "app", true).await;
    assert_eq!(reason, "SecretSynced");
    // The Secret's own watch event may bring a second reconcile that finds it up to date.
    assert!(
        ["secret created", "secret synced"].contains(&message.as_str()),
        "{message}"
    );
    let data = env.data("team", "app").await.unwrap();
    assert_eq!(data["password"], DB_PASSWORD);
    assert_eq!(data["port"], "5432");
    assert_eq!(
        (data["mode"].as_str(), data["region"].as_str()),
        ("prod", "eu")
    );
    let status = env.es("team", "app").await.status.unwrap();
    assert!(status.refresh_time.is_some() && status.synced_resource_version.is_some());
    assert_eq!(status.binding.unwrap().name, "app");
    assert!(
        restarted_at(&deploy.get("web").await.unwrap()).is_none(),
        "no restart on creation"
    );

    // A template: only the rendered keys, with the functions of the SealedSecret controller.
    env.apply(&es("tpl", "vault", "  target:\n    name: tpl-out\n    template:\n      type: kubernetes.io/basic-auth\n      data:\n        username: '{{ .username | upper }}'\n        url: 'postgres://{{ .username }}:{{ .password }}@db'\n  dataFrom:\n  - extract: {key: app/db}\n")).await;
    env.es_ready("team", "tpl", true).await;
    let data = env.data("team", "tpl-out").await.unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data["username"], "APP");
    assert_eq!(data["url"], format!("postgres://app:{DB_PASSWORD}@db"));

    // A change in Vault reaches the Secret after a forced sync, and restarts the Deployment.
    env.bao.kv2_put(
        "secret",
        "app/db",
        json!({"username": "app", "password": NEW_PASSWORD, "nested": {"port": 5432}}),
    );
    env.force_sync("team", "app", "1").await;
    env.wait_value("team", "app", "password", NEW_PASSWORD)
        .await;
    let restarted = wait_for("the rollout restart", || async {
        restarted_at(&deploy.get("web").await.ok()?)
    })
    .await;
    assert!(restarted.starts_with("20"), "{restarted}");

    // …and by itself after the refresh interval.
    env.apply(&es("fast", "vault", "  refreshInterval: 1s\n  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n")).await;
    env.wait_value("team", "fast", "password", NEW_PASSWORD)
        .await;
    env.bao.kv2_put(
        "secret",
        "app/db",
        json!({"username": "app", "password": "third-value-77", "nested": {"port": 5432}}),
    );
    env.wait_value("team", "fast", "password", "third-value-77")
        .await;

    // A pinned version stays where it is.
    env.apply(&es("pinned", "vault", "  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password, version: \"1\"}\n")).await;
    env.wait_value("team", "pinned", "password", DB_PASSWORD)
        .await;

    // A Secret deleted by hand comes back.
    kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(env.client.clone(), "team")
        .delete("app", &Default::default())
        .await
        .unwrap();
    env.wait_value("team", "app", "password", "third-value-77")
        .await;

    let logs = env.agent.stop();
    for value in [DB_PASSWORD, NEW_PASSWORD, "third-value-77"] {
        assert!(
            !logs.contains(value),
            "a secret value reached the agent's log"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kubernetes_approle_and_kv1_auth_and_precise_failures() {
    let env = sync_env(&[]).await;
    env.bao
        .kv2_put("secret", "app/db", json!({"password": DB_PASSWORD}));
    // Kubernetes auth: the agent asks a token for `vault-reader` with audience `vault`.
    env.cluster
        .service_account_token("team", "vault-reader", &["vault"], 600);
    env.bao.create_role(
        "team-reader",
        &["vault-reader"],
        &["team"],
        &["reader"],
        Some("vault"),
    );
    let k8s_store = |name: &str, role: &str| {
        format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  provider:\n    vault:\n      server: {}\n      auth:\n        kubernetes:\n          role: {role}\n          serviceAccountRef: {{name: vault-reader, audiences: [vault]}}\n",
            env.bao.addr()
        )
    };
    env.apply(&k8s_store("k8s", "team-reader")).await;
    assert!(env.store_ready("team", "k8s").await.0);
    env.apply(&es(
        "via-k8s",
        "k8s",
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n",
    ))
    .await;
    env.es_ready("team", "via-k8s", true).await;
    assert_eq!(
        env.data("team", "via-k8s").await.unwrap()["password"],
        DB_PASSWORD
    );

    // A wrong role: the store and the ExternalSecret say so, with OpenBao's own words.
    env.apply(&k8s_store("wrong", "no-such-role")).await;
    let (ok, reason, message) = env.store_ready("team", "wrong").await;
    assert!(!ok);
    assert_eq!(reason, "ValidationFailed");
    assert!(
        message.contains("no-such-role") || message.contains("invalid role"),
        "{message}"
    );
    env.apply(&es(
        "via-wrong",
        "wrong",
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n",
    ))
    .await;
    let (reason, message) = env.es_ready("team", "via-wrong", false).await;
    assert_eq!(reason, "SecretSyncedError");
    assert!(message.contains("SecretStore \"wrong\""), "{message}");

    // AppRole.
    env.bao
        .write("sys/auth/approle", json!({"type": "approle"}));
    env.bao.write(
        "auth/approle/role/app",
        json!({"token_policies": ["reader"], "token_ttl": "1h"}),
    );
    let role_id = env.bao.read("auth/approle/role/app/role-id").unwrap()["data"]["role_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret_id =
        env.bao.write("auth/approle/role/app/secret-id", json!({}))["data"]["secret_id"]
            .as_str()
            .unwrap()
            .to_owned();
    create_secret(&env.client, "team", "approle", &[("secretId", &secret_id)]).await;
    env.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: approle, namespace: team}}\nspec:\n  provider:\n    vault:\n      server: {}\n      auth:\n        appRole: {{roleId: {role_id}, secretRef: {{name: approle, key: secretId}}}}\n",
        env.bao.addr()
    ))
    .await;
    assert!(env.store_ready("team", "approle").await.0);
    env.apply(&es(
        "via-approle",
        "approle",
        "  dataFrom:\n  - extract: {key: app/db}\n",
    ))
    .await;
    env.es_ready("team", "via-approle", true).await;
    assert_eq!(
        env.data("team", "via-approle").await.unwrap()["password"],
        DB_PASSWORD
    );

    // KV v1.
    env.bao.write(
        "sys/mounts/kv1",
        json!({"type": "kv", "options": {"version": "1"}}),
    );
    env.bao
        .write("kv1/legacy", json!({"token": "v1-value-5150"}));
    env.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: kv1, namespace: team}}\nspec:\n  provider:\n    vault:\n      server: {}\n      path: kv1\n      version: v1\n      auth:\n        tokenSecretRef: {{name: vault-token, key: token}}\n",
        env.bao.addr()
    ))
    .await;
    env.apply(&es(
        "legacy",
        "kv1",
        "  data:\n  - secretKey: token\n    remoteRef: {key: legacy, property: token}\n",
    ))
    .await;
    env.es_ready("team", "legacy", true).await;
    assert_eq!(
        env.data("team", "legacy").await.unwrap()["token"],
        "v1-value-5150"
    );

    // A provider we do not implement: the store says which field.
    env.apply("apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {name: akeyless, namespace: team}\nspec:\n  provider:\n    akeyless: {akeylessGWApiURL: 'https://gw.example'}\n").await;
    let (ok, reason, message) = env.store_ready("team", "akeyless").await;
    assert!(!ok);
    assert_eq!(reason, "InvalidProviderConfig");
    assert!(
        message.contains("spec.provider.akeyless is not supported"),
        "{message}"
    );

    // An unimplemented ESO field is named, never ignored.
    env.apply(&es(
        "unsupported",
        "vault",
        "  dataFrom:\n  - find: {name: {regexp: '^app'}}\n",
    ))
    .await;
    let (_, message) = env.es_ready("team", "unsupported", false).await;
    assert!(
        message.contains("spec.dataFrom[0].find is not supported"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn creation_and_deletion_policies() {
    let env = sync_env(&[]).await;
    env.bao
        .kv2_put("secret", "app/db", json!({"password": DB_PASSWORD}));
    let item =
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n";

    // Merge: only into an existing Secret, keeping its other keys.
    env.apply(&es(
        "merge",
        "vault",
        &format!("  target: {{name: existing, creationPolicy: Merge}}\n{item}"),
    ))
    .await;
    let (reason, _) = env.es_ready("team", "merge", false).await;
    assert_eq!(reason, "SecretMissing");
    create_secret(&env.client, "team", "existing", &[("theirs", "kept")]).await;
    env.force_sync("team", "merge", "1").await;
    env.wait_value("team", "existing", "password", DB_PASSWORD)
        .await;
    assert_eq!(
        env.data("team", "existing").await.unwrap()["theirs"],
        "kept"
    );

    // None writes nothing; Orphan has no owner.
    env.apply(&es(
        "none",
        "vault",
        &format!("  target: {{name: nothing, creationPolicy: None}}\n{item}"),
    ))
    .await;
    env.es_ready("team", "none", true).await;
    assert!(env.data("team", "nothing").await.is_none());
    env.apply(&es(
        "orphan",
        "vault",
        &format!("  target: {{creationPolicy: Orphan}}\n{item}"),
    ))
    .await;
    env.es_ready("team", "orphan", true).await;
    let orphan =
        kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(env.client.clone(), "team")
            .get("orphan")
            .await
            .unwrap();
    assert!(orphan.metadata.owner_references.is_none());

    // A Secret this object does not manage is never taken over.
    create_secret(&env.client, "team", "foreign", &[("x", "y")]).await;
    env.apply(&es("foreign", "vault", item)).await;
    let (_, message) = env.es_ready("team", "foreign", false).await;
    assert!(
        message.contains("not managed by this ExternalSecret"),
        "{message}"
    );
    assert_eq!(env.data("team", "foreign").await.unwrap()["x"], "y");

    // Retain keeps the Secret when the remote secret is gone; Delete removes it.
    env.bao
        .kv2_put("secret", "app/gone", json!({"password": "soon-gone"}));
    let gone =
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/gone, property: password}\n";
    env.apply(&es("retain", "vault", gone)).await;
    env.apply(&es(
        "delete",
        "vault",
        &format!("  target: {{deletionPolicy: Delete}}\n{gone}"),
    ))
    .await;
    env.es_ready("team", "retain", true).await;
    env.es_ready("team", "delete", true).await;
    env.bao.request(
        "DELETE",
        "secret/metadata/app/gone",
        Some(env.bao.root_token()),
        None,
    );
    env.force_sync("team", "retain", "1").await;
    env.force_sync("team", "delete", "1").await;
    let (_, message) = env.es_ready("team", "retain", false).await;
    assert!(
        message.contains("not found") && message.contains("Retain"),
        "{message}"
    );
    assert_eq!(
        env.data("team", "retain").await.unwrap()["password"],
        "soon-gone"
    );
    wait_for("the Delete policy to remove the Secret", || async {
        env.data("team", "delete").await.is_none().then_some(())
    })
    .await;
    // A deletion is reported as one (ESO's reason), never as synced data.
    let (ok, message) = env.es_reason("team", "delete", "SecretDeleted").await;
    assert!(ok, "{message}");
    assert!(message.contains("every remote secret is gone"), "{message}");

    // Retain before any Secret exists: nothing is "kept", it was never created.
    env.apply(&es(
        "never",
        "vault",
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/never-written, property: password}\n",
    ))
    .await;
    let (_, message) = env.es_ready("team", "never", false).await;
    assert!(
        message.contains("the Secret was not created") && !message.contains("kept"),
        "{message}"
    );
}

fn store(name: &str, addr: &str, path: &str, version: &str) -> String {
    format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  provider:\n    vault:\n      server: {addr}\n      path: {path}\n      version: {version}\n      auth:\n        tokenSecretRef: {{name: vault-token, key: token}}\n"
    )
}

/// The incident: a store whose `version` is wrong for its mount made every read look like a
/// deleted secret, and deletionPolicy Delete deleted the Secret while reporting it synced.
/// Both directions (a v1 mount read as v2, a v2 mount read as v1) must keep the Secret and
/// name the mismatch in the store's and the ExternalSecret's status.
#[tokio::test(flavor = "multi_thread")]
async fn a_store_with_the_wrong_kv_version_deletes_nothing_and_says_why() {
    let env = sync_env(&[]).await;
    env.bao.enable_kv("kv1", 1);
    env.bao
        .write("kv1/app", json!({"password": "v1-value-8086"}));
    env.bao
        .kv2_put("secret", "app/db", json!({"password": DB_PASSWORD}));
    let addr = env.bao.addr().to_owned();
    let cases = [
        // (store, mount, right, wrong, key, value, what Vault says the mount is)
        (
            "v1-mount",
            "kv1",
            "v1",
            "v2",
            "app",
            "v1-value-8086",
            "KV v1",
        ),
        (
            "v2-mount",
            "secret",
            "v2",
            "v1",
            "app/db",
            DB_PASSWORD,
            "KV v2",
        ),
    ];
    for (name, mount, right, _, key, value, _) in cases {
        env.apply(&store(name, &addr, mount, right)).await;
        env.apply(&es(
            name,
            name,
            &format!("  target: {{deletionPolicy: Delete}}\n  data:\n  - secretKey: password\n    remoteRef: {{key: {key}, property: password}}\n"),
        ))
        .await;
        env.wait_value("team", name, "password", value).await;
    }
    for (name, mount, _, wrong, _, value, found) in cases {
        env.apply(&store(name, &addr, mount, wrong)).await;
        let (ok, message) = env
            .store_reason("team", name, "InvalidProviderConfig")
            .await;
        assert!(!ok);
        let expected = format!(
            "spec.provider.vault.version is {wrong}, but vault mount \"{mount}\" is {found}"
        );
        assert!(message.contains(&expected), "{message}");
        env.force_sync("team", name, "1").await;
        let (reason, message) = env.es_ready("team", name, false).await;
        assert_eq!(reason, "SecretSyncedError");
        assert!(message.contains(&expected), "{message}");
        assert_eq!(
            env.data("team", name).await.map(|d| d["password"].clone()),
            Some(value.to_owned()),
            "the Secret is kept"
        );
    }
    // The failure is logged with its error, under a field of its own.
    let logs = env.agent.logs();
    let logged = logs.lines().any(|line| {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            return false;
        };
        line.contains("sync failed")
            && v["fields"]["error"]
                .as_str()
                .is_some_and(|e| e.contains("vault mount \"kv1\" is KV v1"))
    });
    assert!(logged, "no `sync failed` line with the error:\n{logs}");

    // Put right again, the store and the ExternalSecret recover.
    env.apply(&store("v1-mount", &addr, "kv1", "v1")).await;
    env.store_reason("team", "v1-mount", "Valid").await;
    env.force_sync("team", "v1-mount", "2").await;
    let (reason, _) = env.es_ready("team", "v1-mount", true).await;
    assert_eq!(reason, "SecretSynced");

    // A key that cannot be a Vault path is named by its field, not "invalid configuration".
    env.apply(&es(
        "bad-key",
        "vault",
        "  data:\n  - secretKey: password\n    remoteRef: {key: 'app//db', property: password}\n",
    ))
    .await;
    let (_, message) = env.es_ready("team", "bad-key", false).await;
    assert!(
        message.contains("spec.data[0].remoteRef.key \"app//db\" is not a usable vault key"),
        "{message}"
    );
    assert!(
        !message.contains("invalid vault configuration"),
        "{message}"
    );
}

/// A least-privilege token: it may read its paths, but has no `default` policy, so
/// `auth/token/lookup-self` is denied. The store is valid and reads work; the agent says once
/// that the token's TTL is unknown.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_may_not_look_itself_up_still_syncs() {
    let env = sync_env(&[]).await;
    env.bao
        .kv2_put("secret", "app/db", json!({"password": DB_PASSWORD}));
    let answer = env.bao.write(
        "auth/token/create",
        json!({"policies": ["reader"], "no_default_policy": true}),
    );
    let token = answer["auth"]["client_token"].as_str().unwrap().to_owned();
    let denied = env
        .bao
        .request("GET", "auth/token/lookup-self", Some(&token), None);
    assert_eq!(denied.status, 403, "the token must not look itself up");
    create_secret(&env.client, "team", "narrow-token", &[("token", &token)]).await;
    env.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: narrow, namespace: team}}\nspec:\n  provider:\n    vault:\n      server: {}\n      auth:\n        tokenSecretRef: {{name: narrow-token, key: token}}\n",
        env.bao.addr()
    ))
    .await;
    let (ok, reason, message) = env.store_ready("team", "narrow").await;
    assert!(ok, "{reason}: {message}");
    env.apply(&es(
        "narrow",
        "narrow",
        "  refreshInterval: 1s\n  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n",
    ))
    .await;
    env.wait_value("team", "narrow", "password", DB_PASSWORD)
        .await;
    // Several refreshes later the TTL warning is still a single line.
    let reads = "secrets_agent_provider_calls_total{provider=\"vault\",call=\"read\"";
    let before = env.metric(reads).await;
    wait_for("three more reads", || async {
        (env.metric(reads).await >= before + 3.0).then_some(())
    })
    .await;
    let said = env
        .agent
        .logs()
        .matches("auth/token/lookup-self was denied")
        .count();
    assert_eq!(said, 1, "{}", env.agent.logs());

    // A token Vault does not know fails validation with Vault's words, naming the check.
    create_secret(
        &env.client,
        "team",
        "bogus-token",
        &[("token", "s.not-a-real-token")],
    )
    .await;
    env.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: bogus, namespace: team}}\nspec:\n  provider:\n    vault:\n      server: {}\n      auth:\n        tokenSecretRef: {{name: bogus-token, key: token}}\n",
        env.bao.addr()
    ))
    .await;
    let (ok, reason, message) = env.store_ready("team", "bogus").await;
    assert!(!ok);
    assert_eq!(reason, "ValidationFailed");
    assert!(
        message.contains("checking vault mount \"secret\"")
            && message.contains("permission denied"),
        "{message}"
    );
    assert!(!env.agent.logs().contains("s.not-a-real-token"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_store_keeps_the_secret_and_recovers() {
    let env = sync_env(&[]).await;
    env.bao
        .kv2_put("secret", "app/db", json!({"password": DB_PASSWORD}));
    env.apply(&es(
        "app",
        "vault",
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n",
    ))
    .await;
    env.es_ready("team", "app", true).await;
    let pid = env.bao.pid().to_string();
    let signal = |sig: &str| {
        assert!(
            std::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        )
    };
    signal("-STOP");
    env.force_sync("team", "app", "1").await;
    let (reason, message) = env.es_ready("team", "app", false).await;
    signal("-CONT");
    assert_eq!(reason, "SecretSyncedError");
    assert!(
        message.contains("did not answer") || message.contains("cannot reach"),
        "{message}"
    );
    assert_eq!(
        env.data("team", "app").await.unwrap()["password"],
        DB_PASSWORD,
        "the Secret is kept"
    );
    // The retry with backoff succeeds once OpenBao is back.
    env.es_ready("team", "app", true).await;
}

/// Refreshes of 50 ExternalSecrets over 5 paths cost 5 reads, not 50.
#[tokio::test(flavor = "multi_thread")]
async fn fifty_external_secrets_over_five_paths_share_reads() {
    let env: SyncEnv = sync_env(&[]).await;
    for p in 0..5 {
        env.bao.kv2_put(
            "secret",
            &format!("shared/{p}"),
            json!({"value": format!("v{p}")}),
        );
    }
    let mut yaml = String::new();
    for i in 0..50 {
        yaml.push_str(&es(&format!("s{i}"), "vault", &format!("  refreshInterval: 20s\n  data:\n  - secretKey: value\n    remoteRef: {{key: shared/{}, property: value}}\n", i % 5)));
        yaml.push_str("---\n");
    }
    env.apply(&yaml).await;
    for i in 0..50 {
        env.es_ready("team", &format!("s{i}"), true).await;
    }
    let reads = "secrets_agent_provider_calls_total{provider=\"vault\",call=\"read\"";
    let first = env.metric(reads).await;
    assert!(
        first <= 10.0,
        "initial sync of 50 objects over 5 paths took {first} reads"
    );
    // One full refresh cycle: every object's refreshTime moves on.
    let before: Vec<String> = refresh_times(&env).await;
    wait_for("one refresh cycle", || async {
        let now = refresh_times(&env).await;
        now.iter().zip(&before).all(|(a, b)| a != b).then_some(())
    })
    .await;
    let cycle = env.metric(reads).await - first;
    assert!(
        cycle <= 5.0,
        "one refresh of 50 objects over 5 paths took {cycle} reads"
    );
    assert!(
        cycle >= 5.0,
        "each path is read once per refresh, got {cycle}"
    );
}

async fn refresh_times(env: &SyncEnv) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..50 {
        out.push(
            env.es("team", &format!("s{i}"))
                .await
                .status
                .and_then(|s| s.refresh_time)
                .unwrap_or_default(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_store_conditions_limit_namespaces() {
    let env = sync_env(&[]).await;
    env.bao
        .kv2_put("secret", "app/db", json!({"password": DB_PASSWORD}));
    env.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n")
        .await;
    env.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: labelled, labels: {vault-access: \"yes\"}}\n").await;
    env.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ClusterSecretStore\nmetadata: {{name: shared}}\nspec:\n  conditions:\n  - namespaces: [team]\n  - namespaceSelector: {{matchLabels: {{vault-access: \"yes\"}}}}\n  provider:\n    vault:\n      server: {}\n      auth:\n        tokenSecretRef: {{name: vault-token, key: token, namespace: team}}\n",
        env.bao.addr()
    ))
    .await;
    let body =
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n";
    for ns in ["team", "other", "labelled"] {
        env.apply(&format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {{name: app, namespace: {ns}}}\nspec:\n  secretStoreRef: {{name: shared, kind: ClusterSecretStore}}\n{body}"
        ))
        .await;
    }
    env.es_ready("team", "app", true).await;
    env.es_ready("labelled", "app", true).await;
    let (_, message) = env.es_ready("other", "app", false).await;
    assert!(
        message.contains("does not allow namespace \"other\""),
        "{message}"
    );
    assert!(env.data("other", "app").await.is_none());
}

/// A short-lived Vault token is renewed before it expires, not replaced by a login per read.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_renewed_rather_than_logging_in_again() {
    let env = sync_env(&[]).await;
    env.bao
        .kv2_put("secret", "app/db", json!({"password": DB_PASSWORD}));
    env.cluster
        .service_account_token("team", "vault-reader", &["vault"], 600);
    env.bao.write(
        "auth/kubernetes/role/short",
        json!({"bound_service_account_names": ["vault-reader"], "bound_service_account_namespaces": ["team"],
               "policies": ["reader"], "audience": "vault", "token_ttl": "3s", "token_max_ttl": "10m"}),
    );
    env.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: short, namespace: team}}\nspec:\n  provider:\n    vault:\n      server: {}\n      auth:\n        kubernetes:\n          role: short\n          serviceAccountRef: {{name: vault-reader, audiences: [vault]}}\n",
        env.bao.addr()
    ))
    .await;
    env.apply(&es("often", "short", "  refreshInterval: 500ms\n  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n")).await;
    env.es_ready("team", "often", true).await;
    let calls = |call: &'static str| {
        let env = &env;
        async move {
            env.metric(&format!("secrets_agent_provider_calls_total{{provider=\"vault\",call=\"{call}\",status=\"ok\"")).await
        }
    };
    let logins_before = calls("login").await;
    // Reads go on every half second; over several token lifetimes the token is renewed.
    wait_for("three renewals", || async {
        (calls("renew").await >= 3.0).then_some(())
    })
    .await;
    let reads = calls("read").await;
    assert!(reads >= 6.0, "the object kept refreshing ({reads} reads)");
    // Logins for the store: one, plus the token-auth store of the fixture.
    assert_eq!(
        calls("login").await,
        logins_before,
        "no new login while renewals work"
    );
}

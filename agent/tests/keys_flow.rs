//! Keys over time with the real agent: rotation on request then re-sealing through
//! `/v1/rotate`; backup → wipe → restore; existing Secrets (unmanaged, managed, patch);
//! API faults; Bitnami compat with objects sealed by kubesealpy.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt as _;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::seal::crypto::Scope;
use secrets_core::seal::keys::RENEW_REQUESTED_AT;

use common::*;

fn now_rfc3339(offset_secs: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn wait_ready(
    api: &Api<SealedSecret>,
    name: &str,
    status: &'static str,
) -> (String, String, String) {
    let api = api.clone();
    let name = name.to_owned();
    wait_for(&format!("{name} Ready={status}"), move || {
        let api = api.clone();
        let name = name.clone();
        async move { ready(&api.get(&name).await.ok()?).filter(|r| r.0 == status) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_on_request_then_reseal_and_restore_from_backup() {
    let (cluster, client) = cluster().await;
    let port = free_port();
    let agent = start_replica(&cluster, "a", port);
    expose(&client, port).await;
    let first = wait_keys(&client, 1).await;
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), "team");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    let sealed = secrets_core::seal::seal_secret(
        &plain("db", "team", &[("password", PASSWORD)]),
        first.public_key(),
        Scope::Strict,
    )
    .unwrap();
    sealed_api
        .create(&PostParams::default(), &sealed)
        .await
        .unwrap();
    wait_ready(&sealed_api, "db", "True").await;

    // `keys rotate` = the annotation on the newest key Secret; the leader makes a second key.
    let keys_api: Api<Secret> = Api::namespaced(client.clone(), "kubectl-secrets");
    let newest = key_secrets(&client).await.pop().unwrap();
    let patch =
        serde_json::json!({"metadata": {"annotations": {RENEW_REQUESTED_AT: now_rfc3339(1)}}});
    keys_api
        .patch(
            &newest.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap();
    let second = wait_keys(&client, 2).await;
    assert_ne!(
        second.public_key().fingerprint(),
        first.public_key().fingerprint()
    );

    // /v1/rotate re-seals to the new key; applying it keeps the Secret right.
    let current = sealed_api.get("db").await.unwrap();
    let (code, body) =
        agent_post(&client, "/v1/rotate", serde_json::to_vec(&current).unwrap()).await;
    assert_eq!(code, 200, "{body}");
    let rotated: SealedSecret = serde_json::from_str(&body).unwrap();
    assert_ne!(rotated.spec.encrypted_data, current.spec.encrypted_data);
    let (code, _) = agent_post(&client, "/v1/verify", body.clone().into_bytes()).await;
    assert_eq!(code, 200);
    let mut updated = current.clone();
    updated.spec = rotated.spec;
    sealed_api
        .replace("db", &PostParams::default(), &updated)
        .await
        .unwrap();
    wait_for("the Secret to record the new key", || {
        let api = secrets.clone();
        let fp = second.public_key().fingerprint();
        async move {
            let s = api.get("db").await.ok()?;
            (s.annotations().get("kubectl-secrets.io/key-fingerprint") == Some(&fp)).then_some(())
        }
    })
    .await;

    // Backup, wipe, then a SealedSecret from Git sealed with the first key waits…
    let backup = key_secrets(&client).await;
    for key in &backup {
        keys_api
            .delete(&key.name_any(), &DeleteParams::default())
            .await
            .unwrap();
    }
    let from_git = secrets_core::seal::seal_secret(
        &plain("restored", "team", &[("password", PASSWORD)]),
        first.public_key(),
        Scope::Strict,
    )
    .unwrap();
    wait_keys(&client, 1).await; // the leader makes a fresh key when none is left
    sealed_api
        .create(&PostParams::default(), &from_git)
        .await
        .unwrap();
    let failed = wait_ready(&sealed_api, "restored", "False").await;
    assert_eq!(failed.1, "DecryptionFailed");
    // …until the backup is restored: the key change requeues it and it opens.
    for key in backup {
        let mut again = Secret {
            metadata: Default::default(),
            ..key.clone()
        };
        again.metadata.name = key.metadata.name.clone();
        again.metadata.labels = key.metadata.labels.clone();
        keys_api
            .create(&PostParams::default(), &again)
            .await
            .unwrap();
    }
    wait_ready(&sealed_api, "restored", "True").await;
    assert_eq!(
        secrets.get("restored").await.unwrap().data.unwrap()["password"].0,
        PASSWORD.as_bytes()
    );
    let logs = agent.stop();
    assert!(!logs.contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_secrets_unmanaged_managed_and_patch() {
    let (cluster, client) = cluster().await;
    let _agent = Agent::start(&cluster);
    let cert = wait_keys(&client, 1).await;
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), "team");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    let existing = |name: &str, annotation: Option<&str>| {
        let mut s = Secret::default();
        s.metadata.name = Some(name.into());
        s.metadata.annotations =
            annotation.map(|a| BTreeMap::from([(a.to_owned(), "true".to_owned())]));
        s.data = Some(BTreeMap::from([(
            "extra".to_owned(),
            ByteString(b"keep?".to_vec()),
        )]));
        s
    };
    secrets
        .create(&PostParams::default(), &existing("plain", None))
        .await
        .unwrap();
    secrets
        .create(
            &PostParams::default(),
            &existing("managed", Some("kubectl-secrets.io/managed")),
        )
        .await
        .unwrap();
    secrets
        .create(
            &PostParams::default(),
            &existing("patched", Some("kubectl-secrets.io/patch")),
        )
        .await
        .unwrap();
    for name in ["plain", "managed", "patched"] {
        let sealed = secrets_core::seal::seal_secret(
            &plain(name, "team", &[("password", PASSWORD)]),
            cert.public_key(),
            Scope::Strict,
        )
        .unwrap();
        sealed_api
            .create(&PostParams::default(), &sealed)
            .await
            .unwrap();
    }
    let conflict = wait_ready(&sealed_api, "plain", "False").await;
    assert_eq!(conflict.1, "SecretConflict");
    assert!(conflict.2.contains("managed=true"), "{}", conflict.2);
    assert_eq!(
        secrets.get("plain").await.unwrap().data.unwrap()["extra"].0,
        b"keep?",
        "an unmanaged Secret is left alone"
    );
    wait_ready(&sealed_api, "managed", "True").await;
    let managed = secrets.get("managed").await.unwrap().data.unwrap();
    assert!(
        !managed.contains_key("extra") && managed.contains_key("password"),
        "managed replaces"
    );
    wait_ready(&sealed_api, "patched", "True").await;
    let patched = secrets.get("patched").await.unwrap().data.unwrap();
    assert!(
        patched.contains_key("extra") && patched.contains_key("password"),
        "patch merges"
    );

    // A warning event names the conflict.
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), "team");
    let found = wait_for("the conflict event", || {
        let events = events.clone();
        async move {
            events
                .list(&Default::default())
                .await
                .ok()?
                .items
                .into_iter()
                .find(|e| e.reason.as_deref() == Some("ErrSecretConflict"))
        }
    })
    .await;
    assert_eq!(found.type_.as_deref(), Some("Warning"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_faults_end_in_the_right_state() {
    let (cluster, client) = cluster().await;
    let _agent = Agent::start(&cluster);
    let cert = wait_keys(&client, 1).await;
    // The first two Secret creations fail with 500, and every request is slowed down.
    cluster.standin().control().inject(kube_standin::Fault {
        resource: Some("secrets".into()),
        verb: Some("create".into()),
        status: Some(500),
        times: Some(2),
        ..Default::default()
    });
    cluster.standin().control().inject(kube_standin::Fault {
        latency_ms: 50,
        ..Default::default()
    });
    cluster.standin().control().inject(kube_standin::Fault {
        resource: Some("sealedsecrets/status".into()),
        status: Some(429),
        times: Some(1),
        ..Default::default()
    });
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), "team");
    let sealed = secrets_core::seal::seal_secret(
        &plain("db", "team", &[("password", PASSWORD)]),
        cert.public_key(),
        Scope::Strict,
    )
    .unwrap();
    sealed_api
        .create(&PostParams::default(), &sealed)
        .await
        .unwrap();
    wait_ready(&sealed_api, "db", "True").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    assert_eq!(
        secrets.get("db").await.unwrap().data.unwrap()["password"].0,
        PASSWORD.as_bytes()
    );
    assert!(
        cluster.standin().control().count("secrets", "create") >= 3,
        "the failed creations were retried"
    );
}

//! Mount-only SealedSecrets against the real `secrets-agent` binary and kube-standin: a
//! SealedSecret annotated `kubectl-secrets.io/mount-only: "true"` is opened and reported
//! `Ready` (reason `ServedByMounts`) while no Secret of its name ever exists (a watch opened
//! before it was created sees none); a Secret it made before the annotation is deleted with
//! an event; removing the annotation brings the Secret back; one that cannot be opened is
//! `Ready=False` as before.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::mount::MOUNT_ONLY_ANNOTATION;
use secrets_core::seal::crypto::Scope;
use secrets_core::seal::keys::Certificate;

use common::*;

fn sealed(cert: &Certificate, name: &str, mount_only: bool) -> SealedSecret {
    let mut sealed = secrets_core::seal::seal_secret(
        &plain(name, "team", &[("password", PASSWORD)]),
        cert.public_key(),
        Scope::Strict,
    )
    .unwrap();
    if mount_only {
        sealed.metadata.annotations = Some(BTreeMap::from([(
            MOUNT_ONLY_ANNOTATION.to_owned(),
            "true".to_owned(),
        )]));
    }
    sealed
}

/// Every (event type, Secret name) the watch on namespace `team` sees, from before anything
/// is created there.
fn record_secret_events(secrets: Api<Secret>) -> Arc<Mutex<Vec<(String, String)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut stream = secrets
            .watch(&WatchParams::default(), "0")
            .await
            .unwrap()
            .boxed();
        while let Some(event) = stream.next().await {
            let (kind, secret) = match event.unwrap() {
                WatchEvent::Added(s) => ("ADDED", s),
                WatchEvent::Modified(s) => ("MODIFIED", s),
                WatchEvent::Deleted(s) => ("DELETED", s),
                WatchEvent::Bookmark(_) => continue,
                WatchEvent::Error(err) => panic!("the watch failed: {err:?}"),
            };
            let name = secret.metadata.name.clone().unwrap_or_default();
            sink.lock().unwrap().push((kind.to_owned(), name));
        }
    });
    seen
}

async fn wait_ready(api: &Api<SealedSecret>, name: &str, reason: &str) -> (String, String, String) {
    wait_for(&format!("{name} Ready with reason {reason}"), || {
        let api = api.clone();
        let reason = reason.to_owned();
        let name = name.to_owned();
        async move { ready(&api.get(&name).await.ok()?).filter(|r| r.1 == reason) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mount_only_sealed_secret_never_becomes_a_secret() {
    let (cluster, client) = cluster().await;
    let agent = Agent::start(&cluster);
    let cert = wait_keys(&client, 1).await;
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), "team");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    let seen = record_secret_events(secrets.clone());

    sealed_api
        .create(&PostParams::default(), &sealed(&cert, "db", true))
        .await
        .unwrap();
    let status = wait_ready(&sealed_api, "db", "ServedByMounts").await;
    assert_eq!(status.0, "True");
    assert!(
        status.2.contains("served to CSI mounts only") && status.2.contains("no Secret is made"),
        "{}",
        status.2
    );

    // A normal SealedSecret created after it: once the watch has seen its Secret, it has seen
    // everything the agent did for `db` before, which must be nothing.
    sealed_api
        .create(&PostParams::default(), &sealed(&cert, "marker", false))
        .await
        .unwrap();
    wait_for("the watch to see the marker's Secret", || {
        let seen = Arc::clone(&seen);
        async move {
            seen.lock()
                .unwrap()
                .iter()
                .any(|(kind, name)| kind == "ADDED" && name == "marker")
                .then_some(())
        }
    })
    .await;
    let events = seen.lock().unwrap().clone();
    assert!(
        !events.iter().any(|(_, name)| name == "db"),
        "a Secret named db appeared: {events:?}"
    );
    assert!(secrets.get_opt("db").await.unwrap().is_none());

    // One that cannot be opened (sealed for another name) is Ready=False, as before.
    let mut wrong = sealed(&cert, "other", true);
    wrong.metadata.name = Some("wrong".into());
    sealed_api
        .create(&PostParams::default(), &wrong)
        .await
        .unwrap();
    let failure = wait_ready(&sealed_api, "wrong", "DecryptionFailed").await;
    assert_eq!(failure.0, "False");

    let logs = agent.stop();
    assert!(!logs.contains(PASSWORD), "a value reached the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_annotation_deletes_the_old_secret_and_removing_it_brings_it_back() {
    let (cluster, client) = cluster().await;
    let _agent = Agent::start(&cluster);
    let cert = wait_keys(&client, 1).await;
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), "team");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");

    sealed_api
        .create(&PostParams::default(), &sealed(&cert, "db", false))
        .await
        .unwrap();
    wait_ready(&sealed_api, "db", "Unsealed").await;
    assert!(secrets.get_opt("db").await.unwrap().is_some());

    let annotate = |value: serde_json::Value| {
        let api = sealed_api.clone();
        async move {
            let patch =
                serde_json::json!({"metadata": {"annotations": {MOUNT_ONLY_ANNOTATION: value}}});
            api.patch("db", &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .unwrap();
        }
    };
    annotate(serde_json::json!("true")).await;
    wait_ready(&sealed_api, "db", "ServedByMounts").await;
    wait_for("the old Secret to be deleted", || {
        let api = secrets.clone();
        async move {
            api.get_opt("db")
                .await
                .ok()
                .filter(Option::is_none)
                .map(|_| ())
        }
    })
    .await;
    let described = wait_for("the deletion event", || {
        let out = cluster.kubectl_ok(&[
            "describe",
            "sealedsecrets.kubectl-secrets.io",
            "db",
            "-n",
            "team",
        ]);
        std::future::ready(out.contains("SecretDeleted").then_some(out))
    })
    .await;
    assert!(described.contains("served to CSI"), "{described}");

    annotate(serde_json::Value::Null).await;
    wait_ready(&sealed_api, "db", "Unsealed").await;
    let back = wait_for("the Secret to come back", || {
        let api = secrets.clone();
        async move { api.get_opt("db").await.ok()? }
    })
    .await;
    assert_eq!(back.data.unwrap()["password"].0, PASSWORD.as_bytes());
}

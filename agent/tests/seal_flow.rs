//! The real `secrets-agent` binary against kube-standin: keys appear, SealedSecrets become
//! Secrets with the right bytes, updates and deletes flow through, bad objects get a precise
//! `Ready=False` without affecting others, and no plaintext reaches the logs.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt as _;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::seal::crypto::Scope;
use secrets_core::seal::keys::{Certificate, KEY_LABEL};

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_secrets_become_secrets() {
    let (cluster, client) = cluster().await;
    let agent = Agent::start(&cluster);

    // First start makes a key.
    let key_secrets: Api<Secret> = Api::namespaced(client.clone(), "kubectl-secrets");
    let key = wait_for("the first sealing key", || {
        let api = key_secrets.clone();
        async move {
            api.list(&ListParams::default().labels(&format!("{KEY_LABEL}=active")))
                .await
                .ok()?
                .items
                .into_iter()
                .next()
        }
    })
    .await;
    assert_eq!(key.type_.as_deref(), Some("kubernetes.io/tls"));
    let cert = Certificate::from_pem(&key.data.as_ref().unwrap()["tls.crt"].0).unwrap();
    assert_eq!(cert.public_key().bits(), 4096);

    // Seal → apply → the Secret appears with the right bytes, owned by the SealedSecret.
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), "team");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    let sealed = secrets_core::seal::seal_secret(
        &plain("db", "team", &[("password", PASSWORD)]),
        cert.public_key(),
        Scope::Strict,
    )
    .unwrap();
    let created = sealed_api
        .create(&PostParams::default(), &sealed)
        .await
        .unwrap();
    let secret = wait_for("the Secret", || {
        let api = secrets.clone();
        async move { api.get_opt("db").await.ok()? }
    })
    .await;
    assert_eq!(
        secret.data.as_ref().unwrap()["password"].0,
        PASSWORD.as_bytes()
    );
    assert_eq!(secret.labels()["app"], "billing");
    assert_eq!(secret.owner_references()[0].uid, created.uid().unwrap());
    let status = wait_for("Ready=True", || {
        let api = sealed_api.clone();
        async move { ready(&api.get("db").await.ok()?).filter(|r| r.0 == "True") }
    })
    .await;
    assert_eq!(status.1, "Unsealed");

    // Update: a new key in the SealedSecret reaches the Secret.
    let updated = secrets_core::seal::seal_secret(
        &plain(
            "db",
            "team",
            &[("password", PASSWORD), ("user", "billing-app")],
        ),
        cert.public_key(),
        Scope::Strict,
    )
    .unwrap();
    let mut current = sealed_api.get("db").await.unwrap();
    current.spec = updated.spec;
    sealed_api
        .replace("db", &PostParams::default(), &current)
        .await
        .unwrap();
    wait_for("the updated Secret", || {
        let api = secrets.clone();
        async move {
            api.get("db")
                .await
                .ok()?
                .data?
                .get("user")
                .map(|v| v.0 == b"billing-app")
                .filter(|ok| *ok)
        }
    })
    .await;

    // A value sealed for another name: Ready=False with the scope label; others unaffected.
    let wrong = secrets_core::seal::seal_secret(
        &plain("other", "team", &[("password", PASSWORD)]),
        cert.public_key(),
        Scope::Strict,
    )
    .unwrap();
    let mut renamed = wrong.clone();
    renamed.metadata.name = Some("wrong".into());
    sealed_api
        .create(&PostParams::default(), &renamed)
        .await
        .unwrap();
    let failure = wait_for("Ready=False on the wrong object", || {
        let api = sealed_api.clone();
        async move { ready(&api.get("wrong").await.ok()?).filter(|r| r.0 == "False") }
    })
    .await;
    assert_eq!(failure.1, "DecryptionFailed");
    assert!(
        failure.2.contains("\"team/wrong\" (strict)"),
        "{}",
        failure.2
    );
    assert!(secrets.get_opt("wrong").await.unwrap().is_none());
    assert!(secrets.get_opt("db").await.unwrap().is_some());

    // A deleted Secret is re-created; deleting the SealedSecret takes the Secret along.
    secrets
        .delete("db", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("the re-created Secret", || {
        let api = secrets.clone();
        async move { api.get_opt("db").await.ok()? }
    })
    .await;
    sealed_api
        .delete("db", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("the Secret to go with its SealedSecret", || {
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

    let logs = agent.stop();
    assert!(
        logs.contains("sealing keys loaded"),
        "the agent logged: {logs}"
    );
    assert!(
        !logs.contains(PASSWORD) && !logs.contains("billing-app"),
        "a value reached the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_one_leads_and_the_other_takes_over() {
    let (cluster, client) = cluster().await;
    let (port_a, port_b) = (free_port(), free_port());
    let a = start_replica(&cluster, "replica-a", port_a);
    let b = start_replica(&cluster, "replica-b", port_b);
    let first = wait_for("a leader", || {
        let client = client.clone();
        async move { lease_holder(&client).await }
    })
    .await;
    let (leader, follower, follower_port) = if first == "replica-a" {
        (a, b, port_b)
    } else {
        (b, a, port_a)
    };

    // Only one key is made, by the leader, and every replica serves its certificate over the
    // service proxy, as `kubectl secrets seal` reaches it.
    let keys: Api<Secret> = Api::namespaced(client.clone(), "kubectl-secrets");
    wait_keys(&client, 1).await;
    let key = key_secrets(&client).await.pop().unwrap();
    expose(&client, follower_port).await;
    let pem = wait_for("the follower to serve the certificate", || {
        let client = client.clone();
        async move {
            let request = http::Request::get("/api/v1/namespaces/kubectl-secrets/services/http:secrets-agent:http/proxy/v1/cert.pem").body(vec![]).unwrap();
            client.request_text(request).await.ok().filter(|t| t.contains("BEGIN CERTIFICATE"))
        }
    })
    .await;
    assert_eq!(pem.as_bytes(), &key.data.as_ref().unwrap()["tls.crt"].0[..]);

    // The leader goes away without releasing (killed): the follower takes over and reconciles.
    drop(leader);
    let cert = Certificate::from_pem(pem.as_bytes()).unwrap();
    let sealed = secrets_core::seal::seal_secret(
        &plain("db", "team", &[("password", PASSWORD)]),
        cert.public_key(),
        Scope::Strict,
    )
    .unwrap();
    Api::<SealedSecret>::namespaced(client.clone(), "team")
        .create(&PostParams::default(), &sealed)
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    wait_for("the new leader to make the Secret", || {
        let api = secrets.clone();
        async move { api.get_opt("db").await.ok()? }
    })
    .await;
    let holder = lease_holder(&client).await.unwrap();
    assert_ne!(holder, first, "the lease moved to the surviving replica");
    let keys_now = keys
        .list(&ListParams::default().labels(&format!("{KEY_LABEL}=active")))
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(
        keys_now, 1,
        "the new leader found the key and made none of its own"
    );
    follower.stop();
}

/// The agent records events through events.k8s.io; `kubectl describe` lists them through the
/// core API, as with kube-apiserver (one resource, two views).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_describe_lists_the_agents_events() {
    let (cluster, client) = cluster().await;
    let _agent = Agent::start(&cluster);
    let cert = wait_keys(&client, 1).await;
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
    let described = wait_for("the agent's event in kubectl describe", || {
        let out = cluster.kubectl_ok(&[
            "describe",
            "sealedsecrets.kubectl-secrets.io",
            "db",
            "-n",
            "team",
        ]);
        std::future::ready(out.contains("Secret unsealed").then_some(out))
    })
    .await;
    let events = described
        .split_once("Events:")
        .map(|(_, events)| events)
        .unwrap_or_else(|| panic!("no Events section: {described}"));
    let line = events
        .lines()
        .find(|l| l.contains("Secret unsealed"))
        .unwrap();
    assert!(
        line.contains("Normal") && line.contains("Unsealed") && line.contains("secrets-agent"),
        "{described}"
    );
    assert!(!described.contains(PASSWORD));
}

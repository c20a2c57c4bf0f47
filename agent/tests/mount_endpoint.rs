//! The controller's mount endpoint, end to end: the real `secrets-agent controller` with
//! `--mount-addr` against kube-standin (which binds tokens to pods and reviews them as
//! kube-apiserver does), called through the provider's `HttpsLink` as the CSI provider would.
//! A pod's mount-only SealedSecret opens for that pod; pods of another namespace, objects
//! without the annotation, forged, expired, wrong-audience and dead-pod tokens, replays and
//! stale requests are refused; a tampered answer is refused by the link; versions survive a
//! restart and follow the ciphertext; the version key is for the provider only; the per-pod
//! rate limit answers 429; no value or token reaches the debug log.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};
use secrets_agent::mount::https_link::open_answer;
use secrets_agent::mount::link::ControllerLink as _;
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::mount::exchange::{self, Answer, MountRequest, Pending, RequestItem};
use secrets_core::mount::request::PodToken;
use zeroize::Zeroizing;

use common::mount::*;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mount_only_sealed_secrets_open_only_for_their_namespaces_pods() {
    let mut setup = Setup::new().await;
    let port = free_port();
    let agent = setup.agent(port, &["--mount-rate", "100"]);
    let link = setup.ready(port).await;
    setup.create(&setup.seal("db", true, PASSWORD).await).await;
    setup
        .create(&setup.seal("plain", false, PASSWORD).await)
        .await;
    let web = setup.pod("team", "web-0").await;
    let token = setup.token(&web, "kubectl-secrets");

    let files = link
        .open_sealed(&web, &token, &items("db", &["password", "user"]))
        .await
        .unwrap();
    assert_eq!(files[0].path, "db/password");
    assert_eq!(&*files[0].contents, PASSWORD.as_bytes());
    assert_eq!(&*files[1].contents, b"billing-app");
    assert!(files.iter().all(|f| f.version.len() == 32));
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(setup.client.clone(), "team");
    assert!(secrets.get_opt("db").await.unwrap().is_none());

    let err = refused(
        link.open_sealed(&web, &token, &items("plain", &["password"]))
            .await,
    );
    assert_eq!(err.category, "permission_denied", "{err}");
    assert!(
        err.message
            .contains("SealedSecret team/plain is not served to mounts"),
        "{err}"
    );
    let err = refused(
        link.open_sealed(&web, &token, &items("db", &["nope"]))
            .await,
    );
    assert!(
        err.category == "not_found" && err.message.contains("has no key \"nope\""),
        "{err}"
    );

    // A pod of another namespace: its own namespace has no such object, and claiming the
    // team's pod with its own token is refused by the review.
    let stranger = setup.pod("other", "web-0").await;
    let stranger_token = setup.token(&stranger, "kubectl-secrets");
    let err = refused(
        link.open_sealed(&stranger, &stranger_token, &items("db", &["password"]))
            .await,
    );
    assert!(
        err.category == "not_found" && err.message.contains("SealedSecret other/db does not exist"),
        "{err}"
    );
    let err = refused(
        link.open_sealed(&web, &stranger_token, &items("db", &["password"]))
            .await,
    );
    assert_eq!(err.category, "permission_denied", "{err}");
    assert!(
        err.message.contains("system:serviceaccount:other:web"),
        "{err}"
    );

    // Tokens: wrong audience, signed by another key, expired, of a deleted pod.
    let err = refused(
        link.open_sealed(
            &web,
            &setup.token(&web, "vault"),
            &items("db", &["password"]),
        )
        .await,
    );
    assert_eq!(err.category, "credentials", "{err}");
    let subject = kube_standin::tokens::Subject {
        namespace: "team".into(),
        name: "web".into(),
        uid: Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(
            setup.client.clone(),
            "team",
        )
        .get("web")
        .await
        .unwrap()
        .metadata
        .uid
        .unwrap(),
    };
    let binding = kube_standin::tokens::Binding::Pod {
        name: web.name.clone(),
        uid: web.uid.clone(),
    };
    let audiences = vec!["kubectl-secrets".to_owned()];
    let issuer = setup.cluster.standin().tokens().issuer().to_owned();
    let forger = kube_standin::tokens::TokenSigner::new(&issuer).unwrap();
    let forged = forger
        .issue_bound(
            &subject,
            Some(&binding),
            &audiences,
            600,
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    let expired = setup
        .cluster
        .standin()
        .tokens()
        .issue_bound(
            &subject,
            Some(&binding),
            &audiences,
            600,
            time::OffsetDateTime::now_utc() - time::Duration::hours(2),
        )
        .unwrap();
    for (what, bad) in [("forged", forged), ("expired", expired)] {
        let bad = PodToken {
            token: Zeroizing::new(bad),
            expiration: String::new(),
        };
        let err = refused(
            link.open_sealed(&web, &bad, &items("db", &["password"]))
                .await,
        );
        assert_eq!(err.category, "credentials", "{what}: {err}");
        assert!(
            err.message.contains("refused by TokenReview"),
            "{what}: {err}"
        );
    }
    let doomed = setup.pod("team", "doomed-0").await;
    let doomed_token = setup.token(&doomed, "kubectl-secrets");
    Api::<Pod>::namespaced(setup.client.clone(), "team")
        .delete("doomed-0", &DeleteParams::default())
        .await
        .unwrap();
    let err = refused(
        link.open_sealed(&doomed, &doomed_token, &items("db", &["password"]))
            .await,
    );
    assert_eq!(err.category, "credentials", "{err}");

    // Replays and stale requests, over the link's raw call.
    let pin = setup.pin().await;
    let pending = Pending::new().unwrap();
    let request = MountRequest {
        namespace: web.namespace.clone(),
        pod_name: web.name.clone(),
        pod_uid: web.uid.clone(),
        service_account: web.service_account.clone(),
        token: token.token.clone(),
        items: vec![RequestItem {
            path: "p".into(),
            name: "db".into(),
            key: "password".into(),
        }],
        nonce: exchange::new_nonce().unwrap(),
        time: secrets_core::rfc3339::now(),
        ephemeral_key: pending.public_key(),
    };
    let body = serde_json::to_vec(&request).unwrap();
    let (_, status, answer) = link.post("/v1/mount", body.clone()).await.unwrap();
    assert_eq!(status, 200);
    let (_, status, replayed) = link.post("/v1/mount", body).await.unwrap();
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&replayed));
    assert!(String::from_utf8_lossy(&replayed).contains("replayed"));
    let mut stale = request.clone();
    stale.nonce = exchange::new_nonce().unwrap();
    stale.time = "2020-01-01T00:00:00Z".into();
    let (_, status, text) = link
        .post("/v1/mount", serde_json::to_vec(&stale).unwrap())
        .await
        .unwrap();
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&text));
    assert!(String::from_utf8_lossy(&text).contains("60 s"));

    // A tampered answer: one ciphertext byte flipped, refused by the link's check.
    let mut answer: Answer = serde_json::from_slice(&answer).unwrap();
    assert!(!String::from_utf8_lossy(answer.ciphertext.as_bytes()).contains(PASSWORD));
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut bytes = b64.decode(&answer.ciphertext).unwrap();
    bytes[0] ^= 1;
    answer.ciphertext = b64.encode(bytes);
    let err = open_answer(pending, &request.transcript(), &answer, &pin).unwrap_err();
    assert_eq!(err.category, "bad_response");
    assert!(
        err.message.contains("not signed by the pinned mount key"),
        "{err}"
    );

    let logs = agent.stop();
    assert!(
        logs.contains("mount request"),
        "the endpoint logs at debug: {logs}"
    );
    for secret in [
        PASSWORD,
        "billing-app",
        token.token.as_str(),
        stranger_token.token.as_str(),
    ] {
        assert!(!logs.contains(secret), "a value or token reached the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_and_the_version_key_survive_a_restart() {
    let mut setup = Setup::new().await;
    let port = free_port();
    let agent = setup.agent(port, &[]);
    let link = setup.ready(port).await;
    setup.create(&setup.seal("db", true, PASSWORD).await).await;
    let web = setup.pod("team", "web-0").await;
    let token = setup.token(&web, "kubectl-secrets");
    let first = link
        .open_sealed(&web, &token, &items("db", &["password", "user"]))
        .await
        .unwrap();

    // The version key: the provider's own token only.
    setup.provider_token("kubectl-secrets");
    let version_key = link.version_key().await.unwrap();
    assert_eq!(version_key.len(), 32);
    setup.provider_identity(&token.token);
    let err = refused(link.version_key().await);
    assert_eq!(err.category, "permission_denied", "{err}");
    assert!(err.message.contains("only for the CSI provider"), "{err}");
    setup.provider_token("vault");
    assert_eq!(refused(link.version_key().await).category, "credentials");
    drop(agent.stop());

    // Another controller process (same Secret): same versions, same version key.
    let port = free_port();
    let _agent = setup.agent(port, &[]);
    let link = setup.ready(port).await;
    let again = wait_for("the restarted mount endpoint", || {
        let (link, web, token) = (&link, &web, &token);
        async move {
            link.open_sealed(web, token, &items("db", &["password", "user"]))
                .await
                .ok()
        }
    })
    .await;
    assert_eq!(again[0].version, first[0].version);
    assert_eq!(again[1].version, first[1].version);
    setup.provider_token("kubectl-secrets");
    assert_eq!(*link.version_key().await.unwrap(), *version_key);

    // A changed value: a new version for it, the other one unchanged.
    let api: Api<SealedSecret> = Api::namespaced(setup.client.clone(), "team");
    let mut current = api.get("db").await.unwrap();
    let resealed = setup.seal("db", true, "a-new-password").await;
    current.spec.encrypted_data.insert(
        "password".into(),
        resealed.spec.encrypted_data["password"].clone(),
    );
    api.replace("db", &PostParams::default(), &current)
        .await
        .unwrap();
    let changed = link
        .open_sealed(&web, &token, &items("db", &["password", "user"]))
        .await
        .unwrap();
    assert_eq!(&*changed[0].contents, b"a-new-password");
    assert_ne!(changed[0].version, first[0].version);
    assert_eq!(changed[1].version, first[1].version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mounts_are_rate_limited_per_pod() {
    let mut setup = Setup::new().await;
    let port = free_port();
    let _agent = setup.agent(port, &["--mount-rate", "1"]);
    let link = setup.ready(port).await;
    setup.create(&setup.seal("db", true, PASSWORD).await).await;
    let web = setup.pod("team", "web-0").await;
    let token = setup.token(&web, "kubectl-secrets");
    let mut throttled = None;
    // A burst of twice the rate passes; the next call within the second does not.
    for _ in 0..3 {
        if let Err(err) = link
            .open_sealed(&web, &token, &items("db", &["password"]))
            .await
        {
            throttled = Some(err);
            break;
        }
    }
    let err = throttled.expect("the third call within a second is throttled");
    assert_eq!(err.category, "throttled", "{err}");
    // Another pod has its own bucket.
    let other = setup.pod("team", "web-1").await;
    let other_token = setup.token(&other, "kubectl-secrets");
    link.open_sealed(&other, &other_token, &items("db", &["password"]))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_mount_key_heals_the_providers_pin() {
    let mut setup = Setup::new().await;
    let port = free_port();
    let _agent = setup.agent(port, &[]);
    let link = setup.ready(port).await;
    setup.create(&setup.seal("db", true, PASSWORD).await).await;
    let web = setup.pod("team", "web-0").await;
    let token = setup.token(&web, "kubectl-secrets");
    let before = link
        .open_sealed(&web, &token, &items("db", &["password"]))
        .await
        .unwrap();
    setup.provider_token("kubectl-secrets");
    let old_version_key = link.version_key().await.unwrap();
    let old_pin = setup.pin().await;

    // Rotate: delete the Secret; the leader makes a new key and publishes its certificate.
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(setup.client.clone(), "kubectl-secrets")
        .delete("secrets-agent-mount-key", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("the new mount certificate", || {
        let setup = &setup;
        let old = old_pin.clone();
        async move { Some(setup.pin().await).filter(|pin| *pin != old) }
    })
    .await;
    // The link still holds the old pin: one failed handshake, one re-read, and it works.
    // (The certificate is published once the endpoint serves the new key, so no retry.)
    let after = link
        .open_sealed(&web, &token, &items("db", &["password"]))
        .await
        .unwrap();
    assert_eq!(&*after[0].contents, PASSWORD.as_bytes());
    assert_eq!(
        after[0].version, before[0].version,
        "mount-only versions do not depend on the mount key"
    );
    let new_version_key = link.version_key().await.unwrap();
    assert_ne!(*new_version_key, *old_version_key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_request_is_refused_without_echoing_it() {
    let mut setup = Setup::new().await;
    let port = free_port();
    let _agent = setup.agent(port, &[]);
    let link = setup.ready(port).await;
    // A token of the wrong type: serde would quote it; the answer must not.
    let body = br#"{"namespace":"team","podName":"p","podUID":"u","serviceAccount":"s","token":98765432123,"items":[],"nonce":"","time":"","ephemeralKey":""}"#;
    let (_, status, text) = link.post("/v1/mount", body.to_vec()).await.unwrap();
    let text = String::from_utf8_lossy(&text);
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("\"category\":\"rejected\"")
            && text.contains("not the expected fields and types"),
        "{text}"
    );
    assert!(!text.contains("98765432123"), "{text}");
}

//! csi-standin against kube-standin and a fake provider: the request it sends (attributes,
//! pod-bound tokens, secrets), the files it writes, the pod status it records, rotation, a
//! tampered request, and the binary.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::authentication::v1::TokenReview;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use serde_json::{Value, json};

use common::*;
use csi_standin::{CsiStandin, TokenAudience};

fn attributes(request: &csi_provider_proto::v1alpha1::MountRequest) -> BTreeMap<String, String> {
    serde_json::from_str(&request.attributes).unwrap()
}

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn pod_uid(client: &kube::Client) -> String {
    Api::<Pod>::namespaced(client.clone(), NS)
        .get(POD)
        .await
        .unwrap()
        .metadata
        .uid
        .unwrap()
}

async fn pod_status(client: &kube::Client) -> Option<DynamicObject> {
    Api::<DynamicObject>::namespaced_with(client.clone(), NS, &csi_standin::crds::pod_status())
        .get_opt(&format!("{POD}-{NS}-{SPC}"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mount_sends_the_drivers_request_and_writes_the_volume() {
    let (_cluster, client) = cluster().await;
    let sockets = tempfile::tempdir().unwrap();
    let (fake, _) = serve_fake(sockets.path(), PROVIDER);
    let target = tempfile::tempdir().unwrap();
    let standin = CsiStandin::new(client.clone(), sockets.path(), vec!["vault".into()]);

    let mounted = standin.mount(NS, POD, target.path()).await.unwrap();
    let uid = pod_uid(&client).await;

    // The request, as driver v1.6 sends it.
    assert_eq!(fake.versions.lock().unwrap()[0].version, "v1alpha1");
    let request = fake.last_mount();
    let mut attrs = attributes(&request);
    let tokens: BTreeMap<String, Value> = serde_json::from_str(
        &attrs
            .remove("csi.storage.k8s.io/serviceAccount.tokens")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        attrs,
        BTreeMap::from(
            [
                ("objects", "- objectName: db-password"),
                ("roleName", "web"),
                ("secretProviderClass", SPC),
                ("csi.storage.k8s.io/pod.name", POD),
                ("csi.storage.k8s.io/pod.namespace", NS),
                ("csi.storage.k8s.io/pod.uid", uid.as_str()),
                ("csi.storage.k8s.io/serviceAccount.name", SA),
                ("csi.storage.k8s.io/ephemeral", "true"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        )
    );
    assert_eq!(request.secrets, "null");
    assert_eq!(request.permission, "420");
    let target_path =
        format!("/var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~csi/secrets/mount");
    assert_eq!(request.target_path, target_path);
    assert!(request.current_object_version.is_empty());

    // One token, for the configured audience, bound to this pod, as kubelet requests it.
    assert_eq!(tokens.keys().collect::<Vec<_>>(), ["vault"]);
    let token = tokens["vault"]["token"].as_str().unwrap();
    let expires = tokens["vault"]["expirationTimestamp"].as_str().unwrap();
    assert!(expires.ends_with('Z') && expires.len() == 20, "{expires}");
    let c = claims(token);
    assert_eq!(c["aud"], json!(["vault"]));
    assert_eq!(c["kubernetes.io"]["pod"], json!({"name": POD, "uid": uid}));
    assert_eq!(c["kubernetes.io"]["serviceaccount"]["name"], SA);
    let review: TokenReview =
        serde_json::from_value(json!({"spec": {"token": token, "audiences": ["vault"]}})).unwrap();
    let reviewed = Api::<TokenReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(reviewed.authenticated, Some(true));
    assert_eq!(
        reviewed.user.unwrap().extra.unwrap()["authentication.kubernetes.io/pod-name"],
        vec![POD.to_owned()]
    );

    // The answer, and the files in kubelet's layout.
    assert_eq!(
        mounted.versions,
        [
            ("team-a/db#password".to_owned(), "v1".to_owned()),
            ("team-a/api".to_owned(), "v7".to_owned())
        ]
    );
    assert_eq!(mounted.target_path, target_path);
    assert_eq!(
        (
            mounted.runtime_name.as_str(),
            mounted.runtime_version.as_str()
        ),
        ("fake-provider", "0.1.0")
    );
    let t = target.path();
    assert_eq!(
        std::fs::read_link(t.join("..data")).unwrap().to_str(),
        Some(mounted.data_dir.as_str())
    );
    assert_eq!(
        std::fs::read_link(t.join("db")).unwrap().to_str(),
        Some("..data/db")
    );
    assert_eq!(
        std::fs::read_to_string(t.join("db/password")).unwrap(),
        "s3cr3t"
    );
    assert_eq!(std::fs::read_to_string(t.join("api-key")).unwrap(), "k-123");
    assert_eq!(mode(&t.join("db/password")), 0o440);
    assert_eq!(mode(&t.join("api-key")), 0o644);

    // The pod status, owned by the pod.
    let status = pod_status(&client).await.unwrap();
    assert_eq!(
        status.metadata.labels.unwrap()["internal.secrets-store.csi.k8s.io/node-name"],
        "standin-node"
    );
    let owner = &status.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
        ("Pod", POD, uid.as_str())
    );
    assert_eq!(
        status.data["status"],
        json!({
            "podName": POD, "secretProviderClassName": SPC, "mounted": true,
            "targetPath": target_path,
            "objects": [{"id": "team-a/api", "version": "v7"}, {"id": "team-a/db#password", "version": "v1"}],
        })
    );

    // Deleting the pod takes its status with it (owner reference).
    Api::<Pod>::namespaced(client.clone(), NS)
        .delete(POD, &DeleteParams::default())
        .await
        .unwrap();
    wait_for(
        "the pod status to be collected",
        Duration::from_secs(10),
        || {
            let client = client.clone();
            async move { pod_status(&client).await.is_none() }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remount_rotates_atomically_and_updates_the_status() {
    let (_cluster, client) = cluster().await;
    let sockets = tempfile::tempdir().unwrap();
    let (fake, _) = serve_fake(sockets.path(), PROVIDER);
    let target = tempfile::tempdir().unwrap();
    let standin = CsiStandin::new(client.clone(), sockets.path(), vec![]).with_node_name("node-7");
    let first = standin.mount(NS, POD, target.path()).await.unwrap();
    // No tokenRequests: no tokens key.
    assert!(
        !attributes(&fake.last_mount()).contains_key("csi.storage.k8s.io/serviceAccount.tokens")
    );

    // Same answer: nothing rewritten (kubelet's writer skips an unchanged payload).
    let same = standin.mount(NS, POD, target.path()).await.unwrap();
    assert!(!same.changed);
    assert_eq!(same.data_dir, first.data_dir);

    let mut rotated = canned();
    rotated.object_version = vec![version("team-a/db#password", "v2")];
    rotated.files = vec![file("db/password", 0o400, "n3w")];
    fake.respond(rotated);
    let second = standin.mount(NS, POD, target.path()).await.unwrap();
    assert!(second.changed);
    assert_ne!(second.data_dir, first.data_dir);
    let t = target.path();
    assert_eq!(
        std::fs::read_to_string(t.join("db/password")).unwrap(),
        "n3w"
    );
    assert_eq!(mode(&t.join("db/password")), 0o400);
    assert!(
        std::fs::symlink_metadata(t.join("api-key")).is_err(),
        "stale link removed"
    );
    assert!(!t.join(&first.data_dir).exists(), "old payload removed");
    let status = pod_status(&client).await.unwrap();
    assert_eq!(
        status.data["status"]["objects"],
        json!([{"id": "team-a/db#password", "version": "v2"}])
    );
    assert_eq!(
        status.metadata.labels.unwrap()["internal.secrets-store.csi.k8s.io/node-name"],
        "node-7"
    );
    assert_eq!(fake.mount_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_publish_secret_tokens_in_secrets_and_a_tampered_request() {
    let (cluster, client) = cluster().await;
    cluster.apply(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: store-creds, namespace: team-a}\n\
         stringData: {clientid: app, clientsecret: 's<&>'}\n",
    );
    cluster.apply(&pod_yaml(
        "      readOnly: true\n      nodePublishSecretRef: {name: store-creds}",
    ));
    let sockets = tempfile::tempdir().unwrap();
    let (fake, socket) = serve_fake(sockets.path(), PROVIDER);
    let target = tempfile::tempdir().unwrap();
    let standin = CsiStandin::new(client.clone(), &socket, vec![])
        .with_token_requests(vec![
            TokenAudience {
                audience: "vault".into(),
                expiration_seconds: Some(900),
            },
            TokenAudience::from(""),
        ])
        .with_tokens_in_secrets(true);
    standin.mount(NS, POD, target.path()).await.unwrap();
    let request = fake.last_mount();
    let secrets: BTreeMap<String, String> = serde_json::from_str(&request.secrets).unwrap();
    assert_eq!(secrets["clientid"], "app");
    assert_eq!(secrets["clientsecret"], "s<&>");
    assert!(
        request.secrets.contains(r#""s\u003c\u0026\u003e""#),
        "Go's escaping"
    );
    let tokens: BTreeMap<String, Value> =
        serde_json::from_str(&secrets["csi.storage.k8s.io/serviceAccount.tokens"]).unwrap();
    assert_eq!(tokens.keys().collect::<Vec<_>>(), ["", "vault"]);
    let vault = claims(tokens["vault"]["token"].as_str().unwrap());
    assert_eq!(
        vault["exp"].as_i64().unwrap() - vault["iat"].as_i64().unwrap(),
        900
    );
    let api_audience = claims(tokens[""]["token"].as_str().unwrap());
    assert_eq!(
        api_audience["aud"],
        json!([kube_standin::tokens::DEFAULT_AUDIENCE])
    );
    // The driver also copies the tokens into the attributes.
    assert_eq!(
        attributes(&request)["csi.storage.k8s.io/serviceAccount.tokens"],
        secrets["csi.storage.k8s.io/serviceAccount.tokens"]
    );

    // A test can forge what a malicious pod could not: here, another pod's namespace.
    let mut prepared = standin.mount_request(NS, POD).await.unwrap();
    assert_eq!(prepared.socket, socket);
    assert_eq!(prepared.provider, PROVIDER);
    let mut forged = attributes(&prepared.request);
    forged.insert(
        "csi.storage.k8s.io/pod.namespace".into(),
        "kube-system".into(),
    );
    prepared.request.attributes = serde_json::to_string(&forged).unwrap();
    let before = fake.mount_count();
    standin.send(&prepared, target.path()).await.unwrap();
    assert_eq!(fake.mount_count(), before + 1);
    assert_eq!(
        attributes(&fake.last_mount())["csi.storage.k8s.io/pod.namespace"],
        "kube-system"
    );
    assert!(!format!("{prepared:?}").contains("clientsecret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_mounts_and_prints_no_values() {
    let (cluster, _client) = cluster().await;
    let sockets = tempfile::tempdir().unwrap();
    let (_fake, _) = serve_fake(sockets.path(), PROVIDER);
    let target = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_csi-standin"));
        cmd.args([POD, "-n", NS, "--kubeconfig"])
            .arg(cluster.kubeconfig())
            .arg("--providers-dir")
            .arg(sockets.path())
            .arg("--target-dir")
            .arg(target.path())
            .args(["--token-audience", "vault"])
            .args(extra);
        cmd
    };
    // --remount needs a mount to rotate.
    let out = tokio::task::spawn_blocking({
        let mut cmd = run(&["--remount"]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no mounted volume"));

    // --install-crds re-applies the CRDs the cluster already has: idempotent.
    let out = tokio::task::spawn_blocking({
        let mut cmd = run(&["--install-crds"]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("file 0440        6 bytes  db/password"),
        "{stdout}"
    );
    assert!(stdout.contains("object team-a/api version v7"), "{stdout}");
    assert!(stdout.contains(&format!(
        "SecretProviderClassPodStatus {NS}/{POD}-{NS}-{SPC}"
    )));
    assert!(!stdout.contains("s3cr3t") && !stdout.contains("k-123") && !stdout.contains("eyJ"));
    assert_eq!(
        std::fs::read_to_string(target.path().join("db/password")).unwrap(),
        "s3cr3t"
    );

    let out = tokio::task::spawn_blocking({
        let mut cmd = run(&["--remount"]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("(unchanged)"));
}

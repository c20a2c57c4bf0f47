//! What csi-standin refuses, as kubelet or the driver would: bad volumes and
//! SecretProviderClasses before any provider call, and bad provider answers before any file
//! is written (a failed remount leaves the previous payload in place).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use csi_provider_proto::v1alpha1::Error as ProviderError;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};

use common::*;
use csi_standin::{CsiStandin, MountFailure, Providers};

async fn refusal(standin: &CsiStandin, target: &std::path::Path) -> MountFailure {
    standin.mount(NS, POD, target).await.unwrap_err()
}

async fn replace_pod(cluster: &test_support::Cluster, client: &kube::Client, csi_extra: &str) {
    replace_pod_with(
        cluster,
        client,
        &format!("{{secretProviderClass: {SPC}}}"),
        csi_extra,
    )
    .await;
}

async fn replace_pod_with(
    cluster: &test_support::Cluster,
    client: &kube::Client,
    attributes: &str,
    csi_extra: &str,
) {
    Api::<Pod>::namespaced(client.clone(), NS)
        .delete(POD, &DeleteParams::default())
        .await
        .unwrap();
    cluster.apply(&pod_yaml_with(attributes, csi_extra));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_and_secret_provider_class_refusals() {
    let (cluster, client) = cluster().await;
    let sockets = tempfile::tempdir().unwrap();
    let (fake, _) = serve_fake(sockets.path(), PROVIDER);
    let target = tempfile::tempdir().unwrap();
    let standin = CsiStandin::new(client.clone(), sockets.path(), vec![]);
    let text = |e: MountFailure| e.to_string();

    // Not read-only (absent, then false).
    replace_pod(&cluster, &client, "").await;
    assert_eq!(
        text(refusal(&standin, target.path()).await),
        "Readonly is not true in request"
    );
    replace_pod(&cluster, &client, "      readOnly: false").await;
    assert!(matches!(
        refusal(&standin, target.path()).await,
        MountFailure::NotReadOnly
    ));

    // The SecretProviderClass must be in the pod's namespace.
    cluster.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: elsewhere}\n");
    cluster.apply(&spc_yaml("only-elsewhere", "elsewhere", PROVIDER, "{a: b}"));
    replace_pod_with(
        &cluster,
        &client,
        "{secretProviderClass: only-elsewhere}",
        "      readOnly: true",
    )
    .await;
    let err = refusal(&standin, target.path()).await;
    assert_eq!(err.api_code(), Some(404));
    assert_eq!(
        err.to_string(),
        "failed to get secretproviderclass team-a/only-elsewhere, error: secretproviderclasses.secrets-store.csi.x-k8s.io \"only-elsewhere\" not found"
    );

    // No secretProviderClass attribute at all.
    replace_pod_with(&cluster, &client, "{}", "      readOnly: true").await;
    assert_eq!(
        text(refusal(&standin, target.path()).await),
        "secretProviderClass is not set"
    );

    // Empty parameters; a provider name the driver rejects; a provider with no socket.
    replace_pod(&cluster, &client, "      readOnly: true").await;
    cluster.apply(&spc_yaml(SPC, NS, PROVIDER, "{}"));
    assert_eq!(
        text(refusal(&standin, target.path()).await),
        "parameters not set in team-a/app-secrets"
    );
    cluster.apply(&spc_yaml(SPC, NS, "../../tmp/evil", "{a: b}"));
    assert_eq!(
        text(refusal(&standin, target.path()).await),
        "invalid provider: provider \"../../tmp/evil\""
    );
    cluster.apply(&spc_yaml(SPC, NS, "absent", "{a: b}"));
    assert_eq!(
        text(refusal(&standin, target.path()).await),
        "provider not found: provider \"absent\""
    );
    let socket_gone = CsiStandin::new(client.clone(), sockets.path(), vec![])
        .with_providers(Providers::Socket(sockets.path().join("nothing.sock")));
    cluster.apply(&spc_yaml(SPC, NS, PROVIDER, "{a: b}"));
    assert!(matches!(
        refusal(&socket_gone, target.path()).await,
        MountFailure::ProviderNotFound(p) if p == PROVIDER
    ));

    // kubelet: a missing nodePublishSecretRef Secret; a TokenRequest for the pod's service
    // account once the account is gone.
    replace_pod(
        &cluster,
        &client,
        "      readOnly: true\n      nodePublishSecretRef: {name: missing}",
    )
    .await;
    assert_eq!(
        text(refusal(&standin, target.path()).await),
        "fetching NodePublishSecretRef team-a/missing failed: secrets \"missing\" not found"
    );
    replace_pod(&cluster, &client, "      readOnly: true").await;
    cluster.kubectl_ok(&["delete", "serviceaccount", SA, "-n", NS]);
    let with_tokens = CsiStandin::new(client.clone(), sockets.path(), vec!["vault".into()]);
    let err = refusal(&with_tokens, target.path()).await;
    assert!(matches!(err, MountFailure::TokenRequest { .. }), "{err}");
    assert_eq!(err.api_code(), Some(404));

    // None of this reached the provider, and nothing was written.
    assert_eq!(fake.mount_count(), 0);
    assert_eq!(std::fs::read_dir(target.path()).unwrap().count(), 0);
    assert!(matches!(
        standin.mount(NS, "ghost", target.path()).await.unwrap_err(),
        MountFailure::Pod { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_fail_the_mount_and_keep_the_old_files() {
    let (_cluster, client) = cluster().await;
    let sockets = tempfile::tempdir().unwrap();
    let (fake, _) = serve_fake(sockets.path(), PROVIDER);
    let target = tempfile::tempdir().unwrap();
    let standin = CsiStandin::new(client.clone(), sockets.path(), vec![]);
    let first = standin.mount(NS, POD, target.path()).await.unwrap();
    let unchanged = || {
        assert_eq!(
            csi_standin::writer::current_data_dir(target.path()).unwrap(),
            Some(first.data_dir.clone())
        );
        assert_eq!(
            std::fs::read_to_string(target.path().join("db/password")).unwrap(),
            "s3cr3t"
        );
    };

    fake.answer(Answer::Status(tonic::Status::permission_denied(
        "openbao: permission denied for role \"web\" at team-a/db",
    )));
    let err = refusal(&standin, target.path()).await;
    assert_eq!(
        err.to_string(),
        "rpc error: code = PermissionDenied desc = openbao: permission denied for role \"web\" at team-a/db"
    );
    unchanged();

    let mut coded = canned();
    coded.error = Some(ProviderError {
        code: "StoreUnavailable".into(),
    });
    fake.respond(coded);
    assert!(matches!(
        refusal(&standin, target.path()).await,
        MountFailure::ProviderError(code) if code == "StoreUnavailable"
    ));

    let mut no_versions = canned();
    no_versions.object_version.clear();
    fake.respond(no_versions);
    assert_eq!(
        refusal(&standin, target.path()).await.to_string(),
        "missing object versions"
    );

    for (path, mode) in [
        ("../escape", 0o644),
        ("/etc/x", 0o644),
        ("a//b", 0o644),
        ("..data", 0o644),
        ("ok", 0o1000),
    ] {
        let mut bad = canned();
        bad.files.push(file(path, mode, "x"));
        fake.respond(bad);
        let err = refusal(&standin, target.path()).await;
        assert!(
            matches!(
                err,
                MountFailure::InvalidPath { .. } | MountFailure::InvalidMode { .. }
            ),
            "{path}: {err}"
        );
        assert!(!err.to_string().contains("s3cr3t"));
    }
    unchanged();

    // A provider that speaks another API version, or no semantic runtime version.
    fake.respond(canned());
    fake.version.lock().unwrap().version = "v2".into();
    assert!(matches!(
        refusal(&standin, target.path()).await,
        MountFailure::VersionMismatch { got } if got == "v2"
    ));
    *fake.version.lock().unwrap() = csi_provider_proto::v1alpha1::VersionResponse {
        version: "v1alpha1".into(),
        runtime_name: "fake".into(),
        runtime_version: "latest".into(),
    };
    assert!(matches!(
        refusal(&standin, target.path()).await,
        MountFailure::RuntimeVersion { .. }
    ));
    unchanged();

    // No files at all: the driver's legacy "the provider wrote them" case writes nothing.
    fake.version.lock().unwrap().runtime_version = "1.0.0".into();
    let mut empty = canned();
    empty.files.clear();
    fake.respond(empty);
    let mounted = standin.mount(NS, POD, target.path()).await.unwrap();
    assert!(mounted.files.is_empty() && !mounted.changed && mounted.data_dir.is_empty());
    unchanged();
}

//! Mounts from GCP Secret Manager as the pod, through csi-standin (driver v1.6 and the kubelet
//! for one pod) and the real `secrets-agent csi-provider` against gcp-standin: the pod's token
//! for the pool audience (checked by the stand-in against kube-standin's key) exchanged at STS,
//! then impersonation of the Google account the pod's service account annotation names. A
//! change reaches the files; logins are kept per pod identity; no value or token in the log.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::cluster;
use common::provider::{ProviderProcess, connect, params};
use gcp_standin::{Config, GcpStandin, Route};

const READER: &str = "web-reader@my-project.iam.gserviceaccount.com";
const PASSWORD: &str = "pw-gcp-mount-2a9c";
const ROTATED: &str = "pw-gcp-mount-rotated";

fn pod(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  serviceAccountName: web\n  containers: [{{name: app, image: 'app:1', volumeMounts: [{{name: secrets, mountPath: /mnt/secrets, readOnly: true}}]}}]\n  volumes:\n  - name: secrets\n    csi:\n      driver: secrets-store.csi.k8s.io\n      readOnly: true\n      volumeAttributes: {{secretProviderClass: gcp}}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn mounts_as_the_pod_with_workload_identity_federation() {
    let (cluster, client) = cluster().await;
    csi_standin::install_crds(&client).await.unwrap();
    let tokens = cluster.standin().tokens();
    let standin =
        GcpStandin::start(Config::new(tokens.issuer(), &tokens.public_key_pem()).unwrap()).unwrap();
    let control = standin.control();
    let pool = standin.config().pool_audience.clone();
    control.allow_impersonation(
        &standin.config().principal("system:serviceaccount:team:web"),
        READER,
    );
    control.add_version(
        None,
        "db",
        format!(r#"{{"password":"{PASSWORD}"}}"#).as_bytes(),
    );

    cluster.apply(&format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: team\n  annotations: {{iam.gke.io/gcp-service-account: \"{READER}\"}}\n"
    ));
    // The mount store: the pod's own identity, so no service account of its own.
    cluster.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: gcp, namespace: team}}\nspec:\n  provider:\n    gcpsm:\n      projectID: my-project\n      auth:\n        workloadIdentityFederation:\n          audience: \"{pool}\"\n"
    ));
    let parameters = params(&[
        ("store", "gcp"),
        (
            "objects",
            "- path: db/password\n  remoteRef: {key: db, property: password}\n",
        ),
    ]);
    cluster.apply(
        &serde_json::json!({
            "apiVersion": "secrets-store.csi.x-k8s.io/v1",
            "kind": "SecretProviderClass",
            "metadata": {"name": "gcp", "namespace": "team"},
            "spec": {"provider": "kubectl-secrets", "parameters": parameters},
        })
        .to_string(),
    );
    cluster.apply(&pod("web-0"));

    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("kubectl-secrets.sock");
    let url = standin.url();
    let provider = ProviderProcess::start(
        &cluster,
        &socket,
        dir.path(),
        &[
            "--gcp-secretmanager-endpoint",
            &url,
            "--gcp-sts-endpoint",
            &url,
            "--gcp-iamcredentials-endpoint",
            &url,
        ],
        &[],
    );
    drop(connect(&socket).await);
    let driver =
        csi_standin::CsiStandin::new(cluster.client().await, dir.path(), vec![pool.clone()]);

    let target = tempfile::tempdir().unwrap();
    let read =
        |t: &tempfile::TempDir| std::fs::read_to_string(t.path().join("db/password")).unwrap();
    driver.mount("team", "web-0", target.path()).await.unwrap();
    assert_eq!(read(&target), PASSWORD);
    assert_eq!(control.count(Route::StsToken), 1);
    assert_eq!(
        control.count(Route::GenerateAccessToken),
        1,
        "the annotation's account"
    );
    assert_eq!(
        control.principals_seen().last().unwrap(),
        &format!("serviceAccount:{READER}")
    );
    assert_eq!(control.last_sts_form().unwrap()["audience"], pool);

    // A change, then the kubelet's republish: new files; the login is kept per pod identity
    // (a republish brings a fresh pod token, so at most one more exchange).
    control.add_version(
        None,
        "db",
        format!(r#"{{"password":"{ROTATED}"}}"#).as_bytes(),
    );
    let again = driver.mount("team", "web-0", target.path()).await.unwrap();
    assert!(again.changed);
    assert_eq!(read(&target), ROTATED);
    assert!(
        control.count(Route::StsToken) <= 2,
        "{:?}",
        control.counts()
    );

    let log = provider.stop();
    for secret in [PASSWORD, ROTATED, "ya29."] {
        assert!(!log.contains(secret), "{secret} reached the provider's log");
    }
}

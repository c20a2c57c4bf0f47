//! Mounts from Azure Key Vault as the pod, through csi-standin (driver v1.6 and the kubelet
//! for one pod) and the real `secrets-agent csi-provider`, against azure-standin: workload
//! identity (the pod's token for `api://AzureADTokenExchange`, checked by the stand-in against
//! kube-standin's key and the federated credential; the client id from the pod's service
//! account annotation). A change in the vault reaches the files on the republish; no value or
//! token in the provider's log.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use azure_standin::{FederatedCredential, TOKEN_EXCHANGE_AUDIENCE};
use common::cluster;
use common::provider::{ProviderProcess, connect, params};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const PASSWORD: &str = "pw-azure-mount-4a7c";
const ROTATED: &str = "pw-azure-mount-rotated";

fn pod(name: &str, spc: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  serviceAccountName: web\n  containers: [{{name: app, image: 'app:1', volumeMounts: [{{name: secrets, mountPath: /mnt/secrets, readOnly: true}}]}}]\n  volumes:\n  - name: secrets\n    csi:\n      driver: secrets-store.csi.k8s.io\n      readOnly: true\n      volumeAttributes: {{secretProviderClass: {spc}}}\n"
    )
}

fn spc(name: &str) -> String {
    let parameters = params(&[
        ("store", "azure"),
        (
            "objects",
            "- path: db/password\n  remoteRef: {key: secret/db-password}\n",
        ),
    ]);
    serde_json::json!({
        "apiVersion": "secrets-store.csi.x-k8s.io/v1",
        "kind": "SecretProviderClass",
        "metadata": {"name": name, "namespace": "team"},
        "spec": {"provider": "kubectl-secrets", "parameters": parameters},
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn mounts_as_the_pod_with_workload_identity() {
    let (cluster, client) = cluster().await;
    csi_standin::install_crds(&client).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (azure, ca) = common::azure::trusting_standin(&cluster, dir.path()).await;
    let tokens = cluster.standin().tokens();
    azure.add_federated_credential(
        TENANT,
        "app-web",
        FederatedCredential {
            issuer: tokens.issuer().to_owned(),
            subject: "system:serviceaccount:team:web".to_owned(),
            audience: TOKEN_EXCHANGE_AUDIENCE.to_owned(),
        },
    );
    azure.set_secret("db-password", PASSWORD);

    cluster.apply("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: team\n  annotations: {azure.workload.identity/client-id: app-web}\n");
    // The mount store: the pod's own identity, so no serviceAccountRef of its own.
    cluster.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: azure, namespace: team}}\nspec:\n  provider:\n    azurekv:\n      vaultUrl: {}\n      tenantId: {TENANT}\n      authType: WorkloadIdentity\n",
        azure.url()
    ));
    cluster.apply(&spc("kv"));
    cluster.apply(&pod("web-0", "kv"));

    let socket = dir.path().join("kubectl-secrets.sock");
    let url = azure.url();
    let ca_path = ca.to_str().unwrap().to_owned();
    let provider = ProviderProcess::start(
        &cluster,
        &socket,
        dir.path(),
        &[],
        &[
            ("SSL_CERT_FILE", ca_path.as_str()),
            ("AZURE_AUTHORITY_HOST", url.as_str()),
        ],
    );
    drop(connect(&socket).await);
    let driver = csi_standin::CsiStandin::new(
        cluster.client().await,
        dir.path(),
        vec![TOKEN_EXCHANGE_AUDIENCE.to_owned()],
    );

    let target = tempfile::tempdir().unwrap();
    let read =
        |t: &tempfile::TempDir| std::fs::read_to_string(t.path().join("db/password")).unwrap();
    driver.mount("team", "web-0", target.path()).await.unwrap();
    assert_eq!(read(&target), PASSWORD);
    assert_eq!(
        azure.calls("token"),
        1,
        "one Entra login with the pod's token"
    );

    azure.set_secret("db-password", ROTATED);
    let again = driver.mount("team", "web-0", target.path()).await.unwrap();
    assert!(again.changed);
    assert_eq!(read(&target), ROTATED);

    let log = provider.stop();
    for secret in [PASSWORD, ROTATED, "standin-at-", "eyJ"] {
        assert!(!log.contains(secret), "{secret} reached the provider's log");
    }
}

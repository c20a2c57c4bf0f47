//! The sync pattern against Azure Key Vault: kube-standin + azure-standin (loopback TLS, its
//! CA given to the agent through SSL_CERT_FILE, Entra through AZURE_AUTHORITY_HOST) + the real
//! agent binary. Service principal sync and a change picked up by force-sync, wrong
//! credentials giving Ready=False in Entra's words, workload identity with kube-standin tokens
//! (checked by the stand-in against kube-standin's key) and AADSTS70021 naming what was sent,
//! an outage keeping the synced Secret, and no value or token in the agent's log.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use std::collections::BTreeMap;

use azure_standin::{AzureStandIn, FederatedCredential, TOKEN_EXCHANGE_AUDIENCE};
use common::sync::{create_secret, es_ready_when, store_ready_when};
use common::{Agent, cluster, wait_for};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const VALUE: &str = "pw-azure-5c1e9a";
const ROTATED: &str = "pw-azure-rotated-0d4f";
const SP_SECRET: &str = "sp-secret-8e2b77";

async fn data(client: &kube::Client, ns: &str, name: &str) -> Option<BTreeMap<String, String>> {
    let secret = Api::<Secret>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .unwrap()?;
    Some(
        secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
            .collect(),
    )
}

fn store(name: &str, url: &str, auth: &str) -> String {
    format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  provider:\n    azurekv:\n      vaultUrl: {url}\n      tenantId: {TENANT}\n{auth}"
    )
}

fn es(name: &str, store: &str, data: &str) -> String {
    format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  refreshInterval: 1h\n  secretStoreRef: {{name: {store}, kind: SecretStore}}\n  target: {{name: {name}}}\n  data:\n{data}"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn service_principal_and_workload_identity_sync() {
    let (cluster, client) = cluster().await;
    let azure = AzureStandIn::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("azure-ca.pem");
    azure.write_ca_file(&ca).unwrap();
    azure.add_client_secret(TENANT, "app-sp", SP_SECRET);
    azure.set_secret("db-password", VALUE);
    let tokens = cluster.standin().tokens();
    azure
        .trust_issuer(tokens.issuer(), &tokens.public_key_pem())
        .unwrap();
    azure.add_federated_credential(
        TENANT,
        "app-wi",
        FederatedCredential {
            issuer: tokens.issuer().to_owned(),
            subject: "system:serviceaccount:team:web".to_owned(),
            audience: TOKEN_EXCHANGE_AUDIENCE.to_owned(),
        },
    );
    let url = azure.url();
    let ca_path = ca.to_str().unwrap().to_owned();
    let agent = Agent::spawn_env(
        &cluster,
        &[
            "--http-addr",
            "127.0.0.1:0",
            "--lease-duration",
            "3s",
            "--lease-renew",
            "1s",
            "--log-filter",
            "debug",
            "--provider-timeout",
            "5s",
        ],
        &[
            ("SSL_CERT_FILE", ca_path.as_str()),
            ("AZURE_AUTHORITY_HOST", url.as_str()),
        ],
    );

    // Service principal.
    create_secret(
        &client,
        "team",
        "sp",
        &[("id", "app-sp"), ("secret", SP_SECRET)],
    )
    .await;
    let sp_auth = "      authSecretRef:\n        clientId: {name: sp, key: id}\n        clientSecret: {name: sp, key: secret}\n";
    cluster.apply(&store("sp", &url, sp_auth));
    let (ok, reason, message) =
        store_ready_when(&client, "team", "sp", "Ready", |_, r, _| !r.is_empty()).await;
    assert!(ok, "store sp: {reason}: {message}");
    cluster.apply(&es(
        "db",
        "sp",
        "  - secretKey: password\n    remoteRef: {key: db-password}\n",
    ));
    wait_for("the synced value", || async {
        data(&client, "team", "db")
            .await
            .filter(|d| d.get("password").map(String::as_str) == Some(VALUE))
    })
    .await;

    // A change, picked up by a force-sync.
    azure.set_secret("db-password", ROTATED);
    cluster.kubectl_ok(&[
        "annotate",
        "-n",
        "team",
        "externalsecret",
        "db",
        "--overwrite",
        "kubectl-secrets.io/force-sync=1",
    ]);
    wait_for("the rotated value", || async {
        data(&client, "team", "db")
            .await
            .filter(|d| d.get("password").map(String::as_str) == Some(ROTATED))
    })
    .await;

    // Wrong credentials: Ready=False in Entra's words.
    create_secret(
        &client,
        "team",
        "bad",
        &[("id", "app-sp"), ("secret", "not-the-secret")],
    )
    .await;
    cluster.apply(&store(
        "bad",
        &url,
        &sp_auth.replace("name: sp", "name: bad"),
    ));
    let (ok, _, message) = store_ready_when(&client, "team", "bad", "Ready=False", |ok, r, _| {
        !ok && !r.is_empty()
    })
    .await;
    assert!(!ok && message.contains("AADSTS7000215"), "{message}");

    // Workload identity: the account's token as the client assertion.
    cluster.apply("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: team\n  annotations: {azure.workload.identity/client-id: app-wi}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: intruder\n  namespace: team\n  annotations: {azure.workload.identity/client-id: app-wi}\n");
    cluster.apply(&store(
        "wi",
        &url,
        "      authType: WorkloadIdentity\n      serviceAccountRef: {name: web}\n",
    ));
    cluster.apply(&es(
        "wi",
        "wi",
        "  - secretKey: password\n    remoteRef: {key: secret/db-password}\n",
    ));
    wait_for("the value read with workload identity", || async {
        data(&client, "team", "wi")
            .await
            .filter(|d| d.get("password").map(String::as_str) == Some(ROTATED))
    })
    .await;
    cluster.apply(&store(
        "intruder",
        &url,
        "      authType: WorkloadIdentity\n      serviceAccountRef: {name: intruder}\n",
    ));
    cluster.apply(&es(
        "intruder",
        "intruder",
        "  - secretKey: password\n    remoteRef: {key: db-password}\n",
    ));
    let (ok, _, message) = es_ready_when(&client, "team", "intruder", "Ready=False", |ok, r, _| {
        !ok && !r.is_empty()
    })
    .await;
    assert!(!ok, "{message}");
    assert!(
        message.contains("AADSTS70021")
            && message.contains("system:serviceaccount:team:intruder")
            && message.contains(TOKEN_EXCHANGE_AUDIENCE),
        "{message}"
    );
    assert!(azure.calls("token") >= 2);

    // An outage keeps what was synced: Ready=False, the Secret stays.
    azure.set_unavailable(true);
    cluster.kubectl_ok(&[
        "annotate",
        "-n",
        "team",
        "externalsecret",
        "db",
        "--overwrite",
        "kubectl-secrets.io/force-sync=2",
    ]);
    let (ok, _, message) =
        es_ready_when(&client, "team", "db", "Ready=False", |ok, _, _| !ok).await;
    assert!(!ok && message.contains("503"), "{message}");
    let kept = data(&client, "team", "db").await.unwrap();
    assert_eq!(
        kept["password"], ROTATED,
        "the outage removed the synced value"
    );
    azure.set_unavailable(false);

    let logs = agent.stop();
    for secret in [VALUE, ROTATED, SP_SECRET, "standin-at-", "eyJ"] {
        assert!(!logs.contains(secret), "{secret} in the agent's log");
    }
}

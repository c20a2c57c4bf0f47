//! Fixtures for the Azure sync tests and benchmark: a kube-standin cluster, azure-standin
//! (loopback TLS; its CA handed to the agent through `SSL_CERT_FILE`, Entra reached through
//! `AZURE_AUTHORITY_HOST`) trusting the cluster's service-account issuer, and the real agent.
//! Tests then register applications and vault objects on `azure` and apply stores and
//! ExternalSecrets in `team`.

use std::collections::BTreeMap;

use azure_standin::{AzureStandIn, FederatedCredential, TOKEN_EXCHANGE_AUDIENCE};
use test_support::Cluster;

use super::sync::create_secret;
use super::{Agent, cluster};

/// The tenant every store names.
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// Store auth by the service principal Secret `sp` (see [`AzureEnv::service_principal`]).
pub const SP_AUTH: &str = "      authSecretRef:\n        clientId: {name: sp, key: id}\n        clientSecret: {name: sp, key: secret}\n";

pub struct AzureEnv {
    pub cluster: Cluster,
    pub client: kube::Client,
    pub azure: AzureStandIn,
    pub agent: Agent,
    /// The stand-in's URL: the vault URL and the authority host.
    pub url: String,
    _dir: tempfile::TempDir,
}

/// An Azure stand-in that trusts `cluster`'s service-account tokens, and its CA written to
/// `dir` (for the agent's `SSL_CERT_FILE`).
pub async fn trusting_standin(
    cluster: &Cluster,
    dir: &std::path::Path,
) -> (AzureStandIn, std::path::PathBuf) {
    let azure = AzureStandIn::start().await.unwrap();
    let ca = dir.join("azure-ca.pem");
    azure.write_ca_file(&ca).unwrap();
    let tokens = cluster.standin().tokens();
    azure
        .trust_issuer(tokens.issuer(), &tokens.public_key_pem())
        .unwrap();
    (azure, ca)
}

/// Everything up; the agent logs at debug unless `extra` sets `--log-filter`.
pub async fn azure_env(extra: &[&str]) -> AzureEnv {
    let (cluster, client) = cluster().await;
    let dir = tempfile::tempdir().unwrap();
    let (azure, ca) = trusting_standin(&cluster, dir.path()).await;
    let url = azure.url();
    let mut extra = extra.to_vec();
    if !extra.contains(&"--provider-timeout") {
        extra.extend(["--provider-timeout", "5s"]);
    }
    let args = super::test_args(&extra);
    let ca_path = ca.to_str().unwrap().to_owned();
    let agent = Agent::spawn_env(
        &cluster,
        &args,
        &[
            ("SSL_CERT_FILE", ca_path.as_str()),
            ("AZURE_AUTHORITY_HOST", url.as_str()),
        ],
    );
    AzureEnv {
        cluster,
        client,
        azure,
        agent,
        url,
        _dir: dir,
    }
}

impl AzureEnv {
    /// A SecretStore `name` in `team` for the stand-in's vault, with `auth` (indented YAML
    /// under `azurekv`).
    pub fn store(&self, name: &str, auth: &str) -> String {
        format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  provider:\n    azurekv:\n      vaultUrl: {}\n      tenantId: {TENANT}\n{auth}",
            self.url
        )
    }

    /// The application `client_id` with `secret`, and the Secret `team/sp` holding both, as
    /// [`SP_AUTH`] reads them.
    pub async fn service_principal(&self, client_id: &str, secret: &str) {
        self.azure.add_client_secret(TENANT, client_id, secret);
        create_secret(
            &self.client,
            "team",
            "sp",
            &[("id", client_id), ("secret", secret)],
        )
        .await;
    }

    /// The application `client_id` trusting `team/account`'s tokens from the cluster's issuer,
    /// and that service account, annotated with the client id. Returns the store auth.
    pub fn workload_identity(&self, client_id: &str, account: &str) -> String {
        self.azure.add_federated_credential(
            TENANT,
            client_id,
            FederatedCredential {
                issuer: self.cluster.standin().tokens().issuer().to_owned(),
                subject: format!("system:serviceaccount:team:{account}"),
                audience: TOKEN_EXCHANGE_AUDIENCE.to_owned(),
            },
        );
        self.annotated_account(client_id, account)
    }

    /// The service account `team/account` annotated with `client_id` (whatever Entra knows of
    /// it); returns the store auth that uses it.
    pub fn annotated_account(&self, client_id: &str, account: &str) -> String {
        self.cluster.apply(&format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {account}\n  namespace: team\n  annotations: {{azure.workload.identity/client-id: {client_id}}}\n"
        ));
        format!("      authType: WorkloadIdentity\n      serviceAccountRef: {{name: {account}}}\n")
    }

    /// The Secret's data as bytes, if it exists.
    pub async fn bytes(&self, ns: &str, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        super::secret_bytes(&self.client, ns, name).await
    }
}

/// An ExternalSecret `name` in `team` reading `data` (indented YAML list items) from the
/// SecretStore `store` every `interval`, into the Secret `name`.
pub fn external_secret(name: &str, store: &str, interval: &str, data: &str) -> String {
    format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  refreshInterval: {interval}\n  secretStoreRef: {{name: {store}, kind: SecretStore}}\n  target: {{name: {name}}}\n  data:\n{data}"
    )
}

//! Real cloud stand-ins behind SecretStores in namespace `team`, for tests where the plugin
//! reads with the person's own credentials: moto (AWS Secrets Manager, `test_support::Moto`),
//! azure-standin (Entra + Key Vault on loopback TLS) and gcp-standin (Secret Manager).
//!
//! Data flow: [`Aws::start`] / [`Azure::start`] / [`Gcp::start`] start one stand-in and make
//! the person's credentials it trusts → [`Aws::person_env`] (and the others) give the
//! environment the plugin runs with: the credentials where that cloud's SDKs look, plus the
//! endpoint override (`AWS_ENDPOINT_URL`, `AZURE_AUTHORITY_HOST` + `SSL_CERT_FILE`,
//! `SECRETS_AGENT_GCP_SECRETMANAGER_ENDPOINT`) → [`Aws::provider`] (and the others) give
//! `spec.provider` of a store whose own auth names the Secret [`store_secret`] creates, which
//! holds [`STORE_SECRET`]: the plugin must never read it, so tests look for it in every output.

use std::path::PathBuf;

use azure_standin::AzureStandIn;
use gcp_standin::{Config, GcpStandin, ServiceAccountKey};
use serde_json::{Value, json};
use test_support::Moto;

use super::sync::SyncEnv;

/// The store's own Secret holds this; it must never appear anywhere.
pub const STORE_SECRET: &str = "store-own-secret-hunter2";
/// The person's AWS secret key and Azure client secret: never in an output either.
pub const PERSON_SECRET: &str = "person-secret-k3y-5f1e";
pub const AZURE_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const AZURE_PERSON_APP: &str = "person-app";
pub const GCP_PROJECT: &str = "my-project";

/// The Secret `cloud-creds` in `team` that every store's own auth names.
pub fn store_secret(env: &SyncEnv) {
    env.create(
        "team",
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "cloud-creds", "namespace": "team"},
               "stringData": {"id": "AKIASTORE", "secret": STORE_SECRET}}),
    );
}

/// A SecretStore `team/NAME` with `provider` as its `spec.provider`.
pub fn store(env: &SyncEnv, name: &str, provider: Value) {
    env.create(
        "team",
        json!({"apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "SecretStore",
               "metadata": {"name": name, "namespace": "team"},
               "spec": {"provider": provider}}),
    );
}

fn key(k: &str) -> Value {
    json!({"name": "cloud-creds", "key": k})
}

/// moto, and static keys of the person's (moto takes any).
pub struct Aws {
    pub moto: Moto,
}

impl Aws {
    pub fn start() -> Aws {
        Aws {
            moto: Moto::start(),
        }
    }

    pub fn person_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "AKIAPERSON".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", PERSON_SECRET.to_owned()),
            ("AWS_ENDPOINT_URL", self.moto.url().to_owned()),
        ]
    }

    /// `spec.provider` in moto's region, the store's own keys in `cloud-creds`.
    pub fn provider(&self) -> Value {
        json!({"aws": {"service": "SecretsManager", "region": Moto::REGION,
               "auth": {"secretRef": {"accessKeyIDSecretRef": key("id"),
                                      "secretAccessKeySecretRef": key("secret")}}}})
    }
}

/// azure-standin with a service principal of the person's, and its CA in a file.
pub struct Azure {
    pub standin: AzureStandIn,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Azure {
    /// Started on `rt`, which must outlive it (the server runs on that runtime).
    pub fn start(rt: &tokio::runtime::Runtime) -> Azure {
        let standin = rt.block_on(AzureStandIn::start()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("azure-ca.pem");
        standin.write_ca_file(&ca).unwrap();
        standin.add_client_secret(AZURE_TENANT, AZURE_PERSON_APP, PERSON_SECRET);
        Azure {
            standin,
            ca,
            _dir: dir,
        }
    }

    pub fn person_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_CLIENT_ID", AZURE_PERSON_APP.to_owned()),
            ("AZURE_CLIENT_SECRET", PERSON_SECRET.to_owned()),
            ("AZURE_TENANT_ID", AZURE_TENANT.to_owned()),
            ("AZURE_AUTHORITY_HOST", self.standin.url()),
            ("SSL_CERT_FILE", self.ca.to_str().unwrap().to_owned()),
        ]
    }

    /// `spec.provider` for the stand-in's vault, a service principal in `cloud-creds`.
    pub fn provider(&self) -> Value {
        json!({"azurekv": {"vaultUrl": self.standin.url(), "tenantId": AZURE_TENANT,
               "authSecretRef": {"clientId": key("id"), "clientSecret": key("secret")}}})
    }
}

/// gcp-standin trusting a service-account key of the person's, written to a file.
pub struct Gcp {
    pub standin: GcpStandin,
    key_file: PathBuf,
    /// The key JSON's private key: never in an output.
    pub private_key_marker: &'static str,
    _dir: tempfile::TempDir,
}

impl Gcp {
    /// `env`'s kube-standin is the (unused here) workload identity issuer the stand-in needs.
    pub fn start(env: &SyncEnv) -> Gcp {
        let tokens = env.cluster.standin().tokens();
        let config = Config::new(tokens.issuer(), &tokens.public_key_pem()).unwrap();
        let standin = GcpStandin::start(config).unwrap();
        let sa =
            ServiceAccountKey::generate("person@my-project.iam.gserviceaccount.com", GCP_PROJECT)
                .unwrap();
        standin
            .control()
            .register_key(&sa.email, &sa.key_id, &sa.public_key_der);
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("person-key.json");
        std::fs::write(&key_file, &sa.json).unwrap();
        Gcp {
            standin,
            key_file,
            private_key_marker: "PRIVATE KEY",
            _dir: dir,
        }
    }

    pub fn person_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "GOOGLE_APPLICATION_CREDENTIALS",
                self.key_file.to_str().unwrap().to_owned(),
            ),
            (
                "SECRETS_AGENT_GCP_SECRETMANAGER_ENDPOINT",
                self.standin.url(),
            ),
        ]
    }

    /// `spec.provider` for the stand-in's project, a key JSON in `cloud-creds`.
    pub fn provider(&self) -> Value {
        json!({"gcpsm": {"projectID": GCP_PROJECT,
               "auth": {"secretRef": {"secretAccessKeySecretRef": key("secret")}}}})
    }
}

/// `pairs` as `SyncEnv::run` takes them.
pub fn borrowed<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

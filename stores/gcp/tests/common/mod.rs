//! The GCP store against gcp-standin: a stand-in whose pool trusts a kube-standin signer, and
//! stores opened with each kind of credentials.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test equipment"
)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use gcp_standin::{Config, GcpStandin, ServiceAccountKey};
use kube_standin::tokens::{Subject, TokenSigner};
use secrets_core::api::secret_store::GcpSmProvider;
use secrets_core::store::{Credentials, FederatedToken, OpenOptions};
use secrets_store_gcp::GcpStore;
use zeroize::Zeroizing;

pub(crate) const ISSUER: &str = "https://kube.test";
pub(crate) const READER: &str = "reader@my-project.iam.gserviceaccount.com";

pub(crate) struct Env {
    pub(crate) standin: GcpStandin,
    pub(crate) signer: TokenSigner,
    pub(crate) calls: Arc<Mutex<Vec<(String, String)>>>,
}

pub(crate) fn env() -> Env {
    let signer = TokenSigner::new(ISSUER).unwrap();
    let config = Config::new(ISSUER, &signer.public_key_pem()).unwrap();
    Env {
        standin: GcpStandin::start(config).unwrap(),
        signer,
        calls: Arc::default(),
    }
}

impl Env {
    pub(crate) fn pool(&self) -> String {
        self.standin.config().pool_audience.clone()
    }

    pub(crate) fn options(&self) -> OpenOptions {
        let mut options = OpenOptions::new("SecretStore team/gcp");
        let url = self.standin.url();
        options.endpoints.gcp_secretmanager_url = Some(url.clone());
        options.endpoints.gcp_sts_url = Some(url.clone());
        options.endpoints.gcp_iamcredentials_url = Some(url);
        let calls = self.calls.clone();
        options.observer = Some(Arc::new(move |store, call, outcome| {
            assert_eq!(store.as_str(), "gcpsm");
            calls
                .lock()
                .unwrap()
                .push((call.to_owned(), outcome.to_owned()));
        }));
        options
    }

    /// A key JSON the stand-in trusts, for `email`.
    pub(crate) fn key(&self, email: &str) -> Credentials {
        let key = ServiceAccountKey::generate(email, "my-project").unwrap();
        self.standin
            .control()
            .register_key(&key.email, &key.key_id, &key.public_key_der);
        Credentials::Keys(BTreeMap::from([(
            "secretAccessKey".to_owned(),
            Zeroizing::new(key.json),
        )]))
    }

    pub(crate) fn kube_token(&self, audience: &str) -> String {
        let subject = Subject {
            namespace: "team".into(),
            name: "app".into(),
            uid: "u-1".into(),
        };
        self.signer
            .issue(
                &subject,
                &[audience.to_owned()],
                3600,
                time::OffsetDateTime::now_utc(),
            )
            .unwrap()
    }

    /// team/app's token for `audience`, with `annotations`.
    pub(crate) fn federated(&self, audience: &str, annotations: &[(&str, &str)]) -> Credentials {
        Credentials::Federated(Box::new(FederatedToken {
            token: Zeroizing::new(self.kube_token(audience)),
            audiences: vec![audience.to_owned()],
            namespace: "team".into(),
            service_account: "app".into(),
            annotations: annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..FederatedToken::default()
        }))
    }

    pub(crate) fn principal(&self) -> String {
        self.standin
            .config()
            .principal("system:serviceaccount:team:app")
    }

    pub(crate) fn open(&self, provider: serde_json::Value, credentials: Credentials) -> GcpStore {
        self.open_with(provider, credentials, self.options())
    }

    pub(crate) fn open_with(
        &self,
        provider: serde_json::Value,
        credentials: Credentials,
        options: OpenOptions,
    ) -> GcpStore {
        let provider: GcpSmProvider = serde_json::from_value(provider).unwrap();
        secrets_store_gcp::open_store(&provider, Arc::new(credentials), options).unwrap()
    }

    pub(crate) fn calls_of(&self, call: &str) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _)| c == call)
            .map(|(_, o)| o.clone())
            .collect()
    }
}

pub(crate) fn key_store() -> serde_json::Value {
    serde_json::json!({"projectID": "my-project", "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "k", "key": "key.json"}}}})
}

pub(crate) fn wif_store(pool: &str, email: Option<&str>) -> serde_json::Value {
    let mut wif = serde_json::json!({"audience": pool, "serviceAccountRef": {"name": "app"}});
    if let Some(email) = email {
        wif["gcpServiceAccountEmail"] = email.into();
    }
    serde_json::json!({"projectID": "my-project", "auth": {"workloadIdentityFederation": wif}})
}

//! The mount endpoint's fixtures: the controller with `--mount-addr`, pods and their bound
//! tokens, mount-only SealedSecrets, and the provider's `HttpsLink` to it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use secrets_agent::mount::https_link::{HttpsLink, LinkSettings};
use secrets_agent::mount::link::{LinkError, SealedItem};
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::mount::MOUNT_ONLY_ANNOTATION;
use secrets_core::mount::mount_key::{CERT_FIELD, Pinned};
use secrets_core::mount::request::{PodIdentity, PodToken};
use secrets_core::seal::crypto::Scope;
use secrets_core::seal::keys::Certificate;
use test_support::Cluster;
use zeroize::Zeroizing;

use super::{Agent, cluster, plain, wait_for, wait_keys};

pub const PROVIDER: &str = "csi/provider";

pub struct Setup {
    pub cluster: Cluster,
    pub client: kube::Client,
    pub cert: Option<Certificate>,
    pub token_dir: tempfile::TempDir,
}

impl Setup {
    pub async fn new() -> Setup {
        let (cluster, client) = cluster().await;
        cluster.create_service_accounts("team", &["web"]);
        cluster.create_service_accounts("other", &["web"]);
        cluster.create_service_accounts("csi", &["provider"]);
        let token_dir = tempfile::tempdir().unwrap();
        Setup {
            cluster,
            client,
            cert: None,
            token_dir,
        }
    }

    pub fn agent(&self, port: u16, extra: &[&str]) -> Agent {
        let addr = format!("127.0.0.1:{port}");
        let mut args = vec![
            "--mount-addr",
            &addr,
            "--csi-provider-service-account",
            PROVIDER,
        ];
        args.extend_from_slice(extra);
        Agent::start_with(&self.cluster, &args)
    }

    /// Wait for the sealing key and the published mount certificate; the link to `port`.
    pub async fn ready(&mut self, port: u16) -> HttpsLink {
        self.cert = Some(wait_keys(&self.client, 1).await);
        let maps: Api<ConfigMap> = Api::namespaced(self.client.clone(), "kubectl-secrets");
        wait_for("the published mount certificate", || {
            let maps = maps.clone();
            async move {
                maps.get_opt("secrets-agent-mount")
                    .await
                    .ok()??
                    .data?
                    .get(CERT_FIELD)
                    .cloned()
            }
        })
        .await;
        HttpsLink::new(
            self.client.clone(),
            LinkSettings {
                agent_url: format!("https://127.0.0.1:{port}"),
                agent_namespace: "kubectl-secrets".into(),
                config_map: "secrets-agent-mount".into(),
                identity_token_file: self.token_dir.path().join("token"),
            },
        )
        .unwrap()
    }

    pub async fn pin(&self) -> Pinned {
        let maps: Api<ConfigMap> = Api::namespaced(self.client.clone(), "kubectl-secrets");
        let map = maps.get("secrets-agent-mount").await.unwrap();
        Pinned::from_pem(&map.data.unwrap()[CERT_FIELD]).unwrap()
    }

    /// A Running pod `namespace/name` of service account `web`.
    pub async fn pod(&self, namespace: &str, name: &str) -> PodIdentity {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"serviceAccountName": "web", "containers": [{"name": "app", "image": "app"}]},
        }))
        .unwrap();
        let created = pods.create(&PostParams::default(), &pod).await.unwrap();
        let status = serde_json::json!({"status": {"phase": "Running"}});
        pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
        PodIdentity {
            namespace: namespace.into(),
            name: name.into(),
            uid: created.metadata.uid.unwrap(),
            service_account: "web".into(),
        }
    }

    /// Put `token` where the link reads the provider's own identity token.
    pub fn provider_identity(&self, token: &str) {
        std::fs::write(self.token_dir.path().join("token"), token).unwrap();
    }

    /// Give the link the provider's own token (service account `csi/provider`) for `audience`.
    pub fn provider_token(&self, audience: &str) {
        self.provider_identity(
            &self
                .cluster
                .token_request("csi", "provider", &[audience], 600),
        );
    }

    pub fn token(&self, pod: &PodIdentity, audience: &str) -> PodToken {
        let token = self.cluster.pod_token_request(
            &pod.namespace,
            &pod.service_account,
            &pod.name,
            &[audience],
            600,
        );
        PodToken {
            token: Zeroizing::new(token),
            expiration: String::new(),
        }
    }

    pub async fn seal(&self, name: &str, mount_only: bool, password: &str) -> SealedSecret {
        let mut sealed = secrets_core::seal::seal_secret(
            &plain(
                name,
                "team",
                &[("password", password), ("user", "billing-app")],
            ),
            self.cert.as_ref().unwrap().public_key(),
            Scope::Strict,
        )
        .unwrap();
        if mount_only {
            sealed.metadata.annotations = Some(BTreeMap::from([(
                MOUNT_ONLY_ANNOTATION.to_owned(),
                "true".to_owned(),
            )]));
        }
        sealed
    }

    pub async fn create(&self, sealed: &SealedSecret) {
        Api::<SealedSecret>::namespaced(self.client.clone(), "team")
            .create(&PostParams::default(), sealed)
            .await
            .unwrap();
    }
}

pub fn items(name: &str, keys: &[&str]) -> Vec<SealedItem> {
    keys.iter()
        .map(|key| SealedItem {
            path: format!("{name}/{key}"),
            name: name.into(),
            key: (*key).into(),
        })
        .collect()
}

pub fn refused(result: Result<impl std::fmt::Debug, LinkError>) -> LinkError {
    match result {
        Ok(files) => panic!("expected a refusal, got {files:?}"),
        Err(err) => err,
    }
}

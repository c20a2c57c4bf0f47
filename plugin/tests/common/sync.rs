//! Fixtures for the sync commands: a kube-standin cluster with the sync CRDs, a real OpenBao
//! dev server holding `secret/app/db` and `secret/app/config`, a person's token that may read
//! and list them, a SecretStore `vault` in namespace `team` (its own token Secret holds the
//! root token, which the plugin must never use), and a private HOME.
//!
//! The plugin runs with a cleared environment plus what each test sets, so a developer's own
//! `VAULT_TOKEN` or `~/.vault-token` can never leak into a test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt as _;
use kube::api::{Api, Patch, PatchParams, PostParams};
use secrets_core::api::{ClusterSecretStore, ExternalSecret, SecretStore};
use serde_json::{Value, json};
use test_support::{Cluster, OpenBao};

use super::BIN;

/// The value tests look for in every output to prove it never leaks.
pub const DB_PASSWORD: &str = "hunter2-remote-pw";

pub const PERSON_POLICY: &str = r#"
path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read", "list"] }
"#;

pub struct SyncEnv {
    pub cluster: Cluster,
    pub bao: OpenBao,
    /// A token of the person's, allowed to read and list `secret/`.
    pub person_token: String,
    /// The plugin's HOME (empty: no `~/.vault-token` unless a test writes one).
    pub home: tempfile::TempDir,
    pub rt: tokio::runtime::Runtime,
    pub client: kube::Client,
}

impl SyncEnv {
    pub fn start() -> SyncEnv {
        let cluster = Cluster::start();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let client = rt.block_on(cluster.client());
        let bao = OpenBao::start_dev();
        bao.write_policy("person", PERSON_POLICY);
        let person_token = bao.create_token(&["person"]);
        bao.kv2_put(
            "secret",
            "app/db",
            json!({"password": DB_PASSWORD, "user": "app"}),
        );
        bao.kv2_put("secret", "app/config", json!({"mode": "prod"}));
        bao.kv2_put("secret", "other", json!({"k": "v"}));
        let env = SyncEnv {
            cluster,
            bao,
            person_token,
            home: tempfile::tempdir().unwrap(),
            rt,
            client,
        };
        env.rt.block_on(async {
            let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
            for crd in [
                ExternalSecret::crd(),
                SecretStore::crd(),
                ClusterSecretStore::crd(),
            ] {
                crds.create(&PostParams::default(), &crd).await.unwrap();
            }
            let namespaces: Api<Namespace> = Api::all(env.client.clone());
            for ns in ["team", "ops"] {
                let body: Namespace =
                    serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
                namespaces
                    .create(&PostParams::default(), &body)
                    .await
                    .unwrap();
            }
            let secret: Secret = serde_json::from_value(json!({
                "metadata": {"name": "vault-token"},
                "stringData": {"token": env.bao.root_token()},
            }))
            .unwrap();
            Api::<Secret>::namespaced(env.client.clone(), "team")
                .create(&PostParams::default(), &secret)
                .await
                .unwrap();
        });
        env.token_store("team", "vault", env.bao.addr());
        env
    }

    /// A SecretStore for `server`'s `secret/` mount (KV v2) that logs in with the token in
    /// the namespace's Secret `vault-token`.
    pub fn token_store(&self, namespace: &str, name: &str, server: &str) {
        self.create(
            namespace,
            json!({
                "apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "SecretStore",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"provider": {"vault": {
                    "server": server, "path": "secret", "version": "v2",
                    "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}
                }}}
            }),
        );
    }

    pub fn kubeconfig(&self) -> &Path {
        self.cluster.kubeconfig()
    }

    /// The plugin's command with a cleared environment: KUBECONFIG, HOME and `env`.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env_clear()
            .env("KUBECONFIG", self.kubeconfig())
            .env("HOME", self.home.path())
            .env("XDG_CACHE_HOME", self.home.path().join("cache"));
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }

    /// Run the plugin (stdin closed).
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Run with the person's token in VAULT_TOKEN and require success: (stdout, stderr).
    pub fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args, &[("VAULT_TOKEN", &self.person_token)]);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(
            out.status.success(),
            "kubectl-secrets {args:?} failed: {stderr}"
        );
        (stdout, stderr)
    }

    /// Create any object with kube-rs (dynamic: the body says what it is).
    pub fn create(&self, namespace: &str, body: Value) {
        let kind = body["kind"].as_str().unwrap().to_owned();
        self.rt.block_on(async {
            match kind.as_str() {
                "SecretStore" => {
                    let store: SecretStore = serde_json::from_value(body).unwrap();
                    Api::<SecretStore>::namespaced(self.client.clone(), namespace)
                        .create(&PostParams::default(), &store)
                        .await
                        .unwrap();
                }
                "ClusterSecretStore" => {
                    let store: ClusterSecretStore = serde_json::from_value(body).unwrap();
                    Api::<ClusterSecretStore>::all(self.client.clone())
                        .create(&PostParams::default(), &store)
                        .await
                        .unwrap();
                }
                "ExternalSecret" => {
                    let es: ExternalSecret = serde_json::from_value(body).unwrap();
                    Api::<ExternalSecret>::namespaced(self.client.clone(), namespace)
                        .create(&PostParams::default(), &es)
                        .await
                        .unwrap();
                }
                "Secret" => {
                    let secret: k8s_openapi::api::core::v1::Secret =
                        serde_json::from_value(body).unwrap();
                    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(
                        self.client.clone(),
                        namespace,
                    )
                    .create(&PostParams::default(), &secret)
                    .await
                    .unwrap();
                }
                other => panic!("cannot create a {other}"),
            }
        });
    }

    /// A namespaced object as the API server holds it, as JSON.
    fn get<K>(&self, namespace: &str, name: &str) -> Option<Value>
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        self.rt.block_on(async {
            Api::<K>::namespaced(self.client.clone(), namespace)
                .get_opt(name)
                .await
                .unwrap()
                .map(|o| serde_json::to_value(o).unwrap())
        })
    }

    /// The ExternalSecret, as JSON.
    pub fn es(&self, namespace: &str, name: &str) -> Option<Value> {
        self.get::<ExternalSecret>(namespace, name)
    }

    /// The SecretStore, as JSON.
    pub fn store(&self, namespace: &str, name: &str) -> Option<Value> {
        self.get::<SecretStore>(namespace, name)
    }

    /// Write an ExternalSecret's status, as the agent would.
    pub fn set_status(&self, namespace: &str, name: &str, status: Value) {
        self.rt.block_on(async {
            Api::<ExternalSecret>::namespaced(self.client.clone(), namespace)
                .patch_status(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({ "status": status })),
                )
                .await
                .unwrap();
        });
    }

    /// A file under HOME.
    pub fn home_file(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }
}

/// `spec` of an ExternalSecret JSON, for exact comparisons.
pub fn spec(es: &Value) -> &Value {
    &es["spec"]
}

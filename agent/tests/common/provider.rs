//! Fixtures for the provider's tests (mount_flow, mount_link, mount_driver): a stand-in cluster with our CRDs and the driver's (as
//! csi-standin installs them), a real OpenBao whose kubernetes auth reviews against the stand-in, pods with their
//! service accounts, the real `secrets-agent csi-provider` binary on a socket in a temporary
//! directory, and MountRequests built as driver v1.6 builds them (SPC parameters, the pod's
//! volumeAttributes over them, the kubelet's pod keys, the tokens JSON).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use csi_provider_proto::v1alpha1::csi_driver_provider_client::CsiDriverProviderClient;
use csi_provider_proto::v1alpha1::{MountRequest, MountResponse};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use test_support::{Cluster, OpenBao};
use tonic::transport::Channel;

use super::{cluster, wait_for};

/// The read policy of the `web` role: its own namespace's secrets only.
pub const TEAM_POLICY: &str = r#"
path "secret/data/team/*" { capabilities = ["read"] }
path "kv1/team/*" { capabilities = ["read"] }
"#;

/// A pod as the kubelet names it.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub service_account: String,
}

pub struct MountEnv {
    pub cluster: Cluster,
    pub client: kube::Client,
    pub bao: OpenBao,
    pub dir: tempfile::TempDir,
}

/// Everything up: CRDs, OpenBao with `TEAM_POLICY` and role `web` (service account `web` of
/// `team`, audience `vault`), service accounts `web` and `other` in `team`, the SecretStore
/// `vault` in `team` (kubernetes auth, role `web`, no serviceAccountRef).
pub async fn mount_env() -> MountEnv {
    let (cluster, client) = cluster().await;
    // The driver's CRDs as csi-standin installs them (SecretProviderClass, its pod status).
    csi_standin::install_crds(&client).await.unwrap();
    let bao = cluster.openbao();
    bao.enable_kv("kv1", 1);
    bao.write_policy("team", TEAM_POLICY);
    bao.create_role("web", &["web"], &["team"], &["team"], Some("vault"));
    cluster.create_service_accounts("team", &["web", "other"]);
    let env = MountEnv {
        cluster,
        client,
        bao,
        dir: tempfile::tempdir().unwrap(),
    };
    env.apply(&env.store("vault", "web", ""));
    env
}

impl MountEnv {
    pub fn apply(&self, yaml: &str) {
        self.cluster.apply(yaml);
    }

    /// A SecretStore `name` in `team` with kubernetes auth as `role`; `extra` lines go under
    /// `auth.kubernetes` (indented by 10).
    pub fn store(&self, name: &str, role: &str, extra: &str) -> String {
        format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  provider:\n    vault:\n      server: {}\n      path: secret\n      version: v2\n      auth:\n        kubernetes:\n          role: {role}\n{extra}",
            self.bao.addr()
        )
    }

    /// Create the pod `name` in `team` running as `service_account`, and return how the
    /// kubelet would name it.
    pub async fn pod(&self, name: &str, service_account: &str) -> PodInfo {
        self.apply(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: team}}\nspec: {{serviceAccountName: {service_account}, containers: [{{name: app, image: 'app:1'}}]}}\n"
        ));
        let pod = Api::<Pod>::namespaced(self.client.clone(), "team")
            .get(name)
            .await
            .unwrap();
        PodInfo {
            namespace: "team".into(),
            name: name.into(),
            uid: pod.metadata.uid.unwrap(),
            service_account: service_account.into(),
        }
    }

    /// A token bound to `pod` for `audience`, as the kubelet asks for the driver's
    /// `tokenRequests`.
    pub fn token(&self, pod: &PodInfo, audience: &str) -> String {
        self.cluster.pod_token_request(
            &pod.namespace,
            &pod.service_account,
            &pod.name,
            &[audience],
            3600,
        )
    }

    /// A SecretProviderClass `name` in `team` with these parameters.
    pub fn spc(&self, name: &str, parameters: &BTreeMap<String, String>) {
        let spc = serde_json::json!({
            "apiVersion": "secrets-store.csi.x-k8s.io/v1",
            "kind": "SecretProviderClass",
            "metadata": {"name": name, "namespace": "team"},
            "spec": {"provider": "kubectl-secrets", "parameters": parameters},
        });
        self.apply(&spc.to_string());
    }

    /// TokenReviews the stand-in answered: one per OpenBao kubernetes login.
    pub fn token_reviews(&self) -> u64 {
        self.cluster
            .standin()
            .control()
            .count("tokenreviews", "create")
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("kubectl-secrets.sock")
    }

    /// Start the provider binary on [`MountEnv::socket`] at debug level.
    pub fn start_provider(&self) -> ProviderProcess {
        self.start_provider_with(&[])
    }

    /// As [`MountEnv::start_provider`], with extra flags (a `--log-filter` among them replaces
    /// the debug level).
    pub fn start_provider_with(&self, extra: &[&str]) -> ProviderProcess {
        self.start_provider_env(extra, &[])
    }

    /// As [`MountEnv::start_provider_with`], with extra environment (`AWS_ENDPOINT_URL`, ...).
    pub fn start_provider_env(&self, extra: &[&str], env: &[(&str, &str)]) -> ProviderProcess {
        ProviderProcess::start(&self.cluster, &self.socket(), self.dir.path(), extra, env)
    }
}

/// `parameters` from `(name, value)` pairs.
pub fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The MountRequest driver v1.6 sends: the SPC's parameters, the volume's attributes over
/// them (`secretProviderClass` and `extra`), the kubelet's pod keys, and the tokens.
pub fn mount_request(
    spc_name: &str,
    spc_parameters: &BTreeMap<String, String>,
    extra: &[(&str, &str)],
    pod: &PodInfo,
    tokens: &[(&str, &str)],
) -> MountRequest {
    let mut attributes = spc_parameters.clone();
    attributes.insert("secretProviderClass".into(), spc_name.into());
    for (k, v) in extra {
        attributes.insert((*k).into(), (*v).into());
    }
    attributes.insert("csi.storage.k8s.io/pod.name".into(), pod.name.clone());
    attributes.insert(
        "csi.storage.k8s.io/pod.namespace".into(),
        pod.namespace.clone(),
    );
    attributes.insert("csi.storage.k8s.io/pod.uid".into(), pod.uid.clone());
    attributes.insert(
        "csi.storage.k8s.io/serviceAccount.name".into(),
        pod.service_account.clone(),
    );
    attributes.insert("csi.storage.k8s.io/ephemeral".into(), "false".into());
    if !tokens.is_empty() {
        let expiry = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let map: serde_json::Map<String, serde_json::Value> = tokens
            .iter()
            .map(|(aud, token)| {
                (
                    (*aud).to_owned(),
                    serde_json::json!({"token": token, "expirationTimestamp": expiry}),
                )
            })
            .collect();
        attributes.insert(
            "csi.storage.k8s.io/serviceAccount.tokens".into(),
            serde_json::Value::Object(map).to_string(),
        );
    }
    MountRequest {
        attributes: serde_json::to_string(&attributes).unwrap(),
        secrets: "null".into(),
        target_path: format!(
            "/var/lib/kubelet/pods/{}/volumes/kubernetes.io~csi/secrets/mount",
            pod.uid
        ),
        permission: "420".into(),
        current_object_version: Vec::new(),
    }
}

/// Dial the socket, waiting until it answers.
pub async fn connect(socket: &Path) -> CsiDriverProviderClient<Channel> {
    wait_for("the provider socket", || async {
        csi_provider_proto::connect(socket).await.ok()
    })
    .await
}

/// Mount and return the answer, or the status message (with its code).
pub async fn mount(
    client: &mut CsiDriverProviderClient<Channel>,
    request: MountRequest,
) -> Result<MountResponse, (tonic::Code, String)> {
    client
        .mount(request)
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| (s.code(), s.message().to_owned()))
}

/// The running `secrets-agent csi-provider`, stdout and stderr in one log file.
pub struct ProviderProcess {
    pub child: Child,
    pub log: PathBuf,
}

impl ProviderProcess {
    /// Start the provider on `socket`, its log in `dir`.
    pub fn start(
        cluster: &Cluster,
        socket: &Path,
        dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> ProviderProcess {
        let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let log = dir.join(format!("provider-{n}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        // Debug level unless the caller sets its own filter (a benchmark measures at info).
        let filter: &[&str] = if extra.iter().any(|a| a.starts_with("--log-filter")) {
            &[]
        } else {
            &["--log-filter", "debug"]
        };
        let child = Command::new(env!("CARGO_BIN_EXE_secrets-agent"))
            .args(["csi-provider", "--metrics-addr", "127.0.0.1:0"])
            .arg(format!("--socket={}", socket.display()))
            .args(filter)
            .args(["--provider-timeout", "5s"])
            .args(extra)
            .env("KUBECONFIG", cluster.kubeconfig())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        ProviderProcess { child, log }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The metrics address from its log.
    pub async fn metrics_addr(&self) -> String {
        wait_for("the provider's metrics listener", || async {
            self.logs().lines().find_map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).ok()?;
                let f = v.get("fields")?;
                (f.get("server")?.as_str()? == "metrics")
                    .then(|| f.get("address")?.as_str().map(str::to_owned))?
            })
        })
        .await
    }

    /// `GET path` on the metrics port: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let addr = self.metrics_addr().await;
        let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
        super::agent_get(port, path).await.unwrap()
    }

    /// The sum of the series starting with `prefix` on /metrics.
    pub async fn metric(&self, prefix: &str) -> f64 {
        let (_, body) = self.get("/metrics").await;
        body.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// SIGTERM, wait for a clean exit, and return the log.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "provider exit status {status}");
        self.logs()
    }
}

impl Drop for ProviderProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

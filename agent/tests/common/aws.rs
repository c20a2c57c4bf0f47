//! Fixtures for the AWS tests: a stand-in cluster with our CRDs, the real moto behind our
//! aws-standin (counting, faults, the batch limit, token checks against kube-standin's key),
//! static keys in the Secret `team/aws-keys` (the only static keys the stand-in accepts), the
//! service account `team/app` annotated with [`ROLE`] for IRSA, and the agent pointed at the
//! stand-in through `AWS_ENDPOINT_URL`, as an SDK would be.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_standin::AwsStandin;
use kube::api::{Api, Patch, PatchParams};
use secrets_core::api::ExternalSecret;
use test_support::{Cluster, Moto};

use super::sync::{
    create_secret, es_ready_when, metrics_addr, store_ready_when, wait_secret_value,
};
use super::{Agent, cluster, wait_for};

pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY: &str = "AKIAAWSEQUIPTEST0001";
pub const SECRET_KEY: &str = "static-secret-key-aws-equip-7f3a";
/// The role IRSA assumes for `team/app` (its `eks.amazonaws.com/role-arn`).
pub const ROLE: &str = "arn:aws:iam::123456789012:role/app-reader";

pub struct AwsEnv {
    pub cluster: Cluster,
    pub client: kube::Client,
    /// Shared, so a benchmark can run two agents against the same secrets.
    pub moto: Arc<Moto>,
    pub standin: AwsStandin,
    pub agent: Agent,
}

/// Everything up; the static-key SecretStore `aws` in `team` Ready.
pub async fn aws_env(agent_args: &[&str]) -> AwsEnv {
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    aws_env_with(Arc::new(moto), agent_args).await
}

/// [`aws_env`] on an existing moto (a new cluster, stand-in and agent).
pub async fn aws_env_with(moto: Arc<Moto>, agent_args: &[&str]) -> AwsEnv {
    let (cluster, client) = cluster().await;
    let standin = AwsStandin::start(moto.url()).unwrap();
    let tokens = cluster.standin().tokens();
    standin
        .control()
        .trust_tokens(tokens.issuer(), &tokens.public_key_pem());
    standin.control().accept_keys(&[ACCESS_KEY]);
    create_secret(
        &client,
        "team",
        "aws-keys",
        &[("access-key", ACCESS_KEY), ("secret-key", SECRET_KEY)],
    )
    .await;
    cluster.apply(&format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  namespace: team\n  annotations: {{eks.amazonaws.com/role-arn: \"{ROLE}\"}}\n"
    ));
    let mut args = vec!["--provider-timeout", "2s"];
    args.extend_from_slice(agent_args);
    let agent = start_agent(&cluster, &standin, &args);
    let env = AwsEnv {
        cluster,
        client,
        moto,
        standin,
        agent,
    };
    env.apply(&env.store("aws", STATIC_AUTH)).await;
    let (ok, reason, message) = env.store_ready("team", "aws").await;
    assert!(ok, "store not valid: {reason}: {message}");
    env
}

/// The agent (debug logs unless `args` sets a filter) with `AWS_ENDPOINT_URL` at the stand-in.
pub fn start_agent(cluster: &Cluster, standin: &AwsStandin, args: &[&str]) -> Agent {
    let mut all = vec![
        "--http-addr",
        "127.0.0.1:0",
        "--lease-duration",
        "3s",
        "--lease-renew",
        "1s",
    ];
    if !args.contains(&"--log-filter") {
        all.extend(["--log-filter", "debug"]);
    }
    all.extend_from_slice(args);
    let url = standin.url();
    Agent::spawn_env(
        cluster,
        &all,
        &aws_env_vars(&url, &standin.pod_identity_url()),
    )
}

/// The environment that points an agent or provider at the stand-in.
pub fn aws_env_vars<'a>(url: &'a str, pod_identity_url: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("AWS_ENDPOINT_URL", url),
        ("SECRETS_AGENT_AWS_POD_IDENTITY_ENDPOINT", pod_identity_url),
    ]
}

/// `auth:` of a static-key store (indented for [`AwsEnv::store`]).
pub const STATIC_AUTH: &str = "        secretRef:\n          accessKeyIDSecretRef: {name: aws-keys, key: access-key}\n          secretAccessKeySecretRef: {name: aws-keys, key: secret-key}\n";
/// `auth:` of an IRSA store as `team/app`.
pub const IRSA_AUTH: &str = "        jwt:\n          serviceAccountRef: {name: app}\n";

impl AwsEnv {
    /// A SecretStore `name` in `team` for Secrets Manager in [`REGION`] with `auth` (lines
    /// under `auth:`, indented by 8); `extra` lines go under `aws:` (indented by 6).
    pub fn store(&self, name: &str, auth: &str) -> String {
        self.store_with(name, auth, "")
    }

    pub fn store_with(&self, name: &str, auth: &str, extra: &str) -> String {
        format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  provider:\n    aws:\n      service: SecretsManager\n      region: {REGION}\n{extra}      auth:\n{auth}"
        )
    }

    /// `kubectl apply -f -` with the real kubectl (off the runtime's threads).
    pub async fn apply(&self, yaml: &str) {
        let kubeconfig = self.cluster.kubeconfig().to_owned();
        let yaml = yaml.to_owned();
        tokio::task::spawn_blocking(move || {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("objects.yaml");
            std::fs::write(&file, yaml).unwrap();
            test_support::kubectl_ok(&kubeconfig, &["apply", "-f", file.to_str().unwrap()]);
        })
        .await
        .unwrap();
    }

    /// An ExternalSecret `name` in `team` reading from `store`; `body` holds the spec lines
    /// after `secretStoreRef` (indented by 2).
    pub fn es(name: &str, store: &str, body: &str) -> String {
        format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  secretStoreRef: {{name: {store}}}\n{body}"
        )
    }

    pub async fn store_ready(&self, ns: &str, name: &str) -> (bool, String, String) {
        store_ready_when(&self.client, ns, name, "status", |_, _, _| true).await
    }

    /// Wait until the store's Ready is `want`: (reason, message).
    pub async fn store_ready_is(&self, ns: &str, name: &str, want: bool) -> (String, String) {
        let what = format!("Ready={want}");
        let (_, reason, message) =
            store_ready_when(&self.client, ns, name, &what, |ok, _, _| ok == want).await;
        (reason, message)
    }

    /// Wait until the ExternalSecret's Ready is `want`: (reason, message).
    pub async fn es_ready(&self, ns: &str, name: &str, want: bool) -> (String, String) {
        let what = format!("Ready={want}");
        let (_, reason, message) =
            es_ready_when(&self.client, ns, name, &what, |ok, _, _| ok == want).await;
        (reason, message)
    }

    /// Wait until the ExternalSecret's Ready message holds `needle`: (true?, message).
    pub async fn es_says(&self, ns: &str, name: &str, needle: &str) -> (bool, String) {
        let what = format!("a Ready message with {needle:?}");
        let (ok, _, message) =
            es_ready_when(&self.client, ns, name, &what, |_, _, m| m.contains(needle)).await;
        (ok, message)
    }

    /// The Secret's data as bytes, if it exists.
    pub async fn bytes(&self, ns: &str, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        super::secret_bytes(&self.client, ns, name).await
    }

    /// The Secret's data as strings, if it exists.
    pub async fn data(&self, ns: &str, name: &str) -> Option<BTreeMap<String, String>> {
        Some(
            self.bytes(ns, name)
                .await?
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect(),
        )
    }

    /// Wait until the Secret `name` (made by the ExternalSecret of the same name) has `key` =
    /// `value`; on timeout the panic shows the ExternalSecret's status.
    pub async fn wait_value(&self, ns: &str, name: &str, key: &str, value: &str) {
        wait_secret_value(&self.client, ns, name, key, value).await;
    }

    /// Wait until the Secret `name` is gone.
    pub async fn wait_gone(&self, ns: &str, name: &str) {
        wait_for(&format!("Secret {ns}/{name} to be deleted"), || async {
            self.bytes(ns, name).await.is_none().then_some(())
        })
        .await;
    }

    /// Ask for a fresh read, as `kubectl secrets sync now` does.
    pub async fn force_sync(&self, ns: &str, name: &str, value: &str) {
        let patch = serde_json::json!({"metadata": {"annotations": {"kubectl-secrets.io/force-sync": value}}});
        Api::<ExternalSecret>::namespaced(self.client.clone(), ns)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    /// The ExternalSecret's `status.refreshTime` (empty before the first sync).
    pub async fn refresh_time(&self, ns: &str, name: &str) -> String {
        Api::<ExternalSecret>::namespaced(self.client.clone(), ns)
            .get(name)
            .await
            .unwrap()
            .status
            .and_then(|s| s.refresh_time)
            .unwrap_or_default()
    }

    /// A metric's value from the agent's metrics endpoint (summed over matching series).
    pub async fn metric(&self, series_prefix: &str) -> f64 {
        let addr = metrics_addr(&self.agent).await;
        let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
        let (_, body) = super::agent_get(port, "/metrics").await.unwrap();
        body.lines()
            .filter(|l| l.starts_with(series_prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

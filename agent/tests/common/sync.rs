//! Fixtures for the sync tests: a stand-in cluster with our CRDs (see `cluster`), a real OpenBao dev server
//! wired for kubernetes auth, a read-only policy and token, a token-auth SecretStore `vault`
//! in `team`, and the agent.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use secrets_core::api::{Condition, ExternalSecret, SecretStore};
use test_support::{Cluster, OpenBao};

use super::{Agent, cluster, wait_for};

pub struct SyncEnv {
    pub cluster: Cluster,
    pub client: kube::Client,
    pub bao: OpenBao,
    pub agent: Agent,
}

pub const READER_POLICY: &str = r#"
path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read", "list"] }
path "kv1/*" { capabilities = ["read", "list"] }
"#;

/// Everything up, the `vault` SecretStore Ready.
pub async fn sync_env(agent_args: &[&str]) -> SyncEnv {
    let (cluster, client) = cluster().await;
    let bao = cluster.openbao();
    bao.write_policy("reader", READER_POLICY);
    let token = bao.create_token(&["reader"]);
    create_secret(&client, "team", "vault-token", &[("token", &token)]).await;
    let mut args = vec!["--provider-timeout", "2s"];
    args.extend_from_slice(agent_args);
    let agent = Agent::start_with(&cluster, &args);
    let env = SyncEnv {
        cluster,
        client,
        bao,
        agent,
    };
    env.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: vault, namespace: team}}\nspec:\n  provider:\n    vault:\n      server: {}\n      path: secret\n      version: v2\n      auth:\n        tokenSecretRef: {{name: vault-token, key: token}}\n",
        env.bao.addr()
    ))
    .await;
    let (ok, reason, message) = env.store_ready("team", "vault").await;
    assert!(ok, "store not valid: {reason}: {message}");
    env
}

pub async fn create_secret(client: &kube::Client, ns: &str, name: &str, data: &[(&str, &str)]) {
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "stringData": data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
}

impl SyncEnv {
    /// `kubectl apply -f -` with the real kubectl.
    pub async fn apply(&self, yaml: &str) {
        let kubeconfig = self.cluster.kubeconfig().to_owned();
        let yaml = yaml.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut child = test_support::kubectl_command(&kubeconfig)
                .args(["apply", "-f", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(yaml.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "kubectl apply: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        })
        .await
        .unwrap();
    }

    /// `Ready` of a store once it has one: (true?, reason, message).
    pub async fn store_ready(&self, ns: &str, name: &str) -> (bool, String, String) {
        store_ready_when(&self.client, ns, name, "status", |_, _, _| true).await
    }

    /// Wait until the ExternalSecret's Ready is `want` and return (reason, message).
    pub async fn es_ready(&self, ns: &str, name: &str, want: bool) -> (String, String) {
        let (_, reason, message) = es_ready_when(
            &self.client,
            ns,
            name,
            &format!("Ready={want}"),
            |ok, _, _| ok == want,
        )
        .await;
        (reason, message)
    }

    /// Wait until the store's Ready reason is `reason` and return (true?, message).
    pub async fn store_reason(&self, ns: &str, name: &str, reason: &str) -> (bool, String) {
        let what = format!("Ready reason {reason}");
        let (ok, _, message) =
            store_ready_when(&self.client, ns, name, &what, |_, r, _| r == reason).await;
        (ok, message)
    }

    /// Wait until the ExternalSecret's Ready reason is `reason` and return (true?, message).
    pub async fn es_reason(&self, ns: &str, name: &str, reason: &str) -> (bool, String) {
        let what = format!("Ready reason {reason}");
        let (ok, _, message) =
            es_ready_when(&self.client, ns, name, &what, |_, r, _| r == reason).await;
        (ok, message)
    }

    pub async fn es(&self, ns: &str, name: &str) -> ExternalSecret {
        Api::<ExternalSecret>::namespaced(self.client.clone(), ns)
            .get(name)
            .await
            .unwrap()
    }

    /// The Secret's data as strings, if it exists.
    pub async fn data(&self, ns: &str, name: &str) -> Option<BTreeMap<String, String>> {
        let s = Api::<Secret>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .unwrap()?;
        Some(
            s.data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
                .collect(),
        )
    }

    /// Wait until the Secret `name` (made by the ExternalSecret of the same name) has
    /// `key` = `value`; on timeout the panic shows the ExternalSecret's status.
    pub async fn wait_value(&self, ns: &str, name: &str, key: &str, value: &str) {
        wait_secret_value(&self.client, ns, name, key, value).await;
    }

    /// Ask for a fresh read, as `kubectl secrets sync now` does.
    pub async fn force_sync(&self, ns: &str, name: &str, value: &str) {
        let patch = serde_json::json!({"metadata": {"annotations": {"kubectl-secrets.io/force-sync": value}}});
        Api::<ExternalSecret>::namespaced(self.client.clone(), ns)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    /// A metric's value from the agent's metrics endpoint (summed over matching series).
    pub async fn metric(&self, series_prefix: &str) -> f64 {
        let addr = metrics_addr(&self.agent).await;
        let body = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            use std::io::{Read as _, Write as _};
            write!(stream, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).unwrap();
            out
        })
        .await
        .unwrap();
        body.lines()
            .filter(|l| l.starts_with(series_prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// The metrics server's address, from the agent's "listening" log line.
pub async fn metrics_addr(agent: &Agent) -> String {
    wait_for("the metrics listener", || async {
        agent.logs().lines().find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            let f = v.get("fields")?;
            (f.get("server")?.as_str()? == "metrics")
                .then(|| f.get("address")?.as_str().map(str::to_owned))?
        })
    })
    .await
}

/// What a `Ready` condition says: (true?, reason, message).
type Ready = (bool, String, String);

/// Wait until the object `ns/name` (of kind `K`, conditions read by `conditions`) has a
/// `Ready` condition that `accept(true?, reason, message)` takes; `what` names the wait.
async fn ready_when<K>(
    client: &kube::Client,
    ns: &str,
    name: &str,
    what: &str,
    conditions: fn(K) -> Option<Vec<Condition>>,
    accept: impl Fn(bool, &str, &str) -> bool,
) -> Ready
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let kind = K::kind(&());
    wait_for(&format!("{kind} {ns}/{name} {what}"), || async {
        let c = conditions(api.get_opt(name).await.ok()??)?
            .into_iter()
            .find(|c| c.type_ == "Ready")?;
        let (ok, reason, message) = (
            c.status == "True",
            c.reason.unwrap_or_default(),
            c.message.unwrap_or_default(),
        );
        accept(ok, &reason, &message).then_some((ok, reason, message))
    })
    .await
}

/// [`ready_when`] for a SecretStore.
pub async fn store_ready_when(
    client: &kube::Client,
    ns: &str,
    name: &str,
    what: &str,
    accept: impl Fn(bool, &str, &str) -> bool,
) -> Ready {
    ready_when(
        client,
        ns,
        name,
        what,
        |s: SecretStore| Some(s.status?.conditions),
        accept,
    )
    .await
}

/// [`ready_when`] for an ExternalSecret.
pub async fn es_ready_when(
    client: &kube::Client,
    ns: &str,
    name: &str,
    what: &str,
    accept: impl Fn(bool, &str, &str) -> bool,
) -> Ready {
    ready_when(
        client,
        ns,
        name,
        what,
        |e: ExternalSecret| Some(e.status?.conditions),
        accept,
    )
    .await
}

/// Wait until Secret `ns/name` (made by the ExternalSecret of the same name) has `key` =
/// `value`; on timeout the panic shows the ExternalSecret's status. Every sync test
/// environment (Vault, AWS, …) waits through this one.
pub async fn wait_secret_value(
    client: &kube::Client,
    ns: &str,
    name: &str,
    key: &str,
    value: &str,
) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let secret = Api::<Secret>::namespaced(client.clone(), ns)
            .get_opt(name)
            .await
            .ok()
            .flatten();
        let found = secret.and_then(|s| s.data).and_then(|d| {
            d.get(key)
                .map(|v| String::from_utf8_lossy(&v.0).into_owned())
        });
        if found.as_deref() == Some(value) {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let es = Api::<ExternalSecret>::namespaced(client.clone(), ns)
                .get_opt(name)
                .await;
            panic!(
                "timed out waiting for Secret {ns}/{name} {key}; ExternalSecret status: {:?}",
                es.map(|e| e.map(|e| e.status))
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// (ready count, refresh times) of every ExternalSecret `api` lists: what the sync
/// benchmarks poll.
pub async fn snapshot(api: &Api<ExternalSecret>) -> (usize, Vec<String>) {
    let list = api.list(&kube::api::ListParams::default()).await.unwrap();
    let mut ready = 0;
    let mut times = Vec::new();
    for es in list.items {
        let status = es.status.unwrap_or_default();
        if status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
        {
            ready += 1;
        }
        times.push(status.refresh_time.unwrap_or_default());
    }
    (ready, times)
}

/// Create `objects` (16 at a time, as a CI pipeline applying a folder would), then wait (up
/// to `timeout`) until every one of them is Ready: how long that took from the first create,
/// and their refresh times (for [`next_cycle`]).
pub async fn create_all_ready(
    api: &Api<ExternalSecret>,
    objects: Vec<ExternalSecret>,
    timeout: std::time::Duration,
) -> (std::time::Duration, Vec<String>) {
    let count = objects.len();
    let started = std::time::Instant::now();
    futures::StreamExt::for_each_concurrent(futures::stream::iter(objects), 16, |es| {
        let api = api.clone();
        async move {
            api.create(&PostParams::default(), &es).await.unwrap();
        }
    })
    .await;
    let deadline = started + timeout;
    loop {
        let (ready, times) = snapshot(api).await;
        if ready == count {
            return (started.elapsed(), times);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {ready} of {count} Ready after {timeout:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Wait (up to `timeout`) for a full refresh cycle after `times` (a [`snapshot`]'s refresh
/// times, in list order): until every object's `status.refreshTime` has moved on. Returns
/// the new times, for the next cycle.
pub async fn next_cycle(
    api: &Api<ExternalSecret>,
    times: &[String],
    timeout: std::time::Duration,
) -> Vec<String> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let (_, now) = snapshot(api).await;
        if now.len() == times.len() && now.iter().zip(times).all(|(a, b)| a != b) {
            return now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the refresh cycle did not finish within {timeout:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

//! Fixtures for the agent's end-to-end tests: a kube-standin cluster with our CRDs, the real
//! agent binary as a child process, polling with deadlines.
#![allow(dead_code, unreachable_pub)]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: failing loudly is the point"
)]

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, PostParams};
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::seal::keys::{Certificate, KEY_LABEL};
use test_support::Cluster;

pub mod aws;
pub mod azure;
pub mod mount;
pub mod provider;
pub mod sync;

/// The plugin binary of this workspace build (`cargo test --workspace` and `cargo xtask test`
/// build it next to this test's own directory).
pub fn plugin() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(std::path::Path::parent).unwrap();
    let plugin = dir.join("kubectl-secrets");
    assert!(
        plugin.exists(),
        "{} is missing: build it with `cargo build -p kubectl-secrets` (cargo xtask test does)",
        plugin.display()
    );
    plugin
}

pub const PASSWORD: &str = "correct-horse-battery-staple";

pub struct Agent {
    pub child: Child,
    pub log: std::path::PathBuf,
    pub _dir: tempfile::TempDir,
}

/// The flags every test agent runs with (any port, a 3 s lease, debug logs unless `extra`
/// sets `--log-filter`), then `extra`.
pub fn test_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--http-addr",
        "127.0.0.1:0",
        "--lease-duration",
        "3s",
        "--lease-renew",
        "1s",
    ];
    if !extra.contains(&"--log-filter") {
        args.extend(["--log-filter", "debug"]);
    }
    args.extend_from_slice(extra);
    args
}

impl Agent {
    pub fn start(cluster: &Cluster) -> Agent {
        Self::start_with(cluster, &[])
    }

    /// Start with extra flags (e.g. `--bitnami-compat`): debug logs, a 3 s lease.
    pub fn start_with(cluster: &Cluster, extra: &[&str]) -> Agent {
        Self::spawn(cluster, &test_args(extra))
    }

    /// `secrets-agent controller --namespace kubectl-secrets --metrics-addr 127.0.0.1:0 ARGS`,
    /// stdout (the JSON log) to a file.
    pub fn spawn(cluster: &Cluster, args: &[&str]) -> Agent {
        Self::spawn_env(cluster, args, &[])
    }

    /// [`Agent::spawn`] with extra environment (e.g. `AWS_ENDPOINT_URL`).
    pub fn spawn_env(cluster: &Cluster, args: &[&str], env: &[(&str, &str)]) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("agent.log");
        let child = Command::new(env!("CARGO_BIN_EXE_secrets-agent"))
            .args([
                "controller",
                "--namespace",
                "kubectl-secrets",
                "--metrics-addr",
                "127.0.0.1:0",
            ])
            .args(args)
            .env("KUBECONFIG", cluster.kubeconfig())
            .envs(env.iter().copied())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Agent {
            child,
            log,
            _dir: dir,
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "agent exit status {status}");
        self.logs()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn plain(
    name: &str,
    namespace: &str,
    data: &[(&str, &str)],
) -> secrets_core::secret::PlainSecret {
    let mut secret = secrets_core::secret::PlainSecret::default();
    secret.metadata.name = Some(name.into());
    secret.metadata.namespace = Some(namespace.into());
    secret.metadata.labels = Some(BTreeMap::from([("app".into(), "billing".into())]));
    secret.type_ = Some("Opaque".into());
    for (k, v) in data {
        secret
            .data
            .insert((*k).into(), zeroize::Zeroizing::new(v.as_bytes().to_vec()));
    }
    secret
}

pub fn ready(ss: &SealedSecret) -> Option<(String, String, String)> {
    let c = ss
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")?;
    Some((
        c.status.clone(),
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default(),
    ))
}

/// The data of Secret `ns/name` as bytes, if it exists.
pub async fn secret_bytes(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Option<BTreeMap<String, Vec<u8>>> {
    let secret = Api::<Secret>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .unwrap()?;
    Some(
        secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect(),
    )
}

/// Peak resident memory of a process (VmHWM), in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start_replica(cluster: &Cluster, identity: &str, http_port: u16) -> Agent {
    let addr = format!("127.0.0.1:{http_port}");
    Agent::spawn(
        cluster,
        &[
            "--identity",
            identity,
            "--http-addr",
            &addr,
            "--lease-duration",
            "2s",
            "--lease-renew",
            "500ms",
        ],
    )
}

pub async fn lease_holder(client: &kube::Client) -> Option<String> {
    use k8s_openapi::api::coordination::v1::Lease;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kubectl-secrets");
    leases
        .get_opt("secrets-agent-leader")
        .await
        .ok()??
        .spec?
        .holder_identity
}

/// A cluster with the CRDs the chart ships (ours and Bitnami's), the agent namespace and `team`.
pub async fn cluster() -> (Cluster, kube::Client) {
    let cluster = Cluster::start();
    let client = cluster.client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in secrets_core::api::crds::all() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in ["kubectl-secrets", "team"] {
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).unwrap(),
            )
            .await
            .unwrap();
    }
    (cluster, client)
}

/// The agent's key Secrets, newest certificate last.
pub async fn key_secrets(client: &kube::Client) -> Vec<Secret> {
    let api: Api<Secret> = Api::namespaced(client.clone(), "kubectl-secrets");
    let mut items = api
        .list(&ListParams::default().labels(&format!("{KEY_LABEL}=active")))
        .await
        .unwrap()
        .items;
    items.sort_by_key(|s| cert_of(s).not_before());
    items
}

pub fn cert_of(secret: &Secret) -> Certificate {
    Certificate::from_pem(&secret.data.as_ref().unwrap()["tls.crt"].0).unwrap()
}

/// Wait for at least `n` keys and return the newest certificate.
pub async fn wait_keys(client: &kube::Client, n: usize) -> Certificate {
    let keys = wait_for("the sealing keys", || {
        let client = client.clone();
        async move { Some(key_secrets(&client).await).filter(|k| k.len() >= n) }
    })
    .await;
    cert_of(keys.last().unwrap())
}

/// A Service `secrets-agent` (port `http`) with Endpoints at the agent's loopback port, so the
/// API server's service proxy reaches it as the plugin does.
pub async fn expose(client: &kube::Client, port: u16) {
    let svc = serde_json::json!({"metadata": {"name": "secrets-agent"}, "spec": {"ports": [{"name": "http", "port": 8080}]}});
    Api::<k8s_openapi::api::core::v1::Service>::namespaced(client.clone(), "kubectl-secrets")
        .create(
            &PostParams::default(),
            &serde_json::from_value(svc).unwrap(),
        )
        .await
        .unwrap();
    let eps = serde_json::json!({"metadata": {"name": "secrets-agent"}, "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "http", "port": port}]}]});
    Api::<k8s_openapi::api::core::v1::Endpoints>::namespaced(client.clone(), "kubectl-secrets")
        .create(
            &PostParams::default(),
            &serde_json::from_value(eps).unwrap(),
        )
        .await
        .unwrap();
}

/// POST a body to the agent through the service proxy; status and text.
pub async fn agent_post(client: &kube::Client, path: &str, body: Vec<u8>) -> (u16, String) {
    let request = http::Request::post(format!(
        "/api/v1/namespaces/kubectl-secrets/services/http:secrets-agent:http/proxy{path}"
    ))
    .header("Content-Type", "application/json")
    .body(body)
    .unwrap();
    match client.request_text(request).await {
        Ok(text) => (200, text),
        Err(kube::Error::Api(status)) => (status.code, status.message),
        Err(other) => panic!("calling the agent: {other}"),
    }
}

/// `GET path` straight to the agent's HTTP port (not through the proxy): status and body, or
/// `None` while nothing answers there.
pub async fn agent_get(port: u16, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .ok()?
        .ok()?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split_whitespace().nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// Check that a JSON text has no object with the same key twice, at any depth (serde_json
/// keeps the last of two equal keys without a word, as most parsers do).
pub fn no_duplicate_keys(text: &str) -> Result<(), String> {
    use serde::de::{self, Deserializer as _, MapAccess, SeqAccess, Visitor};

    struct Unique;
    struct UniqueVisitor;

    impl<'de> serde::Deserialize<'de> for Unique {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
            d.deserialize_any(UniqueVisitor)
        }
    }

    impl<'de> Visitor<'de> for UniqueVisitor {
        type Value = Unique;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_unit<E>(self) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
            while seq.next_element::<Unique>()?.is_some() {}
            Ok(Unique)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key.clone()) {
                    return Err(de::Error::custom(format!("duplicate key {key:?}")));
                }
                map.next_value::<Unique>()?;
            }
            Ok(Unique)
        }
    }

    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer
        .deserialize_any(UniqueVisitor)
        .and_then(|_| deserializer.end())
        .map_err(|err| err.to_string())
}

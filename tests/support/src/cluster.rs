//! A kube-standin "cluster" for a test: the stand-in API server on its own tokio runtime (so
//! tests may block on kubectl or bao without starving it), a kubeconfig in a temporary
//! directory, and, on request, a real OpenBao dev server whose kubernetes auth reviews tokens
//! against this stand-in. Dropping the cluster stops the server and removes the directory.

use std::path::{Path, PathBuf};
use std::process::Output;

use kube_standin::{Config, StandIn};

use crate::{OpenBao, kubectl, kubectl_ok};

/// A running stand-in plus its kubeconfig.
pub struct Cluster {
    // Field order matters: the stand-in is dropped (stopped) before its runtime goes.
    standin: StandIn,
    runtime: Option<tokio::runtime::Runtime>,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Start kube-standin (HTTPS, random loopback port).
    pub fn start() -> Cluster {
        Self::try_start(Config::default()).expect("starting kube-standin")
    }

    /// Start kube-standin with `config` (e.g. on the address of a cluster that was stopped:
    /// a new cluster, with its own CA, where an old one was). Fails when it cannot listen.
    pub fn try_start(config: Config) -> Result<Cluster, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kube-standin")
            .enable_all()
            .build()
            .expect("building the stand-in's runtime");
        // Started by a task on its own runtime and handed back over a channel, so this works
        // from plain tests and from inside another runtime (async tests) alike.
        let (tx, rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let _ = tx.send(StandIn::start(config).await);
        });
        let standin = rx
            .recv()
            .expect("the stand-in's runtime stopped")
            .map_err(|err| format!("starting kube-standin: {err:#}"))?;
        let dir = tempfile::tempdir().expect("creating the kubeconfig directory");
        let kubeconfig = dir.path().join("kubeconfig");
        standin
            .write_kubeconfig(&kubeconfig)
            .expect("writing the kubeconfig");
        Ok(Cluster {
            standin,
            runtime: Some(runtime),
            kubeconfig,
            _dir: dir,
        })
    }

    /// The stand-in (store, faults, counters).
    pub fn standin(&self) -> &StandIn {
        &self.standin
    }

    /// The kubeconfig path (mode 0600).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Run the real kubectl against this cluster.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        kubectl(&self.kubeconfig, args)
    }

    /// Run kubectl, require success, return stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        kubectl_ok(&self.kubeconfig, args)
    }

    /// `kubectl apply` the manifests in `yaml` (one or more documents), through a temporary
    /// file; returns kubectl's stdout.
    pub fn apply(&self, yaml: &str) -> String {
        let dir = tempfile::tempdir().expect("creating a directory for the manifests");
        let file = dir.path().join("manifests.yaml");
        std::fs::write(&file, yaml).expect("writing the manifests");
        self.kubectl_ok(&[
            "apply",
            "-f",
            file.to_str().expect("a UTF-8 temporary path"),
        ])
    }

    /// Apply the namespace `namespace` and the service accounts `names` in it.
    pub fn create_service_accounts(&self, namespace: &str, names: &[&str]) {
        let mut yaml =
            format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n");
        for name in names {
            yaml.push_str(&format!(
                "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
            ));
        }
        self.apply(&yaml);
    }

    /// A kube-rs client for this cluster (call from inside the test's own runtime).
    pub async fn client(&self) -> kube::Client {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&self.standin.kubeconfig_yaml())
            .expect("parsing the stand-in's kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("building the kube-rs config");
        kube::Client::try_from(config).expect("building the kube-rs client")
    }

    /// Start a real OpenBao dev server with the kubernetes auth method pointed at this
    /// stand-in's TokenReview endpoint (over HTTPS, trusting the stand-in's CA).
    ///
    /// As with a bao outside the cluster, it reviews with its own credential: a token of the
    /// service account `kube-system/openbao-reviewer` (API-server audience), so logins with
    /// tokens of any audience can be reviewed.
    pub fn openbao(&self) -> OpenBao {
        let bao = OpenBao::start_dev();
        bao.enable_kubernetes_auth(&self.standin.url(), self.standin.ca_pem());
        let reviewer = self.service_account_token("kube-system", "openbao-reviewer", &[], 86_400);
        bao.write(
            "auth/kubernetes/config",
            serde_json::json!({
                "kubernetes_host": self.standin.url(),
                "kubernetes_ca_cert": self.standin.ca_pem(),
                "disable_local_ca_jwt": true,
                "token_reviewer_jwt": reviewer,
            }),
        );
        bao
    }

    /// A token for the existing service account `namespace/name`, asked for through the API
    /// (`POST .../serviceaccounts/NAME/token`, a TokenRequest, sent by the real kubectl) for
    /// `audiences`, valid for `seconds`: what the agent does before a kubernetes-auth login.
    pub fn token_request(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[&str],
        seconds: i64,
    ) -> String {
        self.send_token_request(namespace, name, audiences, seconds, None)
    }

    /// As [`Cluster::token_request`], bound to the pod `namespace/pod` (which must run as
    /// the service account): what kubelet asks for a pod's projected or CSI tokens. The token
    /// dies with the pod.
    pub fn pod_token_request(
        &self,
        namespace: &str,
        name: &str,
        pod: &str,
        audiences: &[&str],
        seconds: i64,
    ) -> String {
        let bound = serde_json::json!({"kind": "Pod", "apiVersion": "v1", "name": pod});
        self.send_token_request(namespace, name, audiences, seconds, Some(bound))
    }

    fn send_token_request(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[&str],
        seconds: i64,
        bound: Option<serde_json::Value>,
    ) -> String {
        let dir = tempfile::tempdir().expect("creating a directory for the TokenRequest");
        let body = dir.path().join("token-request.json");
        let mut request = serde_json::json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": audiences, "expirationSeconds": seconds},
        });
        if let Some(bound) = bound {
            request["spec"]["boundObjectRef"] = bound;
        }
        std::fs::write(&body, request.to_string()).expect("writing the TokenRequest");
        let body_arg = body.to_str().expect("a UTF-8 temporary path");
        let out = self.kubectl_ok(&[
            "create",
            "--raw",
            &format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"),
            "-f",
            body_arg,
        ]);
        let response: serde_json::Value =
            serde_json::from_str(&out).expect("the TokenRequest answer is JSON");
        assert_eq!(response["kind"], "TokenRequest", "answer to a TokenRequest");
        response["status"]["token"]
            .as_str()
            .expect("the TokenRequest answer holds a token")
            .to_owned()
    }

    /// Create the service account if needed and issue it a token for `audiences` (empty: the
    /// API server's), as a TokenRequest would.
    pub fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[&str],
        seconds: i64,
    ) -> String {
        let store = self.standin.store();
        let def = store
            .def("", "v1", "serviceaccounts")
            .expect("serviceaccounts are served");
        let sa = match store.get(&def, Some(namespace), name) {
            Ok(sa) => sa,
            Err(_) => store
                .create(
                    &def,
                    Some(namespace),
                    serde_json::json!({"metadata": {"name": name}}),
                )
                .expect("creating the service account"),
        };
        let subject = kube_standin::tokens::Subject {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid: sa["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        let audiences: Vec<String> = audiences.iter().map(|a| (*a).to_owned()).collect();
        self.standin
            .tokens()
            .issue(
                &subject,
                &audiences,
                seconds,
                time::OffsetDateTime::now_utc(),
            )
            .expect("issuing a service-account token")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The stand-in's own Drop stops its tasks; the runtime then winds down without
        // blocking (a test may be dropping us from inside another runtime).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

//! Is etcd encrypted: encryption at rest judged from what an API client can see (reference
//! `doctor.md` §2), plus the EncryptionConfiguration file when the person has it.
//!
//! Data flow:
//!
//! ```text
//!  ClusterFacts ──[platform::detect]──▶ Platform + evidence ──▶ ENC001 (info)
//!  (version, nodes,          │
//!   kube-system pods,        └──[apiserver::flags]──▶ ENC010: the flag on every apiserver,
//!   kubeadm-config,                                   node-args (k3s/RKE2), the OpenShift CR,
//!   OpenShift APIServer)                              EKS ≥ 1.28 default, `unknown` + CLI
//!  readyz + metrics ──[runtime::evidence]──▶ ENC030: KMS health, identity writes, reloads
//!  EncryptionConfig ──[coverage::analyse]──▶ ENC020: which entry covers Secrets, first provider,
//!  (config::from_text, keys measured                  KMS v1, weak providers, short keys
//!   and wiped)
//! ```
//!
//! Whatever the plugin could not collect ([`Collected::Unavailable`]) becomes an `incomplete`
//! finding with the reason, never a pass; what it did not ask for ([`Collected::NotAsked`])
//! produces nothing. No finding quotes a key, an argument other than the config path, or an
//! environment variable of the pods read.

mod apiserver;
mod config;
mod coverage;
mod platform;
mod prom;
mod runtime;
#[cfg(test)]
mod tests;

use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};

use crate::audit::{Category, Collected, Finding, Scope, Severity, Status, Subject};

pub use config::{
    EncryptionConfig, EncryptionConfigError, KeyInfo, KmsVersion, Provider, ProviderKind,
    ResourceRule,
};
pub use coverage::analyse_config;

/// What the plugin collected from the cluster for the encryption checks.
#[derive(Clone, Default)]
pub struct ClusterFacts {
    /// `gitVersion` of `/version`, e.g. `v1.30.2-eks-1234`.
    pub server_version: Collected<String>,
    /// Every Node.
    pub nodes: Collected<Vec<Node>>,
    /// The pods of `kube-system`; the apiserver mirror pods are among them.
    pub kube_system_pods: Collected<Vec<Pod>>,
    /// `kube-system/kubeadm-config` (`None`: not found).
    pub kubeadm_config: Collected<Option<ConfigMap>>,
    /// `apiserver.config.openshift.io/v1` APIServer `cluster` (`None`: not found).
    pub openshift_apiserver: Collected<Option<serde_json::Value>>,
    /// Body of `GET /readyz?verbose`.
    pub readyz: Collected<String>,
    /// Body of `GET /metrics` (Prometheus text format).
    pub metrics: Collected<String>,
}

/// Pods and ConfigMaps may carry values in their env and data: Debug says what was collected,
/// not what it holds.
impl std::fmt::Debug for ClusterFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn state<T>(collected: &Collected<T>, size: impl Fn(&T) -> String) -> String {
            match collected {
                Collected::Got(value) => size(value),
                Collected::Unavailable(reason) => format!("unavailable: {reason}"),
                Collected::NotAsked => "not asked".to_owned(),
            }
        }
        f.debug_struct("ClusterFacts")
            .field("server_version", &self.server_version)
            .field(
                "nodes",
                &state(&self.nodes, |n| format!("{} nodes", n.len())),
            )
            .field(
                "kube_system_pods",
                &state(&self.kube_system_pods, |p| format!("{} pods", p.len())),
            )
            .field(
                "kubeadm_config",
                &state(&self.kubeadm_config, |c| format!("found: {}", c.is_some())),
            )
            .field(
                "openshift_apiserver",
                &state(&self.openshift_apiserver, |c| {
                    format!("found: {}", c.is_some())
                }),
            )
            .field(
                "readyz",
                &state(&self.readyz, |b| format!("{} bytes", b.len())),
            )
            .field(
                "metrics",
                &state(&self.metrics, |b| format!("{} bytes", b.len())),
            )
            .finish()
    }
}

impl ClusterFacts {
    /// Whether any cluster object was asked for (false with `--no-cluster`).
    fn cluster_asked(&self) -> bool {
        self.server_version.asked()
            || self.nodes.asked()
            || self.kube_system_pods.asked()
            || self.kubeadm_config.asked()
            || self.openshift_apiserver.asked()
    }
}

/// Where the control plane comes from, which decides how encryption can be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Platform {
    /// Self-managed with `kube-apiserver` mirror pods (kubeadm and the like).
    Kubeadm,
    /// k3s: no apiserver pod; flags in the `k3s.io/node-args` annotation.
    K3s,
    /// RKE2: encryption on by default; flags in `rke2.io/node-args`.
    Rke2,
    /// Amazon EKS.
    Eks,
    /// Google GKE.
    Gke,
    /// Azure AKS.
    Aks,
    /// OpenShift: the `APIServer` CR holds the encryption type.
    OpenShift,
    /// None of the above markers.
    Unknown,
}

impl Platform {
    /// The name printed in findings.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kubeadm => "kubeadm",
            Self::K3s => "k3s",
            Self::Rke2 => "RKE2",
            Self::Eks => "EKS",
            Self::Gke => "GKE",
            Self::Aks => "AKS",
            Self::OpenShift => "OpenShift",
            Self::Unknown => "unknown",
        }
    }
}

/// The platform the markers point to (reference §2.3, §2.4): the OpenShift APIServer CR, then
/// node markers (RKE2, k3s, EKS, GKE, AKS), then the server version's suffix, then
/// `kube-apiserver` mirror pods in `kube-system`.
pub fn detect_platform(facts: &ClusterFacts) -> Platform {
    platform::detect(facts).platform
}

/// ENC001 (platform), ENC010 (encryption configured on every apiserver) and ENC030 (runtime
/// evidence), plus ENC020 when `config` is given (the parsed `--encryption-config` file and its
/// path). Unsorted: [`Report::new`] sorts.
///
/// [`Report::new`]: crate::audit::Report::new
pub fn audit(facts: &ClusterFacts, config: Option<(&EncryptionConfig, &str)>) -> Vec<Finding> {
    let mut findings = Vec::new();
    if facts.cluster_asked() {
        let detection = platform::detect(facts);
        findings.push(platform::finding(&detection, facts));
        findings.extend(apiserver::flags(facts, &detection, config.is_some()));
    }
    findings.extend(runtime::evidence(&facts.readyz, &facts.metrics));
    if let Some((config, source)) = config {
        findings.extend(analyse_config(config, source));
    }
    findings
}

/// The parts every encryption finding shares; scope is always the cluster.
struct Draft<'a> {
    id: &'a str,
    severity: Severity,
    status: Status,
    subject: Subject,
}

impl Draft<'_> {
    fn finding(self, via: Vec<String>, message: String, hint: impl Into<String>) -> Finding {
        Finding {
            id: self.id.to_owned(),
            category: Category::Encryption,
            severity: self.severity,
            status: self.status,
            suppressed: false,
            subject: self.subject,
            scope: Scope::Cluster,
            location: None,
            via,
            message,
            hint: hint.into(),
        }
    }
}

/// The re-encryption step every hint that changes the config ends with.
const REWRITE: &str = "then rewrite existing Secrets so they are stored the new way: \
     kubectl get secrets -A -o json | kubectl replace -f -";

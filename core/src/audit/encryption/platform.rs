//! ENC001: which platform runs the control plane, from the markers an API client can see
//! (reference §2.3, §2.4). The first marker found wins, in an order that keeps look-alikes
//! apart: RKE2 before k3s (RKE2 is built on k3s), node markers before mirror pods (RKE2 has
//! mirror pods too).

use k8s_openapi::api::core::v1::{Node, Pod};

use super::{ClusterFacts, Collected, Draft, Platform};
use crate::audit::{Finding, Severity, Status, Subject};

/// The platform and the evidence for it (for `via`).
#[derive(Debug, Clone)]
pub(super) struct Detection {
    pub(super) platform: Platform,
    pub(super) evidence: Vec<String>,
}

pub(super) const K3S_ARGS: &str = "k3s.io/node-args";
pub(super) const RKE2_ARGS: &str = "rke2.io/node-args";

fn kubelet_version(node: &Node) -> &str {
    node.status
        .as_ref()
        .and_then(|s| s.node_info.as_ref())
        .map(|i| i.kubelet_version.as_str())
        .unwrap_or_default()
}

fn node_name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or_default()
}

fn has_annotation(node: &Node, key: &str) -> bool {
    node.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(key))
}

/// A node marker: the platform and why.
fn node_marker(node: &Node) -> Option<(Platform, String)> {
    let name = node_name(node);
    let version = kubelet_version(node);
    let by_version = [
        ("+rke2", Platform::Rke2),
        ("+k3s", Platform::K3s),
        ("-eks-", Platform::Eks),
        ("-gke.", Platform::Gke),
    ];
    if has_annotation(node, RKE2_ARGS) {
        return Some((
            Platform::Rke2,
            format!("Node/{name} annotation {RKE2_ARGS}"),
        ));
    }
    if has_annotation(node, K3S_ARGS) && !version.contains("+rke2") {
        return Some((Platform::K3s, format!("Node/{name} annotation {K3S_ARGS}")));
    }
    if let Some((suffix, platform)) = by_version.iter().find(|(s, _)| version.contains(s)) {
        return Some((
            *platform,
            format!("Node/{name} kubeletVersion {version} ({suffix})"),
        ));
    }
    let azure = node.metadata.labels.as_ref().and_then(|labels| {
        labels
            .keys()
            .find(|k| k.starts_with("kubernetes.azure.com/"))
    });
    azure.map(|label| (Platform::Aks, format!("Node/{name} label {label}")))
}

fn version_marker(version: &str) -> Option<(Platform, String)> {
    [
        ("+rke2", Platform::Rke2),
        ("+k3s", Platform::K3s),
        ("-eks-", Platform::Eks),
        ("-gke.", Platform::Gke),
    ]
    .into_iter()
    .find(|(suffix, _)| version.contains(suffix))
    .map(|(suffix, platform)| (platform, format!("server version {version} ({suffix})")))
}

/// Whether a pod is a `kube-apiserver` mirror pod (kubeadm labels, or the static pod name with
/// the mirror annotation).
pub(super) fn is_apiserver_pod(pod: &Pod) -> bool {
    let meta = &pod.metadata;
    let label = |key: &str, value: &str| {
        meta.labels
            .as_ref()
            .and_then(|l| l.get(key))
            .is_some_and(|v| v == value)
    };
    let mirror = meta
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
    let named = meta
        .name
        .as_deref()
        .is_some_and(|n| n.starts_with("kube-apiserver-"));
    (label("component", "kube-apiserver") && label("tier", "control-plane")) || (named && mirror)
}

pub(super) fn detect(facts: &ClusterFacts) -> Detection {
    let found = |platform, evidence| Detection {
        platform,
        evidence: vec![evidence],
    };
    if let Collected::Got(Some(_)) = &facts.openshift_apiserver {
        return found(
            Platform::OpenShift,
            "APIServer.config.openshift.io/cluster exists".to_owned(),
        );
    }
    let nodes = facts.nodes.got().map(Vec::as_slice).unwrap_or_default();
    if let Some((platform, why)) = nodes.iter().find_map(node_marker) {
        return found(platform, why);
    }
    if let Some((platform, why)) = facts.server_version.got().and_then(|v| version_marker(v)) {
        return found(platform, why);
    }
    let pods = facts
        .kube_system_pods
        .got()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let apiservers: Vec<String> = pods
        .iter()
        .filter(|pod| is_apiserver_pod(pod))
        .map(|pod| {
            format!(
                "Pod/kube-system/{}",
                pod.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect();
    if !apiservers.is_empty() {
        return Detection {
            platform: Platform::Kubeadm,
            evidence: apiservers,
        };
    }
    Detection {
        platform: Platform::Unknown,
        evidence: Vec::new(),
    }
}

/// The ENC001 finding: info, `incomplete` when an unknown platform may be due to what could not
/// be read.
pub(super) fn finding(detection: &Detection, facts: &ClusterFacts) -> Finding {
    let platform = detection.platform;
    let draft = |status| Draft {
        id: "ENC001",
        severity: Severity::Info,
        status,
        subject: Subject::new("Cluster", platform.name()),
    };
    if platform != Platform::Unknown {
        return draft(Status::Pass).finding(
            detection.evidence.clone(),
            format!("platform: {}", platform.name()),
            "nothing to do; the encryption checks below follow this platform",
        );
    }
    let missing: Vec<String> = [
        ("nodes", facts.nodes.unavailable()),
        ("pods in kube-system", facts.kube_system_pods.unavailable()),
        ("the server version", facts.server_version.unavailable()),
        (
            "the OpenShift APIServer",
            facts.openshift_apiserver.unavailable(),
        ),
    ]
    .into_iter()
    .filter_map(|(what, reason)| reason.map(|r| format!("{what}: {r}")))
    .collect();
    if missing.is_empty() {
        draft(Status::Pass).finding(
            Vec::new(),
            "platform not recognised: no markers of kubeadm, k3s, RKE2, EKS, GKE, AKS or OpenShift"
                .to_owned(),
            "nothing to do; check the apiserver flags on the control-plane hosts yourself",
        )
    } else {
        draft(Status::Incomplete).finding(
            missing,
            "platform not recognised, and some markers could not be read".to_owned(),
            "grant list on nodes and on pods in kube-system, then run doctor again",
        )
    }
}

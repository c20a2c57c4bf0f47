//! ENC010: is encryption configured on every API server, by the platform's own switch.
//!
//! - Self-managed: each `kube-apiserver` mirror pod's command and args must hold
//!   `--encryption-provider-config` (as `--flag=value` or `--flag value`), with one path
//!   everywhere (the file must be identical on every apiserver of an HA control plane).
//! - k3s / RKE2: the `--secrets-encryption` server flag in the node-args annotation (off by
//!   default in k3s, on by default in RKE2); RKE2's mirror pods are checked when visible.
//! - EKS ≥ 1.28 envelope-encrypts all API data by default; older EKS, GKE and AKS cannot be
//!   told from inside the cluster: `unknown` with the cloud CLI command that can.
//! - OpenShift: `spec.encryption.type` of the `APIServer` CR.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_yaml_ng::Value;

use super::platform::{Detection, K3S_ARGS, RKE2_ARGS, is_apiserver_pod};
use super::{ClusterFacts, Collected, Draft, Platform, REWRITE};
use crate::audit::{Finding, Severity, Status, Subject};

const FLAG: &str = "--encryption-provider-config";

fn draft(severity: Severity, status: Status, name: &str) -> Draft<'static> {
    Draft {
        id: "ENC010",
        severity,
        status,
        subject: Subject::new("APIServer", name),
    }
}

pub(super) fn flags(facts: &ClusterFacts, detection: &Detection, has_config: bool) -> Vec<Finding> {
    match detection.platform {
        Platform::Kubeadm => mirror_pods(facts, has_config),
        Platform::Rke2 if apiserver_pods(facts).is_some_and(|p| !p.is_empty()) => {
            mirror_pods(facts, has_config)
        }
        Platform::K3s | Platform::Rke2 => node_args(facts, detection.platform),
        Platform::Eks => vec![eks(facts)],
        Platform::Gke => vec![managed(
            Platform::Gke,
            "gcloud container clusters describe <cluster> --location <location> \
             --format 'value(databaseEncryption)'",
            "application-layer Secrets encryption (Cloud KMS) is opt-in on GKE",
        )],
        Platform::Aks => vec![managed(
            Platform::Aks,
            "az aks show -g <group> -n <cluster> --query securityProfile.azureKeyVaultKms",
            "KMS etcd encryption with Key Vault is opt-in on AKS",
        )],
        Platform::OpenShift => vec![openshift(facts)],
        Platform::Unknown => vec![unknown(facts)],
    }
}

fn apiserver_pods(facts: &ClusterFacts) -> Option<Vec<&Pod>> {
    facts
        .kube_system_pods
        .got()
        .map(|pods| pods.iter().filter(|p| is_apiserver_pod(p)).collect())
}

/// Every token of every container's command and args, split on whitespace so that a
/// `sh -c "kube-apiserver --flag=…"` wrapper is read too.
fn tokens(pod: &Pod) -> Vec<&str> {
    let containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    containers
        .iter()
        .flat_map(|c| c.command.iter().flatten().chain(c.args.iter().flatten()))
        .flat_map(|arg| arg.split_whitespace())
        .collect()
}

/// The value of `--flag` in `--flag=value` or `--flag value` form.
fn flag_value<'t>(tokens: &[&'t str], flag: &str) -> Option<&'t str> {
    tokens.iter().enumerate().find_map(|(index, token)| {
        let rest = token.strip_prefix(flag)?;
        if let Some(value) = rest.strip_prefix('=') {
            Some(value)
        } else if rest.is_empty() {
            tokens
                .get(index + 1)
                .copied()
                .filter(|v| !v.starts_with("--"))
        } else {
            None // another flag sharing the prefix, e.g. `…-automatic-reload`
        }
    })
}

fn mirror_pods(facts: &ClusterFacts, has_config: bool) -> Vec<Finding> {
    let pods = apiserver_pods(facts).unwrap_or_default();
    let seen: Vec<(String, Option<&str>)> = pods
        .iter()
        .map(|pod| {
            let name = pod.metadata.name.clone().unwrap_or_default();
            (name, flag_value(&tokens(pod), FLAG))
        })
        .collect();
    let with = seen.iter().filter(|(_, path)| path.is_some()).count();
    let mut paths: Vec<&str> = seen.iter().filter_map(|(_, path)| *path).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut findings = Vec::new();
    for (name, path) in &seen {
        let via = vec![format!("Pod/kube-system/{name} command+args")];
        let finding = match path {
            None => {
                let mixed = if with > 0 {
                    format!(" while {with} of {} apiservers set it (mixed)", seen.len())
                } else {
                    String::new()
                };
                draft(Severity::High, Status::Fail, name).finding(
                    via,
                    format!("runs without {FLAG}: Secrets are written in plaintext{mixed}"),
                    format!(
                        "write an EncryptionConfiguration with kms v2 or secretbox first for \
                         secrets, add {FLAG}=<file> (and a hostPath mount for it) to \
                         /etc/kubernetes/manifests/kube-apiserver.yaml on every control-plane \
                         node, {REWRITE}"
                    ),
                )
            }
            Some(path) if paths.len() > 1 => draft(Severity::High, Status::Fail, name).finding(
                via,
                format!(
                    "{FLAG}={path}, but the apiservers use {} different paths (mixed)",
                    paths.len()
                ),
                "use the same file at the same path on every control-plane node",
            ),
            Some(path) => draft(Severity::Info, Status::Pass, name).finding(
                via,
                format!("runs with {FLAG}={path}"),
                if has_config {
                    "nothing to do; ENC020 judges the file's content".to_owned()
                } else {
                    format!("pass that file with --encryption-config {path} to check its content")
                },
            ),
        };
        findings.push(finding);
    }
    findings
}

/// The `--secrets-encryption` setting of a k3s/RKE2 server from its node-args annotation
/// (a JSON array such as `["server","--secrets-encryption","true"]`); `None` on agents.
fn secrets_encryption(node: &Node, key: &str) -> Option<ServerArgs> {
    let raw = node.metadata.annotations.as_ref()?.get(key)?;
    let args: Vec<String> = serde_json::from_str(raw).ok()?;
    if args.first().map(String::as_str) != Some("server") {
        return None;
    }
    let tokens: Vec<&str> = args.iter().map(String::as_str).collect();
    // A bare boolean flag is true; k3s records it as the flag followed by `true`/`false`.
    let setting = tokens.iter().enumerate().find_map(|(index, arg)| {
        let rest = arg.strip_prefix("--secrets-encryption")?;
        match rest.strip_prefix('=') {
            Some(value) => Some(value != "false"),
            None if rest.is_empty() => Some(tokens.get(index + 1) != Some(&"false")),
            None => None, // `--secrets-encryption-provider` and friends
        }
    });
    let provider = flag_value(&tokens, "--secrets-encryption-provider").map(str::to_owned);
    Some(ServerArgs { setting, provider })
}

/// What a k3s/RKE2 server's args say about Secrets encryption.
struct ServerArgs {
    /// `--secrets-encryption`, when given.
    setting: Option<bool>,
    /// `--secrets-encryption-provider`, when given (the default is aescbc).
    provider: Option<String>,
}

fn node_args(facts: &ClusterFacts, platform: Platform) -> Vec<Finding> {
    let (key, default_on, status_cmd) = match platform {
        Platform::Rke2 => (RKE2_ARGS, true, "rke2 secrets-encrypt status"),
        _ => (K3S_ARGS, false, "k3s secrets-encrypt status"),
    };
    let name = platform.name();
    let nodes = facts.nodes.got().map(Vec::as_slice).unwrap_or_default();
    let servers: Vec<(&str, ServerArgs)> = nodes
        .iter()
        .filter_map(|n| {
            secrets_encryption(n, key).map(|s| (n.metadata.name.as_deref().unwrap_or_default(), s))
        })
        .collect();
    if servers.is_empty() {
        let reason = facts.nodes.unavailable().map_or_else(
            || format!("no server node carries the {key} annotation"),
            |r| format!("nodes could not be listed: {r}"),
        );
        return vec![draft(Severity::High, Status::Incomplete, name).finding(
            vec![reason],
            format!("cannot tell whether {name} encrypts Secrets"),
            format!("run `{status_cmd}` on a server node"),
        )];
    }
    let hint = format!(
        "set `secrets-encryption: true` in /etc/rancher/{0}/config.yaml on every server and \
         restart {0} (k3s also offers `k3s secrets-encrypt enable`), check `{status_cmd}`, {REWRITE}",
        name.to_lowercase()
    );
    servers
        .into_iter()
        .map(|(node, args)| {
            let setting = args.setting;
            let on = setting.unwrap_or(default_on);
            let via = vec![format!("Node/{node} annotation {key}")];
            let how = match setting {
                Some(_) => "--secrets-encryption in the server args",
                None if default_on => "on by default in RKE2, not disabled in the server args",
                None => "--secrets-encryption is not in the server args (off by default)",
            };
            if on {
                let provider = args.provider.as_deref().unwrap_or("aescbc, the default");
                draft(Severity::Info, Status::Pass, node).finding(
                    via,
                    format!("{name} server encrypts Secrets ({provider}): {how}"),
                    format!("nothing to do; `{status_cmd}` shows the provider and key rotation"),
                )
            } else {
                draft(Severity::High, Status::Fail, node).finding(
                    via,
                    format!("{name} server writes Secrets in plaintext: {how}"),
                    hint.clone(),
                )
            }
        })
        .collect()
}

const EKS_CMD: &str = "aws eks describe-cluster --name <cluster> --query cluster.encryptionConfig";

/// `v1.30.2-eks-1234` → (1, 30).
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

fn eks(facts: &ClusterFacts) -> Finding {
    let version = facts.server_version.got();
    match version.and_then(|v| major_minor(v)) {
        Some(v) if v >= (1, 28) => draft(Severity::Info, Status::Pass, "EKS").finding(
            vec![format!(
                "server version {}",
                version.map_or("", String::as_str)
            )],
            "EKS 1.28 and later envelope-encrypt all API data by default (KMS v2, AWS-owned key)"
                .to_owned(),
            format!("nothing to do; for a key you control, see `{EKS_CMD}`"),
        ),
        _ => {
            let why = match (version, facts.server_version.unavailable()) {
                (Some(v), _) => format!("server version {v} is older than 1.28"),
                (None, Some(reason)) => format!("server version unavailable: {reason}"),
                (None, None) => "server version not read".to_owned(),
            };
            managed(Platform::Eks, EKS_CMD, &why)
        }
    }
}

fn managed(platform: Platform, command: &str, why: &str) -> Finding {
    draft(Severity::High, Status::Unknown, platform.name()).finding(
        vec![why.to_owned()],
        format!(
            "{} does not show etcd encryption to API clients",
            platform.name()
        ),
        format!("check with `{command}`"),
    )
}

fn openshift(facts: &ClusterFacts) -> Finding {
    let kind = match &facts.openshift_apiserver {
        Collected::Got(Some(cr)) => cr
            .pointer("/spec/encryption/type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default(),
        _ => "",
    };
    let via = vec![format!("APIServer/cluster spec.encryption.type {kind:?}")];
    let hint = "oc patch apiserver cluster --type=merge -p \
         '{\"spec\":{\"encryption\":{\"type\":\"aesgcm\"}}}' and wait for the Encrypted \
         condition of openshiftapiserver and kubeapiserver";
    if kind.is_empty() || kind == "identity" {
        draft(Severity::High, Status::Fail, "OpenShift").finding(
            via,
            "OpenShift etcd encryption is off: Secrets are written in plaintext".to_owned(),
            hint,
        )
    } else {
        draft(Severity::Info, Status::Pass, "OpenShift").finding(
            via,
            format!("OpenShift encrypts etcd with {kind} (keys rotate weekly)"),
            "nothing to do; `oc get openshiftapiserver -o yaml` shows whether migration finished",
        )
    }
}

/// Intended apiserver flags from `kube-system/kubeadm-config` (`ClusterConfiguration`
/// `apiServer.extraArgs`, a map in v1beta3 and a list of name/value in v1beta4).
fn kubeadm_intent(facts: &ClusterFacts) -> Option<String> {
    let config = facts.kubeadm_config.got()?.as_ref()?;
    let text = config.data.as_ref()?.get("ClusterConfiguration")?;
    let mut tree: Value = serde_yaml_ng::from_str(text).ok()?;
    let args = tree.get("apiServer").and_then(|a| a.get("extraArgs"));
    let key = "encryption-provider-config";
    let path = match args {
        Some(Value::Mapping(map)) => map.get(key).and_then(Value::as_str).map(str::to_owned),
        Some(Value::Sequence(items)) => items
            .iter()
            .find(|i| i.get("name").and_then(Value::as_str) == Some(key))
            .and_then(|i| i.get("value").and_then(Value::as_str).map(str::to_owned)),
        _ => None,
    };
    crate::yaml::wipe(&mut tree);
    Some(match path {
        Some(path) => format!("kube-system/kubeadm-config sets {key}={path} (intended, not seen)"),
        None => format!("kube-system/kubeadm-config does not set {key}"),
    })
}

fn unknown(facts: &ClusterFacts) -> Finding {
    let mut via: Vec<String> = kubeadm_intent(facts).into_iter().collect();
    let message = match &facts.kube_system_pods {
        Collected::Unavailable(reason) => {
            via.push(format!("pods in kube-system: {reason}"));
            "cannot see the apiserver pods: whether Secrets are encrypted is not known"
        }
        _ => "the apiserver is not visible as a pod and the platform is not recognised",
    };
    draft(Severity::High, Status::Incomplete, "kube-apiserver").finding(
        via,
        message.to_owned(),
        format!(
            "grant list on pods in kube-system, or check {FLAG} on the control-plane hosts; pass \
             --encryption-config FILE to analyse the configuration file"
        ),
    )
}

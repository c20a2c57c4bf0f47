//! Equipment for the checks of `charts/secrets-agent` (the tests are in `tests/chart.rs` and,
//! for the CSI provider's part, `tests/csi_provider.rs`).
//!
//! Data flow: [`matrix`] names the values to render → [`render`] (or [`cluster_and_render`],
//! which first starts kube-standin with the CRDs) hands them to `render.py`
//! (helm-python-sdk from `.tools/venv`: Helm's own template engine and values.schema.json,
//! offline, or a server-side dry-run install against kube-standin for the cases that need an
//! API the stand-in serves) → one manifest file per case in a temporary directory → the tests
//! parse them ([`documents`]), run `kubernetes-validate` and `checkov` on them ([`tool`]) and
//! apply them to kube-standin with the real kubectl.
//!
//! Like `test-support`, everything here panics on failure: a check that cannot run must fail.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test equipment: a failed set-up step must fail the calling test with a panic"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// One set of values to render.
pub struct Case {
    /// File stem and namespace suffix.
    pub name: &'static str,
    /// Values, as `--values` would give them.
    pub values: Value,
    /// Render against the cluster (server-side dry run) instead of offline.
    pub cluster: bool,
}

impl Case {
    /// The `default` case installs as the README says (`secrets-agent` in `kubectl-secrets`);
    /// every other case gets its own release and namespace, so checks that relate objects (a
    /// NetworkPolicy to the pods its labels select) never match across cases when all files
    /// are checked at once.
    pub fn release(&self) -> String {
        match self.name {
            "default" => "secrets-agent".into(),
            name => format!("secrets-agent-{name}"),
        }
    }

    /// See [`Case::release`].
    pub fn namespace(&self) -> String {
        match self.name {
            "default" => "kubectl-secrets".into(),
            name => format!("sa-{name}"),
        }
    }
}

/// Service accounts the `store-tokens` case lets the agent request tokens for.
pub const TOKEN_NAMESPACES: [&str; 2] = ["team-a", "team-b"];

/// The CSI provider namespaces of the `csi-*` cases that the chart does not create itself
/// (`csi-custom` has `createNamespace`). Each case has its own, so no check relates one case's
/// provider pods to another's objects.
pub const CSI_NAMESPACES: [&str; 3] = [
    "kubectl-secrets-csi",
    "sa-csi-monitor-nodes",
    "sa-csi-monitor-no-api-nodes",
];

/// The provider namespace `csi-custom` makes (`csiProvider.createNamespace`).
pub const CSI_CUSTOM_NAMESPACE: &str = "sa-csi-custom-nodes";

/// The values matrix: defaults, then one change each.
pub fn matrix() -> Vec<Case> {
    let case = |name, values, cluster| Case {
        name,
        values,
        cluster,
    };
    vec![
        case("default", json!({}), false),
        case(
            "compat",
            json!({"bitnamiCompat": true, "bitnamiKeyNamespace": "kube-system"}),
            false,
        ),
        case("single", json!({"replicas": 1}), false),
        case(
            "network-policy",
            json!({"trustedProxies": ["10.0.0.0/8", "fd00::/8"], "networkPolicy": {
                "enabled": true,
                "metricsFrom": [{"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": "monitoring"}}}],
                "egress": [{"ports": [{"port": 443, "protocol": "TCP"},
                                      {"port": 6443, "protocol": "TCP"}]}],
            }}),
            false,
        ),
        // Rendered against kube-standin serving monitoring.coreos.com/v1.
        case(
            "service-monitor",
            json!({"metrics": {"serviceMonitor": {"enabled": true,
                                                  "labels": {"release": "prometheus"}}}}),
            true,
        ),
        // The same values offline, where that API is absent.
        case(
            "service-monitor-no-api",
            json!({"metrics": {"serviceMonitor": {"enabled": true}}}),
            false,
        ),
        case(
            "store-tokens",
            json!({"sync": {"tokenRequestServiceAccounts": [
                {"namespace": "team-a", "name": "vault-reader"},
                {"namespace": "team-a", "name": "bao-reader"},
                {"namespace": "team-b", "name": "vault-reader"},
            ]}}),
            false,
        ),
        // The CSI provider with its defaults (its namespace: kubectl-secrets-csi).
        case(
            "csi-provider",
            json!({"csiProvider": {"enabled": true}}),
            false,
        ),
        // Every provider value changed, with the NetworkPolicies on.
        case(
            "csi-custom",
            json!({"networkPolicy": {"enabled": true}, "csiProvider": {
                "enabled": true,
                "namespace": CSI_CUSTOM_NAMESPACE,
                "createNamespace": true,
                "providersDir": "/etc/kubernetes/secrets-store-csi-providers",
                "logFilter": "secrets_agent=debug",
                "serviceAccount": {"name": "mount-provider",
                                   "annotations": {"example.invalid/owner": "platform"}},
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infra",
                                 "effect": "NoSchedule"}],
                // kubernetes.io/os is the chart's to set: linux wins.
                "nodeSelector": {"pool": "general", "kubernetes.io/os": "windows"},
                "priorityClassName": "system-node-critical",
                "updateStrategy": {"type": "OnDelete"},
                "resources": {"requests": {"cpu": "20m", "memory": "64Mi"},
                              "limits": {"cpu": "1", "memory": "128Mi"}},
                "podAnnotations": {"example.invalid/scrape": "true"},
                "podLabels": {"team": "platform"},
                "extraArgs": ["--cache-size=500"],
            }}),
            false,
        ),
        // Rendered against kube-standin serving monitoring.coreos.com/v1.
        case(
            "csi-monitor",
            json!({"csiProvider": {"enabled": true, "namespace": "sa-csi-monitor-nodes",
                                   "podMonitor": {"enabled": true,
                                                  "labels": {"release": "prometheus"}}}}),
            true,
        ),
        // The same values offline, where that API is absent.
        case(
            "csi-monitor-no-api",
            json!({"csiProvider": {"enabled": true, "namespace": "sa-csi-monitor-no-api-nodes",
                                   "podMonitor": {"enabled": true}}}),
            false,
        ),
        case(
            "pinned-image",
            json!({"image": {
                "repository": "registry.example.invalid/secrets-agent",
                "digest": format!("sha256:{}", "a".repeat(64)),
                "pullPolicy": "Always",
            }}),
            false,
        ),
    ]
}

/// The [`refused`] case whose provider namespace is the release namespace.
pub const REFUSED_SAME_NAMESPACE: &str = "csi-same-namespace";

/// Values that values.schema.json (or a template check) must refuse, by name.
pub fn refused() -> Vec<(&'static str, Value)> {
    vec![
        ("no-replicas", json!({"replicas": 0})),
        ("misspelt-key", json!({"replica": 3})),
        ("tag-as-digest", json!({"image": {"digest": "latest"}})),
        ("bad-duration", json!({"keys": {"renewPeriod": "a month"}})),
        ("proxy-by-name", json!({"trustedProxies": ["proxy.local"]})),
        (
            "bad-token-namespace",
            json!({"sync": {"tokenRequestServiceAccounts": [{"namespace": "Team A", "name": "x"}]}}),
        ),
        (
            "csi-bad-namespace",
            json!({"csiProvider": {"enabled": true, "namespace": "Kube System"}}),
        ),
        (
            "csi-relative-providers-dir",
            json!({"csiProvider": {"enabled": true, "providersDir": "var/run/providers"}}),
        ),
        (
            "csi-surge",
            json!({"csiProvider": {"enabled": true, "updateStrategy": {
                "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}),
        ),
        // Refused by the templates, not the schema: the refused cases render in namespace
        // `refused`, the provider's namespace here too.
        (
            REFUSED_SAME_NAMESPACE,
            json!({"csiProvider": {"enabled": true, "namespace": "refused"}}),
        ),
    ]
}

/// What [`render`] produced.
pub struct Rendered {
    dir: tempfile::TempDir,
    /// `helm lint --strict` findings (warnings and errors) at the oldest supported and the
    /// default Kubernetes version.
    pub lint: Vec<String>,
    /// The two newest Kubernetes versions kubernetes-validate has schemas for.
    pub kube_versions: Vec<String>,
    /// For each [`refused`] case: the schema's error, or `None` when it was accepted.
    pub refused: BTreeMap<String, Option<String>>,
}

impl Rendered {
    /// The manifest file of a case.
    pub fn manifest(&self, case: &str) -> PathBuf {
        self.dir.path().join(format!("{case}.yaml"))
    }

    /// The manifest of a case, parsed.
    pub fn documents(&self, case: &str) -> Vec<Value> {
        documents(&std::fs::read_to_string(self.manifest(case)).unwrap())
    }

    /// The rendered NOTES.txt of a case.
    pub fn notes(&self, case: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{case}.NOTES.txt"))).unwrap()
    }

    /// Every case's manifest file.
    pub fn manifests(&self) -> Vec<PathBuf> {
        matrix().iter().map(|c| self.manifest(c.name)).collect()
    }
}

/// Render the whole matrix. `kubeconfig` points at the API server the `cluster` cases are
/// dry-run against.
pub fn render(kubeconfig: &Path) -> Rendered {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<Value> = matrix()
        .iter()
        .map(|c| {
            json!({"name": c.name, "release": c.release(), "namespace": c.namespace(),
                   "values": c.values, "cluster": c.cluster})
        })
        .collect();
    let refused: Vec<Value> = refused()
        .into_iter()
        .map(|(name, values)| json!({"name": name, "values": values}))
        .collect();
    let job = json!({
        "chart": chart_dir(),
        "out": dir.path(),
        "kubeconfig": kubeconfig,
        "cases": cases,
        "refused": refused,
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("render.py");
    let out = test_support::run_python(&script, &[], &[], &job, "rendering the chart");
    let result: Value = serde_json::from_slice(&out).unwrap();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    Rendered {
        lint: strings(&result["lint"]),
        kube_versions: strings(&result["kube_versions"]),
        refused: result["refused"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned)))
            .collect(),
        dir,
    }
}

/// The chart's folder.
pub fn chart_dir() -> PathBuf {
    test_support::workspace_root().join("charts/secrets-agent")
}

/// The chart's generated CRD files.
pub fn crd_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(chart_dir().join("crds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// A tool from the venv's `bin/` (`kubernetes-validate`, `checkov`), checked to be there.
pub fn tool(name: &str) -> PathBuf {
    let path = test_support::tools_bin().join(name);
    assert!(
        path.is_file(),
        "{name} not found in {}: run `cargo xtask test`, which installs it from \
         xtask/requirements-test.txt",
        path.parent().unwrap_or(&path).display()
    );
    path
}

/// Every non-empty document of a YAML stream.
pub fn documents(text: &str) -> Vec<Value> {
    use serde::Deserialize as _;
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|doc| !doc.is_null())
        .collect()
}

/// The first document of this kind (and name, when given).
pub fn find<'a>(docs: &'a [Value], kind: &str, name: Option<&str>) -> Option<&'a Value> {
    docs.iter().find(|d| {
        d["kind"] == kind && name.is_none_or(|n| d["metadata"]["name"].as_str() == Some(n))
    })
}

/// kube-standin with the chart's CRDs and the Prometheus Operator's ServiceMonitor and
/// PodMonitor CRDs (so it serves monitoring.coreos.com/v1), and the matrix rendered against it.
pub fn cluster_and_render() -> (test_support::Cluster, Rendered) {
    let cluster = test_support::Cluster::start();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = crd_files();
    files.push(fixtures.join("servicemonitor-crd.yaml"));
    files.push(fixtures.join("podmonitor-crd.yaml"));
    for file in files {
        cluster.kubectl_ok(&["apply", "-f", file.to_str().unwrap()]);
    }
    let rendered = render(cluster.kubeconfig());
    (cluster, rendered)
}

/// The first container's args of a workload (Deployment, DaemonSet).
pub fn args(workload: &Value) -> Vec<&str> {
    workload["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

/// The rules of a (Cluster)Role for one API group.
pub fn rules_for<'a>(role: &'a Value, group: &str) -> Vec<&'a Value> {
    role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["apiGroups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == group)
        })
        .collect()
}

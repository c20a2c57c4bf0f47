//! Checks of `charts/secrets-agent`, all offline: Helm renders it (helm-python-sdk) for a
//! values matrix; `helm lint --strict` and values.schema.json; what each render holds;
//! `kubernetes-validate --strict` for the two newest Kubernetes versions it knows; `checkov`
//! with no failed check (skips only with a reason written in the chart); and the CRDs plus
//! every render applied to kube-standin with the real kubectl.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests: a failed step fails the test"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use chart_tests::{args, cluster_and_render, crd_files, documents, find, matrix, rules_for, tool};
use serde_json::Value;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn chart_app_version_is_the_crate_version() {
    let chart = std::fs::read_to_string(chart_tests::chart_dir().join("Chart.yaml")).unwrap();
    let chart = &documents(&chart)[0];
    assert_eq!(
        chart["appVersion"].as_str(),
        Some(env!("CARGO_PKG_VERSION")),
        "Chart.yaml appVersion must be the workspace version in Cargo.toml"
    );
}

#[test]
fn chart_lints_and_its_schema_refuses_bad_values() {
    let (_cluster, rendered) = cluster_and_render();
    assert!(
        rendered.lint.is_empty(),
        "helm lint --strict: {:?}",
        rendered.lint
    );
    for (name, error) in &rendered.refused {
        assert!(
            error.is_some(),
            "values.schema.json accepted the {name} values"
        );
    }
}

#[test]
fn renders_hold_what_each_value_asks_for() {
    let (_cluster, r) = cluster_and_render();

    // Defaults: two replicas on the Lease, every piece present, compat off.
    let docs = r.documents("default");
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    for kind in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Service",
        "Deployment",
        "PodDisruptionBudget",
    ] {
        assert!(
            kinds.contains(&kind),
            "default render has no {kind}: {kinds:?}"
        );
    }
    for kind in ["NetworkPolicy", "ServiceMonitor"] {
        assert!(!kinds.contains(&kind), "{kind} is opt-in");
    }
    let deployment = find(&docs, "Deployment", Some("secrets-agent")).unwrap();
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(args(deployment)[0], "controller");
    assert!(!args(deployment).contains(&"--bitnami-compat"));
    assert!(
        !args(deployment)
            .iter()
            .any(|a| a.starts_with("--trusted-proxy"))
    );
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(
        container["image"],
        format!(
            "kubectl-secrets/secrets-agent:{}",
            env!("CARGO_PKG_VERSION")
        )
    );
    let env: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(env, ["POD_NAME", "POD_NAMESPACE"]);
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(pod["automountServiceAccountToken"], true);
    let account = find(&docs, "ServiceAccount", None).unwrap();
    assert_eq!(account["automountServiceAccountToken"], false);
    let service = find(&docs, "Service", Some("secrets-agent")).unwrap();
    let ports: Vec<(&str, i64)> = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["port"].as_i64().unwrap()))
        .collect();
    assert_eq!(ports, [("http", 8080), ("metrics", 8081)]);
    let cluster_role = find(&docs, "ClusterRole", None).unwrap();
    assert!(rules_for(cluster_role, "bitnami.com").is_empty());
    let lease_role = find(&docs, "Role", Some("secrets-agent-leader-election")).unwrap();
    assert_eq!(lease_role["metadata"]["namespace"], "kubectl-secrets");
    assert_eq!(
        rules_for(lease_role, "coordination.k8s.io")[1]["resourceNames"],
        serde_json::json!(["secrets-agent-leader"])
    );
    // The default install is where the plugin looks; other names get told the flags.
    assert!(
        r.notes("default")
            .contains("kubectl secrets seal -f - > db-sealed.yaml")
    );
    assert!(
        r.notes("single")
            .contains("--agent-namespace sa-single --agent-service secrets-agent-single")
    );

    // No wildcard anywhere in any RBAC rule of any render.
    for case in matrix() {
        for doc in r.documents(case.name) {
            for rule in doc["rules"].as_array().into_iter().flatten() {
                for key in ["apiGroups", "resources", "verbs"] {
                    assert!(
                        !rule[key].as_array().unwrap().iter().any(|v| v == "*"),
                        "{}: wildcard in {rule}",
                        case.name
                    );
                }
            }
        }
    }

    let docs = r.documents("compat");
    let deployment = find(&docs, "Deployment", None).unwrap();
    assert!(args(deployment).contains(&"--bitnami-compat"));
    assert!(args(deployment).contains(&"--bitnami-key-namespace=kube-system"));
    assert_eq!(
        rules_for(find(&docs, "ClusterRole", None).unwrap(), "bitnami.com").len(),
        2
    );

    let docs = r.documents("single");
    assert_eq!(
        find(&docs, "Deployment", None).unwrap()["spec"]["replicas"],
        1
    );
    assert!(find(&docs, "PodDisruptionBudget", None).is_none());

    assert!(find(&r.documents("network-policy"), "NetworkPolicy", None).is_some());
    let docs = r.documents("network-policy");
    let proxies: Vec<&str> = args(find(&docs, "Deployment", None).unwrap())
        .into_iter()
        .filter(|a| a.starts_with("--trusted-proxy"))
        .collect();
    assert_eq!(
        proxies,
        ["--trusted-proxy=10.0.0.0/8", "--trusted-proxy=fd00::/8"]
    );

    let monitor = r.documents("service-monitor");
    let monitor = find(&monitor, "ServiceMonitor", None).unwrap();
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    assert!(
        find(
            &r.documents("service-monitor-no-api"),
            "ServiceMonitor",
            None
        )
        .is_none()
    );
    assert!(
        r.notes("service-monitor-no-api")
            .contains("no ServiceMonitor was created")
    );

    let docs = r.documents("store-tokens");
    let token_roles: Vec<(&str, &Value)> = docs
        .iter()
        .filter(|d| {
            d["kind"] == "Role"
                && d["metadata"]["name"] == "secrets-agent-store-tokens-token-request"
        })
        .map(|d| (d["metadata"]["namespace"].as_str().unwrap(), &d["rules"]))
        .collect();
    assert_eq!(token_roles.len(), 2);
    assert_eq!(token_roles[0].0, "team-a");
    // Tokens may be requested, and the identity annotations read, for exactly the named
    // accounts: nothing else in the namespace.
    assert_eq!(
        token_roles[0].1,
        &serde_json::json!([
            {"apiGroups": [""], "resources": ["serviceaccounts/token"],
             "resourceNames": ["bao-reader", "vault-reader"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["serviceaccounts"],
             "resourceNames": ["bao-reader", "vault-reader"], "verbs": ["get"]},
        ])
    );

    let docs = r.documents("pinned-image");
    let container =
        &find(&docs, "Deployment", None).unwrap()["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["image"],
        format!(
            "registry.example.invalid/secrets-agent@sha256:{}",
            "a".repeat(64)
        )
    );
}

#[test]
fn renders_and_crds_pass_kubernetes_validate_strict() {
    let (_cluster, r) = cluster_and_render();
    assert_eq!(r.kube_versions.len(), 2, "{:?}", r.kube_versions);
    let mut files: Vec<PathBuf> = r.manifests();
    files.extend(crd_files());
    for version in &r.kube_versions {
        let out = Command::new(tool("kubernetes-validate"))
            .args(["--strict", "--quiet", "-k", version])
            .args(&files)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubernetes-validate --strict -k {version} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn renders_pass_checkov_with_reasons_for_every_skip() {
    let (_cluster, r) = cluster_and_render();
    // A skip must say why: `checkov.io/skipN: CKV_…=<reason>`.
    for case in matrix() {
        for doc in r.documents(case.name) {
            for (key, value) in doc["metadata"]["annotations"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if key.starts_with("checkov.io/skip") {
                    let (check, reason) = value.as_str().unwrap().split_once('=').unwrap();
                    assert!(check.starts_with("CKV"), "{}: {key}: {value}", case.name);
                    assert!(reason.len() > 20, "{}: {key} gives no reason", case.name);
                }
            }
        }
    }
    let mut command = Command::new(tool("checkov"));
    for file in r.manifests() {
        command.arg("-f").arg(file);
    }
    let out = command
        .args([
            "--framework",
            "kubernetes",
            "--skip-download",
            "--compact",
            "--quiet",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("Failed checks: 0"),
        "checkov found problems:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn crds_and_every_render_apply_to_kube_standin() {
    let (cluster, r) = cluster_and_render();
    let mut namespaces: Vec<String> = matrix().iter().map(|c| c.namespace()).collect();
    namespaces.extend(chart_tests::TOKEN_NAMESPACES.map(str::to_owned));
    namespaces.extend(chart_tests::CSI_NAMESPACES.map(str::to_owned));
    for ns in &namespaces {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ns.yaml");
        std::fs::write(
            &file,
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
        )
        .unwrap();
        cluster.kubectl_ok(&["apply", "-f", path(&file)]);
    }
    for case in matrix() {
        let out = cluster.kubectl_ok(&["apply", "-f", path(&r.manifest(case.name))]);
        let deployment = format!("deployment.apps/{} created", case.release());
        assert!(out.contains(&deployment), "{}: {out}", case.name);
        if case.name.starts_with("csi-") {
            let daemonset = format!("daemonset.apps/{}-csi-provider created", case.release());
            assert!(out.contains(&daemonset), "{}: {out}", case.name);
        }
    }
    let replicas = cluster.kubectl_ok(&[
        "get",
        "deployment",
        "secrets-agent",
        "-n",
        "kubectl-secrets",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas, "2");
    let monitor = "secrets-agent-service-monitor";
    cluster.kubectl_ok(&["get", "servicemonitor", monitor, "-n", "sa-service-monitor"]);
    let role = "secrets-agent-store-tokens-token-request";
    cluster.kubectl_ok(&["get", "role", role, "-n", "team-b"]);
    let monitor = "secrets-agent-csi-monitor-csi-provider";
    cluster.kubectl_ok(&["get", "podmonitor", monitor, "-n", "sa-csi-monitor-nodes"]);
    let enforce = cluster.kubectl_ok(&[
        "get",
        "namespace",
        chart_tests::CSI_CUSTOM_NAMESPACE,
        "-o",
        "jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}",
    ]);
    assert_eq!(enforce, "privileged");

    // The CRDs serve their kinds with the short name and the printer columns.
    let dir = tempfile::tempdir().unwrap();
    let sealed = dir.path().join("sealed.yaml");
    std::fs::write(
        &sealed,
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SealedSecret\n\
         metadata: {name: db, namespace: kubectl-secrets}\nspec: {encryptedData: {password: AgA=}}\n",
    )
    .unwrap();
    cluster.kubectl_ok(&["apply", "-f", path(&sealed)]);
    let table = cluster.kubectl_ok(&["get", "seal", "-n", "kubectl-secrets"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "READY", "REASON", "AGE"]);
}

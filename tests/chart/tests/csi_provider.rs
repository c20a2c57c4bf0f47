//! Checks of the chart's CSI provider part (`csiProvider.*`): what each `csi-*` render of the
//! matrix holds (the DaemonSet's args, socket, hostPath, security context, scheduling; the
//! provider's RBAC, which has nothing on Secrets; the controller's mount port, flags and RBAC;
//! the PodMonitor only where the API is served; the NOTES), that the default render has none of
//! it, and that a provider namespace equal to the release namespace is refused.
//! kubernetes-validate, checkov and the kube-standin apply run over these renders in
//! `tests/chart.rs`, with the rest of the matrix.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: a failed step fails the test"
)]

use chart_tests::{REFUSED_SAME_NAMESPACE, Rendered, args, cluster_and_render, find, rules_for};
use serde_json::{Value, json};

const SOCKET_ARG: &str = "--socket=/provider/kubectl-secrets.sock";

fn pod_spec(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect()
}

fn ports(service: &Value) -> Vec<(&str, i64, &str)> {
    service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["port"].as_i64().unwrap(),
                p["targetPort"].as_str().unwrap(),
            )
        })
        .collect()
}

/// Every rule of the roles bound to the CSI provider's service account, found through the
/// bindings' subjects (not by the roles' names), with the role each came from.
fn provider_rules<'a>(docs: &'a [Value], daemonset: &Value) -> Vec<(String, &'a Value)> {
    let account = pod_spec(daemonset)["serviceAccountName"].as_str().unwrap();
    let namespace = daemonset["metadata"]["namespace"].as_str().unwrap();
    let mut rules = Vec::new();
    for binding in docs
        .iter()
        .filter(|d| d["kind"] == "RoleBinding" || d["kind"] == "ClusterRoleBinding")
    {
        let bound = binding["subjects"].as_array().unwrap().iter().any(|s| {
            s["kind"] == "ServiceAccount" && s["name"] == account && s["namespace"] == namespace
        });
        if !bound {
            continue;
        }
        let role_ref = &binding["roleRef"];
        let role = docs
            .iter()
            .find(|d| {
                d["kind"] == role_ref["kind"]
                    && d["metadata"]["name"] == role_ref["name"]
                    && (d["kind"] == "ClusterRole"
                        || d["metadata"]["namespace"] == binding["metadata"]["namespace"])
            })
            .unwrap_or_else(|| panic!("{binding} binds a role the render lacks"));
        let label = format!(
            "{}/{}",
            role["kind"].as_str().unwrap(),
            role["metadata"]["name"].as_str().unwrap()
        );
        for rule in role["rules"].as_array().unwrap() {
            rules.push((label.clone(), rule));
        }
    }
    rules
}

/// The parts every provider render shares: security context, probes, socket, token, env, RBAC.
fn check_provider_basics(r: &Rendered, case: &str) -> Vec<Value> {
    let docs = r.documents(case);
    let release = format!("secrets-agent-{case}");
    let ds_name = format!("{release}-csi-provider");
    let daemonset = find(&docs, "DaemonSet", Some(&ds_name))
        .unwrap_or_else(|| panic!("{case}: no DaemonSet {ds_name}"));
    let pod = pod_spec(daemonset);
    let container = &pod["containers"][0];
    assert_eq!(args(daemonset)[0], "csi-provider", "{case}");
    assert!(args(daemonset).contains(&SOCKET_ARG), "{case}");
    assert_eq!(pod["automountServiceAccountToken"], true, "{case}");
    assert_ne!(pod["hostNetwork"], true, "{case}");
    for key in ["hostPID", "hostIPC"] {
        assert!(pod[key].is_null(), "{case}: {key} set");
    }
    assert_eq!(pod["securityContext"]["runAsUser"], 0, "{case}");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], false, "{case}");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let security = &container["securityContext"];
    assert_eq!(security["privileged"], false, "{case}");
    assert_eq!(security["allowPrivilegeEscalation"], false, "{case}");
    assert_eq!(security["readOnlyRootFilesystem"], true, "{case}");
    assert_eq!(security["runAsUser"], 0, "{case}");
    assert_eq!(security["capabilities"], json!({"drop": ["ALL"]}), "{case}");
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(
        container["ports"],
        json!([{"name": "metrics", "containerPort": 8081, "protocol": "TCP"}])
    );
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(
            container[probe]["httpGet"],
            json!({"path": "/healthz", "port": "metrics"}),
            "{case}: {probe}"
        );
    }
    let env: Vec<(&str, &str)> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["valueFrom"]["fieldRef"]["fieldPath"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        env,
        [
            ("POD_NAMESPACE", "metadata.namespace"),
            ("NODE_NAME", "spec.nodeName")
        ]
    );
    // The socket dir is the only host path, and /provider its mount; beside it the
    // provider's own token for the controller (audience kubectl-secrets), read-only.
    assert_eq!(
        names(&pod["volumes"]),
        ["providers-dir", "identity-token"],
        "{case}"
    );
    assert_eq!(
        pod["volumes"][1]["projected"]["sources"],
        json!([{"serviceAccountToken": {
            "audience": "kubectl-secrets", "expirationSeconds": 3600, "path": "token"}}]),
        "{case}"
    );
    assert_eq!(
        container["volumeMounts"],
        json!([
            {"name": "providers-dir", "mountPath": "/provider"},
            {"name": "identity-token", "mountPath": "/var/run/secrets/kubectl-secrets", "readOnly": true},
        ])
    );
    assert!(
        args(daemonset).contains(&"--identity-token-file=/var/run/secrets/kubectl-secrets/token"),
        "{case}"
    );
    assert!(
        args(daemonset).contains(&format!("--mount-config-map={release}-mount").as_str()),
        "{case}"
    );
    assert_eq!(pod["nodeSelector"]["kubernetes.io/os"], "linux", "{case}");

    // Its service account: in its namespace, no token of its own.
    let account = pod["serviceAccountName"].as_str().unwrap();
    let sa = docs
        .iter()
        .find(|d| d["kind"] == "ServiceAccount" && d["metadata"]["name"] == account)
        .unwrap_or_else(|| panic!("{case}: no ServiceAccount {account}"));
    assert_eq!(
        sa["metadata"]["namespace"],
        daemonset["metadata"]["namespace"]
    );
    assert_eq!(sa["automountServiceAccountToken"], false, "{case}");

    // Its RBAC: get only, nothing on Secrets, the published key by name.
    let rules = provider_rules(&docs, daemonset);
    assert_eq!(rules.len(), 5, "{case}: {rules:?}");
    for (role, rule) in &rules {
        assert_eq!(rule["verbs"], json!(["get"]), "{case}: {role}: {rule}");
        let resources = rule["resources"].as_array().unwrap();
        assert!(
            !resources.iter().any(|r| {
                let r = r.as_str().unwrap();
                r == "secrets" || r.starts_with("secrets/")
            }),
            "{case}: {role} gives the provider {rule}"
        );
    }
    let configmaps: Vec<&Value> = rules
        .iter()
        .map(|(_, rule)| *rule)
        .filter(|rule| rule["resources"] == json!(["configmaps"]))
        .collect();
    assert_eq!(
        configmaps,
        [
            // A store's caProvider ConfigMap, in the store's namespace.
            &json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}),
            &json!({"apiGroups": [""], "resources": ["configmaps"],
                    "resourceNames": [format!("{release}-mount")], "verbs": ["get"]}),
        ],
        "{case}"
    );

    // The controller: its mount port on the pod and the Service, and the provider's account.
    let ns = format!("sa-{case}");
    let deployment = find(&docs, "Deployment", Some(&release)).unwrap();
    let flag = format!(
        "--csi-provider-service-account={}/{account}",
        daemonset["metadata"]["namespace"].as_str().unwrap()
    );
    let key_flag = format!("--mount-key-secret={release}-mount-key");
    let map_flag = format!("--mount-config-map={release}-mount");
    let service_flag = format!("--mount-service={release}");
    for arg in [
        "--mount-addr=0.0.0.0:8443",
        flag.as_str(),
        &key_flag,
        &map_flag,
        &service_flag,
    ] {
        assert!(args(deployment).contains(&arg), "{case}: no {arg}");
    }
    assert!(
        args(daemonset).contains(&format!("--agent-url=https://{release}.{ns}.svc:8443").as_str()),
        "{case}: {:?}",
        args(daemonset)
    );
    assert!(args(daemonset).contains(&format!("--agent-namespace={ns}").as_str()));
    let controller_ports = &pod_spec(deployment)["containers"][0]["ports"];
    assert_eq!(names(controller_ports), ["http", "metrics", "mount"]);
    assert_eq!(controller_ports[2]["containerPort"], 8443);
    let service = find(&docs, "Service", Some(&release)).unwrap();
    assert_eq!(
        ports(service),
        [
            ("http", 8080, "http"),
            ("metrics", 8081, "metrics"),
            ("mount", 8443, "mount")
        ]
    );
    let cluster_role = find(&docs, "ClusterRole", Some(&release)).unwrap();
    assert_eq!(
        rules_for(cluster_role, "authentication.k8s.io"),
        [
            &json!({"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"],
                 "verbs": ["create"]})
        ]
    );
    let core = rules_for(cluster_role, "");
    assert!(
        core.contains(&&json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]})),
        "{case}: {core:?}"
    );
    // The mount key Secret (get, create) and the Secrets of SealedSecrets turned mount-only
    // (delete) come under the controller's Secrets rule.
    let secrets = core
        .iter()
        .find(|r| r["resources"] == json!(["secrets"]))
        .unwrap();
    for verb in ["get", "create", "delete"] {
        assert!(
            secrets["verbs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == verb),
            "{case}: {secrets}"
        );
    }
    let mount_role = find(&docs, "Role", Some(&format!("{release}-mount"))).unwrap();
    assert_eq!(mount_role["metadata"]["namespace"], ns.as_str());
    assert_eq!(
        mount_role["rules"],
        json!([
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["configmaps"],
             "resourceNames": [format!("{release}-mount")], "verbs": ["get", "update", "patch"]},
        ])
    );
    docs
}

#[test]
fn csi_provider_renders_hold_what_each_value_asks_for() {
    let (_cluster, r) = cluster_and_render();

    // Defaults: the provider's namespace, the driver's socket dir, every taint tolerated.
    let docs = check_provider_basics(&r, "csi-provider");
    let daemonset = find(&docs, "DaemonSet", None).unwrap();
    assert_eq!(daemonset["metadata"]["namespace"], "kubectl-secrets-csi");
    assert_eq!(
        args(daemonset),
        [
            "csi-provider",
            SOCKET_ARG,
            "--metrics-addr=0.0.0.0:8081",
            "--agent-url=https://secrets-agent-csi-provider.sa-csi-provider.svc:8443",
            "--agent-namespace=sa-csi-provider",
            "--mount-config-map=secrets-agent-csi-provider-mount",
            "--identity-token-file=/var/run/secrets/kubectl-secrets/token",
            "--log-filter=info",
        ]
    );
    let pod = pod_spec(daemonset);
    assert_eq!(
        pod["volumes"][0]["hostPath"],
        json!({"path": "/var/run/secrets-store-csi-providers", "type": "DirectoryOrCreate"})
    );
    assert_eq!(pod["tolerations"], json!([{"operator": "Exists"}]));
    assert_eq!(pod["nodeSelector"], json!({"kubernetes.io/os": "linux"}));
    assert!(pod["priorityClassName"].is_null());
    assert_eq!(
        pod["containers"][0]["resources"],
        json!({"requests": {"cpu": "50m", "memory": "100Mi"},
               "limits": {"cpu": "500m", "memory": "100Mi"}})
    );
    assert_eq!(
        daemonset["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}})
    );
    assert_eq!(
        pod["serviceAccountName"],
        "secrets-agent-csi-provider-csi-provider"
    );
    for kind in ["Namespace", "PodMonitor", "NetworkPolicy"] {
        assert!(find(&docs, kind, None).is_none(), "{kind} is opt-in");
    }
    let notes = r.notes("csi-provider");
    for text in [
        "/var/run/secrets-store-csi-providers/kubectl-secrets.sock",
        "provider: kubectl-secrets",
        "v1.6",
        "tokenRequests",
        "`vault`",
        "`kubectl-secrets` for mount-only SealedSecrets",
        "enableSecretRotation",
        "rotationPollInterval",
        "syncSecret is not needed",
        "kubectl label namespace kubectl-secrets-csi pod-security.kubernetes.io/enforce=privileged",
    ] {
        assert!(notes.contains(text), "NOTES lack {text:?}:\n{notes}");
    }

    // Every value changed.
    let docs = check_provider_basics(&r, "csi-custom");
    let daemonset = find(&docs, "DaemonSet", None).unwrap();
    let ns = chart_tests::CSI_CUSTOM_NAMESPACE;
    assert_eq!(daemonset["metadata"]["namespace"], ns);
    let namespace = find(&docs, "Namespace", Some(ns)).unwrap();
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    assert_eq!(
        &args(daemonset)[7..],
        ["--log-filter=secrets_agent=debug", "--cache-size=500"]
    );
    let pod = pod_spec(daemonset);
    assert_eq!(
        pod["volumes"][0]["hostPath"]["path"],
        "/etc/kubernetes/secrets-store-csi-providers"
    );
    assert_eq!(
        pod["tolerations"],
        json!([{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}])
    );
    assert_eq!(
        pod["nodeSelector"],
        json!({"pool": "general", "kubernetes.io/os": "linux"})
    );
    assert_eq!(pod["priorityClassName"], "system-node-critical");
    assert_eq!(
        daemonset["spec"]["updateStrategy"],
        json!({"type": "OnDelete"})
    );
    assert_eq!(
        pod["containers"][0]["resources"],
        json!({"requests": {"cpu": "20m", "memory": "64Mi"},
               "limits": {"cpu": "1", "memory": "128Mi"}})
    );
    let template = &daemonset["spec"]["template"]["metadata"];
    assert_eq!(template["labels"]["team"], "platform");
    assert_eq!(template["annotations"]["example.invalid/scrape"], "true");
    assert_eq!(pod["serviceAccountName"], "mount-provider");
    let sa = find(&docs, "ServiceAccount", Some("mount-provider")).unwrap();
    assert_eq!(
        sa["metadata"]["annotations"]["example.invalid/owner"],
        "platform"
    );
    let notes = r.notes("csi-custom");
    assert!(notes.contains("/etc/kubernetes/secrets-store-csi-providers/kubectl-secrets.sock"));
    assert!(notes.contains("the chart created it"), "{notes}");

    // NetworkPolicies: the controller admits `mount` from the provider's pods only; the
    // provider admits only scrapes.
    let selector = &daemonset["spec"]["selector"]["matchLabels"];
    let controller_policy = find(&docs, "NetworkPolicy", Some("secrets-agent-csi-custom")).unwrap();
    let mount_rule = controller_policy["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rule| rule["ports"][0]["port"] == "mount")
        .unwrap();
    assert_eq!(
        mount_rule["from"],
        json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                "podSelector": {"matchLabels": selector}}])
    );
    let provider_policy = find(
        &docs,
        "NetworkPolicy",
        Some("secrets-agent-csi-custom-csi-provider"),
    )
    .unwrap();
    assert_eq!(provider_policy["metadata"]["namespace"], ns);
    assert_eq!(
        provider_policy["spec"]["podSelector"]["matchLabels"],
        *selector
    );
    assert_eq!(
        provider_policy["spec"]["ingress"],
        json!([{"ports": [{"port": "metrics", "protocol": "TCP"}]}])
    );
    // The provider's pods carry the component label the controller's selector lacks, so the
    // controller's Service and policies never select them.
    let deployment = find(&docs, "Deployment", None).unwrap();
    let controller_selector = deployment["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap();
    assert!(!controller_selector.contains_key("app.kubernetes.io/component"));
    assert_eq!(selector["app.kubernetes.io/component"], "csi-provider");

    // The PodMonitor only where the cluster serves monitoring.coreos.com/v1.
    let docs = check_provider_basics(&r, "csi-monitor");
    let daemonset = find(&docs, "DaemonSet", None).unwrap();
    let monitor = find(&docs, "PodMonitor", None).unwrap();
    assert_eq!(monitor["metadata"]["namespace"], "sa-csi-monitor-nodes");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"],
        daemonset["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(
        monitor["spec"]["namespaceSelector"],
        json!({"matchNames": ["sa-csi-monitor-nodes"]})
    );
    assert_eq!(monitor["spec"]["podMetricsEndpoints"][0]["port"], "metrics");
    assert!(!r.notes("csi-monitor").contains("no PodMonitor"));
    let docs = check_provider_basics(&r, "csi-monitor-no-api");
    assert!(find(&docs, "PodMonitor", None).is_none());
    assert!(
        r.notes("csi-monitor-no-api")
            .contains("no PodMonitor was created")
    );
}

#[test]
fn without_csi_provider_the_controller_has_no_mount_piece() {
    let (_cluster, r) = cluster_and_render();
    let docs = r.documents("default");
    for kind in ["DaemonSet", "PodMonitor", "Namespace"] {
        assert!(
            find(&docs, kind, None).is_none(),
            "default render has a {kind}"
        );
    }
    let deployment = find(&docs, "Deployment", None).unwrap();
    assert!(
        !args(deployment)
            .iter()
            .any(|a| a.starts_with("--mount-addr") || a.starts_with("--csi-provider"))
    );
    let service = find(&docs, "Service", None).unwrap();
    assert_eq!(
        ports(service),
        [("http", 8080, "http"), ("metrics", 8081, "metrics")]
    );
    let cluster_role = find(&docs, "ClusterRole", None).unwrap();
    assert!(rules_for(cluster_role, "authentication.k8s.io").is_empty());
    assert!(
        !rules_for(cluster_role, "")
            .iter()
            .any(|r| r["resources"] == json!(["pods"]))
    );
    assert!(find(&docs, "Role", Some("secrets-agent-mount")).is_none());
    assert!(!r.notes("default").contains("Mount (CSI)"));
}

#[test]
fn a_provider_namespace_equal_to_the_release_namespace_is_refused() {
    let (_cluster, r) = cluster_and_render();
    let error = r.refused[REFUSED_SAME_NAMESPACE]
        .as_deref()
        .expect("the chart rendered a CSI provider in the release namespace");
    assert!(
        error.contains("csiProvider.namespace must differ from the release namespace refused"),
        "{error}"
    );
}

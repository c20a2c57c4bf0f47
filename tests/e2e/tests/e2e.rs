//! End to end on a real cluster (kind or k3d): the image, the chart and the plugin as users get
//! them. Ignored in `cargo test`; `cargo xtask e2e` runs them (see `src/lib.rs` for the
//! environment it sets).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests: a failed step fails the test"
)]

use std::time::Duration;

use e2e_tests::{Install, wait_for};
use serde_json::json;

/// Seal with the agent's certificate → apply → the agent (two replicas on a Lease) makes the
/// Secret and reports Ready; `verify` agrees; a rotated key still opens the object.
#[test]
#[ignore = "needs a real cluster and the agent image: cargo xtask e2e"]
fn seal_apply_unseal_on_a_real_cluster() {
    let install = Install::new(json!({"replicas": 2}));
    let ns = install.namespace.as_str();

    let cert = install.plugin_ok(&["fetch", "cert"]);
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");

    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.yaml");
    // A made-up value: the test only checks that it comes back unchanged.
    std::fs::write(
        &secret,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\n\
             stringData:\n  password: e2e-not-a-real-password\n"
        ),
    )
    .unwrap();
    let sealed = dir.path().join("sealed.yaml");
    install.plugin_ok(&[
        "seal",
        "-f",
        secret.to_str().unwrap(),
        "--output-file",
        sealed.to_str().unwrap(),
    ]);
    install.kubectl_ok(&["apply", "-f", sealed.to_str().unwrap()]);

    install.wait_ready("sealedsecret", "db", Duration::from_secs(90));
    let value = install.kubectl_ok(&[
        "get",
        "secret",
        "db",
        "-n",
        ns,
        "-o",
        "jsonpath={.data.password}",
    ]);
    // base64 of "e2e-not-a-real-password"
    assert_eq!(value, "ZTJlLW5vdC1hLXJlYWwtcGFzc3dvcmQ=");

    let verified = install.plugin_ok(&["verify", sealed.to_str().unwrap()]);
    assert!(verified.contains(": ok"), "{verified}");

    // The printer columns a person sees.
    let table = install.kubectl_ok(&["get", "seal", "-n", ns]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "READY", "REASON", "AGE"]);

    // A new key: old objects still open, new seals use the new key.
    install.plugin_ok(&["keys", "rotate"]);
    wait_for("a second sealing key", Duration::from_secs(60), || {
        let out = install.plugin(&["keys", "list"]);
        // A header line, then one line per key.
        let listed = String::from_utf8_lossy(&out.stdout).lines().count();
        (out.status.success() && listed >= 3).then_some(())
    });
    let verified = install.plugin_ok(&["verify", sealed.to_str().unwrap()]);
    assert!(verified.contains(": ok"), "{verified}");
}

/// Removes a cluster-scoped object the test made (the namespace takes the rest along).
struct ClusterScoped<'a>(&'a Install, &'static str, String);

impl Drop for ClusterScoped<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .kubectl(&["delete", self.1, &self.2, "--ignore-not-found"]);
    }
}

/// OpenBao in the cluster (dev mode), kubernetes auth reviewing with its own service account;
/// a SecretStore logging in as `vault-reader` through the agent's TokenRequest; an
/// ExternalSecret whose Secret follows a change in OpenBao after a forced sync.
#[test]
#[ignore = "needs a real cluster and the agent image: cargo xtask e2e"]
fn sync_from_an_in_cluster_openbao() {
    let install = Install::with_values(
        |ns| json!({"sync": {"tokenRequestServiceAccounts": [{"namespace": ns, "name": "vault-reader"}]}}),
    );
    let ns = install.namespace.as_str();
    let dir = tempfile::tempdir().unwrap();
    let openbao = dir.path().join("openbao.yaml");
    // A throwaway dev server: its root token is a fixture, not a credential.
    std::fs::write(
        &openbao,
        format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: openbao, namespace: {ns}}}\n---\n\
             apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: vault-reader, namespace: {ns}}}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: {ns}-openbao-reviewer}}\n\
             roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:auth-delegator}}\n\
             subjects: [{{kind: ServiceAccount, name: openbao, namespace: {ns}}}]\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: openbao, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: openbao}}}}\n  template:\n    metadata: {{labels: {{app: openbao}}}}\n    spec:\n      serviceAccountName: openbao\n      containers:\n      - name: openbao\n        image: quay.io/openbao/openbao:2.2.0\n        args: [server, -dev, -dev-root-token-id=root, -dev-listen-address=0.0.0.0:8200]\n        ports: [{{containerPort: 8200}}]\n        readinessProbe: {{httpGet: {{path: /v1/sys/health, port: 8200}}}}\n---\n\
             apiVersion: v1\nkind: Service\nmetadata: {{name: openbao, namespace: {ns}}}\nspec: {{selector: {{app: openbao}}, ports: [{{port: 8200}}]}}\n"
        ),
    )
    .unwrap();
    install.kubectl_ok(&["apply", "-f", openbao.to_str().unwrap()]);
    let _binding = ClusterScoped(
        &install,
        "clusterrolebinding",
        format!("{ns}-openbao-reviewer"),
    );
    install.kubectl_ok(&[
        "rollout",
        "status",
        "deployment/openbao",
        "-n",
        ns,
        "--timeout=180s",
    ]);
    let bao = |script: &str| {
        install.kubectl_ok(&[
            "exec",
            "-n",
            ns,
            "deploy/openbao",
            "--",
            "sh",
            "-c",
            &format!("export BAO_ADDR=http://127.0.0.1:8200 BAO_TOKEN=root; {script}"),
        ])
    };
    bao(&format!(
        "bao auth enable kubernetes && \
         bao write auth/kubernetes/config kubernetes_host=https://kubernetes.default.svc && \
         printf 'path \"secret/data/e2e/*\" {{ capabilities = [\"read\"] }}' | bao policy write e2e - && \
         bao write auth/kubernetes/role/e2e bound_service_account_names=vault-reader \
           bound_service_account_namespaces={ns} policies=e2e audience=vault ttl=1h && \
         bao kv put -mount=secret e2e/db password=e2e-first-made-up-value"
    ));
    let manifests = dir.path().join("sync.yaml");
    std::fs::write(
        &manifests,
        format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: openbao, namespace: {ns}}}\nspec:\n  provider:\n    vault:\n      server: http://openbao.{ns}.svc:8200\n      auth:\n        kubernetes:\n          role: e2e\n          serviceAccountRef: {{name: vault-reader, audiences: [vault]}}\n---\n\
             apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {{name: db, namespace: {ns}}}\nspec:\n  secretStoreRef: {{name: openbao}}\n  data:\n  - secretKey: password\n    remoteRef: {{key: e2e/db, property: password}}\n"
        ),
    )
    .unwrap();
    install.kubectl_ok(&["apply", "-f", manifests.to_str().unwrap()]);
    install.wait_ready("externalsecret", "db", Duration::from_secs(120));
    let password = || {
        install.kubectl_ok(&[
            "get",
            "secret",
            "db",
            "-n",
            ns,
            "-o",
            "jsonpath={.data.password}",
        ])
    };
    // base64 of "e2e-first-made-up-value"
    assert_eq!(password(), "ZTJlLWZpcnN0LW1hZGUtdXAtdmFsdWU=");

    bao("bao kv put -mount=secret e2e/db password=e2e-second-made-up-value");
    install.kubectl_ok(&[
        "annotate",
        "externalsecret",
        "db",
        "-n",
        ns,
        "--overwrite",
        "kubectl-secrets.io/force-sync=e2e-1",
    ]);
    // base64 of "e2e-second-made-up-value"
    wait_for(
        "the Secret to follow OpenBao",
        Duration::from_secs(60),
        || (password() == "ZTJlLXNlY29uZC1tYWRlLXVwLXZhbHVl").then_some(()),
    );
}

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

    let ready = r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#;
    wait_for(
        "the SealedSecret to be Ready",
        Duration::from_secs(90),
        || {
            let out = install.kubectl(&["get", "sealedsecret", "db", "-n", ns, "-o", ready]);
            (String::from_utf8_lossy(&out.stdout) == "True").then_some(())
        },
    );
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

// TODO(sync, issue 6): once the ExternalSecret controller has landed, add
// `sync_from_an_in_cluster_openbao` here:
// 1. `Install::new(json!({"sync": {"tokenRequestServiceAccounts":
//    [{"namespace": <ns>, "name": "vault-reader"}]}}))`;
// 2. run OpenBao in the namespace (a Deployment of `openbao/openbao` in dev mode, root token
//    `root`), enable kubernetes auth with the in-cluster API server and a role bound to
//    `<ns>/vault-reader`, write a KV v2 secret;
// 3. apply a SecretStore (vault provider, kubernetes auth with serviceAccountRef
//    vault-reader) and an ExternalSecret for that key;
// 4. wait for the ExternalSecret's Ready condition and compare the Secret's data; change the
//    value in OpenBao and wait for the refresh.
// `Install` already dumps pods, logs and events on failure and deletes the namespace.

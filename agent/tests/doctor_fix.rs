//! `kubectl secrets doctor --git --fix` with the real binaries and the running agent: a
//! checkout's plaintext Secret manifest is sealed in place with the cluster's certificate
//! (fetched through the service proxy), `kubectl apply` stores the fixed file, and the agent
//! opens it into the original Secret; the file's other document is applied unchanged.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::process::Command;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;

use common::*;

const MANIFEST: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: team\ndata:\n  mode: fast\n---\n# the database password\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: doctor-fix-value\n  user: app\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_fix_seals_a_checkout_that_the_agent_opens_into_the_original_secret() {
    let (cluster, client) = cluster().await;
    let port = free_port();
    let _agent = start_replica(&cluster, "a", port);
    expose(&client, port).await;
    wait_keys(&client, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let checkout = dir.path().join("repo");
    std::fs::create_dir_all(checkout.join("deploy")).unwrap();
    let file = checkout.join("deploy/app.yaml");
    std::fs::write(&file, MANIFEST).unwrap();

    let out = Command::new(plugin())
        .args(["doctor", "--git"])
        .arg(&checkout)
        .args(["--fix", "--yes", "-n", "team"])
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("HOME", dir.path())
        .env_remove("KUBECTL_SECRETS_CERT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Secret team/db → SealedSecret (keys password, user; values masked)"),
        "{stderr}"
    );
    assert!(!stderr.contains("doctor-fix-value"), "{stderr}");
    let fixed = std::fs::read_to_string(&file).unwrap();
    assert!(!fixed.contains("doctor-fix-value"), "{fixed}");
    assert!(
        fixed.starts_with(MANIFEST.split("---\n").next().unwrap()),
        "{fixed}"
    );

    cluster.kubectl_ok(&["apply", "-f", file.to_str().unwrap()]);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    let data = wait_for("the Secret the agent opens from the fixed file", || {
        let api = secrets.clone();
        async move { api.get_opt("db").await.ok()?.and_then(|s| s.data) }
    })
    .await;
    assert_eq!(data["password"].0, b"doctor-fix-value");
    assert_eq!(data["user"].0, b"app");
    let maps: Api<ConfigMap> = Api::namespaced(client, "team");
    let map = maps.get("app").await.unwrap();
    assert_eq!(map.data.unwrap()["mode"], "fast");
}

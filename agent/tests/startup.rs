//! The real `secrets-agent` binary at start and in its logs: started before its CRDs it says
//! which are missing (once each) and is not ready until they are installed, then recovers
//! within seconds; every JSON log line parses without duplicate keys, and failure lines carry
//! their cause in `error`.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::seal::crypto::Scope;
use serde_json::Value;
use test_support::Cluster;

use common::*;

/// The CRDs an agent without `--bitnami-compat` watches: every one the chart ships but
/// Bitnami's.
fn watched() -> Vec<String> {
    let mut names: Vec<String> = secrets_core::api::crds::all()
        .into_iter()
        .filter_map(|crd| crd.metadata.name)
        .filter(|name| !name.ends_with(".bitnami.com"))
        .collect();
    names.sort_unstable();
    names
}

fn log_lines(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Log lines with this message and level.
fn events<'a>(lines: &'a [Value], level: &str, message: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["level"] == level && l["fields"]["message"] == message)
        .collect()
}

const MISSING: &str = "custom resource definition not installed: its objects are not watched, \
                       and the agent is not ready until it is";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_before_its_crds_it_is_not_ready_then_recovers_promptly() {
    let cluster = Cluster::start();
    let client = cluster.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in ["kubectl-secrets", "team"] {
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).unwrap(),
            )
            .await
            .unwrap();
    }
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let agent = Agent::spawn(
        &cluster,
        &[
            "--http-addr",
            &addr,
            "--lease-duration",
            "3s",
            "--lease-renew",
            "1s",
        ],
    );
    let cert = wait_keys(&client, 1).await;

    // Not ready, naming every missing CRD.
    let body = wait_for("/readyz naming the missing CRDs", move || async move {
        agent_get(port, "/readyz")
            .await
            .filter(|(code, body)| *code == 503 && body.contains("not installed"))
            .map(|(_, body)| body)
    })
    .await;
    let watched = watched();
    assert_eq!(watched.len(), 4, "{watched:?}");
    for crd in &watched {
        assert!(body.contains(crd.as_str()), "{crd}: {body}");
    }
    assert!(!body.contains("bitnami"), "{body}");
    // One warning per CRD, not one per retry: wait for several more checks, count again.
    wait_for("a warning per missing CRD", || {
        let lines = log_lines(&agent.logs());
        std::future::ready((events(&lines, "WARN", MISSING).len() >= watched.len()).then_some(()))
    })
    .await;
    let checks = cluster.standin().control().count("sealedsecrets", "list");
    wait_for("several more checks", || {
        let now = cluster.standin().control().count("sealedsecrets", "list");
        std::future::ready((now >= checks + 6).then_some(()))
    })
    .await;
    let lines = log_lines(&agent.logs());
    let warnings = events(&lines, "WARN", MISSING);
    let mut named: Vec<String> = warnings
        .iter()
        .map(|l| l["fields"]["crd"].as_str().unwrap().to_owned())
        .collect();
    named.sort_unstable();
    assert_eq!(named, watched, "exactly one warning per CRD");
    for warning in &warnings {
        assert!(
            warning["fields"]["error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{warning}"
        );
    }

    // Install the CRDs: ready within seconds, and a SealedSecret reconciles.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in secrets_core::api::crds::all() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let installed = Instant::now();
    wait_for("/readyz 200", move || async move {
        agent_get(port, "/readyz")
            .await
            .filter(|(code, _)| *code == 200)
    })
    .await;
    assert!(
        installed.elapsed() < Duration::from_secs(10),
        "ready {:?} after the CRDs were installed",
        installed.elapsed()
    );
    let sealed = secrets_core::seal::seal_secret(
        &plain("db", "team", &[("password", PASSWORD)]),
        cert.public_key(),
        Scope::Strict,
    )
    .unwrap();
    Api::<SealedSecret>::namespaced(client.clone(), "team")
        .create(&PostParams::default(), &sealed)
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    let secret = wait_for("the Secret", || {
        let api = secrets.clone();
        async move { api.get_opt("db").await.ok()? }
    })
    .await;
    assert_eq!(secret.data.unwrap()["password"].0, PASSWORD.as_bytes());
    assert!(
        installed.elapsed() < Duration::from_secs(15),
        "reconciled {:?} after the CRDs were installed",
        installed.elapsed()
    );
    let logs = agent.stop();
    let lines = log_lines(&logs);
    let installed_lines = events(&lines, "INFO", "custom resource definition installed");
    assert_eq!(installed_lines.len(), watched.len(), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_have_unique_keys_and_failures_carry_the_error() {
    let (cluster, client) = cluster().await;
    let agent = Agent::start(&cluster);
    let cert = wait_keys(&client, 1).await;
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), "team");
    let good = secrets_core::seal::seal_secret(
        &plain("good", "team", &[("password", PASSWORD)]),
        cert.public_key(),
        Scope::Strict,
    )
    .unwrap();
    let other = secrets_core::seal::keys::generate(
        secrets_core::seal::keys::KeyBits::Rsa2048,
        "elsewhere",
        time::OffsetDateTime::now_utc(),
        time::Duration::days(1),
    )
    .unwrap();
    let foreign = secrets_core::seal::seal_secret(
        &plain("foreign", "team", &[("password", PASSWORD)]),
        other.certificate.public_key(),
        Scope::Strict,
    )
    .unwrap();
    for object in [&good, &foreign] {
        sealed_api
            .create(&PostParams::default(), object)
            .await
            .unwrap();
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    wait_for("the good Secret", || {
        let api = secrets.clone();
        async move { api.get_opt("good").await.ok()? }
    })
    .await;
    wait_for("the foreign object's failure in the log", || {
        let logs = agent.logs();
        std::future::ready(logs.contains("cannot unseal").then_some(()))
    })
    .await;
    let logs = agent.stop();

    let mut checked = 0;
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        no_duplicate_keys(line).unwrap_or_else(|e| panic!("{e} in log line {line}"));
        checked += 1;
    }
    assert!(checked > 10, "only {checked} log lines");
    let lines = log_lines(&logs);
    let failure = events(&lines, "WARN", "cannot unseal")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no `cannot unseal` line in {logs}"));
    assert_eq!(failure["fields"]["reason"], "DecryptionFailed", "{failure}");
    assert!(
        failure["fields"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{failure}"
    );
    let span = failure["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "reconcile_inner")
        .unwrap_or_else(|| panic!("{failure}"));
    assert_eq!(span["object"], "foreign", "{failure}");
    assert_eq!(span["namespace"], "team", "{failure}");
    assert!(!logs.contains(PASSWORD), "a value reached the agent's logs");
}

#[test]
fn the_duplicate_key_check_finds_them_at_any_depth() {
    assert_eq!(
        no_duplicate_keys(r#"{"a": 1, "b": {"c": [1, {"d": 2}]}}"#),
        Ok(())
    );
    assert_eq!(no_duplicate_keys(r#"[{"a": 1}, {"a": 2}]"#), Ok(()));
    let err = no_duplicate_keys(r#"{"fields": {"message": "x", "message": "y"}}"#).unwrap_err();
    assert!(err.contains("duplicate key \"message\""), "{err}");
    assert!(no_duplicate_keys(r#"{"spans": [{"name": "a", "name": "b"}]}"#).is_err());
    assert!(no_duplicate_keys(r#"{"a": 1} trailing"#).is_err());
}

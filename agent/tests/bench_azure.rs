//! Azure benchmark (run by `cargo xtask bench`, in release): 1,000 ExternalSecrets over 100
//! Key Vault secrets in azure-standin, workload identity with kube-standin's service-account
//! tokens (wiring from `common::azure`), created at once → time until all are Ready, Key
//! Vault secret GETs and Entra token calls for the first sync and for two full refresh cycles
//! one after the other (the second is the steady state; the goal for each: 100 GETs and no
//! token call), agent peak RSS. Then the same with `--credential-cache=false
//! --read-cache=false` (ESO's pattern: a login per read, no read shared between objects).
//! Prints one `BENCH_AZURE {json}` line. Ignored in normal runs: a measurement, not a check.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "benchmark harness: failing loudly is the point"
)]

mod common;

use std::time::Duration;

use azure_standin::AzureStandIn;
use common::azure::azure_env;
use common::peak_rss_kib;
use common::sync::{create_all_ready, next_cycle, store_ready_when};
use kube::api::Api;
use secrets_core::api::ExternalSecret;

const OBJECTS: usize = 1_000;
const SECRETS: usize = 100;
const INTERVAL: &str = "30s";
/// ESO's call pattern, through the agent's hidden measuring flags.
const UNCACHED: &[&str] = &["--credential-cache=false", "--read-cache=false"];

/// (secret GETs, token calls) since the last reset, and reset.
fn take_counts(azure: &AzureStandIn) -> (u64, u64) {
    let counts = (azure.calls("secret_get"), azure.calls("token"));
    azure.reset_calls();
    counts
}

/// One agent with `flags`, from an empty cluster to two refresh cycles.
async fn run(flags: &[&str]) -> serde_json::Value {
    // The agent's default provider timeout, as the other benchmarks run it.
    let mut args = vec!["--log-filter", "warn", "--provider-timeout", "10s"];
    args.extend_from_slice(flags);
    let env = azure_env(&args).await;
    let auth = env.workload_identity("app-wi", "app");
    for s in 0..SECRETS {
        env.azure.set_secret(
            &format!("bench-{s:03}"),
            &serde_json::json!({"value": format!("value-{s}"), "user": "app"}).to_string(),
        );
    }
    env.cluster.apply(&env.store("azure", &auth));
    let (ok, reason, message) =
        store_ready_when(&env.client, "team", "azure", "Ready", |_, r, _| {
            !r.is_empty()
        })
        .await;
    assert!(ok, "store azure: {reason}: {message}");
    let api: Api<ExternalSecret> = Api::namespaced(env.client.clone(), "team");
    let objects: Vec<ExternalSecret> = (0..OBJECTS)
        .map(|i| {
            let key = format!("bench-{:03}", i % SECRETS);
            serde_json::from_value(serde_json::json!({
                "apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "ExternalSecret",
                "metadata": {"name": format!("es-{i:04}")},
                "spec": {"secretStoreRef": {"name": "azure"}, "refreshInterval": INTERVAL,
                         "data": [{"secretKey": "value", "remoteRef": {"key": key, "property": "value"}},
                                  {"secretKey": "user", "remoteRef": {"key": key, "property": "user"}}]}
            }))
            .unwrap()
        })
        .collect();
    // The store check's login and list are not the sync's.
    env.azure.reset_calls();
    let (all_ready, times) = create_all_ready(&api, objects, Duration::from_secs(900)).await;
    let first = take_counts(&env.azure);
    let times = next_cycle(&api, &times, Duration::from_secs(600)).await;
    let cycle = take_counts(&env.azure);
    next_cycle(&api, &times, Duration::from_secs(600)).await;
    let cycle2 = take_counts(&env.azure);
    serde_json::json!({
        "flags": flags.join(" "),
        "all_ready_s": all_ready.as_secs_f64(),
        "first_sync_secret_get": first.0, "first_sync_token": first.1,
        "refresh_cycle_secret_get": cycle.0, "refresh_cycle_token": cycle.1,
        "refresh_cycle2_secret_get": cycle2.0, "refresh_cycle2_token": cycle2.1,
        "agent_peak_rss_kib": peak_rss_kib(env.agent.child.id()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by `cargo xtask bench` (release build)"]
async fn azure_thousand_external_secrets_over_hundred_secrets() {
    let cached = run(&[]).await;
    let uncached = run(UNCACHED).await;
    let line = serde_json::json!({
        "objects": OBJECTS, "secrets": SECRETS, "refresh_interval": INTERVAL,
        "cached": cached, "uncached": uncached,
    });
    println!("BENCH_AZURE {line}");
}

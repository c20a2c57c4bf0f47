//! Sync benchmark (run by `cargo xtask bench`, in release): 1,000 ExternalSecrets over 100
//! OpenBao paths created at once → time until all are Ready, provider reads for the first sync
//! and for one full refresh cycle (the goal: exactly one read per path), agent peak RSS.
//! Prints one `BENCH_SYNC {json}` line. Ignored in normal runs: a measurement, not a check.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "benchmark harness: failing loudly is the point"
)]

mod common;

use std::time::Duration;

use common::peak_rss_kib;
use common::sync::sync_env;
use common::sync::{create_all_ready, next_cycle};
use kube::api::Api;
use secrets_core::api::ExternalSecret;

const OBJECTS: usize = 1_000;
const PATHS: usize = 100;
const INTERVAL: &str = "60s";
const READS: &str = "secrets_agent_provider_calls_total{provider=\"vault\",call=\"read\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by `cargo xtask bench` (release build)"]
async fn sync_thousand_external_secrets_over_hundred_paths() {
    // Info from the HTTP module only: the metrics address comes from its "listening" line.
    let env = sync_env(&["--log-filter", "warn,secrets_agent::http=info"]).await;
    for p in 0..PATHS {
        env.bao.kv2_put(
            "secret",
            &format!("bench/{p:03}"),
            serde_json::json!({"value": format!("value-{p}"), "user": "app"}),
        );
    }
    let api: Api<ExternalSecret> = Api::namespaced(env.client.clone(), "team");
    let objects: Vec<ExternalSecret> = (0..OBJECTS)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "ExternalSecret",
                "metadata": {"name": format!("es-{i:04}")},
                "spec": {"secretStoreRef": {"name": "vault"}, "refreshInterval": INTERVAL,
                         "data": [{"secretKey": "value", "remoteRef": {"key": format!("bench/{:03}", i % PATHS), "property": "value"}},
                                  {"secretKey": "user", "remoteRef": {"key": format!("bench/{:03}", i % PATHS), "property": "user"}}]}
            }))
            .unwrap()
        })
        .collect();
    let before = env.metric(READS).await;
    let (all_ready, times) = create_all_ready(&api, objects, Duration::from_secs(600)).await;
    let first_reads = env.metric(READS).await - before;
    // One refresh cycle: wait until every object's refreshTime has moved on.
    next_cycle(&api, &times, Duration::from_secs(300)).await;
    let cycle_reads = env.metric(READS).await - before - first_reads;
    // Token work for the whole run: logins, lookups (a token from a Secret is looked up, and
    // the store is validated) and renewals.
    let mut token_calls = 0.0;
    for call in ["login", "lookup", "renew"] {
        let series =
            format!("secrets_agent_provider_calls_total{{provider=\"vault\",call=\"{call}\"");
        token_calls += env.metric(&series).await;
    }
    let line = serde_json::json!({
        "objects": OBJECTS, "paths": PATHS, "refresh_interval": INTERVAL,
        "all_ready_s": all_ready.as_secs_f64(),
        "first_sync_reads": first_reads, "refresh_cycle_reads": cycle_reads, "token_calls": token_calls,
        "agent_peak_rss_kib": peak_rss_kib(env.agent.child.id()),
    });
    println!("BENCH_SYNC {line}");
}

//! Agent benchmark (run by `cargo xtask bench`, in release): 1,000 SealedSecrets of 5 keys
//! each created at once → time until every Secret is right, per-object latency p50/p99, agent
//! peak RSS; then the same after a key rotation (2 keys loaded, objects sealed with the older
//! key, so each value costs a failed try with the newest key first). Prints one `BENCH {json}`
//! line per phase. Ignored in normal runs: it is a measurement, not a check.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "benchmark harness: failing loudly is the point"
)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt as _;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::seal::crypto::Scope;
use secrets_core::seal::keys::{Certificate, RENEW_REQUESTED_AT};

use common::*;

const OBJECTS: usize = 1_000;
const KEYS_PER_OBJECT: usize = 5;

async fn phase(client: &kube::Client, cert: &Certificate, prefix: &str) -> serde_json::Value {
    let values: Vec<(String, String)> = (0..KEYS_PER_OBJECT)
        .map(|i| (format!("key{i}"), format!("value-{i}-{}", "x".repeat(32))))
        .collect();
    let sealed: Vec<SealedSecret> = (0..OBJECTS)
        .map(|n| {
            let data: Vec<(&str, &str)> = values
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            secrets_core::seal::seal_secret(
                &plain(&format!("{prefix}-{n:04}"), "team", &data),
                cert.public_key(),
                Scope::Strict,
            )
            .unwrap()
        })
        .collect();
    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    // Watch Secrets from now: record when each one appears with all its keys.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    let watch_seen = seen.clone();
    let prefix_owned = prefix.to_owned();
    let watching = tokio::spawn(async move {
        let mut stream = watcher(secrets, watcher::Config::default()).boxed();
        while let Ok(Some(event)) = stream.try_next().await {
            if let watcher::Event::Apply(s) | watcher::Event::InitApply(s) = event
                && s.name_any().starts_with(&prefix_owned)
                && s.data.as_ref().is_some_and(|d| d.len() == KEYS_PER_OBJECT)
            {
                watch_seen
                    .lock()
                    .unwrap()
                    .entry(s.name_any())
                    .or_insert_with(Instant::now);
            }
        }
    });
    let api: Api<SealedSecret> = Api::namespaced(client.clone(), "team");
    let started = Instant::now();
    futures::stream::iter(sealed)
        .for_each_concurrent(16, |s| {
            let api = api.clone();
            let created = created.clone();
            async move {
                let name = s.name_any();
                created.lock().unwrap().insert(name, Instant::now());
                api.create(&PostParams::default(), &s).await.unwrap();
            }
        })
        .await;
    let deadline = Instant::now() + Duration::from_secs(600);
    while seen.lock().unwrap().len() < OBJECTS {
        assert!(
            Instant::now() < deadline,
            "only {} of {OBJECTS} Secrets after 600 s",
            seen.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = started.elapsed();
    watching.abort();
    let created = created.lock().unwrap();
    let seen = seen.lock().unwrap();
    let mut latencies: Vec<f64> = seen
        .iter()
        .map(|(name, at)| at.duration_since(created[name]).as_secs_f64() * 1e3)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    serde_json::json!({
        "objects": OBJECTS, "keys_per_object": KEYS_PER_OBJECT,
        "total_s": total.as_secs_f64(), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
        "values_per_s": (OBJECTS * KEYS_PER_OBJECT) as f64 / total.as_secs_f64(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by `cargo xtask bench` (release build)"]
async fn agent_unseal_throughput() {
    let (cluster, client) = cluster().await;
    let agent = Agent::start_with(&cluster, &["--log-filter", "warn", "--concurrency", "4"]);
    let first = wait_keys(&client, 1).await;
    let mut one = phase(&client, &first, "a").await;
    one["phase"] = "one key".into();
    one["agent_peak_rss_kib"] = peak_rss_kib(agent.child.id()).into();
    println!("BENCH {one}");

    let keys: Api<Secret> = Api::namespaced(client.clone(), "kubectl-secrets");
    let newest = key_secrets(&client).await.pop().unwrap();
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    keys.patch(
        &newest.name_any(),
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"metadata": {"annotations": {RENEW_REQUESTED_AT: now}}})),
    )
    .await
    .unwrap();
    wait_keys(&client, 2).await;
    let mut two = phase(&client, &first, "b").await;
    two["phase"] = "two keys, sealed with the older".into();
    two["agent_peak_rss_kib"] = peak_rss_kib(agent.child.id()).into();
    println!("BENCH {two}");
    let _ = keys.list(&ListParams::default()).await;
    agent.stop();
}

//! AWS benchmark (run by `cargo xtask bench`, in release): 1,000 ExternalSecrets over 100
//! AWS secrets on moto (behind aws-standin, which counts every call), IRSA as `team/app`,
//! created at once. Two agents in one run, side by side, on the same secrets: ours as it
//! ships, and ESO's pattern (`--aws-batch=false --credential-cache=false --read-cache=false`:
//! one GetSecretValue per object and a web-identity login per reconcile). For each: time
//! until all are Ready, provider calls per action for the first sync and for two full
//! refresh cycles, the first after the first syncs and the steady state (the goal: 5
//! BatchGetSecretValue and no STS call), agent peak RSS. Prints one `BENCH_AWS {json}` line
//! per mode. Ignored in normal runs: a measurement, not a check.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "benchmark harness: failing loudly is the point"
)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::aws::{IRSA_AUTH, aws_env_with};
use common::peak_rss_kib;
use common::sync::{create_all_ready, next_cycle};
use kube::api::Api;
use secrets_core::api::ExternalSecret;
use test_support::Moto;

const OBJECTS: usize = 1_000;
const SECRETS: usize = 100;
const INTERVAL: &str = "60s";

async fn run(moto: Arc<Moto>, mode: &str, flags: &[&str]) -> serde_json::Value {
    let mut args = vec!["--log-filter", "warn,secrets_agent::http=info"];
    args.extend_from_slice(flags);
    let env = aws_env_with(moto, &args).await;
    env.apply(&env.store("irsa", IRSA_AUTH)).await;
    assert!(env.store_ready("team", "irsa").await.0);
    let api: Api<ExternalSecret> = Api::namespaced(env.client.clone(), "team");
    let objects: Vec<ExternalSecret> = (0..OBJECTS)
        .map(|i| {
            let key = format!("bench/{:03}", i % SECRETS);
            serde_json::from_value(serde_json::json!({
                "apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "ExternalSecret",
                "metadata": {"name": format!("es-{i:04}")},
                "spec": {"secretStoreRef": {"name": "irsa"}, "refreshInterval": INTERVAL,
                         "data": [{"secretKey": "value", "remoteRef": {"key": key, "property": "value"}},
                                  {"secretKey": "user", "remoteRef": {"key": key, "property": "user"}}]}
            }))
            .unwrap()
        })
        .collect();
    let control = env.standin.control();
    control.reset_calls();
    let (all_ready, times) = create_all_ready(&api, objects, Duration::from_secs(900)).await;
    let first_sync = control.counts();
    control.reset_calls();
    // Two refresh cycles, each ending when every object's refreshTime has moved on: the first
    // after the first syncs, and the steady state.
    let times = next_cycle(&api, &times, Duration::from_secs(600)).await;
    let cycle = control.counts();
    let sizes = control.batch_sizes();
    control.reset_calls();
    next_cycle(&api, &times, Duration::from_secs(600)).await;
    let cycle2 = control.counts();
    let sizes2 = control.batch_sizes();
    let sts = |counts: &BTreeMap<String, usize>| -> usize {
        counts
            .iter()
            .filter(|(action, _)| action.starts_with("sts:"))
            .map(|(_, n)| n)
            .sum()
    };
    serde_json::json!({
        "mode": mode, "flags": flags.join(" "),
        "objects": OBJECTS, "secrets": SECRETS, "refresh_interval": INTERVAL,
        "all_ready_s": all_ready.as_secs_f64(),
        "first_sync_calls": first_sync, "first_sync_sts": sts(&first_sync),
        "refresh_cycle_calls": cycle, "refresh_cycle_sts": sts(&cycle),
        "refresh_cycle_batch_sizes": sizes,
        "refresh_cycle2_calls": cycle2, "refresh_cycle2_sts": sts(&cycle2),
        "refresh_cycle2_batch_sizes": sizes2,
        "agent_peak_rss_kib": peak_rss_kib(env.agent.child.id()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by `cargo xtask bench` (release build)"]
async fn aws_thousand_external_secrets_over_hundred_secrets_ours_and_esos_pattern() {
    let moto = Arc::new(tokio::task::spawn_blocking(Moto::start).await.unwrap());
    for s in 0..SECRETS {
        moto.create_string(
            &format!("bench/{s:03}"),
            &serde_json::json!({"value": format!("value-{s}"), "user": "app"}).to_string(),
        );
    }
    for (mode, flags) in [
        ("kubectl-secrets", &[][..]),
        (
            "eso-pattern",
            &[
                "--aws-batch=false",
                "--credential-cache=false",
                "--read-cache=false",
            ][..],
        ),
    ] {
        let line = run(moto.clone(), mode, flags).await;
        println!("BENCH_AWS {line}");
    }
}

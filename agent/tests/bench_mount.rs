//! Mount benchmark (run by `cargo xtask bench`, in release): the real `secrets-agent
//! csi-provider` serving a SecretProviderClass of 10 objects (5 properties from each of 2 KV v2
//! paths in a real OpenBao with kubernetes auth), called 200 times warm and 200 times cold,
//! interleaved (warm, cold, cold, warm, …) so machine noise and the background revocation a
//! cold login leaves behind hit both alike.
//!
//! - warm: one prepared request (one pod-bound token) sent again and again; after an untimed
//!   first call the provider reuses its cached store login.
//! - cold: a fresh pod-bound token for every call (requested outside the timed section), which
//!   the provider has never seen, so it logs in to OpenBao each time — what the Vault CSI
//!   provider does on every mount.
//!
//! Warm and cold run as two service accounts, so they are two identities in the provider's
//! login cache and the cold logins never displace the warm one. Only the `Mount` call is
//! timed (client wall time: dial plus call, as csi-standin makes it). The TokenReviews the
//! stand-in answers (one per OpenBao kubernetes login) are counted around every call and
//! asserted — 0 per warm call, 1 per cold call — so the figures measure what they claim; the
//! provider's own login and read counters cross-check them. Prints one `BENCH_MOUNT {json}`
//! line. Ignored in normal runs: a measurement, not a check.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "benchmark harness: failing loudly is the point"
)]

mod common;

use std::time::{Duration, Instant};

use common::provider::{connect, mount_env, params};
use csi_standin::{CsiStandin, Prepared, call_mount, check_response};

const MOUNTS: usize = 200;
const PATHS: [&str; 2] = ["team/bench-a", "team/bench-b"];
const PROPERTIES: usize = 5;
const LOGINS: &str = "secrets_agent_provider_calls_total{provider=\"vault\",call=\"login\"";
const READS: &str = "secrets_agent_provider_calls_total{provider=\"vault\",call=\"read\"";

fn objects() -> String {
    let mut yaml = String::new();
    for path in PATHS {
        for p in 0..PROPERTIES {
            let file = path.rsplit('/').next().unwrap();
            yaml.push_str(&format!(
                "- path: {file}/p{p}\n  remoteRef: {{key: {path}, property: p{p}}}\n"
            ));
        }
    }
    yaml
}

fn pod(name: &str, service_account: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  serviceAccountName: {service_account}\n  containers: [{{name: app, image: 'app:1', volumeMounts: [{{name: secrets, mountPath: /mnt/secrets, readOnly: true}}]}}]\n  volumes:\n  - name: secrets\n    csi:\n      driver: secrets-store.csi.k8s.io\n      readOnly: true\n      volumeAttributes: {{secretProviderClass: bench}}\n"
    )
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One timed Mount; returns its wall time and the TokenReviews it caused. The answer is
/// checked as the driver checks it (outside the timed section): 10 files, clean, versioned.
async fn timed(env: &common::provider::MountEnv, prepared: &Prepared) -> (Duration, u64) {
    let request = prepared.request.clone();
    let reviews = env.token_reviews();
    let started = Instant::now();
    let answer = call_mount(&prepared.socket, request).await;
    let elapsed = started.elapsed();
    let reviews = env.token_reviews() - reviews;
    let checked = check_response(answer.unwrap()).unwrap();
    assert_eq!(checked.files.len(), PATHS.len() * PROPERTIES);
    assert_eq!(checked.versions.len(), PATHS.len() * PROPERTIES);
    (elapsed, reviews)
}

fn summary(mut samples: Vec<Duration>, reviews: u64) -> serde_json::Value {
    samples.sort();
    serde_json::json!({
        "p50_ms": ms(percentile(&samples, 0.50)),
        "p99_ms": ms(percentile(&samples, 0.99)),
        "min_ms": ms(samples[0]),
        "max_ms": ms(samples[samples.len() - 1]),
        "token_reviews": reviews,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by `cargo xtask bench` (release build)"]
async fn mount_ten_objects_warm_and_cold() {
    let env = mount_env().await;
    for path in PATHS {
        let data: serde_json::Map<String, serde_json::Value> = (0..PROPERTIES)
            .map(|p| {
                (
                    format!("p{p}"),
                    format!("{path}-value-{p}-{}", "x".repeat(32)).into(),
                )
            })
            .collect();
        env.bao.kv2_put("secret", path, data.into());
    }
    env.cluster
        .create_service_accounts("team", &["warm", "cold"]);
    env.bao.create_role(
        "bench",
        &["warm", "cold"],
        &["team"],
        &["team"],
        Some("vault"),
    );
    env.apply(&env.store("bench", "bench", ""));
    let objects = objects();
    env.spc(
        "bench",
        &params(&[("store", "bench"), ("objects", objects.as_str())]),
    );
    env.apply(&pod("warm-0", "warm"));
    env.apply(&pod("cold-0", "cold"));
    // Info, the provider's default: debug logging would be part of what is measured.
    let provider = env.start_provider_with(&["--log-filter", "info"]);
    drop(connect(&env.socket()).await);
    let driver = CsiStandin::new(
        env.cluster.client().await,
        env.dir.path(),
        vec!["vault".to_owned()],
    );

    // Untimed: the warm identity's one login, and one cold call so both paths are exercised
    // once (connections to OpenBao and the stand-in open) before anything is timed.
    let warm = driver.mount_request("team", "warm-0").await.unwrap();
    assert_eq!(timed(&env, &warm).await.1, 1, "the first warm call logs in");
    let first_cold = driver.mount_request("team", "cold-0").await.unwrap();
    assert_eq!(timed(&env, &first_cold).await.1, 1, "a cold call logs in");

    let logins_before = provider.metric(LOGINS).await;
    let reads_before = provider.metric(READS).await;
    let (mut warm_times, mut cold_times) = (Vec::new(), Vec::new());
    let (mut warm_reviews, mut cold_reviews) = (0, 0);
    for i in 0..MOUNTS {
        // A token the provider has never seen, requested before the clock starts.
        let cold = driver.mount_request("team", "cold-0").await.unwrap();
        for warm_turn in [i % 2 == 0, i % 2 == 1] {
            if warm_turn {
                let (t, r) = timed(&env, &warm).await;
                assert_eq!(r, 0, "warm call {i} logged in");
                warm_times.push(t);
                warm_reviews += r;
            } else {
                let (t, r) = timed(&env, &cold).await;
                assert_eq!(r, 1, "cold call {i} did not log in exactly once");
                cold_times.push(t);
                cold_reviews += r;
            }
        }
    }
    let logins = provider.metric(LOGINS).await - logins_before;
    let reads = provider.metric(READS).await - reads_before;
    assert_eq!(
        logins, MOUNTS as f64,
        "the provider's logins: one per cold call"
    );
    let reads_per_mount = reads / (2 * MOUNTS) as f64;
    assert_eq!(reads_per_mount, PATHS.len() as f64, "one read per path");

    let warm = summary(warm_times, warm_reviews);
    let cold = summary(cold_times, cold_reviews);
    let ratio = cold["p50_ms"].as_f64().unwrap() / warm["p50_ms"].as_f64().unwrap();
    let line = serde_json::json!({
        "mounts": MOUNTS, "objects": PATHS.len() * PROPERTIES, "paths": PATHS.len(),
        "warm": warm, "cold": cold, "cold_warm_p50_ratio": ratio,
        "provider_logins": logins, "store_reads_per_mount": reads_per_mount,
        "provider_peak_rss_kib": common::peak_rss_kib(provider.child.id()),
    });
    println!("BENCH_MOUNT {line}");
    let log = provider.stop();
    assert!(
        !log.contains("-value-"),
        "a value reached the provider's log"
    );
}

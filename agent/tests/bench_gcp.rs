//! GCP benchmark (run by `cargo xtask bench`, in release): 1,000 ExternalSecrets over 100
//! Secret Manager secrets in gcp-standin, with workload identity federation and
//! impersonation → time until all are Ready, Secret Manager accesses and STS / IAM calls for
//! the first sync and for two full refresh cycles, the first after the first syncs and the
//! steady state (the goal: 100 accesses and no token call per cycle), agent peak RSS; then
//! the same with `--credential-cache=false --read-cache=false` (ESO's pattern: a read and a
//! login per object). Prints one `BENCH_GCP {json}` line. Ignored in normal runs.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "benchmark harness: failing loudly is the point"
)]

mod common;

use std::time::Duration;

use common::sync::{SyncEnv, create_all_ready, next_cycle};
use common::{Agent, cluster, peak_rss_kib};
use gcp_standin::{Config, GcpStandin, Route};
use kube::api::Api;
use secrets_core::api::ExternalSecret;

const OBJECTS: usize = 1_000;
const SECRETS: usize = 100;
const INTERVAL: &str = "30s";
const READER: &str = "reader@my-project.iam.gserviceaccount.com";

/// One run: (all Ready seconds, first-sync counts, one-cycle counts, peak RSS KiB).
async fn run(extra: &[&str]) -> serde_json::Value {
    let (cluster, client) = cluster().await;
    let tokens = cluster.standin().tokens();
    let gcp =
        GcpStandin::start(Config::new(tokens.issuer(), &tokens.public_key_pem()).unwrap()).unwrap();
    let control = gcp.control();
    let url = gcp.url();
    let mut args = vec![
        "--log-filter",
        "warn",
        "--gcp-secretmanager-endpoint",
        &url,
        "--gcp-sts-endpoint",
        &url,
        "--gcp-iamcredentials-endpoint",
        &url,
    ];
    args.extend_from_slice(extra);
    let agent = Agent::start_with(&cluster, &args);
    cluster.create_service_accounts("team", &["app"]);
    control.allow_impersonation(
        &gcp.config().principal("system:serviceaccount:team:app"),
        READER,
    );
    for s in 0..SECRETS {
        control.add_version(
            None,
            &format!("bench-{s:03}"),
            format!(r#"{{"value":"value-{s}","user":"app"}}"#).as_bytes(),
        );
    }
    let bao = cluster.openbao();
    let env = SyncEnv {
        cluster,
        client,
        bao,
        agent,
    };
    env.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: gcp, namespace: team}}\nspec:\n  provider:\n    gcpsm:\n      projectID: my-project\n      auth:\n        workloadIdentityFederation:\n          audience: \"{}\"\n          serviceAccountRef: {{name: app}}\n          gcpServiceAccountEmail: {READER}\n",
        gcp.config().pool_audience
    ))
    .await;
    assert!(env.store_ready("team", "gcp").await.0);
    let api: Api<ExternalSecret> = Api::namespaced(env.client.clone(), "team");
    let objects: Vec<ExternalSecret> = (0..OBJECTS)
        .map(|i| {
            let key = format!("bench-{:03}", i % SECRETS);
            serde_json::from_value(serde_json::json!({
                "apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "ExternalSecret",
                "metadata": {"name": format!("es-{i:04}")},
                "spec": {"secretStoreRef": {"name": "gcp"}, "refreshInterval": INTERVAL,
                         "data": [{"secretKey": "value", "remoteRef": {"key": key, "property": "value"}},
                                  {"secretKey": "user", "remoteRef": {"key": key, "property": "user"}}]}
            }))
            .unwrap()
        })
        .collect();
    let counts = |c: &gcp_standin::Control| {
        [Route::Access, Route::StsToken, Route::GenerateAccessToken].map(|r| c.count(r) as f64)
    };
    let before = counts(control);
    let (all_ready, times) = create_all_ready(&api, objects, Duration::from_secs(600)).await;
    let first = counts(control);
    let times = next_cycle(&api, &times, Duration::from_secs(300)).await;
    let cycle = counts(control);
    next_cycle(&api, &times, Duration::from_secs(300)).await;
    let cycle2 = counts(control);
    let delta = |a: [f64; 3], b: [f64; 3]| serde_json::json!({"access": a[0] - b[0], "sts": a[1] - b[1], "impersonate": a[2] - b[2]});
    serde_json::json!({
        "all_ready_s": all_ready.as_secs_f64(),
        "first_sync": delta(first, before),
        "refresh_cycle": delta(cycle, first),
        "refresh_cycle2": delta(cycle2, cycle),
        "agent_peak_rss_kib": peak_rss_kib(env.agent.child.id()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by `cargo xtask bench` (release build)"]
async fn gcp_thousand_external_secrets_over_hundred_secrets() {
    let cached = run(&[]).await;
    let uncached = run(&["--credential-cache=false", "--read-cache=false"]).await;
    let line = serde_json::json!({
        "objects": OBJECTS, "secrets": SECRETS, "refresh_interval": INTERVAL,
        "cached": cached, "uncached": uncached,
    });
    println!("BENCH_GCP {line}");
}

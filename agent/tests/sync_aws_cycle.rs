//! Refresh cycles against AWS Secrets Manager (kube-standin + moto behind aws-standin + the
//! real agent): 50 ExternalSecrets over 25 secrets under one IRSA store, each object refreshed
//! on its own jittered schedule. Once the first cycle has lined the keys up, a whole refresh
//! cycle costs one round of `BatchGetSecretValue` calls (two: 20 ids and 5), no
//! `GetSecretValue` and no STS call: the first object due brings its store's other soon-due
//! keys along, and every other object finds its read done.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use aws_standin::ASSUME_ROLE_WITH_WEB_IDENTITY;
use common::aws::{IRSA_AUTH, aws_env};
use common::sync::{next_cycle, snapshot};
use kube::api::Api;
use secrets_core::api::ExternalSecret;

const OBJECTS: usize = 50;
const SECRETS: usize = 25;

#[tokio::test(flavor = "multi_thread")]
async fn a_steady_refresh_cycle_is_one_round_of_batch_calls() {
    let env = aws_env(&[]).await;
    for s in 0..SECRETS {
        env.moto
            .create_string(&format!("cycle/{s:02}"), &format!("v-{s}"));
    }
    env.apply(&env.store("irsa", IRSA_AUTH)).await;
    assert!(env.store_ready("team", "irsa").await.0);
    // A 20 s interval: its jitter spreads the objects over 2 s and the periodic window (10 s)
    // leaves a slow reconcile 8 s to find the round's read.
    let objects: String = (0..OBJECTS)
        .map(|i| {
            format!(
                "---\n{}",
                common::aws::AwsEnv::es(
                    &format!("es-{i:02}"),
                    "irsa",
                    &format!(
                        "  refreshInterval: 20s\n  data:\n  - secretKey: v\n    remoteRef: {{key: cycle/{:02}}}\n",
                        i % SECRETS
                    ),
                )
            )
        })
        .collect();
    env.apply(&objects).await;
    let api: Api<ExternalSecret> = Api::namespaced(env.client.clone(), "team");
    let times = common::wait_for("every ExternalSecret Ready", || {
        let api = api.clone();
        async move {
            let (ready, times) = snapshot(&api).await;
            (ready == OBJECTS).then_some(times)
        }
    })
    .await;
    let control = env.standin.control();
    // The first cycle lines the keys up; the second is the steady state.
    let times = next_cycle(&api, &times, Duration::from_secs(90)).await;
    control.reset_calls();
    next_cycle(&api, &times, Duration::from_secs(90)).await;
    let counts = control.counts();
    assert_eq!(
        counts.get("secretsmanager:BatchGetSecretValue"),
        Some(&2),
        "{counts:?}"
    );
    let mut sizes = control.batch_sizes();
    sizes.sort_unstable();
    assert_eq!(sizes, [5, 20], "{counts:?}");
    assert_eq!(
        counts.get("secretsmanager:GetSecretValue"),
        None,
        "{counts:?}"
    );
    assert_eq!(
        counts.get(ASSUME_ROLE_WITH_WEB_IDENTITY),
        None,
        "{counts:?}"
    );
}

//! AWS Secrets Manager lifecycles and faults, with the real agent against moto behind our
//! aws-standin: not found vs scheduled for deletion under Retain and Delete; an outage keeps
//! the Secret; wrong keys, a missing role annotation and IAM denials give `Ready=False` with
//! the store's words; injected throttling is retried; batches of at most 20 ids, and the
//! fall-back to GetSecretValue when the role may not call BatchGetSecretValue.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use aws_standin::{BATCH_GET_SECRET_VALUE, BATCH_LIMIT, GET_SECRET_VALUE, Outcome, Throttle};
use common::aws::{AwsEnv, IRSA_AUTH, aws_env};
use common::sync::create_secret;
use common::wait_for;

const VALUE: &str = "aws-fault-value-5d2c";

fn es(name: &str, store: &str, body: &str) -> String {
    AwsEnv::es(name, store, body)
}

fn one(key: &str) -> String {
    format!("  data:\n  - secretKey: value\n    remoteRef: {{key: {key}}}\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn gone_and_scheduled_for_deletion_under_retain_and_delete() {
    let env = aws_env(&[]).await;
    for name in ["gone/retain", "gone/delete", "sched/retain", "sched/delete"] {
        env.moto.create_string(name, VALUE);
    }
    for (name, key, policy) in [
        ("retain", "gone/retain", ""),
        (
            "delete",
            "gone/delete",
            "  target: {deletionPolicy: Delete}\n",
        ),
        ("sched-retain", "sched/retain", ""),
        (
            "sched-delete",
            "sched/delete",
            "  target: {deletionPolicy: Delete}\n",
        ),
    ] {
        env.apply(&es(name, "aws", &format!("{policy}{}", one(key))))
            .await;
        env.es_ready("team", name, true).await;
    }
    env.moto.delete_now("gone/retain");
    env.moto.delete_now("gone/delete");
    // Scheduled for deletion: moto answers InvalidRequestException, AWS too; ESO counts it
    // as gone, and so do we.
    env.moto.schedule_deletion("sched/retain");
    env.moto.schedule_deletion("sched/delete");
    for name in ["retain", "delete", "sched-retain", "sched-delete"] {
        env.force_sync("team", name, "1").await;
    }
    for name in ["retain", "sched-retain"] {
        let (_, message) = env.es_ready("team", name, false).await;
        assert!(
            message.contains("not found") && message.contains("Retain"),
            "{name}: {message}"
        );
        assert_eq!(env.data("team", name).await.unwrap()["value"], VALUE);
    }
    for name in ["delete", "sched-delete"] {
        env.wait_gone("team", name).await;
    }

    // A key that never existed: not found, and nothing created.
    env.apply(&es("never", "aws", &one("never/written"))).await;
    let (_, message) = env.es_ready("team", "never", false).await;
    assert!(message.contains("not found"), "{message}");
    assert!(env.data("team", "never").await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_keeps_the_secret_and_the_sync_recovers() {
    let env = aws_env(&[]).await;
    env.moto.create_string("app/db", VALUE);
    env.apply(&es("app", "aws", &one("app/db"))).await;
    env.es_ready("team", "app", true).await;

    env.standin.control().set_outage(true);
    env.force_sync("team", "app", "1").await;
    let (reason, message) = env.es_ready("team", "app", false).await;
    assert_eq!(reason, "SecretSyncedError");
    assert!(message.contains("SecretStore \"aws\""), "{message}");
    assert_eq!(
        env.data("team", "app").await.unwrap()["value"],
        VALUE,
        "the Secret is kept"
    );
    env.standin.control().set_outage(false);
    env.es_ready("team", "app", true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_and_denials_say_what_aws_said() {
    let env = aws_env(&[]).await;
    env.moto.create_string("app/db", VALUE);

    // Keys AWS does not know.
    create_secret(
        &env.client,
        "team",
        "bad-keys",
        &[
            ("access-key", "AKIANOTKNOWN00000000"),
            ("secret-key", "nope-not-a-key"),
        ],
    )
    .await;
    let bad = "        secretRef:\n          accessKeyIDSecretRef: {name: bad-keys, key: access-key}\n          secretAccessKeySecretRef: {name: bad-keys, key: secret-key}\n";
    // Static keys are proven by the first read (the store check has nothing to call).
    env.apply(&env.store("bad", bad)).await;
    env.apply(&es("via-bad", "bad", &one("app/db"))).await;
    let (reason, message) = env.es_ready("team", "via-bad", false).await;
    assert_eq!(reason, "SecretSyncedError");
    assert!(
        message.contains("SecretStore \"bad\"")
            && message.contains("security token included in the request is invalid"),
        "{message}"
    );

    // IRSA for an account without the role annotation: the annotation is named.
    env.cluster.create_service_accounts("team", &["plain"]);
    env.apply(&env.store(
        "no-role",
        "        jwt:\n          serviceAccountRef: {name: plain}\n",
    ))
    .await;
    env.apply(&es("via-no-role", "no-role", &one("app/db")))
        .await;
    let (_, message) = env.es_ready("team", "via-no-role", false).await;
    assert!(message.contains("eks.amazonaws.com/role-arn"), "{message}");

    // IAM denies the read: the action and the role are named.
    env.apply(&env.store("irsa", IRSA_AUTH)).await;
    env.standin.control().deny(GET_SECRET_VALUE);
    env.standin.control().deny(BATCH_GET_SECRET_VALUE);
    env.apply(&es("denied", "irsa", &one("app/db"))).await;
    let (_, message) = env.es_ready("team", "denied", false).await;
    assert!(
        message.contains("secretsmanager:GetSecretValue") && message.contains("app-reader"),
        "{message}"
    );
    assert!(env.data("team", "denied").await.is_none());

    let logs = env.agent.stop();
    assert!(!logs.contains("nope-not-a-key") && !logs.contains(VALUE));
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_throttling_is_retried() {
    let env = aws_env(&[]).await;
    env.moto.create_string("app/db", VALUE);
    let control = env.standin.control();
    control.throttle("*", Throttle::Next(3));
    env.apply(&es("app", "aws", &one("app/db"))).await;
    env.es_ready("team", "app", true).await;
    assert_eq!(env.data("team", "app").await.unwrap()["value"], VALUE);
    let throttled = control
        .calls()
        .iter()
        .filter(|c| c.outcome == Outcome::Throttled)
        .count();
    assert_eq!(throttled, 3, "{:?}", control.calls());

    // Throttled without end: Ready=False says so, the Secret stays.
    control.throttle("*", Throttle::Fraction(1.0));
    env.force_sync("team", "app", "1").await;
    let (_, message) = env.es_says("team", "app", "Rate exceeded").await;
    assert!(message.contains("SecretStore \"aws\""), "{message}");
    assert_eq!(env.data("team", "app").await.unwrap()["value"], VALUE);
    control.clear_faults();
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_hold_at_most_twenty_ids_and_fall_back_when_denied() {
    const OBJECTS: usize = 45;
    let env = aws_env(&[]).await;
    for i in 0..OBJECTS {
        env.moto
            .create_string(&format!("batch/{i:02}"), &format!("batch-value-{i}"));
    }
    let control = env.standin.control();
    let mut yaml = String::new();
    for i in 0..OBJECTS {
        yaml.push_str(&es(
            &format!("b{i:02}"),
            "aws",
            &format!("  refreshInterval: 2s\n{}", one(&format!("batch/{i:02}"))),
        ));
        yaml.push_str("---\n");
    }
    env.apply(&yaml).await;
    for i in 0..OBJECTS {
        env.es_ready("team", &format!("b{i:02}"), true).await;
    }
    // Refreshes are batched: wait for a window in which batches fetched every id.
    control.reset_calls();
    wait_for("a refresh cycle in batches", || async {
        let batched: usize = control
            .calls()
            .iter()
            .filter(|c| c.action == BATCH_GET_SECRET_VALUE && c.outcome == Outcome::Forwarded(200))
            .map(|c| c.secret_ids.len())
            .sum();
        (batched >= OBJECTS).then_some(())
    })
    .await;
    let sizes = control.batch_sizes();
    assert!(
        sizes.iter().all(|s| (1..=BATCH_LIMIT).contains(s)),
        "batch sizes {sizes:?}"
    );
    assert!(
        sizes.iter().any(|s| *s > 1),
        "explicit keys are batched: {sizes:?}"
    );
    assert_eq!(
        control
            .calls()
            .iter()
            .filter(|c| c.outcome == Outcome::BatchTooLarge)
            .count(),
        0
    );

    // An ESO-era policy without BatchGetSecretValue: reads go on one by one.
    control.deny(BATCH_GET_SECRET_VALUE);
    control.reset_calls();
    env.moto.put_secret_value(
        "batch/07",
        test_support::SecretValue::String("batch-value-7-new"),
    );
    env.wait_value("team", "b07", "value", "batch-value-7-new")
        .await;
    wait_for("GetSecretValue for every id", || async {
        let ids: std::collections::BTreeSet<String> = control
            .calls()
            .into_iter()
            .filter(|c| c.action == GET_SECRET_VALUE && c.outcome == Outcome::Forwarded(200))
            .flat_map(|c| c.secret_ids)
            .collect();
        (ids.len() >= OBJECTS).then_some(())
    })
    .await;
    for i in 0..OBJECTS {
        let (ok, _, message) = common::sync::es_ready_when(
            &env.client,
            "team",
            &format!("b{i:02}"),
            "Ready",
            |_, _, _| true,
        )
        .await;
        assert!(ok, "b{i:02}: {message}");
    }
}

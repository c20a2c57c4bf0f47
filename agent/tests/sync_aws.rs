//! The sync pattern against AWS Secrets Manager: kube-standin + the real moto behind our
//! aws-standin + the real agent binary. Static keys; IRSA with kube-standin tokens (checked
//! by the stand-in: issuer key and audience `sts.amazonaws.com`); role chains with an
//! external id, each role assumed once and the reads made as the last; versions and stages;
//! binary values; tags with `metadataPolicy: Fetch`; `dataFrom.extract`; force-sync and
//! refresh after a change; no value, key or token in the agent's log.
//! Faults and lifecycles are in `sync_aws_faults.rs`.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use aws_standin::{ASSUME_ROLE, ASSUME_ROLE_WITH_WEB_IDENTITY, Outcome};
use common::aws::{AwsEnv, IRSA_AUTH, ROLE, SECRET_KEY, aws_env};
use test_support::SecretValue;

const DB_PASSWORD: &str = "pw-aws-3b9d1e";
const NEW_PASSWORD: &str = "pw-aws-rotated-77c0";
const BLOB: [u8; 6] = [0, 0xff, 0x10, 0x80, 0x7f, 0x0a];

fn es(name: &str, store: &str, body: &str) -> String {
    AwsEnv::es(name, store, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn static_keys_sync_properties_versions_binary_tags_and_changes() {
    let env = aws_env(&[]).await;
    let first = env.moto.create_secret_tagged(
        "app/db",
        SecretValue::String(&format!(
            r#"{{"username":"app","password":"{DB_PASSWORD}","nested":{{"port":5432}},"a.b":"literal"}}"#
        )),
        &[("team", "payments"), ("env", "prod")],
    );
    let first_version = first["VersionId"].as_str().unwrap().to_owned();
    env.moto.create_binary("app/blob", &BLOB);
    env.moto.create_string(
        "app/config",
        r#"{"mode":"prod","retries":3,"flags":{"x":true}}"#,
    );

    env.apply(&es(
        "app",
        "aws",
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n  - secretKey: port\n    remoteRef: {key: app/db, property: nested.port}\n  - secretKey: dotted\n    remoteRef: {key: app/db, property: a.b}\n  - secretKey: blob\n    remoteRef: {key: app/blob}\n  - secretKey: team\n    remoteRef: {key: app/db, metadataPolicy: Fetch, property: team}\n  dataFrom:\n  - extract: {key: app/config}\n",
    ))
    .await;
    let (reason, _) = env.es_ready("team", "app", true).await;
    assert_eq!(reason, "SecretSynced");
    let bytes = env.bytes("team", "app").await.unwrap();
    assert_eq!(bytes["blob"], BLOB, "binary values arrive as bytes");
    let data = env.data("team", "app").await.unwrap();
    assert_eq!(data["password"], DB_PASSWORD);
    assert_eq!(data["port"], "5432");
    assert_eq!(
        data["dotted"], "literal",
        "a dotted property is first a literal key"
    );
    assert_eq!(data["team"], "payments", "a tag, with metadataPolicy Fetch");
    assert_eq!(
        (
            data["mode"].as_str(),
            data["retries"].as_str(),
            data["flags"].as_str()
        ),
        ("prod", "3", r#"{"x":true}"#),
        "extract: strings unquoted, other values as JSON"
    );

    // All tags at once, as a JSON map.
    env.apply(&es(
        "tags",
        "aws",
        "  data:\n  - secretKey: tags\n    remoteRef: {key: app/db, metadataPolicy: Fetch}\n",
    ))
    .await;
    env.es_ready("team", "tags", true).await;
    let tags: serde_json::Value =
        serde_json::from_str(&env.data("team", "tags").await.unwrap()["tags"]).unwrap();
    assert_eq!(tags, serde_json::json!({"team": "payments", "env": "prod"}));

    // A new version: AWSCURRENT moves, AWSPREVIOUS and the pinned VersionId stay.
    let second = env.moto.put_secret_value(
        "app/db",
        // A rotation keeps the secret's shape: the first object reads nested.port and a.b too.
        SecretValue::String(&format!(
            r#"{{"username":"app","password":"{NEW_PASSWORD}","nested":{{"port":5432}},"a.b":"literal"}}"#
        )),
    );
    let staged = env.moto.put_secret_value_staged(
        "app/db",
        SecretValue::String(r#"{"password":"blue-only"}"#),
        &["blue"],
    );
    env.apply(&es(
        "pinned",
        "aws",
        &format!(
            "  data:\n  - secretKey: by-id\n    remoteRef: {{key: app/db, property: password, version: \"uuid/{first_version}\"}}\n  - secretKey: previous\n    remoteRef: {{key: app/db, property: password, version: AWSPREVIOUS}}\n  - secretKey: blue\n    remoteRef: {{key: app/db, property: password, version: blue}}\n"
        ),
    ))
    .await;
    env.es_ready("team", "pinned", true).await;
    let pinned = env.data("team", "pinned").await.unwrap();
    assert_eq!(pinned["by-id"], DB_PASSWORD);
    assert_eq!(pinned["previous"], DB_PASSWORD);
    assert_eq!(pinned["blue"], "blue-only");
    assert_ne!(second, staged);
    // A pinned version or stage is read with GetSecretValue naming it, never batched.
    let calls = env.standin.control().calls();
    for (field, wanted) in [
        ("id", first_version.as_str()),
        ("stage", "AWSPREVIOUS"),
        ("stage", "blue"),
    ] {
        assert!(
            calls
                .iter()
                .any(|c| c.action == aws_standin::GET_SECRET_VALUE
                    && match field {
                        "id" => c.version_id.as_deref() == Some(wanted),
                        _ => c.version_stage.as_deref() == Some(wanted),
                    }),
            "no GetSecretValue for {field} {wanted}: {calls:?}"
        );
    }

    // The change reaches the first object on a forced sync…
    env.force_sync("team", "app", "1").await;
    env.wait_value("team", "app", "password", NEW_PASSWORD)
        .await;
    // …and a refreshing object by itself.
    env.apply(&es(
        "fast",
        "aws",
        "  refreshInterval: 1s\n  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n",
    ))
    .await;
    env.wait_value("team", "fast", "password", NEW_PASSWORD)
        .await;
    env.moto.put_secret_value(
        "app/db",
        SecretValue::String(r#"{"password":"third-aws-value-11"}"#),
    );
    env.wait_value("team", "fast", "password", "third-aws-value-11")
        .await;

    // By ARN as well as by name.
    let arn = env.moto.describe("app/config")["ARN"]
        .as_str()
        .unwrap()
        .to_owned();
    env.apply(&es(
        "by-arn",
        "aws",
        &format!(
            "  data:\n  - secretKey: mode\n    remoteRef: {{key: \"{arn}\", property: mode}}\n"
        ),
    ))
    .await;
    env.wait_value("team", "by-arn", "mode", "prod").await;

    let logs = env.agent.stop();
    for secret in [
        DB_PASSWORD,
        NEW_PASSWORD,
        "third-aws-value-11",
        "blue-only",
        SECRET_KEY,
    ] {
        assert!(!logs.contains(secret), "a secret reached the agent's log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn irsa_and_a_role_chain_assume_each_role_once_and_read_as_the_last() {
    let env = aws_env(&[]).await;
    env.moto.create_string("app/db", DB_PASSWORD);
    let control = env.standin.control();

    // IRSA: a token for team/app with audience sts.amazonaws.com (the stand-in checks it
    // against kube-standin's key), then AssumeRoleWithWebIdentity as the annotation's role.
    env.apply(&env.store("irsa", IRSA_AUTH)).await;
    assert!(env.store_ready("team", "irsa").await.0);
    env.apply(&es(
        "via-irsa",
        "irsa",
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/db}\n",
    ))
    .await;
    env.es_ready("team", "via-irsa", true).await;
    assert_eq!(
        env.data("team", "via-irsa").await.unwrap()["password"],
        DB_PASSWORD
    );
    let calls = control.calls();
    let logins: Vec<_> = calls
        .iter()
        .filter(|c| c.action == ASSUME_ROLE_WITH_WEB_IDENTITY)
        .collect();
    assert!(!logins.is_empty(), "{calls:?}");
    for login in &logins {
        assert_eq!(login.role_arn.as_deref(), Some(ROLE));
        assert_eq!(login.web_identity.as_deref(), Some("team/app"));
        assert_eq!(login.outcome, Outcome::Forwarded(200));
    }
    let read = calls
        .iter()
        .rev()
        .find(|c| c.action.starts_with("secretsmanager:") && c.secret_ids == ["app/db"])
        .unwrap();
    assert!(
        read.principal
            .as_deref()
            .unwrap()
            .starts_with("arn:aws:sts::123456789012:assumed-role/app-reader/"),
        "{read:?}"
    );

    // A chain: IRSA, then each additional role, then `role` with the external id.
    let hop = "arn:aws:iam::123456789012:role/hop";
    let last = "arn:aws:iam::123456789012:role/final";
    control.reset_calls();
    env.apply(&env.store_with(
        "chain",
        IRSA_AUTH,
        &format!(
            "      role: {last}\n      additionalRoles: [\"{hop}\"]\n      externalID: ext-4711\n"
        ),
    ))
    .await;
    assert!(env.store_ready("team", "chain").await.0);
    env.apply(&es(
        "via-chain",
        "chain",
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/db}\n",
    ))
    .await;
    env.es_ready("team", "via-chain", true).await;
    let calls = control.calls();
    let roles: Vec<(&str, Option<&str>, Option<&str>)> = calls
        .iter()
        .filter(|c| c.action == ASSUME_ROLE)
        .map(|c| {
            (
                c.role_arn.as_deref().unwrap_or_default(),
                c.external_id.as_deref(),
                c.principal.as_deref(),
            )
        })
        .collect();
    // The store's check and the sync share one login of the whole chain.
    assert_eq!(roles.len(), 2, "each hop once: {calls:?}");
    let web_logins = calls
        .iter()
        .filter(|c| c.action == ASSUME_ROLE_WITH_WEB_IDENTITY)
        .count();
    assert_eq!(web_logins, 1, "{calls:?}");
    let (hop_arn, hop_ext, hop_by) = roles[0];
    assert_eq!((hop_arn, hop_ext), (hop, None));
    assert!(
        hop_by.unwrap().contains("assumed-role/app-reader/"),
        "{roles:?}"
    );
    let (last_arn, last_ext, last_by) = roles[1];
    assert_eq!((last_arn, last_ext), (last, Some("ext-4711")));
    assert!(last_by.unwrap().contains("assumed-role/hop/"), "{roles:?}");
    let read = calls
        .iter()
        .rev()
        .find(|c| c.action.starts_with("secretsmanager:") && c.secret_ids == ["app/db"])
        .unwrap();
    assert!(
        read.principal
            .as_deref()
            .unwrap()
            .contains("assumed-role/final/"),
        "the read is made as the last role: {read:?}"
    );

    // Warm: forced syncs of both reuse the credentials, no STS call at all.
    control.reset_calls();
    env.moto
        .put_secret_value("app/db", SecretValue::String(NEW_PASSWORD));
    env.force_sync("team", "via-irsa", "1").await;
    env.force_sync("team", "via-chain", "1").await;
    env.wait_value("team", "via-irsa", "password", NEW_PASSWORD)
        .await;
    env.wait_value("team", "via-chain", "password", NEW_PASSWORD)
        .await;
    let sts: Vec<_> = control
        .calls()
        .into_iter()
        .filter(|c| c.action.starts_with("sts:"))
        .collect();
    assert!(sts.is_empty(), "credentials are cached: {sts:?}");

    let logs = env.agent.stop();
    for secret in [DB_PASSWORD, NEW_PASSWORD, SECRET_KEY] {
        assert!(!logs.contains(secret), "a secret reached the agent's log");
    }
    assert!(!logs.contains("eyJ"), "a token reached the agent's log");
}

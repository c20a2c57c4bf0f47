//! The sync pattern against GCP Secret Manager: kube-standin + gcp-standin + the real agent
//! binary (its `--gcp-*-endpoint` flags pointing at the stand-in). Workload identity
//! federation with kube-standin tokens, a key JSON, regional secrets, force-sync and changes,
//! an outage that keeps the Secret, wrong credentials and a corrupted payload in `Ready=False`
//! with the store's words, and no value or token in the agent's log.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::sync::{SyncEnv, create_secret};
use common::{Agent, cluster};
use gcp_standin::{Config, Fault, FaultError, GcpStandin, Route, ServiceAccountKey};

const READER: &str = "reader@my-project.iam.gserviceaccount.com";
const PASSWORD: &str = "pw-5c1e-gcp-sync";
const ROTATED: &str = "pw-rotated-gcp-77";

async fn gcp_env() -> (SyncEnv, GcpStandin) {
    let (cluster, client) = cluster().await;
    let tokens = cluster.standin().tokens();
    let config = Config::new(tokens.issuer(), &tokens.public_key_pem()).unwrap();
    let standin = GcpStandin::start(config).unwrap();
    let url = standin.url();
    let agent = Agent::start_with(
        &cluster,
        &[
            "--provider-timeout",
            "2s",
            "--gcp-secretmanager-endpoint",
            &url,
            "--gcp-sts-endpoint",
            &url,
            "--gcp-iamcredentials-endpoint",
            &url,
        ],
    );
    cluster.create_service_accounts("team", &["app"]);
    let bao = cluster.openbao();
    (
        SyncEnv {
            cluster,
            client,
            bao,
            agent,
        },
        standin,
    )
}

fn store(name: &str, provider: &str) -> String {
    format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  provider:\n    gcpsm:\n      projectID: my-project\n{provider}"
    )
}

fn wif(audience: &str) -> String {
    format!(
        "      auth:\n        workloadIdentityFederation:\n          audience: \"{audience}\"\n          serviceAccountRef: {{name: app}}\n          gcpServiceAccountEmail: {READER}\n"
    )
}

fn es(name: &str, store: &str, body: &str) -> String {
    format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  secretStoreRef: {{name: {store}}}\n{body}"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn federation_syncs_refreshes_and_keeps_the_secret_through_an_outage() {
    let (env, gcp) = gcp_env().await;
    let control = gcp.control();
    let pool = gcp.config().pool_audience.clone();
    control.allow_impersonation(
        &gcp.config().principal("system:serviceaccount:team:app"),
        READER,
    );
    control.add_version(
        None,
        "db",
        format!(r#"{{"user":"app","password":"{PASSWORD}"}}"#).as_bytes(),
    );
    control.add_version(None, "plain", b"plain-text-value");
    env.apply(&store("gcp", &wif(&pool))).await;
    let (ok, reason, message) = env.store_ready("team", "gcp").await;
    assert!(ok, "{reason}: {message}");

    env.apply(&es("app", "gcp", "  data:\n  - secretKey: password\n    remoteRef: {key: db, property: password}\n  - secretKey: plain\n    remoteRef: {key: plain}\n")).await;
    env.es_ready("team", "app", true).await;
    let data = env.data("team", "app").await.unwrap();
    assert_eq!(
        (data["password"].as_str(), data["plain"].as_str()),
        (PASSWORD, "plain-text-value")
    );

    // A new version reaches the Secret after a forced sync.
    control.add_version(
        None,
        "db",
        format!(r#"{{"user":"app","password":"{ROTATED}"}}"#).as_bytes(),
    );
    env.force_sync("team", "app", "1").await;
    env.wait_value("team", "app", "password", ROTATED).await;
    assert!(
        control.count(Route::StsToken) <= 2,
        "tokens are kept: {:?}",
        control.counts()
    );

    // …and by itself after the refresh interval.
    env.apply(&es("fast", "gcp", "  refreshInterval: 1s\n  data:\n  - secretKey: password\n    remoteRef: {key: db, property: password}\n")).await;
    env.wait_value("team", "fast", "password", ROTATED).await;
    control.add_version(
        None,
        "db",
        br#"{"user":"app","password":"third-gcp-value"}"#,
    );
    env.wait_value("team", "fast", "password", "third-gcp-value")
        .await;

    // An outage: the ExternalSecret says so, the Secret stays.
    control.inject(Fault::everywhere(FaultError::Unavailable));
    env.force_sync("team", "app", "2").await;
    let (_, message) = env.es_ready("team", "app", false).await;
    assert!(message.contains("503 UNAVAILABLE"), "{message}");
    assert_eq!(env.data("team", "app").await.unwrap()["password"], ROTATED);
    assert_eq!(
        env.data("team", "fast").await.unwrap()["password"],
        "third-gcp-value"
    );
    control.clear_faults();
    env.force_sync("team", "app", "3").await;
    env.es_ready("team", "app", true).await;
    env.wait_value("team", "app", "password", "third-gcp-value")
        .await;

    // A corrupted payload is refused in the store's words, and the Secret stays.
    control.corrupt_crc(true);
    env.force_sync("team", "app", "4").await;
    let (_, message) = env.es_ready("team", "app", false).await;
    assert!(message.contains("dataCrc32c"), "{message}");
    assert_eq!(
        env.data("team", "app").await.unwrap()["password"],
        "third-gcp-value"
    );
    control.corrupt_crc(false);

    let logs = env.agent.logs();
    for secret in [
        PASSWORD,
        ROTATED,
        "third-gcp-value",
        "plain-text-value",
        "ya29.",
    ] {
        assert!(!logs.contains(secret), "{secret} in the agent's log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_say_what_sts_said_and_a_key_json_reads_regional_secrets() {
    let (env, gcp) = gcp_env().await;
    let control = gcp.control();
    control.add_version(Some("europe-west4"), "db", b"regional-value-3d");

    // An audience the pool does not have: STS's own words in Ready=False.
    env.apply(&store(
        "wrong",
        &wif(
            "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/x/providers/y",
        ),
    ))
    .await;
    env.apply(&es(
        "wrong",
        "wrong",
        "  data:\n  - secretKey: v\n    remoteRef: {key: db}\n",
    ))
    .await;
    let (_, message) = env.es_ready("team", "wrong", false).await;
    assert!(message.contains("invalid_target"), "{message}");
    assert!(
        message.contains("exchanging the token of service account team/app at STS"),
        "{message}"
    );

    // A key JSON from a Secret, a regional store.
    let key = ServiceAccountKey::generate(READER, "my-project").unwrap();
    control.register_key(&key.email, &key.key_id, &key.public_key_der);
    create_secret(&env.client, "team", "gcp-key", &[("key.json", &key.json)]).await;
    env.apply(&store("regional", "      location: europe-west4\n      auth:\n        secretRef:\n          secretAccessKeySecretRef: {name: gcp-key, key: key.json}\n")).await;
    env.apply(&es(
        "regional",
        "regional",
        "  data:\n  - secretKey: v\n    remoteRef: {key: db}\n",
    ))
    .await;
    env.es_ready("team", "regional", true).await;
    assert_eq!(
        env.data("team", "regional").await.unwrap()["v"],
        "regional-value-3d"
    );

    let logs = env.agent.logs();
    assert!(
        !logs.contains("regional-value-3d") && !logs.contains("PRIVATE KEY"),
        "a value or key in the log"
    );
}

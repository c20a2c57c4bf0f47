//! The sync pattern against Azure Key Vault: kube-standin + azure-standin (loopback TLS, its
//! CA given to the agent through SSL_CERT_FILE, Entra through AZURE_AUTHORITY_HOST) + the real
//! agent binary. Service principal sync and a change picked up by force-sync, wrong
//! credentials giving Ready=False in Entra's words, workload identity with kube-standin tokens
//! (checked by the stand-in against kube-standin's key) and AADSTS70021 naming what was sent,
//! an outage keeping the synced Secret, and no value or token in the agent's log.
//!
//! The later tests start from `common::azure` (the same wiring): a changed value picked up by
//! `refreshInterval` alone with one Key Vault read per cycle and no new token; a disabled
//! secret giving Ready=False and keeping what was synced; AADSTS700211 (the application
//! trusts another issuer) naming the issuer, subject and audience of the token sent, never the
//! token. Each greps the agent's log for its values and tokens.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use azure_standin::{AzureStandIn, FederatedCredential, SecretOptions, TOKEN_EXCHANGE_AUDIENCE};
use common::azure::{SP_AUTH, TENANT, azure_env, external_secret};
use common::sync::{create_secret, es_ready_when, store_ready_when, wait_secret_value};
use common::{Agent, cluster, wait_for};
use kube::api::Api;
use secrets_core::api::ExternalSecret;

const VALUE: &str = "pw-azure-5c1e9a";
const ROTATED: &str = "pw-azure-rotated-0d4f";
const SP_SECRET: &str = "sp-secret-8e2b77";

async fn data(client: &kube::Client, ns: &str, name: &str) -> Option<BTreeMap<String, String>> {
    let bytes = common::secret_bytes(client, ns, name).await?;
    Some(
        bytes
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
            .collect(),
    )
}

fn store(name: &str, url: &str, auth: &str) -> String {
    format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  provider:\n    azurekv:\n      vaultUrl: {url}\n      tenantId: {TENANT}\n{auth}"
    )
}

fn es(name: &str, store: &str, data: &str) -> String {
    format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  refreshInterval: 1h\n  secretStoreRef: {{name: {store}, kind: SecretStore}}\n  target: {{name: {name}}}\n  data:\n{data}"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn service_principal_and_workload_identity_sync() {
    let (cluster, client) = cluster().await;
    let azure = AzureStandIn::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("azure-ca.pem");
    azure.write_ca_file(&ca).unwrap();
    azure.add_client_secret(TENANT, "app-sp", SP_SECRET);
    azure.set_secret("db-password", VALUE);
    let tokens = cluster.standin().tokens();
    azure
        .trust_issuer(tokens.issuer(), &tokens.public_key_pem())
        .unwrap();
    azure.add_federated_credential(
        TENANT,
        "app-wi",
        FederatedCredential {
            issuer: tokens.issuer().to_owned(),
            subject: "system:serviceaccount:team:web".to_owned(),
            audience: TOKEN_EXCHANGE_AUDIENCE.to_owned(),
        },
    );
    let url = azure.url();
    let ca_path = ca.to_str().unwrap().to_owned();
    let agent = Agent::spawn_env(
        &cluster,
        &[
            "--http-addr",
            "127.0.0.1:0",
            "--lease-duration",
            "3s",
            "--lease-renew",
            "1s",
            "--log-filter",
            "debug",
            "--provider-timeout",
            "5s",
        ],
        &[
            ("SSL_CERT_FILE", ca_path.as_str()),
            ("AZURE_AUTHORITY_HOST", url.as_str()),
        ],
    );

    // Service principal.
    create_secret(
        &client,
        "team",
        "sp",
        &[("id", "app-sp"), ("secret", SP_SECRET)],
    )
    .await;
    let sp_auth = "      authSecretRef:\n        clientId: {name: sp, key: id}\n        clientSecret: {name: sp, key: secret}\n";
    cluster.apply(&store("sp", &url, sp_auth));
    let (ok, reason, message) =
        store_ready_when(&client, "team", "sp", "Ready", |_, r, _| !r.is_empty()).await;
    assert!(ok, "store sp: {reason}: {message}");
    cluster.apply(&es(
        "db",
        "sp",
        "  - secretKey: password\n    remoteRef: {key: db-password}\n",
    ));
    wait_for("the synced value", || async {
        data(&client, "team", "db")
            .await
            .filter(|d| d.get("password").map(String::as_str) == Some(VALUE))
    })
    .await;

    // A change, picked up by a force-sync.
    azure.set_secret("db-password", ROTATED);
    cluster.kubectl_ok(&[
        "annotate",
        "-n",
        "team",
        "externalsecret",
        "db",
        "--overwrite",
        "kubectl-secrets.io/force-sync=1",
    ]);
    wait_for("the rotated value", || async {
        data(&client, "team", "db")
            .await
            .filter(|d| d.get("password").map(String::as_str) == Some(ROTATED))
    })
    .await;

    // Wrong credentials: Ready=False in Entra's words.
    create_secret(
        &client,
        "team",
        "bad",
        &[("id", "app-sp"), ("secret", "not-the-secret")],
    )
    .await;
    cluster.apply(&store(
        "bad",
        &url,
        &sp_auth.replace("name: sp", "name: bad"),
    ));
    let (ok, _, message) = store_ready_when(&client, "team", "bad", "Ready=False", |ok, r, _| {
        !ok && !r.is_empty()
    })
    .await;
    assert!(!ok && message.contains("AADSTS7000215"), "{message}");

    // Workload identity: the account's token as the client assertion.
    cluster.apply("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: team\n  annotations: {azure.workload.identity/client-id: app-wi}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: intruder\n  namespace: team\n  annotations: {azure.workload.identity/client-id: app-wi}\n");
    cluster.apply(&store(
        "wi",
        &url,
        "      authType: WorkloadIdentity\n      serviceAccountRef: {name: web}\n",
    ));
    cluster.apply(&es(
        "wi",
        "wi",
        "  - secretKey: password\n    remoteRef: {key: secret/db-password}\n",
    ));
    wait_for("the value read with workload identity", || async {
        data(&client, "team", "wi")
            .await
            .filter(|d| d.get("password").map(String::as_str) == Some(ROTATED))
    })
    .await;
    cluster.apply(&store(
        "intruder",
        &url,
        "      authType: WorkloadIdentity\n      serviceAccountRef: {name: intruder}\n",
    ));
    cluster.apply(&es(
        "intruder",
        "intruder",
        "  - secretKey: password\n    remoteRef: {key: db-password}\n",
    ));
    let (ok, _, message) = es_ready_when(&client, "team", "intruder", "Ready=False", |ok, r, _| {
        !ok && !r.is_empty()
    })
    .await;
    assert!(!ok, "{message}");
    assert!(
        message.contains("AADSTS70021")
            && message.contains("system:serviceaccount:team:intruder")
            && message.contains(TOKEN_EXCHANGE_AUDIENCE),
        "{message}"
    );
    assert!(azure.calls("token") >= 2);

    // An outage keeps what was synced: Ready=False, the Secret stays.
    azure.set_unavailable(true);
    cluster.kubectl_ok(&[
        "annotate",
        "-n",
        "team",
        "externalsecret",
        "db",
        "--overwrite",
        "kubectl-secrets.io/force-sync=2",
    ]);
    let (ok, _, message) =
        es_ready_when(&client, "team", "db", "Ready=False", |ok, _, _| !ok).await;
    assert!(!ok && message.contains("503"), "{message}");
    let kept = data(&client, "team", "db").await.unwrap();
    assert_eq!(
        kept["password"], ROTATED,
        "the outage removed the synced value"
    );
    azure.set_unavailable(false);

    let logs = agent.stop();
    for secret in [VALUE, ROTATED, SP_SECRET, "standin-at-", "eyJ"] {
        assert!(!logs.contains(secret), "{secret} in the agent's log");
    }
}

/// `status.refreshTime` of `team/name`: it moves on with every provider read that serves it.
async fn refresh_time(client: &kube::Client, name: &str) -> Option<String> {
    Api::<ExternalSecret>::namespaced(client.clone(), "team")
        .get_opt(name)
        .await
        .unwrap()?
        .status?
        .refresh_time
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_interval_reads_once_per_cycle() {
    const FIRST: &str = "tok-azure-first-71b3";
    const SECOND: &str = "tok-azure-second-a90c";
    const INTERVAL: Duration = Duration::from_secs(2);
    // Cycles watched after the change: long enough that a read per reconcile (each status
    // write wakes the object again) would overshoot the bound below.
    const CYCLES: u64 = 5;
    let env = azure_env(&[]).await;
    env.service_principal("app-sp", SP_SECRET).await;
    env.cluster.apply(&env.store("sp", SP_AUTH));
    env.azure.set_secret("api-token", FIRST);
    env.cluster.apply(&external_secret(
        "poll",
        "sp",
        "2s",
        "  - secretKey: token\n    remoteRef: {key: api-token}\n",
    ));
    wait_secret_value(&env.client, "team", "poll", "token", FIRST).await;

    env.azure.reset_calls();
    let started = Instant::now();
    env.azure.set_secret("api-token", SECOND);
    // No force-sync: only the interval can bring the new value.
    wait_secret_value(&env.client, "team", "poll", "token", SECOND).await;
    let mut seen = refresh_time(&env.client, "poll").await;
    for _ in 0..CYCLES {
        seen = Some(
            wait_for("the next periodic refresh", || async {
                refresh_time(&env.client, "poll")
                    .await
                    .filter(|now| Some(now) != seen.as_ref())
            })
            .await,
        );
    }
    let elapsed = started.elapsed();
    let gets = env.azure.calls("secret_get");
    // Reads are at least one interval apart, less under a second of refreshTime's rounding:
    // at most elapsed / interval + 1 of them; one more for scheduling slack.
    let bound = elapsed.as_secs_f64() / INTERVAL.as_secs_f64();
    let bound = bound.ceil() as u64 + 2;
    assert!(
        (CYCLES..=bound).contains(&gets),
        "{gets} secret GETs in {elapsed:?} with a {INTERVAL:?} interval (expected {CYCLES}..={bound})"
    );
    assert_eq!(
        env.azure.calls("token"),
        0,
        "the access token was not reused across refreshes"
    );

    let logs = env.agent.stop();
    for secret in [FIRST, SECOND, SP_SECRET, "standin-at-", "eyJ"] {
        assert!(!logs.contains(secret), "{secret} in the agent's log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_secret_is_ready_false_and_keeps_the_synced_value() {
    const FLAG: &str = "flag-azure-on-3e8d";
    const HIDDEN: &str = "flag-azure-hidden-c41f";
    let env = azure_env(&[]).await;
    env.service_principal("app-sp", SP_SECRET).await;
    env.cluster.apply(&env.store("sp", SP_AUTH));
    env.azure.set_secret("feature", FLAG);
    env.cluster.apply(&external_secret(
        "feature",
        "sp",
        "1h",
        "  - secretKey: flag\n    remoteRef: {key: feature}\n",
    ));
    wait_secret_value(&env.client, "team", "feature", "flag", FLAG).await;

    // Disabled after a sync: Ready=False saying so, the synced value stays.
    env.azure.set_secret_enabled("feature", false);
    env.cluster.kubectl_ok(&[
        "annotate",
        "-n",
        "team",
        "externalsecret",
        "feature",
        "--overwrite",
        "kubectl-secrets.io/force-sync=1",
    ]);
    let (ok, _, message) =
        es_ready_when(&env.client, "team", "feature", "Ready=False", |ok, _, _| {
            !ok
        })
        .await;
    assert!(
        !ok && message.contains("disabled") && message.contains("feature"),
        "{message}"
    );
    let kept = env.bytes("team", "feature").await.unwrap();
    assert_eq!(kept["flag"], FLAG.as_bytes(), "disabling removed the value");

    // Disabled from the start: Ready=False, no Secret made.
    env.azure.set_secret_with(
        "hidden",
        HIDDEN,
        SecretOptions {
            disabled: true,
            ..SecretOptions::default()
        },
    );
    env.cluster.apply(&external_secret(
        "hidden",
        "sp",
        "1h",
        "  - secretKey: flag\n    remoteRef: {key: hidden}\n",
    ));
    let (ok, _, message) =
        es_ready_when(&env.client, "team", "hidden", "Ready=False", |ok, r, _| {
            !ok && !r.is_empty()
        })
        .await;
    assert!(!ok && message.contains("disabled"), "{message}");
    assert!(env.bytes("team", "hidden").await.is_none());

    let logs = env.agent.stop();
    for secret in [FLAG, HIDDEN, SP_SECRET, "standin-at-", "eyJ"] {
        assert!(!logs.contains(secret), "{secret} in the agent's log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unregistered_issuer_names_the_token_sent_not_the_token() {
    const FOREIGN_ISSUER: &str = "https://oidc.other-cluster.example";
    let env = azure_env(&[]).await;
    env.azure.set_secret("db-password", VALUE);
    // The application trusts another cluster's issuer only: Entra finds no federated
    // credential for ours (AADSTS700211), before it looks at subject and audience.
    env.azure.add_federated_credential(
        TENANT,
        "app-foreign",
        FederatedCredential {
            issuer: FOREIGN_ISSUER.to_owned(),
            subject: "system:serviceaccount:team:stranger".to_owned(),
            audience: TOKEN_EXCHANGE_AUDIENCE.to_owned(),
        },
    );
    let auth = env.annotated_account("app-foreign", "stranger");
    env.cluster.apply(&env.store("foreign", &auth));
    env.cluster.apply(&external_secret(
        "foreign",
        "foreign",
        "1h",
        "  - secretKey: password\n    remoteRef: {key: db-password}\n",
    ));
    let issuer = env.cluster.standin().tokens().issuer().to_owned();
    let names_what_was_sent = |message: &str| {
        message.contains("AADSTS700211")
            && message.contains(&format!("issuer {issuer:?}"))
            && message.contains("subject \"system:serviceaccount:team:stranger\"")
            && message.contains(&format!("audience \"{TOKEN_EXCHANGE_AUDIENCE}\""))
    };
    let (ok, _, store_message) =
        store_ready_when(&env.client, "team", "foreign", "Ready=False", |ok, r, _| {
            !ok && !r.is_empty()
        })
        .await;
    assert!(
        !ok && names_what_was_sent(&store_message),
        "{store_message}"
    );
    let (ok, _, es_message) =
        es_ready_when(&env.client, "team", "foreign", "Ready=False", |ok, r, _| {
            !ok && !r.is_empty()
        })
        .await;
    assert!(!ok && names_what_was_sent(&es_message), "{es_message}");
    assert!(env.bytes("team", "foreign").await.is_none());
    assert!(env.azure.calls("token") >= 1, "no token exchange was tried");

    let logs = env.agent.stop();
    for text in [&store_message, &es_message, &logs] {
        // A JWT's header, base64url of `{"`, begins every service-account token.
        assert!(!text.contains("eyJ"), "a token in: {text}");
        assert!(!text.contains(VALUE) && !text.contains("standin-at-"));
    }
}

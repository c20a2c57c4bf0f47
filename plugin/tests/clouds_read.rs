//! `fetch remote` and `sync create --version` reading real cloud stand-ins end to end: the
//! built binary, the person's credentials in its environment where each cloud's SDKs look
//! (`common::clouds`), a SecretStore in kube-standin whose own Secret it must never read.
//! AWS through moto (a JSON secret, a plain-text one, a pinned `uuid/<id>` version), Azure
//! through azure-standin (a service principal, TLS trusted through SSL_CERT_FILE), GCP through
//! gcp-standin (a service-account key file). Stores that log in with a workload identity
//! (IRSA, Azure WorkloadIdentity, GCP federation) are read with the same person's credentials:
//! the store's auth never decides how a person logs in. Values show only with `--reveal`;
//! neither the store's Secret nor the person's own secret shows in any output.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::process::Output;

use common::clouds::{self, Aws, Azure, Gcp, PERSON_SECRET, STORE_SECRET, borrowed};
use common::sync::{SyncEnv, spec};
use common::{stderr, stdout};
use serde_json::json;
use test_support::SecretValue;

const PASSWORD: &str = "cloud-db-pw-7a1c";
const OLD_PASSWORD: &str = "cloud-db-pw-old-03f9";
const TOKEN: &str = "plain-text-token-e42b";

/// A run that succeeded, with none of `never` (nor the store's or person's secret) in its
/// output: (stdout, stderr).
fn succeeded(out: &Output, never: &[&str]) -> (String, String) {
    let (o, e) = (stdout(out), stderr(out));
    assert!(out.status.success(), "failed: {e}");
    for hidden in [STORE_SECRET, PERSON_SECRET].iter().chain(never) {
        assert!(
            !o.contains(hidden) && !e.contains(hidden),
            "{hidden:?} shown:\n{o}\n{e}"
        );
    }
    (o, e)
}

fn fetch<'a>(store: &'a str, key: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "fetch", "remote", "-n", "team", "--store", store, "--key", key,
    ];
    args.extend_from_slice(extra);
    args
}

/// Masked: the JSON secret's keys and sizes on stdout, no value; `path` is how the store
/// names what it read.
fn masked_keys(out: &Output, path: &str) {
    let (o, e) = succeeded(out, &[PASSWORD, OLD_PASSWORD]);
    assert!(e.contains(&format!("{path} (2 key(s))")), "{e}");
    assert!(e.contains("your credentials from"), "{e}");
    let rows: Vec<Vec<&str>> = o.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        rows,
        vec![
            vec!["KEY", "SIZE"],
            vec!["password", &format!("{}B", PASSWORD.len())],
            vec!["user", "3B"],
        ]
    );
}

/// `sync create` with a pinned version applies exactly that remoteRef.
fn create_pinned(env: &SyncEnv, run_env: &[(&str, &str)], store: &str, key: &str, version: &str) {
    let name = format!("{store}-pinned");
    let out = env.run(
        &[
            "sync",
            "create",
            &name,
            "-n",
            "team",
            "--store",
            store,
            "--key",
            key,
            "--version",
            version,
            "--property",
            "password",
        ],
        run_env,
    );
    succeeded(&out, &[PASSWORD, OLD_PASSWORD]);
    assert_eq!(
        spec(&env.es("team", &name).unwrap()),
        &json!({"secretStoreRef": {"name": store},
                "data": [{"secretKey": "password",
                          "remoteRef": {"key": key, "property": "password", "version": version}}]})
    );
}

fn db_json(password: &str) -> String {
    json!({"user": "app", "password": password}).to_string()
}

#[test]
fn aws_through_moto_with_static_keys() {
    let env = SyncEnv::start();
    clouds::store_secret(&env);
    let aws = Aws::start();
    clouds::store(&env, "aws", aws.provider());
    let first = aws
        .moto
        .create_secret("prod/db", SecretValue::String(&db_json(OLD_PASSWORD)));
    let first = first["VersionId"].as_str().unwrap().to_owned();
    aws.moto
        .put_secret_value("prod/db", SecretValue::String(&db_json(PASSWORD)));
    aws.moto.create_string("prod/token", TOKEN);
    let person = aws.person_env();
    let person = borrowed(&person);

    masked_keys(&env.run(&fetch("aws", "prod/db", &[]), &person), "prod/db");
    let (o, _) = succeeded(
        &env.run(
            &fetch("aws", "prod/db", &["--property", "password", "--reveal"]),
            &person,
        ),
        &[OLD_PASSWORD],
    );
    assert_eq!(o, PASSWORD);
    let pinned = format!("uuid/{first}");
    let (o, _) = succeeded(
        &env.run(
            &fetch(
                "aws",
                "prod/db",
                &["--version", &pinned, "--property", "password", "--reveal"],
            ),
            &person,
        ),
        &[PASSWORD],
    );
    assert_eq!(o, OLD_PASSWORD);

    // Plain text: one value, shown whole (masked: its size).
    let (o, e) = succeeded(
        &env.run(&fetch("aws", "prod/token", &[]), &person),
        &[TOKEN],
    );
    assert!(e.contains("prod/token (one value, not JSON keys)"), "{e}");
    assert_eq!(o, format!("prod/token\t{} bytes\n", TOKEN.len()));
    let (o, _) = succeeded(
        &env.run(&fetch("aws", "prod/token", &["--reveal"]), &person),
        &[],
    );
    assert_eq!(o, TOKEN);

    // An IRSA store is read with the person's keys just the same.
    clouds::store(
        &env,
        "aws-irsa",
        json!({"aws": {"service": "SecretsManager", "region": test_support::Moto::REGION,
               "auth": {"jwt": {"serviceAccountRef": {"name": "app"}}}}}),
    );
    let (o, _) = succeeded(
        &env.run(&fetch("aws-irsa", "prod/token", &["--reveal"]), &person),
        &[],
    );
    assert_eq!(o, TOKEN);

    create_pinned(&env, &person, "aws", "prod/db", &pinned);
}

#[test]
fn azure_through_the_standin_with_a_service_principal() {
    let env = SyncEnv::start();
    clouds::store_secret(&env);
    let azure = Azure::start(&env.rt);
    clouds::store(&env, "azure", azure.provider());
    let old = azure.standin.set_secret("db", &db_json(OLD_PASSWORD));
    azure.standin.set_secret("db", &db_json(PASSWORD));
    azure.standin.set_secret("api-token", TOKEN);
    let person = azure.person_env();
    let person = borrowed(&person);

    masked_keys(
        &env.run(&fetch("azure", "secret/db", &[]), &person),
        "secret/db",
    );
    let (o, _) = succeeded(
        &env.run(
            &fetch(
                "azure",
                "secret/db",
                &["--version", &old, "--property", "password", "--reveal"],
            ),
            &person,
        ),
        &[PASSWORD],
    );
    assert_eq!(o, OLD_PASSWORD);
    let (o, e) = succeeded(
        &env.run(&fetch("azure", "api-token", &[]), &person),
        &[TOKEN],
    );
    assert!(
        e.contains("secret/api-token (one value, not JSON keys)"),
        "{e}"
    );
    assert_eq!(o, format!("secret/api-token\t{} bytes\n", TOKEN.len()));
    let (o, _) = succeeded(
        &env.run(&fetch("azure", "api-token", &["--reveal"]), &person),
        &[],
    );
    assert_eq!(o, TOKEN);
    assert!(azure.standin.calls("token") >= 1, "Entra was not asked");
    // A workload-identity store is read with the person's service principal just the same.
    clouds::store(
        &env,
        "azure-wi",
        json!({"azurekv": {"vaultUrl": azure.standin.url(), "tenantId": clouds::AZURE_TENANT,
               "authType": "WorkloadIdentity", "serviceAccountRef": {"name": "app"}}}),
    );
    let (o, _) = succeeded(
        &env.run(&fetch("azure-wi", "api-token", &["--reveal"]), &person),
        &[],
    );
    assert_eq!(o, TOKEN);

    create_pinned(&env, &person, "azure", "secret/db", &old);
}

#[test]
fn gcp_through_the_standin_with_a_service_account_key() {
    let env = SyncEnv::start();
    clouds::store_secret(&env);
    let gcp = Gcp::start(&env);
    clouds::store(&env, "gcp", gcp.provider());
    let control = gcp.standin.control();
    let old = control.add_version(None, "db", db_json(OLD_PASSWORD).as_bytes());
    control.add_version(None, "db", db_json(PASSWORD).as_bytes());
    control.add_version(None, "api-token", TOKEN.as_bytes());
    let person = gcp.person_env();
    let person = borrowed(&person);
    let never = [gcp.private_key_marker];

    masked_keys(
        &env.run(&fetch("gcp", "db", &[]), &person),
        "projects/my-project/secrets/db/versions/2",
    );
    let old = old.to_string();
    let (o, _) = succeeded(
        &env.run(
            &fetch(
                "gcp",
                "db",
                &["--version", &old, "--property", "password", "--reveal"],
            ),
            &person,
        ),
        &[PASSWORD, never[0]],
    );
    assert_eq!(o, OLD_PASSWORD);
    let (o, e) = succeeded(
        &env.run(&fetch("gcp", "api-token", &[]), &person),
        &[TOKEN, never[0]],
    );
    let path = "projects/my-project/secrets/api-token/versions/1";
    assert!(
        e.contains(&format!("{path} (one value, not JSON keys)")),
        "{e}"
    );
    assert_eq!(o, format!("{path}\t{} bytes\n", TOKEN.len()));
    let (o, _) = succeeded(
        &env.run(&fetch("gcp", "api-token", &["--reveal"]), &person),
        &never,
    );
    assert_eq!(o, TOKEN);
    // A workload-identity-federation store is read with the person's key just the same.
    clouds::store(
        &env,
        "gcp-wif",
        json!({"gcpsm": {"projectID": clouds::GCP_PROJECT, "auth": {"workloadIdentityFederation": {
               "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k",
               "serviceAccountRef": {"name": "app"}}}}}),
    );
    let (o, _) = succeeded(
        &env.run(&fetch("gcp-wif", "api-token", &["--reveal"]), &person),
        &never,
    );
    assert_eq!(o, TOKEN);

    create_pinned(&env, &person, "gcp", "db", &old);
}

//! `fetch remote`, `sync create` and the `sync` wizard with AWS, Azure and GCP stores, the
//! built binary against kube-standin (`common::sync`): each store type's key and version
//! forms are checked before anything is read or applied, the person's credentials are looked
//! for where that cloud's tools keep them (and their absence named), the store's own Secret
//! is never read, and the wizard lists each store with where it keeps its secrets.
//!
//! No store answers here (the stores point at addresses nothing serves): reading values
//! through the real stand-ins (moto, azure-standin, gcp-standin) is `clouds_read.rs`'s. The
//! environment is cleared (no PATH), so `az` and `gcloud` are "not installed" unless a test
//! puts a fake one on PATH.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::clouds::{self, STORE_SECRET};
use common::sync::{SyncEnv, spec};
use common::{Screen, pty, stderr};
use serde_json::{Value, json};

fn cloud_stores(env: &SyncEnv) {
    clouds::store_secret(env);
    let store = |name: &str, provider: Value| clouds::store(env, name, provider);
    let key = |k: &str| json!({"name": "cloud-creds", "key": k});
    store(
        "aws",
        json!({"aws": {"service": "SecretsManager", "region": "eu-west-1",
               "auth": {"secretRef": {"accessKeyIDSecretRef": key("id"),
                                      "secretAccessKeySecretRef": key("secret")}}}}),
    );
    store(
        "azure",
        json!({"azurekv": {"vaultUrl": "https://team.vault.azure.net", "tenantId": "tid",
               "environmentType": "USGovernmentCloud",
               "authSecretRef": {"clientId": key("id"), "clientSecret": key("secret")}}}),
    );
    store(
        "gcp",
        json!({"gcpsm": {"projectID": "team-project",
               "auth": {"secretRef": {"secretAccessKeySecretRef": key("secret")}}}}),
    );
}

/// Exit 2, one `kubectl-secrets:` line containing `expect`, no store secret anywhere.
fn fails(out: &std::process::Output, expect: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(expect), "expected {expect:?} in: {err}");
    assert!(!err.contains(STORE_SECRET), "{err}");
    assert!(out.stdout.is_empty());
}

fn fetch<'a>(store: &'a str, key: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "fetch", "remote", "-n", "team", "--store", store, "--key", key,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn fetch_remote_looks_for_the_persons_cloud_credentials_never_the_stores() {
    let env = SyncEnv::start();
    cloud_stores(&env);
    fails(
        &env.run(&fetch("aws", "prod/db", &[]), &[]),
        "no AWS credentials of yours: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set and \
         profile \"default\" (AWS_PROFILE) is not in",
    );
    fails(
        &env.run(
            &fetch("aws", "prod/db", &[]),
            &[("AWS_ACCESS_KEY_ID", "AKIA")],
        ),
        "AWS_SECRET_ACCESS_KEY is not",
    );
    // A profile that needs a login flow is refused by name.
    std::fs::create_dir_all(env.home_file(".aws")).unwrap();
    std::fs::write(
        env.home_file(".aws/config"),
        "[profile sso]\nsso_session = corp\nregion = eu-west-1\n",
    )
    .unwrap();
    fails(
        &env.run(&fetch("aws", "prod/db", &[]), &[("AWS_PROFILE", "sso")]),
        "AWS profile \"sso\" uses sso_session: this build reads static keys only",
    );
    // No CLI on PATH (the machine running the tests may have them).
    let no_clis = env.home_file("no-clis");
    std::fs::create_dir_all(&no_clis).unwrap();
    let no_clis = no_clis.to_str().unwrap().to_owned();
    fails(
        &env.run(&fetch("azure", "secret/db", &[]), &[("PATH", &no_clis)]),
        "AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID are not set and the Azure CLI \
         (`az`) is not installed",
    );
    fails(
        &env.run(&fetch("gcp", "db", &[]), &[("PATH", &no_clis)]),
        "GOOGLE_APPLICATION_CREDENTIALS is not set and the Google Cloud CLI (`gcloud`) is not \
         installed",
    );
    let adc = env.home_file("adc.json");
    std::fs::write(&adc, r#"{"type": "authorized_user", "refresh_token": "r"}"#).unwrap();
    fails(
        &env.run(
            &fetch("gcp", "db", &[]),
            &[("GOOGLE_APPLICATION_CREDENTIALS", adc.to_str().unwrap())],
        ),
        "holds \"authorized_user\" credentials",
    );

    // A failing az: its stderr is shown, with the vault's cloud and the store's tenant asked.
    let bin = env.home_file("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("az"),
        "#!/bin/sh\necho \"asked: $*\" >&2\necho 'Please run az login.' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(bin.join("az"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = env.run(&fetch("azure", "secret/db", &[]), &[("PATH", &path)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Please run az login."), "{err}");
    assert!(
        err.contains(
            "asked: account get-access-token --resource https://vault.usgovcloudapi.net -o json \
             --tenant tid"
        ),
        "{err}"
    );
    assert!(!err.contains(STORE_SECRET), "{err}");

    // --vault-addr belongs to vault stores.
    fails(
        &env.run(
            &fetch("aws", "prod/db", &["--vault-addr", "http://127.0.0.1:1"]),
            &[("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "B")],
        ),
        "--vault-addr is for vault stores; SecretStore team/aws is an aws store",
    );
}

#[test]
fn keys_and_versions_are_checked_against_the_store_type() {
    let env = SyncEnv::start();
    cloud_stores(&env);
    // Before any credentials are looked for.
    fails(
        &env.run(&fetch("azure", "secrets/db", &[]), &[]),
        "SecretStore team/azure (azurekv store): key \"secrets/db\": \"secrets\" is not an Azure \
         Key Vault object type",
    );
    fails(
        &env.run(&fetch("gcp", "db", &["--version", "AWSCURRENT"]), &[]),
        "a GCP version is a number (1, 2, …) or latest",
    );
    let create = |name: &'static str, store: &'static str, key: &'static str, v: &'static str| {
        env.run(
            &[
                "sync",
                "create",
                name,
                "-n",
                "team",
                "--store",
                store,
                "--key",
                key,
                "--version",
                v,
                "--property",
                "password",
            ],
            &[],
        )
    };
    fails(
        &create("db", "aws", "prod db", "AWSCURRENT"),
        "an AWS secret name is up to 512 of",
    );
    fails(
        &create("db", "azure", "secret/db", "7"),
        "an Azure Key Vault version is 32 hex digits",
    );
    fails(
        &create("db", "vault", "app/db", "latest"),
        "a vault KV v2 version is a number",
    );
    assert!(env.es("team", "db").is_none());

    for (name, store, key, version) in [
        ("aws-db", "aws", "prod/db", "AWSPREVIOUS"),
        (
            "azure-db",
            "azure",
            "secret/db",
            "0123456789abcdef0123456789abcdef",
        ),
        ("gcp-db", "gcp", "db", "3"),
    ] {
        let out = create(name, store, key, version);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            spec(&env.es("team", name).unwrap())["data"],
            json!([{"secretKey": "password",
                    "remoteRef": {"key": key, "property": "password", "version": version}}])
        );
    }
}

#[test]
fn the_wizard_lists_each_store_with_its_location_and_asks_for_the_persons_credentials() {
    let env = SyncEnv::start();
    cloud_stores(&env);
    let mut p = pty(env.command(&["sync", "-n", "team"], &[]));
    let mut s = Screen(String::new());
    s.answer(&mut p, "Namespace", "");
    s.expect(
        &mut p,
        "SecretStore team/aws (AWS Secrets Manager, region eu-west-1)",
    );
    s.expect(
        &mut p,
        "SecretStore team/azure (Azure Key Vault https://team.vault.azure.net)",
    );
    s.expect(
        &mut p,
        "SecretStore team/gcp (GCP Secret Manager, project team-project)",
    );
    s.expect(&mut p, "SecretStore team/vault (");
    // The first store, aws: the person has no AWS credentials here.
    s.answer(&mut p, "Create a new SecretStore", "");
    s.expect(&mut p, "no AWS credentials of yours");
    s.end(&mut p);
    assert!(!s.0.contains(STORE_SECRET));
}

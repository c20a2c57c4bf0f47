//! The `sync` wizard, driven for real through a pseudo-terminal against kube-standin and a
//! real OpenBao: a person creates a SecretStore, browses the mount with their own token, picks
//! keys, and the ExternalSecret lands in the cluster with exactly those choices; or writes the
//! manifest instead; values are never on the screen. New AWS, Azure and GCP stores too, each
//! browsed in its stand-in (`common::clouds`) with the person's credentials, the written
//! SecretStore parsed back into the typed spec.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use common::clouds::{AZURE_TENANT, Aws, Azure, GCP_PROJECT, Gcp, PERSON_SECRET, borrowed};
use common::sync::{SyncEnv, spec};
use common::{Screen, pty};
use rexpect::session::PtySession;
use secrets_core::api::{SecretKeySelector, SecretStore};
use serde::Deserialize as _;
use serde_json::{Value, json};
use test_support::SecretValue;

const DOWN: &str = "\x1b[B";

/// The wizard in a pty, with the person's token (unless `token` says otherwise) and
/// VAULT_ADDR pointing at the test's OpenBao.
fn spawn(env: &SyncEnv, args: &[&str], token: &str) -> PtySession {
    pty(env.command(
        args,
        &[("VAULT_TOKEN", token), ("VAULT_ADDR", env.bao.addr())],
    ))
}

#[test]
fn wizard_creates_a_store_browses_and_applies() {
    let env = SyncEnv::start();
    let mut p = spawn(&env, &["sync", "-n", "team"], &env.person_token);
    let mut s = Screen(String::new());
    s.answer(&mut p, "Namespace", "");
    s.expect(&mut p, "SecretStore team/vault (");
    s.expect(&mut p, "Create a new SecretStore");
    p.send(DOWN).unwrap();
    p.send_line("").unwrap();
    s.expect(&mut p, "Provider");
    s.answer(&mut p, "GCP Secret Manager", ""); // the first: Vault / OpenBao
    s.answer(&mut p, "SecretStore name", "vault2");
    s.answer(&mut p, "Vault address", ""); // VAULT_ADDR, offered as the answer
    s.answer(&mut p, "KV mount", "");
    s.answer(&mut p, "KV version", "");
    s.answer(&mut p, "Vault namespace", "");
    s.answer(&mut p, "How the agent logs in", ""); // tokenSecretRef
    s.answer(&mut p, "Secret holding the token", "");
    s.answer(&mut p, "Key in that Secret", "");
    // The mount's root, as OpenBao lists it with the person's token: app/, other.
    s.expect(&mut p, "Secret in secret/");
    s.expect(&mut p, "other");
    p.send_line("").unwrap(); // app/
    s.expect(&mut p, "Secret in secret/app/");
    s.expect(&mut p, "db");
    p.send(DOWN).unwrap(); // .. (up) → config
    p.send(DOWN).unwrap(); // → db
    p.send_line("").unwrap();
    s.expect(&mut p, "What to sync");
    p.send(DOWN).unwrap(); // some keys
    p.send_line("").unwrap();
    s.expect(&mut p, "Keys to sync");
    s.expect(&mut p, "user");
    p.send(" ").unwrap(); // password
    p.send_line("").unwrap();
    s.answer(&mut p, "Secret key for password", "db-password");
    s.answer(&mut p, "ExternalSecret name", ""); // db, from the path
    s.answer(&mut p, "Secret to write", "");
    s.answer(&mut p, "Refresh interval", "15m");
    s.expect(&mut p, "About to apply");
    s.expect(&mut p, "SecretStore     team/vault2 (new)");
    s.expect(&mut p, "password -> db-password");
    s.expect(&mut p, "Apply to the cluster?");
    p.send("y").unwrap();
    p.flush().unwrap();
    s.end(&mut p);

    let store = env.store("team", "vault2").unwrap();
    assert_eq!(
        store["spec"],
        json!({"provider": {"vault": {
            "server": env.bao.addr(), "path": "secret", "version": "v2",
            "auth": {"tokenSecretRef": {"name": "vault2-token", "key": "token"}}
        }}})
    );
    assert_eq!(
        spec(&env.es("team", "db").unwrap()),
        &json!({
            "secretStoreRef": {"name": "vault2"},
            "refreshInterval": "15m",
            "data": [{"secretKey": "db-password", "remoteRef": {"key": "app/db", "property": "password"}}]
        })
    );
}

#[test]
fn wizard_writes_the_manifest_for_an_existing_store() {
    let env = SyncEnv::start();
    let file = env.home_file("config.yaml");
    let mut p = spawn(
        &env,
        &[
            "sync",
            "-n",
            "team",
            "--output-file",
            file.to_str().unwrap(),
        ],
        &env.person_token,
    );
    let mut s = Screen(String::new());
    s.answer(&mut p, "Namespace", "");
    s.expect(&mut p, "Create a new SecretStore");
    p.send_line("").unwrap(); // the existing team/vault
    s.expect(&mut p, "Type a path");
    p.send(DOWN).unwrap(); // app/ → other
    p.send(DOWN).unwrap(); // → Type a path…
    p.send_line("").unwrap();
    s.answer(
        &mut p,
        "Path of the secret under mount secret",
        "app/config",
    );
    s.answer(&mut p, "What to sync", ""); // every key
    s.answer(&mut p, "ExternalSecret name", "");
    s.answer(&mut p, "Secret to write", "app-config");
    s.answer(&mut p, "Refresh interval", ""); // the default: not written
    s.expect(&mut p, "About to write");
    s.expect(&mut p, "every key of the remote secret");
    s.expect(&mut p, "Write the manifests?");
    p.send("y").unwrap();
    p.flush().unwrap();
    s.end(&mut p);

    let yaml = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        yaml.matches("---").count(),
        1,
        "only the ExternalSecret:\n{yaml}"
    );
    let doc: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(
        doc,
        json!({
            "apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "ExternalSecret",
            "metadata": {"name": "config", "namespace": "team"},
            "spec": {
                "secretStoreRef": {"name": "vault"},
                "target": {"name": "app-config"},
                "dataFrom": [{"extract": {"key": "app/config"}}]
            }
        })
    );
    assert!(env.es("team", "config").is_none(), "writing must not apply");
}

#[test]
fn wizard_asks_before_replacing_an_existing_external_secret() {
    let env = SyncEnv::start();
    env.create(
        "team",
        json!({"apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "ExternalSecret",
               "metadata": {"name": "config"},
               "spec": {"secretStoreRef": {"name": "vault"},
                        "dataFrom": [{"extract": {"key": "kept/as/is"}}]}}),
    );
    let before = env.es("team", "config").unwrap();
    let mut p = spawn(&env, &["sync", "-n", "team"], &env.person_token);
    let mut s = Screen(String::new());
    s.answer(&mut p, "Namespace", "");
    s.expect(&mut p, "Create a new SecretStore");
    p.send_line("").unwrap(); // the existing team/vault
    s.expect(&mut p, "Type a path");
    p.send(DOWN).unwrap();
    p.send(DOWN).unwrap();
    p.send_line("").unwrap();
    s.answer(
        &mut p,
        "Path of the secret under mount secret",
        "app/config",
    );
    s.answer(&mut p, "What to sync", "");
    s.answer(&mut p, "ExternalSecret name", ""); // config: taken
    s.answer(&mut p, "Secret to write", "");
    s.answer(&mut p, "Refresh interval", "");
    s.expect(
        &mut p,
        "ExternalSecret team/config already exists. Replace it?",
    );
    p.send_line("").unwrap(); // the default: no
    s.expect(&mut p, "already exists and was left as it is");
    s.end(&mut p);
    assert_eq!(env.es("team", "config").unwrap()["spec"], before["spec"]);
}

#[test]
fn wizard_falls_back_to_typing_when_the_token_may_not_read() {
    let env = SyncEnv::start();
    env.bao.write_policy(
        "lister",
        r#"path "secret/metadata/*" { capabilities = ["list"] }"#,
    );
    let lister = env.bao.create_token(&["lister"]);
    let mut p = spawn(&env, &["sync", "-n", "team", "-o", "yaml"], &lister);
    let mut s = Screen(String::new());
    s.answer(&mut p, "Namespace", "");
    s.expect(&mut p, "Create a new SecretStore");
    p.send_line("").unwrap();
    s.expect(&mut p, "Secret in secret/");
    p.send(DOWN).unwrap(); // other
    p.send_line("").unwrap();
    s.expect(&mut p, "Cannot read other with your token");
    s.answer(&mut p, "Properties, comma-separated", "k");
    s.answer(&mut p, "Secret key for k", "renamed");
    s.answer(&mut p, "ExternalSecret name", "");
    s.answer(&mut p, "Secret to write", "");
    s.answer(&mut p, "Refresh interval", "0");
    s.expect(&mut p, "Write the manifests?");
    p.send("y").unwrap();
    p.flush().unwrap();
    s.end(&mut p);
    assert!(s.0.contains("permission denied"), "{}", s.0);
    assert!(
        s.0.contains("secretKey: renamed") && s.0.contains("property: k"),
        "{}",
        s.0
    );
    assert!(s.0.contains("refreshInterval: \"0\""), "{}", s.0);
}

#[test]
fn yes_never_prompts_even_at_a_terminal() {
    let env = SyncEnv::start();
    let mut p = spawn(&env, &["sync", "-n", "team", "--yes"], &env.person_token);
    let rest = p.exp_eof().unwrap();
    assert!(
        rest.contains("kubectl-secrets: `sync` alone is a wizard for a person at a terminal: pass `sync create NAME"),
        "{rest}"
    );
    assert!(!rest.contains("Namespace"));
}

/// Pick "Create a new SecretStore", provider `provider` (0: Vault … 3: GCP), answer
/// `questions` in order (`(text to wait for, line to send)`; `DOWN` alone: the next choice),
/// pick the only secret listed in `location`, every key, the default names, and write the
/// manifests: the SecretStore parsed into the typed spec, the ExternalSecret as JSON.
fn new_cloud_store(
    env: &SyncEnv,
    person: &[(&'static str, String)],
    provider: usize,
    questions: &[(&str, &str)],
    location: &str,
) -> (SecretStore, Value) {
    let file = env.home_file("cloud.yaml");
    let args = [
        "sync",
        "-n",
        "team",
        "--output-file",
        file.to_str().unwrap(),
    ];
    let mut p = pty(env.command(&args, &borrowed(person)));
    let mut s = Screen(String::new());
    s.answer(&mut p, "Namespace", "");
    s.expect(&mut p, "Create a new SecretStore");
    p.send(DOWN).unwrap(); // past team/vault
    p.send_line("").unwrap();
    s.expect(&mut p, "Provider");
    s.expect(&mut p, "GCP Secret Manager");
    for _ in 0..provider {
        p.send(DOWN).unwrap();
    }
    p.send_line("").unwrap();
    for (prompt, line) in questions {
        s.expect(&mut p, prompt);
        if *line == DOWN {
            p.send(DOWN).unwrap();
            p.send_line("").unwrap();
        } else {
            p.send_line(line).unwrap();
        }
    }
    s.answer(&mut p, &format!("Secret in {location}"), "");
    s.answer(&mut p, "What to sync", ""); // every key
    s.answer(&mut p, "ExternalSecret name", "");
    s.answer(&mut p, "Secret to write", "");
    s.answer(&mut p, "Refresh interval", "");
    s.expect(&mut p, "(new)");
    s.expect(&mut p, "Write the manifests?");
    p.send("y").unwrap();
    p.flush().unwrap();
    s.end(&mut p);
    for hidden in [PERSON_SECRET, DB_JSON_PASSWORD] {
        assert!(!s.0.contains(hidden), "{hidden} shown:\n{}", s.0);
    }
    let yaml = std::fs::read_to_string(&file).unwrap();
    let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&yaml)
        .map(|doc| Value::deserialize(doc).unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "{yaml}");
    assert_eq!(docs[0]["kind"], "SecretStore", "{yaml}");
    let store: SecretStore = serde_json::from_value(docs[0].clone()).unwrap();
    assert_eq!(store.metadata.namespace.as_deref(), Some("team"));
    assert!(
        env.store("team", store.metadata.name.as_deref().unwrap())
            .is_none()
    );
    (store, docs[1].clone())
}

const DB_JSON_PASSWORD: &str = "wizard-cloud-pw-91c2";

fn db_json() -> String {
    json!({"user": "app", "password": DB_JSON_PASSWORD}).to_string()
}

fn selector(name: &str, key: &str) -> Option<SecretKeySelector> {
    Some(SecretKeySelector {
        name: name.into(),
        key: Some(key.into()),
        ..SecretKeySelector::default()
    })
}

fn extracts(es: &Value, store: &str, key: &str) {
    assert_eq!(
        es["spec"],
        json!({"secretStoreRef": {"name": store}, "dataFrom": [{"extract": {"key": key}}]})
    );
}

#[test]
fn wizard_creates_an_aws_store_with_static_keys_and_a_role() {
    let env = SyncEnv::start();
    let aws = Aws::start();
    aws.moto
        .create_secret("prod/db", SecretValue::String(&db_json()));
    let role = "arn:aws:iam::123456789012:role/reader";
    let (store, es) = new_cloud_store(
        &env,
        &aws.person_env(),
        1,
        &[
            ("SecretStore name", ""),
            ("Region", test_support::Moto::REGION),
            ("How the agent logs in", DOWN), // secretRef
            ("Secret holding the access key", ""),
            ("Key of the access key id", ""),
            ("Key of the secret access key", "secret-key"),
            ("Role ARN to assume", role),
        ],
        "AWS Secrets Manager, region us-east-1",
    );
    assert_eq!(store.metadata.name.as_deref(), Some("aws"));
    let p = store.spec.provider.aws.unwrap();
    assert_eq!(
        (p.service.as_str(), p.region.as_str(), p.role.as_deref()),
        ("SecretsManager", "us-east-1", Some(role))
    );
    let auth = p.auth.unwrap();
    assert!(auth.jwt.is_none());
    let keys = auth.secret_ref.unwrap();
    assert_eq!(
        keys.access_key_id_secret_ref,
        selector("aws-credentials", "access-key-id")
    );
    assert_eq!(
        keys.secret_access_key_secret_ref,
        selector("aws-credentials", "secret-key")
    );
    extracts(&es, "aws", "prod/db");
}

#[test]
fn wizard_creates_an_azure_store_checking_the_vault_url_against_the_cloud() {
    let env = SyncEnv::start();
    let azure = Azure::start(&env.rt);
    azure.standin.set_secret("db", &db_json());
    let url = azure.standin.url();
    let (store, es) = new_cloud_store(
        &env,
        &azure.person_env(),
        2,
        &[
            ("SecretStore name", "kv"),
            ("Azure cloud (environmentType)", ""), // PublicCloud
            ("Vault URL", "https://team.vault.azure.cn"),
            (
                "is not a PublicCloud Key Vault: its host must be NAME.vault.azure.net",
                &url,
            ),
            ("Tenant id", AZURE_TENANT),
            ("How the agent logs in (authType)", ""), // ServicePrincipal
            ("Secret holding the client id and secret", ""),
            ("Key of the client id", ""),
            ("Key of the client secret", ""),
        ],
        &format!("Azure Key Vault {url}"),
    );
    assert_eq!(store.metadata.name.as_deref(), Some("kv"));
    let p = store.spec.provider.azurekv.unwrap();
    assert_eq!(p.vault_url, url);
    assert_eq!(p.tenant_id.as_deref(), Some(AZURE_TENANT));
    assert_eq!(p.auth_type.as_deref(), Some("ServicePrincipal"));
    assert_eq!(p.environment_type, None);
    assert!(p.service_account_ref.is_none());
    let sp = p.auth_secret_ref.unwrap();
    assert_eq!(sp.client_id, selector("kv-sp", "client-id"));
    assert_eq!(sp.client_secret, selector("kv-sp", "client-secret"));
    extracts(&es, "kv", "db"); // a secret is listed by its bare name
}

#[test]
fn wizard_creates_a_regional_gcp_store_with_a_key_secret() {
    let env = SyncEnv::start();
    let gcp = Gcp::start(&env);
    gcp.standin
        .control()
        .add_version(Some("europe-west4"), "db", db_json().as_bytes());
    let (store, es) = new_cloud_store(
        &env,
        &gcp.person_env(),
        3,
        &[
            ("SecretStore name", ""),
            ("Project id (projectID)", GCP_PROJECT),
            ("Location, for regional secrets", "europe-west4"),
            ("How the agent logs in", DOWN), // secretRef
            ("Secret holding the key JSON", ""),
            ("Key in that Secret", ""),
        ],
        "GCP Secret Manager, project my-project, location europe-west4",
    );
    assert_eq!(store.metadata.name.as_deref(), Some("gcp"));
    let p = store.spec.provider.gcpsm.unwrap();
    assert_eq!(p.project_id.as_deref(), Some(GCP_PROJECT));
    assert_eq!(p.location.as_deref(), Some("europe-west4"));
    let auth = p.auth.unwrap();
    assert!(auth.workload_identity_federation.is_none());
    assert_eq!(
        auth.secret_ref.unwrap().secret_access_key_secret_ref,
        selector("gcp-key", "key.json")
    );
    extracts(&es, "gcp", "db");
}

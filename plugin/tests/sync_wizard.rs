//! The `sync` wizard, driven for real through a pseudo-terminal against kube-standin and a
//! real OpenBao: a person creates a SecretStore, browses the mount with their own token, picks
//! keys, and the ExternalSecret lands in the cluster with exactly those choices; or writes the
//! manifest instead; values are never on the screen.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use common::sync::{SyncEnv, spec};
use common::{Screen, pty};
use rexpect::session::PtySession;
use serde_json::{Value, json};

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

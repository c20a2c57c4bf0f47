//! The sync commands end to end: the built binary against kube-standin and a real OpenBao
//! (`common::sync`). `sync create` writes exactly the given fields; `-o yaml` has no
//! defaults; `sync now` bumps the force-sync annotation and reports the agent's answer;
//! `sync status` as a table and JSON; `fetch remote` masked and revealed, with the person's
//! own token only.
//!
//! The agent is not running here: where `sync now` needs its answer, a thread in the test
//! writes the status the way the agent does (`schedule::synced_version` of the annotated
//! object). agent/tests/sync_plugin_flow.rs runs the same commands against the real agent.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::sync::{DB_PASSWORD, SyncEnv, spec};
use common::{stderr, stdout};
use kube::api::Api;
use secrets_core::api::ExternalSecret;
use secrets_core::sync::schedule::{FORCE_SYNC, synced_version};
use serde_json::{Value, json};

/// `sync create NAME -n NS --store vault --key KEY EXTRA…`
fn create_args<'a>(name: &'a str, ns: &'a str, key: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "sync", "create", name, "-n", ns, "--store", "vault", "--key", key,
    ];
    args.extend_from_slice(extra);
    args
}

fn one_error_line(out: &std::process::Output, expect: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("kubectl-secrets: ") && err.contains(expect),
        "{err}"
    );
    assert!(!err.contains(DB_PASSWORD), "leaked a value: {err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn sync_create_applies_exactly_the_given_fields() {
    let env = SyncEnv::start();
    let (_, err) = env.ok(&create_args(
        "db",
        "team",
        "app/db",
        &[
            "--property",
            "password",
            "--property",
            "conn.user",
            "--secret-key",
            "db-password",
            "--refresh",
            "15m",
            "--target",
            "db-secret",
            "--creation-policy",
            "Orphan",
        ],
    ));
    assert!(err.contains("externalsecret team/db applied"), "{err}");
    let es = env.es("team", "db").unwrap();
    assert_eq!(
        spec(&es),
        &json!({
            "secretStoreRef": {"name": "vault"},
            "refreshInterval": "15m",
            "target": {"name": "db-secret", "creationPolicy": "Orphan"},
            "data": [
                {"secretKey": "db-password", "remoteRef": {"key": "app/db", "property": "password"}},
                {"secretKey": "user", "remoteRef": {"key": "app/db", "property": "conn.user"}}
            ]
        })
    );
    let managers: Vec<&str> = es["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["manager"].as_str())
        .collect();
    assert_eq!(managers, ["kubectl-secrets"]);

    // No property: the whole secret; nothing but the store and the key is written.
    env.ok(&create_args("config", "team", "app/config", &[]));
    assert_eq!(
        spec(&env.es("team", "config").unwrap()),
        &json!({"secretStoreRef": {"name": "vault"}, "dataFrom": [{"extract": {"key": "app/config"}}]})
    );

    // An ExternalSecret of that name is not replaced unasked…
    let before = env.es("team", "db").unwrap();
    one_error_line(
        &env.run(&create_args("db", "team", "app/db", &[]), &[]),
        "externalsecret team/db already exists in context",
    );
    let err = stderr(&env.run(&create_args("db", "team", "app/db", &[]), &[]));
    assert!(err.contains("pass --overwrite to replace it"), "{err}");
    assert_eq!(spec(&env.es("team", "db").unwrap()), spec(&before));
    // …and with --overwrite it is (server-side apply, one manager).
    env.ok(&create_args("db", "team", "app/db", &["--overwrite"]));
    assert_eq!(
        spec(&env.es("team", "db").unwrap()),
        &json!({"secretStoreRef": {"name": "vault"}, "dataFrom": [{"extract": {"key": "app/db"}}]})
    );

    // A ClusterSecretStore is found cluster-wide and named with its kind.
    env.create(
        "",
        json!({"apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "ClusterSecretStore",
               "metadata": {"name": "shared"},
               "spec": {"provider": {"vault": {"server": env.bao.addr(),
                   "auth": {"tokenSecretRef": {"name": "t", "key": "token", "namespace": "team"}}}}}}),
    );
    env.ok(&[
        "sync",
        "create",
        "shared-db",
        "-n",
        "ops",
        "--store",
        "shared",
        "--store-kind",
        "ClusterSecretStore",
        "--key",
        "app/db",
        "--property",
        "user",
    ]);
    assert_eq!(
        spec(&env.es("ops", "shared-db").unwrap())["secretStoreRef"],
        json!({"name": "shared", "kind": "ClusterSecretStore"})
    );
}

#[test]
fn sync_create_refuses_a_store_that_is_not_there() {
    let env = SyncEnv::start();
    let args = [
        "sync", "create", "db", "-n", "team", "--store", "nope", "--key", "app/db",
    ];
    one_error_line(
        &env.run(&args, &[]),
        "SecretStore \"nope\" not found in namespace team",
    );
    let mut cluster_args = args.to_vec();
    cluster_args.extend(["--store-kind", "ClusterSecretStore"]);
    one_error_line(
        &env.run(&cluster_args, &[]),
        "ClusterSecretStore \"nope\" not found in the cluster",
    );
    assert!(env.es("team", "db").is_none(), "nothing may be applied");
}

#[test]
fn sync_create_output_is_the_manifest_without_defaults_and_applies_nothing() {
    let env = SyncEnv::start();
    let args = create_args("db", "team", "app/db", &["--property", "password"]);
    let expected = json!({
        "apiVersion": "kubectl-secrets.io/v1alpha1",
        "kind": "ExternalSecret",
        "metadata": {"name": "db", "namespace": "team"},
        "spec": {
            "secretStoreRef": {"name": "vault"},
            "data": [{"secretKey": "password", "remoteRef": {"key": "app/db", "property": "password"}}]
        }
    });
    // -o yaml needs no cluster at all.
    let yaml = common::ok(&[&args[..], &["-o", "yaml"]].concat(), None);
    assert!(yaml.starts_with("---\n"), "{yaml}");
    let parsed: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(parsed, expected);
    let es: ExternalSecret = serde_yaml_ng::from_str(&yaml).unwrap();
    assert!(secrets_core::sync::validate::external_secret(&es.spec).is_ok());

    let json_text = common::ok(&[&args[..], &["-o", "json"]].concat(), None);
    assert_eq!(serde_json::from_str::<Value>(&json_text).unwrap(), expected);

    let dry = common::ok(&[&args[..], &["--dry-run"]].concat(), None);
    assert_eq!(dry, yaml);

    let file = env.home_file("es.yaml");
    let (out, err) = env.ok(&[&args[..], &["--output-file", file.to_str().unwrap()]].concat());
    assert!(out.is_empty() && err.contains("wrote"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), yaml);
    assert!(env.es("team", "db").is_none(), "-o must not apply");
}

/// Writes the ExternalSecret's status whenever its force-sync annotation changes, as the agent
/// does: success records `synced_version` of the annotated object; failure only the condition.
fn status_writer(
    env: &SyncEnv,
    name: &'static str,
    succeed: bool,
) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let client = env.client.clone();
    let handle = env.rt.handle().clone();
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let api: Api<ExternalSecret> = Api::namespaced(client, "team");
        let mut seen: Option<String> = None;
        while !flag.load(Ordering::Relaxed) {
            let es = handle.block_on(api.get(name)).unwrap();
            let force = es
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(FORCE_SYNC))
                .cloned();
            if force.is_some() && force != seen {
                seen = force;
                let status = if succeed {
                    json!({"syncedResourceVersion": synced_version(&es),
                           "refreshTime": "2030-01-01T10:00:00Z",
                           "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced", "message": "secret updated"}]})
                } else {
                    json!({"conditions": [{"type": "Ready", "status": "False", "reason": "SecretSyncedError",
                           "message": "vault denied access to secret/data/app/db: permission denied"}]})
                };
                handle
                    .block_on(api.patch_status(
                        name,
                        &kube::api::PatchParams::default(),
                        &kube::api::Patch::Merge(json!({ "status": status })),
                    ))
                    .unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    (stop, thread)
}

fn force_sync_value(env: &SyncEnv, name: &str) -> Option<String> {
    env.es("team", name).unwrap()["metadata"]["annotations"][FORCE_SYNC]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn sync_now_asks_the_agent_and_reports_its_answer() {
    let env = SyncEnv::start();
    for name in ["db", "broken"] {
        env.ok(&create_args(name, "team", "app/db", &[]));
    }

    // Nobody answers: --wait=false returns at once, a short --timeout fails clearly.
    let (_, err) = env.ok(&["sync", "now", "db", "-n", "team", "--wait=false"]);
    assert!(
        err.contains(&format!(
            "asked the agent to sync externalsecret team/db ({FORCE_SYNC}="
        )),
        "{err}"
    );
    let first = force_sync_value(&env, "db").unwrap();
    assert!(
        first.parse::<u64>().unwrap() > 1_600_000_000_000,
        "milliseconds: {first}"
    );
    let out = env.run(&["sync", "now", "db", "-n", "team", "--timeout", "1s"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).lines().last().unwrap().starts_with(
            "kubectl-secrets: timed out after 1s waiting for the agent to sync externalsecret team/db"
        ),
        "{}",
        stderr(&out)
    );
    let second = force_sync_value(&env, "db").unwrap();
    assert_ne!(first, second, "every request is a new value");

    // The agent syncs: exit 0 with its Ready condition.
    let (stop, thread) = status_writer(&env, "db", true);
    let (out, _) = env.ok(&["sync", "now", "db", "-n", "team"]);
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    assert_eq!(
        out,
        "externalsecret team/db: Ready=True SecretSynced: secret updated\n"
    );
    let es = env.es("team", "db").unwrap();
    assert_ne!(force_sync_value(&env, "db").unwrap(), second);
    let synced: ExternalSecret = serde_json::from_value(es).unwrap();
    assert_eq!(
        synced.status.clone().unwrap().synced_resource_version,
        Some(synced_version(&synced))
    );

    // The agent fails: exit 1 with its reason and message.
    let (stop, thread) = status_writer(&env, "broken", false);
    let out = env.run(&["sync", "now", "broken", "-n", "team"], &[]);
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Ready=False SecretSyncedError: vault denied access"),
        "{}",
        stdout(&out)
    );

    one_error_line(
        &env.run(&["sync", "now", "missing", "-n", "team"], &[]),
        "reading externalsecret team/missing",
    );
}

#[test]
fn sync_status_shows_a_table_and_json() {
    let env = SyncEnv::start();
    env.ok(&create_args("db", "team", "app/db", &["--refresh", "1h"]));
    env.token_store("ops", "vault", env.bao.addr());
    env.ok(&create_args("once", "ops", "app/db", &["--refresh", "0"]));
    let now = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    let refreshed = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    env.set_status(
        "team",
        "db",
        json!({"refreshTime": refreshed, "observedGeneration": 1,
               "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced", "message": "secret created"}]}),
    );
    env.set_status(
        "ops",
        "once",
        json!({"observedGeneration": 1,
               "conditions": [{"type": "Ready", "status": "False", "reason": "SecretSyncedError",
                               "message": format!("SecretStore \"vault\" not found in namespace ops {}", "x".repeat(80))}]}),
    );

    let (table, _) = env.ok(&["sync", "status", "-n", "team"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    let header: Vec<&str> = lines[0]
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "NAME",
            "STORE",
            "READY",
            "REASON",
            "LAST SYNC",
            "NEXT REFRESH",
            "MESSAGE"
        ]
    );
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        cells[..4],
        ["db", "vault", "True", "SecretSynced"],
        "{table}"
    );
    assert!(cells[4] == "5m" || cells[4] == "300s", "{table}");
    assert_eq!(cells[5], "in", "{table}");
    assert!(lines[1].ends_with("secret created"), "{table}");

    let (all, _) = env.ok(&["sync", "status", "-A"]);
    let lines: Vec<&str> = all.lines().collect();
    assert!(lines[0].starts_with("NAMESPACE"), "{all}");
    let once = lines.iter().find(|l| l.starts_with("ops")).unwrap();
    let cells: Vec<&str> = once.split_whitespace().collect();
    assert_eq!(
        cells[..7],
        [
            "ops",
            "once",
            "vault",
            "False",
            "SecretSyncedError",
            "-",
            "-"
        ],
        "{all}"
    );
    assert!(once.ends_with('…') && once.chars().count() < 200, "{once}");

    let (json_text, _) = env.ok(&["sync", "status", "-A", "-o", "json"]);
    let rows: Value = serde_json::from_str(&json_text).unwrap();
    let db = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "db")
        .unwrap();
    assert_eq!(db["namespace"], "team");
    assert_eq!(db["store"], "vault");
    assert_eq!(db["storeKind"], "SecretStore");
    assert_eq!(db["ready"], "True");
    assert_eq!(db["lastSync"], refreshed.as_str());
    assert!(db["nextRefresh"].as_str().unwrap() > refreshed.as_str());
    let (one, _) = env.ok(&["sync", "status", "once", "-n", "ops", "-o", "yaml"]);
    let one: Value = serde_yaml_ng::from_str(&one).unwrap();
    assert_eq!(one["nextRefresh"], Value::Null);
    assert_eq!(one["reason"], "SecretSyncedError");
}

#[test]
fn fetch_remote_masks_values_unless_revealed() {
    let env = SyncEnv::start();
    let base = [
        "fetch", "remote", "-n", "team", "--store", "vault", "--key", "app/db",
    ];
    let (out, err) = env.ok(&base);
    assert_eq!(
        out,
        "KEY           SIZE\npassword       17B\nuser            3B\n"
    );
    assert!(
        err.contains("SecretStore team/vault at http://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("your token from VAULT_TOKEN"), "{err}");
    assert!(!out.contains(DB_PASSWORD) && !err.contains(DB_PASSWORD));

    let (out, err) = env.ok(&[&base[..], &["--reveal"]].concat());
    assert!(
        out.contains(&format!("password       17B  {DB_PASSWORD}")),
        "{out}"
    );
    assert!(err.contains("warning: the output holds plaintext"), "{err}");

    let (out, err) = env.ok(&[&base[..], &["--property", "password"]].concat());
    assert_eq!(out, "password\t17 bytes\n");
    assert!(!err.contains("warning"));
    let (out, err) = env.ok(&[&base[..], &["--property", "password", "--reveal"]].concat());
    assert_eq!(out, DB_PASSWORD);
    assert!(err.contains("warning: printing a secret value"), "{err}");

    one_error_line(
        &env.run(
            &[&base[..], &["--property", "nope"]].concat(),
            &[("VAULT_TOKEN", &env.person_token)],
        ),
        "property \"nope\" not found in vault secret secret/data/app/db",
    );
    one_error_line(
        &env.run(
            &[
                "fetch",
                "remote",
                "-n",
                "team",
                "--store",
                "vault",
                "--key",
                "app/missing",
            ],
            &[("VAULT_TOKEN", &env.person_token)],
        ),
        "vault has no secret at secret/data/app/missing",
    );
}

#[test]
fn fetch_remote_uses_only_the_persons_own_token() {
    let env = SyncEnv::start();
    let args = [
        "fetch", "remote", "-n", "team", "--store", "vault", "--key", "app/db",
    ];
    // The store's own token (root, in team/vault-token) is never borrowed.
    one_error_line(&env.run(&args, &[]), "no vault token of yours");

    // ~/.vault-token, as `bao login` leaves it.
    std::fs::write(
        env.home_file(".vault-token"),
        format!("{}\n", env.person_token),
    )
    .unwrap();
    let out = env.run(&args, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(".vault-token"), "{}", stderr(&out));

    // VAULT_TOKEN wins over the file: a bad one fails even with a good file.
    one_error_line(
        &env.run(&args, &[("VAULT_TOKEN", "not-a-real-token")]),
        "checking your vault token (from VAULT_TOKEN)",
    );
    assert!(
        !stderr(&env.run(&args, &[("VAULT_TOKEN", "not-a-real-token")]))
            .contains("not-a-real-token")
    );
    std::fs::remove_file(env.home_file(".vault-token")).unwrap();

    // BAO_TOKEN works too.
    let out = env.run(&args, &[("BAO_TOKEN", &env.person_token)]);
    assert!(out.status.success(), "{}", stderr(&out));

    // What the person's policy does not allow is refused by Vault, not read with the store's.
    env.bao.write_policy(
        "narrow",
        r#"path "secret/data/other" { capabilities = ["read"] }"#,
    );
    let narrow = env.bao.create_token(&["narrow"]);
    one_error_line(
        &env.run(&args, &[("VAULT_TOKEN", &narrow)]),
        "vault denied access to secret/data/app/db",
    );

    // An unreachable store server suggests --vault-addr; --vault-addr reaches the real one.
    let unreachable = ["--vault-addr", "http://127.0.0.1:1"];
    one_error_line(
        &env.run(
            &[&args[..], &unreachable].concat(),
            &[("VAULT_TOKEN", &env.person_token)],
        ),
        "cannot reach vault at http://127.0.0.1:1",
    );
    // The store's CA comes from the cluster; a missing one is named.
    env.create(
        "team",
        json!({"apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "SecretStore",
               "metadata": {"name": "with-ca", "namespace": "team"},
               "spec": {"provider": {"vault": {"server": env.bao.addr(),
                   "caProvider": {"type": "ConfigMap", "name": "vault-ca", "key": "ca.crt"},
                   "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}}}}),
    );
    one_error_line(
        &env.run(
            &[
                "fetch", "remote", "-n", "team", "--store", "with-ca", "--key", "app/db",
            ],
            &[("VAULT_TOKEN", &env.person_token)],
        ),
        "reading the CA of SecretStore team/with-ca (team/vault-ca key ca.crt)",
    );
    env.token_store("team", "in-cluster", "http://127.0.0.1:1");
    let in_cluster = [
        "fetch",
        "remote",
        "-n",
        "team",
        "--store",
        "in-cluster",
        "--key",
        "app/db",
    ];
    one_error_line(
        &env.run(&in_cluster, &[("VAULT_TOKEN", &env.person_token)]),
        "pass --vault-addr URL",
    );
    let out = env.run(
        &[&in_cluster[..], &["--vault-addr", env.bao.addr()]].concat(),
        &[("VAULT_TOKEN", &env.person_token)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

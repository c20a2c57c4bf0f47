//! The sync pattern with the real binaries: `kubectl secrets sync create` makes an
//! ExternalSecret the real agent syncs from a real OpenBao; after a change in Vault,
//! `sync now` returns once the agent has written the new value and reports Ready; `sync
//! status` shows the agent's answer; a path that does not exist fails `sync now` with exit 1
//! and the agent's reason; `fetch remote` reads with the person's own token.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use std::process::{Command, Output};

use common::plugin;
use common::sync::{SyncEnv, sync_env};
use serde_json::json;

const FIRST: &str = "pw-plugin-first-7c1d";
const SECOND: &str = "pw-plugin-second-22ab";

/// The plugin against this cluster, with a private HOME and only the environment given.
fn run(env: &SyncEnv, home: &std::path::Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(plugin());
    command
        .args(args)
        .env_clear()
        .env("KUBECONFIG", env.cluster.kubeconfig())
        .env("HOME", home);
    for (key, value) in vars {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_sync_commands_drive_the_real_agent() {
    let env = sync_env(&[]).await;
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| run(&env, home.path(), args, &[]);
    env.bao.kv2_put(
        "secret",
        "app/db",
        json!({"password": FIRST, "user": "app"}),
    );

    let out = run(&[
        "sync",
        "create",
        "db",
        "-n",
        "team",
        "--store",
        "vault",
        "--key",
        "app/db",
        "--property",
        "password",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    env.wait_value("team", "db", "password", FIRST).await;
    env.es_ready("team", "db", true).await;

    // A new value in Vault: `sync now` returns after the agent wrote it.
    env.bao.kv2_put(
        "secret",
        "app/db",
        json!({"password": SECOND, "user": "app"}),
    );
    let out = run(&["sync", "now", "db", "-n", "team"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "externalsecret team/db: Ready=True SecretSynced: secret updated\n"
    );
    let data = env.data("team", "db").await.unwrap();
    assert_eq!(
        data["password"], SECOND,
        "sync now returned before the write"
    );

    let out = run(&["sync", "status", "-n", "team"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..4], ["db", "vault", "True", "SecretSynced"], "{table}");

    // A path that is not in Vault: the agent says so, `sync now` exits 1 with its words.
    let out = run(&[
        "sync", "create", "gone", "-n", "team", "--store", "vault", "--key", "app/gone",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    env.es_ready("team", "gone", false).await;
    let out = run(&["sync", "now", "gone", "-n", "team", "--timeout", "3s"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.starts_with("externalsecret team/gone: Ready=False SecretSyncedError: ")
            && said.contains("app/gone"),
        "{said}"
    );

    // fetch remote with the person's own token, masked.
    let person = env.bao.create_token(&["reader"]);
    let out = crate::run(
        &env,
        home.path(),
        &[
            "fetch", "remote", "-n", "team", "--store", "vault", "--key", "app/db",
        ],
        &[("VAULT_TOKEN", &person)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("password") && shown.contains("21B"),
        "{shown}"
    );
    assert!(!shown.contains(SECOND) && !text(&out.stderr).contains(SECOND));
}

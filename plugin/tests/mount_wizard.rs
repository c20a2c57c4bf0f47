//! The `mount` wizard, driven for real through a pseudo-terminal against kube-standin and a
//! real OpenBao: a person picks the workload, its containers, the store, browses the mount with
//! their own token, picks keys and file names, and the SecretProviderClass and pod template
//! land with exactly those choices; or mixes a mount-only SealedSecret with a whole remote
//! secret and only prints; values are never on the screen.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::collections::BTreeMap;

use common::mount::{MountEnv, pod};
use common::{Screen, pty};
use rexpect::session::PtySession;
use secrets_core::mount::params::{MountSpec, ObjectSource};
use serde_json::{Value, json};

const DOWN: &str = "\x1b[B";

fn spawn(m: &MountEnv, args: &[&str]) -> PtySession {
    pty(m.env.command(
        args,
        &[
            ("VAULT_TOKEN", &m.env.person_token),
            ("VAULT_ADDR", m.env.bao.addr()),
        ],
    ))
}

fn spec_of(spc: &Value) -> MountSpec {
    let parameters: BTreeMap<String, String> =
        serde_json::from_value(spc["spec"]["parameters"].clone()).unwrap();
    MountSpec::from_parameters(&parameters).unwrap()
}

#[test]
fn wizard_browses_the_store_and_applies_the_chosen_keys() {
    let m = MountEnv::start();
    let mut p = spawn(&m, &["mount", "-n", "team"]);
    let mut s = Screen(String::new());
    s.answer(&mut p, "Namespace", "");
    s.expect(&mut p, "deployment/web");
    p.send_line("").unwrap();
    s.expect(&mut p, "Containers to mount into");
    s.expect(&mut p, "sidecar");
    p.send(DOWN).unwrap();
    p.send(" ").unwrap(); // untick sidecar
    p.send_line("").unwrap();
    s.expect(&mut p, "Read from");
    s.expect(&mut p, "SecretStore team/vault");
    p.send_line("").unwrap();
    s.expect(&mut p, "Secret in secret/");
    s.expect(&mut p, "other");
    p.send_line("").unwrap(); // app/
    s.expect(&mut p, "Secret in secret/app/");
    s.expect(&mut p, "db");
    p.send(DOWN).unwrap(); // .. (up) → config
    p.send(DOWN).unwrap(); // → db
    p.send_line("").unwrap();
    s.answer(&mut p, "What to mount", ""); // some keys
    s.expect(&mut p, "Keys to mount");
    s.expect(&mut p, "user");
    p.send(" ").unwrap(); // password
    p.send_line("").unwrap();
    s.answer(&mut p, "File for password", "db/pw");
    s.expect(&mut p, "Add files from another secret?");
    p.send("n").unwrap();
    p.flush().unwrap();
    s.answer(&mut p, "SecretProviderClass name", "");
    s.answer(&mut p, "Mount path in the containers", "/etc/app");
    s.expect(&mut p, "About to apply");
    s.expect(&mut p, "db/pw <- app/db property password (mode 0644)");
    s.expect(&mut p, "containers           app");
    s.expect(&mut p, "Apply to the cluster?");
    p.send("y").unwrap();
    p.flush().unwrap();
    s.end(&mut p);
    assert!(
        s.0.contains("secretproviderclass team/web-secrets applied"),
        "{}",
        s.0
    );

    let spec = spec_of(&m.get("spc", "team", "web-secrets").unwrap());
    assert_eq!(spec.store.unwrap().name, "vault");
    assert_eq!(spec.objects.len(), 1);
    assert_eq!(spec.objects[0].path, "db/pw");
    let web = m.get("deployment", "team", "web").unwrap();
    assert_eq!(
        pod(&web)["containers"][0]["volumeMounts"][1],
        json!({"name": "secrets-web-secrets", "mountPath": "/etc/app", "readOnly": true})
    );
    assert!(pod(&web)["containers"][1].get("volumeMounts").is_none());
}

#[test]
fn wizard_mixes_a_sealed_secret_and_a_whole_secret_and_only_prints() {
    let m = MountEnv::start();
    m.sealed_secret("team", "db", &["password", "user"], true);
    m.sealed_secret("team", "not-mountable", &["k"], false);
    let mut p = spawn(&m, &["mount", "-n", "team", "--dry-run"]);
    let mut s = Screen(String::new());
    s.answer(&mut p, "Namespace", "");
    s.answer(&mut p, "Workload", "");
    s.answer(&mut p, "Containers to mount into", "");
    s.expect(&mut p, "Read from");
    s.expect(&mut p, "SealedSecret team/db (mount-only, 2 keys)");
    p.send(DOWN).unwrap();
    p.send_line("").unwrap();
    s.expect(&mut p, "Keys to mount");
    s.expect(&mut p, "user");
    p.send(DOWN).unwrap();
    p.send(" ").unwrap(); // user
    p.send_line("").unwrap();
    s.answer(&mut p, "File for user", "");
    s.expect(&mut p, "Add files from another secret?");
    p.send("y").unwrap();
    p.flush().unwrap();
    s.answer(&mut p, "Read from", ""); // the store
    s.expect(&mut p, "Secret in secret/");
    p.send_line("").unwrap(); // app/
    s.expect(&mut p, "Secret in secret/app/");
    s.expect(&mut p, "db");
    p.send(DOWN).unwrap(); // config
    p.send_line("").unwrap();
    s.expect(&mut p, "What to mount");
    p.send(DOWN).unwrap(); // the whole secret
    p.send_line("").unwrap();
    s.answer(&mut p, "File for the whole of app/config", "config.json");
    s.expect(&mut p, "Add files from another secret?");
    p.send("n").unwrap();
    p.flush().unwrap();
    s.answer(&mut p, "SecretProviderClass name", "mixed");
    s.answer(&mut p, "Mount path in the containers", "");
    s.expect(&mut p, "About to write");
    s.expect(&mut p, "user <- sealedsecret db key user");
    s.expect(&mut p, "config.json <- app/config (whole secret as JSON)");
    s.expect(&mut p, "Write the manifests?");
    p.send("y").unwrap();
    p.flush().unwrap();
    s.end(&mut p);
    assert!(
        !s.0.contains("not-mountable"),
        "only mount-only SealedSecrets are offered"
    );
    assert!(
        s.0.contains("kind: SecretProviderClass") && s.0.contains("kind: Deployment"),
        "{}",
        s.0
    );
    assert!(
        m.get("spc", "team", "mixed").is_none(),
        "a dry run writes nothing"
    );
    let yaml_start = s.0.find("---").unwrap();
    let spc_doc = s.0[yaml_start..]
        .split("---")
        .nth(1)
        .unwrap()
        .replace("\r\n", "\n");
    let spc: Value = serde_yaml_ng::from_str(&spc_doc).unwrap();
    let spec = spec_of(&spc);
    assert!(
        matches!(&spec.objects[0].source, ObjectSource::SealedSecret { name, key } if name == "db" && key == "user")
    );
    assert!(
        matches!(&spec.objects[1].source, ObjectSource::Remote { key, property: None, .. } if key == "app/config")
    );
}

#[test]
fn yes_never_prompts_even_at_a_terminal() {
    let m = MountEnv::start();
    let mut p = spawn(&m, &["mount", "-n", "team", "--yes"]);
    let rest = p.exp_eof().unwrap();
    assert!(
        rest.contains("kubectl-secrets: `mount` alone is a wizard for a person at a terminal: pass `mount KIND/NAME"),
        "{rest}"
    );
    assert!(!rest.contains("Namespace"));
}

//! The `seal` wizard, driven for real through a pseudo-terminal: a person types the answers,
//! values are hidden, the summary shows no value, and the result unseals to what was typed.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::process::Command;

use common::*;
use rexpect::session::PtySession;

const DOWN: &str = "\x1b[B";

fn spawn(args: &[&str]) -> PtySession {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBECTL_SECRETS_CERT");
    pty(command)
}

#[test]
fn wizard_asks_hides_values_and_seals() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sealed.yaml");
    let mut p = spawn(&[
        "seal",
        "--cert",
        s(&keys().cert),
        "-n",
        "team-a",
        "--output-file",
        s(&out),
    ]);
    let mut screen = String::new();
    let mut expect = |p: &mut PtySession, text: &str| {
        let seen = p
            .exp_string(text)
            .unwrap_or_else(|e| panic!("waiting for {text:?}: {e}"));
        screen.push_str(&seen);
        screen.push_str(text);
    };
    expect(&mut p, "Secret name");
    p.send_line("db-creds").unwrap();
    expect(&mut p, "Namespace");
    p.send_line("").unwrap(); // accept the -n default
    expect(&mut p, "Secret type");
    p.send(DOWN).unwrap(); // Opaque → kubernetes.io/basic-auth
    p.send_line("").unwrap();
    expect(&mut p, "Scope");
    p.send_line("").unwrap(); // strict
    expect(&mut p, "Key");
    p.send_line("username").unwrap();
    expect(&mut p, "Value of username");
    p.send_line("admin-user").unwrap();
    expect(&mut p, "Next key");
    p.send_line("password").unwrap();
    expect(&mut p, "Value of password");
    p.send_line("hunter2-typed").unwrap();
    expect(&mut p, "Next key");
    p.send_line("").unwrap();
    expect(&mut p, "About to seal");
    expect(&mut p, "password (13 bytes)");
    expect(&mut p, "Seal it?");
    p.send("y").unwrap();
    p.flush().unwrap();
    screen.push_str(&p.exp_eof().unwrap());

    assert!(
        !screen.contains("hunter2-typed") && !screen.contains("admin-user"),
        "a value was echoed:\n{screen}"
    );
    assert!(
        screen.contains("kubernetes.io/basic-auth") && screen.contains("team-a"),
        "{screen}"
    );
    let sealed = std::fs::read_to_string(&out).unwrap();
    assert!(sealed.contains("name: db-creds") && sealed.contains("namespace: team-a"));
    assert!(sealed.contains("type: kubernetes.io/basic-auth"));
    let data = unseal_data(&sealed);
    assert_eq!(data["username"], b"admin-user");
    assert_eq!(data["password"], b"hunter2-typed");
}

#[test]
fn yes_never_prompts_even_at_a_terminal() {
    let mut p = spawn(&["seal", "--cert", s(&keys().cert), "--yes"]);
    let rest = p.exp_eof().unwrap();
    assert!(
        rest.contains("kubectl-secrets: no data to seal: pass -f FILE"),
        "{rest}"
    );
    assert!(!rest.contains("Secret name"));
}

#[test]
fn declining_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sealed.yaml");
    let mut p = spawn(&[
        "seal",
        "--cert",
        s(&keys().cert),
        "--name",
        "x",
        "-n",
        "ns",
        "--type",
        "Opaque",
        "--scope",
        "strict",
        "--output-file",
        s(&out),
    ]);
    p.exp_string("Secret name").unwrap();
    p.send_line("").unwrap(); // keep --name
    p.exp_string("Namespace").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Key").unwrap();
    p.send_line("k").unwrap();
    p.exp_string("Value of k").unwrap();
    p.send_line("v").unwrap();
    p.exp_string("Next key").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Seal it?").unwrap();
    p.send("n").unwrap();
    p.flush().unwrap();
    let rest = p.exp_eof().unwrap();
    assert!(rest.contains("cancelled: nothing was written"), "{rest}");
    assert!(!out.exists());
}

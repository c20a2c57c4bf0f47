//! The OpenBao harness against the real `bao` dev server: start-up, KV v2, policies and
//! tokens, KV v1 and AppRole set-up, TLS, stop/restart, and clean-up on drop. Each test starts
//! its own server, so they run in parallel.

use std::path::Path;
use std::time::Instant;

use serde_json::json;
use test_support::OpenBao;

#[test]
fn dev_server_starts_unsealed_and_reports_its_version() {
    let started = Instant::now();
    let bao = OpenBao::start_dev();
    // Printed for the start-up timings in reports (`cargo test -- --nocapture`).
    println!("bao dev server ready in {:?}", started.elapsed());
    assert!(bao.addr().starts_with("http://127.0.0.1:"));
    assert!(bao.root_token().starts_with("test-root-"));

    let health = bao.read("sys/health").expect("health answers");
    assert_eq!(health["initialized"], json!(true));
    assert_eq!(health["sealed"], json!(false));
    assert!(
        health["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("2.7.")),
        "unexpected bao version {}",
        health["version"]
    );
}

#[test]
fn two_servers_get_distinct_ports_and_tokens() {
    let first = OpenBao::start_dev();
    let second = OpenBao::start_dev();
    assert_ne!(first.addr(), second.addr());
    assert_ne!(first.root_token(), second.root_token());
    // Each token is only valid on its own server.
    let cross = second.request(
        "GET",
        "auth/token/lookup-self",
        Some(first.root_token()),
        None,
    );
    assert_eq!(cross.status, 403, "{}", cross.error_text());
}

#[test]
fn kv2_put_and_read_round_trip_with_versions() {
    let bao = OpenBao::start_dev();
    let first = json!({ "username": "app", "password": "first-value" });
    let second = json!({ "username": "app", "password": "second-value", "note": "ünïcode ✓" });

    assert_eq!(bao.kv2_put("secret", "myapp/db", first.clone()), 1);
    assert_eq!(bao.kv2_read("secret", "myapp/db"), Some(first.clone()));
    assert_eq!(bao.kv2_put("/secret/", "/myapp/db", second.clone()), 2);
    assert_eq!(bao.kv2_read("secret", "myapp/db"), Some(second));

    let old = bao
        .read("secret/data/myapp/db?version=1")
        .expect("version 1 is kept");
    assert_eq!(old["data"]["data"], first);
    assert_eq!(bao.kv2_read("secret", "myapp/missing"), None);

    let listing = bao
        .read("secret/metadata/myapp?list=true")
        .expect("the folder lists");
    assert_eq!(listing["data"]["keys"], json!(["db"]));
}

#[test]
fn policy_scoped_token_reads_only_what_it_is_granted() {
    let bao = OpenBao::start_dev();
    bao.kv2_put("secret", "team-a/api", json!({ "key": "a" }));
    bao.kv2_put("secret", "team-b/api", json!({ "key": "b" }));
    bao.write_policy(
        "team-a-read",
        r#"path "secret/data/team-a/*" { capabilities = ["read"] }"#,
    );
    let token = bao.create_token(&["team-a-read"]);

    let allowed = bao.request("GET", "secret/data/team-a/api", Some(&token), None);
    assert_eq!(allowed.status, 200, "{}", allowed.error_text());
    assert_eq!(allowed.body["data"]["data"], json!({ "key": "a" }));

    let denied = bao.request("GET", "secret/data/team-b/api", Some(&token), None);
    assert_eq!(denied.status, 403);
    assert!(denied.error_text().contains("permission denied"));

    let write = bao.request(
        "POST",
        "secret/data/team-a/api",
        Some(&token),
        Some(&json!({ "data": { "key": "changed" } })),
    );
    assert_eq!(write.status, 403, "a read-only policy must not write");

    let me = bao.request("GET", "auth/token/lookup-self", Some(&token), None);
    assert_eq!(
        me.body["data"]["policies"],
        json!(["default", "team-a-read"])
    );
}

#[test]
fn write_failure_panics_with_bao_error_but_not_the_body() {
    let bao = OpenBao::start_dev();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        bao.write(
            "no-such-mount/data/x",
            json!({ "data": { "password": "do-not-print-me" } }),
        )
    }));
    let payload = outcome.expect_err("writing to a missing mount must panic");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.starts_with("bao POST no-such-mount/data/x: HTTP 404"),
        "{message}"
    );
    assert!(!message.contains("do-not-print-me"), "{message}");
}

#[test]
fn server_is_killed_and_reaped_on_drop() {
    let bao = OpenBao::start_dev();
    let pid = bao.pid();
    let proc_entry = format!("/proc/{pid}");
    assert!(Path::new(&proc_entry).exists());
    // The launcher execs the real server binary, so this pid is bao itself.
    let exe = std::fs::read_link(format!("{proc_entry}/exe")).expect("reading the server's exe");
    assert_eq!(exe.file_name().and_then(|n| n.to_str()), Some("bao"));
    let addr = bao.addr().to_owned();

    drop(bao);

    // `wait` in Drop has reaped it, so the pid is gone at once: no zombie, no polling needed.
    assert!(
        !Path::new(&proc_entry).exists(),
        "bao (pid {pid}) still present after drop"
    );
    let port = addr.rsplit(':').next().expect("the address has a port");
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
        "something still listens on the dropped server's port"
    );
}

#[test]
fn stop_frees_the_port_and_restart_brings_an_empty_server_back() {
    let mut bao = OpenBao::start_dev();
    bao.kv2_put("secret", "app", json!({ "k": "v" }));
    let addr = bao.addr().to_owned();
    let token = bao.root_token().to_owned();
    let port = addr.rsplit(':').next().expect("the address has a port");

    bao.stop();
    bao.stop();
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
        "something still listens on the stopped server's port"
    );

    bao.restart();
    assert_eq!(bao.addr(), addr);
    assert_eq!(bao.root_token(), token);
    assert_eq!(
        bao.kv2_read("secret", "app"),
        None,
        "dev servers start empty"
    );
    bao.kv2_put("secret", "app", json!({ "k": "again" }));
    assert_eq!(bao.kv2_read("secret", "app"), Some(json!({ "k": "again" })));
}

#[test]
fn tls_dev_server_is_spoken_to_with_its_own_ca() {
    let bao = OpenBao::start_dev_tls();
    assert!(bao.addr().starts_with("https://127.0.0.1:"));
    let ca = bao.ca_pem().expect("a TLS server has a CA");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    // The helpers work over TLS, trusting that CA.
    bao.kv2_put("secret", "app", json!({ "k": "v" }));
    assert_eq!(bao.kv2_read("secret", "app"), Some(json!({ "k": "v" })));
    assert_eq!(OpenBao::start_dev().ca_pem(), None);
}

#[test]
fn kv1_mounts_and_approle_credentials() {
    let bao = OpenBao::start_dev();
    bao.enable_kv("kv1", 1);
    bao.write("kv1/app", json!({ "k": "v" }));
    assert_eq!(
        bao.read("kv1/app").expect("written")["data"],
        json!({ "k": "v" })
    );

    bao.enable_auth("approle", "approle");
    let (role_id, secret_id) = bao.approle_credentials("approle", "app", &["default"]);
    let login = bao.request(
        "POST",
        "auth/approle/login",
        None,
        Some(&json!({ "role_id": role_id, "secret_id": secret_id })),
    );
    assert!(login.is_success(), "{}", login.error_text());
    assert!(login.body["auth"]["client_token"].is_string());
}

//! The online commands, end to end: the built binary against kube-standin, with a fake agent
//! behind the stand-in's service proxy (`common::fake_agent`).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::fake_agent::{AGENT_NS, FakeAgent};
use common::*;
use secrets_core::seal::keys::{KeyEntry, KeyList, KeyOrigin, SecretRef, parse_private_keys};

/// A stand-in cluster, optionally with the fake agent, and a private cache directory.
struct Env {
    cluster: test_support::Cluster,
    agent: Option<FakeAgent>,
    dir: tempfile::TempDir,
}

impl Env {
    fn new(with_agent: bool) -> Env {
        let cluster = test_support::Cluster::start();
        let agent = with_agent.then(|| {
            let older = parse_private_keys(&std::fs::read(&keys().key).unwrap()).unwrap();
            let agent = FakeAgent::start(older);
            agent.register(&cluster);
            agent
        });
        Env {
            cluster,
            agent,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn agent(&self) -> &FakeAgent {
        self.agent.as_ref().unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        s(&path).to_owned()
    }

    fn run(&self, args: &[&str]) -> Output {
        let cache = self.path("cache");
        run_env(
            args,
            None,
            &[
                ("KUBECONFIG", s(self.cluster.kubeconfig())),
                ("XDG_CACHE_HOME", s(&cache)),
            ],
        )
    }

    fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl-secrets {args:?} failed: {}",
            stderr(&out)
        );
        (stdout(&out), stderr(&out))
    }

    /// The fake agent's newest private key and certificate, as files.
    fn newest_files(&self) -> (String, String) {
        let key = self.write("newest-key.pem", &self.agent().newest.key_pem);
        let cert = self.write("newest-cert.pem", self.agent().newest.certificate.pem());
        (key, cert)
    }

    fn store_create(
        &self,
        plural: &str,
        group: &str,
        version: &str,
        ns: Option<&str>,
        body: serde_json::Value,
    ) {
        let store = self.cluster.standin().store();
        let def = store.def(group, version, plural).unwrap();
        store.create(&def, ns, body).unwrap();
    }

    fn store_get(&self, plural: &str, ns: &str, name: &str) -> serde_json::Value {
        let store = self.cluster.standin().store();
        let def = store.def("", "v1", plural).unwrap();
        store.get(&def, Some(ns), name).unwrap()
    }
}

/// Seal `password=<value>` as `ns/<name>` to `cert`.
fn sealed_to(cert: &str, name: &str, value: &str, extra: &[&str]) -> String {
    let literal = format!("password={value}");
    let mut args = vec![
        "seal",
        "--from-literal",
        &literal,
        "--name",
        name,
        "-n",
        "ns",
        "--cert",
        cert,
    ];
    args.extend_from_slice(extra);
    ok(&args, None)
}

fn unseal_with(key: &str, file: &str) -> Output {
    run(
        &["unseal", "-f", file, "--private-key", key, "-o", "json"],
        None,
    )
}

#[test]
fn seal_fetches_the_agent_certificate_and_falls_back_to_the_cache() {
    let env = Env::new(true);
    let out = env.run(&[
        "seal",
        "--from-literal",
        "password=hunter2",
        "--name",
        "db",
        "-n",
        "ns",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let fingerprint = env.agent().newest.certificate.public_key().fingerprint();
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "using certificate {fingerprint} from {AGENT_NS}/secrets-agent (fetched)"
        )),
        "{err}"
    );
    assert!(!err.contains("hunter2"));
    let file = env.write("sealed.yaml", &stdout(&out));
    let (key, _) = env.newest_files();
    assert!(unseal_with(&key, &file).status.success());
    assert!(env.agent().seen().contains(&"GET /v1/cert.pem".to_owned()));

    // The agent loses its key (503): the cached certificate is used, and said so.
    env.agent().behaviour.lock().unwrap().no_key = true;
    let out = env.run(&["seal", "--from-literal", "k=v", "--name", "db", "-n", "ns"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("503"), "{err}");
    assert!(
        err.contains(&format!("using certificate {fingerprint}")) && err.contains("(cached"),
        "{err}"
    );

    // Another agent name is another cache entry: nothing cached, so --cert is named.
    let out = env.run(&[
        "seal",
        "--from-literal",
        "k=v",
        "--name",
        "db",
        "-n",
        "ns",
        "--agent-service",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("kubectl-secrets: no sealing certificate (pass --cert"),
        "{err}"
    );
    assert!(err.contains("kubectl-secrets/nope"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn no_agent_fails_naming_the_agent_and_the_context() {
    let env = Env::new(false);
    let out = env.run(&["seal", "--from-literal", "k=v", "--name", "db", "-n", "ns"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no sealing certificate (pass --cert PATH|URL"),
        "{err}"
    );
    assert!(err.contains("kubectl-secrets/secrets-agent"), "{err}");
    assert!(err.contains("context \"standin\""), "{err}");
    let out = env.run(&["fetch", "cert"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("reaching the agent"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fetch_cert_prints_or_writes_the_pem() {
    let env = Env::new(true);
    let pem = env.agent().newest.certificate.pem().to_owned();
    let (out, err) = env.ok(&["fetch", "cert"]);
    assert_eq!(out, pem);
    assert!(err.contains("SHA256:"), "{err}");
    let target = env.path("cert.pem");
    let (out, _) = env.ok(&["fetch", "cert", "--output-file", s(&target)]);
    assert!(out.is_empty());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), pem);
}

#[test]
fn verify_reports_each_file_and_exits_1_on_any_failure() {
    let env = Env::new(true);
    let (_, cert) = env.newest_files();
    let good = env.write("good.yaml", &sealed_to(&cert, "db", "hunter2", &[]));
    // The agent also holds the shared test key, but not the other one.
    let old = env.write(
        "old.yaml",
        &sealed_to(s(&keys().cert), "db", "hunter2", &[]),
    );
    let bad = env.write(
        "bad.yaml",
        &sealed_to(s(&other_keys().cert), "db", "hunter2", &[]),
    );
    let (out, _) = env.ok(&["verify", &good, &old]);
    assert_eq!(out, format!("{good}: ok\n{old}: ok\n"));

    let out = env.run(&["verify", &good, &bad]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("{good}: ok")), "{text}");
    assert!(
        text.contains(&format!("{bad}: cannot be opened: ")),
        "{text}"
    );
    assert!(!text.contains("hunter2"));

    // Multi-document: one line per object.
    let multi = env.write(
        "multi.yaml",
        &format!(
            "{}{}",
            sealed_to(&cert, "a", "x", &[]),
            sealed_to(&cert, "b", "y", &[])
        ),
    );
    let (out, _) = env.ok(&["verify", &multi]);
    assert_eq!(out, format!("{multi}: ns/a: ok\n{multi}: ns/b: ok\n"));
}

#[test]
fn verify_waits_out_rate_limiting() {
    let env = Env::new(true);
    let (_, cert) = env.newest_files();
    let good = env.write("good.yaml", &sealed_to(&cert, "db", "v", &[]));
    env.agent().behaviour.lock().unwrap().throttle = 2;
    let (out, err) = env.ok(&["verify", &good]);
    assert_eq!(out, format!("{good}: ok\n"));
    assert!(err.contains("rate-limiting; retrying in 1s"), "{err}");
    let posts = env
        .agent()
        .seen()
        .iter()
        .filter(|r| r.starts_with("POST"))
        .count();
    assert_eq!(posts, 3);
}

#[test]
fn reseal_online_rewrites_files_in_place_keeping_format_and_flavor() {
    let env = Env::new(true);
    let old_cert = s(&keys().cert).to_owned();
    let yaml = env.write("a.yaml", &sealed_to(&old_cert, "a", "one", &[]));
    let json_multi = format!(
        "{}{}",
        sealed_to(&old_cert, "b", "two", &["-o", "json"]),
        sealed_to(
            &old_cert,
            "c",
            "three",
            &["-o", "json", "--format", "bitnami"]
        )
    );
    let json = env.write("b.json", &json_multi);
    let foreign_text = sealed_to(s(&other_keys().cert), "d", "four", &[]);
    let foreign = env.write("d.yaml", &foreign_text);

    let out = env.run(&["reseal", &yaml, &json, &foreign]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("resealed {yaml} (1 object(s))")),
        "{err}"
    );
    assert!(
        err.contains(&format!("resealed {json} (2 object(s))")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{foreign}: not resealed, left untouched")),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&foreign).unwrap(), foreign_text);

    // Only the agent's newest key opens them now; the old one does not.
    let (key, _) = env.newest_files();
    for file in [&yaml, &json] {
        let opened = unseal_with(&key, file);
        assert!(opened.status.success(), "{file}: {}", stderr(&opened));
        assert!(!unseal_with(s(&keys().key), file).status.success());
    }
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(
        text.trim_start().starts_with('{'),
        "JSON stays JSON: {text}"
    );
    assert!(
        text.contains("\"bitnami.com/v1alpha1\"")
            && text.contains("\"kubectl-secrets.io/v1alpha1\"")
    );
    assert!(
        std::fs::read_to_string(&yaml)
            .unwrap()
            .contains("apiVersion: kubectl-secrets.io/v1alpha1")
    );
}

#[test]
fn reseal_offline_with_private_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(&file, sealed_to(s(&keys().cert), "db", "hunter2", &[])).unwrap();
    let (_, err) = {
        let out = run(
            &[
                "reseal",
                s(&file),
                "--private-key",
                s(&keys().key),
                "--cert",
                s(&other_keys().cert),
            ],
            None,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        (stdout(&out), stderr(&out))
    };
    assert!(err.contains("resealed"), "{err}");
    assert!(unseal_with(s(&other_keys().key), s(&file)).status.success());
    assert!(!unseal_with(s(&keys().key), s(&file)).status.success());
}

/// What an agent reports in `GET /v1/keys` for `key` loaded from `namespace/name`.
fn key_entry(
    namespace: &str,
    name: &str,
    key: &secrets_core::seal::keys::GeneratedKey,
    origin: KeyOrigin,
    newest: bool,
) -> KeyEntry {
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    KeyEntry {
        fingerprint: key.certificate.public_key().fingerprint(),
        created: rfc3339(key.certificate.not_before()),
        not_before: rfc3339(key.certificate.not_before()),
        not_after: rfc3339(key.certificate.not_after()),
        newest,
        secret: SecretRef {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        },
        origin,
    }
}

fn key_secret(name: &str, key: &secrets_core::seal::keys::GeneratedKey) -> serde_json::Value {
    serde_json::json!({
        "metadata": {"name": name, "labels": {"kubectl-secrets.io/sealing-key": "active"}},
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": b64(key.certificate.pem().as_bytes()),
            "tls.key": b64(key.key_pem.as_bytes()),
        }
    })
}

#[test]
fn keys_list_rotate_backup_and_restore() {
    let env = Env::new(true);
    let then = time::OffsetDateTime::now_utc() - time::Duration::days(40);
    let old = secrets_core::seal::keys::generate(
        secrets_core::seal::keys::KeyBits::Rsa2048,
        "old",
        then,
        time::Duration::days(3650),
    )
    .unwrap();
    env.store_create(
        "secrets",
        "",
        "v1",
        Some(AGENT_NS),
        key_secret("key-old", &old),
    );
    env.store_create(
        "secrets",
        "",
        "v1",
        Some(AGENT_NS),
        key_secret("key-new", &env.agent().newest),
    );

    // A Bitnami key in its own namespace, which only the agent knows it uses (compat mode).
    let bitnami = secrets_core::seal::keys::generate(
        secrets_core::seal::keys::KeyBits::Rsa2048,
        "sealed-secret",
        then,
        time::Duration::days(3650),
    )
    .unwrap();
    env.store_create(
        "namespaces",
        "",
        "v1",
        None,
        serde_json::json!({"metadata": {"name": "sealed-secrets"}}),
    );
    let mut bitnami_secret = key_secret("sealed-secrets-keyabcde", &bitnami);
    bitnami_secret["metadata"]["labels"] =
        serde_json::json!({"sealedsecrets.bitnami.com/sealed-secrets-key": "active"});
    env.store_create("secrets", "", "v1", Some("sealed-secrets"), bitnami_secret);
    let bitnami_fp = bitnami.certificate.public_key().fingerprint();
    let new_fp = env.agent().newest.certificate.public_key().fingerprint();
    let old_fp = old.certificate.public_key().fingerprint();
    env.agent().behaviour.lock().unwrap().key_list = Some(KeyList {
        keys: vec![
            key_entry(
                "sealed-secrets",
                "sealed-secrets-keyabcde",
                &bitnami,
                KeyOrigin::Bitnami,
                false,
            ),
            key_entry(AGENT_NS, "key-old", &old, KeyOrigin::Ours, false),
            key_entry(
                AGENT_NS,
                "key-new",
                &env.agent().newest,
                KeyOrigin::Ours,
                true,
            ),
        ],
    });

    let (out, _) = env.ok(&["keys", "list"]);
    let lines: Vec<&str> = out.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "SECRET",
            "ORIGIN",
            "FINGERPRINT",
            "CREATED",
            "NOT-AFTER",
            "SEALING"
        ],
        "{out}"
    );
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[1].starts_with("sealed-secrets/sealed-secrets-keyabcde")
            && lines[1].contains("bitnami")
            && lines[1].contains(&bitnami_fp)
            && lines[1].ends_with("no"),
        "{out}"
    );
    assert!(
        lines[2].contains(&old_fp)
            && lines[2].contains("kubectl-secrets")
            && lines[2].ends_with("no"),
        "{out}"
    );
    assert!(
        lines[3].contains(&new_fp) && lines[3].ends_with("yes"),
        "{out}"
    );
    assert!(!out.contains("PRIVATE KEY"));
    let (json, _) = env.ok(&["keys", "list", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["keys"].as_array().unwrap().len(), 3, "{json}");
    assert_eq!(json["keys"][0]["origin"], "bitnami");
    assert_eq!(json["keys"][0]["secret"]["namespace"], "sealed-secrets");
    assert_eq!(json["keys"][2]["fingerprint"], new_fp.as_str());
    assert_eq!(json["keys"][2]["newest"], true);
    let (yaml, _) = env.ok(&["keys", "list", "-o", "yaml"]);
    let yaml: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(yaml, json);

    let (_, err) = env.ok(&["keys", "rotate"]);
    assert!(err.contains("key-new"), "{err}");
    let annotated = env.store_get("secrets", AGENT_NS, "key-new");
    let at = annotated["metadata"]["annotations"]["kubectl-secrets.io/renew-requested-at"]
        .as_str()
        .unwrap();
    assert!(
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok()
    );

    // A key Secret the person cannot read: a clear error naming it, and no file at all.
    env.cluster.standin().control().inject(kube_standin::Fault {
        resource: Some("secrets".into()),
        verb: Some("get".into()),
        status: Some(403),
        times: Some(1),
        ..Default::default()
    });
    let partial = env.path("partial.yaml");
    let refused = env.run(&["keys", "backup", "--output-file", s(&partial)]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("reading key Secret sealed-secrets/sealed-secrets-keyabcde"),
        "{}",
        stderr(&refused)
    );
    assert!(!partial.exists(), "no partial backup");

    let backup = env.path("backup.yaml");
    let (out, err) = env.ok(&["keys", "backup", "--output-file", s(&backup)]);
    assert!(out.is_empty());
    assert!(err.contains("wrote 3 sealing key(s)"), "{err}");
    assert!(
        err.contains("private keys of every sealing key the agent uses"),
        "{err}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&backup).unwrap();
    assert!(
        text.contains("kind: List") && !text.contains("resourceVersion") && !text.contains("uid:")
    );
    assert!(text.contains("sealed-secrets-keyabcde"), "{text}");
    let opened: Vec<String> = parse_private_keys(text.as_bytes())
        .unwrap()
        .iter()
        .map(|k| k.public().fingerprint())
        .collect();
    assert_eq!(opened, [bitnami_fp.clone(), old_fp.clone(), new_fp.clone()]);
    let again = env.run(&["keys", "backup", "--output-file", s(&backup)]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("pass --force"));

    // Restore into a fresh cluster, then again: the second time everything exists.
    let fresh = Env::new(false);
    let ns = fresh
        .cluster
        .standin()
        .store()
        .def("", "v1", "namespaces")
        .unwrap();
    fresh
        .cluster
        .standin()
        .store()
        .create(
            &ns,
            None,
            serde_json::json!({"metadata": {"name": AGENT_NS}}),
        )
        .unwrap();
    let (_, err) = fresh.ok(&["keys", "restore", s(&backup)]);
    assert!(err.contains("restored 3 sealing key(s)"), "{err}");
    let restored = fresh.store_get("secrets", AGENT_NS, "key-old");
    assert_eq!(
        restored["metadata"]["labels"]["kubectl-secrets.io/sealing-key"],
        "active"
    );
    assert_eq!(restored["type"], "kubernetes.io/tls");
    let (_, err) = fresh.ok(&["keys", "restore", s(&backup)]);
    assert!(
        err.contains("already exists; left as it is") && err.contains("restored 0"),
        "{err}"
    );
}

#[test]
fn fetch_secret_masks_values_unless_revealed() {
    let env = Env::new(false);
    env.store_create(
        "secrets",
        "",
        "v1",
        Some("default"),
        serde_json::json!({"metadata": {"name": "db"}, "data": {"password": b64(b"hunter2"), "user": b64(b"admin")}}),
    );
    let (out, _) = env.ok(&["fetch", "secret", "db"]);
    assert!(
        out.contains("password") && out.contains("7B") && out.contains("5B"),
        "{out}"
    );
    assert!(
        !out.contains("hunter2") && !out.contains("admin\n"),
        "{out}"
    );
    let (out, err) = env.ok(&["fetch", "secret", "db", "--key", "password", "--reveal"]);
    assert_eq!(out, "hunter2");
    assert!(err.contains("warning"), "{err}");
    let (out, err) = env.ok(&["fetch", "secret", "db", "--reveal"]);
    assert!(out.contains("hunter2"), "{out}");
    assert!(err.contains("plaintext"), "{err}");
    let out = env.run(&["fetch", "secret", "missing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("reading secret default/missing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn status_lists_sealed_secrets_with_readiness_and_key() {
    let env = Env::new(false);
    let crd = secrets_core::api::crds::all()
        .into_iter()
        .find(|crd| crd.metadata.name.as_deref() == Some("sealedsecrets.kubectl-secrets.io"))
        .unwrap();
    let crd = serde_json::to_value(crd).unwrap();
    env.store_create(
        "customresourcedefinitions",
        "apiextensions.k8s.io",
        "v1",
        None,
        crd,
    );
    let sealed = |name: &str| {
        serde_json::json!({
            "apiVersion": "kubectl-secrets.io/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {"name": name},
            "spec": {"encryptedData": {"k": "AgAA"}}
        })
    };
    for name in ["db", "api"] {
        env.store_create(
            "sealedsecrets",
            "kubectl-secrets.io",
            "v1alpha1",
            Some("default"),
            sealed(name),
        );
    }
    let store = env.cluster.standin().store();
    let def = store
        .def("kubectl-secrets.io", "v1alpha1", "sealedsecrets")
        .unwrap();
    let uid = store.get(&def, Some("default"), "db").unwrap()["metadata"]["uid"].clone();
    env.store_create(
        "secrets",
        "",
        "v1",
        Some("default"),
        serde_json::json!({"metadata": {"name": "db", "annotations": {
            "kubectl-secrets.io/key-fingerprint": "SHA256:0123456789abcdef0123456789abcdef"},
            "ownerReferences": [{"apiVersion": "kubectl-secrets.io/v1alpha1",
                "kind": "SealedSecret", "name": "db", "uid": uid, "controller": true}]},
            "data": {"k": b64(b"v")}}),
    );
    // The agent's status write, through the API as the agent does it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = env.cluster.client().await;
        let api: kube::Api<secrets_core::api::sealed_secret::SealedSecret> =
            kube::Api::namespaced(client, "default");
        let status = serde_json::json!({"status": {"observedGeneration": 1, "conditions": [
            {"type": "Ready", "status": "True", "reason": "Unsealed", "message": "made"}]}});
        api.patch_status(
            "db",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&status),
        )
        .await
        .unwrap();
    });
    let (out, _) = env.ok(&["status"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("READY") && lines[0].ends_with("KEY"),
        "{out}"
    );
    let db = lines.iter().find(|l| l.starts_with("db ")).unwrap();
    assert!(
        db.contains("True") && db.contains("Unsealed") && db.contains("SHA256:0123456789ab"),
        "{out}"
    );
    let api = lines.iter().find(|l| l.starts_with("api ")).unwrap();
    assert!(
        api.contains("Unknown") && api.contains("NotObserved"),
        "{out}"
    );
    let (out, _) = env.ok(&["status", "-A"]);
    assert!(
        out.starts_with("NAMESPACE") && out.contains("default"),
        "{out}"
    );
}

/// A new stand-in on `addr`, where a stopped one was: kind, k3d and minikube give a new
/// cluster the old one's address. The port is free again once the old listener is gone.
fn cluster_at(addr: std::net::SocketAddr) -> test_support::Cluster {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let config = test_support::StandInConfig {
            listen: addr,
            ..Default::default()
        };
        match test_support::Cluster::try_start(config) {
            Ok(cluster) => return cluster,
            Err(err) if std::time::Instant::now() > deadline => panic!("{err}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
}

/// The cluster's kubeconfig without its CA (TLS not verified), so only the `kube-system`
/// namespace UID can tell the cluster.
fn kubeconfig_without_ca(cluster: &test_support::Cluster, dir: &std::path::Path) -> PathBuf {
    let yaml: String = cluster
        .standin()
        .kubeconfig_yaml()
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("certificate-authority-data:") {
                "    insecure-skip-tls-verify: true".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = dir.join("kubeconfig-without-ca");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn a_new_cluster_at_the_same_address_never_gets_the_old_clusters_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let seal = |kubeconfig: &std::path::Path| {
        run_env(
            &["seal", "--from-literal", "k=v", "--name", "db", "-n", "ns"],
            None,
            &[("KUBECONFIG", s(kubeconfig)), ("XDG_CACHE_HOME", s(&cache))],
        )
    };
    let refused = |out: &Output| {
        let err = stderr(out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(out.stdout.is_empty(), "nothing sealed: {}", stdout(out));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("no sealing certificate (pass --cert")
                && err.contains("context \"standin\"")
                && err.contains("is not used:")
                && err.contains(
                    "pass --cert PATH|URL, or refresh the cache with `kubectl secrets fetch cert`"
                ),
            "{err}"
        );
        err
    };

    // The first cluster: its agent's certificate is fetched and cached.
    let first = test_support::Cluster::start();
    let addr = first.standin().addr();
    let older = || parse_private_keys(&std::fs::read(&keys().key).unwrap()).unwrap();
    let first_agent = FakeAgent::start(older());
    first_agent.register(&first);
    let out = seal(first.kubeconfig());
    assert!(out.status.success(), "{}", stderr(&out));
    drop(first);

    // A new cluster (its own CA) at the same address, its agent not there yet: refused.
    let second = cluster_at(addr);
    let err = refused(&seal(second.kubeconfig()));
    assert!(err.contains("API server CA"), "{err}");
    assert!(!err.contains(&first_agent.newest.certificate.public_key().fingerprint()));

    // Once its agent answers, its own certificate is fetched and cached, and used when the
    // agent is briefly away.
    let second_agent = FakeAgent::start(older());
    second_agent.register(&second);
    let fingerprint = second_agent.newest.certificate.public_key().fingerprint();
    let out = seal(second.kubeconfig());
    assert!(
        stderr(&out).contains(&format!("using certificate {fingerprint} from")),
        "{}",
        stderr(&out)
    );
    second_agent.behaviour.lock().unwrap().no_key = true;
    let out = seal(second.kubeconfig());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("using certificate {fingerprint}"))
            && stderr(&out).contains("(cached"),
        "{}",
        stderr(&out)
    );

    // Without a CA in the kubeconfig the kube-system namespace's UID tells the clusters apart.
    second_agent.behaviour.lock().unwrap().no_key = false;
    let out = seal(&kubeconfig_without_ca(&second, dir.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    drop(second);
    let third = cluster_at(addr);
    let err = refused(&seal(&kubeconfig_without_ca(&third, dir.path())));
    assert!(err.contains("kube-system namespace changed"), "{err}");
}

#[test]
fn status_and_fetch_secret_speak_json_and_yaml() {
    let env = Env::new(false);
    let crd = secrets_core::api::crds::all()
        .into_iter()
        .find(|crd| crd.metadata.name.as_deref() == Some("sealedsecrets.kubectl-secrets.io"))
        .unwrap();
    env.store_create(
        "customresourcedefinitions",
        "apiextensions.k8s.io",
        "v1",
        None,
        serde_json::to_value(crd).unwrap(),
    );
    for name in ["db", "api"] {
        env.store_create(
            "sealedsecrets",
            "kubectl-secrets.io",
            "v1alpha1",
            Some("default"),
            serde_json::json!({
                "apiVersion": "kubectl-secrets.io/v1alpha1",
                "kind": "SealedSecret",
                "metadata": {"name": name},
                "spec": {"encryptedData": {"k": "AgAA"}}
            }),
        );
    }
    let uid = |name: &str| {
        let store = env.cluster.standin().store();
        let def = store
            .def("kubectl-secrets.io", "v1alpha1", "sealedsecrets")
            .unwrap();
        store.get(&def, Some("default"), name).unwrap()["metadata"]["uid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let owned_by = |uid: String| {
        serde_json::json!([{"apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "SealedSecret",
            "name": "x", "uid": uid, "controller": true}])
    };
    // db's Secret is its own; api's is someone else's with a key annotation of its own.
    for (name, owner) in [("db", uid("db")), ("api", "someone-else".to_owned())] {
        env.store_create(
            "secrets",
            "",
            "v1",
            Some("default"),
            serde_json::json!({"metadata": {"name": name, "ownerReferences": owned_by(owner),
                "annotations": {"kubectl-secrets.io/key-fingerprint": format!("SHA256:{name}0123456789abcdef")}},
                "data": {"password": b64(b"say \"hi\"\n"), "bin": b64(&[0xff, 0x00])}}),
        );
    }

    let (out, _) = env.ok(&["status", "-o", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(row("db")["keyFingerprint"], "SHA256:db0123456789abcdef");
    assert_eq!(row("db")["group"], "kubectl-secrets.io");
    assert_eq!(row("db")["ready"], "Unknown");
    assert_eq!(row("db")["reason"], "NotObserved");
    assert!(
        row("db")["created"].as_str().unwrap().ends_with('Z'),
        "{out}"
    );
    assert!(
        row("api")["keyFingerprint"].is_null(),
        "not api's own Secret: {out}"
    );
    let (yaml, _) = env.ok(&["status", "-o", "yaml"]);
    let from_yaml: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(from_yaml, rows);
    let (table, _) = env.ok(&["status"]);
    let api_line = table.lines().find(|l| l.starts_with("api ")).unwrap();
    assert!(api_line.ends_with(" -"), "{table}");

    // fetch secret: sizes only, unless --reveal.
    let (out, err) = env.ok(&["fetch", "secret", "db", "-o", "json"]);
    assert!(err.is_empty(), "{err}");
    let masked: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        masked,
        serde_json::json!({"namespace": "default", "name": "db", "type": "Opaque",
            "data": {"bin": {"size": 2}, "password": {"size": 9}}})
    );
    let (out, err) = env.ok(&["fetch", "secret", "db", "-o", "yaml", "--reveal"]);
    assert!(err.contains("plaintext"), "{err}");
    let revealed: serde_json::Value = serde_yaml_ng::from_str(&out).unwrap();
    assert_eq!(revealed["data"]["password"]["value"], "say \"hi\"\n");
    assert_eq!(revealed["data"]["bin"]["valueBase64"], b64(&[0xff, 0x00]));
    let (out, _) = env.ok(&["fetch", "secret", "db", "-o", "json", "--key", "bin"]);
    let one: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(one["data"], serde_json::json!({"bin": {"size": 2}}));

    // The table shows quotes as they are; only control characters are escaped.
    let (out, _) = env.ok(&["fetch", "secret", "db", "--reveal"]);
    assert!(out.contains("say \"hi\"\\n"), "{out}");
}

#[test]
fn reseal_online_leaves_files_on_the_newest_key_as_they_are() {
    let env = Env::new(true);
    let (_, cert) = env.newest_files();
    let text = format!(
        "# a comment a rewrite would lose\n{}",
        sealed_to(&cert, "db", "v", &[])
    );
    let file = env.write("current.yaml", &text);
    let (_, err) = env.ok(&["reseal", &file]);
    assert!(
        err.contains(&format!(
            "{file} is already on the newest key (1 object(s)); left unchanged"
        )),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

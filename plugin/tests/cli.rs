//! The plugin's behaviour, end to end through the built binary.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use common::*;

const TWO_SECRETS: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: first
  namespace: team-a
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{\"stringData\":{\"password\":\"old-leak\"}}'
type: Opaque
data:
  token: AAEC/w==
stringData:
  password: s3cr3t
---
apiVersion: v1
kind: Secret
metadata:
  name: second
  namespace: team-a
stringData:
  url: https://example.test
";

/// `reseal FILE --private-key K… --cert CERT`, offline.
fn reseal_offline(
    file: &std::path::Path,
    private_keys: &[&std::path::Path],
    cert: &std::path::Path,
) -> std::process::Output {
    let mut args = vec!["reseal", s(file)];
    for key in private_keys {
        args.extend(["--private-key", s(key)]);
    }
    args.extend(["--cert", s(cert)]);
    run(&args, None)
}

fn yaml_docs(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize as _;
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| serde_json::Value::deserialize(doc).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

#[test]
fn seal_multi_document_then_unseal_round_trips() {
    let sealed = ok(
        &["seal", "-f", "-", "--cert", s(&keys().cert)],
        Some(TWO_SECRETS.as_bytes()),
    );
    assert!(sealed.starts_with("---\n"), "YAML output starts with ---");
    assert!(!sealed.contains("s3cr3t") && !sealed.contains("old-leak"));
    let docs = yaml_docs(&sealed);
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["apiVersion"], "kubectl-secrets.io/v1alpha1");
    assert!(
        docs[0]["spec"]["template"]["metadata"]
            .get("annotations")
            .is_none(),
        "last-applied stripped"
    );

    let first = unseal_data(sealed.split("---\n").nth(1).unwrap());
    assert_eq!(first["token"], [0, 1, 2, 255]);
    assert_eq!(first["password"], b"s3cr3t");
    let both = ok(
        &["unseal", "-f", "-", "--private-key", s(&keys().key)],
        Some(sealed.as_bytes()),
    );
    assert_eq!(
        yaml_docs(&both).len(),
        2,
        "every SealedSecret in the stream is unsealed"
    );
}

#[test]
fn unseal_warns_that_it_prints_plaintext() {
    let sealed = ok(
        &[
            "seal",
            "--from-literal",
            "k=v",
            "--name",
            "x",
            "-n",
            "ns",
            "--cert",
            s(&keys().cert),
        ],
        None,
    );
    let out = run(
        &["unseal", "-f", "-", "--private-key", s(&keys().key)],
        Some(sealed.as_bytes()),
    );
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("warning: the output holds plaintext"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_and_bitnami_output() {
    let out = ok(
        &[
            "seal",
            "--from-literal",
            "a=1",
            "--name",
            "x",
            "-n",
            "ns",
            "--cert",
            s(&keys().cert),
            "--format",
            "bitnami",
            "-o",
            "json",
        ],
        None,
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["apiVersion"], "bitnami.com/v1alpha1");
    assert_eq!(doc["kind"], "SealedSecret");
    assert!(out.ends_with("}\n"));
    assert_eq!(
        unseal_data(&out)["a"],
        b"1",
        "Bitnami-format input unseals too"
    );
}

#[test]
fn from_flags_build_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tls.crt");
    std::fs::write(&file, [0xff, 0x00, 0x10]).unwrap();
    let env = dir.path().join("app.env");
    std::fs::write(&env, "# comment\n\nDB_USER=app\nDB_PASS=p=w\n").unwrap();
    let sealed = ok(
        &[
            "seal",
            "--name",
            "app",
            "-n",
            "ns",
            "--type",
            "kubernetes.io/tls",
            "--cert",
            s(&keys().cert),
            "--from-literal",
            "lit=x",
            "--from-literal",
            "tls.key=k",
            "--from-file",
            s(&file),
            "--from-file",
            &format!("renamed={}", s(&file)),
            "--from-env-file",
            s(&env),
        ],
        None,
    );
    let docs = yaml_docs(&sealed);
    assert_eq!(docs[0]["spec"]["template"]["type"], "kubernetes.io/tls");
    let data = unseal_data(&sealed);
    assert_eq!(data["lit"], b"x");
    assert_eq!(data["tls.crt"], [0xff, 0x00, 0x10]);
    assert_eq!(data["renamed"], [0xff, 0x00, 0x10]);
    assert_eq!(data["DB_USER"], b"app");
    assert_eq!(data["DB_PASS"], b"p=w", "only the first '=' splits");
}

#[test]
fn namespace_rules_use_the_kubeconfig_context() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c, user: u, namespace: from-context}\n- name: prod\n  context: {cluster: c, user: u, namespace: prod-ns}\n",
    )
    .unwrap();
    let env = [("KUBECONFIG", s(&kubeconfig))];
    let seal = |extra: &[&str]| {
        let mut args = vec![
            "seal",
            "--from-literal",
            "k=v",
            "--name",
            "x",
            "--cert",
            s(&keys().cert),
        ];
        args.extend_from_slice(extra);
        let out = run_env(&args, None, &env);
        assert!(out.status.success(), "{}", stderr(&out));
        yaml_docs(&stdout(&out)).remove(0)
    };
    assert_eq!(seal(&[])["metadata"]["namespace"], "from-context");
    assert_eq!(
        seal(&["--context", "prod"])["metadata"]["namespace"],
        "prod-ns"
    );
    assert_eq!(seal(&["-n", "flag-ns"])["metadata"]["namespace"], "flag-ns");
    let cluster_wide = seal(&["--scope", "cluster-wide"]);
    assert!(
        cluster_wide["metadata"].get("namespace").is_none(),
        "cluster-wide binds no namespace"
    );
    assert_eq!(
        cluster_wide["metadata"]["annotations"]["sealedsecrets.bitnami.com/cluster-wide"],
        "true"
    );
    assert_eq!(
        cluster_wide["spec"]["template"]["metadata"]["annotations"]["sealedsecrets.bitnami.com/cluster-wide"],
        "true"
    );
}

#[test]
fn scope_defaults_to_the_input_annotation() {
    let input = "kind: Secret\nmetadata:\n  name: x\n  namespace: ns\n  annotations: {sealedsecrets.bitnami.com/namespace-wide: \"true\"}\nstringData: {k: v}\n";
    let sealed = ok(
        &["seal", "-f", "-", "--cert", s(&keys().cert)],
        Some(input.as_bytes()),
    );
    let doc = yaml_docs(&sealed).remove(0);
    assert_eq!(
        doc["metadata"]["annotations"]["sealedsecrets.bitnami.com/namespace-wide"],
        "true"
    );
    // namespace-wide: renaming keeps it openable
    let renamed = sealed.replace("name: x", "name: z");
    assert_eq!(unseal_data(&renamed)["k"], b"v");
}

#[test]
fn raw_prints_one_ciphertext_without_newline() {
    let raw = ok(
        &[
            "seal",
            "--raw",
            "--from-literal",
            "password=s3cr3t",
            "--name",
            "db",
            "-n",
            "ns",
            "--cert",
            s(&keys().cert),
        ],
        None,
    );
    assert!(!raw.ends_with('\n') && raw.starts_with("Ag"));
    let manifest = format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SealedSecret\nmetadata: {{name: db, namespace: ns}}\nspec:\n  encryptedData:\n    anykey: {raw}\n"
    );
    assert_eq!(
        unseal_data(&manifest)["anykey"],
        b"s3cr3t",
        "the key name is not in the label"
    );
    let wrong = manifest.replace("name: db", "name: other");
    assert!(
        !run(
            &["unseal", "-f", "-", "--private-key", s(&keys().key)],
            Some(wrong.as_bytes())
        )
        .status
        .success()
    );
}

#[test]
fn merge_into_updates_the_file_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sealed.json");
    let cert = s(&keys().cert);
    let original = ok(
        &[
            "seal",
            "--from-literal",
            "keep=1",
            "--from-literal",
            "change=old",
            "--name",
            "x",
            "-n",
            "ns",
            "--cert",
            cert,
            "-o",
            "json",
            "--format",
            "bitnami",
        ],
        None,
    );
    std::fs::write(&file, &original).unwrap();
    let before: serde_json::Value = serde_json::from_str(&original).unwrap();
    let out = run(
        &[
            "seal",
            "--from-literal",
            "change=new",
            "--from-literal",
            "add=2",
            "--cert",
            cert,
            "--merge-into",
            s(&file),
        ],
        None,
    );
    // No --name: the file names the object.
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    let after: serde_json::Value = serde_json::from_str(&text).expect("JSON stays JSON");
    assert_eq!(after["apiVersion"], "bitnami.com/v1alpha1", "flavor kept");
    assert_eq!(
        after["spec"]["encryptedData"]["keep"],
        before["spec"]["encryptedData"]["keep"]
    );
    let data = unseal_data(&text);
    assert_eq!(
        (
            data["keep"].as_slice(),
            data["change"].as_slice(),
            data["add"].as_slice()
        ),
        (&b"1"[..], &b"new"[..], &b"2"[..])
    );
}

#[test]
fn output_file_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.yaml");
    std::fs::write(&target, "previous").unwrap();
    let out = run(
        &[
            "seal",
            "--from-literal",
            "k=v",
            "--name",
            "x",
            "-n",
            "ns",
            "--cert",
            s(&keys().cert),
            "--output-file",
            s(&target),
        ],
        None,
    );
    assert!(out.status.success());
    assert!(stdout(&out).is_empty());
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(written.starts_with("---\napiVersion: kubectl-secrets.io/v1alpha1"));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left behind: {names:?}");

    // A failing seal leaves the previous file untouched.
    std::fs::write(&target, "previous").unwrap();
    let out = run(
        &[
            "seal",
            "--from-literal",
            "k=v",
            "--name",
            "x",
            "-n",
            "ns",
            "--cert",
            "/missing.pem",
            "--output-file",
            s(&target),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "previous");
}

#[test]
fn keys_generate_writes_a_private_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let cert = dir.path().join("c.pem");
    ok(
        &[
            "keys",
            "generate",
            "--cert-out",
            s(&cert),
            "--key-out",
            s(&key),
        ],
        None,
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let cert =
        secrets_core::seal::keys::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    assert_eq!(cert.public_key().bits(), 4096);
    assert_eq!((cert.not_after() - cert.not_before()).whole_days(), 3650);
}

#[test]
fn unseal_tries_every_key_given() {
    let sealed = ok(
        &[
            "seal",
            "--from-literal",
            "k=v",
            "--name",
            "x",
            "-n",
            "ns",
            "--cert",
            s(&keys().cert),
        ],
        None,
    );
    let out = run(
        &[
            "unseal",
            "-f",
            "-",
            "--private-key",
            s(&other_keys().key),
            "--private-key",
            s(&keys().key),
        ],
        Some(sealed.as_bytes()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn help_runs_and_usage_errors_exit_2() {
    let help = ok(&["--help"], None);
    assert!(help.contains("seal") && help.contains("unseal") && help.contains("keys"));
    let out = run(&["seal", "--scope", "wide"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "kubectl-secrets: invalid value 'wide' for '--scope <SCOPE>' [possible values: strict, namespace-wide, cluster-wide]"
    );
}

/// Serve `body` with `status` to each request on a loopback port, for `--cert URL`.
fn serve(status: &'static str, body: Vec<u8>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/cert.pem", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            request.push(line.trim().to_owned());
        }
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body).unwrap();
        request
    });
    (url, handle)
}

#[test]
fn cert_from_a_url() {
    let pem = std::fs::read(&keys().cert).unwrap();
    let (url, server) = serve("200 OK", pem);
    let sealed = ok(
        &[
            "seal",
            "--from-literal",
            "k=v",
            "--name",
            "x",
            "-n",
            "ns",
            "--cert",
            &url,
        ],
        None,
    );
    assert_eq!(unseal_data(&sealed)["k"], b"v");
    let request = server.join().unwrap();
    assert!(request[0].starts_with("GET /v1/cert.pem"), "{request:?}");
    assert!(
        request.iter().any(|h| h
            .to_ascii_lowercase()
            .starts_with("accept: application/x-pem-file")),
        "{request:?}"
    );

    let (url, server) = serve("404 Not Found", b"no".to_vec());
    let out = run(
        &[
            "seal",
            "--from-literal",
            "k=v",
            "--name",
            "x",
            "-n",
            "ns",
            "--cert",
            &url,
        ],
        None,
    );
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("warning: fetching the certificate over plain http")
            && lines[0].contains("use https or a file"),
        "{err}"
    );
    assert!(
        lines[1].starts_with(&format!("kubectl-secrets: fetching certificate {url}")),
        "{err}"
    );
}

/// `keys generate` with `args`, in `dir`.
fn generate_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(BIN);
    command
        .arg("keys")
        .arg("generate")
        .args(args)
        .current_dir(dir)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .stdin(std::process::Stdio::null());
    command.output().unwrap()
}

#[test]
fn keys_generate_refuses_one_file_for_both_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("sub")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("same.pem", d.join("link.pem")).unwrap();
    let mut spellings: Vec<(&str, &str)> = vec![
        ("same.pem", "same.pem"),
        ("./same.pem", "same.pem"),
        ("sub/../same.pem", "same.pem"),
    ];
    if cfg!(unix) {
        spellings.push(("link.pem", "same.pem"));
    }
    for (cert, key) in spellings {
        let out = generate_in(d, &["--cert-out", cert, "--key-out", key]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{cert} {key}: {err}");
        assert!(
            err.contains(&format!(
                "--cert-out {cert} and --key-out {key} are the same file"
            )),
            "{err}"
        );
        assert!(!err.contains("wrote"), "{err}");
        assert!(!d.join("same.pem").exists(), "nothing written for {cert}");
    }

    // A hard link to an existing key, even with --force: the key survives.
    std::fs::write(d.join("key.pem"), "the only copy").unwrap();
    std::fs::hard_link(d.join("key.pem"), d.join("hard.pem")).unwrap();
    let out = generate_in(
        d,
        &["--cert-out", "hard.pem", "--key-out", "key.pem", "--force"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("are the same file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("key.pem")).unwrap(),
        "the only copy"
    );
}

#[test]
fn keys_generate_prints_the_certificate_for_dash_but_never_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = generate_in(d, &["--cert-out", "-", "--key-out", "k.pem"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pem = stdout(&out);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert!(!pem.contains("PRIVATE KEY"));
    assert!(!d.join("-").exists(), "no file named -");
    let err = stderr(&out);
    assert!(
        err.contains("wrote private key k.pem") && err.contains("certificate on stdout"),
        "{err}"
    );
    // The printed certificate belongs to the written key.
    let cert = secrets_core::seal::keys::Certificate::from_pem(pem.as_bytes()).unwrap();
    let key =
        secrets_core::seal::keys::parse_private_keys(&std::fs::read(d.join("k.pem")).unwrap())
            .unwrap();
    assert_eq!(
        key[0].public().fingerprint(),
        cert.public_key().fingerprint()
    );

    let out = generate_in(d, &["--cert-out", "c.pem", "--key-out", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--key-out - would print the private key"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty() && !d.join("c.pem").exists() && !d.join("-").exists());
}

#[test]
fn keys_generate_reports_only_writes_that_happened() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The certificate cannot be written (its directory is missing): the key was, and the
    // message says exactly that, with no temporary file's name.
    let out = generate_in(d, &["--cert-out", "missing/c.pem", "--key-out", "k.pem"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim(),
        "kubectl-secrets: the private key k.pem was written, but not the certificate: \
         writing missing/c.pem: creating a file in missing: no such file or directory",
    );
    assert!(!err.contains("wrote") && !err.contains(".tmp") && !err.contains("os error"));
    assert!(d.join("k.pem").exists());
}

#[cfg(unix)]
#[test]
fn output_files_are_written_through_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let real = d.join("real");
    std::fs::create_dir(&real).unwrap();
    let target = real.join("sealed.yaml");
    std::fs::write(&target, "previous").unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("real/sealed.yaml", d.join("link.yaml")).unwrap();
    }
    let link = d.join("link.yaml");
    let sealed_to = |file: &std::path::Path| {
        let out = run(
            &[
                "seal",
                "--from-literal",
                "k=v",
                "--name",
                "x",
                "-n",
                "ns",
                "--cert",
                s(&keys().cert),
                "--output-file",
                s(file),
            ],
            None,
        );
        assert!(out.status.success(), "{}", stderr(&out));
    };
    sealed_to(&link);
    let assert_through = |what: &str| {
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{what}: the link stays a link"
        );
        let text = std::fs::read_to_string(&target).unwrap();
        assert!(text.contains("kind: SealedSecret"), "{what}: {text}");
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&target).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o640, "{what}: the target keeps its mode");
        }
        let leftovers: Vec<_> = std::fs::read_dir(&real)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{what}: {leftovers:?}");
    };
    assert_through("seal --output-file");
    assert_eq!(
        unseal_data(&std::fs::read_to_string(&target).unwrap())["k"],
        b"v"
    );

    // reseal offline, through the same link, to another key.
    let out = reseal_offline(&link, &[&keys().key], &other_keys().cert);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_through("reseal");
    let opened = run(
        &[
            "unseal",
            "-f",
            s(&target),
            "--private-key",
            s(&other_keys().key),
        ],
        None,
    );
    assert!(opened.status.success(), "{}", stderr(&opened));
}

#[test]
fn reseal_leaves_files_already_on_the_newest_key_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    let sealed = ok(
        &[
            "seal",
            "--from-literal",
            "k=v",
            "--name",
            "x",
            "-n",
            "ns",
            "--cert",
            s(&other_keys().cert),
        ],
        None,
    );
    // Hand-formatted: a rewrite would normalize it.
    let text = format!("# kept as written\n{sealed}");
    std::fs::write(&file, &text).unwrap();
    let out = reseal_offline(&file, &[&keys().key, &other_keys().key], &other_keys().cert);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is already on the newest key (1 object(s)); left unchanged"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

#[test]
fn help_hides_what_a_command_does_not_read() {
    for args in [
        &["keys", "generate", "--help"][..],
        &["unseal", "--help"][..],
    ] {
        let help = ok(args, None);
        for flag in [
            "--kubeconfig",
            "--context",
            "--agent-namespace",
            "--agent-service",
        ] {
            assert!(!help.contains(flag), "{args:?} offers {flag}:\n{help}");
        }
    }
    let out = run_env(
        &["seal", "--help"],
        None,
        &[
            ("KUBECONFIG", "/nonexistent/kubeconfig"),
            ("KUBECTL_SECRETS_AGENT_NAMESPACE", ""),
        ],
    );
    let help = stdout(&out);
    assert!(
        help.contains("--kubeconfig") && help.contains("--agent-namespace"),
        "{help}"
    );
    assert!(
        !help
            .lines()
            .any(|l| l.contains("[env: ") && l.contains('=')),
        "an env value is shown:\n{help}"
    );
    // An exported but empty variable means the default, not an empty agent namespace.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: a\n  cluster: \
         {server: 'https://127.0.0.1:1'}\nusers:\n- name: a\n  user: {token: t}\ncontexts:\n- \
         name: a\n  context: {cluster: a, user: a}\n",
    )
    .unwrap();
    let out = run_env(
        &["fetch", "cert"],
        None,
        &[
            ("KUBECONFIG", s(&kubeconfig)),
            ("KUBECTL_SECRETS_AGENT_NAMESPACE", ""),
            ("KUBECTL_SECRETS_AGENT_SERVICE", ""),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("reaching the agent kubectl-secrets/secrets-agent through"),
        "{err}"
    );
    // Each cause once, in words.
    assert_eq!(err.matches("client error (Connect)").count(), 1, "{err}");
    assert!(
        err.contains("connection refused") && !err.contains("os error"),
        "{err}"
    );
    assert!(
        !help.contains("/nonexistent"),
        "env values are not shown:\n{help}"
    );
    // Still accepted where hidden (kubectl passes them anywhere).
    let out = run(
        &[
            "unseal",
            "--context",
            "x",
            "-f",
            "/missing.yaml",
            "--private-key",
            "k",
        ],
        None,
    );
    assert!(stderr(&out).contains("reading"), "{}", stderr(&out));
}

#[test]
fn seal_checks_the_keys_a_secret_type_requires() {
    let cert = s(&keys().cert);
    let out = run(
        &[
            "seal",
            "--from-literal",
            "tls.crt=x",
            "--name",
            "web",
            "-n",
            "ns",
            "--type",
            "kubernetes.io/tls",
            "--cert",
            cert,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "kubectl-secrets: sealing ns/web: a Secret of type kubernetes.io/tls needs keys tls.crt \
         and tls.key; it has keys tls.crt"
    );
    ok(
        &[
            "seal",
            "--from-literal",
            "tls.crt=x",
            "--from-literal",
            "tls.key=y",
            "--name",
            "web",
            "-n",
            "ns",
            "--type",
            "kubernetes.io/tls",
            "--cert",
            cert,
        ],
        None,
    );
    ok(
        &[
            "seal",
            "--from-literal",
            "password=x",
            "--name",
            "b",
            "-n",
            "ns",
            "--type",
            "kubernetes.io/basic-auth",
            "--cert",
            cert,
        ],
        None,
    );
}

#[test]
fn reseal_keeps_a_quoted_yes_a_string() {
    let dir = tempfile::tempdir().unwrap();
    let input = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: 'on'\n  labels:\n    backup: \"yes\"\n    'on': 'off'\nstringData:\n  'y': 'n'\n";
    let file = dir.path().join("s.yaml");
    let sealed = ok(
        &["seal", "-f", "-", "--cert", s(&keys().cert)],
        Some(input.as_bytes()),
    );
    std::fs::write(&file, &sealed).unwrap();
    let out = reseal_offline(&file, &[&keys().key], &other_keys().cert);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    for written in [&sealed, &text] {
        assert!(written.contains("backup: \"yes\"\n"), "{written}");
        assert!(written.contains("\"on\": \"off\"\n"), "{written}");
        assert!(written.contains("namespace: \"on\"\n"), "{written}");
        assert!(written.contains("\"y\": Ag"), "{written}");
    }
    let doc = &yaml_docs(&text)[0];
    assert_eq!(
        doc["spec"]["template"]["metadata"]["labels"]["backup"],
        "yes"
    );
    assert_eq!(doc["metadata"]["namespace"], "on");
}

#[test]
fn non_secrets_pass_through_in_order() {
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\ndata: {enabled: 'yes'}\n---\nkind: Secret\nmetadata: {name: x, namespace: ns}\nstringData: {k: v}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: ns}\nspec: {replicas: 2}\n";
    let out = run(
        &["seal", "-f", "-", "--cert", s(&keys().cert)],
        Some(input.as_bytes()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("passed 2 object(s) that are not Secrets through unchanged"),
        "{}",
        stderr(&out)
    );
    let docs = yaml_docs(&stdout(&out));
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ConfigMap", "SealedSecret", "Deployment"]);
    assert_eq!(docs[0], yaml_docs(input)[0]);
    assert_eq!(docs[2], yaml_docs(input)[2]);
    assert!(stdout(&out).contains("enabled: \"yes\""));
}

#[test]
fn several_objects_as_json_are_a_v1_list_that_reads_back() {
    let out = ok(
        &["seal", "-f", "-", "--cert", s(&keys().cert), "-o", "json"],
        Some(TWO_SECRETS.as_bytes()),
    );
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let unsealed = ok(
        &[
            "unseal",
            "-f",
            "-",
            "--private-key",
            s(&keys().key),
            "-o",
            "json",
        ],
        Some(out.as_bytes()),
    );
    let secrets: serde_json::Value = serde_json::from_str(&unsealed).unwrap();
    assert_eq!(secrets["kind"], "List");
    assert_eq!(secrets["items"][1]["metadata"]["name"], "second");
}

#[test]
fn files_and_directories_as_kubectl_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    std::fs::create_dir(p("values")).unwrap();
    std::fs::write(p("values/user"), "admin").unwrap();
    std::fs::write(p("values/pass.txt"), "s3cr3t\n").unwrap();
    std::fs::create_dir(p("values/sub")).unwrap();
    std::fs::write(p("values/sub/ignored"), "x").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(p("values/user"), p("values/link")).unwrap();
    let sealed = ok(
        &[
            "seal",
            "--from-file",
            s(&p("values")),
            "--name",
            "x",
            "-n",
            "ns",
            "--cert",
            s(&keys().cert),
        ],
        None,
    );
    let data = unseal_data(&sealed);
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["pass.txt", "user"],
        "regular files only"
    );
    assert_eq!(data["pass.txt"], b"s3cr3t\n");
    std::fs::write(p("app.env"), "\u{feff}A=1\n").unwrap();
    let sealed = ok(
        &[
            "seal",
            "--from-env-file",
            s(&p("app.env")),
            "--name",
            "x",
            "-n",
            "ns",
            "--cert",
            s(&keys().cert),
        ],
        None,
    );
    assert_eq!(
        unseal_data(&sealed).keys().collect::<Vec<_>>(),
        ["A"],
        "a byte-order mark is not part of the first key"
    );

    // -f repeated, -f DIR (.yaml/.yml/.json only), a byte-order mark, merge keys, null.
    std::fs::create_dir(p("manifests")).unwrap();
    std::fs::write(
        p("manifests/a.yaml"),
        "\u{feff}kind: Secret\nmetadata: {name: a, namespace: ns}\nstringData:\n  <<: {user: admin, pass: old}\n  pass: new\n",
    )
    .unwrap();
    std::fs::write(
        p("manifests/b.json"),
        "{\"kind\": \"Secret\", \"metadata\": {\"name\": \"b\", \"namespace\": \"ns\"}, \"stringData\": {\"k\": null}}",
    )
    .unwrap();
    std::fs::write(p("manifests/notes.txt"), "not a manifest").unwrap();
    std::fs::write(
        p("c.yml"),
        "kind: Secret\nmetadata: {name: c, namespace: ns}\nstringData: {pass: ~}\n",
    )
    .unwrap();
    let sealed = ok(
        &[
            "seal",
            "-f",
            s(&p("manifests")),
            "-f",
            s(&p("c.yml")),
            "--cert",
            s(&keys().cert),
        ],
        None,
    );
    let docs = yaml_docs(&sealed);
    let names: Vec<&str> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    let opened: Vec<_> = sealed
        .split("---\n")
        .filter(|d| !d.is_empty())
        .map(|d| unseal_data(&format!("---\n{d}")))
        .collect();
    assert_eq!(opened[0]["user"], b"admin", "merge keys are applied");
    assert_eq!(
        opened[0]["pass"], b"new",
        "explicit keys win over merged ones"
    );
    assert_eq!(opened[1]["k"], b"", "null is empty, as kubectl reads it");
    assert_eq!(opened[2]["pass"], b"");
}

/// Each command's `--help` lists its own options first, then kubectl's flags under their own
/// heading.
#[test]
fn help_lists_own_options_before_the_global_ones() {
    let global = [
        "--kubeconfig <PATH>",
        "--context <NAME>",
        "--cluster <NAME>",
        "--user <NAME>",
        "-n, --namespace <NS>",
        "-y, --yes",
        "--request-timeout <DURATION>",
        "--agent-namespace <NS>",
        "--agent-service <NAME>",
    ];
    for (args, own) in [
        (&["seal", "--help"][..], "-f, --filename <FILE|DIR|->"),
        (&["sync", "now", "--help"][..], "--wait[=<BOOL>]"),
    ] {
        let out = run(args, None);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let help = stdout(&out);
        let options = help.find("\nOptions:\n").unwrap();
        let heading = help.find("\nGlobal options:\n").unwrap();
        let own_at = help.find(own).unwrap();
        assert!(options < own_at && own_at < heading, "{args:?}: {help}");
        for flag in global {
            let at = help.find(flag).unwrap_or_else(|| panic!("{flag}: {help}"));
            assert!(at > heading, "{flag} before the heading: {help}");
        }
    }
}

/// The top-level help names the three patterns' commands, mount included, truthfully.
#[test]
fn help_names_mount() {
    let help = ok(&["--help"], None);
    assert!(
        help.starts_with("kubectl plugin: seal, sync and mount Kubernetes secrets"),
        "{help}"
    );
    let line = help
        .lines()
        .find(|l| l.trim_start().starts_with("mount "))
        .unwrap_or_else(|| panic!("{help}"));
    assert!(line.contains("Secrets Store CSI Driver"), "{line}");
    let mount = ok(&["mount", "--help"], None);
    for flag in [
        "--sealed-secret <NAME>",
        "--property <PROPERTY>",
        "--remove",
        "status",
    ] {
        assert!(mount.contains(flag), "{flag}: {mount}");
    }
}

/// `completion SHELL` prints that shell's script for the binary run by its own name.
#[test]
fn completion_prints_a_script_per_shell() {
    for (shell, expected) in [
        ("bash", "complete -F _kubectl__secrets"),
        ("zsh", "#compdef kubectl-secrets"),
        ("fish", "complete -c kubectl-secrets"),
    ] {
        let out = run(&["completion", shell], None);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(expected), "{shell}: {script}");
        // Every command is in it, from the same tree the binary parses with.
        assert!(
            script.contains("reseal") && script.contains("agent-namespace"),
            "{shell}"
        );
        assert!(
            script.contains("mount")
                && script.contains("sealed-secret")
                && script.contains("all-namespaces"),
            "{shell}: mount and mount status"
        );
    }
    let out = run(&["completion", "tcsh"], None);
    assert_eq!(out.status.code(), Some(2));
}

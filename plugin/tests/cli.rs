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
    let renamed = sealed.replace("name: x", "name: y");
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
            "--name",
            "ignored",
            "--cert",
            cert,
            "--merge-into",
            s(&file),
        ],
        None,
    );
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
    let cert = secrets_core::keys::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
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
    assert!(
        stderr(&out).starts_with(&format!("kubectl-secrets: fetching certificate {url}")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn reseal_keeps_a_quoted_yes_a_string() {
    let dir = tempfile::tempdir().unwrap();
    let input = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: on\n  labels:\n    backup: \"yes\"\n    'on': 'off'\nstringData:\n  'y': 'n'\n";
    let file = dir.path().join("s.yaml");
    let sealed = ok(
        &["seal", "-f", "-", "--cert", s(&keys().cert)],
        Some(input.as_bytes()),
    );
    std::fs::write(&file, &sealed).unwrap();
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

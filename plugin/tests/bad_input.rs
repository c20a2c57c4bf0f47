//! Every bad input gets exit code 2 and one clear `kubectl-secrets: …` line naming the cause;
//! never a panic, a backtrace, a value, or output on stdout.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use common::*;

/// Files the cases refer to, made once.
struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    fn p(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }
}

fn fixtures() -> Fixtures {
    let dir = tempfile::tempdir().unwrap();
    let write =
        |name: &str, content: &[u8]| std::fs::write(dir.path().join(name), content).unwrap();
    let sealed = ok(
        &[
            "seal",
            "--from-literal",
            "password=hunter2",
            "--name",
            "db",
            "-n",
            "ns",
            "--cert",
            s(&keys().cert),
        ],
        None,
    );
    write("sealed.yaml", sealed.as_bytes());
    let value = |doc: &str| {
        doc.lines()
            .find(|l| l.contains("password: Ag"))
            .unwrap()
            .split_once(": ")
            .unwrap()
            .1
            .to_owned()
    };
    let ct = value(&sealed);
    write("truncated.yaml", sealed.replace(&ct, &ct[..200]).as_bytes());
    write("notb64.yaml", sealed.replace(&ct, "not*base64!").as_bytes());
    let mut tampered_bytes = unb64(&ct);
    let last = tampered_bytes.len() - 1;
    tampered_bytes[last] ^= 1;
    write(
        "tampered.yaml",
        sealed.replace(&ct, &b64(&tampered_bytes)).as_bytes(),
    );
    write(
        "moved.yaml",
        sealed
            .replace("namespace: ns", "namespace: other")
            .as_bytes(),
    );

    // An expired certificate and an EC one.
    let then = time::OffsetDateTime::from_unix_timestamp(1_500_000_000).unwrap();
    let old = secrets_core::seal::keys::generate(
        secrets_core::seal::keys::KeyBits::Rsa2048,
        "old",
        then,
        time::Duration::days(30),
    )
    .unwrap();
    write("expired.pem", old.certificate.pem().as_bytes());
    let ec = rcgen::generate_simple_self_signed(vec!["ec.test".to_owned()]).unwrap();
    write("ec.pem", ec.cert.pem().as_bytes());
    write("ec-key.pem", ec.signing_key.serialize_pem().as_bytes());
    write("garbage.pem", b"this is not a certificate\n");
    write(
        "broken.pem",
        b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    );
    write("big.bin", &vec![b'x'; 1024 * 1024 + 1]);
    write("bad-kubeconfig", b"current-context: [unclosed\n");
    write(
        "kubeconfig",
        b"apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: a\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: a\n  user: {token: t}\ncontexts:\n- name: a\n  context: {cluster: a, user: a}\n",
    );
    write("bad.env", b"NO_EQUALS_SIGN\n");
    write(
        "configmap.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    // RSA keys too weak to seal with, made by openssl now (never committed).
    test_support::weak_rsa_keys(dir.path());
    std::fs::create_dir(dir.path().join("a-directory")).unwrap();
    // --from-file DIR cases: plain files (no manifests), and a file whose name is no key.
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    write("keys/user", b"admin");
    std::fs::create_dir(dir.path().join("badkeys")).unwrap();
    write("badkeys/bad key", b"x");
    // A home directory without ~/.vault-token.
    std::fs::create_dir(dir.path().join("empty-home")).unwrap();
    Fixtures { dir }
}

struct Case {
    name: &'static str,
    args: Vec<String>,
    stdin: Option<String>,
    env: Vec<(&'static str, String)>,
    /// Text the one error line must contain.
    expect: &'static str,
}

fn case(name: &'static str, args: &[&str], expect: &'static str) -> Case {
    Case {
        name,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        stdin: None,
        env: vec![],
        expect,
    }
}

impl Case {
    fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_owned());
        self
    }

    fn env(mut self, key: &'static str, value: String) -> Self {
        self.env.push((key, value));
        self
    }
}

fn cases(f: &Fixtures) -> Vec<Case> {
    let cert = s(&keys().cert).to_owned();
    let key = s(&keys().key).to_owned();
    let other_key = s(&other_keys().key).to_owned();
    let seal = |extra: &[&str]| {
        let mut args = vec!["seal", "-f", "-", "--cert", cert.as_str()];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let lit = |extra: &[&str]| {
        let mut args = vec!["seal", "--cert", cert.as_str()];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let unseal = |file: &str, keys: &[&str]| {
        let mut args = vec!["unseal".to_owned(), "-f".to_owned(), f.p(file)];
        for k in keys {
            args.extend(["--private-key".to_owned(), (*k).to_owned()]);
        }
        args
    };
    let with = |name, args: Vec<String>, expect| Case {
        name,
        args,
        stdin: None,
        env: vec![],
        expect,
    };
    let good = "kind: Secret\nmetadata: {name: x, namespace: ns}\nstringData: {k: v}\n";
    let sync_create = |extra: &[&'static str]| {
        let mut args = vec![
            "sync", "create", "db", "-n", "team", "--store", "vault", "--key", "app/db",
        ];
        args.extend_from_slice(extra);
        args
    };
    vec![
        with("malformed yaml", seal(&[]), "invalid YAML").stdin("kind: Secret\nmetadata: [\n"),
        with("malformed json", seal(&[]), "invalid JSON").stdin("{\"kind\": \"Secret\", "),
        with("only other kinds", seal(&[]), "no Secret found in standard input")
            .stdin("apiVersion: v1\nkind: ConfigMap\n"),
        with("secret of another spelling", seal(&[]), "found v1 secret")
            .stdin("apiVersion: v1\nkind: secret\nmetadata: {name: x}\nstringData: {k: v}\n"),
        with("duplicate key", seal(&[]), "duplicate entry with key \"k\"").stdin(
            "kind: Secret\nmetadata: {name: x, namespace: ns}\nstringData:\n  k: a\n  k: b\n",
        ),
        with(
            "number where a string belongs",
            seal(&[]),
            "secret ns/x: stringData[\"port\"] is a number, expected a string (quote it",
        )
        .stdin("kind: Secret\nmetadata: {name: x, namespace: ns}\nstringData: {port: 5432}\n"),
        with(
            "boolean where a string belongs",
            seal(&[]),
            "secret ns/x: data[\"k\"] is a boolean, expected a string",
        )
        .stdin("kind: Secret\nmetadata: {name: x, namespace: ns}\ndata: {k: true}\n"),
        with(
            "string where a boolean belongs",
            seal(&[]),
            "secret ns/x: immutable is a string, expected true or false",
        )
        .stdin("kind: Secret\nmetadata: {name: x, namespace: ns}\nimmutable: 'yes'\nstringData: {k: v}\n"),
        with("binary tag", seal(&[]), "!!binary values are not supported").stdin(
            "kind: Secret\nmetadata: {name: x, namespace: ns}\nstringData: {k: !!binary '***'}\n",
        ),
        with(
            "endless manifest",
            vec![
                "seal".into(),
                "-f".into(),
                "/dev/zero".into(),
                "--cert".into(),
                cert.clone(),
            ],
            "reading /dev/zero: over the 16 MiB input limit",
        ),
        with(
            "endless value",
            lit(&["--from-file", "k=/dev/zero", "--name", "x", "-n", "ns"]),
            "reading /dev/zero: over the 1 MiB Secret limit",
        ),
        with(
            "key name for a directory",
            lit(&["--from-file", &format!("k={}", f.p("keys")), "--name", "x"]),
            "a key name cannot be given for a directory",
        ),
        with(
            "file in a directory that is no key",
            lit(&["--from-file", &f.p("badkeys"), "--name", "x"]),
            "data key \"bad key\" is invalid",
        ),
        with(
            "directory without manifests",
            vec![
                "seal".into(),
                "-f".into(),
                f.p("keys"),
                "--cert".into(),
                cert.clone(),
            ],
            "no .yaml, .yml or .json file in the directory",
        ),
        with(
            "merge-into with other kinds",
            vec![
                "seal".into(),
                "-f".into(),
                "-".into(),
                "--cert".into(),
                cert.clone(),
                "--merge-into".into(),
                f.p("sealed.yaml"),
            ],
            "--merge-into takes Secrets only, the input holds a ConfigMap",
        )
        .stdin(&format!("{good}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n")),
        with("wrong apiVersion", seal(&[]), "found v2 Secret")
            .stdin("apiVersion: v2\nkind: Secret\n"),
        with("missing name", seal(&[]), "no metadata.name")
            .stdin("kind: Secret\nstringData: {k: v}\n"),
        with(
            "invalid name",
            seal(&[]),
            "secret name \"Bad_Name\" is invalid",
        )
        .stdin("kind: Secret\nmetadata: {name: Bad_Name, namespace: ns}\nstringData: {k: v}\n"),
        with(
            "bad base64 in data",
            seal(&[]),
            "data[\"k\"] is not valid base64",
        )
        .stdin("kind: Secret\nmetadata: {name: x, namespace: ns}\ndata: {k: '%%%'}\n"),
        with("empty data", seal(&[]), "no data to seal")
            .stdin("kind: Secret\nmetadata: {name: x, namespace: ns}\n"),
        with("empty input", seal(&[]), "no Secret found").stdin(""),
        with("value shaped wrong", seal(&[]), "stringData[\"k\"] is a list, expected a string")
            .stdin("kind: Secret\nmetadata: {name: x}\nstringData: {k: [hunter2]}\n"),
        with(
            "conflicting namespaces",
            seal(&["-n", "b"]),
            "conflicts with --namespace \"b\"",
        )
        .stdin("kind: Secret\nmetadata: {name: x, namespace: a}\nstringData: {k: v}\n"),
        with(
            "invalid namespace",
            lit(&["--from-literal", "k=v", "--name", "x", "-n", "Bad NS"]),
            "namespace \"Bad NS\" is invalid",
        ),
        with(
            "unknown scope",
            lit(&["--from-literal", "k=v", "--name", "x", "--scope", "wide"]),
            "invalid value 'wide' for '--scope",
        ),
        with(
            "unreadable file",
            vec![
                "seal".into(),
                "-f".into(),
                "/nonexistent/secret.yaml".into(),
                "--cert".into(),
                cert.clone(),
            ],
            "reading /nonexistent/secret.yaml",
        ),
        with(
            "directory as input",
            vec![
                "seal".into(),
                "-f".into(),
                f.p(""),
                "--cert".into(),
                cert.clone(),
            ],
            "no Secret found in",
        ),
        with(
            "control characters",
            seal(&[]),
            "reading standard input: document 1: invalid YAML",
        )
        .stdin("\u{0}\u{ff}"),
        case(
            "no cert",
            &["seal", "--from-literal", "k=v", "--name", "x", "-n", "ns"],
            "no sealing certificate",
        ),
        with(
            "cert file missing",
            vec![
                "seal".into(),
                "--from-literal".into(),
                "k=v".into(),
                "--name".into(),
                "x".into(),
                "-n".into(),
                "ns".into(),
                "--cert".into(),
                "/missing/cert.pem".into(),
            ],
            "reading certificate /missing/cert.pem",
        ),
        with(
            "cert not PEM",
            vec![
                "seal".into(),
                "--cert".into(),
                f.p("garbage.pem"),
                "--from-literal".into(),
                "k=v".into(),
                "--name".into(),
                "x".into(),
                "-n".into(),
                "ns".into(),
            ],
            "no CERTIFICATE PEM block",
        ),
        with(
            "cert PEM broken",
            vec![
                "seal".into(),
                "--cert".into(),
                f.p("broken.pem"),
                "--from-literal".into(),
                "k=v".into(),
                "--name".into(),
                "x".into(),
                "-n".into(),
                "ns".into(),
            ],
            "malformed",
        ),
        with(
            "expired cert",
            vec![
                "seal".into(),
                "--cert".into(),
                f.p("expired.pem"),
                "--from-literal".into(),
                "k=v".into(),
                "--name".into(),
                "x".into(),
                "-n".into(),
                "ns".into(),
            ],
            "the certificate expired on 2017-08-13",
        ),
        with(
            "non-RSA cert",
            vec![
                "seal".into(),
                "--cert".into(),
                f.p("ec.pem"),
                "--from-literal".into(),
                "k=v".into(),
                "--name".into(),
                "x".into(),
                "-n".into(),
                "ns".into(),
            ],
            "not an RSA key",
        ),
        with(
            "literal without =",
            lit(&["--from-literal", "novalue", "--name", "x"]),
            "--from-literal expects KEY=VALUE",
        ),
        with(
            "invalid key",
            lit(&["--from-literal", "a/b=v", "--name", "x"]),
            "data key \"a/b\" is invalid",
        ),
        with(
            "duplicate key",
            lit(&[
                "--from-literal",
                "k=1",
                "--from-literal",
                "k=2",
                "--name",
                "x",
            ]),
            "key \"k\" is given more than once",
        ),
        with(
            "flags without name",
            lit(&["--from-literal", "k=v"]),
            "--name is required",
        ),
        with(
            "-f and --from-literal",
            lit(&["-f", "x.yaml", "--from-literal", "k=v", "--name", "x"]),
            "not both",
        ),
        with(
            "env file line",
            lit(&["--from-env-file", &f.p("bad.env"), "--name", "x"]),
            "line 1: expected KEY=VALUE",
        ),
        with(
            "value over 1 MiB",
            lit(&[
                "--from-file",
                &format!("big={}", f.p("big.bin")),
                "--name",
                "x",
                "-n",
                "ns",
            ]),
            "over the 1 MiB Secret limit",
        ),
        with(
            "from-file missing",
            lit(&["--from-file", "/missing/file", "--name", "x"]),
            "--from-file /missing/file",
        ),
        with(
            "raw strict without name",
            lit(&["--raw", "--from-literal", "k=v", "-n", "ns"]),
            "--raw with strict scope needs --name",
        ),
        with(
            "raw two values",
            lit(&[
                "--raw",
                "--from-literal",
                "a=1",
                "--from-literal",
                "b=2",
                "--name",
                "x",
            ]),
            "exactly one value",
        ),
        with(
            "merge into a non-SealedSecret",
            lit(&[
                "--from-literal",
                "k=v",
                "--name",
                "x",
                "--merge-into",
                &f.p("configmap.yaml"),
            ]),
            "expected a SealedSecret",
        ),
        with(
            "merge into with another name",
            lit(&[
                "--from-literal",
                "k=v",
                "--name",
                "other",
                "--merge-into",
                &f.p("sealed.yaml"),
            ]),
            "--name \"other\" conflicts with",
        ),
        with(
            "merge into with another namespace",
            lit(&[
                "--from-literal",
                "k=v",
                "-n",
                "elsewhere",
                "--merge-into",
                &f.p("sealed.yaml"),
            ]),
            "--namespace \"elsewhere\" conflicts with",
        ),
        with(
            "merge into with another scope",
            lit(&[
                "--from-literal",
                "k=v",
                "--scope",
                "cluster-wide",
                "--merge-into",
                &f.p("sealed.yaml"),
            ]),
            "--scope cluster-wide conflicts with",
        ),
        with(
            "merge into with -o",
            lit(&[
                "--from-literal",
                "k=v",
                "-o",
                "json",
                "--merge-into",
                &f.p("sealed.yaml"),
            ]),
            "'--output <OUTPUT>' cannot be used with '--merge-into <FILE>'",
        ),
        with(
            "raw with -o",
            lit(&[
                "--raw",
                "--from-literal",
                "k=v",
                "--name",
                "x",
                "-o",
                "json",
            ]),
            "'--raw' cannot be used with '--output <OUTPUT>'",
        ),
        with(
            "type without its keys",
            lit(&[
                "--from-literal",
                "k=v",
                "--name",
                "x",
                "-n",
                "ns",
                "--type",
                "kubernetes.io/ssh-auth",
            ]),
            "sealing ns/x: a Secret of type kubernetes.io/ssh-auth needs the key ssh-privatekey; it has keys k",
        ),
        with(
            "cert too small",
            vec![
                "seal".into(),
                "--cert".into(),
                f.p("rsa1024-cert.pem"),
                "--from-literal".into(),
                "k=v".into(),
                "--name".into(),
                "x".into(),
                "-n".into(),
                "ns".into(),
            ],
            "the RSA key is 1024 bits: sealing needs 2048 to 8192 bits",
        ),
        with(
            "cert exponent unusable",
            vec![
                "seal".into(),
                "--cert".into(),
                f.p("rsa-big-exponent-cert.pem"),
                "--from-literal".into(),
                "k=v".into(),
                "--name".into(),
                "x".into(),
                "-n".into(),
                "ns".into(),
            ],
            "the RSA key's public exponent is not usable",
        ),
        with(
            "unseal key too small",
            unseal("sealed.yaml", &[&f.p("rsa1024-pkcs1.pem")]),
            "the RSA key is 1024 bits: sealing needs 2048 to 8192 bits",
        ),
        with(
            "cert is a directory",
            vec![
                "seal".into(),
                "--cert".into(),
                f.p("a-directory"),
                "--from-literal".into(),
                "k=v".into(),
                "--name".into(),
                "x".into(),
                "-n".into(),
                "ns".into(),
            ],
            "a-directory: is a directory",
        ),
        with(
            "output file in a missing directory",
            lit(&[
                "--from-literal",
                "k=v",
                "--name",
                "x",
                "-n",
                "ns",
                "--output-file",
                "/missing/dir/out.yaml",
            ]),
            "writing /missing/dir/out.yaml: creating a file in /missing/dir: no such file or directory",
        ),
        with(
            "keys generate into one file",
            vec![
                "keys".into(),
                "generate".into(),
                "--cert-out".into(),
                f.p("one.pem"),
                "--key-out".into(),
                f.p("./one.pem"),
            ],
            "are the same file",
        ),
        with(
            "keys generate key to stdout",
            vec![
                "keys".into(),
                "generate".into(),
                "--cert-out".into(),
                f.p("c.pem"),
                "--key-out".into(),
                "-".into(),
            ],
            "--key-out - would print the private key",
        ),
        case(
            "unattended without data",
            &["seal", "--cert", "c.pem"],
            "no data to seal: pass -f FILE",
        ),
        with(
            "bad kubeconfig",
            lit(&["--from-literal", "k=v", "--name", "x"]),
            "parsing kubeconfig",
        )
        .env("KUBECONFIG", f.p("bad-kubeconfig")),
        with(
            "unknown context",
            lit(&["--from-literal", "k=v", "--name", "x", "--context", "nope"]),
            "context \"nope\" not found",
        )
        .env(
            "KUBECONFIG",
            f.p("bad-kubeconfig")
                .replace("bad-kubeconfig", "sealed.yaml"),
        ),
        with(
            "unseal truncated",
            unseal("truncated.yaml", &[&key]),
            "value is truncated",
        ),
        with(
            "unseal not base64",
            unseal("notb64.yaml", &[&key]),
            "not valid base64",
        ),
        with(
            "unseal tampered",
            unseal("tampered.yaml", &[&key]),
            "tampered with",
        ),
        with(
            "unseal wrong key",
            unseal("sealed.yaml", &[&other_key]),
            "with 1 key(s) under scope label \"ns/db\" (strict)",
        ),
        with(
            "unseal wrong scope label",
            unseal("moved.yaml", &[&other_key, &key]),
            "none of the 2 keys opens this value",
        ),
        with(
            "unseal a Secret",
            vec![
                "unseal".into(),
                "-f".into(),
                "-".into(),
                "--private-key".into(),
                key.clone(),
            ],
            "expected a SealedSecret",
        )
        .stdin(good),
        with(
            "unseal key is a cert",
            unseal("sealed.yaml", &[&cert]),
            "no PRIVATE KEY PEM block",
        ),
        with(
            "unseal EC key",
            unseal("sealed.yaml", &[&f.p("ec-key.pem")]),
            "reading private key",
        ),
        with(
            "unseal key missing",
            unseal("sealed.yaml", &["/missing/key.pem"]),
            "reading private key /missing/key.pem",
        ),
        case(
            "unseal without key",
            &["unseal", "-f", "x.yaml"],
            "--private-key",
        ),
        with(
            "keys generate over an existing key",
            vec![
                "keys".into(),
                "generate".into(),
                "--cert-out".into(),
                f.p("new.pem"),
                "--key-out".into(),
                key.clone(),
            ],
            "already exists; pass --force",
        ),
        with(
            "verify without kubeconfig",
            vec!["verify".into(), f.p("sealed.yaml")],
            "no kubeconfig found",
        ),
        with(
            "verify a Secret",
            vec!["verify".into(), "-".into()],
            "expected a SealedSecret",
        )
        .stdin(good),
        with(
            "verify bad request timeout",
            vec![
                "verify".into(),
                f.p("sealed.yaml"),
                "--request-timeout".into(),
                "soon".into(),
            ],
            "--request-timeout \"soon\" is not a duration",
        )
        .env("KUBECONFIG", f.p("kubeconfig")),
        with(
            "status unknown context",
            vec!["status".into(), "--context".into(), "nope".into()],
            "loading context \"nope\"",
        )
        .env("KUBECONFIG", f.p("kubeconfig")),
        with(
            "reseal key without cert",
            vec![
                "reseal".into(),
                f.p("sealed.yaml"),
                "--private-key".into(),
                key.clone(),
            ],
            "--cert",
        ),
        case("reseal without files", &["reseal"], "FILE"),
        with(
            "backup over an existing file",
            vec![
                "keys".into(),
                "backup".into(),
                "--output-file".into(),
                f.p("sealed.yaml"),
            ],
            "already exists; pass --force",
        ),
        with(
            "restore a PEM key",
            vec!["keys".into(), "restore".into(), key.clone()],
            "a PEM key alone is not a backup",
        ),
        with(
            "restore a certificate",
            vec!["keys".into(), "restore".into(), cert.clone()],
            "no PRIVATE KEY PEM block",
        ),
        with(
            "restore a missing file",
            vec![
                "keys".into(),
                "restore".into(),
                "/missing/backup.yaml".into(),
            ],
            "reading /missing/backup.yaml",
        ),
        case("fetch secret without name", &["fetch", "secret"], "NAME"),
        case(
            "fetch cert without kubeconfig",
            &["fetch", "cert"],
            "no kubeconfig found",
        ),
        case(
            "sync create bad duration",
            &sync_create(&["--refresh", "1d"]),
            "spec.refreshInterval: duration \"1d\" has unknown unit \"d\"",
        ),
        case(
            "sync create bad secret key",
            &sync_create(&["--property", "password", "--secret-key", "bad key"]),
            "spec.data[0].secretKey \"bad key\" must match",
        ),
        case(
            "sync create two keys for one property",
            &sync_create(&["--property", "p", "--secret-key", "a", "--secret-key", "b"]),
            "at most one Secret key per property",
        ),
        case(
            "sync create bad name",
            &[
                "sync", "create", "Bad_Name", "--store", "s", "--key", "k", "-o", "yaml",
            ],
            "checking the ExternalSecret's name",
        ),
        case(
            "sync create without store",
            &["sync", "create", "db", "--key", "app/db"],
            "required arguments were not provided: --store <NAME>",
        ),
        case(
            "sync create bad store kind",
            &sync_create(&["--store-kind", "Cluster"]),
            "invalid value 'Cluster' for '--store-kind <KIND>'",
        ),
        case(
            "sync create bad creation policy",
            &sync_create(&["--creation-policy", "owner"]),
            "[possible values: Owner, Orphan, Merge, None]",
        ),
        case(
            "sync wizard unattended",
            &["sync"],
            "`sync` alone is a wizard for a person at a terminal: pass `sync create NAME",
        ),
        case(
            "sync now bad timeout",
            &["sync", "now", "db", "--timeout", "soon"],
            "--timeout: duration \"soon\"",
        ),
        case(
            "sync status name and -A",
            &["sync", "status", "db", "-A"],
            "cannot be used with",
        ),
        // Which credentials are the person's depends on the store's provider, so the store
        // is read first; tests/sync.rs checks "no vault token of yours" with a cluster.
        with(
            "fetch remote without a cluster",
            vec![
                "fetch".into(),
                "remote".into(),
                "--store".into(),
                "vault".into(),
                "--key".into(),
                "app/db".into(),
            ],
            "no kubeconfig found",
        )
        .env("HOME", f.p("empty-home"))
        .env("VAULT_TOKEN", String::new())
        .env("BAO_TOKEN", String::new()),
        case(
            "fetch remote without key",
            &["fetch", "remote", "--store", "vault"],
            "--key <PATH>",
        ),
        case(
            "unknown subcommand",
            &["frobnicate"],
            "unrecognized subcommand 'frobnicate'",
        ),
    ]
}

#[test]
fn bad_inputs_fail_cleanly() {
    let f = fixtures();
    let cases = cases(&f);
    assert!(
        cases.len() >= 25,
        "the table must stay at least 25 cases long"
    );
    let mut failures = Vec::new();
    for case in &cases {
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let mut env: Vec<(&str, &str)> = vec![
            ("KUBECONFIG", "/nonexistent/kubeconfig"),
            ("RUST_BACKTRACE", "1"),
        ];
        env.extend(case.env.iter().map(|(k, v)| (*k, v.as_str())));
        let out = run_env(&args, case.stdin.as_deref().map(str::as_bytes), &env);
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().collect();
        if std::env::var_os("SHOW_ERRORS").is_some() {
            eprintln!("{:<34} {}", case.name, err.trim_end());
        }
        let problems = [
            (
                out.status.code() != Some(2),
                format!("exit code {:?}", out.status.code()),
            ),
            (!out.stdout.is_empty(), "wrote to stdout".to_owned()),
            (lines.len() != 1, format!("{} stderr lines", lines.len())),
            (
                !err.starts_with("kubectl-secrets: "),
                "no kubectl-secrets: prefix".to_owned(),
            ),
            (
                !err.contains(case.expect),
                format!("missing {:?}", case.expect),
            ),
            (
                err.contains("panicked") || err.contains("backtrace"),
                "panic".to_owned(),
            ),
            (err.contains("hunter2"), "leaked a value".to_owned()),
            (err.contains("os error"), "a raw io error".to_owned()),
            (
                err.contains(".kubectl-secrets-"),
                "a temporary file's name".to_owned(),
            ),
        ];
        for (bad, why) in problems {
            if bad {
                failures.push(format!(
                    "{}: {why}\n    stderr: {}",
                    case.name,
                    err.trim_end()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

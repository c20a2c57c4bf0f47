//! Edge cases of the Git checks: paths, placeholders, the prefilter, odd streams, timing, and
//! properties over arbitrary input.

use super::tests::files;
use super::*;

#[test]
fn wanted_paths() {
    for path in [
        "a/b.yaml",
        "c.yml",
        "d.JSON",
        "kustomize/Kustomization",
        ".env",
        ".env.production",
        "keys/master.key",
        "tls.pem",
        "home/.ssh/id_ed25519",
        "secrets/db-password.txt",
        ".github/workflows/ci.yml",
        ".husky/pre-commit",
        "Jenkinsfile",
    ] {
        assert!(wanted_path(path, 100), "{path}");
    }
    for path in [
        "src/main.rs",
        "logo.png",
        ".git/config",
        "node_modules/x/package.json",
    ] {
        assert!(!wanted_path(path, 100), "{path}");
    }
    assert!(!wanted_path("big.yaml", MAX_FILE_BYTES + 1));
}

#[test]
fn placeholders_are_decided_case_insensitively() {
    for text in [
        "",
        "  ",
        "${X}",
        "a${X}b",
        "$(TOKEN)",
        "ChangeMe",
        "REPLACE_ME",
        "todo",
        "<secret>",
        "xXxX",
        "****",
        "...",
        "{{ .Values.x }}",
        "ENC[AES256_GCM,data:x,type:str]",
    ] {
        assert!(!placeholder::is_real_text(text), "{text:?}");
    }
    for text in [
        "hunter2",
        "$notavar",
        "x",
        "xx",
        "<unterminated",
        "$()",
        "changeme2",
    ] {
        assert!(placeholder::is_real_text(text), "{text:?}");
    }
    assert!(placeholder::is_real(&[0xff, 0x00]));
}

#[test]
fn arbitrary_bytes_never_panic() {
    for bytes in [
        &b"kind: Secret\n\xff\xfe"[..],
        b"{\"kind\": \"Secret\", \"data\": {\"a\": 1",
        b"---\n---\nkind: Secret\ndata: [1, 2]\n",
        b"-----BEGIN PRIVATE KEY-----",
        b"sops: 3\nkind: Secret\nstringData: 5\n",
        b"kind: List\nitems: {a: b}\n---\n- kind: Secret\n",
    ] {
        let file = GitFile {
            path: "x.yaml",
            bytes,
        };
        let _ = scan_tree(&[file]);
        let _ = scan_blob(&file, "c");
    }
}

#[test]
fn the_prefilter_finds_every_spelling_of_kind_secret() {
    for text in [
        "kind: Secret\n",
        "kind: 'Secret'\n",
        "{\"apiVersion\":\"v1\",\"kind\":\"Secret\"}",
        "- {kind: Secret, data: {}}",
        "kind:Secret",
    ] {
        assert!(shape::worth_parsing(text), "{text}");
    }
    for text in [
        "kind: SealedSecret\n",
        "kind: ExternalSecret\n",
        "kind: SecretProviderClass\n",
        "name: Secret\n",
        "Secret",
    ] {
        assert!(!shape::worth_parsing(text), "{text}");
    }
}

/// A checkout of 10,000 files, a few of them Secrets: the scan stays well inside the plugin's
/// 2 s budget (measured in debug builds here; `cargo xtask bench` measures release).
#[test]
fn ten_thousand_files_scan_quickly() {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app:1\n        envFrom:\n        - secretRef: {name: app}\n".repeat(4);
    let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: n}\nstringData: {k: v4lue-S3CRET}\n";
    let tree: Vec<(String, Vec<u8>)> = (0..10_000)
        .map(|i| {
            let text = if i % 500 == 0 { secret } else { &deployment };
            (format!("apps/{i}/deploy.yaml"), text.as_bytes().to_vec())
        })
        .collect();
    let started = std::time::Instant::now();
    let findings = scan_tree(&files(&tree));
    let elapsed = started.elapsed();
    assert_eq!(findings.iter().filter(|f| f.id == "GIT010").count(), 20);
    assert!(elapsed.as_secs_f64() < 10.0, "{elapsed:?}");
    println!("10,000 files: {elapsed:?}");
}

#[test]
fn directives_comments_and_arrays() {
    let text = "%YAML 1.2\n---\n# creds\napiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {k: v4lue}\n---\n---\n[{\"kind\": \"Secret\", \"apiVersion\": \"v1\", \"metadata\": {\"name\": \"b\"}, \"data\": {\"k\": \"djRsdWU=\"}}]\n";
    let file = GitFile {
        path: "x.yaml",
        bytes: text.as_bytes(),
    };
    let findings = scan_tree(&[file]);
    let lines: Vec<_> = findings
        .iter()
        .filter(|f| f.id == "GIT010")
        .map(|f| (f.via[0].clone(), f.location.as_ref().unwrap().line))
        .collect();
    assert_eq!(
        lines,
        [("document 1".to_owned(), 5), ("document 2".to_owned(), 10)],
        "{findings:#?}"
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn scan_text(text: &str) -> Vec<Finding> {
        let file = GitFile {
            path: "x.yaml",
            bytes: text.as_bytes(),
        };
        let mut findings = scan_tree(&[file]);
        findings.extend(scan_blob(&file, "c0ffee"));
        findings
    }

    proptest! {
        #[test]
        fn never_panics(text in "(kind: Secret\n|---\n|data:\n|  k: |sops:\n|\\{|\\[|\"|.){0,60}") {
            let _ = scan_text(&text);
            let key = crate::seal::keys::testing::key2048();
            let _ = plan_fix(&text, Some("ns"), key.certificate.public_key());
        }

        #[test]
        fn values_never_reach_a_finding(value in "[a-zA-Z0-9]{12,24}", yaml in any::<bool>()) {
            let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &value);
            let text = if yaml {
                format!("kind: Secret\napiVersion: v1\nmetadata: {{name: s}}\nstringData:\n  a: {value}\ndata:\n  b: {encoded}\n")
            } else {
                format!("{{\"kind\": \"Secret\", \"stringData\": {{\"a\": \"{value}\"}}, \"data\": {{\"b\": \"{encoded}\"}}}}")
            };
            let findings = scan_text(&text);
            prop_assert_eq!(findings.iter().filter(|f| f.id == "GIT010").count(), 1);
            let json = serde_json::to_string(&findings).unwrap();
            prop_assert!(!json.contains(&value) && !json.contains(&encoded), "{}", json);
        }
    }
}

#[test]
fn one_key_finding_per_line() {
    let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7".repeat(2);
    let pem = format!("-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n");
    let text = format!("{{\"a\": \"{pem}\", \"b\": \"{pem}\"}}\n");
    let file = GitFile {
        path: "keys.json",
        bytes: text.as_bytes(),
    };
    let findings = scan_tree(&[file]);
    let keys: Vec<_> = findings.iter().filter(|f| f.id == "GIT030").collect();
    assert_eq!(keys.len(), 1, "{findings:#?}");
    assert!(
        !serde_json::to_string(&findings)
            .unwrap()
            .contains(&body[..20])
    );
}

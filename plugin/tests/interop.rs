//! Interop with an independent implementation: kubesealpy (Python, on `cryptography`).
//! What we seal, it unseals; what it seals, we unseal; every scope, a binary value holding
//! every byte 0x00–0xff, and a 1 MiB value.
//!
//! Needs the Python venv that `cargo xtask test` installs (`.tools/venv`, or the interpreter
//! in `KUBECTL_SECRETS_TEST_PYTHON`). Without it the test fails and says so: it is never
//! skipped silently.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;

fn python() -> PathBuf {
    let path = std::env::var_os("KUBECTL_SECRETS_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv/bin/python")
        });
    assert!(
        path.exists(),
        "the interop test needs kubesealpy: run `cargo xtask test` (it installs .tools/venv), \
         or set KUBECTL_SECRETS_TEST_PYTHON to a Python with kubesealpy (looked for {})",
        path.display()
    );
    path
}

fn peer(args: &[&str], stdin: &[u8]) -> String {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/kubesealpy_peer.py"
    );
    let mut child = Command::new(python())
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubesealpy {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn values(big: bool) -> BTreeMap<String, Vec<u8>> {
    let mut v = BTreeMap::new();
    if big {
        // Exactly the 1 MiB Secret limit, with a pattern so truncation or reordering shows.
        v.insert(
            "big".to_owned(),
            (0..1024 * 1024).map(|i: u32| (i % 251) as u8).collect(),
        );
    } else {
        v.insert("binary".to_owned(), (0..=255u8).collect());
        v.insert("text".to_owned(), "pässwörd ✓".as_bytes().to_vec());
        v.insert("empty".to_owned(), Vec::new());
    }
    v
}

const SCOPES: [&str; 3] = ["strict", "namespace-wide", "cluster-wide"];

#[test]
fn kubesealpy_unseals_what_we_seal() {
    let dir = tempfile::tempdir().unwrap();
    let cases = SCOPES.iter().map(|s| (*s, false, "bitnami")).chain([
        ("strict", true, "bitnami"),
        ("namespace-wide", false, "native"),
    ]);
    for (scope, big, format) in cases {
        let want = values(big);
        let mut args = vec![
            "seal".to_owned(),
            "--name".into(),
            "db".into(),
            "-n".into(),
            "team-a".into(),
            "--scope".into(),
            scope.into(),
            "--cert".into(),
            s(&keys().cert).into(),
            "--format".into(),
            format.into(),
        ];
        for key in want.keys() {
            let file = dir.path().join(key);
            std::fs::write(&file, &want[key]).unwrap();
            args.extend(["--from-file".to_owned(), format!("{key}={}", s(&file))]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let sealed = ok(&args, None);
        let path = dir.path().join("sealed.yaml");
        std::fs::write(&path, &sealed).unwrap();
        let json = peer(&["unseal", s(&path), s(&keys().key)], b"");
        let got: BTreeMap<String, String> = serde_json::from_str(&json).unwrap();
        let got: BTreeMap<String, Vec<u8>> = got.into_iter().map(|(k, v)| (k, unb64(&v))).collect();
        assert_eq!(
            got, want,
            "kubesealpy unsealing our {scope} ({format}, big={big}) output"
        );
    }
}

#[test]
fn we_unseal_what_kubesealpy_seals() {
    for (scope, big) in SCOPES
        .iter()
        .map(|s| (*s, false))
        .chain([("cluster-wide", true)])
    {
        let want = values(big);
        let input: BTreeMap<&str, String> =
            want.iter().map(|(k, v)| (k.as_str(), b64(v))).collect();
        let sealed = peer(
            &["seal", s(&keys().cert), "db", "team-a", scope],
            serde_json::to_string(&input).unwrap().as_bytes(),
        );
        assert_eq!(
            unseal_data(&sealed),
            want,
            "we unseal kubesealpy's {scope} (big={big}) output"
        );
        // The scope is bound: a strict value refuses another name.
        if scope == "strict" {
            let renamed = sealed.replace("name: db", "name: other");
            let out = run(
                &["unseal", "-f", "-", "--private-key", s(&keys().key)],
                Some(renamed.as_bytes()),
            );
            assert_eq!(out.status.code(), Some(2));
        }
    }
}

//! Helpers for tests that spawn the built `kubectl-secrets` binary.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: a failed setup should fail the test"
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub mod clouds;
pub mod fake_agent;
pub mod mount;
pub mod sync;

pub const BIN: &str = env!("CARGO_BIN_EXE_kubectl-secrets");

/// A key pair made once per test binary by `keys generate` (RSA-4096 takes a moment).
pub struct Keys {
    _dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(generate)
}

/// A second, unrelated key pair.
pub fn other_keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(generate)
}

fn generate() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let out = run(
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
    assert!(
        out.status.success(),
        "keys generate failed: {}",
        stderr(&out)
    );
    Keys {
        _dir: dir,
        cert,
        key,
    }
}

pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Run the binary with `args`, optional stdin, and a kubeconfig that does not exist (so no
/// developer's real kubeconfig leaks into a test).
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    run_env(args, stdin, &[("KUBECONFIG", "/nonexistent/kubeconfig")])
}

pub fn run_env(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("KUBECTL_SECRETS_CERT")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // A process that fails early may close stdin first; that is its answer, not ours.
        let _ = pipe.write_all(input);
    }
    child.wait_with_output().unwrap()
}

/// `command` in a pseudo-terminal, as a person would run it: 30 s per expectation, ANSI
/// escapes stripped from what is read.
/// Everything a person saw in a pty session, checked at the end for the one value
/// (`sync::DB_PASSWORD`) that must never be shown.
pub struct Screen(pub String);

impl Screen {
    pub fn expect(&mut self, p: &mut rexpect::session::PtySession, text: &str) {
        let seen = p
            .exp_string(text)
            .unwrap_or_else(|e| panic!("waiting for {text:?}: {e}\nscreen so far:\n{}", self.0));
        self.0.push_str(&seen);
        self.0.push_str(text);
    }

    pub fn answer(&mut self, p: &mut rexpect::session::PtySession, prompt: &str, line: &str) {
        self.expect(p, prompt);
        p.send_line(line).unwrap();
    }

    pub fn end(&mut self, p: &mut rexpect::session::PtySession) {
        self.0.push_str(&p.exp_eof().unwrap());
        assert!(
            !self.0.contains(sync::DB_PASSWORD),
            "a value was shown:\n{}",
            self.0
        );
    }
}

pub fn pty(mut command: Command) -> rexpect::session::PtySession {
    command.env("TERM", "xterm-256color");
    let timeout = std::time::Duration::from_secs(30).as_millis() as u64;
    rexpect::session::spawn_with_options(
        command,
        rexpect::reader::Options::new()
            .timeout_ms(Some(timeout))
            .strip_ansi_escape_codes(true),
    )
    .unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Run and require success; returns stdout.
pub fn ok(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = run(args, stdin);
    assert!(
        out.status.success(),
        "kubectl-secrets {args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// Unseal `sealed` with the shared key and return `data` decoded.
pub fn unseal_data(sealed: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let json = ok(
        &[
            "unseal",
            "-f",
            "-",
            "--private-key",
            s(&keys().key),
            "-o",
            "json",
        ],
        Some(sealed.as_bytes()),
    );
    let secret: serde_json::Value = serde_json::from_str(&json).unwrap();
    secret["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), unb64(v.as_str().unwrap())))
        .collect()
}

//! A real moto server (AWS Secrets Manager and STS on loopback) per test, and helpers that set
//! up secrets through its own API.
//!
//! Data flow: [`Moto::start`] picks a free 127.0.0.1 port, spawns `moto_server` from
//! [`moto_bin`] (the venv `cargo xtask test` installs from `xtask/requirements-moto.txt`) with
//! its output in a log file in a private temporary directory for its whole life, and polls
//! `GET /moto-api/` until it answers. Test code then calls the helpers below, which POST the
//! Secrets Manager JSON protocol (`X-Amz-Target: secretsmanager.<Op>`) with a dummy SigV4
//! `Authorization` header — moto accepts any signature, and reads the region from the header's
//! credential scope — and hand back the JSON answer. Dropping the value kills and reaps the
//! server.
//!
//! Accounts: moto files everything the dummy keys create under [`Moto::ACCOUNT`]; keys that
//! its STS hands out for a role in that account see the same secrets, so tests name their
//! roles `arn:aws:iam::123456789012:role/...`.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tempfile::TempDir;
use ureq::http;

use crate::tools::workspace_root;

/// The environment variable `cargo xtask test` sets to the moto venv's `bin/`.
const MOTO_BIN_ENV: &str = "KUBECTL_SECRETS_MOTO_BIN";
/// moto is usually ready in about a second; the margin is for a busy 2-core machine.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// Attempts; another is made only when the server exited during start-up (a lost port).
const START_ATTEMPTS: u32 = 3;
const MAX_PROBE_INTERVAL: Duration = Duration::from_millis(100);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const LOG_TAIL_LINES: usize = 40;
/// Inherited variables that would change what moto does (its own settings) or make the
/// server's Python pick up a developer's AWS profile.
const INHERITED_ENV_TO_DROP: [&str; 6] = [
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "MOTO_ACCOUNT_ID",
    "TEST_SERVER_MODE",
];

/// The directory holding `moto_server`: `$KUBECTL_SECRETS_MOTO_BIN`, else
/// `<workspace>/.tools/moto-venv/bin`.
///
/// # Panics
/// When `moto_server` is not there; the message says how to install it.
pub fn moto_bin() -> PathBuf {
    let (dir, source) = match std::env::var_os(MOTO_BIN_ENV) {
        Some(dir) if !dir.is_empty() => (PathBuf::from(dir), MOTO_BIN_ENV),
        _ => (
            workspace_root()
                .join(".tools")
                .join("moto-venv")
                .join("bin"),
            "the default location",
        ),
    };
    assert!(
        dir.join("moto_server").is_file(),
        "moto_server not found in {} ({source}); run `cargo xtask test`, which installs it \
         from xtask/requirements-moto.txt into .tools/moto-venv and sets {MOTO_BIN_ENV}, or set \
         {MOTO_BIN_ENV} to a directory holding it",
        dir.display(),
    );
    dir
}

/// An error answer from moto: HTTP status, the AWS error `__type` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotoError {
    pub status: u16,
    pub kind: String,
    pub message: String,
}

impl std::fmt::Display for MotoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.kind, self.message)
    }
}

/// A running `moto_server`, killed and reaped on drop.
pub struct Moto {
    child: Child,
    url: String,
    agent: ureq::Agent,
    /// The log file; deleted after the child is reaped.
    dir: TempDir,
}

/// What a secret value is: text (`SecretString`) or bytes (`SecretBinary`).
#[derive(Debug, Clone, Copy)]
pub enum SecretValue<'a> {
    String(&'a str),
    Binary(&'a [u8]),
}

impl SecretValue<'_> {
    fn insert_into(self, body: &mut Value) {
        match self {
            SecretValue::String(text) => body["SecretString"] = json!(text),
            SecretValue::Binary(bytes) => {
                body["SecretBinary"] =
                    json!(base64::engine::general_purpose::STANDARD.encode(bytes));
            }
        }
    }
}

enum StartFailure {
    Exited(ExitStatus),
    TimedOut,
}

impl Moto {
    /// The account moto files the dummy keys' resources under.
    pub const ACCOUNT: &'static str = "123456789012";
    /// The region the helpers work in (the agent's stores name it as `region`).
    pub const REGION: &'static str = "us-east-1";

    /// Start a server on a free 127.0.0.1 port and wait until it answers.
    ///
    /// # Panics
    /// If moto is missing or does not become ready in time (with the tail of its log).
    pub fn start() -> Self {
        let program = moto_bin().join("moto_server");
        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            let mut server = Self::spawn(&program, free_port());
            match server.wait_ready(Instant::now() + START_DEADLINE) {
                Ok(()) => return server,
                Err(StartFailure::Exited(status)) => failures.push(format!(
                    "attempt {attempt}: moto exited during start-up ({status}); log tail:\n{}",
                    server.log_tail()
                )),
                Err(StartFailure::TimedOut) => panic!(
                    "moto at {} not ready within {START_DEADLINE:?}; log tail:\n{}",
                    server.url,
                    server.log_tail()
                ),
            }
        }
        panic!(
            "moto failed to start {START_ATTEMPTS} times:\n{}",
            failures.join("\n")
        );
    }

    fn spawn(program: &Path, port: u16) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("moto-")
            .tempdir()
            .expect("creating a temporary directory for moto");
        let log = File::create(dir.path().join("moto.log")).expect("creating the moto log file");
        let log_err = log.try_clone().expect("duplicating the moto log handle");
        let mut command = Command::new(program);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("HOME", dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        for name in INHERITED_ENV_TO_DROP {
            command.env_remove(name);
        }
        let child = command.spawn().expect("spawning moto_server");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            agent: ureq::Agent::new_with_config(
                ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(REQUEST_TIMEOUT))
                    .build(),
            ),
            dir,
        }
    }

    fn wait_ready(&mut self, deadline: Instant) -> Result<(), StartFailure> {
        let mut interval = Duration::from_millis(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(StartFailure::Exited(status));
            }
            let answered = self
                .agent
                .get(format!("{}/moto-api/", self.url))
                .config()
                .timeout_global(Some(PROBE_TIMEOUT))
                .build()
                .call()
                .is_ok_and(|response| response.status() == http::StatusCode::OK);
            if answered {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StartFailure::TimedOut);
            }
            std::thread::sleep(interval.min(deadline - now));
            interval = (interval * 2).min(MAX_PROBE_INTERVAL);
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }

    /// `http://127.0.0.1:PORT`, what `AWS_ENDPOINT_URL` takes (or the forwarder's upstream).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// One Secrets Manager call in [`Moto::REGION`]: `op` is the bare operation name
    /// (`"GetSecretValue"`), `body` its JSON input.
    pub fn call(&self, op: &str, body: &Value) -> Result<Value, MotoError> {
        self.call_in(Self::REGION, op, body)
    }

    /// [`Moto::call`] in another region.
    pub fn call_in(&self, region: &str, op: &str, body: &Value) -> Result<Value, MotoError> {
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("{}/", self.url))
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("X-Amz-Target", format!("secretsmanager.{op}"))
            .header(
                "Authorization",
                dummy_authorization(region, "secretsmanager"),
            )
            .body(serde_json::to_vec(body).expect("serialising a JSON value"))
            .expect("building a moto request");
        let mut response = self
            .agent
            .run(request)
            .unwrap_or_else(|err| panic!("moto {op}: request failed: {err}"));
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .read_to_vec()
            .unwrap_or_else(|err| panic!("moto {op}: reading the answer: {err}"));
        let answer: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        Err(MotoError {
            status,
            kind: answer["__type"].as_str().unwrap_or_default().to_owned(),
            message: answer["message"]
                .as_str()
                .or_else(|| answer["Message"].as_str())
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// [`Moto::call`], panicking on an error answer (never with the request body, which may
    /// hold a value).
    pub fn call_ok(&self, op: &str, body: &Value) -> Value {
        self.call(op, body)
            .unwrap_or_else(|err| panic!("moto {op}: {err}"))
    }

    /// Create secret `name` with `value` as its first (`AWSCURRENT`) version; returns the
    /// answer (`ARN`, `Name`, `VersionId`).
    pub fn create_secret(&self, name: &str, value: SecretValue<'_>) -> Value {
        self.create_secret_tagged(name, value, &[])
    }

    /// [`Moto::create_secret`] with tags.
    pub fn create_secret_tagged(
        &self,
        name: &str,
        value: SecretValue<'_>,
        tags: &[(&str, &str)],
    ) -> Value {
        let mut body = json!({ "Name": name, "ClientRequestToken": random_uuid() });
        value.insert_into(&mut body);
        if !tags.is_empty() {
            body["Tags"] = tags_json(tags);
        }
        self.call_ok("CreateSecret", &body)
    }

    /// Create secret `name` holding `text` and return its ARN.
    pub fn create_string(&self, name: &str, text: &str) -> String {
        arn(&self.create_secret(name, SecretValue::String(text)))
    }

    /// Create secret `name` holding `bytes` and return its ARN.
    pub fn create_binary(&self, name: &str, bytes: &[u8]) -> String {
        arn(&self.create_secret(name, SecretValue::Binary(bytes)))
    }

    /// A new version of `secret_id` (name or ARN) holding `value`; the new version becomes
    /// `AWSCURRENT` and the old one `AWSPREVIOUS`. Returns the new `VersionId`.
    pub fn put_secret_value(&self, secret_id: &str, value: SecretValue<'_>) -> String {
        self.put_secret_value_staged(secret_id, value, &[])
    }

    /// [`Moto::put_secret_value`] with the stages the new version gets (empty = moto's
    /// default, `AWSCURRENT`). A version staged only as, say, `"blue"` leaves `AWSCURRENT` where
    /// it was.
    pub fn put_secret_value_staged(
        &self,
        secret_id: &str,
        value: SecretValue<'_>,
        stages: &[&str],
    ) -> String {
        let mut body = json!({ "SecretId": secret_id, "ClientRequestToken": random_uuid() });
        value.insert_into(&mut body);
        if !stages.is_empty() {
            body["VersionStages"] = json!(stages);
        }
        let answer = self.call_ok("PutSecretValue", &body);
        answer["VersionId"]
            .as_str()
            .unwrap_or_else(|| panic!("moto PutSecretValue {secret_id}: no VersionId"))
            .to_owned()
    }

    /// Add or replace tags on `secret_id`.
    pub fn tag_resource(&self, secret_id: &str, tags: &[(&str, &str)]) {
        self.call_ok(
            "TagResource",
            &json!({ "SecretId": secret_id, "Tags": tags_json(tags) }),
        );
    }

    /// Schedule `secret_id` for deletion (the default 30-day recovery window): it then counts
    /// as gone for reads, but can still be described and restored.
    pub fn schedule_deletion(&self, secret_id: &str) {
        self.call_ok("DeleteSecret", &json!({ "SecretId": secret_id }));
    }

    /// Delete `secret_id` at once (`ForceDeleteWithoutRecovery`): reads then answer
    /// `ResourceNotFoundException`.
    pub fn delete_now(&self, secret_id: &str) {
        self.call_ok(
            "DeleteSecret",
            &json!({ "SecretId": secret_id, "ForceDeleteWithoutRecovery": true }),
        );
    }

    /// Undo [`Moto::schedule_deletion`].
    pub fn restore(&self, secret_id: &str) {
        self.call_ok("RestoreSecret", &json!({ "SecretId": secret_id }));
    }

    /// `DescribeSecret`: metadata, tags and `VersionIdsToStages`.
    pub fn describe(&self, secret_id: &str) -> Value {
        self.call_ok("DescribeSecret", &json!({ "SecretId": secret_id }))
    }

    /// `GetSecretValue` of the current version, for checks in tests.
    pub fn get_value(&self, secret_id: &str) -> Result<Value, MotoError> {
        self.call("GetSecretValue", &json!({ "SecretId": secret_id }))
    }

    /// Forget everything (moto's `POST /moto-api/reset`).
    pub fn reset(&self) {
        let response = self
            .agent
            .post(format!("{}/moto-api/reset", self.url))
            .send_empty()
            .unwrap_or_else(|err| panic!("moto reset: request failed: {err}"));
        assert!(
            response.status().is_success(),
            "moto reset: HTTP {}",
            response.status()
        );
    }
}

impl std::fmt::Debug for Moto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Moto").field("url", &self.url).finish()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A SigV4-shaped `Authorization` header with a dummy key and signature: moto checks neither,
/// but takes the region (and the service) from the credential scope.
pub fn dummy_authorization(region: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/{service}/aws4_request, \
         SignedHeaders=content-type;host;x-amz-target, Signature=00"
    )
}

fn tags_json(tags: &[(&str, &str)]) -> Value {
    tags.iter()
        .map(|(key, value)| json!({ "Key": key, "Value": value }))
        .collect()
}

fn arn(answer: &Value) -> String {
    answer["ARN"]
        .as_str()
        .unwrap_or_else(|| panic!("moto CreateSecret answered without an ARN"))
        .to_owned()
}

/// A random version 4 UUID: moto, like AWS, wants a `ClientRequestToken` of at least 32 chars.
fn random_uuid() -> String {
    let mut b = [0_u8; 16];
    getrandom::fill(&mut b).expect("reading the OS random number generator");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("finding a free port on 127.0.0.1")
}

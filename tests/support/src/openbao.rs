//! A real OpenBao dev server per test, driven over its HTTP API.
//!
//! Data flow: [`OpenBao::start_dev`] picks a free 127.0.0.1 port and a random root token,
//! spawns `bao server -dev` from [`tools_bin`] (token through the environment, output into a
//! log file in a private temporary directory that also serves as its `HOME`), then polls the
//! API until the server is both unsealed and serving the dev `secret/` KV v2 mount. Test code
//! then calls the helpers below, which send JSON to `http://ADDR/v1/PATH` with the root token
//! (or none, for logins) and hand back the JSON answer. Dropping the value kills the server
//! and reaps it, so no test leaves a process behind.
//!
//! [`OpenBao::start_dev_tls`] starts the server with `-dev-tls` instead: it generates a CA and
//! a certificate for 127.0.0.1 into the private directory, and from then on the helpers here
//! speak `https://` trusting only that CA. [`OpenBao::stop`] and [`OpenBao::restart`] let
//! tests take the server away and bring a fresh one back on the same address.
//!
//! Kubernetes auth goes the other way: bao itself calls the Kubernetes API (`TokenReview`),
//! possibly over https, using the CA the test configures.

use std::fmt;
use std::fs::File;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use ureq::http;

use crate::tools::tools_bin;

/// How long one start attempt may take. The server is normally ready in well under a second;
/// the margin is for a 2-core machine busy compiling and running other tests.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// Attempts before giving up. Another attempt is made only when the server exited during
/// start-up, which is what losing the free port to another process looks like.
const START_ATTEMPTS: u32 = 3;
/// Cap on the pause between readiness probes (they start at 5 ms and double).
const MAX_PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// Per-request limit, so a wedged server fails the test instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Per-probe limit during start-up: a probe that hangs must not eat the whole deadline.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Where, under the server's private directory, `-dev-tls` writes its CA, certificate and key.
const TLS_DIR: &str = "tls";
/// Log lines shown when start-up fails.
const LOG_TAIL_LINES: usize = 40;

/// Variables that would point the dev server's own post-start client somewhere else, or
/// override our flags, if the developer has them set in their shell.
const INHERITED_ENV_TO_DROP: [&str; 6] = [
    "BAO_ADDR",
    "BAO_TOKEN",
    "BAO_DEV_LISTEN_ADDRESS",
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_DEV_LISTEN_ADDRESS",
];

/// A running `bao server -dev`, killed and reaped on drop.
///
/// In dev mode the server is unsealed, keeps everything in memory, and has a KV v2 engine
/// mounted at `secret/`.
pub struct OpenBao {
    child: Child,
    addr: String,
    root_token: String,
    agent: ureq::Agent,
    listener: Listener,
    /// Over TLS, the CA the server generated (once it has).
    ca_pem: Option<String>,
    /// The server's `HOME`, log file and (over TLS) certificates; deleted after the child is
    /// reaped.
    dir: TempDir,
}

/// Plain HTTP or TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    Http,
    Https,
}

/// The status and JSON body of one API call ([`Value::Null`] for an empty body, a
/// [`Value::String`] if the body was not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct BaoResponse {
    pub status: u16,
    pub body: Value,
}

impl BaoResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// bao's `errors` array joined with "; ", or the whole body when it has none.
    pub fn error_text(&self) -> String {
        match self.body.get("errors").and_then(Value::as_array) {
            Some(errors) => errors
                .iter()
                .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join("; "),
            None => self.body.to_string(),
        }
    }
}

/// Why one start attempt failed.
enum StartFailure {
    Exited(ExitStatus),
    TimedOut,
}

impl OpenBao {
    /// Start a dev server on a free 127.0.0.1 port with a random root token and wait until it
    /// serves requests (plain `http://`).
    ///
    /// # Panics
    /// If the tools are missing or the server does not become ready in time; the message
    /// carries the tail of the server's log with the root token and unseal key hidden.
    pub fn start_dev() -> Self {
        Self::start(Listener::Http)
    }

    /// Like [`OpenBao::start_dev`], but the server speaks `https://` with a certificate (for
    /// `127.0.0.1` and `localhost`) from a CA it generates at start-up: `bao server -dev
    /// -dev-tls`. [`OpenBao::ca_pem`] is that CA; this crate's own requests trust only it.
    pub fn start_dev_tls() -> Self {
        Self::start(Listener::Https)
    }

    fn start(listener: Listener) -> Self {
        let bao = tools_bin().join("bao");
        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            match Self::spawn_ready(&bao, listener, free_port(), random_token()) {
                Ok(server) => return server,
                Err(failure) => failures.push(format!("attempt {attempt}: {failure}")),
            }
            // The failed child was reaped before the next attempt.
        }
        panic!(
            "bao dev server failed to start {START_ATTEMPTS} times:\n{}",
            failures.join("\n")
        );
    }

    /// Spawn and wait until ready. `Err` (with the log tail) only when the server exited
    /// during start-up, which is what losing the port to another process looks like.
    fn spawn_ready(
        bao: &Path,
        listener: Listener,
        port: u16,
        root_token: String,
    ) -> Result<Self, String> {
        let mut server = Self::spawn_dev(bao, listener, port, root_token);
        match server.wait_ready(Instant::now() + START_DEADLINE) {
            Ok(()) => Ok(server),
            Err(StartFailure::Exited(status)) => Err(format!(
                "bao exited during start-up ({status}); log tail:\n{}",
                server.redacted_log_tail()
            )),
            Err(StartFailure::TimedOut) => panic!(
                "bao dev server at {} not ready within {START_DEADLINE:?}; log tail:\n{}",
                server.addr,
                server.redacted_log_tail()
            ),
        }
    }

    /// Kill the server (SIGKILL) and reap it; the port then refuses connections. Calling it
    /// twice is harmless.
    pub fn stop(&mut self) {
        // `kill` fails only if the child already exited; `wait` reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stop the server if it runs and start a new one on the same address with the same root
    /// token. Dev servers keep everything in memory, so the new one starts empty (only the
    /// dev `secret/` mount): callers write again what they need. Over TLS the new server has
    /// a new CA.
    ///
    /// # Panics
    /// If the new server does not start (for instance because the port was taken meanwhile).
    pub fn restart(&mut self) {
        self.stop();
        let port = self
            .addr
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("the address ends in a port");
        let bao = tools_bin().join("bao");
        match Self::spawn_ready(&bao, self.listener, port, self.root_token.clone()) {
            // The old value drops here; its child is already reaped.
            Ok(server) => *self = server,
            Err(failure) => panic!("restarting bao on {}: {failure}", self.addr),
        }
    }

    fn spawn_dev(bao: &Path, listener: Listener, port: u16, root_token: String) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("openbao-dev-")
            .tempdir()
            .expect("creating a temporary directory for bao");
        let log = File::create(dir.path().join("bao.log")).expect("creating the bao log file");
        let log_err = log.try_clone().expect("duplicating the bao log handle");
        let mut command = Command::new(bao);
        command.args([
            "server",
            "-dev",
            // Without this the dev server writes the root token to ~/.vault-token.
            "-dev-no-store-token",
            &format!("-dev-listen-address=127.0.0.1:{port}"),
        ]);
        if listener == Listener::Https {
            let certs = dir.path().join(TLS_DIR);
            std::fs::create_dir(&certs).expect("creating the bao TLS directory");
            command.args([
                "-dev-tls".to_owned(),
                format!("-dev-tls-cert-dir={}", certs.display()),
            ]);
        }
        command
            // Through the environment, not argv, so `ps` does not show it.
            .env("BAO_DEV_ROOT_TOKEN_ID", &root_token)
            // A private HOME keeps the server away from the developer's CLI config and token.
            .env("HOME", dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        for name in INHERITED_ENV_TO_DROP {
            command.env_remove(name);
        }
        let child = command.spawn().expect("spawning `bao server -dev`");
        let scheme = match listener {
            Listener::Http => "http",
            Listener::Https => "https",
        };
        Self {
            child,
            addr: format!("{scheme}://127.0.0.1:{port}"),
            root_token,
            // Over TLS this agent trusts nothing; `wait_ready` replaces it once the server
            // has written its CA.
            agent: agent(None),
            listener,
            ca_pem: None,
            dir,
        }
    }

    /// Over TLS: once the server has written its CA, keep it and trust only it from now on.
    /// True when requests can be made (always, over plain HTTP).
    fn load_ca(&mut self) -> bool {
        if self.listener == Listener::Http || self.ca_pem.is_some() {
            return true;
        }
        let path = self.dir.path().join(TLS_DIR).join("vault-ca.pem");
        // The server writes the file at start-up; a short or missing file means "not yet".
        let Ok(pem) = std::fs::read_to_string(&path) else {
            return false;
        };
        let Ok(ca) = ureq::tls::Certificate::from_pem(pem.as_bytes()) else {
            return false;
        };
        self.agent = agent(Some(ca.to_owned()));
        self.ca_pem = Some(pem);
        true
    }

    /// Poll until this server answers as unsealed and its `secret/` KV v2 mount serves reads
    /// with our root token. The dev server mounts `secret/` (and KV v2 finishes its storage
    /// upgrade) only after unsealing, so health alone would let a first write race that. The
    /// token check also proves the answer came from our child, not a stranger on the port.
    fn wait_ready(&mut self, deadline: Instant) -> Result<(), StartFailure> {
        let mut interval = Duration::from_millis(5);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(StartFailure::Exited(status));
            }
            if self.load_ca()
                && self.probe("sys/health", None)
                && self.probe("secret/config", Some(&self.root_token))
            {
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

    /// One readiness probe: true on HTTP 200; connection errors just mean "not yet".
    fn probe(&self, path: &str, token: Option<&str>) -> bool {
        let mut request = self
            .agent
            .get(format!("{}/v1/{path}", self.addr))
            .config()
            .timeout_global(Some(PROBE_TIMEOUT))
            .build();
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token);
        }
        request
            .call()
            .is_ok_and(|response| response.status() == http::StatusCode::OK)
    }

    /// The end of the server's log, with the root token and the unseal key hidden.
    fn redacted_log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("bao.log")).unwrap_or_default();
        let lines: Vec<String> = log
            .lines()
            .map(|line| {
                if line.trim_start().starts_with("Unseal Key") {
                    "Unseal Key: <hidden>".to_owned()
                } else {
                    line.replace(&self.root_token, "<root token>")
                }
            })
            .collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }

    /// The API address, `http://127.0.0.1:PORT` (`https://` for [`OpenBao::start_dev_tls`]),
    /// what `BAO_ADDR`/`VAULT_ADDR` take.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The PEM CA certificate that signed the server's certificate ([`OpenBao::start_dev_tls`]
    /// only; `None` over plain HTTP).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The root token (what `BAO_TOKEN`/`VAULT_TOKEN` take).
    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// The server's process id (the venv's `bao` launcher execs the real binary, so this is
    /// the server itself).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// One API call: `METHOD {addr}/v1/{path}` with an optional token and JSON body. `path` may
    /// carry a query (`secret/metadata/app?list=true`). Never panics on an HTTP error status.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> BaoResponse {
        let path = path.trim_start_matches('/');
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}/v1/{path}", self.addr));
        if let Some(token) = token {
            builder = builder.header("X-Vault-Token", token);
        }
        let sent = match body {
            Some(body) => self.agent.run(
                builder
                    .header("Content-Type", "application/json")
                    .body(serde_json::to_vec(body).expect("serialising a JSON value"))
                    .expect("building a bao request"),
            ),
            None => self
                .agent
                .run(builder.body(()).expect("building a bao request")),
        };
        let mut response =
            sent.unwrap_or_else(|err| panic!("bao {method} {path}: request failed: {err}"));
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .read_to_vec()
            .unwrap_or_else(|err| panic!("bao {method} {path}: reading the answer: {err}"));
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        BaoResponse { status, body }
    }

    /// POST `body` to `path` with the root token and return the answer's JSON ([`Value::Null`]
    /// for bao's empty 204 answers).
    ///
    /// # Panics
    /// On any non-2xx status, with bao's error text (never the request body).
    pub fn write(&self, path: &str, body: Value) -> Value {
        let response = self.request("POST", path, Some(&self.root_token), Some(&body));
        assert!(
            response.is_success(),
            "bao POST {path}: HTTP {}: {}",
            response.status,
            response.error_text()
        );
        response.body
    }

    /// GET `path` with the root token: the whole JSON answer, or `None` on 404.
    ///
    /// # Panics
    /// On any other non-2xx status.
    pub fn read(&self, path: &str) -> Option<Value> {
        let response = self.request("GET", path, Some(&self.root_token), None);
        if response.status == 404 {
            return None;
        }
        assert!(
            response.is_success(),
            "bao GET {path}: HTTP {}: {}",
            response.status,
            response.error_text()
        );
        Some(response.body)
    }

    /// Write a new version of the KV v2 secret `path` under the engine mounted at `mount`
    /// (`kv2_put("secret", "myapp/db", json!({"password": "..."}))`) and return its version.
    pub fn kv2_put(&self, mount: &str, path: &str, data: Value) -> u64 {
        let mount = mount.trim_matches('/');
        let path = path.trim_matches('/');
        let answer = self.write(&format!("{mount}/data/{path}"), json!({ "data": data }));
        answer["data"]["version"]
            .as_u64()
            .unwrap_or_else(|| panic!("bao KV v2 write to {mount}/{path} returned no version"))
    }

    /// The latest version's data of the KV v2 secret `path` under `mount`, or `None` if there
    /// is none.
    pub fn kv2_read(&self, mount: &str, path: &str) -> Option<Value> {
        let mount = mount.trim_matches('/');
        let path = path.trim_matches('/');
        self.read(&format!("{mount}/data/{path}"))
            .map(|answer| answer["data"]["data"].clone())
    }

    /// Create or replace the ACL policy `name` from HCL text.
    pub fn write_policy(&self, name: &str, hcl: &str) {
        self.write(
            &format!("sys/policies/acl/{name}"),
            json!({ "policy": hcl }),
        );
    }

    /// A new service token carrying `policies` (plus `default`), made with the root token.
    pub fn create_token(&self, policies: &[&str]) -> String {
        let answer = self.write("auth/token/create", json!({ "policies": policies }));
        client_token(&answer).unwrap_or_else(|| panic!("bao token create returned no token"))
    }

    /// Mount a KV secrets engine of `version` (1 or 2) at `mount` (the dev server already has
    /// KV v2 at `secret/`).
    pub fn enable_kv(&self, mount: &str, version: u8) {
        let mount = mount.trim_matches('/');
        self.write(
            &format!("sys/mounts/{mount}"),
            json!({ "type": "kv", "options": { "version": version.to_string() } }),
        );
    }

    /// Enable the auth method `kind` (`approle`, `kubernetes`, ...) at `auth/{mount}`.
    pub fn enable_auth(&self, kind: &str, mount: &str) {
        let mount = mount.trim_matches('/');
        self.write(&format!("sys/auth/{mount}"), json!({ "type": kind }));
    }

    /// Create or replace the AppRole `role` under the AppRole method at `auth/{mount}` (see
    /// [`OpenBao::enable_auth`]), granting `policies`, and return a `(role_id, secret_id)`
    /// pair that logs in as it.
    pub fn approle_credentials(
        &self,
        mount: &str,
        role: &str,
        policies: &[&str],
    ) -> (String, String) {
        let mount = mount.trim_matches('/');
        let role_path = format!("auth/{mount}/role/{role}");
        self.write(&role_path, json!({ "token_policies": policies }));
        let role_id = self
            .read(&format!("{role_path}/role-id"))
            .and_then(|answer| answer["data"]["role_id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("bao returned no role_id for {role_path}"));
        let secret_id =
            self.write(&format!("{role_path}/secret-id"), json!({}))["data"]["secret_id"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("bao returned no secret_id for {role_path}"));
        (role_id, secret_id)
    }

    /// Enable the kubernetes auth method at `auth/kubernetes` and point it at a Kubernetes API
    /// (`kubernetes_host`, e.g. the stand-in's `https://127.0.0.1:PORT`).
    ///
    /// `ca_pem` must be a CA certificate PEM: outside a pod bao insists on one, because
    /// `disable_local_ca_jwt` (needed so it does not look for the in-pod service-account files)
    /// requires `kubernetes_ca_cert`. For an https host it must be the CA that signed the
    /// server's certificate; for an http host any CA certificate will do. No reviewer JWT is
    /// set, so bao sends each login's own JWT as the TokenReview bearer token.
    pub fn enable_kubernetes_auth(&self, kubernetes_host: &str, ca_pem: &str) {
        self.enable_auth("kubernetes", "kubernetes");
        self.write(
            "auth/kubernetes/config",
            json!({
                "kubernetes_host": kubernetes_host,
                "kubernetes_ca_cert": ca_pem,
                "disable_local_ca_jwt": true,
            }),
        );
    }

    /// Create or replace the kubernetes auth role `name`, bound to the given service-account
    /// names and namespaces, granting `policies`. With `audience`, bao asks the TokenReview for
    /// that audience instead of the JWT's own `aud`.
    pub fn create_role(
        &self,
        name: &str,
        sa_names: &[&str],
        sa_namespaces: &[&str],
        policies: &[&str],
        audience: Option<&str>,
    ) {
        let mut body = json!({
            "bound_service_account_names": sa_names,
            "bound_service_account_namespaces": sa_namespaces,
            "policies": policies,
        });
        if let Some(audience) = audience {
            body["audience"] = json!(audience);
        }
        self.write(&format!("auth/kubernetes/role/{name}"), body);
    }

    /// Log in through the kubernetes auth method as `role` with a service-account `jwt`, the
    /// way an agent in a pod would (no token on the request). `Ok` holds the client token,
    /// `Err` bao's error text (for tests that expect refusal).
    pub fn login_kubernetes(&self, role: &str, jwt: &str) -> Result<String, String> {
        let response = self.request(
            "POST",
            "auth/kubernetes/login",
            None,
            Some(&json!({ "role": role, "jwt": jwt })),
        );
        if !response.is_success() {
            return Err(format!(
                "HTTP {}: {}",
                response.status,
                response.error_text()
            ));
        }
        client_token(&response.body)
            .ok_or_else(|| "bao login answered without a client token".to_owned())
    }
}

impl fmt::Debug for OpenBao {
    // By hand, so the root token never reaches test output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenBao")
            .field("addr", &self.addr)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        // SIGKILL is fine: a dev server holds nothing on disk worth a clean shutdown. Reaped,
        // so no zombie or stray server outlives the test.
        self.stop();
    }
}

/// The HTTP agent for one server: error statuses are answers (bao's error bodies are JSON we
/// read and report), every request has a deadline, and with `ca` TLS trusts only that CA
/// (through aws-lc-rs, the provider the rest of the workspace uses).
fn agent(ca: Option<ureq::tls::Certificate<'static>>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT));
    if let Some(ca) = ca {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::Rustls)
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
                .unversioned_rustls_crypto_provider(Arc::new(
                    rustls::crypto::aws_lc_rs::default_provider(),
                ))
                .build(),
        );
    }
    ureq::Agent::new_with_config(config.build())
}

/// `auth.client_token` of a login or token-create answer.
fn client_token(answer: &Value) -> Option<String> {
    answer["auth"]["client_token"].as_str().map(str::to_owned)
}

/// A port that was free a moment ago. The OS may hand it to someone else before bao binds it;
/// `start_dev` notices (bao exits) and retries with another.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("finding a free port on 127.0.0.1")
}

/// 128 random bits, hex, with a prefix that makes the token recognisable in a bao audit log.
fn random_token() -> String {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).expect("reading the OS random number generator");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("test-root-{hex}")
}

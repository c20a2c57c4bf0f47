//! gcp-standin: a loopback stand-in for the parts of Google Cloud a Secret Manager client
//! talks to — Secret Manager v1 REST (reads), STS token exchange and IAM Credentials
//! impersonation — for our tests and benchmark. Test equipment only, never shipped; the
//! README says what it implements and where it may differ from Google.
//!
//! Data flow: [`GcpStandin::start`] binds `127.0.0.1:0` on a runtime of its own and serves
//! plain HTTP (`server`); each request is routed by path to `secrets`, `sts` or `iam`, which
//! count it, apply an injected fault if one matches, authenticate the Bearer (`auth`: tokens
//! it issued, or self-signed service-account JWTs checked against keys tests register) and
//! answer from the [`Control`] state tests seed.

mod auth;
pub mod crc32c;
mod iam;
mod jwt;
mod reply;
mod secrets;
mod server;
mod state;
mod sts;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;

pub use jwt::ServiceAccountKey;
pub use state::{Control, Fault, FaultError, Route, VersionState};

/// What the stand-in plays.
#[derive(Debug, Clone)]
pub struct Config {
    /// The project id requests may name (`my-project`).
    pub project_id: String,
    /// The project number answers name.
    pub project_number: u64,
    /// The workload identity pool provider, as STS's `audience` parameter names it:
    /// `//iam.googleapis.com/projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV`.
    pub pool_audience: String,
    /// Audiences a subject token may carry (empty: just `pool_audience`).
    pub allowed_audiences: Vec<String>,
    /// The identity provider's issuer (kube-standin's).
    pub subject_issuer: String,
    /// The identity provider's signing key, PKIX DER.
    pub subject_public_key_der: Vec<u8>,
}

impl Config {
    /// A stand-in for project `my-project` (number 123456789012) whose pool `pool`/provider
    /// `kube` trusts the issuer `issuer` signing with the key in `public_key_pem`.
    pub fn new(issuer: &str, public_key_pem: &str) -> anyhow::Result<Config> {
        let pem = pem::parse(public_key_pem).context("parsing the issuer's public key PEM")?;
        let number = 123_456_789_012_u64;
        Ok(Config {
            project_id: "my-project".into(),
            project_number: number,
            pool_audience: format!(
                "//iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/pool/providers/kube"
            ),
            allowed_audiences: Vec::new(),
            subject_issuer: issuer.to_owned(),
            subject_public_key_der: pem.contents().to_vec(),
        })
    }

    /// The audiences a subject token may carry.
    pub fn allowed_audiences(&self) -> Vec<String> {
        if self.allowed_audiences.is_empty() {
            vec![self.pool_audience.clone()]
        } else {
            self.allowed_audiences.clone()
        }
    }

    /// The pool principal of a subject (`system:serviceaccount:NS:NAME`):
    /// `principal://iam.googleapis.com/projects/NUM/locations/global/workloadIdentityPools/POOL/subject/SUB`.
    pub fn principal(&self, subject: &str) -> String {
        let pool = self
            .pool_audience
            .trim_start_matches("//")
            .split("/providers/")
            .next()
            .unwrap_or_default();
        format!("principal://{pool}/subject/{subject}")
    }
}

/// A running stand-in. Dropping it stops the server and its runtime.
pub struct GcpStandin {
    addr: SocketAddr,
    config: Config,
    control: Arc<Control>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl GcpStandin {
    /// Start on a free loopback port, on a runtime of its own (so tests may block).
    pub fn start(config: Config) -> anyhow::Result<GcpStandin> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Start on `addr` (an address a stopped stand-in had: an outage that ends).
    pub fn start_on(config: Config, addr: SocketAddr) -> anyhow::Result<GcpStandin> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("gcp-standin")
            .enable_all()
            .build()
            .context("building the stand-in's runtime")?;
        let listener = runtime
            .block_on_outside(addr)
            .with_context(|| format!("binding {addr}"))?;
        let addr = listener.local_addr()?;
        let control = Arc::new(Control::default());
        let shared = Arc::new(server::Shared {
            config: config.clone(),
            control: control.clone(),
        });
        runtime.spawn(server::accept_loop(listener, shared));
        Ok(GcpStandin {
            addr,
            config,
            control,
            runtime: Some(runtime),
        })
    }

    /// `http://127.0.0.1:PORT`: the endpoint for Secret Manager, STS and IAM Credentials alike.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it plays.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Seed secrets, inject faults, read counts.
    pub fn control(&self) -> &Control {
        &self.control
    }
}

impl Drop for GcpStandin {
    fn drop(&mut self) {
        // May be dropped from inside another runtime: no blocking shutdown.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Binding a listener from outside or inside another runtime.
trait BindOutside {
    fn block_on_outside(&self, addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener>;
}

impl BindOutside for tokio::runtime::Runtime {
    fn block_on_outside(&self, addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
        // A std listener needs no runtime to bind; it joins this runtime when converted.
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let _guard = self.enter();
        tokio::net::TcpListener::from_std(listener)
    }
}

/// An opaque token: `prefix.` and 32 random hex digits.
pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0_u8; 16];
    // A failing system RNG leaves zeros; tokens stay unique enough for one test only then,
    // which the issuing maps would show as a collision, not a silent grant.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}.{hex}")
}

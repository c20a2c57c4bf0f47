//! `secrets-store-gcp`: GCP Secret Manager behind the store seam (`spec.provider.gcpsm`), a
//! hand-written client for the REST calls a reader needs, on the workspace's one HTTPS stack
//! (`secrets-store-http`).
//!
//! Data flow:
//!
//! ```text
//!  GcpSmProvider ──[spec]──▶ StoreSpec (project, location, policy, login)
//!  Endpoints (agent flags / env) ──[wire::Endpoints]──▶ Secret Manager (regional host when a
//!     location is set; an override replaces it), STS, IAM Credentials ── each https or loopback
//!  open() ──▶ GcpStore { Client (limits, counters, observer), Auth (token cache) }
//!  read ──▶ Auth::token (self-signed JWT │ STS [+ generateAccessToken] │ a person's token)
//!       ──▶ versions/V:access ──▶ payload checked against dataCrc32c ──▶ RemoteValue
//! ```
//!
//! # Why our own client and not `google-cloud-secretmanager-v1`
//! The SDK brings reqwest (a second HTTP/TLS stack beside hyper + rustls), opentelemetry and
//! 49 crates not otherwise in the graph (reference §6), for four GET routes, one form POST,
//! one JSON POST and one RS256 signature, all of which aws-lc-rs and our client already do.
//! The SDK's credential chain (metadata server, gcloud files, executables) is also what an
//! in-cluster agent must not use: it never lends its own identity.
//!
//! # Secrets in memory
//! Tokens, the key JSON's private key and payloads live in zeroizing buffers; the RSA key in
//! aws-lc-rs (freed by it); response bodies are wiped by the HTTP client. Not covered: the
//! `Authorization` header value inside hyper, and serde_json's scratch space. No error, `Debug`
//! output or observer label carries a token, key or value.

mod auth;
mod client;
mod crc32c;
mod error;
mod key;
mod limit;
mod observe;
mod spec;
mod store;
mod token;
mod wire;

use std::sync::Arc;

use secrets_core::api::secret_store::GcpSmProvider;
use secrets_core::store::{CredentialSource, OpenOptions, Store, StoreError, StoreType};
use secrets_store_http::{HttpClient, check_endpoint};

pub use auth::KEY_NAME;
pub use error::GcpError;
pub use key::{KeyError, ServiceAccountKey};
pub use observe::Call;
pub use spec::{Login, SERVICE_ACCOUNT_ANNOTATION, StoreSpec, VersionPolicy, check_version};
pub use store::GcpStore;
pub use wire::{ApiError, OauthError, WireError};

/// This store's type: the `store` metric label.
pub const STORE_TYPE: StoreType = StoreType::new("gcpsm");

/// The store `provider` describes, reading with `credentials`; makes no request.
pub fn open(
    provider: &GcpSmProvider,
    credentials: Arc<dyn CredentialSource>,
    options: OpenOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(open_store(provider, credentials, options)?))
}

/// [`open`], as the concrete store (tests and benchmarks read its call counts).
pub fn open_store(
    provider: &GcpSmProvider,
    credentials: Arc<dyn CredentialSource>,
    options: OpenOptions,
) -> Result<GcpStore, StoreError> {
    let spec = StoreSpec::from_provider(provider)?;
    let e = &options.endpoints;
    let endpoints = wire::Endpoints::new(
        spec.location.as_deref(),
        e.gcp_secretmanager_url.as_deref(),
        e.gcp_sts_url.as_deref(),
        e.gcp_iamcredentials_url.as_deref(),
    );
    let mut checked = vec![&endpoints.secret_manager];
    if matches!(spec.login, Login::Federation { .. }) {
        checked.extend([&endpoints.sts, &endpoints.iam_credentials]);
    }
    for url in checked {
        check_endpoint(url).map_err(GcpError::Config)?;
    }
    let http = HttpClient::new(options.timeout).map_err(|source| GcpError::Http {
        doing: "setting up the gcpsm HTTPS client".into(),
        source,
    })?;
    let parent = wire::parent(&spec.project, spec.location.as_deref());
    let client = client::Client::new(http, endpoints, parent, options.observer.clone());
    let auth = auth::Auth::new(spec.login.clone(), credentials, options.credential_cache);
    Ok(GcpStore { spec, client, auth })
}

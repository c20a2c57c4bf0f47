//! The agent's HTTP servers: the API on 8080 (reached through the API server's service proxy)
//! and Prometheus metrics on 8081.
//!
//! Data flow of an API request: `server` accepts it and passes it with the peer address to
//! `Api::handle`, which maps the path to a fixed `Route` (so metrics and logs never see a raw
//! URL), checks the method, and answers:
//! - `GET /v1/cert.pem`: the newest key's certificate from the current [`KeyRing`];
//! - `GET /v1/keys`: the public facts of every loaded key ([`KeyList`]: fingerprint, dates,
//!   source Secret, ours or Bitnami's), so the plugin lists and backs up exactly the Secrets
//!   this agent uses (its flags decide, and the plugin cannot see them); charged to the
//!   client's token bucket like verify and rotate;
//! - `POST /v1/verify` and `POST /v1/rotate`: charged to the client's token bucket
//!   (`limiter`; the client is the peer, or what a `--trusted-proxy` peer forwarded, `cidr`), the body read by `reply` (at most [`MAX_BODY`] bytes) and parsed as exactly
//!   one SealedSecret of either group, then opened with every loaded key on the blocking pool
//!   ([`seal::verify`] / [`seal::rotate`], which never render templates and never widen the
//!   scope); rotate answers the re-sealed object as JSON in the group it came in;
//! - `GET /healthz` and `GET /readyz`: liveness, and readiness (every watched CRD installed,
//!   synced and a key loaded; a 503 says which is missing).
//!
//! Every answer is counted in `http_requests_total{path,code}` and logged at debug level with
//! the route and status only. Bodies are never logged, and no answer carries a value: error
//! messages come from the core's errors, which name objects, keys and scopes, never values.
//!
//! The metrics server answers `GET /metrics` with [`Metrics::encode`] and `GET /healthz` with
//! `ok` (the CSI provider's probe). Both servers stop
//! accepting when their `shutdown` future resolves and give in-flight requests a bounded grace
//! period to finish.

mod cidr;
mod limiter;
pub mod mount;
mod reply;
mod server;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use secrets_core::api::sealed_secret::AnySealedSecret;
use secrets_core::seal::keys::{KeyList, KeyRing};
use secrets_core::seal::{self, RotateError};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::metrics::{self, Metrics};
pub use cidr::{Cidr, CidrError};
use limiter::{RateLimiter, client_key};
use reply::{Refusal, method_not_allowed, read_sealed_secret, refuse, respond, text, with_type};
use server::Reply;

/// Largest request body accepted on the POST endpoints.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// What the API serves from.
#[derive(Clone)]
pub struct ApiState {
    /// The current key ring (replaced whenever keys change).
    pub keys: watch::Receiver<Arc<KeyRing>>,
    /// True once keys are loaded and the watches have synced.
    pub ready: watch::Receiver<bool>,
    /// The watched CRDs that are not installed (`None`: not checked yet); ready only when
    /// empty ([`crate::crd_check`]).
    pub missing_crds: watch::Receiver<Option<Vec<String>>>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Requests per second allowed on /v1/keys, /v1/verify and /v1/rotate, per client (bursts
    /// of twice that); 0 switches the limit off.
    pub api_rate: u32,
    /// Peers whose `X-Forwarded-For` is believed (`--trusted-proxy`): requests from them are
    /// charged to the address they appended. Empty: every request is charged to its peer.
    pub trusted_proxies: Vec<Cidr>,
}

/// Serve the API on `addr` until `shutdown` resolves.
pub async fn serve_api(
    addr: SocketAddr,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (_, server) = bind_api(addr, state, shutdown).await?;
    server.await
}

/// Bind the API to `addr` (port 0 picks a free one) and return the bound address with the
/// future that serves it until `shutdown` resolves.
pub async fn bind_api(
    addr: SocketAddr,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(
    SocketAddr,
    impl Future<Output = anyhow::Result<()>> + Send + 'static,
)> {
    let (listener, local) = bind(addr, "api").await?;
    let api = Arc::new(Api::new(state));
    let handler = move |request, peer| {
        let api = Arc::clone(&api);
        async move { api.handle(request, peer).await }
    };
    Ok((local, server::run(listener, "api", handler, shutdown)))
}

/// Serve `/metrics` on `addr` until `shutdown` resolves.
pub async fn serve_metrics(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (_, server) = bind_metrics(addr, metrics, shutdown).await?;
    server.await
}

/// [`serve_metrics`], split like [`bind_api`].
pub async fn bind_metrics(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(
    SocketAddr,
    impl Future<Output = anyhow::Result<()>> + Send + 'static,
)> {
    let (listener, local) = bind(addr, "metrics").await?;
    let handler = move |request: Request<Incoming>, _peer| {
        let metrics = Arc::clone(&metrics);
        async move {
            match (request.uri().path(), request.method()) {
                ("/metrics", &Method::GET | &Method::HEAD) => with_type(
                    respond(StatusCode::OK, metrics.encode()),
                    metrics::CONTENT_TYPE,
                ),
                ("/metrics", _) => method_not_allowed("GET, HEAD"),
                // Liveness where only this server runs (the CSI provider's DaemonSet).
                ("/healthz", &Method::GET | &Method::HEAD) => text(StatusCode::OK, "ok"),
                _ => text(StatusCode::NOT_FOUND, "not found"),
            }
        }
    };
    Ok((local, server::run(listener, "metrics", handler, shutdown)))
}

async fn bind(addr: SocketAddr, name: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {name} server to {addr}"))?;
    let local = listener
        .local_addr()
        .with_context(|| format!("reading the {name} server's address"))?;
    tracing::info!(server = name, address = %local, "http server listening");
    Ok((listener, local))
}

/// The API's endpoints; the name is the only form of the path that reaches metrics or logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Cert,
    Keys,
    Verify,
    Rotate,
    Healthz,
    Readyz,
    Unknown,
}

impl Route {
    fn from_path(path: &str) -> Route {
        match path {
            "/v1/cert.pem" => Route::Cert,
            "/v1/keys" => Route::Keys,
            "/v1/verify" => Route::Verify,
            "/v1/rotate" => Route::Rotate,
            "/healthz" => Route::Healthz,
            "/readyz" => Route::Readyz,
            _ => Route::Unknown,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Route::Cert => "/v1/cert.pem",
            Route::Keys => "/v1/keys",
            Route::Verify => "/v1/verify",
            Route::Rotate => "/v1/rotate",
            Route::Healthz => "/healthz",
            Route::Readyz => "/readyz",
            Route::Unknown => "other",
        }
    }

    /// The `Allow` header value.
    fn methods(self) -> &'static str {
        match self {
            Route::Verify | Route::Rotate => "POST",
            Route::Cert | Route::Keys | Route::Healthz | Route::Readyz | Route::Unknown => {
                "GET, HEAD"
            }
        }
    }

    fn allows(self, method: &Method) -> bool {
        match self {
            Route::Verify | Route::Rotate => method == Method::POST,
            Route::Cert | Route::Keys | Route::Healthz | Route::Readyz | Route::Unknown => {
                method == Method::GET || method == Method::HEAD
            }
        }
    }
}

/// The API server's state.
struct Api {
    state: ApiState,
    limiter: Option<RateLimiter>,
    /// Decryption runs on the blocking pool; this bounds how much of it at once.
    crypto_slots: Arc<Semaphore>,
}

impl Api {
    fn new(state: ApiState) -> Api {
        let parallelism = std::thread::available_parallelism().map_or(2, usize::from);
        Api {
            limiter: RateLimiter::new(state.api_rate, Instant::now()),
            state,
            crypto_slots: Arc::new(Semaphore::new(parallelism)),
        }
    }

    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Reply {
        let route = Route::from_path(request.uri().path());
        let reply = match self.answer(route, request, peer).await {
            Ok(reply) => reply,
            Err(refusal) => refuse(refusal),
        };
        let status = reply.status().as_u16();
        self.state.metrics.http_request(route.label(), status);
        tracing::debug!(path = route.label(), status, "api request");
        reply
    }

    async fn answer(
        &self,
        route: Route,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Result<Reply, Refusal> {
        if route == Route::Unknown {
            return Err(Refusal::new(StatusCode::NOT_FOUND, "not found"));
        }
        if !route.allows(request.method()) {
            return Ok(method_not_allowed(route.methods()));
        }
        match route {
            Route::Healthz => Ok(text(StatusCode::OK, "ok")),
            Route::Readyz => self.readyz(),
            Route::Cert => self.certificate(),
            Route::Keys | Route::Verify | Route::Rotate if self.over_limit(&request, peer) => {
                let mut reply = text(StatusCode::TOO_MANY_REQUESTS, "too many requests");
                reply
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                Ok(reply)
            }
            Route::Keys => self.key_list(),
            Route::Verify | Route::Rotate => {
                let sealed = read_sealed_secret(request).await?;
                if route == Route::Verify {
                    self.verify(sealed).await
                } else {
                    self.rotate(sealed).await
                }
            }
            Route::Unknown => Err(Refusal::new(StatusCode::NOT_FOUND, "not found")),
        }
    }

    /// Charge the client one token; true when it has none left.
    fn over_limit(&self, request: &Request<Incoming>, peer: SocketAddr) -> bool {
        self.limiter.as_ref().is_some_and(|limiter| {
            let client = client_key(request.headers(), peer, &self.state.trusted_proxies);
            !limiter.allow(client, Instant::now())
        })
    }

    fn ring(&self) -> Arc<KeyRing> {
        Arc::clone(&*self.state.keys.borrow())
    }

    fn loaded_ring(&self) -> Result<Arc<KeyRing>, Refusal> {
        let ring = self.ring();
        if ring.is_empty() {
            return Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no sealing key is loaded yet",
            ));
        }
        Ok(ring)
    }

    fn readyz(&self) -> Result<Reply, Refusal> {
        match &*self.state.missing_crds.borrow() {
            None => {
                return Err(Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not ready: checking the CustomResourceDefinitions",
                ));
            }
            Some(missing) if !missing.is_empty() => {
                return Err(Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "not ready: CustomResourceDefinition(s) not installed: {} \
                         (install the chart's CRDs, or `secrets-agent crds | kubectl apply -f -`)",
                        missing.join(", ")
                    ),
                ));
            }
            Some(_) => {}
        }
        if !*self.state.ready.borrow() {
            return Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: still syncing",
            ));
        }
        if self.ring().is_empty() {
            return Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: no sealing key loaded",
            ));
        }
        Ok(text(StatusCode::OK, "ok"))
    }

    fn certificate(&self) -> Result<Reply, Refusal> {
        let ring = self.loaded_ring()?;
        let pem = ring
            .newest()
            .map(|key| key.certificate.pem().to_owned())
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no sealing key is loaded yet",
                )
            })?;
        Ok(with_type(
            respond(StatusCode::OK, pem),
            "application/x-pem-file",
        ))
    }

    /// The public facts of every loaded key, oldest first (never key material).
    fn key_list(&self) -> Result<Reply, Refusal> {
        let ring = self.loaded_ring()?;
        let body = serde_json::to_vec(&KeyList::from_ring(&ring)).map_err(|_| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not encode the key list",
            )
        })?;
        Ok(with_type(respond(StatusCode::OK, body), "application/json"))
    }

    async fn verify(&self, sealed: AnySealedSecret) -> Result<Reply, Refusal> {
        let ring = self.loaded_ring()?;
        let opened = self
            .crypto(move || seal::verify(&sealed.object, &ring.try_order(None)))
            .await?;
        match opened {
            Ok(()) => Ok(text(StatusCode::OK, "ok")),
            Err(err) => Err(Refusal::new(StatusCode::CONFLICT, err.to_string())),
        }
    }

    async fn rotate(&self, sealed: AnySealedSecret) -> Result<Reply, Refusal> {
        let ring = self.loaded_ring()?;
        let rotated = self
            .crypto(move || {
                let newest = ring.newest().ok_or_else(|| {
                    Refusal::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no sealing key is loaded yet",
                    )
                })?;
                let public = newest.certificate.public_key();
                let object = seal::rotate(&sealed.object, &ring.try_order(None), public)
                    .map_err(rotate_refusal)?;
                let flavor = sealed.flavor;
                Ok(AnySealedSecret { object, flavor }.to_value(flavor))
            })
            .await??;
        let body = serde_json::to_vec(&rotated).map_err(|_| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not encode the sealed secret",
            )
        })?;
        Ok(with_type(respond(StatusCode::OK, body), "application/json"))
    }

    /// Run decryption on the blocking pool, a bounded number of jobs at once.
    async fn crypto<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refusal> {
        let internal = || Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        let _slot = Arc::clone(&self.crypto_slots)
            .acquire_owned()
            .await
            .map_err(|_| internal())?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|_| internal())
    }
}

fn rotate_refusal(err: RotateError) -> Refusal {
    match err {
        RotateError::Unseal(err) => Refusal::new(StatusCode::CONFLICT, err.to_string()),
        other => Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("could not re-seal: {other}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_a_fixed_set_of_routes() {
        assert_eq!(Route::from_path("/v1/cert.pem"), Route::Cert);
        assert_eq!(Route::from_path("/v1/cert.pem/"), Route::Unknown);
        assert_eq!(Route::from_path("/v1/verify"), Route::Verify);
        assert_eq!(Route::from_path("/secret-name-42"), Route::Unknown);
        assert_eq!(Route::from_path("/secret-name-42").label(), "other");
        assert!(Route::Verify.allows(&Method::POST));
        assert!(!Route::Verify.allows(&Method::GET));
        assert!(Route::Cert.allows(&Method::HEAD));
        assert!(!Route::Healthz.allows(&Method::DELETE));
    }
}

//! The controller's mount endpoint (`--mount-addr`, TLS with the mount key), which the CSI
//! provider asks for mount-only SealedSecrets and for the object-version key. The provider
//! holds no sealing key and no right on Secrets; everything it gets comes through here,
//! encrypted to its one-time key and signed (`secrets_core::mount::exchange`).
//!
//! Data flow of `POST /v1/mount` (each step refuses with `{category, message}` and a status
//! from the category, never a value):
//!
//! ```text
//!  body (≤ 64 KiB JSON MountRequest) → serve::check_request → rate limit per pod
//!  → ReplayCache (time within 60 s, nonce unseen) → TokenReview (audiences exactly
//!    ["kubectl-secrets"]) → serve::check_pod_review → GET the pod → serve::check_pod
//!  → GET each named SealedSecret in the pod's namespace → serve::open_items (mount-only,
//!    opened, rendered, keys present; blocking pool) → exchange::seal_answer → 200 Answer
//! ```
//!
//! `POST /v1/mount/version-key` proves the provider's own identity instead: a TokenReview of
//! its token must name exactly `--csi-provider-service-account`; the answer carries the HMAC
//! key the same way. Both are counted in `http_requests_total{path,code}` and logged at debug
//! with route, status and category.

pub mod key;
mod tls;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, TokenReviewStatus};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::mount::exchange::{
    self, Answer, FileMeta, MAX_REQUEST_BYTES, MountRequest, VERSION_KEY_FILE, VersionKeyRequest,
    replay::{ReplayCache, Stale},
};
use secrets_core::mount::serve::{self, Denied};
use secrets_core::mount::{CONTROLLER_AUDIENCE, mount_key::MountKey};
use secrets_core::seal::keys::KeyRing;
use tokio::sync::{Semaphore, watch};
use zeroize::Zeroizing;

use super::limiter::RateLimiter;
use super::reply::{read_bounded, respond, with_type};
use super::server::{self, Reply};
use crate::metrics::Metrics;
use crate::telemetry::error_chain;
pub use key::{KeyChannel, KeyPlace};

/// What the mount endpoint serves from.
#[derive(Clone)]
pub struct MountState {
    /// API client (TokenReview, pods, SealedSecrets).
    pub client: kube::Client,
    /// The sealing keys.
    pub keys: watch::Receiver<Arc<KeyRing>>,
    /// The mount key.
    pub mount_key: KeyChannel,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// `namespace/name` of the CSI provider's service account (the version key is for it
    /// only); `None` refuses the version key.
    pub provider_account: Option<String>,
    /// Requests per second per pod (bursts of twice that); 0 switches the limit off.
    pub rate: u32,
}

/// Bind the mount endpoint to `addr` and return the bound address with the future that
/// serves it until `shutdown` resolves.
pub async fn bind_mount(
    addr: SocketAddr,
    state: MountState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(
    SocketAddr,
    impl Future<Output = anyhow::Result<()>> + Send + 'static,
)> {
    let (listener, local) = super::bind(addr, "mount").await?;
    let acceptor = tls::acceptor(state.mount_key.clone())?;
    let endpoint = Arc::new(Endpoint::new(state));
    let handler = move |request, peer| {
        let endpoint = Arc::clone(&endpoint);
        async move { endpoint.handle(request, peer).await }
    };
    Ok((
        local,
        server::run_with(listener, "mount", Some(acceptor), handler, shutdown),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Mount,
    VersionKey,
    Unknown,
}

impl Route {
    fn label(self) -> &'static str {
        match self {
            Route::Mount => "/v1/mount",
            Route::VersionKey => "/v1/mount/version-key",
            Route::Unknown => "other",
        }
    }
}

struct Endpoint {
    state: MountState,
    limiter: Option<RateLimiter<String>>,
    replays: Mutex<ReplayCache>,
    crypto_slots: Semaphore,
}

impl Endpoint {
    fn new(state: MountState) -> Endpoint {
        let parallelism = std::thread::available_parallelism().map_or(2, usize::from);
        Endpoint {
            limiter: RateLimiter::new(state.rate, Instant::now()),
            state,
            replays: Mutex::new(ReplayCache::default()),
            crypto_slots: Semaphore::new(parallelism),
        }
    }

    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Reply {
        let route = match request.uri().path() {
            "/v1/mount" => Route::Mount,
            "/v1/mount/version-key" => Route::VersionKey,
            _ => Route::Unknown,
        };
        let answer = match (route, request.method()) {
            (Route::Unknown, _) => Err(Denied::new("not_found", "not found")),
            (_, &Method::POST) => match route {
                Route::Mount => self.mount(request).await,
                _ => self.version_key(request, peer).await,
            },
            _ => Err(Denied::new("rejected", "only POST is allowed here")),
        };
        let reply = match answer {
            Ok(answer) => json(StatusCode::OK, &answer),
            Err(denied) => {
                tracing::debug!(path = route.label(), category = denied.category, reason = %denied.message, "mount request refused");
                refuse(&denied)
            }
        };
        let status = reply.status().as_u16();
        self.state.metrics.http_request(route.label(), status);
        tracing::debug!(path = route.label(), status, "mount request");
        reply
    }

    async fn mount(&self, request: Request<Incoming>) -> Result<Answer, Denied> {
        let req: MountRequest = read_json(request).await?;
        serve::check_request(&req)?;
        self.charge(format!("{}/{}", req.namespace, req.pod_name))?;
        self.fresh(&req.nonce, &req.time)?;
        let pod = format!("pod {}/{}", req.namespace, req.pod_name);
        let review = self.review(&req.token, &pod).await?;
        serve::check_pod_review(&review, &req)?;
        let found = self.pod(&req).await?;
        serve::check_pod(found.as_ref(), &req)?;
        let sealed = self.sealed_secrets(&req).await?;
        let key = self.mount_key()?;
        let ring = Arc::clone(&*self.state.keys.borrow());
        let _slot = self
            .crypto_slots
            .acquire()
            .await
            .map_err(|_| Denied::new("unavailable", "shutting down"))?;
        let answer = tokio::task::spawn_blocking(move || {
            let files = serve::open_items(&req, &sealed, &ring)?;
            let (meta, values): (Vec<FileMeta>, Vec<Zeroizing<Vec<u8>>>) =
                files.into_iter().unzip();
            let values: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
            exchange::seal_answer(
                &req.transcript(),
                &req.ephemeral_key,
                meta,
                &values,
                key.signer(),
            )
            .map_err(|err| Denied::new("unavailable", err.to_string()))
        })
        .await
        .map_err(|_| Denied::new("unavailable", "opening the values failed"))??;
        tracing::debug!(pod = %pod, files = answer.files.len(), "mount answered");
        Ok(answer)
    }

    async fn version_key(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Result<Answer, Denied> {
        let req: VersionKeyRequest = read_json(request).await?;
        let Some(provider) = self.state.provider_account.clone() else {
            return Err(Denied::new(
                "permission_denied",
                "the version key is not served: the controller runs without --csi-provider-service-account",
            ));
        };
        exchange::check_nonce(&req.nonce).map_err(|e| Denied::new("rejected", e.to_string()))?;
        exchange::decode_public_key("ephemeralKey", &req.ephemeral_key)
            .map_err(|e| Denied::new("rejected", e.to_string()))?;
        // One provider per node, so per peer address.
        self.charge(format!("version-key from {}", peer.ip()))?;
        self.fresh(&req.nonce, &req.time)?;
        let review = self.review(&req.token, "the caller").await?;
        serve::check_provider_review(&review, &provider)?;
        let key = self.mount_key()?;
        let files = vec![FileMeta {
            path: VERSION_KEY_FILE.to_owned(),
            version: String::new(),
        }];
        exchange::seal_answer(
            &req.transcript(),
            &req.ephemeral_key,
            files,
            &[key.version_key()],
            key.signer(),
        )
        .map_err(|err| Denied::new("unavailable", err.to_string()))
    }

    fn charge(&self, client: String) -> Result<(), Denied> {
        let allowed = self
            .limiter
            .as_ref()
            .is_none_or(|l| l.allow(client.clone(), Instant::now()));
        if allowed {
            Ok(())
        } else {
            Err(Denied::new(
                "throttled",
                format!("too many mount requests for {client}; retry shortly"),
            ))
        }
    }

    fn fresh(&self, nonce: &str, time: &str) -> Result<(), Denied> {
        let mut replays = self.replays.lock().unwrap_or_else(PoisonError::into_inner);
        replays
            .check(nonce, time, time::OffsetDateTime::now_utc())
            .map_err(|stale| match stale {
                Stale::Busy => Denied::new("unavailable", stale.to_string()),
                Stale::Replayed => Denied::new("credentials", stale.to_string()),
                _ => Denied::new("rejected", stale.to_string()),
            })
    }

    fn mount_key(&self) -> Result<Arc<MountKey>, Denied> {
        self.state
            .mount_key
            .borrow()
            .clone()
            .ok_or_else(|| Denied::new("unavailable", "the controller has no mount key loaded yet"))
    }

    async fn review(&self, token: &str, whose: &str) -> Result<TokenReviewStatus, Denied> {
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: Some(token.to_owned()),
                audiences: Some(vec![CONTROLLER_AUDIENCE.to_owned()]),
            },
            ..Default::default()
        };
        let api: Api<TokenReview> = Api::all(self.state.client.clone());
        let answer = api.create(&PostParams::default(), &review).await.map_err(|err| {
            tracing::warn!(error = %error_chain(&err), "TokenReview failed");
            Denied::new("unavailable", format!("could not review the token of {whose}: the API server did not answer the TokenReview"))
        })?;
        Ok(answer.status.unwrap_or_default())
    }

    async fn pod(&self, req: &MountRequest) -> Result<Option<Pod>, Denied> {
        let api: Api<Pod> = Api::namespaced(self.state.client.clone(), &req.namespace);
        api.get_opt(&req.pod_name).await.map_err(|err| {
            tracing::warn!(error = %error_chain(&err), "reading the pod");
            Denied::new(
                "unavailable",
                format!("could not read pod {}/{}", req.namespace, req.pod_name),
            )
        })
    }

    async fn sealed_secrets(
        &self,
        req: &MountRequest,
    ) -> Result<BTreeMap<String, SealedSecret>, Denied> {
        let api: Api<SealedSecret> = Api::namespaced(self.state.client.clone(), &req.namespace);
        let mut found = BTreeMap::new();
        for item in &req.items {
            if found.contains_key(&item.name) {
                continue;
            }
            let object = api.get_opt(&item.name).await.map_err(|err| {
                tracing::warn!(error = %error_chain(&err), "reading a SealedSecret");
                Denied::new(
                    "unavailable",
                    format!(
                        "could not read SealedSecret {}/{}",
                        req.namespace, item.name
                    ),
                )
            })?;
            if let Some(object) = object {
                found.insert(item.name.clone(), object);
            }
        }
        Ok(found)
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(
    request: Request<Incoming>,
) -> Result<T, Denied> {
    let body = read_bounded(request, MAX_REQUEST_BYTES)
        .await
        .map_err(|refusal| Denied::new("rejected", refusal.message))?;
    let body = Zeroizing::new(body.to_vec());
    serde_json::from_slice(&body).map_err(|err| {
        // Only the kind and position: serde's own message may quote what was sent, and a
        // mistyped token must not reach the answer or the log.
        let kind = match err.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "not the expected fields and types",
            serde_json::error::Category::Eof => "truncated",
        };
        Denied::new(
            "rejected",
            format!(
                "the mount request is {kind} (line {}, column {})",
                err.line(),
                err.column()
            ),
        )
    })
}

fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Reply {
    match serde_json::to_vec(body) {
        Ok(bytes) => with_type(respond(status, bytes), "application/json"),
        Err(_) => refuse(&Denied::new("unavailable", "could not encode the answer")),
    }
}

fn refuse(denied: &Denied) -> Reply {
    let status =
        StatusCode::from_u16(denied.http_status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut reply = json(
        status,
        &serde_json::json!({"category": denied.category, "message": denied.message}),
    );
    if status == StatusCode::TOO_MANY_REQUESTS {
        reply
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    reply
}

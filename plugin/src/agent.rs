//! The secrets agent, reached through the API server's service proxy (as kubeseal reaches
//! the Sealed Secrets controller), so no port needs exposing and RBAC on `services/proxy`
//! decides who may ask.
//!
//! Data flow: [`Agent::call`] → `GET/POST /api/v1/namespaces/{ns}/services/http:{svc}:http/
//! proxy/{path}` through the [`Cluster`] client → [`Reply`] (status, body). An answer from the
//! API server itself (a `Status` object: no such Service, no endpoints) becomes an error that
//! names the agent and the context; the agent's own answers (200, 409, 400, 503) go back to
//! the command. A 429 is waited out ([`Agent::call_retrying`]), a bounded number of times.
//!
//! [`sealing_certificate`] is `seal`'s path: fetch `/v1/cert.pem`, cache it per cluster
//! ([`crate::cert_cache`]), and fall back to the cache when the agent cannot be reached.

use std::time::Duration;

use anyhow::{Context as _, bail};
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use secrets_core::seal::keys::{Certificate, KeyList};

use crate::cert_cache;
use crate::cli::GlobalFlags;
use crate::cluster::{self, Cluster};

/// How many times a 429 is waited out before giving up.
const MAX_RETRIES: u32 = 5;
/// The longest single wait a `Retry-After` may ask of us; a person is watching.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// Agent answers are small (a certificate, a SealedSecret); anything bigger is not ours.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// The agent of one cluster.
pub(crate) struct Agent<'a> {
    pub(crate) cluster: &'a Cluster,
    pub(crate) namespace: String,
    pub(crate) service: String,
}

/// What the agent answered.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
    retry_after: Option<Duration>,
}

impl Reply {
    /// The body as text, trimmed, for messages (agent bodies are reasons, never values).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).trim().to_owned()
    }
}

impl<'a> Agent<'a> {
    pub(crate) fn new(cluster: &'a Cluster, flags: &GlobalFlags) -> Agent<'a> {
        Agent {
            cluster,
            namespace: flags.agent_namespace.clone(),
            service: flags.agent_service.clone(),
        }
    }

    /// `namespace/service`.
    pub(crate) fn name(&self) -> String {
        format!("{}/{}", self.namespace, self.service)
    }

    fn uri(&self, path: &str) -> String {
        format!(
            "/api/v1/namespaces/{}/services/http:{}:http/proxy/{}",
            self.namespace,
            self.service,
            path.trim_start_matches('/')
        )
    }

    /// One request; the API server's own refusals become errors.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Reply> {
        let context = || {
            format!(
                "reaching the agent {} through {}",
                self.name(),
                self.cluster.describe
            )
        };
        let mut request = Request::builder()
            .method(method)
            .uri(self.uri(path))
            .header(
                header::ACCEPT,
                "application/x-pem-file, application/json, */*",
            );
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(kube::client::Body::from(body.unwrap_or_default()))
            .with_context(context)?;
        let response = self
            .cluster
            .proxy_client
            .send(request)
            .await
            .map_err(cluster::api_error)
            .with_context(context)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(cluster::api_error)
            .with_context(context)?
            .to_bytes();
        if body.len() > MAX_BODY {
            bail!("{}: the answer is over {MAX_BODY} bytes", context());
        }
        if let Some(message) = api_server_refusal(status, &body) {
            bail!("{}: {message}", context());
        }
        Ok(Reply {
            status,
            body: body.to_vec(),
            retry_after,
        })
    }

    /// [`Agent::call`], waiting out 429s as `Retry-After` asks (capped, bounded).
    pub(crate) async fn call_retrying(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<Reply> {
        self.call_with_retries(method, path, Some(body)).await
    }

    async fn call_with_retries(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Reply> {
        let mut attempt = 0;
        loop {
            let reply = self.call(method.clone(), path, body.clone()).await?;
            if reply.status != StatusCode::TOO_MANY_REQUESTS {
                return Ok(reply);
            }
            attempt += 1;
            if attempt > MAX_RETRIES {
                bail!(
                    "the agent {} is still rate-limiting after {MAX_RETRIES} retries; try again later",
                    self.name()
                );
            }
            let wait = reply
                .retry_after
                .unwrap_or(Duration::from_secs(1))
                .min(MAX_WAIT);
            eprintln!(
                "the agent is rate-limiting; retrying in {}s ({attempt}/{MAX_RETRIES})",
                wait.as_secs()
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// The keys the agent holds (`GET /v1/keys`): which Secrets, ours and Bitnami's, it
    /// loaded, as its flags decide.
    pub(crate) async fn key_list(&self) -> anyhow::Result<KeyList> {
        let reply = self.call_with_retries(Method::GET, "v1/keys", None).await?;
        if reply.status != StatusCode::OK {
            bail!(
                "the agent {} answered {} to GET /v1/keys: {}",
                self.name(),
                reply.status,
                reply.text()
            );
        }
        serde_json::from_slice(&reply.body).map_err(|err| {
            anyhow::anyhow!(
                "the agent {} sent a key list this plugin cannot read ({err}); \
                 is the plugin older than the agent?",
                self.name()
            )
        })
    }

    /// The newest certificate, as PEM.
    pub(crate) async fn certificate_pem(&self) -> anyhow::Result<String> {
        let reply = self.call(Method::GET, "v1/cert.pem", None).await?;
        if reply.status != StatusCode::OK {
            bail!(
                "the agent {} answered {} to GET /v1/cert.pem: {}",
                self.name(),
                reply.status,
                reply.text()
            );
        }
        String::from_utf8(reply.body).map_err(|_| {
            anyhow::anyhow!(
                "the agent {} sent a certificate that is not text",
                self.name()
            )
        })
    }
}

/// A `Status` object in the body means the API server answered, not the agent.
fn api_server_refusal(status: StatusCode, body: &[u8]) -> Option<String> {
    if status.is_success() {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.get("kind").and_then(|k| k.as_str()) != Some("Status") {
        return None;
    }
    let message = value
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or("no message");
    Some(format!("the API server answered {status}: {message}"))
}

/// The certificate `seal` uses when no `--cert` is given: the agent's, fetched and cached,
/// or the cached one when the agent cannot be reached and the cluster is the one it was cached
/// from. Says on stderr which one it used.
pub(crate) fn sealing_certificate(flags: &GlobalFlags) -> anyhow::Result<Certificate> {
    cluster::block_on(async {
        let cluster = cluster::connect(flags).await?;
        let agent = Agent::new(&cluster, flags);
        let identity = cluster.identity().await;
        let key = cert_cache::Key {
            server: &cluster.server,
            namespace: &agent.namespace,
            service: &agent.service,
            identity: identity.as_deref(),
        };
        let now = time::OffsetDateTime::now_utc();
        match fetch_checked(&agent, now).await {
            Ok((certificate, pem)) => {
                remember(&key, &certificate, &pem);
                eprintln!(
                    "using certificate {} from {} (fetched)",
                    certificate.public_key().fingerprint(),
                    agent.name()
                );
                Ok(certificate)
            }
            Err(fetch_err) => {
                let Some(cached) = cert_cache::load(&key) else {
                    return Err(fetch_err);
                };
                if !cached.is_for(&key) {
                    let why = if key.identity.is_none() {
                        "this cluster cannot be identified (no API server CA in the kubeconfig, \
                         and the kube-system namespace cannot be read)"
                    } else {
                        "the cluster at that address is not the one it was cached from (its \
                         API server CA or kube-system namespace changed)"
                    };
                    bail!(
                        "the agent {} cannot be reached through {} ({}), and the certificate \
                         cached for {} on {} is not used: {why}; pass --cert PATH|URL, or \
                         refresh the cache with `kubectl secrets fetch cert` once the agent \
                         is up",
                        agent.name(),
                        cluster.describe,
                        crate::report::render(&fetch_err),
                        cluster.server,
                        cached.fetched_at,
                    );
                }
                let certificate = Certificate::from_pem(cached.pem.as_bytes())
                    .context("loading the cached certificate")?;
                certificate
                    .ensure_valid_at(now)
                    .context("loading the cached certificate")?;
                eprintln!("warning: {}", crate::report::render(&fetch_err));
                eprintln!(
                    "using certificate {} from {} (cached {})",
                    certificate.public_key().fingerprint(),
                    agent.name(),
                    cached.fetched_at
                );
                Ok(certificate)
            }
        }
    })
}

/// The agent's certificate, checked, and remembered for when the agent is unreachable (what
/// `fetch cert` uses; `seal` goes through [`sealing_certificate`]).
pub(crate) async fn fetch_and_remember(
    cluster: &Cluster,
    agent: &Agent<'_>,
) -> anyhow::Result<(Certificate, String)> {
    let (certificate, pem) = fetch_checked(agent, time::OffsetDateTime::now_utc()).await?;
    let identity = cluster.identity().await;
    let key = cert_cache::Key {
        server: &cluster.server,
        namespace: &agent.namespace,
        service: &agent.service,
        identity: identity.as_deref(),
    };
    remember(&key, &certificate, &pem);
    Ok((certificate, pem))
}

/// Cache a fetched certificate; a cache that cannot be written only costs the fallback.
fn remember(key: &cert_cache::Key<'_>, certificate: &Certificate, pem: &str) {
    let fingerprint = certificate.public_key().fingerprint();
    if let Err(err) = cert_cache::store(key, pem, &fingerprint) {
        eprintln!(
            "warning: could not cache the certificate: {}",
            crate::report::render(&err)
        );
    }
}

async fn fetch_checked(
    agent: &Agent<'_>,
    now: time::OffsetDateTime,
) -> anyhow::Result<(Certificate, String)> {
    let pem = agent.certificate_pem().await?;
    let context = || format!("loading the certificate from the agent {}", agent.name());
    let certificate = Certificate::from_pem(pem.as_bytes()).with_context(context)?;
    certificate.ensure_valid_at(now).with_context(context)?;
    Ok((certificate, pem))
}

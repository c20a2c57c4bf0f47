//! `secrets-store-http`: the HTTPS client the cloud stores (`stores/aws`, `stores/azure`,
//! `stores/gcp`) share, on the hyper 1 + rustls (aws-lc) stack kube already brings, so the
//! agent and the plugin carry one HTTP stack. Vault's client keeps its own transport (its
//! trust is a store's `caBundle`) and shares the wiped buffers ([`buffer`]).
//!
//! Data flow:
//!
//! ```text
//!  check_endpoint(url) ─▶ https, or http only to a loopback host (tests, local proxies)
//!  Request {method, url, headers (sensitive ones marked), body: wiped buffer}
//!     ─[HttpClient::send: connect + answer + body under one timeout]─▶
//!  Response {status, headers, body: Zeroizing, at most MAX_BODY}   or   HttpError
//! ```
//!
//! Trust is the system's roots, which `rustls-native-certs` replaces with `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` when either is set (OpenSSL's rule): how a sovereign cloud's or a test's CA
//! is given. Errors never carry a body: stores read the body of an error answer themselves
//! and decide what of it may be shown.

pub mod buffer;

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use http::header::{CONTENT_TYPE, HeaderName, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Body as _;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::{ClientConfig, RootCertStore};
use zeroize::Zeroizing;

use buffer::SecretBuf;

/// Largest answer read: every store's values are far smaller (AWS and GCP 64 KiB, Azure
/// 25 KB), list pages too.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Below the usual 60 s idle limit of load balancers, so a pooled connection is rarely one
/// the other side is closing.
const POOL_IDLE: Duration = Duration::from_secs(50);

const USER_AGENT_VALUE: &str = concat!("kubectl-secrets/", env!("CARGO_PKG_VERSION"));

/// A transport failure (an answer with any status is a [`Response`], not an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The request cannot be made (a bad URL, a header value).
    #[error("{0}")]
    Invalid(String),
    /// No connection or no answer (refused, DNS, TLS handshake, reset).
    #[error("{0}")]
    Connect(String),
    /// No complete answer in time.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// The answer is larger than [`MAX_BODY`].
    #[error("the answer is larger than {MAX_BODY} bytes")]
    TooLarge,
    /// TLS could not be set up (no roots).
    #[error("{0}")]
    Tls(String),
}

impl HttpError {
    /// Connection failures and timeouts may pass by themselves.
    pub fn is_transient(&self) -> bool {
        matches!(self, HttpError::Connect(_) | HttpError::Timeout(_))
    }
}

/// One request.
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Zeroizing<Vec<u8>>,
}

impl Request {
    /// A `GET url`.
    pub fn get(url: impl Into<String>) -> Self {
        Request {
            method: Method::GET,
            url: url.into(),
            headers: Vec::new(),
            body: Zeroizing::new(Vec::new()),
        }
    }

    /// A `POST url` of `body` as `content_type`.
    pub fn post(url: impl Into<String>, content_type: &str, body: Zeroizing<Vec<u8>>) -> Self {
        let mut request = Request {
            method: Method::POST,
            url: url.into(),
            headers: Vec::new(),
            body,
        };
        if let Ok(value) = HeaderValue::from_str(content_type) {
            request.headers.push((CONTENT_TYPE, value));
        }
        request
    }

    /// The request with a header; a value that is a credential is marked sensitive (hyper
    /// keeps it out of its debug output and HPACK tables).
    pub fn header(mut self, name: HeaderName, mut value: HeaderValue, sensitive: bool) -> Self {
        value.set_sensitive(sensitive);
        self.headers.push((name, value));
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The headers so far (a signer reads them).
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The body (a signer hashes it).
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// An answer: status, headers and the whole body (wiped on drop).
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// A pooled HTTPS client. Cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct HttpClient {
    http: Arc<Client<HttpsConnector<HttpConnector>, Full<SecretBuf>>>,
    timeout: Duration,
}

impl HttpClient {
    /// A client whose every call (connect, answer, body) takes at most `timeout`, trusting
    /// the system roots (or `SSL_CERT_FILE` / `SSL_CERT_DIR`). Makes no request.
    pub fn new(timeout: Duration) -> Result<Self, HttpError> {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        // Unparseable system certificates are skipped, as every TLS client does.
        let (_added, _skipped) = roots.add_parsable_certificates(found.certs);
        if roots.is_empty() {
            return Err(HttpError::Tls(
                "no system CA certificates found (SSL_CERT_FILE / SSL_CERT_DIR give others)".into(),
            ));
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| HttpError::Tls(format!("setting up TLS: {err}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(timeout));
        tcp.set_nodelay(true);
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(connector);
        Ok(HttpClient {
            http: Arc::new(http),
            timeout,
        })
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Send `request` and read the whole answer, under the timeout. The URL is checked with
    /// [`check_endpoint`] first, so no credential goes out in clear text.
    pub async fn send(&self, request: Request) -> Result<Response, HttpError> {
        let uri = check_endpoint(&request.url).map_err(HttpError::Invalid)?;
        let mut builder = http::Request::builder()
            .method(request.method)
            .uri(uri)
            .header(USER_AGENT, USER_AGENT_VALUE);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let http_request = builder
            .body(Full::new(SecretBuf::new(request.body)))
            .map_err(|err| HttpError::Invalid(format!("building the request: {err}")))?;
        let round_trip = async {
            let response = self
                .http
                .request(http_request)
                .await
                .map_err(|err| HttpError::Connect(cause_chain(&err)))?;
            let (parts, body) = response.into_parts();
            let body = read_body(body).await?;
            Ok::<_, HttpError>(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, round_trip)
            .await
            .map_err(|_| HttpError::Timeout(self.timeout))?
    }
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The whole body in a zeroizing buffer, each received frame wiped after the copy.
async fn read_body(mut body: hyper::body::Incoming) -> Result<Zeroizing<Vec<u8>>, HttpError> {
    let expected = usize::try_from(body.size_hint().lower()).unwrap_or(MAX_BODY);
    let mut bytes = Zeroizing::new(Vec::with_capacity(expected.min(MAX_BODY)));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| HttpError::Connect(cause_chain(&err)))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if bytes.len().saturating_add(data.len()) > MAX_BODY {
            buffer::wipe_bytes(data);
            return Err(HttpError::TooLarge);
        }
        buffer::push(&mut bytes, &data);
        buffer::wipe_bytes(data);
    }
    Ok(bytes)
}

/// `err` and its sources, each once (hyper repeats its inner error in its own text).
fn cause_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Whether `host` (from a URI, IPv6 in brackets) is this machine.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `url` as a URI if it may carry credentials or values: `https://`, or `http://` only to a
/// loopback host (SigV4 signs a request, it does not encrypt it). The text says what is wrong.
pub fn check_endpoint(url: &str) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|err| format!("endpoint {url:?} is not a URL: {err}"))?;
    let Some(host) = uri.host() else {
        return Err(format!("endpoint {url:?} has no host"));
    };
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback(host) => Ok(uri),
        Some("http") => Err(format!(
            "endpoint {url:?} must be https:// (plain http is allowed only to a loopback host)"
        )),
        _ => Err(format!("endpoint {url:?} must be an https:// URL")),
    }
}

/// How long a `Retry-After` header asks us to wait (seconds only; an HTTP date counts as
/// absent, and a store's own backoff applies).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_outside_loopback() {
        assert!(check_endpoint("https://secretsmanager.eu-west-1.amazonaws.com").is_ok());
        assert!(check_endpoint("http://127.0.0.1:4566/").is_ok());
        assert!(check_endpoint("http://[::1]:8080").is_ok());
        assert!(check_endpoint("http://localhost:9").is_ok());
        let err = check_endpoint("http://vpce.example.com").unwrap_err();
        assert!(err.contains("must be https://"), "{err}");
        assert!(check_endpoint("ftp://x").is_err());
        assert!(check_endpoint("not a url").is_err());
        // A loopback-looking name is not loopback.
        assert!(check_endpoint("http://127.0.0.1.example.com").is_err());
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(http::header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            http::header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn debug_shows_no_body() {
        let r = Request::post(
            "https://x",
            "application/json",
            Zeroizing::new(b"hunter2".to_vec()),
        );
        assert!(!format!("{r:?}").contains("hunter2"));
    }
}

//! The transport every call goes through: one pooled hyper client per server, one request per
//! call, the whole exchange under the configured timeout, the answer read into a zeroizing
//! buffer and parsed into wiped JSON.
//!
//! Data flow: `send(method, path, query, token, body)` → `{server}/v1/{path}?{query}` with
//! `X-Vault-Token` (marked sensitive), `X-Vault-Namespace`, `X-Vault-Request` → hyper →
//! status + body (at most [`MAX_ANSWER_BYTES`]) → [`Answer`]. Transport failures become
//! `Unavailable` or `Timeout` here; statuses are interpreted by the calls (`auth.rs`, `kv.rs`),
//! each wrapped in [`VaultClient::observed`] so the observer and counters see one outcome per
//! call.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::header::{CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body as _, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::Value;
use zeroize::Zeroizing;

use super::buffer::{self, SecretBuf, WipedJson};
use super::observe::Counters;
use super::tls::{self, Connector};
use super::{Call, Observer, Outcome, Token, VaultConfig, VaultError};

/// Largest answer we read. Vault refuses requests above 32 MiB by default, so no secret it
/// stores is bigger; anything larger is not a Vault answer we want in memory.
const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// How long an idle pooled connection is kept. Below the usual 60 s of load balancers in
/// front of Vault, so we rarely pick a connection the other side is about to close.
const POOL_IDLE: Duration = Duration::from_secs(50);

const USER_AGENT_VALUE: &str = concat!("kubectl-secrets/", env!("CARGO_PKG_VERSION"));

/// A client for one Vault server. Cheap to clone: clones share the connection pool and the
/// call counters.
#[derive(Clone)]
pub struct VaultClient {
    inner: Arc<Inner>,
    observer: Option<Observer>,
}

struct Inner {
    http: Client<Connector, Full<SecretBuf>>,
    /// The server URL without a trailing slash.
    base: String,
    namespace: Option<HeaderValue>,
    timeout: Duration,
    counters: Counters,
}

/// A status and the parsed body (`null` when empty).
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) json: WipedJson,
}

impl VaultClient {
    /// A client for the server `config` describes. Checks the URL, namespace and timeout,
    /// and loads the trust roots (the `caBundle`, or for `https://` without one the system's).
    /// Makes no request. Calls need a tokio runtime.
    pub fn new(config: &VaultConfig) -> Result<Self, VaultError> {
        let checked = config.validate()?;
        let connector = tls::connector(checked.https, config.ca_bundle.as_deref(), config.timeout)?;
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(connector);
        Ok(VaultClient {
            inner: Arc::new(Inner {
                http,
                base: checked.base,
                namespace: checked.namespace,
                timeout: config.timeout,
                counters: Counters::default(),
            }),
            observer: None,
        })
    }

    /// This client, telling `observer` the outcome of every call it makes from now on.
    #[must_use]
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The server URL, as used in errors.
    pub fn server(&self) -> &str {
        &self.inner.base
    }

    /// How many calls of this kind this client and its clones have made (whatever the
    /// outcome; arguments refused before sending are not calls).
    pub fn calls(&self, call: Call) -> u64 {
        self.inner.counters.get(call)
    }

    /// Run one call and account for its outcome.
    pub(super) async fn observed<T>(
        &self,
        call: Call,
        work: impl Future<Output = Result<T, VaultError>>,
    ) -> Result<T, VaultError> {
        let result = work.await;
        self.inner.counters.record(call);
        if let Some(observer) = &self.observer {
            observer(call, Outcome::of(&result));
        }
        result
    }

    /// The error for a status the call gives no meaning of its own.
    pub(super) fn status_error(&self, path: &str, status: u16, json: &WipedJson) -> VaultError {
        VaultError::from_status(&self.inner.base, path, status, &json.0)
    }

    /// One request. `path` is already encoded; `body` is JSON.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        query: Option<&str>,
        token: Option<&Token>,
        body: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<Answer, VaultError> {
        let uri = match query {
            Some(query) => format!("{}/v1/{path}?{query}", self.inner.base),
            None => format!("{}/v1/{path}", self.inner.base),
        };
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(USER_AGENT, USER_AGENT_VALUE)
            // What Vault's own clients send; Vault Agent/Proxy refuse requests without it.
            .header("X-Vault-Request", "true");
        if let Some(namespace) = &self.inner.namespace {
            builder = builder.header("X-Vault-Namespace", namespace.clone());
        }
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(token.expose_secret()).map_err(|_| {
                VaultError::invalid_config("the token holds characters an HTTP header cannot carry")
            })?;
            value.set_sensitive(true);
            builder = builder.header("X-Vault-Token", value);
        }
        let body = match body {
            Some(bytes) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                SecretBuf::new(bytes)
            }
            None => SecretBuf::empty(),
        };
        let request = builder.body(Full::new(body)).map_err(|err| {
            VaultError::invalid_config(format!("building the request for {path}: {err}"))
        })?;
        self.exchange(path, request).await
    }

    /// Send `request`, read and parse the answer, all under the timeout.
    async fn exchange(
        &self,
        path: &str,
        request: Request<Full<SecretBuf>>,
    ) -> Result<Answer, VaultError> {
        let round_trip = async {
            let response = self
                .inner
                .http
                .request(request)
                .await
                .map_err(|err| self.unavailable(&err))?;
            let status = response.status().as_u16();
            let bytes = self.read_body(response.into_body(), path).await?;
            Ok::<_, VaultError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.inner.timeout, round_trip)
            .await
            .map_err(|_| VaultError::Timeout {
                server: self.inner.base.clone(),
                path: path.to_owned(),
                after: self.inner.timeout,
            })??;
        let json = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(value) => value,
                // A proxy's HTML error page: the status says enough.
                Err(_) if !(200..300).contains(&status) => Value::Null,
                // Only the position: serde_json's message could quote part of the body.
                Err(err) => {
                    return Err(VaultError::bad_response(
                        path,
                        format!(
                            "the answer is not JSON (line {}, column {})",
                            err.line(),
                            err.column()
                        ),
                    ));
                }
            }
        };
        Ok(Answer {
            status,
            json: WipedJson(json),
        })
    }

    /// The whole body in a zeroizing buffer, each received frame wiped after the copy.
    async fn read_body(
        &self,
        mut body: Incoming,
        path: &str,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let expected = usize::try_from(body.size_hint().lower()).unwrap_or(MAX_ANSWER_BYTES);
        let mut bytes = Zeroizing::new(Vec::with_capacity(expected.min(MAX_ANSWER_BYTES)));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|err| self.unavailable(&err))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if bytes.len().saturating_add(data.len()) > MAX_ANSWER_BYTES {
                buffer::wipe_bytes(data);
                return Err(VaultError::bad_response(
                    path,
                    format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
                ));
            }
            buffer::push(&mut bytes, &data);
            buffer::wipe_bytes(data);
        }
        Ok(bytes)
    }

    fn unavailable(&self, err: &(dyn StdError + 'static)) -> VaultError {
        VaultError::Unavailable {
            server: self.inner.base.clone(),
            cause: cause_chain(err),
        }
    }
}

impl fmt::Debug for VaultClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultClient")
            .field("server", &self.inner.base)
            .field("namespace", &self.inner.namespace)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// The messages of an error's sources, outermost first, without repeats. hyper-util's own
/// message ("client error (Connect)") says nothing, so it is used only when there is no
/// source; io errors repeat their inner error's text, hence the de-duplication.
fn cause_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = err.source();
    while let Some(source) = next {
        let text = source.to_string();
        if !parts.iter().any(|seen| seen.contains(&text)) {
            parts.push(text);
        }
        next = source.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Layer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|layer| layer as _)
        }
    }

    #[test]
    fn cause_chain_skips_the_wrapper_and_repeats() {
        let err = Layer(
            "client error (Connect)",
            Some(Box::new(Layer(
                "tcp connect error: Connection refused",
                Some(Box::new(Layer("Connection refused", None))),
            ))),
        );
        assert_eq!(cause_chain(&err), "tcp connect error: Connection refused");
        assert_eq!(cause_chain(&Layer("alone", None)), "alone");
    }

    #[test]
    fn debug_shows_no_secrets() {
        let client = VaultClient::new(&VaultConfig::new("http://127.0.0.1:1")).unwrap();
        let debug = format!("{client:?}");
        assert!(debug.contains("http://127.0.0.1:1"), "{debug}");
    }
}

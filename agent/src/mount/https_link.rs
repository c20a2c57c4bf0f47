//! [`ControllerLink`] over HTTPS to the controller's mount endpoint.
//!
//! Data flow of one call:
//!
//! ```text
//!  pin: GET ConfigMap <--mount-config-map> in <--agent-namespace> → its mount.crt (Pinned:
//!       DER + Ed25519 key), cached; re-read once when a handshake fails, so a rotated key
//!       heals on the next call
//!  Pending::new() (one-time X25519) → request JSON {…, nonce, time, ephemeralKey}
//!  TLS (rustls, aws-lc-rs) whose verifier accepts exactly the pinned end-entity certificate
//!       and checks the handshake signature with its key → POST over hyper HTTP/1.1
//!  answer: signature by the pinned key over the transcript → decrypt → exactly the asked
//!       paths, in order → SealedFile {path, contents, version}
//! ```
//!
//! The pod's token travels only inside this TLS session; the provider's own token (for the
//! version key) is read from `--identity-token-file` at each call, as the kubelet rotates it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use rustls::pki_types::ServerName;
use secrets_core::mount::exchange::{
    self, Answer, MountRequest, OpenedFile, Pending, RequestItem, Transcript, VERSION_KEY_FILE,
    VersionKeyRequest,
};
use secrets_core::mount::mount_key::{CERT_FIELD, Pinned};
use secrets_core::mount::request::{PodIdentity, PodToken};
use tokio::sync::Mutex;
use zeroize::Zeroizing;

use super::link::{ControllerLink, LinkError, LinkFuture, SealedFile, SealedItem};
use super::pinned_tls::tls_config;

/// Longest a call may take, connection to answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read (the driver takes 4 MiB; base64 and metadata on top).
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// Where the controller is and how the provider proves itself.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// `https://host:port` of the controller's mount endpoint (`--agent-url`).
    pub agent_url: String,
    /// The agent namespace (`--agent-namespace`), where the ConfigMap is.
    pub agent_namespace: String,
    /// The ConfigMap with the pinned certificate (`--mount-config-map`).
    pub config_map: String,
    /// The provider's own token (`--identity-token-file`).
    pub identity_token_file: PathBuf,
}

/// The link. Cheap to share (`Arc`).
pub struct HttpsLink {
    client: kube::Client,
    settings: LinkSettings,
    host: String,
    port: u16,
    pinned: Mutex<Option<Arc<Pinned>>>,
}

pub(super) fn error(category: &'static str, message: impl Into<String>) -> LinkError {
    LinkError {
        category,
        message: message.into(),
    }
}

impl HttpsLink {
    /// A link to `settings.agent_url`, reading the pin through `client`.
    pub fn new(client: kube::Client, settings: LinkSettings) -> Result<HttpsLink, LinkError> {
        let uri: hyper::Uri = settings.agent_url.parse().map_err(|_| {
            error(
                "invalid_config",
                format!("--agent-url {:?} is not a URL", settings.agent_url),
            )
        })?;
        if uri.scheme_str() != Some("https") {
            return Err(error(
                "invalid_config",
                format!("--agent-url {:?} must be https://", settings.agent_url),
            ));
        }
        let host = uri
            .host()
            .ok_or_else(|| {
                error(
                    "invalid_config",
                    format!("--agent-url {:?} has no host", settings.agent_url),
                )
            })?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(HttpsLink {
            client,
            host,
            port: uri.port_u16().unwrap_or(443),
            settings,
            pinned: Mutex::new(None),
        })
    }

    /// The pinned certificate: cached, or read from the ConfigMap (`refresh`: read again).
    async fn pin(&self, refresh: bool) -> Result<Arc<Pinned>, LinkError> {
        let mut cached = self.pinned.lock().await;
        if let (false, Some(pin)) = (refresh, cached.as_ref()) {
            return Ok(Arc::clone(pin));
        }
        let (ns, name) = (&self.settings.agent_namespace, &self.settings.config_map);
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), ns);
        let map = api.get_opt(name).await.map_err(|err| {
            error("unavailable", format!("could not read ConfigMap {ns}/{name} with the controller's mount certificate: {err}"))
        })?;
        let pem = map
            .and_then(|m| m.data)
            .and_then(|d| d.get(CERT_FIELD).cloned())
            .ok_or_else(|| {
                error("unavailable", format!("ConfigMap {ns}/{name} has no {CERT_FIELD} yet: is the controller running with --mount-addr?"))
            })?;
        let pin = Arc::new(
            Pinned::from_pem(&pem)
                .map_err(|err| error("bad_response", format!("ConfigMap {ns}/{name}: {err}")))?,
        );
        *cached = Some(Arc::clone(&pin));
        Ok(pin)
    }

    /// POST `body` to `path` over the pinned TLS (a failed handshake re-reads the pin once):
    /// the pin used, the status and the body. The raw call under both link methods; tests
    /// use it to replay or tamper.
    pub async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(Arc<Pinned>, u16, Bytes), LinkError> {
        let pin = self.pin(false).await?;
        match self.post_pinned(&pin, path, body.clone()).await {
            Err(Failure::Handshake(first)) => {
                let fresh = self.pin(true).await?;
                if fresh == pin {
                    return Err(first);
                }
                tracing::info!(key = %fresh.fingerprint(), "the controller's mount certificate changed; pinned the new one");
                match self.post_pinned(&fresh, path, body).await {
                    Ok((status, answer)) => Ok((fresh, status, answer)),
                    Err(Failure::Handshake(err) | Failure::Other(err)) => Err(err),
                }
            }
            Err(Failure::Other(err)) => Err(err),
            Ok((status, answer)) => Ok((pin, status, answer)),
        }
    }

    async fn post_pinned(
        &self,
        pin: &Pinned,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Bytes), Failure> {
        let call = async {
            let config = tls_config(pin).map_err(Failure::Other)?;
            let name = ServerName::try_from(self.host.clone()).map_err(|_| {
                Failure::Other(error(
                    "invalid_config",
                    format!("{:?} is not a TLS server name", self.host),
                ))
            })?;
            let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|err| {
                    Failure::Other(error(
                        "unavailable",
                        format!(
                            "could not connect to the controller at {}: {err}",
                            self.settings.agent_url
                        ),
                    ))
                })?;
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|err| Failure::Handshake(error("unavailable", format!(
                    "the controller at {} did not present the pinned mount certificate ({}): {err}",
                    self.settings.agent_url,
                    pin.fingerprint()
                ))))?;
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|err| {
                    Failure::Other(error(
                        "unavailable",
                        format!("talking to the controller: {err}"),
                    ))
                })?;
            tokio::spawn(connection);
            let request = Request::post(path)
                .header(hyper::header::HOST, &self.host)
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body)))
                .map_err(|err| Failure::Other(error("invalid_config", err.to_string())))?;
            let answer = sender.send_request(request).await.map_err(|err| {
                Failure::Other(error(
                    "unavailable",
                    format!("the controller did not answer: {err}"),
                ))
            })?;
            let status = answer.status().as_u16();
            let bytes = Limited::new(answer.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|_| {
                    Failure::Other(error(
                        "bad_response",
                        "the controller's answer could not be read (or is too large)",
                    ))
                })?
                .to_bytes();
            Ok((status, bytes))
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| {
                Failure::Other(error(
                    "timeout",
                    format!(
                        "the controller at {} did not answer within {CALL_TIMEOUT:?}",
                        self.settings.agent_url
                    ),
                ))
            })?
    }

    /// One exchange: POST, then check and open the answer.
    async fn exchange(
        &self,
        path: &str,
        body: Vec<u8>,
        transcript: Transcript,
        pending: Pending,
    ) -> Result<Vec<OpenedFile>, LinkError> {
        let (pin, status, answer) = self.post(path, body).await?;
        if status != 200 {
            return Err(refusal(status, &answer));
        }
        let answer: Answer = serde_json::from_slice(&answer).map_err(|err| {
            error(
                "bad_response",
                format!("the controller's answer is not the expected JSON: {err}"),
            )
        })?;
        open_answer(pending, &transcript, &answer, &pin)
    }
}

/// Check and open an answer with the pinned key (the link's last step, public so tests can
/// hand it a tampered answer).
pub fn open_answer(
    pending: Pending,
    transcript: &Transcript,
    answer: &Answer,
    pin: &Pinned,
) -> Result<Vec<OpenedFile>, LinkError> {
    pending
        .open(transcript, answer, &pin.public_key)
        .map_err(|err| {
            error(
                "bad_response",
                format!("refused the controller's answer: {err}"),
            )
        })
}

enum Failure {
    Handshake(LinkError),
    Other(LinkError),
}

/// The controller's `{category, message}`, or what the status says.
fn refusal(status: u16, body: &[u8]) -> LinkError {
    #[derive(serde::Deserialize)]
    struct Refused {
        category: String,
        message: String,
    }
    const CATEGORIES: [&str; 9] = [
        "permission_denied",
        "not_found",
        "unavailable",
        "timeout",
        "throttled",
        "rejected",
        "bad_response",
        "invalid_config",
        "credentials",
    ];
    match serde_json::from_slice::<Refused>(body) {
        Ok(refused) => {
            let category = CATEGORIES
                .iter()
                .find(|c| **c == refused.category)
                .copied()
                .unwrap_or("bad_response");
            error(
                category,
                format!("the controller refused ({status}): {}", refused.message),
            )
        }
        Err(_) => error(
            "bad_response",
            format!("the controller answered HTTP {status}"),
        ),
    }
}

fn now_rfc3339() -> String {
    secrets_core::rfc3339::now()
}

fn crypto(err: exchange::ExchangeError) -> LinkError {
    error("unavailable", err.to_string())
}

impl ControllerLink for HttpsLink {
    fn open_sealed<'a>(
        &'a self,
        pod: &'a PodIdentity,
        token: &'a PodToken,
        items: &'a [SealedItem],
    ) -> LinkFuture<'a, Vec<SealedFile>> {
        Box::pin(async move {
            let pending = Pending::new().map_err(crypto)?;
            let request = MountRequest {
                namespace: pod.namespace.clone(),
                pod_name: pod.name.clone(),
                pod_uid: pod.uid.clone(),
                service_account: pod.service_account.clone(),
                token: token.token.clone(),
                items: items
                    .iter()
                    .map(|i| RequestItem {
                        path: i.path.clone(),
                        name: i.name.clone(),
                        key: i.key.clone(),
                    })
                    .collect(),
                nonce: exchange::new_nonce().map_err(crypto)?,
                time: now_rfc3339(),
                ephemeral_key: pending.public_key(),
            };
            let body = Zeroizing::new(
                serde_json::to_vec(&request)
                    .map_err(|err| error("invalid_config", err.to_string()))?,
            );
            let opened = self
                .exchange("/v1/mount", body.to_vec(), request.transcript(), pending)
                .await
                .map_err(|err| LinkError {
                    message: format!("{pod}: {}", err.message),
                    ..err
                })?;
            let asked: Vec<&str> = items.iter().map(|i| i.path.as_str()).collect();
            let answered: Vec<&str> = opened.iter().map(|(f, _)| f.path.as_str()).collect();
            if asked != answered {
                return Err(error(
                    "bad_response",
                    format!(
                        "{pod}: the controller answered paths {answered:?}, not the asked {asked:?}"
                    ),
                ));
            }
            Ok(opened
                .into_iter()
                .map(|(meta, contents)| SealedFile {
                    path: meta.path,
                    contents,
                    version: meta.version,
                })
                .collect())
        })
    }

    fn version_key(&self) -> LinkFuture<'_, Zeroizing<Vec<u8>>> {
        Box::pin(async move {
            let file = &self.settings.identity_token_file;
            // A small file on a tmpfs projected volume: read in place.
            let token = std::fs::read_to_string(file).map_err(|err| {
                error(
                    "credentials",
                    format!(
                        "could not read the provider's token {}: {err}",
                        file.display()
                    ),
                )
            })?;
            let token = Zeroizing::new(token.trim().to_owned());
            let pending = Pending::new().map_err(crypto)?;
            let request = VersionKeyRequest {
                token,
                nonce: exchange::new_nonce().map_err(crypto)?,
                time: now_rfc3339(),
                ephemeral_key: pending.public_key(),
            };
            let body = Zeroizing::new(
                serde_json::to_vec(&request)
                    .map_err(|err| error("invalid_config", err.to_string()))?,
            );
            let mut opened = self
                .exchange(
                    "/v1/mount/version-key",
                    body.to_vec(),
                    request.transcript(),
                    pending,
                )
                .await?;
            match (opened.pop(), opened.is_empty()) {
                (Some((meta, key)), true) if meta.path == VERSION_KEY_FILE && key.len() == 32 => {
                    Ok(key)
                }
                _ => Err(error(
                    "bad_response",
                    "the controller's version-key answer is not one 32-byte key",
                )),
            }
        })
    }
}

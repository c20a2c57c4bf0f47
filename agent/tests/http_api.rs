//! The agent's HTTP API and metrics servers over real sockets: certificate, verify, rotate
//! (scope and flavor kept, templates never rendered), limits, readiness, metrics and shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use secrets_agent::http::{ApiState, bind_api, bind_metrics};
use secrets_agent::metrics::Metrics;
use secrets_core::api::sealed_secret::{
    AnySealedSecret, BITNAMI_API_VERSION, Flavor, SealedSecret, parse_sealed_secrets,
};
use secrets_core::seal::crypto::{CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, Scope};
use secrets_core::seal::keys::{
    KeyBits, KeyList, KeyOrigin, KeyRing, PrivateKey, PublicKey, SealingKey, generate,
};
use secrets_core::seal::{Templates, seal_secret, unseal_with, verify};
use secrets_core::secret::parse_secrets;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

const PASSWORD: &str = "hunter2-not-base64!";

/// A generated key pair as a key Secret holds it.
struct KeyPem {
    key: String,
    cert: String,
    created: time::OffsetDateTime,
}

/// Two keys: `OLD` (made two days ago) and `NEW` (an hour ago), generated once per run.
const OLD: usize = 0;
const NEW: usize = 1;

fn key_pems() -> &'static [KeyPem; 2] {
    static KEYS: OnceLock<[KeyPem; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let now = time::OffsetDateTime::now_utc();
        let make = |name: &str, age: time::Duration| {
            let made = now - age;
            let key = generate(KeyBits::Rsa2048, name, made, time::Duration::days(3650)).unwrap();
            KeyPem {
                key: key.key_pem.to_string(),
                cert: key.certificate.pem().to_owned(),
                created: made,
            }
        };
        [
            make("old", time::Duration::days(2)),
            make("new", time::Duration::hours(1)),
        ]
    })
}

fn sealing_key(which: usize) -> SealingKey {
    let pem = &key_pems()[which];
    let data = BTreeMap::from([
        ("tls.key".to_owned(), pem.key.as_bytes().to_vec()),
        ("tls.crt".to_owned(), pem.cert.as_bytes().to_vec()),
    ]);
    SealingKey::from_secret_data(&format!("kubectl-secrets/key-{which}"), pem.created, &data)
        .unwrap()
}

fn ring(which: &[usize]) -> KeyRing {
    KeyRing::new(which.iter().map(|&k| sealing_key(k)).collect())
}

fn private(which: usize) -> PrivateKey {
    sealing_key(which).private
}

fn public(which: usize) -> PublicKey {
    private(which).public().clone()
}

/// `prod/app` with two values, sealed to `key` under `scope`.
fn sealed(key: usize, scope: Scope) -> SealedSecret {
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: app, namespace: prod, labels: {{team: a}}}}\n\
         stringData: {{password: {PASSWORD:?}, user: admin}}\n"
    );
    let secret = parse_secrets(&manifest).unwrap().pop().unwrap();
    seal_secret(&secret, &public(key), scope).unwrap()
}

fn to_json(object: &SealedSecret, flavor: Flavor) -> String {
    let any = AnySealedSecret {
        object: object.clone(),
        flavor,
    };
    serde_json::to_string(&any.to_value(flavor)).unwrap()
}

fn to_yaml(object: &SealedSecret, flavor: Flavor) -> String {
    let any = AnySealedSecret {
        object: object.clone(),
        flavor,
    };
    serde_yaml_ng::to_string(&any.to_value(flavor)).unwrap()
}

/// A running API server with handles on everything it reads.
struct Harness {
    addr: SocketAddr,
    keys: watch::Sender<Arc<KeyRing>>,
    ready: watch::Sender<bool>,
    missing_crds: watch::Sender<Option<Vec<String>>>,
    metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Harness {
    async fn start(keys: KeyRing, ready: bool, api_rate: u32) -> Harness {
        Harness::start_trusting(keys, ready, api_rate, &[]).await
    }

    /// [`Harness::start`] with `--trusted-proxy` blocks.
    async fn start_trusting(
        keys: KeyRing,
        ready: bool,
        api_rate: u32,
        trusted: &[&str],
    ) -> Harness {
        let (keys_tx, keys_rx) = watch::channel(Arc::new(keys));
        let (ready_tx, ready_rx) = watch::channel(ready);
        let (crds_tx, crds_rx) = watch::channel(Some(Vec::new()));
        let metrics = Arc::new(Metrics::new());
        let state = ApiState {
            keys: keys_rx,
            ready: ready_rx,
            missing_crds: crds_rx,
            metrics: Arc::clone(&metrics),
            api_rate,
            trusted_proxies: trusted.iter().map(|t| t.parse().unwrap()).collect(),
        };
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stop_rx.await;
        };
        let (addr, server) = bind_api("127.0.0.1:0".parse().unwrap(), state, shutdown)
            .await
            .unwrap();
        Harness {
            addr,
            keys: keys_tx,
            ready: ready_tx,
            missing_crds: crds_tx,
            metrics,
            stop: Some(stop_tx),
            task: tokio::spawn(server),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        send(self.addr, Method::GET, path, &[], "").await
    }

    async fn post(&self, path: &str, body: impl Into<Bytes>) -> Answer {
        send(self.addr, Method::POST, path, &[], body).await
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let outcome = tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("the server stops within the grace period");
        outcome.unwrap().unwrap();
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "secrets-agent");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender
        .send_request(request.body(Full::new(body.into())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// Write `head` (and `body`) on a raw socket and read the answer's status line and headers.
async fn raw_exchange(addr: SocketAddr, head: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    read_head(&mut stream).await
}

async fn read_head(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(read > 0, "connection closed before an answer");
        seen.extend_from_slice(&buf[..read]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

#[tokio::test]
async fn cert_pem_is_the_newest_certificate() {
    let api = Harness::start(ring(&[NEW, OLD]), true, 10).await;
    let answer = api.get("/v1/cert.pem").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "application/x-pem-file");
    assert_eq!(answer.body, key_pems()[NEW].cert);
    assert!(answer.body.starts_with("-----BEGIN CERTIFICATE-----"));

    let wrong = send(api.addr, Method::POST, "/v1/cert.pem", &[], "").await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.headers["allow"], "GET, HEAD");
    assert_eq!(
        api.get("/v1/nothing-here").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(api.get("/metrics").await.status, StatusCode::NOT_FOUND);

    // Keys gone (all removed): 503 with a plain message.
    api.keys.send_replace(Arc::new(KeyRing::default()));
    let none = api.get("/v1/cert.pem").await;
    assert_eq!(none.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(none.body, "no sealing key is loaded yet\n");
    api.stop().await;
}

#[tokio::test]
async fn verify_opens_with_any_loaded_key_in_either_group_and_format() {
    let api = Harness::start(ring(&[OLD, NEW]), true, 100).await;
    let object = sealed(OLD, Scope::Strict);
    for body in [
        to_json(&object, Flavor::Native),
        to_yaml(&object, Flavor::Native),
        to_json(&object, Flavor::Bitnami),
        to_yaml(&object, Flavor::Bitnami),
    ] {
        let answer = api.post("/v1/verify", body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }

    // Moved to another name: the strict label no longer matches.
    let mut moved = object.clone();
    moved.metadata.name = Some("elsewhere".to_owned());
    let answer = api
        .post("/v1/verify", to_json(&moved, Flavor::Native))
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(
        answer.body.contains("could not be opened"),
        "{}",
        answer.body
    );
    assert!(!answer.body.contains(PASSWORD));

    // Sealed to a key this agent does not hold.
    let only_new = Harness::start(ring(&[NEW]), true, 100).await;
    let answer = only_new
        .post("/v1/verify", to_json(&object, Flavor::Native))
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(!answer.body.contains(PASSWORD));
    only_new.stop().await;
    api.stop().await;
}

#[tokio::test]
async fn verify_never_renders_templates() {
    let api = Harness::start(ring(&[OLD, NEW]), true, 100).await;
    let mut object = sealed(NEW, Scope::Strict);
    // Rendering this would fail (unknown function, and the value is not base64): an answer
    // that depended on it would be a decryption oracle.
    object.spec.template.as_mut().unwrap().data = Some(BTreeMap::from([
        ("a".to_owned(), "{{ nosuchfunction }}".to_owned()),
        ("b".to_owned(), "{{ .password | b64dec }}".to_owned()),
    ]));
    let answer = api
        .post("/v1/verify", to_json(&object, Flavor::Native))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    api.stop().await;
}

#[tokio::test]
async fn malformed_bodies_are_400_and_big_ones_413() {
    let api = Harness::start(ring(&[NEW]), true, 100).await;
    let object = to_yaml(&sealed(NEW, Scope::Strict), Flavor::Native);
    let cases: [(&str, String, &str); 7] = [
        ("empty", String::new(), "no sealedsecret"),
        (
            "plain text",
            "hello, this is not json".to_owned(),
            "document 1 is a string, not a sealedsecret: expected a json or yaml object",
        ),
        ("not yaml", "metadata: [unclosed".to_owned(), ""),
        (
            "a secret",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n".to_owned(),
            "expected a sealedsecret",
        ),
        (
            "two documents",
            format!("{object}---\n{object}"),
            "expected one sealed secret, found 2 documents",
        ),
        (
            "wrong shape",
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SealedSecret\nspec: {encryptedData: [1]}\n"
                .to_owned(),
            "malformed sealedsecret",
        ),
        ("not utf-8", String::new(), "utf-8"),
    ];
    for (what, body, message) in cases {
        let body = if what == "not utf-8" {
            Bytes::from_static(b"\xff\xfe")
        } else {
            Bytes::from(body)
        };
        let answer = api.post("/v1/verify", body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            answer.body
        );
        assert!(
            answer.body.to_lowercase().contains(message),
            "{what}: {}",
            answer.body
        );
        let answer = api.post("/v1/rotate", body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            answer.body
        );
    }

    // Declared too large: refused before reading.
    let head = format!(
        "POST /v1/verify HTTP/1.1\r\nhost: a\r\ncontent-length: {}\r\n\r\n",
        3 * 1024 * 1024 + 1
    );
    let answer = raw_exchange(api.addr, &head, b"").await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Chunked, no length: refused once the limit is passed.
    let chunk = vec![b' '; 64 * 1024];
    let mut body = Vec::new();
    for _ in 0..(3 * 16 + 1) {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let head = "POST /v1/rotate HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n";
    let answer = raw_exchange(api.addr, head, &body).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    api.stop().await;
}

#[tokio::test]
async fn rotate_reseals_to_the_newest_key_keeping_scope_and_flavor() {
    let api = Harness::start(ring(&[OLD, NEW]), true, 100).await;
    let mut object = sealed(OLD, Scope::Strict);
    // An attacker widens the scope in the template only, and adds a template that would fail
    // to render.
    let template = object.spec.template.as_mut().unwrap();
    let annotations = template
        .metadata
        .as_mut()
        .unwrap()
        .annotations
        .get_or_insert_with(BTreeMap::new);
    annotations.insert(CLUSTER_WIDE_ANNOTATION.to_owned(), "true".to_owned());
    annotations.insert(NAMESPACE_WIDE_ANNOTATION.to_owned(), "true".to_owned());
    template.data = Some(BTreeMap::from([(
        "probe".to_owned(),
        "{{ nosuchfunction }}".to_owned(),
    )]));

    for (flavor, body) in [
        (Flavor::Bitnami, to_yaml(&object, Flavor::Bitnami)),
        (Flavor::Native, to_json(&object, Flavor::Native)),
    ] {
        let answer = api.post("/v1/rotate", body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.headers["content-type"], "application/json");
        let value: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(value["kind"], "SealedSecret");
        let expected_version = match flavor {
            Flavor::Bitnami => BITNAMI_API_VERSION,
            Flavor::Native => "kubectl-secrets.io/v1alpha1",
        };
        assert_eq!(value["apiVersion"], expected_version);

        let mut parsed = parse_sealed_secrets(&answer.body).unwrap();
        assert_eq!(parsed.len(), 1);
        let rotated = parsed.pop().unwrap();
        assert_eq!(rotated.flavor, flavor);
        let rotated = rotated.object;

        // Scope: still strict at the top and in the template.
        assert_eq!(rotated.scope(), Scope::Strict);
        let template = rotated.spec.template.as_ref().unwrap();
        let template_annotations = template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.clone())
            .unwrap_or_default();
        assert!(!template_annotations.contains_key(CLUSTER_WIDE_ANNOTATION));
        assert!(!template_annotations.contains_key(NAMESPACE_WIDE_ANNOTATION));
        // The template is kept as text, not rendered.
        assert_eq!(
            template.data.as_ref().unwrap()["probe"],
            "{{ nosuchfunction }}"
        );

        // Opens with the new key only, to the same values, under the same strict label.
        let (old, new) = (private(OLD), private(NEW));
        assert!(verify(&rotated, &[&new]).is_ok());
        assert!(verify(&rotated, &[&old]).is_err());
        let opened = unseal_with(&rotated, &[&new], Templates::Skip).unwrap();
        assert_eq!(
            opened.secret.data["password"].as_slice(),
            PASSWORD.as_bytes()
        );
        assert_eq!(opened.secret.data["user"].as_slice(), b"admin");
        let mut moved = rotated.clone();
        moved.metadata.name = Some("other".to_owned());
        assert!(verify(&moved, &[&new]).is_err());
        assert_ne!(
            rotated.spec.encrypted_data["password"],
            object.spec.encrypted_data["password"]
        );
    }
    api.stop().await;
}

#[tokio::test]
async fn rotate_refuses_what_it_cannot_open_and_needs_a_key() {
    let api = Harness::start(ring(&[NEW]), true, 100).await;
    let answer = api
        .post(
            "/v1/rotate",
            to_json(&sealed(OLD, Scope::NamespaceWide), Flavor::Native),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    assert!(!answer.body.contains(PASSWORD));

    api.keys.send_replace(Arc::new(KeyRing::default()));
    let answer = api
        .post(
            "/v1/rotate",
            to_json(&sealed(NEW, Scope::Strict), Flavor::Native),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    api.stop().await;
}

#[tokio::test]
async fn posts_are_rate_limited_per_client() {
    // The test is the trusted proxy here (a proxy that forwards nothing is its own client).
    let api = Harness::start_trusting(ring(&[NEW]), true, 1, &["127.0.0.1/32"]).await;
    // Rate 1/s, burst 2: the third request in a row is refused.
    for _ in 0..2 {
        assert_eq!(
            api.post("/v1/verify", "").await.status,
            StatusCode::BAD_REQUEST
        );
    }
    let refused = api.post("/v1/rotate", "").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers["retry-after"], "1");

    // Through the proxy: the address the proxy appended is the client, with its own bucket.
    let forwarded = [("x-forwarded-for", "203.0.113.9, 10.0.0.1")];
    for expected in [
        StatusCode::BAD_REQUEST,
        StatusCode::BAD_REQUEST,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let answer = send(api.addr, Method::POST, "/v1/verify", &forwarded, "").await;
        assert_eq!(answer.status, expected);
    }
    // Certificates and probes are not limited.
    assert_eq!(api.get("/v1/cert.pem").await.status, StatusCode::OK);
    api.stop().await;
}

/// `count` POSTs to /v1/verify, the i-th with `X-Forwarded-For: forwarded(i)`: how many were
/// refused with 429, and how long they took.
async fn verify_burst(
    api: &Harness,
    count: usize,
    forwarded: impl Fn(usize) -> String,
) -> (usize, Duration) {
    let started = std::time::Instant::now();
    let mut refused = 0;
    for i in 0..count {
        let value = forwarded(i);
        let answer = send(
            api.addr,
            Method::POST,
            "/v1/verify",
            &[("x-forwarded-for", &value)],
            "",
        )
        .await;
        match answer.status {
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            StatusCode::BAD_REQUEST => {}
            other => panic!("request {i}: unexpected {other}: {}", answer.body),
        }
    }
    (refused, started.elapsed())
}

#[tokio::test]
async fn a_new_forwarded_address_each_time_does_not_escape_the_limit() {
    // 10/s, bursts of 20; nobody is trusted, so all 60 are the peer's.
    let api = Harness::start(ring(&[NEW]), true, 10).await;
    let (refused, took) = verify_burst(&api, 60, |i| format!("203.0.113.{i}")).await;
    // However slow the machine, no more got through than the bucket held plus its refill.
    let allowed = 60 - refused;
    let most = 20 + (took.as_secs_f64() * 10.0).ceil() as usize;
    assert!(refused > 0, "no 429 in 60 requests taking {took:?}");
    assert!(
        allowed <= most,
        "{allowed} allowed in {took:?}, more than {most}"
    );
    api.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_appended_address_has_its_own_bucket() {
    let api = Harness::start_trusting(ring(&[NEW]), true, 10, &["127.0.0.1/32"]).await;
    // The caller's own entry (left) is the same each time and counts for nothing; the proxy's
    // (right) differs, so all 60 clients are within their burst.
    let (refused, _) = verify_burst(&api, 60, |i| format!("192.0.2.1, 198.51.100.{i}")).await;
    assert_eq!(refused, 0);
    // One appended address with a new caller-chosen entry each time: one bucket.
    let (refused, took) =
        verify_burst(&api, 60, |i| format!("203.0.113.{i}, 198.51.100.200")).await;
    let most = 20 + (took.as_secs_f64() * 10.0).ceil() as usize;
    assert!(refused > 0, "no 429 in 60 requests taking {took:?}");
    assert!(60 - refused <= most, "{refused} refused in {took:?}");
    api.stop().await;
}

#[tokio::test]
async fn keys_lists_public_facts_of_every_loaded_key_and_is_rate_limited() {
    let mut bitnami = sealing_key(OLD);
    bitnami.source = "sealed-secrets/sealed-secrets-keyabcde".to_owned();
    bitnami.origin = KeyOrigin::Bitnami;
    let api = Harness::start(KeyRing::new(vec![sealing_key(NEW), bitnami]), true, 1).await;
    let answer = api.get("/v1/keys").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/json");
    let value: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let keys = value["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{value}");
    let fingerprint = |which: usize| public(which).fingerprint();
    let old = &keys[0];
    assert_eq!(old["fingerprint"], fingerprint(OLD));
    assert_eq!(old["newest"], false);
    assert_eq!(old["origin"], "bitnami");
    assert_eq!(old["secret"]["namespace"], "sealed-secrets");
    assert_eq!(old["secret"]["name"], "sealed-secrets-keyabcde");
    let new = &keys[1];
    assert_eq!(new["fingerprint"], fingerprint(NEW));
    assert_eq!(new["newest"], true);
    assert_eq!(new["origin"], "ours");
    assert_eq!(new["secret"]["namespace"], "kubectl-secrets");
    assert_eq!(new["secret"]["name"], "key-1");
    let created = time::OffsetDateTime::parse(
        new["created"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        created.unix_timestamp(),
        key_pems()[NEW].created.unix_timestamp()
    );
    for field in ["notBefore", "notAfter"] {
        assert!(new[field].is_string(), "{field}: {value}");
    }
    // Public facts only: no key material, not even the certificate.
    for pem in key_pems() {
        let body = &answer.body;
        assert!(
            !body.contains("PRIVATE") && !body.contains("CERTIFICATE"),
            "{body}"
        );
        let line = pem.key.lines().nth(1).unwrap();
        assert!(!body.contains(line), "{body}");
    }
    let parsed: KeyList = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(parsed.keys[0].origin, KeyOrigin::Bitnami);

    let wrong = send(api.addr, Method::POST, "/v1/keys", &[], "").await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    // Rate 1/s, burst 2: the second request goes through, the third is refused.
    assert_eq!(api.get("/v1/keys").await.status, StatusCode::OK);
    let refused = api.get("/v1/keys").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers["retry-after"], "1");
    api.stop().await;

    let empty = Harness::start(KeyRing::default(), true, 10).await;
    let none = empty.get("/v1/keys").await;
    assert_eq!(none.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(none.body, "no sealing key is loaded yet\n");
    empty.stop().await;
}

#[tokio::test]
async fn readiness_follows_sync_and_keys() {
    let api = Harness::start(KeyRing::default(), false, 10).await;
    let healthz = api.get("/healthz").await;
    assert_eq!(
        (healthz.status, healthz.body.as_str()),
        (StatusCode::OK, "ok\n")
    );
    assert_eq!(
        api.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    api.ready.send_replace(true);
    let no_keys = api.get("/readyz").await;
    assert_eq!(no_keys.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(no_keys.body.contains("no sealing key"), "{}", no_keys.body);
    api.keys.send_replace(Arc::new(ring(&[NEW])));
    assert_eq!(api.get("/readyz").await.status, StatusCode::OK);
    api.ready.send_replace(false);
    assert_eq!(
        api.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    api.ready.send_replace(true);

    // Missing CRDs: not ready, naming each; not checked yet: not ready either.
    api.missing_crds.send_replace(Some(vec![
        "externalsecrets.external-secrets.io".to_owned(),
        "sealedsecrets.kubectl-secrets.io".to_owned(),
    ]));
    let missing = api.get("/readyz").await;
    assert_eq!(missing.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        missing.body.contains(
            "not installed: externalsecrets.external-secrets.io, sealedsecrets.kubectl-secrets.io"
        ),
        "{}",
        missing.body
    );
    api.missing_crds.send_replace(None);
    let unchecked = api.get("/readyz").await;
    assert_eq!(unchecked.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(unchecked.body.contains("checking"), "{}", unchecked.body);
    api.missing_crds.send_replace(Some(Vec::new()));
    assert_eq!(api.get("/readyz").await.status, StatusCode::OK);
    api.stop().await;
}

#[tokio::test]
async fn every_answer_is_counted_and_metrics_are_served() {
    let api = Harness::start(ring(&[NEW]), true, 10).await;
    api.get("/v1/cert.pem").await;
    api.get("/v1/cert.pem").await;
    api.get("/namespaces/prod/secrets/app").await;
    api.post("/v1/verify", "{").await;
    send(api.addr, Method::DELETE, "/healthz", &[], "").await;

    let text = api.metrics.encode();
    let count = |path: &str, code: u16| {
        sample(
            &text,
            &format!(r#"secrets_agent_http_requests_total{{path="{path}",code="{code}"}}"#),
        )
    };
    assert_eq!(count("/v1/cert.pem", 200), Some(2.0));
    assert_eq!(count("other", 404), Some(1.0));
    assert_eq!(count("/v1/verify", 400), Some(1.0));
    assert_eq!(count("/healthz", 405), Some(1.0));
    // No raw URL ever becomes a label.
    assert!(!text.contains("prod"), "{text}");

    api.metrics.set_keys(1);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (addr, server) = bind_metrics(
        "127.0.0.1:0".parse().unwrap(),
        Arc::clone(&api.metrics),
        async move {
            let _ = stop_rx.await;
        },
    )
    .await
    .unwrap();
    let server = tokio::spawn(server);
    let scrape = send(addr, Method::GET, "/metrics", &[], "").await;
    assert_eq!(scrape.status, StatusCode::OK);
    assert!(
        scrape.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        scrape.headers
    );
    assert_eq!(sample(&scrape.body, "secrets_agent_keys"), Some(1.0));
    assert!(
        scrape
            .body
            .contains("# TYPE secrets_agent_http_requests_total counter")
    );
    assert_eq!(
        send(addr, Method::GET, "/", &[], "").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(addr, Method::POST, "/metrics", &[], "").await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
    api.stop().await;
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish_then_stops_listening() {
    let api = Harness::start(ring(&[NEW]), true, 10).await;
    let addr = api.addr;
    let body = to_json(&sealed(NEW, Scope::Strict), Flavor::Native);
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);

    // Headers and half the body, then shutdown, then the other half.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/verify HTTP/1.1\r\nhost: a\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let Harness { stop, task, .. } = api;
    stop.unwrap().send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(rest).await.unwrap();
    let answer = read_head(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("the server stops after the request")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}

//! Kubernetes auth through the harness, against a throwaway TokenReview responder.
//!
//! Until kube-standin serves TokenReview, this is the only way to exercise
//! `enable_kubernetes_auth` / `create_role` / `login_kubernetes` against the real bao. Data
//! flow: the test makes an unsigned service-account JWT (bao does not check signatures when no
//! `pem_keys` are configured), logs in to bao with it; bao POSTs a TokenReview to the fake
//! reviewer below, which answers "authenticated" only for tokens in its table and records
//! every review it gets; bao then applies the role's bindings and issues a token.
//!
//! The reviewer speaks plain http, where bao accepts any CA certificate; the https path with a
//! real CA is left to the kube-standin tests.

#![allow(
    clippy::expect_used,
    reason = "the reviewer's helpers sit outside #[test] fns; their failures must fail the test"
)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use test_support::OpenBao;

const TOKEN_REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";

/// A service account the fake reviewer vouches for: (namespace, name).
type Account = (&'static str, &'static str);

/// What the reviewer saw of one TokenReview: the bearer header and the request body.
#[derive(Debug, Clone)]
struct SeenReview {
    authorization: Option<String>,
    body: Value,
}

struct FakeReviewer {
    url: String,
    seen: Arc<Mutex<Vec<SeenReview>>>,
    // Owns the server task; dropping it at the end of the test stops the server.
    _runtime: tokio::runtime::Runtime,
}

impl FakeReviewer {
    /// Serve TokenReview on a free 127.0.0.1 port; `accounts` maps each token it accepts to the
    /// service account it belongs to. Any other token is answered `authenticated: false`.
    fn start(accounts: HashMap<String, Account>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("building a tokio runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("binding the fake reviewer");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the reviewer's address")
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let accounts = Arc::new(accounts);
        let task_seen = Arc::clone(&seen);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let accounts = Arc::clone(&accounts);
                let seen = Arc::clone(&task_seen);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        review(request, Arc::clone(&accounts), Arc::clone(&seen))
                    });
                    // A connection error only ends that connection; the test sees the effect.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url,
            seen,
            _runtime: runtime,
        }
    }

    fn reviews(&self) -> Vec<SeenReview> {
        self.seen.lock().expect("reviewer lock").clone()
    }
}

/// Answer one TokenReview the way kube-apiserver does (201 with a `status`), from the table.
async fn review(
    request: Request<Incoming>,
    accounts: Arc<HashMap<String, Account>>,
    seen: Arc<Mutex<Vec<SeenReview>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != hyper::Method::POST || request.uri().path() != TOKEN_REVIEW_PATH {
        return Ok(respond(StatusCode::NOT_FOUND, &json!({ "kind": "Status" })));
    }
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let bytes = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(respond(StatusCode::BAD_REQUEST, &json!({}))),
    };
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    seen.lock().expect("reviewer lock").push(SeenReview {
        authorization,
        body: body.clone(),
    });
    let token = body["spec"]["token"].as_str().unwrap_or_default();
    let status = match accounts.get(token) {
        Some((namespace, name)) => json!({
            "authenticated": true,
            "audiences": body["spec"]["audiences"],
            "user": {
                "username": format!("system:serviceaccount:{namespace}:{name}"),
                "uid": "00000000-0000-4000-8000-000000000001",
                "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{namespace}")],
            },
        }),
        None => json!({ "authenticated": false, "error": "invalid bearer token" }),
    };
    Ok(respond(
        StatusCode::CREATED,
        &json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "status": status,
        }),
    ))
}

fn respond(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A service-account JWT with the claims bao reads and a dummy signature.
fn unsigned_sa_jwt(namespace: &str, name: &str, audience: &str) -> String {
    let header = json!({ "alg": "RS256", "kid": "test" });
    let claims = json!({
        "iss": "https://kubernetes.default.svc",
        "sub": format!("system:serviceaccount:{namespace}:{name}"),
        "aud": [audience],
        "iat": 1_700_000_000_u64,
        "exp": 4_000_000_000_u64,
        "kubernetes.io": {
            "namespace": namespace,
            "serviceaccount": { "name": name, "uid": "00000000-0000-4000-8000-000000000001" },
        },
    });
    let part = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.{}",
        part(&header),
        part(&claims),
        URL_SAFE_NO_PAD.encode("not-a-signature")
    )
}

/// Any parseable certificate will do for an http reviewer (see `enable_kubernetes_auth`).
fn throwaway_ca_pem() -> String {
    rcgen::generate_simple_self_signed(vec!["kubernetes.invalid".to_owned()])
        .expect("generating a certificate")
        .cert
        .pem()
}

/// A bao with kubernetes auth pointed at `reviewer`, a `myapp` read policy, and a secret.
fn bao_with_kubernetes_auth(reviewer: &FakeReviewer) -> OpenBao {
    let bao = OpenBao::start_dev();
    bao.enable_kubernetes_auth(&reviewer.url, &throwaway_ca_pem());
    bao.write_policy(
        "myapp",
        r#"path "secret/data/myapp/*" { capabilities = ["read"] }"#,
    );
    bao.kv2_put("secret", "myapp/db", json!({ "password": "from-bao" }));
    bao
}

#[test]
fn bound_service_account_logs_in_and_reads_with_its_policy() {
    let jwt = unsigned_sa_jwt("platform", "secret-agent", "vault");
    let reviewer =
        FakeReviewer::start(HashMap::from([(jwt.clone(), ("platform", "secret-agent"))]));
    let bao = bao_with_kubernetes_auth(&reviewer);
    bao.create_role("agent", &["secret-agent"], &["platform"], &["myapp"], None);

    let token = bao
        .login_kubernetes("agent", &jwt)
        .unwrap_or_else(|err| panic!("login refused: {err}"));

    let read = bao.request("GET", "secret/data/myapp/db", Some(&token), None);
    assert_eq!(read.status, 200, "{}", read.error_text());
    assert_eq!(read.body["data"]["data"], json!({ "password": "from-bao" }));
    let me = bao.request("GET", "auth/token/lookup-self", Some(&token), None);
    assert_eq!(me.body["data"]["meta"]["role"], json!("agent"));
    assert_eq!(
        me.body["data"]["meta"]["service_account_name"],
        json!("secret-agent")
    );

    // What bao sent: the login JWT as both the reviewed token and, with no reviewer JWT
    // configured, the bearer credential; the JWT's own audience.
    let reviews = reviewer.reviews();
    assert_eq!(reviews.len(), 1);
    assert!(reviews[0].authorization.as_deref() == Some(&format!("Bearer {jwt}")));
    assert!(reviews[0].body["spec"]["token"].as_str() == Some(jwt.as_str()));
    assert_eq!(reviews[0].body["spec"]["audiences"], json!(["vault"]));
}

#[test]
fn token_the_reviewer_rejects_is_refused() {
    let reviewer = FakeReviewer::start(HashMap::new());
    let bao = bao_with_kubernetes_auth(&reviewer);
    bao.create_role("agent", &["secret-agent"], &["platform"], &["myapp"], None);

    let err = bao
        .login_kubernetes(
            "agent",
            &unsigned_sa_jwt("platform", "secret-agent", "vault"),
        )
        .expect_err("the reviewer said not authenticated");
    assert_eq!(err, "HTTP 403: permission denied");
    assert_eq!(
        reviewer.reviews().len(),
        1,
        "bao must have asked the reviewer"
    );
}

#[test]
fn service_account_outside_the_role_binding_is_refused() {
    // The reviewer vouches for the intruder, so only the role's binding can stop it.
    let jwt = unsigned_sa_jwt("platform", "intruder", "vault");
    let reviewer = FakeReviewer::start(HashMap::from([(jwt.clone(), ("platform", "intruder"))]));
    let bao = bao_with_kubernetes_auth(&reviewer);
    bao.create_role("agent", &["secret-agent"], &["platform"], &["myapp"], None);

    let err = bao
        .login_kubernetes("agent", &jwt)
        .expect_err("intruder is not bound to the role");
    assert_eq!(err, "HTTP 403: service account name not authorized");
}

#[test]
fn role_audience_is_what_bao_asks_the_reviewer_for() {
    let jwt = unsigned_sa_jwt("platform", "secret-agent", "openbao-test");
    let reviewer =
        FakeReviewer::start(HashMap::from([(jwt.clone(), ("platform", "secret-agent"))]));
    let bao = bao_with_kubernetes_auth(&reviewer);
    bao.create_role(
        "agent",
        &["secret-agent"],
        &["platform"],
        &["myapp"],
        Some("openbao-test"),
    );

    bao.login_kubernetes("agent", &jwt)
        .unwrap_or_else(|err| panic!("login refused: {err}"));
    let reviews = reviewer.reviews();
    assert_eq!(reviews.len(), 1);
    assert_eq!(
        reviews[0].body["spec"]["audiences"],
        json!(["openbao-test"])
    );
}

#[test]
fn unknown_role_is_an_error_not_a_panic() {
    let reviewer = FakeReviewer::start(HashMap::new());
    let bao = bao_with_kubernetes_auth(&reviewer);
    let err = bao
        .login_kubernetes("no-such-role", &unsigned_sa_jwt("platform", "x", "vault"))
        .expect_err("the role does not exist");
    assert_eq!(err, r#"HTTP 400: invalid role name "no-such-role""#);
}

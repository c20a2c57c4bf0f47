//! The stand-in against raw HTTP: what a client sees of each route, STS and IAM included.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::time::Duration;

use base64::Engine as _;
use gcp_standin::{Config, Fault, FaultError, GcpStandin, Route, VersionState};
use kube_standin::tokens::{Subject, TokenSigner};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// One HTTP/1.1 request on a fresh connection; (status, headers text, body JSON).
async fn send(
    standin: &GcpStandin,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<(&str, String)>,
) -> (u16, String, Value) {
    let mut stream = tokio::net::TcpStream::connect(standin.addr())
        .await
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n");
    if let Some(token) = bearer {
        request.push_str(&format!("authorization: Bearer {token}\r\n"));
    }
    let (content_type, body) = body.unwrap_or(("text/plain", String::new()));
    request.push_str(&format!(
        "content-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (
        status,
        head.to_lowercase(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

struct Env {
    standin: GcpStandin,
    signer: TokenSigner,
}

fn env() -> Env {
    let signer = TokenSigner::new("https://kube.test").unwrap();
    let config = Config::new("https://kube.test", &signer.public_key_pem()).unwrap();
    Env {
        standin: GcpStandin::start(config).unwrap(),
        signer,
    }
}

impl Env {
    fn kube_token(&self, audience: &str) -> String {
        let subject = Subject {
            namespace: "team".into(),
            name: "app".into(),
            uid: "u-1".into(),
        };
        self.signer
            .issue(
                &subject,
                &[audience.to_owned()],
                3600,
                time::OffsetDateTime::now_utc(),
            )
            .unwrap()
    }

    async fn sts(&self, subject_token: &str, audience: &str) -> (u16, Value) {
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            )
            .append_pair("subject_token_type", "urn:ietf:params:oauth:token-type:jwt")
            .append_pair(
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            )
            .append_pair("audience", audience)
            .append_pair("scope", "https://www.googleapis.com/auth/cloud-platform")
            .append_pair("subject_token", subject_token)
            .finish();
        let (status, _, body) = send(
            &self.standin,
            "POST",
            "/v1/token",
            None,
            Some(("application/x-www-form-urlencoded", form)),
        )
        .await;
        (status, body)
    }

    async fn federated(&self) -> String {
        let audience = self.standin.config().pool_audience.clone();
        let (status, body) = self.sts(&self.kube_token(&audience), &audience).await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn access_answers_with_the_project_number_and_a_crc32c() {
    let env = env();
    let control = env.standin.control();
    control.add_version(None, "db", b"first");
    control.add_version(None, "db", b"123456789");
    let token = env.federated().await;
    let (status, _, body) = send(
        &env.standin,
        "GET",
        "/v1/projects/my-project/secrets/db/versions/latest:access",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "projects/123456789012/secrets/db/versions/2");
    assert_eq!(body["payload"]["dataCrc32c"], "3808858755"); // 0xE3069283
    let data = base64::engine::general_purpose::STANDARD
        .decode(body["payload"]["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, b"123456789");

    control.corrupt_crc(true);
    let (_, _, body) = send(
        &env.standin,
        "GET",
        "/v1/projects/123456789012/secrets/db/versions/2:access",
        Some(&token),
        None,
    )
    .await;
    assert_ne!(body["payload"]["dataCrc32c"], "3808858755");
    control.corrupt_crc(false);

    control.set_state(None, "db", 2, VersionState::Disabled);
    let (status, _, body) = send(
        &env.standin,
        "GET",
        "/v1/projects/my-project/secrets/db/versions/latest:access",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (400, Some("FAILED_PRECONDITION")),
        "{body}"
    );
    let (status, _, body) = send(
        &env.standin,
        "GET",
        "/v1/projects/my-project/secrets/db/versions?filter=state:ENABLED",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["versions"][0]["name"],
        "projects/123456789012/secrets/db/versions/1"
    );
    assert_eq!(body["versions"].as_array().unwrap().len(), 1);

    let (status, _, body) = send(
        &env.standin,
        "GET",
        "/v1/projects/my-project/secrets/gone/versions/latest:access",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let (status, _, _) = send(
        &env.standin,
        "GET",
        "/v1/projects/other/secrets/db/versions/1:access",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = send(
        &env.standin,
        "GET",
        "/v1/projects/my-project/secrets/db/versions/1:access",
        Some("ya29.forged"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(control.count(Route::Access), 6);
    assert_eq!(control.count(Route::ListVersions), 1);
}

#[tokio::test]
async fn metadata_lists_pages_and_regional_paths() {
    let env = env();
    let control = env.standin.control();
    control.set_metadata(None, "a", &[("team", "x")], &[("owner", "me")]);
    control.add_version(None, "b", b"v");
    control.add_version(Some("europe-west4"), "r", b"regional");
    control.set_max_page_size(1);
    let token = env.federated().await;
    let (_, _, body) = send(
        &env.standin,
        "GET",
        "/v1/projects/my-project/secrets/a",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (
            body["labels"]["team"].as_str(),
            body["annotations"]["owner"].as_str()
        ),
        (Some("x"), Some("me"))
    );
    let (_, _, first) = send(
        &env.standin,
        "GET",
        "/v1/projects/my-project/secrets",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        first["secrets"][0]["name"],
        "projects/123456789012/secrets/a"
    );
    let next = first["nextPageToken"].as_str().unwrap();
    let (_, _, second) = send(
        &env.standin,
        "GET",
        &format!("/v1/projects/my-project/secrets?pageToken={next}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        second["secrets"][0]["name"],
        "projects/123456789012/secrets/b"
    );
    assert!(second.get("nextPageToken").is_none());
    let (_, _, regional) = send(
        &env.standin,
        "GET",
        "/v1/projects/my-project/locations/europe-west4/secrets/r/versions/1:access",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        regional["name"],
        "projects/123456789012/locations/europe-west4/secrets/r/versions/1"
    );
    let (status, _, _) = send(
        &env.standin,
        "GET",
        "/v1/projects/my-project/secrets/r/versions/1:access",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 404, "a regional secret is not global");
}

#[tokio::test]
async fn faults_are_injected_counted_and_used_up() {
    let env = env();
    let control = env.standin.control();
    control.add_version(None, "db", b"v");
    let token = env.federated().await;
    control.inject(Fault {
        times: Some(1),
        ..Fault::on(
            Route::Access,
            FaultError::ResourceExhausted {
                retry_after: Some(7),
            },
        )
    });
    let path = "/v1/projects/my-project/secrets/db/versions/1:access";
    let (status, head, body) = send(&env.standin, "GET", path, Some(&token), None).await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (429, Some("RESOURCE_EXHAUSTED"))
    );
    assert!(head.contains("retry-after: 7"), "{head}");
    assert_eq!(
        send(&env.standin, "GET", path, Some(&token), None).await.0,
        200
    );
    control.inject(Fault::everywhere(FaultError::Unavailable));
    assert_eq!(
        send(&env.standin, "GET", path, Some(&token), None).await.0,
        503
    );
    control.clear_faults();
    control.inject(Fault {
        secret: Some("db".into()),
        ..Fault::on(Route::Access, FaultError::PermissionDenied)
    });
    assert_eq!(
        send(&env.standin, "GET", path, Some(&token), None).await.0,
        403
    );
    assert_eq!(control.counts()["access"], 4);
}

#[tokio::test]
async fn sts_checks_the_subject_token_and_iam_the_grant() {
    let env = env();
    let pool = env.standin.config().pool_audience.clone();
    let (status, body) = env.sts(&env.kube_token("wrong"), &pool).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("audience"),
        "{body}"
    );
    let (status, body) = env
        .sts(
            &env.kube_token(&pool),
            "//iam.googleapis.com/projects/1/other",
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
    let other = TokenSigner::new("https://kube.test").unwrap();
    let forged = other
        .issue(
            &Subject {
                namespace: "team".into(),
                name: "app".into(),
                uid: "u".into(),
            },
            std::slice::from_ref(&pool),
            3600,
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    let (status, body) = env.sts(&forged, &pool).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let form = env.standin.control().last_sts_form().unwrap();
    assert!(!form.contains_key("subject_token") && form["audience"] == pool);

    let federated = env.federated().await;
    let path = "/v1/projects/-/serviceAccounts/reader@my-project.iam.gserviceaccount.com:generateAccessToken";
    let body =
        json!({"scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "3600s"})
            .to_string();
    let (status, _, answer) = send(
        &env.standin,
        "POST",
        path,
        Some(&federated),
        Some(("application/json", body.clone())),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["status"].as_str()),
        (403, Some("PERMISSION_DENIED")),
        "{answer}"
    );
    let principal = env
        .standin
        .config()
        .principal("system:serviceaccount:team:app");
    env.standin
        .control()
        .allow_impersonation(&principal, "reader@my-project.iam.gserviceaccount.com");
    let (status, _, answer) = send(
        &env.standin,
        "POST",
        path,
        Some(&federated),
        Some(("application/json", body.clone())),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["expireTime"].as_str().unwrap().ends_with('Z'));
    let impersonated = answer["accessToken"].as_str().unwrap().to_owned();
    let (status, _, _) = send(
        &env.standin,
        "POST",
        path,
        Some(&impersonated),
        Some(("application/json", body)),
    )
    .await;
    assert_eq!(status, 401, "only STS tokens impersonate");
    env.standin.control().add_version(None, "db", b"v");
    send(
        &env.standin,
        "GET",
        "/v1/projects/my-project/secrets/db/versions/1:access",
        Some(&impersonated),
        None,
    )
    .await;
    assert_eq!(
        env.standin.control().principals_seen().last().unwrap(),
        "serviceAccount:reader@my-project.iam.gserviceaccount.com"
    );
    env.standin
        .control()
        .set_token_lifetime(Duration::from_secs(0));
    let short = env.federated().await;
    let (status, _, _) = send(
        &env.standin,
        "GET",
        "/v1/projects/my-project/secrets/db/versions/1:access",
        Some(&short),
        None,
    )
    .await;
    assert_eq!(status, 401, "an expired token");
}

//! kube-standin's canned answers over its real HTTP stack, through kube-rs: access reviews
//! answered from the table a test sets, the verbose health endpoints with a failing KMS
//! check, and `/metrics` with encryption series.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, SelfSubjectAccessReview, SubjectAccessReview,
};
use kube::api::{Api, PostParams};
use kube_standin::{AuthzRule, AuthzTable, HealthCheck};
use serde_json::{Value, json};

use common::start;

async fn create<K>(api: &Api<K>, body: Value) -> Value
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let object: K = serde_json::from_value(body).unwrap();
    let created = api.create(&PostParams::default(), &object).await.unwrap();
    serde_json::to_value(created).unwrap()
}

fn table() -> AuthzTable {
    AuthzTable {
        default_allowed: false,
        rules: vec![
            AuthzRule {
                user: Some("alice".into()),
                verb: "get".into(),
                resource: "secrets".into(),
                namespace: Some("team".into()),
                allowed: true,
                reason: Some("RBAC: allowed by RoleBinding \"read\"".into()),
                ..AuthzRule::default()
            },
            AuthzRule {
                groups: Some(vec!["system:masters".into()]),
                verb: "*".into(),
                resource: "*".into(),
                allowed: true,
                ..AuthzRule::default()
            },
        ],
    }
}

#[tokio::test]
async fn subject_access_reviews_answer_from_the_table() {
    let (standin, client) = start().await;
    let sar: Api<SubjectAccessReview> = Api::all(client.clone());
    let ask = |user: &str, ns: &str| json!({"spec": {"user": user, "resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": ns}}});
    // Default: everything allowed, as kube-standin lets every request through.
    let open = create(&sar, ask("bob", "team")).await;
    assert_eq!(open["status"]["allowed"], true);

    standin.control().set_authz(table());
    let alice = create(&sar, ask("alice", "team")).await;
    assert_eq!(alice["kind"], "SubjectAccessReview");
    assert_eq!(alice["spec"]["user"], "alice", "spec echoed back");
    assert_eq!(alice["status"]["allowed"], true);
    assert_eq!(
        alice["status"]["reason"],
        "RBAC: allowed by RoleBinding \"read\""
    );
    let bob = create(&sar, ask("bob", "team")).await;
    assert_eq!(bob["status"]["allowed"], false);
    assert!(bob["status"].get("denied").is_none());

    // A namespaced review takes its namespace from the path.
    let local: Api<LocalSubjectAccessReview> = Api::namespaced(client.clone(), "team");
    let review = create(
        &local,
        json!({"metadata": {"namespace": "team"}, "spec": {"user": "alice", "resourceAttributes": {"verb": "get", "resource": "secrets"}}}),
    )
    .await;
    assert_eq!(review["spec"]["resourceAttributes"]["namespace"], "team");
    assert_eq!(review["status"]["allowed"], true);

    // Shape errors as kube-apiserver reports them.
    let nobody: SubjectAccessReview = serde_json::from_value(
        json!({"spec": {"resourceAttributes": {"verb": "get", "resource": "secrets"}}}),
    )
    .unwrap();
    match sar.create(&PostParams::default(), &nobody).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422);
            assert!(
                status.message.contains("at least one of user or group"),
                "{}",
                status.message
            );
        }
        other => panic!("expected 422, got {other:?}"),
    }
}

#[tokio::test]
async fn self_reviews_use_the_token_identity_and_discovery_lists_the_group() {
    let (standin, client) = start().await;
    standin.control().set_authz(table());
    let ssar: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    // The admin token is in system:masters.
    let admin = create(
        &ssar,
        json!({"spec": {"nonResourceAttributes": {"path": "/metrics", "verb": "get"}}}),
    )
    .await;
    assert_eq!(admin["status"]["allowed"], true);
    let resources = client
        .list_api_group_resources("authorization.k8s.io/v1")
        .await
        .unwrap();
    let names: Vec<&str> = resources
        .resources
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    for name in [
        "subjectaccessreviews",
        "selfsubjectaccessreviews",
        "localsubjectaccessreviews",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
}

async fn get_text(client: &kube::Client, path: &str) -> Result<String, kube::Error> {
    let request = http::Request::get(path).body(Vec::new()).unwrap();
    client.request_text(request).await
}

#[tokio::test]
async fn health_endpoints_answer_verbosely_with_the_checks_set() {
    let (standin, client) = start().await;
    assert_eq!(get_text(&client, "/readyz").await.unwrap(), "ok");
    let verbose = get_text(&client, "/readyz?verbose").await.unwrap();
    assert!(
        verbose.starts_with("[+]ping ok\n[+]log ok\n[+]etcd ok\n"),
        "{verbose}"
    );
    assert!(verbose.ends_with("readyz check passed\n"), "{verbose}");

    standin.control().set_health_checks(vec![HealthCheck {
        name: "kms-provider-0".into(),
        ok: true,
    }]);
    let livez = get_text(&client, "/livez?verbose").await.unwrap();
    assert!(
        livez.contains("[+]etcd ok\n[+]kms-provider-0 ok\n"),
        "{livez}"
    );
    assert!(livez.ends_with("livez check passed\n"));

    standin.control().set_health_checks(vec![HealthCheck {
        name: "kms-provider-0".into(),
        ok: false,
    }]);
    // A failing check: 500, with the list even without `verbose`, as kube-apiserver does.
    let healthz = reqwest_like(&standin, "/healthz").await;
    assert_eq!(healthz.0, 500);
    assert!(healthz.1.ends_with("[-]kms-provider-0 failed: reason withheld\n[+]poststarthook/start-apiserver-admission-initializer ok\n[+]poststarthook/generic-apiserver-start-informers ok\n[+]poststarthook/start-kube-apiserver-admission-initializer ok\n[+]poststarthook/rbac/bootstrap-roles ok\nhealthz check failed\n"), "{}", healthz.1);
    let raw = reqwest_like(&standin, "/readyz?verbose").await;
    assert_eq!(raw.0, 500);
    assert!(
        raw.1
            .contains("[-]kms-provider-0 failed: reason withheld\n"),
        "{}",
        raw.1
    );
    assert!(raw.1.ends_with("readyz check failed\n"));
}

/// Status and body of a GET over plain TLS, for answers kube-rs turns into errors.
async fn reqwest_like(standin: &kube_standin::StandIn, path: &str) -> (u16, String) {
    let client = common::client_for(standin).await;
    let request = http::Request::get(path).body(Vec::new()).unwrap();
    let response = client
        .send(request.map(kube::client::Body::from))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn metrics_serve_the_defaults_and_the_series_set() {
    let (standin, client) = start().await;
    let defaults = get_text(&client, "/metrics").await.unwrap();
    assert!(defaults.contains("# TYPE apiserver_request_total counter"));
    assert!(!defaults.contains("apiserver_storage_transformation"));
    let series = "# TYPE apiserver_storage_transformation_operations_total counter\n\
        apiserver_storage_transformation_operations_total{status=\"OK\",transformation_type=\"to_storage\",transformer_prefix=\"k8s:enc:secretbox:v1:\"} 12\n";
    // Over the HTTP control API, as a test in another process would.
    let request = http::Request::put("/_standin/metrics")
        .body(series.as_bytes().to_vec())
        .unwrap();
    client.request_text(request).await.unwrap();
    assert_eq!(standin.control().metrics(), series);
    let served = get_text(&client, "/metrics").await.unwrap();
    assert!(served.ends_with(series), "{served}");

    let table = json!({"defaultAllowed": false, "rules": [{"verb": "get", "resource": "/metrics", "user": "x", "allowed": true}]});
    let request = http::Request::put("/_standin/authz")
        .body(serde_json::to_vec(&table).unwrap())
        .unwrap();
    client.request_text(request).await.unwrap();
    assert!(!standin.control().authz().default_allowed);
    // A bare list replaces the rules and keeps the default.
    let request = http::Request::put("/_standin/authz")
        .body(br#"[{"verb": "list", "resource": "secrets", "allowed": true}]"#.to_vec())
        .unwrap();
    client.request_text(request).await.unwrap();
    let table = standin.control().authz();
    assert_eq!((table.rules.len(), table.default_allowed), (1, false));
    assert_eq!(table.rules[0].verb, "list");
    let bad = http::Request::put("/_standin/authz")
        .body(br#"{"rules": [{"verb": "get"}]}"#.to_vec())
        .unwrap();
    assert!(client.request_text(bad).await.is_err());
}

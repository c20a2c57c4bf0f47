//! TokenRequests bound to Pods (and Secrets) and their reviews, through kube-rs: the pod must
//! exist and run as the service account, a given uid must match, the token carries the pod in
//! its claims, reviews report it in `user.extra`, and the token dies with the pod. Also Pods
//! themselves: `serviceAccountName` defaulting, the status subresource, deletion.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use base64::Engine as _;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenReview, TokenReviewStatus};
use k8s_openapi::api::core::v1::{Pod, Secret, ServiceAccount};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use common::start;

const NS: &str = "default";

async fn setup(client: &kube::Client) {
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), NS);
    for name in ["web", "other"] {
        sas.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
        )
        .await
        .unwrap();
    }
}

async fn create_pod(client: &kube::Client, name: &str, service_account: Option<&str>) -> Pod {
    let mut spec = json!({"containers": [{"name": "app", "image": "app:1"}]});
    if let Some(sa) = service_account {
        spec["serviceAccountName"] = json!(sa);
    }
    Api::<Pod>::namespaced(client.clone(), NS)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).unwrap(),
        )
        .await
        .unwrap()
}

async fn delete_pod(client: &kube::Client, name: &str) {
    Api::<Pod>::namespaced(client.clone(), NS)
        .delete(name, &DeleteParams::default())
        .await
        .unwrap();
}

/// POST a TokenRequest for `sa` with `bound` as `boundObjectRef`.
async fn request_token(
    client: &kube::Client,
    sa: &str,
    bound: Value,
) -> Result<TokenRequest, kube::Error> {
    let request: TokenRequest = serde_json::from_value(json!({
        "spec": {"audiences": ["vault"], "boundObjectRef": bound},
    }))
    .unwrap();
    Api::<ServiceAccount>::namespaced(client.clone(), NS)
        .create_token_request(sa, &PostParams::default(), &request)
        .await
}

fn pod_ref(name: &str, uid: Option<&str>) -> Value {
    let mut r = json!({"kind": "Pod", "apiVersion": "v1", "name": name});
    if let Some(uid) = uid {
        r["uid"] = json!(uid);
    }
    r
}

async fn review(client: &kube::Client, token: &str) -> TokenReviewStatus {
    let body: TokenReview =
        serde_json::from_value(json!({"spec": {"token": token, "audiences": ["vault"]}})).unwrap();
    Api::<TokenReview>::all(client.clone())
        .create(&PostParams::default(), &body)
        .await
        .unwrap()
        .status
        .unwrap()
}

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

fn status_of(err: kube::Error) -> (u16, String, String) {
    match err {
        kube::Error::Api(status) => (status.code, status.reason, status.message),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn pod_bound_token_claims_extra_and_death_with_the_pod() {
    let (_standin, client) = start().await;
    setup(&client).await;
    let pod = create_pod(&client, "web-0", Some("web")).await;
    let uid = pod.metadata.uid.clone().unwrap();

    let issued = request_token(&client, "web", pod_ref("web-0", Some(&uid)))
        .await
        .unwrap();
    let status = issued.status.unwrap();
    // RFC 3339, whole seconds, UTC.
    let expires = status.expiration_timestamp.0;
    let in_an_hour = now_seconds() + 3600;
    assert!((expires.as_second() - in_an_hour).abs() <= 5, "{expires}");
    assert_eq!(
        issued.spec.bound_object_ref.unwrap().name.as_deref(),
        Some("web-0")
    );

    let token = status.token;
    let c = claims(&token);
    let sa_uid = Api::<ServiceAccount>::namespaced(client.clone(), NS)
        .get("web")
        .await
        .unwrap()
        .metadata
        .uid
        .unwrap();
    assert_eq!(
        c["kubernetes.io"],
        json!({
            "namespace": NS,
            "pod": {"name": "web-0", "uid": uid},
            "serviceaccount": {"name": "web", "uid": sa_uid},
        })
    );
    assert_eq!(c["sub"], "system:serviceaccount:default:web");
    assert_eq!(c["aud"], json!(["vault"]));
    assert_eq!(c["iss"], "https://kubernetes.default.svc.cluster.local");
    for claim in ["exp", "iat", "nbf"] {
        assert!(c[claim].is_i64(), "{claim}: {c}");
    }
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );

    let ok = review(&client, &token).await;
    assert_eq!(ok.authenticated, Some(true), "{ok:?}");
    let user = ok.user.unwrap();
    let extra = user.extra.unwrap();
    assert_eq!(
        extra["authentication.kubernetes.io/pod-name"],
        vec!["web-0".to_owned()]
    );
    assert_eq!(
        extra["authentication.kubernetes.io/pod-uid"],
        vec![uid.clone()]
    );
    assert_eq!(
        extra["authentication.kubernetes.io/credential-id"],
        vec![format!("JTI={}", c["jti"].as_str().unwrap())]
    );

    // Deleted (no kubelet, so at once): the token is invalid.
    delete_pod(&client, "web-0").await;
    let gone = review(&client, &token).await;
    assert_eq!(gone.authenticated, Some(false));
    assert_eq!(
        gone.error.as_deref(),
        Some("[invalid bearer token, service account token has been invalidated]")
    );
    assert!(gone.user.is_none());

    // Re-created under the same name: a new uid, and the old token stays invalid.
    let again = create_pod(&client, "web-0", Some("web")).await;
    let new_uid = again.metadata.uid.unwrap();
    assert_ne!(new_uid, uid);
    let recreated = review(&client, &token).await;
    assert_eq!(recreated.authenticated, Some(false));
    assert_eq!(
        recreated.error.unwrap(),
        format!(
            "[invalid bearer token, pod UID ({new_uid}) does not match service account pod ref claim ({uid})]"
        )
    );
    // The old uid is refused for new tokens too, as kube-apiserver does.
    let (code, reason, message) = status_of(
        request_token(&client, "web", pod_ref("web-0", Some(&uid)))
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert_eq!(
        message,
        format!(
            "Operation cannot be fulfilled on Pod \"web-0\": the UID in the bound object reference ({uid}) does not match the UID in record. The object might have been deleted and then recreated"
        )
    );
    // Without a uid the binding takes the current pod.
    let fresh = request_token(&client, "web", pod_ref("web-0", None))
        .await
        .unwrap();
    let fresh_token = fresh.status.unwrap().token;
    assert_eq!(
        claims(&fresh_token)["kubernetes.io"]["pod"]["uid"],
        json!(new_uid)
    );
    assert_eq!(
        review(&client, &fresh_token).await.authenticated,
        Some(true)
    );
}

/// Seconds since the epoch now (the test's own clock; the stand-in runs on the same host).
fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn binding_refuses_what_kube_apiserver_refuses() {
    let (_standin, client) = start().await;
    setup(&client).await;
    create_pod(&client, "web-0", Some("web")).await;
    create_pod(&client, "plain", None).await;

    // The pod runs as another service account.
    let (code, reason, message) = status_of(
        request_token(&client, "other", pod_ref("web-0", None))
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (400, "BadRequest"));
    assert_eq!(
        message,
        "cannot bind token for serviceaccount \"other\" to pod running with different serviceaccount name."
    );
    // No such pod.
    let (code, _, message) = status_of(
        request_token(&client, "web", pod_ref("ghost", None))
            .await
            .unwrap_err(),
    );
    assert_eq!((code, message.as_str()), (404, "pods \"ghost\" not found"));
    // A pod without serviceAccountName runs as "default" (admission's default), so "web"
    // cannot bind to it.
    let plain = Api::<Pod>::namespaced(client.clone(), NS)
        .get("plain")
        .await
        .unwrap();
    assert_eq!(
        plain.spec.unwrap().service_account_name.as_deref(),
        Some("default")
    );
    let (code, _, _) = status_of(
        request_token(&client, "web", pod_ref("plain", None))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 400);
    // Kinds other than Pod and Secret.
    let (code, _, message) = status_of(
        request_token(
            &client,
            "web",
            json!({"kind": "ConfigMap", "apiVersion": "v1", "name": "x"}),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        (code, message.as_str()),
        (
            400,
            "cannot bind token to object of type /v1, Kind=ConfigMap"
        )
    );
    let (code, _, message) = status_of(
        request_token(
            &client,
            "web",
            json!({"kind": "Pod", "apiVersion": "example.com/v1", "name": "web-0"}),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        (code, message.as_str()),
        (
            400,
            "cannot bind token to object of type example.com/v1, Kind=Pod"
        )
    );
}

#[tokio::test]
async fn secret_bound_token_dies_with_the_secret() {
    let (_standin, client) = start().await;
    setup(&client).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "anchor"}})).unwrap(),
        )
        .await
        .unwrap();
    let token = request_token(
        &client,
        "web",
        json!({"kind": "Secret", "apiVersion": "v1", "name": "anchor"}),
    )
    .await
    .unwrap()
    .status
    .unwrap()
    .token;
    assert_eq!(claims(&token)["kubernetes.io"]["secret"]["name"], "anchor");
    assert_eq!(review(&client, &token).await.authenticated, Some(true));
    secrets
        .delete("anchor", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(review(&client, &token).await.authenticated, Some(false));
}

#[tokio::test]
async fn pod_status_subresource_and_deletion() {
    let (standin, client) = start().await;
    setup(&client).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    create_pod(&client, "web-0", Some("web")).await;

    // Status goes through /status; the main resource ignores it, as for every kind with the
    // subresource.
    let running = json!({"status": {"phase": "Running"}});
    pods.patch_status("web-0", &PatchParams::default(), &Patch::Merge(&running))
        .await
        .unwrap();
    let pod = pods.get("web-0").await.unwrap();
    assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Running"));
    assert_eq!(
        pod.spec.unwrap().service_account_name.as_deref(),
        Some("web")
    );
    let failed = json!({"status": {"phase": "Failed"}});
    pods.patch("web-0", &PatchParams::default(), &Patch::Merge(&failed))
        .await
        .unwrap();
    assert_eq!(
        pods.get("web-0")
            .await
            .unwrap()
            .status
            .unwrap()
            .phase
            .as_deref(),
        Some("Running")
    );
    assert_eq!(standin.control().count("pods/status", "patch"), 1);

    // Deletion is immediate (no kubelet, no grace period).
    delete_pod(&client, "web-0").await;
    assert!(pods.get_opt("web-0").await.unwrap().is_none());
}

//! kube-standin through kube-rs, the client our agent uses: the semantics the agent relies on.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::{CustomResource, CustomResourceExt as _, ResourceExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use common::{start, wait_for};

fn secret(name: &str) -> Secret {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"app": "t"}}, "stringData": {"k": "v"}}),
    )
    .unwrap()
}

fn api_code(err: kube::Error) -> u16 {
    match err {
        kube::Error::Api(status) => status.code,
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn crud_conflicts_and_not_found() {
    let (_standin, client) = start().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let created = secrets
        .create(&PostParams::default(), &secret("db"))
        .await
        .unwrap();
    assert_eq!(
        created.type_.as_deref(),
        Some("Opaque"),
        "defaulted like the API server"
    );
    assert_eq!(
        created.data.as_ref().unwrap()["k"].0,
        b"v",
        "stringData folded into data"
    );
    assert!(created.string_data.is_none());
    assert_eq!(
        api_code(
            secrets
                .create(&PostParams::default(), &secret("db"))
                .await
                .unwrap_err()
        ),
        409
    );

    let mut fresh = secrets.get("db").await.unwrap();
    fresh.labels_mut().insert("tier".into(), "gold".into());
    let stale = fresh.clone();
    secrets
        .replace("db", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_eq!(
        api_code(
            secrets
                .replace("db", &PostParams::default(), &stale)
                .await
                .unwrap_err()
        ),
        409
    );

    let listed = secrets
        .list(&ListParams::default().labels("app=t"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let listed = secrets
        .list(&ListParams::default().fields("metadata.name=nope"))
        .await
        .unwrap();
    assert!(listed.items.is_empty());
    let listed = secrets
        .list(&ListParams::default().fields("type=Opaque"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);

    secrets
        .delete("db", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_code(secrets.get("db").await.unwrap_err()), 404);
    assert!(secrets.get_opt("db").await.unwrap().is_none());
}

#[tokio::test]
async fn list_pages_with_limit_and_continue() {
    let (_standin, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    for i in 0..7 {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("cm{i}")}})).unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let mut names = Vec::new();
    let mut params = ListParams::default().limit(3);
    loop {
        let page = cms.list(&params).await.unwrap();
        names.extend(page.items.iter().map(|c| c.name_any()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(names, (0..7).map(|i| format!("cm{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn watch_resumes_and_old_versions_are_gone() {
    let (standin, client) = start().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let list = secrets.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    secrets
        .create(&PostParams::default(), &secret("a"))
        .await
        .unwrap();
    secrets.delete("a", &DeleteParams::default()).await.unwrap();

    // Resuming from the list's version replays what happened since.
    let mut stream = secrets
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap()
        .boxed();
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        match stream.try_next().await.unwrap().unwrap() {
            WatchEvent::Added(s) => kinds.push(format!("ADDED {}", s.name_any())),
            WatchEvent::Deleted(s) => kinds.push(format!("DELETED {}", s.name_any())),
            WatchEvent::Bookmark(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(kinds, ["ADDED a", "DELETED a"]);

    // After compaction the same version is too old: 410 Expired.
    standin.store().compact();
    let mut stream = secrets
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap()
        .boxed();
    match stream.try_next().await.unwrap().unwrap() {
        WatchEvent::Error(status) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"))
        }
        other => panic!("expected a 410 error event, got {other:?}"),
    }

    // kube-runtime's watcher recovers from that by listing again.
    let mut events = kube::runtime::watcher(secrets.clone(), Default::default()).boxed();
    secrets
        .create(&PostParams::default(), &secret("b"))
        .await
        .unwrap();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.try_next().await.unwrap() {
            if let kube::runtime::watcher::Event::Apply(s)
            | kube::runtime::watcher::Event::InitApply(s) = event
                && s.name_any() == "b"
            {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    assert!(found);
}

#[tokio::test]
async fn selector_watches_see_objects_enter_and_leave() {
    let (_standin, client) = start().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let rv = secrets
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = secrets
        .watch(&WatchParams::default().labels("tier=gold").timeout(5), &rv)
        .await
        .unwrap()
        .boxed();
    secrets
        .create(&PostParams::default(), &secret("s"))
        .await
        .unwrap();
    let patch = |tier: &str| Patch::Merge(json!({"metadata": {"labels": {"tier": tier}}}));
    secrets
        .patch("s", &PatchParams::default(), &patch("gold"))
        .await
        .unwrap();
    secrets
        .patch("s", &PatchParams::default(), &patch("silver"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match stream.try_next().await.unwrap().unwrap() {
            WatchEvent::Added(_) => seen.push("ADDED"),
            WatchEvent::Deleted(_) => seen.push("DELETED"),
            WatchEvent::Modified(_) => seen.push("MODIFIED"),
            _ => {}
        }
    }
    assert_eq!(
        seen,
        ["ADDED", "DELETED"],
        "enters the set on relabel, leaves it on the next"
    );
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "example.com",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    shortname = "wd"
)]
struct WidgetSpec {
    size: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, Default)]
struct WidgetStatus {
    ready: bool,
}

async fn install_widgets(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &Widget::crd())
        .await
        .unwrap();
}

#[tokio::test]
async fn crds_register_status_subresource_and_generation() {
    let (_standin, client) = start().await;
    install_widgets(&client).await;
    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    let mut w = Widget::new("w", WidgetSpec { size: 1 });
    w.status = Some(WidgetStatus { ready: true });
    let created = widgets.create(&PostParams::default(), &w).await.unwrap();
    assert!(
        created.status.is_none(),
        "status is ignored on the main resource"
    );
    assert_eq!(created.metadata.generation, Some(1));

    let patched = widgets
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}, "spec": {"size": 9}})),
        )
        .await
        .unwrap();
    assert!(patched.status.unwrap().ready);
    assert_eq!(patched.spec.size, 1, "spec is ignored on /status");
    assert_eq!(
        patched.metadata.generation,
        Some(1),
        "status does not bump generation"
    );

    let resized = widgets
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(resized.metadata.generation, Some(2));
    assert!(
        resized.status.unwrap().ready,
        "status survives a spec change"
    );

    // Discovery knows the new resource; deleting the CRD takes it and its objects away.
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    assert!(discovery.groups().any(|g| g.name() == "example.com"));
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_code(widgets.get("w").await.unwrap_err()), 404);
}

#[tokio::test]
async fn every_patch_type() {
    let (_standin, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}]}, {"name": "side", "image": "s:1"}]}}}
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &d)
        .await
        .unwrap();

    // Strategic merge: containers merge by name, env by name.
    let smp = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "2"}]}]}}}});
    let out = deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(smp))
        .await
        .unwrap();
    let containers = out.spec.unwrap().template.spec.unwrap().containers;
    assert_eq!(containers.len(), 2, "the sidecar survives");
    let env: Vec<String> = containers[0]
        .env
        .clone()
        .unwrap()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(env, ["A", "B"]);

    // JSON merge patch replaces lists.
    let merge =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "o:1"}]}}}});
    let out = deployments
        .patch("web", &PatchParams::default(), &Patch::Merge(merge))
        .await
        .unwrap();
    assert_eq!(out.spec.unwrap().template.spec.unwrap().containers.len(), 1);

    // JSON patch, including a failing test op (422, nothing changed).
    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "add", "path": "/spec/replicas", "value": 3}]))
            .unwrap();
    let out = deployments
        .patch("web", &PatchParams::default(), &Patch::<()>::Json(ops))
        .await
        .unwrap();
    assert_eq!(out.spec.unwrap().replicas, Some(3));
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/spec/replicas", "value": 9}]))
            .unwrap();
    assert_eq!(
        api_code(
            deployments
                .patch("web", &PatchParams::default(), &Patch::<()>::Json(failing))
                .await
                .unwrap_err()
        ),
        422
    );

    // Server-side apply: creates, records the manager, and removes what the manager drops.
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let ssa = PatchParams::apply("secrets-agent");
    let first = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"a": "1", "b": "2"}});
    let out = cms
        .patch("applied", &ssa, &Patch::Apply(first))
        .await
        .unwrap();
    assert_eq!(
        out.metadata.managed_fields.unwrap()[0].manager.as_deref(),
        Some("secrets-agent")
    );
    let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"a": "1"}});
    let out = cms
        .patch("applied", &ssa, &Patch::Apply(second))
        .await
        .unwrap();
    assert_eq!(
        out.data.unwrap(),
        BTreeMap::from([("a".to_owned(), "1".to_owned())])
    );
}

#[tokio::test]
async fn finalizers_and_owner_garbage_collection() {
    let (_standin, client) = start().await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let mut held = secret("held");
    held.metadata.finalizers = Some(vec!["example.com/cleanup".into()]);
    secrets.create(&PostParams::default(), &held).await.unwrap();
    secrets
        .delete("held", &DeleteParams::default())
        .await
        .unwrap();
    let marked = secrets.get("held").await.unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some());
    secrets
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    assert!(secrets.get_opt("held").await.unwrap().is_none());

    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "owner"}})).unwrap(),
        )
        .await
        .unwrap();
    let mut child = secret("child");
    child.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "owner".into(),
        uid: owner.uid().unwrap(),
        controller: Some(true),
        block_owner_deletion: None,
    }]);
    secrets
        .create(&PostParams::default(), &child)
        .await
        .unwrap();
    cms.delete("owner", &DeleteParams::default()).await.unwrap();
    wait_for(
        "the dependent to be collected",
        Duration::from_secs(5),
        || {
            let secrets = secrets.clone();
            async move { secrets.get_opt("child").await.unwrap().is_none() }
        },
    )
    .await;
}

#[tokio::test]
async fn fault_injection_and_request_counts() {
    let (standin, client) = start().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    secrets
        .create(&PostParams::default(), &secret("x"))
        .await
        .unwrap();
    standin.control().reset_counts();
    for _ in 0..3 {
        secrets.get("x").await.unwrap();
    }
    assert_eq!(standin.control().count("secrets", "get"), 3);
    assert_eq!(standin.control().count("secrets", "list"), 0);

    // Two 503s on list: kube-rs's default client retries 503 (with backoff), so the third
    // attempt answers, and the stand-in counted all three.
    standin.control().inject(kube_standin::Fault {
        resource: Some("secrets".into()),
        verb: Some("list".into()),
        status: Some(503),
        times: Some(2),
        ..Default::default()
    });
    secrets.list(&ListParams::default()).await.unwrap();
    assert_eq!(standin.control().count("secrets", "list"), 3);

    // A persistent 500 is not retried: the error comes straight through.
    standin.control().inject(kube_standin::Fault {
        resource: Some("secrets".into()),
        verb: Some("list".into()),
        status: Some(500),
        ..Default::default()
    });
    assert_eq!(
        api_code(secrets.list(&ListParams::default()).await.unwrap_err()),
        500
    );
    standin.control().clear_faults();

    // A one-shot 409 on create, then normal service.
    standin.control().inject(kube_standin::Fault {
        verb: Some("create".into()),
        status: Some(409),
        times: Some(1),
        ..Default::default()
    });
    assert_eq!(
        api_code(
            secrets
                .create(&PostParams::default(), &secret("y"))
                .await
                .unwrap_err()
        ),
        409
    );
    secrets
        .create(&PostParams::default(), &secret("y"))
        .await
        .unwrap();

    // Latency is added before answering.
    standin.control().clear_faults();
    standin.control().inject(kube_standin::Fault {
        verb: Some("get".into()),
        latency_ms: 300,
        ..Default::default()
    });
    let started = std::time::Instant::now();
    secrets.get("x").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// Core and events.k8s.io events are one resource with two views: written through either,
/// read (get, list with field selectors, watch, patch) through the other with its names.
#[tokio::test]
async fn events_are_one_resource_with_two_views() {
    use k8s_openapi::api::core::v1::Event as CoreEvent;
    use k8s_openapi::api::events::v1::Event as NewEvent;
    let (_standin, client) = start().await;
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let new: Api<NewEvent> = Api::namespaced(client.clone(), "default");
    let mut watch = core
        .watch(
            &WatchParams::default().fields("involvedObject.name=db"),
            "0",
        )
        .await
        .unwrap()
        .boxed();
    let recorded: NewEvent = serde_json::from_value(json!({
        "metadata": {"name": "db.1"},
        "eventTime": "2026-01-02T03:04:05.000000Z",
        "regarding": {"kind": "SealedSecret", "name": "db", "namespace": "default", "uid": "u-1"},
        "note": "Secret unsealed",
        "reason": "Unsealed",
        "type": "Normal",
        "action": "Unseal",
        "reportingController": "secrets-agent",
        "reportingInstance": "agent-0",
    }))
    .unwrap();
    new.create(&PostParams::default(), &recorded).await.unwrap();

    let listed = core
        .list(&ListParams::default().fields(
            "involvedObject.kind=SealedSecret,involvedObject.name=db,involvedObject.uid=u-1",
        ))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let event = &listed.items[0];
    assert_eq!(event.message.as_deref(), Some("Secret unsealed"));
    assert_eq!(event.involved_object.name.as_deref(), Some("db"));
    assert_eq!(event.reporting_component.as_deref(), Some("secrets-agent"));
    assert_eq!(event.reason.as_deref(), Some("Unsealed"));
    let seen = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match seen {
        WatchEvent::Added(e) => assert_eq!(e.message.as_deref(), Some("Secret unsealed")),
        other => panic!("expected ADDED, got {other:?}"),
    }

    // A merge patch through events.k8s.io names fields its way; the core view follows.
    new.patch(
        "db.1",
        &PatchParams::default(),
        &Patch::Merge(json!({"note": "Secret unsealed again", "series": {"count": 2, "lastObservedTime": "2026-01-02T03:05:05.000000Z"}})),
    )
    .await
    .unwrap();
    let patched = core.get("db.1").await.unwrap();
    assert_eq!(patched.message.as_deref(), Some("Secret unsealed again"));
    assert_eq!(patched.series.unwrap().count, Some(2));

    // Written through the core API, read through events.k8s.io.
    let old_style: CoreEvent = serde_json::from_value(json!({
        "metadata": {"name": "db.2"},
        "involvedObject": {"kind": "SealedSecret", "name": "db"},
        "message": "core event",
        "reason": "Test",
        "source": {"component": "kubectl"},
        "count": 3,
    }))
    .unwrap();
    core.create(&PostParams::default(), &old_style)
        .await
        .unwrap();
    let read = new.get("db.2").await.unwrap();
    assert_eq!(read.note.as_deref(), Some("core event"));
    assert_eq!(read.regarding.unwrap().name.as_deref(), Some("db"));
    assert_eq!(read.deprecated_count, Some(3));
    assert_eq!(
        read.deprecated_source.unwrap().component.as_deref(),
        Some("kubectl")
    );
    let by_regarding = new
        .list(&ListParams::default().fields("regarding.name=db"))
        .await
        .unwrap();
    assert_eq!(by_regarding.items.len(), 2);
}

/// A rule matching every resource and verb still leaves the control paths alone, so it can
/// be listed and cleared over HTTP.
#[tokio::test]
async fn control_paths_are_exempt_from_fault_rules() {
    let (_standin, client) = start().await;
    let control = |method: &str, body: &str| {
        http::Request::builder()
            .method(method)
            .uri("/_standin/faults")
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap()
    };
    client
        .request_text(control("POST", r#"{"status": 500}"#))
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    assert_eq!(api_code(secrets.get("x").await.unwrap_err()), 500);
    let listed = client.request_text(control("GET", "")).await.unwrap();
    assert!(listed.contains("500"), "{listed}");
    client.request_text(control("DELETE", "")).await.unwrap();
    assert_eq!(api_code(secrets.get("x").await.unwrap_err()), 404);
}

#[tokio::test]
async fn token_request_and_token_review() {
    use k8s_openapi::api::authentication::v1::{TokenRequest, TokenReview};
    use k8s_openapi::api::core::v1::ServiceAccount;
    let (_standin, client) = start().await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "agent"}})).unwrap(),
    )
    .await
    .unwrap();
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": ["vault"], "expirationSeconds": 900}}))
            .unwrap();
    let issued: TokenRequest = sas
        .create_subresource::<TokenRequest, TokenRequest>(
            "token",
            "agent",
            &PostParams::default(),
            &request,
        )
        .await
        .unwrap();
    let token = issued.status.unwrap().token;

    let reviews: Api<TokenReview> = Api::all(client.clone());
    let review = |token: String, audiences: Vec<&'static str>| {
        let reviews = reviews.clone();
        async move {
            let body: TokenReview =
                serde_json::from_value(json!({"spec": {"token": token, "audiences": audiences}}))
                    .unwrap();
            reviews
                .create(&PostParams::default(), &body)
                .await
                .unwrap()
                .status
                .unwrap()
        }
    };
    let ok = review(token.clone(), vec!["vault"]).await;
    assert_eq!(ok.authenticated, Some(true));
    assert_eq!(
        ok.user.unwrap().username.as_deref(),
        Some("system:serviceaccount:default:agent")
    );
    assert_eq!(ok.audiences, Some(vec!["vault".to_owned()]));
    assert_eq!(
        review(token.clone(), vec!["other"]).await.authenticated,
        Some(false)
    );
    assert_eq!(
        review("not-a-token".into(), vec![]).await.authenticated,
        Some(false)
    );

    // Too short a lifetime is refused, as by kube-apiserver; unknown accounts are 404.
    let short: TokenRequest =
        serde_json::from_value(json!({"spec": {"expirationSeconds": 60}})).unwrap();
    let err = sas
        .create_subresource::<TokenRequest, TokenRequest>(
            "token",
            "agent",
            &PostParams::default(),
            &short,
        )
        .await
        .unwrap_err();
    assert_eq!(api_code(err), 422);
    let err = sas
        .create_subresource::<TokenRequest, TokenRequest>(
            "token",
            "ghost",
            &PostParams::default(),
            &request,
        )
        .await
        .unwrap_err();
    assert_eq!(api_code(err), 404);

    // A service-account token with the API server's audience authenticates API calls.
    let default_aud: TokenRequest = serde_json::from_value(json!({"spec": {}})).unwrap();
    let issued: TokenRequest = sas
        .create_subresource::<TokenRequest, TokenRequest>(
            "token",
            "agent",
            &PostParams::default(),
            &default_aud,
        )
        .await
        .unwrap();
    let mut config = kube::Config::new(client_url(&_standin));
    config.root_cert = Some(vec![pem_der(_standin.ca_pem())]);
    config.auth_info.token = Some(issued.status.unwrap().token.into());
    let as_sa = kube::Client::try_from(config).unwrap();
    Api::<Secret>::namespaced(as_sa, "default")
        .list(&ListParams::default())
        .await
        .unwrap();
}

fn client_url(standin: &kube_standin::StandIn) -> http::Uri {
    standin.url().parse().unwrap()
}

fn pem_der(pem: &str) -> Vec<u8> {
    pem::parse(pem).unwrap().into_contents()
}

/// A Service `name` (port `http`) in `default` whose Endpoints are a loopback HTTP backend
/// answering each request with `answer(request text)` as a text/plain body.
async fn serve_behind_service(
    client: &kube::Client,
    name: &str,
    answer: impl Fn(&str) -> String + Send + 'static,
) {
    use k8s_openapi::api::core::v1::{Endpoints, Service};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = backend.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = backend.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = stream.read(&mut buf).await.unwrap();
            let body = answer(&String::from_utf8_lossy(&buf[..n]));
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    services
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"ports": [{"name": "http", "port": 8080}]}})).unwrap())
        .await
        .unwrap();
    let endpoints: Api<Endpoints> = Api::namespaced(client.clone(), "default");
    endpoints
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}, "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "http", "port": port}]}]})).unwrap(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn service_proxy_reaches_the_endpoints() {
    let (standin, client) = start().await;
    // A tiny HTTP backend on loopback that echoes the path it was asked for.
    serve_behind_service(&client, "agent", |request| {
        let first = request.lines().next().unwrap_or_default();
        let auth = request
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("authorization:"));
        format!("{first} auth={auth}")
    })
    .await;
    for target in ["agent", "agent:http", "http:agent:http", "agent:8080"] {
        let request = http::Request::get(format!(
            "/api/v1/namespaces/default/services/{target}/proxy/v1/cert.pem?x=1"
        ))
        .body(vec![])
        .unwrap();
        let text = client.request_text(request).await.unwrap();
        assert_eq!(
            text, "GET /v1/cert.pem?x=1 HTTP/1.1 auth=false",
            "via {target}"
        );
    }
    let request = http::Request::get("/api/v1/namespaces/default/services/missing/proxy/")
        .body(vec![])
        .unwrap();
    assert_eq!(
        api_code(client.request_text(request).await.unwrap_err()),
        404
    );
    assert!(standin.control().count("services/proxy", "get") >= 4);
}

#[tokio::test]
async fn service_proxy_appends_the_caller_to_x_forwarded_for() {
    let (_standin, client) = start().await;
    // A backend that answers with the X-Forwarded-For lines it received, `|`-separated.
    serve_behind_service(&client, "echo", |request| {
        request
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(name, _)| name.eq_ignore_ascii_case("x-forwarded-for"))
            .map(|(_, value)| value.trim())
            .collect::<Vec<_>>()
            .join("|")
    })
    .await;
    let forwarded = async |lines: &[&str]| {
        let mut request = http::Request::get("/api/v1/namespaces/default/services/echo/proxy/");
        for line in lines {
            request = request.header("x-forwarded-for", *line);
        }
        client
            .request_text(request.body(vec![]).unwrap())
            .await
            .unwrap()
    };
    // This test reaches kube-standin over loopback: that is the caller's address.
    assert_eq!(forwarded(&[]).await, "127.0.0.1");
    assert_eq!(forwarded(&["203.0.113.7"]).await, "203.0.113.7, 127.0.0.1");
    // Several lines become one, in order, with the caller last.
    assert_eq!(
        forwarded(&["203.0.113.7", "198.51.100.1, 192.0.2.1"]).await,
        "203.0.113.7, 198.51.100.1, 192.0.2.1, 127.0.0.1"
    );
}

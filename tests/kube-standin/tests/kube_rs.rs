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
            {
                if s.name_any() == "b" {
                    return true;
                }
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

//! managedFields through kube-rs: writes without `fieldManager` are recorded under the
//! User-Agent's first segment, creates, PUTs and the three non-apply patch types get `Update`
//! entries that take what they change from others, status writes get their own entry, and a
//! server-side apply keeps what a create also set.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube_standin::{Config, StandIn};
use serde_json::{Value, json};

/// A client whose requests carry `User-Agent: secrets-agent/0.1.0 (linux)`.
async fn client_with_agent(standin: &StandIn) -> kube::Client {
    let kubeconfig = Kubeconfig::from_yaml(&standin.kubeconfig_yaml()).unwrap();
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .unwrap();
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static("secrets-agent/0.1.0 (linux)"),
    ));
    kube::Client::try_from(config).unwrap()
}

fn entries(object: &impl serde::Serialize) -> Vec<Value> {
    let value = serde_json::to_value(object).unwrap();
    value["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn owned(object: &impl serde::Serialize, manager: &str, subresource: Option<&str>) -> Value {
    entries(object)
        .into_iter()
        .find(|e| e["manager"] == manager && e["subresource"].as_str() == subresource)
        .map_or(Value::Null, |e| {
            assert_eq!(e["operation"], "Update", "{e}");
            e["fieldsV1"].clone()
        })
}

fn params(manager: &str) -> PatchParams {
    PatchParams {
        field_manager: Some(manager.to_owned()),
        ..PatchParams::default()
    }
}

#[tokio::test]
async fn every_write_is_recorded_and_protects_its_fields_from_appliers() {
    let standin = StandIn::start(Config::default()).await.unwrap();
    let client = client_with_agent(&standin).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "app", "labels": {"tier": "web"}},
        "data": {"a": "1", "b": "2"},
    }))
    .unwrap();
    let created = cms.create(&PostParams::default(), &cm).await.unwrap();
    assert_eq!(
        owned(&created, "secrets-agent", None),
        json!({"f:metadata": {"f:labels": {"f:tier": {}}}, "f:data": {"f:a": {}, "f:b": {}}})
    );

    // PUT by "editor": takes b, adds c.
    let mut replaced = created.clone();
    replaced
        .data
        .as_mut()
        .unwrap()
        .insert("b".into(), "20".into());
    replaced
        .data
        .as_mut()
        .unwrap()
        .insert("c".into(), "3".into());
    let pp = PostParams {
        field_manager: Some("editor".into()),
        ..PostParams::default()
    };
    let replaced = cms.replace("app", &pp, &replaced).await.unwrap();
    assert_eq!(
        owned(&replaced, "editor", None),
        json!({"f:data": {"f:b": {}, "f:c": {}}})
    );
    assert_eq!(
        owned(&replaced, "secrets-agent", None),
        json!({"f:metadata": {"f:labels": {"f:tier": {}}}, "f:data": {"f:a": {}}})
    );

    // Merge, JSON and strategic patches are recorded too.
    let merged = cms
        .patch(
            "app",
            &params("merger"),
            &Patch::Merge(json!({"data": {"d": "4"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        owned(&merged, "merger", None),
        json!({"f:data": {"f:d": {}}})
    );
    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/data/d", "value": "40"}]))
            .unwrap();
    let patched = cms
        .patch("app", &params("jsonpatcher"), &Patch::Json::<()>(ops))
        .await
        .unwrap();
    assert!(
        owned(&patched, "merger", None).is_null(),
        "merger's only field was taken, its entry dropped"
    );
    let strategic = cms
        .patch(
            "app",
            &params("strategist"),
            &Patch::Strategic(json!({"metadata": {"labels": {"tier": "api"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        owned(&strategic, "strategist", None),
        json!({"f:metadata": {"f:labels": {"f:tier": {}}}})
    );

    // An applier that co-owns a (same value) and owns e alone drops both: a stays, e goes.
    let config = |data: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"}, "data": data});
    let apply = PatchParams::apply("gitops").force();
    cms.patch(
        "app",
        &apply,
        &Patch::Apply(config(json!({"a": "1", "e": "5"}))),
    )
    .await
    .unwrap();
    let after = cms
        .patch("app", &apply, &Patch::Apply(config(json!({}))))
        .await
        .unwrap();
    let data = after.data.unwrap();
    assert_eq!(data.get("a").map(String::as_str), Some("1"));
    assert!(!data.contains_key("e"), "{data:?}");
    assert_eq!(data.len(), 4, "a, b, c, d: {data:?}");
}

#[tokio::test]
async fn status_writes_get_their_own_entry() {
    let (_standin, client) = common::start().await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": "Ignored"},
    }))
    .unwrap();
    let pp = PostParams {
        field_manager: Some("creator".into()),
        ..PostParams::default()
    };
    let created = pods.create(&pp, &pod).await.unwrap();
    assert!(created.status.is_none());
    let creator = owned(&created, "creator", None);
    assert!(creator.get("f:status").is_none(), "{creator}");
    assert_eq!(
        creator["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"],
        json!({".": {}, "f:name": {}, "f:image": {}})
    );

    let running = pods
        .patch_status(
            "p",
            &params("kubelet"),
            &Patch::Merge(json!({"status": {"phase": "Running"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        owned(&running, "kubelet", Some("status")),
        json!({"f:status": {"f:phase": {}}})
    );
    let mut next = running.clone();
    next.status.as_mut().unwrap().pod_ip = Some("10.0.0.1".into());
    let pp = PostParams {
        field_manager: Some("network".into()),
        ..PostParams::default()
    };
    let replaced = pods.replace_status("p", &pp, &next).await.unwrap();
    assert_eq!(
        owned(&replaced, "network", Some("status")),
        json!({"f:status": {"f:podIP": {}}})
    );
    assert_eq!(owned(&replaced, "creator", None), creator);
}

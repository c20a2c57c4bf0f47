use serde_json::json;

use super::*;

/// Writes in these tests are a client's, recorded in managedFields.
const W: Manager<'static> = Manager::Update("test");

fn store() -> Arc<Store> {
    Store::new(DEFAULT_HISTORY)
}

fn def(store: &Store, group: &str, plural: &str) -> ResourceDef {
    store.def(group, "v1", plural).unwrap()
}

fn secret(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": {"k": "dg=="}})
}

#[test]
fn create_get_conflicts_and_resource_versions() {
    let s = store();
    let secrets = def(&s, "", "secrets");
    let a = s
        .create_as(&secrets, Some("default"), secret("a"), W)
        .unwrap();
    assert_eq!(a["metadata"]["namespace"], "default");
    assert!(a["metadata"]["uid"].as_str().unwrap().len() == 36);
    let err = s
        .create_as(&secrets, Some("default"), secret("a"), W)
        .unwrap_err();
    assert_eq!((err.code, err.reason), (409, "AlreadyExists"));
    assert_eq!(err.message, "secrets \"a\" already exists");

    let mut stale = a.clone();
    stale["data"] = json!({"k": "eA=="});
    let b = s
        .update_as(
            &secrets,
            Some("default"),
            "a",
            stale.clone(),
            Subresource::Main,
            W,
        )
        .unwrap();
    assert!(
        b["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > a["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
    );
    let err = s
        .update_as(&secrets, Some("default"), "a", stale, Subresource::Main, W)
        .unwrap_err();
    assert_eq!((err.code, err.reason), (409, "Conflict"));
    // A no-op update keeps the resourceVersion.
    let same = s
        .update_as(
            &secrets,
            Some("default"),
            "a",
            b.clone(),
            Subresource::Main,
            W,
        )
        .unwrap();
    assert_eq!(
        same["metadata"]["resourceVersion"],
        b["metadata"]["resourceVersion"]
    );

    assert_eq!(
        s.get(&secrets, Some("default"), "nope").unwrap_err().code,
        404
    );
    assert_eq!(
        s.create_as(&secrets, Some("missing-ns"), secret("x"), W)
            .unwrap_err()
            .code,
        404
    );
    let err = s
        .create_as(&secrets, Some("default"), secret("Bad_Name"), W)
        .unwrap_err();
    assert_eq!((err.code, err.reason), (422, "Invalid"));
}

#[test]
fn generate_name_and_generation() {
    let s = store();
    let deployments = def(&s, "apps", "deployments");
    let d = s
        .create_as(&deployments, Some("default"), json!({"metadata": {"generateName": "web-"}, "spec": {"replicas": 1}, "status": {"x": 1}}), W)
        .unwrap();
    let name = d["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("web-") && name.len() == 9);
    assert_eq!(d["metadata"]["generation"], 1);
    assert!(
        d.get("status").is_none(),
        "status is not set through the main resource"
    );

    let mut relabeled = d.clone();
    relabeled["metadata"]["labels"] = json!({"a": "b"});
    let r = s
        .update_as(
            &deployments,
            Some("default"),
            &name,
            relabeled,
            Subresource::Main,
            W,
        )
        .unwrap();
    assert_eq!(
        r["metadata"]["generation"], 1,
        "metadata changes do not bump generation"
    );
    let mut scaled = r.clone();
    scaled["spec"]["replicas"] = json!(3);
    let r = s
        .update_as(
            &deployments,
            Some("default"),
            &name,
            scaled,
            Subresource::Main,
            W,
        )
        .unwrap();
    assert_eq!(r["metadata"]["generation"], 2);

    let mut status = r.clone();
    status["status"] = json!({"readyReplicas": 3});
    status["spec"]["replicas"] = json!(99);
    let st = s
        .update_as(
            &deployments,
            Some("default"),
            &name,
            status,
            Subresource::Status,
            W,
        )
        .unwrap();
    assert_eq!(st["status"]["readyReplicas"], 3);
    assert_eq!(st["spec"]["replicas"], 3, "spec is ignored on /status");
    assert_eq!(st["metadata"]["generation"], 2);
}

#[test]
fn finalizers_hold_deletion_until_removed() {
    let s = store();
    let secrets = def(&s, "", "secrets");
    let mut obj = secret("f");
    obj["metadata"]["finalizers"] = json!(["example.com/hold"]);
    s.create_as(&secrets, Some("default"), obj, W).unwrap();
    let marked = s
        .delete(&secrets, Some("default"), "f", &DeleteOptions::default())
        .unwrap();
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    assert!(s.get(&secrets, Some("default"), "f").is_ok());
    let mut released = marked.clone();
    released["metadata"]["finalizers"] = json!([]);
    s.update_as(
        &secrets,
        Some("default"),
        "f",
        released,
        Subresource::Main,
        W,
    )
    .unwrap();
    assert_eq!(s.get(&secrets, Some("default"), "f").unwrap_err().code, 404);
}

#[test]
fn owner_gone_means_dependents_collected_and_namespaces_empty_out() {
    let s = store();
    let cms = def(&s, "", "configmaps");
    let secrets = def(&s, "", "secrets");
    let owner = s
        .create_as(
            &cms,
            Some("default"),
            json!({"metadata": {"name": "owner"}}),
            W,
        )
        .unwrap();
    let mut child = secret("child");
    child["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}]);
    s.create_as(&secrets, Some("default"), child, W).unwrap();
    s.create_as(&secrets, Some("default"), secret("bystander"), W)
        .unwrap();
    s.delete(&cms, Some("default"), "owner", &DeleteOptions::default())
        .unwrap();
    assert_eq!(s.collect_garbage(), 1);
    assert_eq!(
        s.get(&secrets, Some("default"), "child").unwrap_err().code,
        404
    );
    assert!(s.get(&secrets, Some("default"), "bystander").is_ok());

    let namespaces = def(&s, "", "namespaces");
    s.create_as(&namespaces, None, json!({"metadata": {"name": "team"}}), W)
        .unwrap();
    s.create_as(&secrets, Some("team"), secret("x"), W).unwrap();
    s.delete(&namespaces, None, "team", &DeleteOptions::default())
        .unwrap();
    assert_eq!(
        s.create_as(&secrets, Some("team"), secret("y"), W)
            .unwrap_err()
            .code,
        403
    );
    s.collect_garbage();
    assert_eq!(s.get(&namespaces, None, "team").unwrap_err().code, 404);
    assert_eq!(s.get(&secrets, Some("team"), "x").unwrap_err().code, 404);
}

#[test]
fn list_pages_and_watch_replays() {
    let s = store();
    let secrets = def(&s, "", "secrets");
    for i in 0..5 {
        s.create_as(&secrets, Some("default"), secret(&format!("s{i}")), W)
            .unwrap();
    }
    let page = s
        .list(&secrets, Some("default"), &|_| true, Some(2), None)
        .unwrap();
    assert_eq!(page.items.len(), 2);
    let rest = s
        .list(
            &secrets,
            None,
            &|_| true,
            None,
            page.continue_token.as_deref(),
        )
        .unwrap();
    assert_eq!(rest.items.len(), 3);
    assert_eq!(rest.items[0]["metadata"]["name"], "s2");

    let from = page.resource_version;
    s.delete(&secrets, Some("default"), "s0", &DeleteOptions::default())
        .unwrap();
    let start = s.watch(&secrets, None, Some(from)).unwrap();
    assert_eq!(start.replay.len(), 1);
    assert_eq!(start.replay[0].kind, EventType::Deleted);
    let initial = s.watch(&secrets, Some("default"), Some(0)).unwrap();
    assert_eq!(initial.replay.len(), 4);

    s.compact();
    let err = s.watch(&secrets, None, Some(from)).err().unwrap();
    assert_eq!((err.code, err.reason), (410, "Expired"));
}

#[test]
fn crds_register_and_take_their_objects_along() {
    let s = store();
    let crds = def(&s, "apiextensions.k8s.io", "customresourcedefinitions");
    let crd = json!({
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}}]}
    });
    let created = s.create_as(&crds, None, crd, W).unwrap();
    assert_eq!(created["status"]["conditions"][1]["type"], "Established");
    let widgets = s.def("example.com", "v1", "widgets").unwrap();
    s.create_as(
        &widgets,
        Some("default"),
        json!({"metadata": {"name": "w"}, "spec": {"size": 1}}),
        W,
    )
    .unwrap();
    s.delete(
        &crds,
        None,
        "widgets.example.com",
        &DeleteOptions::default(),
    )
    .unwrap();
    assert!(s.def("example.com", "v1", "widgets").is_none());
    assert!(s.get_raw(&widgets.key(), "default", "w").is_none());
}

#[test]
fn immutable_secrets_keep_their_data() {
    let s = store();
    let secrets = def(&s, "", "secrets");
    let mut obj = secret("i");
    obj["immutable"] = json!(true);
    let created = s.create_as(&secrets, Some("default"), obj, W).unwrap();
    let mut changed = created.clone();
    changed["data"] = json!({"k": "eA=="});
    let err = s
        .update_as(
            &secrets,
            Some("default"),
            "i",
            changed,
            Subresource::Main,
            W,
        )
        .unwrap_err();
    assert_eq!((err.code, err.reason), (422, "Invalid"));
}

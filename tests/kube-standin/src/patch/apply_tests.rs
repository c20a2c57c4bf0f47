//! Server-side apply: managedFields entries, the removal step, before-first-apply, status.

use serde_json::{Value, json};

use super::*;
use crate::managed_fields::Write;

/// `apply` by `manager` at `now` with the configuration's apiVersion; a status apply is to a
/// kind with a status subresource.
fn apply_as(
    existing: Option<&Value>,
    applied: &Value,
    manager: &str,
    subresource: Option<&str>,
    now: &str,
) -> Result<Value, PatchError> {
    let write = Write {
        manager,
        subresource,
        status_subresource: subresource.is_some(),
        api_version: applied["apiVersion"].as_str().unwrap_or_default(),
        now,
    };
    apply(existing, applied, &write)
}

#[test]
fn apply_creates_with_managed_fields() {
    let applied = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}},
        },
    });
    let created = apply_as(None, &applied, "ci", None, "2024-01-01T00:00:00Z").unwrap();
    let mut expected = applied.clone();
    expected["metadata"]["managedFields"] = json!([{
        "manager": "ci",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "time": "2024-01-01T00:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"app\"}": {".": {}, "f:name": {}, "f:image": {}},
                }}},
            },
        },
    }]);
    assert_eq!(created, expected);
}

#[test]
fn apply_removes_what_the_manager_dropped_and_keeps_others() {
    let first = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "labels": {"app": "web", "tier": "front"},
            "finalizers": ["example.com/a", "example.com/b"],
        },
        "spec": {
            "replicas": 2,
            "paused": false,
            "template": {"spec": {"containers": [
                {"name": "app", "image": "app:1", "args": ["--v"]},
                {"name": "sidecar", "image": "proxy:1"},
            ]}},
        },
    });
    let mut object = apply_as(None, &first, "ci", None, "t1").unwrap();
    // Another manager labels the object and also sets `paused`; a writer without
    // managedFields (the server, say) adds status.
    object["metadata"]["labels"]["team"] = json!("blue");
    object["status"] = json!({"replicas": 2});
    let other = json!({
        "manager": "kubectl-label",
        "operation": "Update",
        "apiVersion": "apps/v1",
        "time": "t0",
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:team": {}}},
            "f:spec": {"f:paused": {}},
        },
    });
    object["metadata"]["managedFields"]
        .as_array_mut()
        .unwrap()
        .insert(0, other.clone());

    let second = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "labels": {"app": "web"},
            "finalizers": ["example.com/b"],
        },
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}},
        },
    });
    let updated = apply_as(Some(&object), &second, "ci", None, "t2").unwrap();

    assert_eq!(
        updated["metadata"]["labels"],
        json!({"app": "web", "team": "blue"})
    );
    assert_eq!(updated["metadata"]["finalizers"], json!(["example.com/b"]));
    assert_eq!(updated["metadata"]["name"], json!("web"));
    // Dropped by ci and owned by nobody else: gone.
    assert!(updated["spec"].get("replicas").is_none(), "{updated}");
    // Dropped by ci but co-owned by kubectl-label: stays.
    assert_eq!(updated["spec"]["paused"], json!(false));
    assert_eq!(
        updated["spec"]["template"]["spec"]["containers"],
        json!([{"name": "app", "image": "app:2"}])
    );
    assert_eq!(updated["status"], json!({"replicas": 2}));

    let entries = updated["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    // Apply entries come first, as kube-apiserver orders them.
    assert_eq!(entries[1], other);
    assert_eq!(entries[0]["manager"], json!("ci"));
    assert_eq!(entries[0]["time"], json!("t2"));
    assert_eq!(
        entries[0]["fieldsV1"],
        json!({
            "f:metadata": {
                "f:labels": {"f:app": {}},
                "f:finalizers": {"v:\"example.com/b\"": {}},
            },
            "f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"app\"}": {".": {}, "f:name": {}, "f:image": {}},
            }}}},
        })
    );
}

#[test]
fn apply_prunes_containers_left_empty() {
    let first = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "annotations": {"a": "1"}},
        "data": {"k": "v"},
    });
    let object = apply_as(None, &first, "ci", None, "t1").unwrap();
    let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let updated = apply_as(Some(&object), &second, "ci", None, "t2").unwrap();
    assert!(updated.get("data").is_none(), "{updated}");
    assert!(
        updated["metadata"].get("annotations").is_none(),
        "{updated}"
    );
    assert_eq!(
        updated["metadata"]["managedFields"][0]["fieldsV1"],
        json!({})
    );
}

#[test]
fn apply_rejects_directives_and_non_objects() {
    let error = apply_as(
        None,
        &json!({"metadata": {"name": "x"}, "spec": {"$patch": "replace"}}),
        "ci",
        None,
        "t",
    )
    .unwrap_err();
    assert!(
        matches!(&error, PatchError::ApplyDirective { path } if path == "spec.$patch"),
        "{error:?}"
    );
    assert!(matches!(
        apply_as(None, &json!([1]), "ci", None, "t"),
        Err(PatchError::ApplyNotObject { found: "an array" })
    ));
}

#[test]
fn a_status_apply_owns_only_the_status_in_its_own_entry() {
    let object = json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "managedFields": [{
            "manager": "agent", "operation": "Apply", "apiVersion": "example.com/v1",
            "time": "t0", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:size": {}}}
        }]},
        "spec": {"size": 1}
    });
    let applied = json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "labels": {"ignored": "yes"}},
        "spec": {"size": 2},
        "status": {"ready": true}
    });
    let first = apply_as(Some(&object), &applied, "agent", Some("status"), "t1").unwrap();
    assert_eq!(first["status"], json!({"ready": true}));
    assert_eq!(
        first["spec"],
        json!({"size": 1}),
        "spec is not applied through /status"
    );
    assert!(first["metadata"]["labels"].is_null(), "{first}");
    let entries = first["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        2,
        "the main entry and the status entry: {entries:?}"
    );
    assert_eq!(entries[0]["fieldsV1"], json!({"f:spec": {"f:size": {}}}));
    assert_eq!(
        entries[1],
        json!({
            "manager": "agent", "operation": "Apply", "apiVersion": "example.com/v1",
            "time": "t1", "fieldsType": "FieldsV1", "subresource": "status",
            "fieldsV1": {"f:status": {"f:ready": {}}}
        })
    );
    // The next status apply replaces its own entry and drops what it no longer sets.
    let second =
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "status": {"phase": "x"}});
    let next = apply_as(Some(&first), &second, "agent", Some("status"), "t2").unwrap();
    assert_eq!(next["status"], json!({"phase": "x"}));
    assert_eq!(
        next["metadata"]["managedFields"].as_array().unwrap().len(),
        2
    );
}

//! Update entries (what a write set or changed, taken from others), FieldsV1 round trips,
//! entry order, the fieldManager rules, and before-first-apply through `patch::apply`.

use serde_json::{Value, json};

use super::*;
use crate::patch;

fn write<'a>(manager: &'a str, subresource: Option<&'a str>, now: &'a str) -> Write<'a> {
    Write {
        manager,
        subresource,
        status_subresource: true,
        api_version: "apps/v1",
        now,
    }
}

fn deployment(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "team", "uid": "u", "resourceVersion": "5",
                     "labels": {"app": "web"}},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [
            {"name": "app", "image": image, "args": ["--v"]},
        ]}}},
    })
}

fn fields(entries: &[Value], manager: &str) -> Value {
    entries
        .iter()
        .find(|e| e["manager"] == manager)
        .map_or(Value::Null, |e| e["fieldsV1"].clone())
}

#[test]
fn a_create_owns_every_field_it_set() {
    let entries = record_update(
        &[],
        None,
        &deployment("app:1"),
        &write("kubectl-create", None, "t1"),
    );
    assert_eq!(
        entries,
        [json!({
            "manager": "kubectl-create", "operation": "Update", "apiVersion": "apps/v1",
            "time": "t1", "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"app\"}": {".": {}, "f:name": {}, "f:image": {}, "f:args": {}},
                }}}},
            },
        })]
    );
}

#[test]
fn an_update_takes_what_it_changed_and_keeps_the_rest_with_its_owners() {
    let created = deployment("app:1");
    let entries = record_update(&[], None, &created, &write("kubectl-create", None, "t1"));
    let mut changed = created.clone();
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("app:2");
    changed["metadata"]["labels"]["tier"] = json!("front");
    changed["spec"].as_object_mut().unwrap().remove("replicas");
    let entries = record_update(
        &entries,
        Some(&created),
        &changed,
        &write("kubectl-edit", None, "t2"),
    );
    assert_eq!(
        fields(&entries, "kubectl-edit"),
        json!({
            "f:metadata": {"f:labels": {"f:tier": {}}},
            "f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"app\"}": {"f:image": {}},
            }}}},
        })
    );
    // The creator lost the image (stolen) and replicas (removed), kept the rest.
    assert_eq!(
        fields(&entries, "kubectl-create"),
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"app\"}": {".": {}, "f:name": {}, "f:args": {}},
            }}}},
        })
    );
    assert_eq!(
        entries[0]["manager"], "kubectl-create",
        "by time: {entries:?}"
    );

    // A write that changes nothing records nothing; one that only removes owns nothing new.
    let same = record_update(
        &entries,
        Some(&changed),
        &changed,
        &write("other", None, "t3"),
    );
    assert_eq!(same, entries);
    let mut smaller = changed.clone();
    smaller["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("tier");
    let after = record_update(
        &entries,
        Some(&changed),
        &smaller,
        &write("other", None, "t4"),
    );
    assert!(after.iter().all(|e| e["manager"] != "other"), "{after:?}");
    let edit = after
        .iter()
        .find(|e| e["manager"] == "kubectl-edit")
        .unwrap();
    assert_eq!(edit["time"], "t2");
    assert!(edit["fieldsV1"]["f:metadata"].is_null(), "{edit}");
}

#[test]
fn entries_left_empty_are_dropped_and_the_same_manager_accumulates() {
    let v1 = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
    let entries = record_update(&[], None, &v1, &write("first", None, "t1"));
    let v2 = json!({"metadata": {"name": "c"}, "data": {"a": "2"}});
    let entries = record_update(&entries, Some(&v1), &v2, &write("second", None, "t2"));
    assert_eq!(entries.len(), 1, "first owned only data.a: {entries:?}");
    let v3 = json!({"metadata": {"name": "c"}, "data": {"a": "2", "b": "3"}});
    let entries = record_update(&entries, Some(&v2), &v3, &write("second", None, "t3"));
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["time"], "t3");
    assert_eq!(
        entries[0]["fieldsV1"],
        json!({"f:data": {"f:a": {}, "f:b": {}}})
    );
}

#[test]
fn status_writes_own_only_the_status_in_their_own_entry() {
    let old = json!({"metadata": {"name": "w"}, "spec": {"size": 1}});
    let mut new = old.clone();
    new["status"] = json!({"ready": true});
    let entries = record_update(&[], Some(&old), &new, &write("agent", Some("status"), "t1"));
    assert_eq!(
        entries,
        [json!({
            "manager": "agent", "operation": "Update", "apiVersion": "apps/v1", "time": "t1",
            "fieldsType": "FieldsV1", "subresource": "status",
            "fieldsV1": {"f:status": {"f:ready": {}}},
        })]
    );
    // The main resource of a kind with a status subresource never owns the status.
    let main = record_update(&[], None, &new, &write("creator", None, "t2"));
    assert_eq!(fields(&main, "creator"), json!({"f:spec": {"f:size": {}}}));
}

#[test]
fn fields_v1_round_trips_and_orders_entries_as_kube_apiserver() {
    let set = json!({
        "f:metadata": {"f:labels": {".": {}, "f:a": {}}, "f:finalizers": {"v:\"x\"": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}}}},
    });
    let paths = paths_of(set.as_object().unwrap());
    assert!(paths.contains(&vec!["f:metadata".to_owned(), "f:labels".to_owned()]));
    assert_eq!(Value::Object(to_fields_v1(&paths)), set);

    let entry = |operation: &str, time: &str, manager: &str| json!({"manager": manager, "operation": operation, "time": time, "fieldsV1": {"f:a": {}}});
    let order: Vec<Value> = sorted(vec![
        entry("Update", "t1", "b"),
        entry("Update", "t1", "a"),
        entry("Apply", "t2", "z"),
        entry("Update", "t0", "c"),
    ])
    .iter()
    .map(|e| e["manager"].clone())
    .collect();
    assert_eq!(order, ["z", "c", "a", "b"]);
}

#[test]
fn field_managers_are_checked_and_derived_as_kube_apiserver_does() {
    assert_eq!(invalid_field_manager("kubectl-secrets"), None);
    assert_eq!(invalid_field_manager(&"m".repeat(128)), None);
    assert_eq!(
        invalid_field_manager(&"m".repeat(129)).unwrap(),
        "Too long: may not be more than 128 bytes"
    );
    assert!(
        invalid_field_manager("a\u{7}b")
            .unwrap()
            .contains("invalid character U+0007 (at position 1)")
    );
    assert_eq!(
        manager_from_user_agent("kubectl/v1.33.1 (linux/amd64) kubernetes/8adc0f0"),
        "kubectl"
    );
    assert_eq!(manager_from_user_agent("kube-rs/1.0"), "kube-rs");
    assert_eq!(manager_from_user_agent("a\tb"), "ab");
    assert_eq!(manager_from_user_agent(&"é".repeat(100)).len(), 128);
    assert_eq!(manager_from_user_agent(""), "");
}

#[test]
fn reset_and_sent_entries_are_recognised() {
    assert!(is_reset(&json!({"metadata": {"managedFields": [{}]}})));
    assert!(!is_reset(&json!({"metadata": {"managedFields": []}})));
    assert!(entries_of(&json!({"metadata": {"managedFields": []}})).is_none());
    assert!(entries_of(&json!({"metadata": {"managedFields": [{"manager": 1}]}})).is_none());
    let one = json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Update"}]}});
    assert_eq!(entries_of(&one).unwrap().len(), 1);
}

#[test]
fn the_first_apply_to_an_object_without_managed_fields_cannot_remove_its_fields() {
    // Created by a writer nothing recorded (the stand-in itself, or a client that reset the
    // managedFields).
    let existing = deployment("app:1");
    let applier = write("gitops", None, "t1");
    let config = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "paused": true},
    });
    let first = patch::apply(Some(&existing), &config, &applier).unwrap();
    let entries = first["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["manager"], "gitops");
    assert_eq!(entries[1]["manager"], BEFORE_FIRST_APPLY);
    assert_eq!(entries[1]["operation"], "Update");
    assert_eq!(
        entries[1]["fieldsV1"]["f:spec"]["f:replicas"],
        json!({}),
        "co-owned: the same value"
    );
    // gitops drops both: replicas stays (before-first-apply co-owns it), paused goes.
    let config =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
    let second = patch::apply(Some(&first), &config, &write("gitops", None, "t2")).unwrap();
    assert_eq!(second["spec"]["replicas"], 1);
    assert!(second["spec"].get("paused").is_none(), "{second}");
    assert_eq!(
        second["spec"]["template"], existing["spec"]["template"],
        "{second}"
    );
}

#[test]
fn a_forced_apply_takes_what_it_changes_from_others() {
    let created = deployment("app:1");
    let entries = record_update(&[], None, &created, &write("kubectl-create", None, "t1"));
    let mut object = created.clone();
    object["metadata"]["managedFields"] = Value::from(entries);
    let config = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}},
    });
    let applied = patch::apply(Some(&object), &config, &write("gitops", None, "t2")).unwrap();
    let entries = applied["metadata"]["managedFields"].as_array().unwrap();
    let creator = fields(entries, "kubectl-create");
    let app = &creator["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"];
    assert!(app.get("f:image").is_none(), "{creator}");
    assert_eq!(app["f:name"], json!({}), "the same name is co-owned");
    // So when gitops stops applying the image, nobody owns it and it goes.
    let config = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "app"}]}}},
    });
    let dropped = patch::apply(Some(&applied), &config, &write("gitops", None, "t3")).unwrap();
    assert_eq!(
        dropped["spec"]["template"]["spec"]["containers"],
        json!([{"name": "app", "args": ["--v"]}])
    );
}

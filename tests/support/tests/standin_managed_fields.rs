//! kube-standin records `metadata.managedFields` for every write, as kube-apiserver does, so
//! the real kubectl's server-side applies remove only what no other writer owns: a field
//! `kubectl create` set survives an applier dropping it, a field only the applier owned goes,
//! a patch takes ownership of what it changes, fields of an object without managedFields go
//! to `before-first-apply`, and status writes have their own entry.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

use serde_json::{Value, json};
use test_support::Cluster;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn get(cluster: &Cluster, what: &str) -> Value {
    serde_json::from_str(&cluster.kubectl_ok(&["get", what, "-o", "json", "--show-managed-fields"]))
        .unwrap()
}

/// The FieldsV1 of `manager`'s entry with this operation (and subresource), or null.
fn owned(object: &Value, manager: &str, operation: &str, subresource: Option<&str>) -> Value {
    object["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["manager"] == manager
                && e["operation"] == operation
                && e["subresource"].as_str() == subresource
        })
        .map_or(Value::Null, |e| e["fieldsV1"].clone())
}

fn apply_as(cluster: &Cluster, dir: &tempfile::TempDir, manager: &str, yaml: &str) {
    let file = write(dir, "apply.yaml", yaml);
    cluster.kubectl_ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        &format!("--field-manager={manager}"),
        "-f",
        &file,
    ]);
}

#[test]
fn applies_remove_only_what_no_other_writer_owns() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let created = write(
        &dir,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\n\
         data: {a: '1', b: '2'}\n",
    );
    cluster.kubectl_ok(&["create", "-f", &created]);
    let cm = get(&cluster, "configmap/app");
    let entries = cm["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["manager"], "kubectl-create");
    assert_eq!(entries[0]["operation"], "Update");
    assert_eq!(entries[0]["apiVersion"], "v1");
    assert_eq!(entries[0]["fieldsType"], "FieldsV1");
    let time = entries[0]["time"].as_str().unwrap();
    assert!(
        time.len() == 20 && time.ends_with('Z'),
        "RFC 3339 seconds: {time}"
    );
    assert_eq!(
        entries[0]["fieldsV1"],
        json!({"f:data": {"f:a": {}, "f:b": {}}})
    );

    // gitops applies a (the same value: co-owned) and c; then drops both.
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\n";
    apply_as(
        &cluster,
        &dir,
        "gitops",
        &format!("{config}data: {{a: '1', c: '3'}}\n"),
    );
    apply_as(&cluster, &dir, "gitops", config);
    let cm = get(&cluster, "configmap/app");
    assert_eq!(
        cm["data"],
        json!({"a": "1", "b": "2"}),
        "a is kubectl-create's too; c was only gitops'"
    );

    // A patch takes what it changes: kubectl-create no longer owns b.
    cluster.kubectl_ok(&[
        "patch",
        "configmap",
        "app",
        "--type=merge",
        "-p",
        r#"{"data":{"b":"22"}}"#,
    ]);
    let cm = get(&cluster, "configmap/app");
    assert_eq!(
        owned(&cm, "kubectl-patch", "Update", None),
        json!({"f:data": {"f:b": {}}})
    );
    assert_eq!(
        owned(&cm, "kubectl-create", "Update", None),
        json!({"f:data": {"f:a": {}}})
    );
    // And so does a forced apply: after gitops sets b and drops it, nobody owns b.
    apply_as(
        &cluster,
        &dir,
        "gitops",
        &format!("{config}data: {{b: '222'}}\n"),
    );
    assert!(
        owned(
            &get(&cluster, "configmap/app"),
            "kubectl-patch",
            "Update",
            None
        )
        .is_null(),
        "kubectl-patch's only field was taken, so its entry went"
    );
    apply_as(&cluster, &dir, "gitops", config);
    assert_eq!(get(&cluster, "configmap/app")["data"], json!({"a": "1"}));
}

#[test]
fn fields_without_a_recorded_writer_go_to_before_first_apply() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let created = write(
        &dir,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: old, namespace: default}\ndata: {a: '1'}\n",
    );
    cluster.kubectl_ok(&["create", "-f", &created]);
    // One empty entry clears managedFields (kube-apiserver's documented reset).
    cluster.kubectl_ok(&[
        "patch",
        "configmap",
        "old",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]"#,
    ]);
    assert!(get(&cluster, "configmap/old")["metadata"]["managedFields"].is_null());

    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: old, namespace: default}\n";
    apply_as(
        &cluster,
        &dir,
        "gitops",
        &format!("{config}data: {{a: '1', b: '2'}}\n"),
    );
    let cm = get(&cluster, "configmap/old");
    assert_eq!(
        owned(&cm, "before-first-apply", "Update", None),
        json!({"f:data": {"f:a": {}}})
    );
    apply_as(&cluster, &dir, "gitops", config);
    assert_eq!(get(&cluster, "configmap/old")["data"], json!({"a": "1"}));
}

#[test]
fn status_writes_are_recorded_in_their_own_entry() {
    let cluster = Cluster::start();
    cluster.apply(
        r"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
",
    );
    let dir = tempfile::tempdir().unwrap();
    let gadget = write(
        &dir,
        "g.yaml",
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g, namespace: default}\n\
         spec: {size: 1}\nstatus: {ready: false}\n",
    );
    cluster.kubectl_ok(&["create", "-f", &gadget]);
    cluster.kubectl_ok(&[
        "patch",
        "gadget",
        "g",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"ready":true}}"#,
    ]);
    let g = get(&cluster, "gadget/g");
    assert_eq!(g["status"], json!({"ready": true}));
    assert_eq!(
        owned(&g, "kubectl-create", "Update", None),
        json!({"f:spec": {"f:size": {}}}),
        "the main resource owns no status"
    );
    assert_eq!(
        owned(&g, "kubectl-patch", "Update", Some("status")),
        json!({"f:status": {"f:ready": {}}})
    );
}

#[test]
fn a_field_manager_longer_than_128_bytes_is_refused() {
    let cluster = Cluster::start();
    let long = format!("--field-manager={}", "m".repeat(129));
    let out = cluster.kubectl(&["label", "namespace", "default", "team=a", &long]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("fieldManager: Too long: may not be more than 128 bytes"),
        "{err}"
    );
}

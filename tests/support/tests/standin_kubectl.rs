//! kube-standin driven by the real kubectl: apply a CRD and a custom resource, read them back,
//! wait on a JSONPath condition, describe, delete.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

use test_support::Cluster;

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

const GADGET: &str = r#"
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g1, namespace: default, labels: {app: demo}}
spec: {size: 3}
"#;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn apply_get_wait_describe_delete() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let crd = write(&dir, "crd.yaml", CRD);
    let gadget = write(&dir, "gadget.yaml", GADGET);

    assert!(
        cluster
            .kubectl_ok(&["apply", "-f", &crd])
            .contains("created")
    );
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/gadgets.example.com",
        "--timeout=10s",
    ]);
    assert!(
        cluster
            .kubectl_ok(&["apply", "-f", &gadget])
            .contains("gadget.example.com/g1 created")
    );
    assert!(
        cluster
            .kubectl_ok(&["apply", "-f", &gadget])
            .contains("unchanged")
    );

    let json: serde_json::Value =
        serde_json::from_str(&cluster.kubectl_ok(&["get", "gadget", "g1", "-o", "json"])).unwrap();
    assert_eq!(json["spec"]["size"], 3);
    assert_eq!(json["metadata"]["generation"], 1);
    let table = cluster.kubectl_ok(&["get", "gd", "-l", "app=demo"]);
    assert!(
        table.contains("NAME") && table.contains("READY") && table.contains("g1"),
        "{table}"
    );

    // A controller (here: the test, through the store) sets status; kubectl wait sees it.
    let standin = cluster.standin();
    let def = standin.store().def("example.com", "v1", "gadgets").unwrap();
    let waiter = std::thread::scope(|scope| {
        let handle = scope.spawn(|| {
            cluster.kubectl(&[
                "wait",
                "--for=jsonpath={.status.conditions[0].status}=True",
                "gadget/g1",
                "--timeout=20s",
            ])
        });
        let mut current = standin.store().get(&def, Some("default"), "g1").unwrap();
        current["status"] =
            serde_json::json!({"conditions": [{"type": "Ready", "status": "True"}]});
        standin
            .store()
            .update(
                &def,
                Some("default"),
                "g1",
                current,
                kube_standin::store::Subresource::Status,
            )
            .unwrap();
        handle.join().unwrap()
    });
    assert!(
        waiter.status.success(),
        "kubectl wait: {}",
        String::from_utf8_lossy(&waiter.stderr)
    );
    assert!(cluster.kubectl_ok(&["get", "gadgets"]).contains("True"));
    assert!(
        cluster
            .kubectl_ok(&["describe", "gadget", "g1"])
            .contains("Size:  3")
    );

    // Editing spec through kubectl apply bumps generation.
    let bigger = write(&dir, "bigger.yaml", &GADGET.replace("size: 3", "size: 4"));
    assert!(
        cluster
            .kubectl_ok(&["apply", "-f", &bigger])
            .contains("configured")
    );
    let generation = cluster.kubectl_ok(&[
        "get",
        "gadget",
        "g1",
        "-o",
        "jsonpath={.metadata.generation}",
    ]);
    assert_eq!(generation, "2");

    assert!(
        cluster
            .kubectl_ok(&["delete", "-f", &gadget])
            .contains("deleted")
    );
    let gone = cluster.kubectl(&["get", "gadget", "g1"]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"));
    cluster.kubectl_ok(&["delete", "-f", &crd]);
    let unknown = cluster.kubectl(&["get", "gadgets"]);
    assert!(
        !unknown.status.success(),
        "the resource type is gone with its CRD"
    );
}

#[test]
fn built_in_kinds_through_kubectl() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = write(
        &dir,
        "all.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: team}\nstringData: {password: hunter2}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: team}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: app, image: nginx}]}\n",
    );
    cluster.kubectl_ok(&["apply", "-f", &manifest]);
    let secret: serde_json::Value = serde_json::from_str(
        &cluster.kubectl_ok(&["get", "secret", "db", "-n", "team", "-o", "json"]),
    )
    .unwrap();
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(secret["data"]["password"], "aHVudGVyMg==");
    let describe = cluster.kubectl_ok(&["describe", "secret", "db", "-n", "team"]);
    assert!(describe.contains("password:  7 bytes"), "{describe}");
    cluster.kubectl_ok(&["rollout", "restart", "deployment/web", "-n", "team"]);
    let annotations = cluster.kubectl_ok(&[
        "get",
        "deploy",
        "web",
        "-n",
        "team",
        "-o",
        "jsonpath={.spec.template.metadata.annotations}",
    ]);
    assert!(
        annotations.contains("kubectl.kubernetes.io/restartedAt"),
        "{annotations}"
    );
    cluster.kubectl_ok(&[
        "delete",
        "namespace",
        "team",
        "--wait=true",
        "--timeout=20s",
    ]);
    assert!(
        !cluster
            .kubectl(&["get", "secret", "db", "-n", "team"])
            .status
            .success()
    );
}

/// kubectl validates a `v1` `List` (what `kubectl-secrets -o json` prints for several objects)
/// on the client, through OpenAPI v2; with validation on, as by default, it applies.
#[test]
fn apply_a_v1_list_with_validation() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}, "data": {"k": "v"}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b", "namespace": "default"}, "stringData": {"k": "v"}},
        ],
    });
    let file = write(&dir, "list.json", &list.to_string());
    for validate in ["--validate=strict", "--validate=warn"] {
        let out = cluster.kubectl_ok(&["apply", validate, "-f", &file]);
        assert!(
            out.contains("configmap/a") && out.contains("secret/b"),
            "{out}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&cluster.kubectl_ok(&["get", "configmap", "a", "-o", "json"]))
            .unwrap();
    assert_eq!(json["data"]["k"], "v");
}

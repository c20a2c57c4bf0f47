use serde_json::{Value, json};

use super::*;

fn web() -> WorkloadRef {
    WorkloadRef::parse("deploy/web").unwrap()
}

/// A Deployment with containers app and sidecar and, optionally, our earlier apply of `spc`
/// `other` mounted in app.
fn live(with_ours: bool) -> Value {
    let mut d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "team", "managedFields": []},
        "spec": {"template": {"spec": {
            "volumes": [{"name": "data", "emptyDir": {}}],
            "containers": [
                {"name": "app", "image": "app", "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
                {"name": "sidecar", "image": "side"}
            ]
        }}}
    });
    if with_ours {
        let pod = &mut d["spec"]["template"]["spec"];
        pod["volumes"]
            .as_array_mut()
            .unwrap()
            .push(csi_volume("secrets-other", "other"));
        pod["containers"][0]["volumeMounts"].as_array_mut().unwrap().push(
            json!({"name": "secrets-other", "mountPath": "/mnt/secrets/other", "readOnly": true}),
        );
        d["metadata"]["managedFields"] = json!([{
            "manager": "kubectl-secrets", "operation": "Apply", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:template": {"f:spec": {
                "f:volumes": {"k:{\"name\":\"secrets-other\"}": {".": {}, "f:name": {}, "f:csi": {}}},
                "f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:name": {}, "f:volumeMounts": {
                    "k:{\"mountPath\":\"/mnt/secrets/other\"}": {".": {}, "f:name": {}}
                }}}
            }}}}
        }]);
    }
    d
}

fn want(path: &str, containers: &[&str]) -> Want {
    Want {
        mount_path: path.to_owned(),
        containers: containers.iter().map(|c| (*c).to_owned()).collect(),
    }
}

#[test]
fn workloads_parse_as_kubectl_names_them() {
    for (text, kind) in [
        ("deployment/web", Kind::Deployment),
        ("deployments.apps/web", Kind::Deployment),
        ("sts/db", Kind::StatefulSet),
        ("DaemonSet/agent", Kind::DaemonSet),
    ] {
        assert_eq!(WorkloadRef::parse(text).unwrap().kind, kind, "{text}");
    }
    assert!(
        WorkloadRef::parse("web")
            .unwrap_err()
            .contains("not KIND/NAME")
    );
    assert!(
        WorkloadRef::parse("pod/web")
            .unwrap_err()
            .contains("not a kind")
    );
    assert!(WorkloadRef::parse("deploy/Web_1").is_err());
}

#[test]
fn a_first_mount_carries_only_our_fields_in_every_container() {
    let plan = plan(
        &live(false),
        &web(),
        "web-secrets",
        Some(&want("/mnt/s", &[])),
    )
    .unwrap();
    assert!(!plan.had);
    assert_eq!(plan.containers, ["app", "sidecar"]);
    let mount = json!([{"name": "secrets-web-secrets", "mountPath": "/mnt/s", "readOnly": true}]);
    assert_eq!(
        plan.config,
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "team"},
            "spec": {"template": {"spec": {
                "volumes": [csi_volume("secrets-web-secrets", "web-secrets")],
                "containers": [
                    {"name": "app", "volumeMounts": mount},
                    {"name": "sidecar", "volumeMounts": mount}
                ]
            }}}
        })
    );
}

#[test]
fn other_mounts_of_ours_are_kept_and_removal_drops_only_this_one() {
    let current = live(true);
    assert_eq!(owned(&current).volumes.len(), 1);
    let plan_add = plan(
        &current,
        &web(),
        "web-secrets",
        Some(&want("/mnt/s", &["sidecar"])),
    )
    .unwrap();
    let pod = &plan_add.config["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"].as_array().unwrap().len(), 2);
    assert_eq!(pod["containers"][0]["name"], "app");
    assert_eq!(
        pod["containers"][0]["volumeMounts"][0]["name"],
        "secrets-other"
    );
    assert_eq!(
        pod["containers"][1]["volumeMounts"][0]["name"],
        "secrets-web-secrets"
    );

    let removed = plan(&current, &web(), "other", None).unwrap();
    assert!(removed.had);
    assert!(removed.config.get("spec").is_none(), "{}", removed.config);
    let untouched = plan(&current, &web(), "web-secrets", None).unwrap();
    assert!(!untouched.had);
    assert_eq!(
        untouched.config["spec"]["template"]["spec"]["volumes"][0]["name"],
        "secrets-other"
    );
}

#[test]
fn foreign_volumes_mount_paths_and_unknown_containers_are_refused() {
    let mut current = live(false);
    current["spec"]["template"]["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "secrets-web-secrets", "secret": {"secretName": "x"}}));
    let err = plan(&current, &web(), "web-secrets", Some(&want("/mnt/s", &[]))).unwrap_err();
    assert!(
        err.contains("already has a volume named secrets-web-secrets"),
        "{err}"
    );

    let err = plan(
        &live(false),
        &web(),
        "web-secrets",
        Some(&want("/data", &[])),
    )
    .unwrap_err();
    assert!(
        err.contains("container app of deployment/web already mounts volume data at /data"),
        "{err}"
    );

    let err = plan(
        &live(true),
        &web(),
        "s",
        Some(&want("/mnt/secrets/other", &["app"])),
    )
    .unwrap_err();
    assert!(err.contains("already mounts volume secrets-other"), "{err}");

    let err = plan(&live(false), &web(), "s", Some(&want("/m", &["nope"]))).unwrap_err();
    assert!(
        err.contains("no container \"nope\" (its containers: app, sidecar)"),
        "{err}"
    );

    assert!(volume_name("a.b").is_err());
    assert!(volume_name(&"x".repeat(60)).is_err());
}

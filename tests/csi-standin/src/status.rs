//! The SecretProviderClassPodStatus the driver records after a successful mount: named
//! `<pod>-<namespace>-<spc>` in the pod's namespace, owned by the Pod (so it goes with it),
//! labelled with the node, `status` listing the mounted objects' versions by id. Created, or
//! (on a remount) replaced with the new status.

use kube::api::{Api, DynamicObject, PostParams};
use serde_json::json;

use crate::crds;
use crate::request::PodInfo;

/// The label carrying the node name.
pub const NODE_NAME_LABEL: &str = "internal.secrets-store.csi.k8s.io/node-name";

/// The driver's name for a pod's status object.
pub fn pod_status_name(pod: &str, namespace: &str, spc: &str) -> String {
    format!("{pod}-{namespace}-{spc}")
}

/// The status object for one mount (pure). `versions` are sorted by id, as the driver does.
pub fn pod_status_object(
    pod: &PodInfo,
    spc: &str,
    node_name: &str,
    target_path: &str,
    versions: &[(String, String)],
) -> Result<DynamicObject, serde_json::Error> {
    let mut objects: Vec<_> = versions.to_vec();
    objects.sort();
    let objects: Vec<_> = objects
        .iter()
        .map(|(id, version)| json!({"id": id, "version": version}))
        .collect();
    let resource = crds::pod_status();
    serde_json::from_value(json!({
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {
            "name": pod_status_name(&pod.name, &pod.namespace, spc),
            "namespace": pod.namespace,
            "labels": {NODE_NAME_LABEL: node_name},
            "ownerReferences": [{
                "apiVersion": "v1", "kind": "Pod", "name": pod.name, "uid": pod.uid,
            }],
        },
        "status": {
            "podName": pod.name,
            "secretProviderClassName": spc,
            "mounted": true,
            "targetPath": target_path,
            "objects": objects,
        },
    }))
}

/// Creates the status object, or replaces the status (and node label) of the existing one.
pub async fn record(client: &kube::Client, desired: DynamicObject) -> Result<(), kube::Error> {
    let namespace = desired.metadata.namespace.clone().unwrap_or_default();
    let name = desired.metadata.name.clone().unwrap_or_default();
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &namespace, &crds::pod_status());
    match api.create(&PostParams::default(), &desired).await {
        Ok(_) => return Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(err) => return Err(err),
    }
    let mut current = api.get(&name).await?;
    current.data["status"] = desired.data["status"].clone();
    if let Some(labels) = desired.metadata.labels {
        current
            .metadata
            .labels
            .get_or_insert_default()
            .extend(labels);
    }
    api.replace(&name, &PostParams::default(), &current).await?;
    Ok(())
}

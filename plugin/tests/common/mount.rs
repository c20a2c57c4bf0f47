//! Fixtures for the mount commands: the sync fixtures (kube-standin, a real OpenBao holding
//! `secret/app/db` and `secret/app/config`, the SecretStore `team/vault`, the person's token)
//! plus the Secrets Store CSI Driver's CRDs (`test_support::install_csi_crds`), the SealedSecret
//! CRD, and a Deployment `team/web` (containers `app` and `sidecar`, an `emptyDir` volume
//! mounted in `app`) applied server-side by the field manager `gitops`, as a GitOps tool
//! would; `kubectl_create` makes workloads with a plain POST instead.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt as _;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use secrets_core::api::sealed_secret::SealedSecret;
use serde_json::{Value, json};

use super::sync::SyncEnv;

pub struct MountEnv {
    pub env: SyncEnv,
}

/// The resource of an `apiVersion`/`kind` the tests use.
pub fn resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    match kind {
        "SecretProviderClassPodStatus" => {
            ApiResource::from_gvk_with_plural(&gvk, "secretproviderclasspodstatuses")
        }
        "SecretProviderClass" => ApiResource::from_gvk_with_plural(&gvk, "secretproviderclasses"),
        _ => ApiResource::from_gvk(&gvk),
    }
}

/// `(apiVersion, kind)` of a short name the tests use.
fn kind_of(short: &str) -> (&'static str, &'static str) {
    match short {
        "deployment" => ("apps/v1", "Deployment"),
        "statefulset" => ("apps/v1", "StatefulSet"),
        "daemonset" => ("apps/v1", "DaemonSet"),
        "spc" => ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass"),
        "spcps" => (
            "secrets-store.csi.x-k8s.io/v1",
            "SecretProviderClassPodStatus",
        ),
        "sealedsecret" => ("kubectl-secrets.io/v1alpha1", "SealedSecret"),
        other => panic!("no kind for {other}"),
    }
}

/// A Deployment's apply configuration with the given containers (name, image) and `extra`
/// merged into its pod spec.
pub fn deployment(name: &str, containers: &[&str], pod_extra: Value) -> Value {
    let containers: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "image": format!("example/{c}:1")}))
        .collect();
    let mut pod = json!({"containers": containers});
    if let (Some(pod), Some(extra)) = (pod.as_object_mut(), pod_extra.as_object()) {
        for (k, v) in extra {
            pod.insert(k.clone(), v.clone());
        }
    }
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod}
        }
    })
}

impl MountEnv {
    pub fn start() -> MountEnv {
        let env = SyncEnv::start();
        test_support::install_csi_crds(&env.cluster);
        env.rt.block_on(async {
            Api::<CustomResourceDefinition>::all(env.client.clone())
                .create(&PostParams::default(), &SealedSecret::crd())
                .await
                .unwrap();
        });
        let me = MountEnv { env };
        let mut web = deployment(
            "web",
            &["app", "sidecar"],
            json!({"volumes": [{"name": "data", "emptyDir": {}}]}),
        );
        web["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
            json!([{"name": "data", "mountPath": "/data"}]);
        me.apply_as("gitops", "team", web);
        me
    }

    /// Server-side apply `body` as field manager `manager` into `namespace`.
    pub fn apply_as(&self, manager: &str, namespace: &str, body: Value) -> Value {
        let ar = resource(
            body["apiVersion"].as_str().unwrap(),
            body["kind"].as_str().unwrap(),
        );
        let name = body["metadata"]["name"].as_str().unwrap().to_owned();
        self.env.rt.block_on(async {
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.env.client.clone(), namespace, &ar);
            let stored = api
                .patch(
                    &name,
                    &PatchParams::apply(manager).force(),
                    &Patch::Apply(&body),
                )
                .await
                .unwrap();
            serde_json::to_value(stored).unwrap()
        })
    }

    /// Create `body` in `namespace` with a plain POST by the real `kubectl create -f` (field
    /// manager `kubectl-create`, no server-side apply), as someone without GitOps would.
    pub fn kubectl_create(&self, namespace: &str, body: &Value) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("object.json");
        std::fs::write(&file, body.to_string()).unwrap();
        self.env
            .cluster
            .kubectl_ok(&["create", "-n", namespace, "-f", file.to_str().unwrap()]);
    }

    /// The object of `short` kind (`deployment`, `spc`, `spcps`, `sealedsecret`, …).
    pub fn get(&self, short: &str, namespace: &str, name: &str) -> Option<Value> {
        let (api_version, kind) = kind_of(short);
        let ar = resource(api_version, kind);
        self.env.rt.block_on(async {
            Api::<DynamicObject>::namespaced_with(self.env.client.clone(), namespace, &ar)
                .get_opt(name)
                .await
                .unwrap()
                .map(|o| serde_json::to_value(o).unwrap())
        })
    }

    /// Create any object of a kind [`kind_of`] knows, with kube-rs.
    pub fn create(&self, namespace: &str, body: Value) {
        let ar = resource(
            body["apiVersion"].as_str().unwrap(),
            body["kind"].as_str().unwrap(),
        );
        self.env.rt.block_on(async {
            let object: DynamicObject = serde_json::from_value(body).unwrap();
            Api::<DynamicObject>::namespaced_with(self.env.client.clone(), namespace, &ar)
                .create(&PostParams::default(), &object)
                .await
                .unwrap();
        });
    }

    /// A SealedSecret with (fake) ciphertext for `keys`, annotated mount-only or not.
    pub fn sealed_secret(&self, namespace: &str, name: &str, keys: &[&str], mount_only: bool) {
        let data: serde_json::Map<String, Value> = keys
            .iter()
            .map(|k| ((*k).to_owned(), json!("AgBfakeciphertext")))
            .collect();
        let mut body = json!({
            "apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "SealedSecret",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"encryptedData": data}
        });
        if mount_only {
            body["metadata"]["annotations"] = json!({"kubectl-secrets.io/mount-only": "true"});
        }
        self.create(namespace, body);
    }
}

/// `resourceVersion` of an object.
pub fn rv(object: &Value) -> String {
    object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The pod spec of a workload.
pub fn pod(object: &Value) -> &Value {
    &object["spec"]["template"]["spec"]
}

//! Collecting for the encryption checks: the server version, nodes, `kube-system` pods (the
//! API servers' mirror pods carry their flags), kubeadm's ConfigMap, OpenShift's APIServer
//! object, and the API server's own `/readyz?verbose` and `/metrics`. Each is read on its
//! own; what the person may not read becomes `Unavailable` with the reason, never a pass.

use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use kube::Api;
use kube::api::{DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use secrets_core::audit::Collected;
use secrets_core::audit::encryption::ClusterFacts;

use super::short_error;
use crate::cluster::{Cluster, is_not_found};

/// The body of `GET path`. `/readyz` answers 500 when a check fails, with the verbose list
/// still in the body: that body is the evidence, so a 500 whose body lists checks counts.
async fn text(cluster: &Cluster, path: &str) -> Collected<String> {
    use http_body_util::BodyExt as _;
    let request = match http::Request::get(path).body(kube::client::Body::from(Vec::new())) {
        Ok(request) => request,
        Err(err) => return Collected::Unavailable(format!("GET {path}: {err}")),
    };
    let response = match cluster.client.send(request).await {
        Ok(response) => response,
        Err(err) => return Collected::Unavailable(format!("GET {path}: {}", short_error(&err))),
    };
    let status = response.status();
    let body = match response.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(err) => return Collected::Unavailable(format!("GET {path}: {}", short_error(&err))),
    };
    let text = String::from_utf8_lossy(&body).into_owned();
    let lists_checks = text
        .lines()
        .any(|l| l.starts_with("[+]") || l.starts_with("[-]"));
    if status.is_success() || (status.is_server_error() && lists_checks) {
        Collected::Got(text)
    } else {
        Collected::Unavailable(format!("GET {path}: {status}"))
    }
}

pub(crate) async fn facts(cluster: &Cluster) -> ClusterFacts {
    let client = cluster.client.clone();
    let server_version = match client.apiserver_version().await {
        Ok(info) => Collected::Got(info.git_version),
        Err(err) => Collected::Unavailable(format!("GET /version: {}", short_error(&err))),
    };
    let nodes: Api<Node> = Api::all(client.clone());
    let nodes = match nodes.list(&ListParams::default()).await {
        Ok(list) => Collected::Got(list.items),
        Err(err) => Collected::Unavailable(format!("list nodes: {}", short_error(&err))),
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    let kube_system_pods = match pods.list(&ListParams::default()).await {
        Ok(list) => Collected::Got(list.items),
        Err(err) => {
            Collected::Unavailable(format!("list pods in kube-system: {}", short_error(&err)))
        }
    };
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
    let kubeadm_config = match maps.get_opt("kubeadm-config").await {
        Ok(map) => Collected::Got(map),
        Err(err) => Collected::Unavailable(format!(
            "get configmap kube-system/kubeadm-config: {}",
            short_error(&err)
        )),
    };
    let openshift = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("config.openshift.io", "v1", "APIServer"),
        "apiservers",
    );
    let servers: Api<DynamicObject> = Api::all_with(client.clone(), &openshift);
    let openshift_apiserver = match servers.get_opt("cluster").await {
        Ok(found) => Collected::Got(found.and_then(|o| serde_json::to_value(o).ok())),
        Err(err) if is_not_found(&err) => Collected::Got(None),
        Err(err) => Collected::Unavailable(format!("get apiserver cluster: {}", short_error(&err))),
    };
    ClusterFacts {
        server_version,
        nodes,
        kube_system_pods,
        kubeadm_config,
        openshift_apiserver,
        readyz: text(cluster, "/readyz?verbose").await,
        metrics: text(cluster, "/metrics").await,
    }
}

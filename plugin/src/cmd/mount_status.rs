//! `mount status [-n NS | -A]`: our SecretProviderClasses, who mounts them, and the driver's
//! per-pod records.
//!
//! Flow: connect → list SecretProviderClasses (`-n`, else the context's namespace, or every
//! namespace) and keep those with `spec.provider: kubectl-secrets` → list Deployments,
//! StatefulSets and DaemonSets in the same scope, and the driver's
//! SecretProviderClassPodStatus objects (none when the driver's CRD is not installed) → one
//! [`Row`] per SecretProviderClass (pure: [`rows`]): its store and file count (from its
//! parameters, read with the provider's own `MountSpec::from_parameters`), the workloads whose
//! pod template has a CSI volume naming it, and its pods' mount records → a table on stdout
//! (NAMESPACE with -A, NAME, STORE, FILES, WORKLOADS, PODS MOUNTED) or, with `-o json|yaml`,
//! the rows themselves.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context as _;
use kube::api::{Api, DynamicObject, ListParams};
use secrets_core::mount::params::{MountSpec, StoreKind};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{GlobalFlags, MountStatusArgs};
use crate::cluster::{self, Cluster, api_error, is_not_found};
use crate::mount::spc;
use crate::mount::workload::{self, Kind};
use crate::output::{emit, render, table};

/// One SecretProviderClass; also the `-o json|yaml` shape.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Row {
    namespace: String,
    name: String,
    store: Option<String>,
    store_kind: Option<&'static str>,
    files: usize,
    /// Why the parameters cannot be used, when they cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    invalid: Option<String>,
    workloads: Vec<String>,
    pods: Vec<PodMount>,
}

/// One SecretProviderClassPodStatus.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct PodMount {
    pod: String,
    mounted: bool,
    objects: usize,
}

pub(crate) fn run(global: &GlobalFlags, args: MountStatusArgs) -> anyhow::Result<ExitCode> {
    let all = args.all_namespaces;
    let (rows, scope) = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let ns = cluster.namespace.clone();
        let scope = if all {
            "any namespace".to_owned()
        } else {
            format!("namespace {ns}")
        };
        let spcs = match list(&cluster, &spc::resource(), all).await {
            Ok(items) => items,
            Err(err) if is_not_found(&err) => anyhow::bail!(
                "the SecretProviderClass resource (secrets-store.csi.x-k8s.io/v1) is not served in {}: \
                 install the Secrets Store CSI Driver first",
                cluster.describe
            ),
            Err(err) => {
                return Err(api_error(err)).with_context(|| {
                    format!("listing SecretProviderClasses in {}", cluster.describe)
                });
            }
        };
        let mut workloads = Vec::new();
        for kind in Kind::ALL {
            let resource = kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
                "apps",
                "v1",
                kind.as_str(),
            ));
            let items = list(&cluster, &resource, all)
                .await
                .map_err(api_error)
                .with_context(|| format!("listing {}s in {scope}", kind.word()))?;
            workloads.extend(items.into_iter().map(|item| (kind, item)));
        }
        let pods = match list(&cluster, &spc::pod_status_resource(), all).await {
            Ok(items) => items,
            Err(err) if is_not_found(&err) => Vec::new(),
            Err(err) => {
                return Err(api_error(err))
                    .with_context(|| format!("listing SecretProviderClassPodStatuses in {scope}"));
            }
        };
        Ok((rows(&spcs, &workloads, &pods), scope))
    })?;
    if let Some(format) = args.output {
        emit(&render(&rows, format)?, None)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no SecretProviderClasses of the kubectl-secrets provider in {scope}");
        return Ok(ExitCode::SUCCESS);
    }
    emit(&table(&cells(&rows, all)), None)?;
    Ok(ExitCode::SUCCESS)
}

/// Every object of `resource` in the context's namespace or (`all`) every namespace, as JSON.
async fn list(
    cluster: &Cluster,
    resource: &kube::core::ApiResource,
    all: bool,
) -> Result<Vec<Value>, kube::Error> {
    let api: Api<DynamicObject> = if all {
        Api::all_with(cluster.client.clone(), resource)
    } else {
        Api::namespaced_with(cluster.client.clone(), &cluster.namespace, resource)
    };
    let list = api.list(&ListParams::default()).await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|item| serde_json::to_value(item).ok())
        .collect())
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn rows(spcs: &[Value], workloads: &[(Kind, Value)], pods: &[Value]) -> Vec<Row> {
    let mut users: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (kind, item) in workloads {
        let ns = text(&item["metadata"]["namespace"]);
        let name = text(&item["metadata"]["name"]);
        let volumes = item["spec"]["template"]["spec"]["volumes"].as_array();
        for volume in volumes.into_iter().flatten() {
            if let Some(spc) = workload::spc_of(volume) {
                users
                    .entry((ns.clone(), spc.to_owned()))
                    .or_default()
                    .push(format!("{}/{name}", kind.word()));
            }
        }
    }
    let mut mounts: BTreeMap<(String, String), Vec<PodMount>> = BTreeMap::new();
    for pod in pods {
        let status = &pod["status"];
        mounts
            .entry((
                text(&pod["metadata"]["namespace"]),
                text(&status["secretProviderClassName"]),
            ))
            .or_default()
            .push(PodMount {
                pod: text(&status["podName"]),
                mounted: status["mounted"].as_bool().unwrap_or(false),
                objects: status["objects"].as_array().map_or(0, Vec::len),
            });
    }
    let mut out: Vec<Row> = spcs
        .iter()
        .filter(|s| spc::is_for_our_provider(s))
        .map(|s| {
            let key = (
                text(&s["metadata"]["namespace"]),
                text(&s["metadata"]["name"]),
            );
            let parameters: BTreeMap<String, String> =
                serde_json::from_value(s["spec"]["parameters"].clone()).unwrap_or_default();
            let (store, store_kind, files, invalid) = match MountSpec::from_parameters(&parameters)
            {
                Ok(spec) => (
                    spec.store.as_ref().map(|s| s.name.clone()),
                    spec.store.as_ref().map(|s| s.kind.as_str()),
                    spec.objects.len(),
                    None,
                ),
                Err(err) => (None, None, 0, Some(err.to_string())),
            };
            let mut pods = mounts.remove(&key).unwrap_or_default();
            pods.sort_by(|a, b| a.pod.cmp(&b.pod));
            Row {
                workloads: users.remove(&key).unwrap_or_default(),
                namespace: key.0,
                name: key.1,
                store,
                store_kind,
                files,
                invalid,
                pods,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

/// The table's cells, header first.
fn cells(rows: &[Row], namespaces: bool) -> Vec<Vec<String>> {
    let mut header = vec!["NAME", "STORE", "FILES", "WORKLOADS", "PODS MOUNTED"];
    if namespaces {
        header.insert(0, "NAMESPACE");
    }
    let mut out = vec![header.into_iter().map(str::to_owned).collect::<Vec<_>>()];
    for row in rows {
        let store = match (&row.store, row.store_kind) {
            (Some(name), Some(kind)) if kind != StoreKind::SecretStore.as_str() => {
                format!("{kind}/{name}")
            }
            (Some(name), _) => name.clone(),
            (None, _) if row.invalid.is_some() => "(invalid parameters)".to_owned(),
            (None, _) => "-".to_owned(),
        };
        let workloads = if row.workloads.is_empty() {
            "-".to_owned()
        } else {
            row.workloads.join(",")
        };
        let pods = if row.pods.is_empty() {
            "-".to_owned()
        } else {
            format!(
                "{}/{}",
                row.pods.iter().filter(|p| p.mounted).count(),
                row.pods.len()
            )
        };
        let mut line = vec![
            row.name.clone(),
            store,
            row.files.to_string(),
            workloads,
            pods,
        ];
        if namespaces {
            line.insert(0, row.namespace.clone());
        }
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rows_join_classes_workloads_and_pod_records() {
        let spc = |ns: &str, name: &str, provider: &str| {
            json!({"metadata": {"namespace": ns, "name": name}, "spec": {"provider": provider,
                "parameters": {"store": "vault", "storeKind": "ClusterSecretStore",
                               "objects": "- path: a\n  remoteRef: {key: k}\n"}}})
        };
        let spcs = [
            spc("team", "web-secrets", "kubectl-secrets"),
            spc("team", "az", "azure"),
        ];
        let deploy = json!({"metadata": {"namespace": "team", "name": "web"}, "spec": {"template":
            {"spec": {"volumes": [{"name": "v", "csi": {"driver": "secrets-store.csi.k8s.io",
                "volumeAttributes": {"secretProviderClass": "web-secrets"}}}]}}}});
        let pod = json!({"metadata": {"namespace": "team"}, "status": {"podName": "web-1",
            "secretProviderClassName": "web-secrets", "mounted": true, "objects": [{"id": "a"}]}});
        let rows = rows(&spcs, &[(Kind::Deployment, deploy)], &[pod]);
        assert_eq!(rows.len(), 1, "the azure class is not ours");
        assert_eq!(rows[0].workloads, ["deployment/web"]);
        assert_eq!(
            rows[0].pods,
            [PodMount {
                pod: "web-1".into(),
                mounted: true,
                objects: 1
            }]
        );
        let table = cells(&rows, true);
        assert_eq!(
            table[1],
            [
                "team",
                "web-secrets",
                "ClusterSecretStore/vault",
                "1",
                "deployment/web",
                "1/1"
            ]
        );
    }
}

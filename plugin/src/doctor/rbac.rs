//! Collecting for the RBAC checks: the four RBAC kinds, our sealing-key Secrets and legacy
//! token Secrets (metadata only: no value is ever fetched), our agent's service accounts; then
//! SubjectAccessReviews to confirm the readers the checks found.

use std::collections::BTreeSet;

use futures::future::join_all;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Api;
use kube::api::{ListParams, PostParams};
use secrets_core::audit::rbac::{self, AuditConfig, RbacObjects, SecretRef, ServiceAccountRef};
use secrets_core::audit::{Finding, Status};
use secrets_core::seal::keys::{BITNAMI_KEY_LABEL, KEY_LABEL};
use serde::de::DeserializeOwned;

use super::short_error;
use crate::cli::GlobalFlags;
use crate::cluster::Cluster;

/// How many readers are confirmed by SubjectAccessReview at most: each is one API call.
const CONFIRM_AT_MOST: usize = 100;

async fn list_all<K>(cluster: &Cluster, what: &str, missing: &mut Vec<String>) -> Vec<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let api: Api<K> = Api::all(cluster.client.clone());
    match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(err) => {
            missing.push(format!("list {what}: {}", short_error(&err)));
            Vec::new()
        }
    }
}

/// The Secrets matching `params` in `namespace` (or every namespace), by name only.
async fn secret_names(
    cluster: &Cluster,
    namespace: Option<&str>,
    params: &ListParams,
) -> Result<Vec<SecretRef>, String> {
    let api: Api<Secret> = match namespace {
        Some(ns) => Api::namespaced(cluster.client.clone(), ns),
        None => Api::all(cluster.client.clone()),
    };
    let list = api
        .list_metadata(params)
        .await
        .map_err(|e| short_error(&e))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|s| {
            Some(SecretRef {
                namespace: s.metadata.namespace?,
                name: s.metadata.name?,
            })
        })
        .collect())
}

/// The service accounts our agent's pods run as; the chart's default when they cannot be read.
async fn agent_accounts(cluster: &Cluster, global: &GlobalFlags) -> Vec<ServiceAccountRef> {
    let ns = global.agent_namespace.as_str();
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let params = ListParams::default().labels("app.kubernetes.io/part-of=kubectl-secrets");
    let mut accounts: BTreeSet<ServiceAccountRef> = BTreeSet::new();
    if let Ok(pods) = api.list(&params).await {
        for pod in pods.items {
            if let Some(sa) = pod.spec.and_then(|s| s.service_account_name) {
                accounts.insert(ServiceAccountRef {
                    namespace: ns.to_owned(),
                    name: sa,
                });
            }
        }
    }
    if accounts.is_empty() {
        accounts.insert(ServiceAccountRef {
            namespace: ns.to_owned(),
            name: global.agent_service.clone(),
        });
    }
    accounts.into_iter().collect()
}

/// Collect, run the RBAC checks, confirm readers.
pub(crate) async fn audit(cluster: &Cluster, global: &GlobalFlags) -> Vec<Finding> {
    let mut missing = Vec::new();
    let objects = RbacObjects {
        roles: list_all::<Role>(cluster, "roles", &mut missing).await,
        cluster_roles: list_all::<ClusterRole>(cluster, "clusterroles", &mut missing).await,
        role_bindings: list_all::<RoleBinding>(cluster, "rolebindings", &mut missing).await,
        cluster_role_bindings: list_all::<ClusterRoleBinding>(
            cluster,
            "clusterrolebindings",
            &mut missing,
        )
        .await,
    };
    let agent_ns = global.agent_namespace.as_str();
    let mut sealing_keys = Vec::new();
    for label in [KEY_LABEL, BITNAMI_KEY_LABEL] {
        let params = ListParams::default().labels(label);
        match secret_names(cluster, Some(agent_ns), &params).await {
            Ok(found) => sealing_keys.extend(found),
            Err(why) => missing.push(format!("list secrets in {agent_ns}: {why}")),
        }
    }
    let tokens = ListParams::default().fields("type=kubernetes.io/service-account-token");
    let token_secrets = match secret_names(cluster, None, &tokens).await {
        Ok(found) => found,
        Err(why) => {
            missing.push(format!("list service-account token secrets: {why}"));
            Vec::new()
        }
    };
    missing.dedup();
    let config = AuditConfig {
        agent_namespace: Some(agent_ns.to_owned()),
        agent_service_accounts: agent_accounts(cluster, global).await,
        default_namespace: cluster.namespace.clone(),
        sealing_keys,
        token_secrets,
    };
    let mut findings = rbac::audit(&objects, &config);
    findings.extend(rbac::visibility(&missing));
    confirm(cluster, &mut findings).await;
    findings
}

/// The review that asks whether `finding`'s subject may list Secrets in its scope.
fn review(finding: &Finding) -> Option<SubjectAccessReview> {
    let subject = &finding.subject;
    let (user, groups) = match subject.kind.as_str() {
        "User" => (Some(subject.name.clone()), None),
        "Group" => (None, Some(vec![subject.name.clone()])),
        "ServiceAccount" => {
            let ns = subject.namespace.as_deref()?;
            (
                Some(format!("system:serviceaccount:{ns}:{}", subject.name)),
                Some(vec![
                    "system:serviceaccounts".to_owned(),
                    format!("system:serviceaccounts:{ns}"),
                    "system:authenticated".to_owned(),
                ]),
            )
        }
        _ => return None,
    };
    let verb = if finding.message.contains("list") {
        "list"
    } else {
        "get"
    };
    Some(SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user,
            groups,
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.to_owned()),
                resource: Some("secrets".to_owned()),
                namespace: finding.scope.namespace().map(str::to_owned),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    })
}

/// Add the API server's own answer to each failing reader finding's `via`. The checks never
/// depend on it: a refused or failed review leaves the finding as the RBAC evaluation made it.
async fn confirm(cluster: &Cluster, findings: &mut [Finding]) {
    let api: Api<SubjectAccessReview> = Api::all(cluster.client.clone());
    let candidates: Vec<usize> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            matches!(f.id.as_str(), "RBAC010" | "RBAC011" | "RBAC012") && f.status == Status::Fail
        })
        .map(|(i, _)| i)
        .take(CONFIRM_AT_MOST)
        .collect();
    let asks = candidates.iter().map(|&i| {
        let api = api.clone();
        let review = review(&findings[i]);
        async move {
            let review = review?;
            let answer = api.create(&PostParams::default(), &review).await.ok()?;
            answer.status.map(|s| s.allowed)
        }
    });
    let answers = join_all(asks).await;
    for (i, answer) in candidates.into_iter().zip(answers) {
        let note = match answer {
            Some(true) => "confirmed by a SubjectAccessReview",
            Some(false) => {
                "a SubjectAccessReview says no: the binding may be newer than the authorizer's cache, or another authorizer denies first"
            }
            None => continue,
        };
        findings[i].via.push(note.to_owned());
    }
}

//! Are the CustomResourceDefinitions this agent watches installed? Every replica checks, so
//! readiness means the same on followers as on the leader.
//!
//! Data flow: [`watched`] names the resources (ours, ESO's, and Bitnami's in compat mode) →
//! [`check_crds`] lists each (at most one object) every [`MISSING_EVERY`] while any is
//! missing and every [`PRESENT_EVERY`] once all are there; a 404 means the CRD is not
//! installed. Each change of a CRD's state is logged once (a warning naming it when it goes
//! missing, info when it appears), and the names of the missing ones are published for
//! `/readyz`, which answers 503 naming them until the list is empty. The watches themselves
//! retry on [`crate::runtime::WatchBackoff`], so they run within seconds of the CRD appearing.

use std::collections::BTreeSet;
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::core::Resource;
use secrets_core::api::sealed_secret::{BitnamiSealedSecret, SealedSecret};
use secrets_core::api::{ClusterSecretStore, ExternalSecret, SecretStore};
use tokio::sync::watch;

use crate::telemetry::error_chain;

/// How often the CRDs are checked while one is missing.
pub const MISSING_EVERY: Duration = Duration::from_secs(1);
/// How often they are checked once all are installed (to notice one being deleted).
pub const PRESENT_EVERY: Duration = Duration::from_secs(30);

/// One watched resource and the name of its CRD (`<plural>.<group>`).
#[derive(Debug, Clone)]
pub struct Watched {
    /// `<plural>.<group>`, as `kubectl get crd` names it.
    pub crd: String,
    resource: ApiResource,
}

fn of<K: Resource<DynamicType = ()>>() -> Watched {
    let resource = ApiResource::erase::<K>(&());
    Watched {
        crd: format!("{}.{}", resource.plural, resource.group),
        resource,
    }
}

/// The resources the agent watches with these flags.
pub fn watched(bitnami_compat: bool) -> Vec<Watched> {
    let mut all = vec![
        of::<SealedSecret>(),
        of::<ExternalSecret>(),
        of::<SecretStore>(),
        of::<ClusterSecretStore>(),
    ];
    if bitnami_compat {
        all.push(of::<BitnamiSealedSecret>());
    }
    all
}

/// Check forever, publishing the missing CRDs' names (sorted) on `missing`; `None` there means
/// not checked yet.
pub async fn check_crds(
    client: kube::Client,
    watched: Vec<Watched>,
    missing: watch::Sender<Option<Vec<String>>>,
) {
    let mut absent: BTreeSet<String> = BTreeSet::new();
    loop {
        for resource in &watched {
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource.resource);
            match api.list(&ListParams::default().limit(1)).await {
                Ok(_) => {
                    if absent.remove(&resource.crd) {
                        tracing::info!(crd = %resource.crd, "custom resource definition installed");
                    }
                }
                Err(err @ kube::Error::Api(_)) if is_not_found(&err) => {
                    if absent.insert(resource.crd.clone()) {
                        tracing::warn!(
                            crd = %resource.crd,
                            error = %error_chain(&err),
                            "custom resource definition not installed: its objects are not \
                             watched, and the agent is not ready until it is"
                        );
                    }
                }
                // Not an answer about the CRD (API server unreachable, …): keep what we knew.
                Err(err) => tracing::debug!(
                    crd = %resource.crd,
                    error = %error_chain(&err),
                    "checking a custom resource definition"
                ),
            }
        }
        let now: Vec<String> = absent.iter().cloned().collect();
        missing.send_if_modified(|published| {
            let changed = published.as_ref() != Some(&now);
            *published = Some(now.clone());
            changed
        });
        let wait = if absent.is_empty() {
            PRESENT_EVERY
        } else {
            MISSING_EVERY
        };
        tokio::time::sleep(wait).await;
    }
}

fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 404)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_the_shipped_crds_bitnami_only_in_compat() {
        let names = |compat| {
            let mut names: Vec<String> = watched(compat).into_iter().map(|w| w.crd).collect();
            names.sort_unstable();
            names
        };
        let mut shipped: Vec<String> = secrets_core::api::crds::all()
            .into_iter()
            .filter_map(|crd| crd.metadata.name)
            .collect();
        shipped.sort_unstable();
        assert_eq!(names(true), shipped);
        let without: Vec<String> = shipped
            .into_iter()
            .filter(|n| n != "sealedsecrets.bitnami.com")
            .collect();
        assert_eq!(names(false), without);
    }
}

//! What a mount reads from, as whom: the SecretProviderClass the pod's volume names (in the
//! pod's namespace), and the store it names — a SecretStore in the pod's namespace, or a
//! ClusterSecretStore whose conditions admit that namespace; never a store of another
//! namespace — with the pod-identity login it allows.
//!
//! Data flow: GET SecretProviderClass (`secrets-store.csi.x-k8s.io/v1`, a dynamic object) →
//! its `spec.provider` and `spec.parameters`; GET SecretStore / ClusterSecretStore (+ GET
//! Namespace for a ClusterSecretStore's label conditions) → `validate::store_for_mount` →
//! `mount::identity::mount_auth` (shared credentials refused) → the CA: `caBundle` in the
//! spec, or a `caProvider` ConfigMap (the provider may read no Secret) → [`MountStore`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use secrets_core::api::{ClusterSecretStore, SecretStore, SecretStoreSpec};
use secrets_core::mount::PROVIDER_NAME;
use secrets_core::mount::identity::{MountAuth, MountLogin, mount_auth};
use secrets_core::mount::params::{StoreKind, StoreRef};
use secrets_core::store::ErrorKind;
use secrets_core::store::refs::{self, ObjectKind, Scope};
use secrets_core::sync::validate;

use super::failure::MountFailure;
use crate::secret_store::selector::namespace_admitted;

/// The SecretProviderClass API.
fn spc_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("secrets-store.csi.x-k8s.io", "v1", "SecretProviderClass"),
        "secretproviderclasses",
    )
}

fn api_failed(doing: String, err: &kube::Error) -> MountFailure {
    // A refusal by the API server is the provider's RBAC or a bad name; anything else may pass.
    let kind = match err {
        kube::Error::Api(status) if status.code == 403 => ErrorKind::PermissionDenied,
        kube::Error::Api(status) if status.code < 500 => ErrorKind::InvalidConfig,
        _ => ErrorKind::Unavailable,
    };
    MountFailure::new(
        kind,
        format!("{doing}: {}", crate::telemetry::error_chain(err)),
    )
}

/// The SecretProviderClass `name` in `namespace`: its parameters, after checking it is ours.
pub async fn read_spc(
    kube: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<BTreeMap<String, String>, MountFailure> {
    let api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), namespace, &spc_resource());
    let label = format!("SecretProviderClass {namespace}/{name}");
    let spc = api
        .get_opt(name)
        .await
        .map_err(|e| api_failed(format!("reading {label}"), &e))?
        .ok_or_else(|| {
            MountFailure::new(
                ErrorKind::InvalidConfig,
                format!("{label} not found (a SecretProviderClass must be in the pod's namespace)"),
            )
        })?;
    let spec = spc.data.get("spec");
    let provider = spec
        .and_then(|s| s.get("provider"))
        .and_then(|p| p.as_str())
        .unwrap_or_default();
    if provider != PROVIDER_NAME {
        return Err(MountFailure::new(
            ErrorKind::InvalidConfig,
            format!("{label} has spec.provider {provider:?}, not {PROVIDER_NAME:?}"),
        ));
    }
    let parameters = spec
        .and_then(|s| s.get("parameters"))
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    if parameters.is_null() {
        return Ok(BTreeMap::new());
    }
    serde_json::from_value(parameters).map_err(|_| {
        MountFailure::new(
            ErrorKind::InvalidConfig,
            format!("{label} spec.parameters is not a map of strings"),
        )
    })
}

/// A store a mount may read through.
pub struct MountStore {
    /// `SecretStore "vault"` or `ClusterSecretStore "vault"`: in messages.
    pub label: String,
    /// Unique among stores: `SecretStore team/vault`, `ClusterSecretStore vault`.
    pub id: String,
    /// The store object's uid and generation.
    pub version: String,
    /// Its spec.
    pub spec: SecretStoreSpec,
    /// How the pod logs in.
    pub auth: MountAuth,
    /// The CA a `caProvider` ConfigMap holds.
    pub ca_pem: Option<Vec<u8>>,
}

/// The store `store` names for a pod in `namespace`, with the SPC's `audience` and `awsAuth`.
pub async fn resolve_store(
    kube: &kube::Client,
    store: &StoreRef,
    namespace: &str,
    login: MountLogin<'_>,
) -> Result<MountStore, MountFailure> {
    let name = &store.name;
    let (label, id, meta, spec) = match store.kind {
        StoreKind::SecretStore => {
            let label = format!("SecretStore {name:?}");
            let found = Api::<SecretStore>::namespaced(kube.clone(), namespace)
                .get_opt(name)
                .await
                .map_err(|e| api_failed(format!("reading {label}"), &e))?
                .ok_or_else(|| {
                    MountFailure::new(
                        ErrorKind::InvalidConfig,
                        format!(
                            "{label} not found in namespace {namespace:?} (a mount uses a SecretStore \
                             of the pod's namespace, or a ClusterSecretStore with storeKind: \
                             ClusterSecretStore)"
                        ),
                    )
                })?;
            (
                label,
                format!("SecretStore {namespace}/{name}"),
                found.metadata,
                found.spec,
            )
        }
        StoreKind::ClusterSecretStore => {
            let label = format!("ClusterSecretStore {name:?}");
            let found = Api::<ClusterSecretStore>::all(kube.clone())
                .get_opt(name)
                .await
                .map_err(|e| api_failed(format!("reading {label}"), &e))?
                .ok_or_else(|| {
                    MountFailure::new(ErrorKind::InvalidConfig, format!("{label} not found"))
                })?;
            let spec = found.spec.inner;
            if spec.conditions.is_some() {
                let labels = Api::<Namespace>::all(kube.clone())
                    .get(namespace)
                    .await
                    .map_err(|e| api_failed(format!("reading namespace {namespace:?}"), &e))?
                    .metadata
                    .labels
                    .unwrap_or_default();
                if !namespace_admitted(&spec, namespace, &labels) {
                    return Err(MountFailure::new(
                        ErrorKind::PermissionDenied,
                        format!(
                            "{label} does not allow namespace {namespace:?} (see its spec.conditions)"
                        ),
                    )
                    .source(label));
                }
            }
            (
                label,
                format!("ClusterSecretStore {name}"),
                found.metadata,
                spec,
            )
        }
    };
    let cluster = store.kind == StoreKind::ClusterSecretStore;
    let invalid =
        |cause: String| MountFailure::new(ErrorKind::InvalidConfig, cause).source(label.clone());
    let problems = validate::store_for_mount(&spec, cluster);
    if !problems.is_empty() {
        return Err(invalid(format!(
            "the store is invalid: {}",
            problems.join("; ")
        )));
    }
    let auth = mount_auth(&spec, login)
        .map_err(|e| invalid(format!("the store cannot serve mounts: {e}")))?;
    let ca_pem = read_ca(kube, &spec, cluster, namespace, &label).await?;
    Ok(MountStore {
        version: crate::secret_store::store_version(&meta),
        label,
        id,
        spec,
        auth,
        ca_pem,
    })
}

/// The identity annotations of the pod's service account (IRSA's role ARN, Azure's client
/// id): the cloud stores log in with them.
pub async fn account_annotations(
    kube: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<BTreeMap<String, String>, MountFailure> {
    let label = format!("service account {namespace}/{name}");
    match Api::<ServiceAccount>::namespaced(kube.clone(), namespace)
        .get_opt(name)
        .await
    {
        Ok(Some(sa)) => Ok(sa.metadata.annotations.unwrap_or_default()),
        Ok(None) => Err(MountFailure::new(
            ErrorKind::Credentials,
            format!("{label} does not exist"),
        )),
        Err(e) => Err(api_failed(format!("reading {label}"), &e)),
    }
}

/// The `caProvider` bundle, from a ConfigMap only: the provider holds no right on Secrets.
async fn read_ca(
    kube: &kube::Client,
    spec: &SecretStoreSpec,
    cluster: bool,
    namespace: &str,
    label: &str,
) -> Result<Option<Vec<u8>>, MountFailure> {
    let Some(vault) = &spec.provider.vault else {
        return Ok(None);
    };
    let scope = if cluster {
        Scope::Cluster
    } else {
        Scope::Namespaced(namespace)
    };
    let ca = refs::ca_provider(vault, scope).map_err(|e| MountFailure::store(&e).source(label))?;
    let Some(ca) = ca else {
        return Ok(None);
    };
    if ca.kind == ObjectKind::Secret {
        return Err(MountFailure::new(
            ErrorKind::InvalidConfig,
            "spec.provider.vault.caProvider is a Secret, which the CSI provider may not read; \
             give the CA as caBundle or a caProvider of type ConfigMap",
        )
        .source(label));
    }
    crate::secret_store::read_ca(kube, &ca, label)
        .await
        .map(Some)
        .map_err(|e| MountFailure::store(&e).source(label))
}

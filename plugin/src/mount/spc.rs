//! The SecretProviderClass the plugin writes, and the rule for "is this one ours".
//!
//! The object carries only what we own (server-side apply, field manager `kubectl-secrets`):
//! our label, `spec.provider: kubectl-secrets` and `spec.parameters` from
//! `MountSpec::to_parameters` (the format the provider reads; never re-defined here).

use kube::core::{ApiResource, GroupVersionKind};
use secrets_core::mount::PROVIDER_NAME;
use secrets_core::mount::params::MountSpec;
use serde_json::{Value, json};

/// The CSI driver's API group and version.
pub(crate) const API_VERSION: &str = "secrets-store.csi.x-k8s.io/v1";
/// The label on every SecretProviderClass the plugin writes.
pub(crate) const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubectl-secrets");

/// The SecretProviderClass resource, for the dynamic client.
pub(crate) fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("secrets-store.csi.x-k8s.io", "v1", "SecretProviderClass"),
        "secretproviderclasses",
    )
}

/// The driver's per-pod mount records.
pub(crate) fn pod_status_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(
            "secrets-store.csi.x-k8s.io",
            "v1",
            "SecretProviderClassPodStatus",
        ),
        "secretproviderclasspodstatuses",
    )
}

/// The apply configuration of the SecretProviderClass `namespace/name` for `spec`.
pub(crate) fn object(namespace: &str, name: &str, spec: &MountSpec) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "SecretProviderClass",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MANAGED_BY.0: MANAGED_BY.1},
        },
        "spec": {
            "provider": PROVIDER_NAME,
            "parameters": spec.to_parameters(),
        },
    })
}

/// An SPC is for our provider when its `spec.provider` says so.
pub(crate) fn is_for_our_provider(spc: &Value) -> bool {
    spc["spec"]["provider"].as_str() == Some(PROVIDER_NAME)
}

/// Written by the plugin: our provider and our label. Only these are updated or deleted.
pub(crate) fn is_ours(spc: &Value) -> bool {
    is_for_our_provider(spc)
        && spc["metadata"]["labels"][MANAGED_BY.0].as_str() == Some(MANAGED_BY.1)
}

#[cfg(test)]
mod tests {
    use secrets_core::mount::params::{MountObject, ObjectSource, StoreKind, StoreRef};

    use super::*;

    #[test]
    fn the_object_reads_back_as_the_spec() {
        let spec = MountSpec {
            store: Some(StoreRef {
                name: "vault".into(),
                kind: StoreKind::ClusterSecretStore,
            }),
            objects: vec![MountObject {
                path: "db/password".into(),
                source: ObjectSource::Remote {
                    key: "app/db".into(),
                    property: Some("password".into()),
                    version: None,
                },
                mode: 0o440,
            }],
            audience: Some("vault".into()),
            aws_auth: None,
        };
        let spc = object("team", "web-secrets", &spec);
        assert!(is_ours(&spc));
        let parameters: std::collections::BTreeMap<String, String> =
            serde_json::from_value(spc["spec"]["parameters"].clone()).unwrap();
        assert_eq!(MountSpec::from_parameters(&parameters).unwrap(), spec);
        let mut foreign = spc.clone();
        foreign["metadata"]["labels"] = json!({});
        assert!(!is_ours(&foreign) && is_for_our_provider(&foreign));
    }
}

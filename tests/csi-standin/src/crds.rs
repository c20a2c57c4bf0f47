//! The driver's two custom resources, as our own minimal CRDs (`crds/*.yaml`), and
//! [`install_crds`], which applies them and waits until the API server serves them.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, Patch, PatchParams};
use kube::core::GroupVersionKind;

/// The driver's API group and version.
pub const GROUP: &str = "secrets-store.csi.x-k8s.io";
pub const VERSION: &str = "v1";

/// The SecretProviderClass CRD manifest.
pub const SECRET_PROVIDER_CLASS_CRD: &str = include_str!("../crds/secretproviderclasses.yaml");
/// The SecretProviderClassPodStatus CRD manifest.
pub const POD_STATUS_CRD: &str = include_str!("../crds/secretproviderclasspodstatuses.yaml");

const FIELD_MANAGER: &str = "csi-standin";
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(30);

/// Installing the CRDs failed.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    #[error("parsing the built-in CRD manifest")]
    Parse(#[source] serde_yaml_ng::Error),
    #[error("applying CustomResourceDefinition {name}")]
    Apply {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("CustomResourceDefinition {name} is not Established after {ESTABLISH_TIMEOUT:?}")]
    NotEstablished { name: String },
}

/// `secretproviderclasses.secrets-store.csi.x-k8s.io/v1`.
pub fn secret_provider_class() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(GROUP, VERSION, "SecretProviderClass"),
        "secretproviderclasses",
    )
}

/// `secretproviderclasspodstatuses.secrets-store.csi.x-k8s.io/v1`.
pub fn pod_status() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(GROUP, VERSION, "SecretProviderClassPodStatus"),
        "secretproviderclasspodstatuses",
    )
}

/// The two CRDs, parsed.
pub fn crds() -> Result<Vec<CustomResourceDefinition>, CrdError> {
    [SECRET_PROVIDER_CLASS_CRD, POD_STATUS_CRD]
        .into_iter()
        .map(|yaml| serde_yaml_ng::from_str(yaml).map_err(CrdError::Parse))
        .collect()
}

/// Server-side applies both CRDs and waits until each is `Established`.
pub async fn install_crds(client: &kube::Client) -> Result<(), CrdError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds()? {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let apply_err = |source| CrdError::Apply {
            name: name.clone(),
            source,
        };
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .map_err(apply_err)?;
        let deadline = tokio::time::Instant::now() + ESTABLISH_TIMEOUT;
        loop {
            let current = api.get(&name).await.map_err(apply_err)?;
            if established(&current) {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(CrdError::NotEstablished { name });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

fn established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn manifests_parse_and_name_the_resources() {
        let crds = crds().unwrap();
        let names: Vec<_> = crds
            .iter()
            .map(|c| c.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                format!("{}.{GROUP}", secret_provider_class().plural),
                format!("{}.{GROUP}", pod_status().plural),
            ]
        );
        for crd in &crds {
            assert_eq!(crd.spec.group, GROUP);
            assert_eq!(crd.spec.scope, "Namespaced");
            let v = &crd.spec.versions[0];
            assert!(crd.spec.versions.len() == 1 && v.name == VERSION && v.served && v.storage);
            assert!(v.subresources.is_none());
        }
        let spc = &crds[0].spec.versions[0].schema.as_ref().unwrap();
        let spec = &spc
            .open_api_v3_schema
            .as_ref()
            .unwrap()
            .properties
            .as_ref()
            .unwrap()["spec"];
        let props = spec.properties.as_ref().unwrap();
        assert_eq!(props["provider"].type_.as_deref(), Some("string"));
        assert!(props["parameters"].additional_properties.is_some());
        assert_eq!(props["secretObjects"].type_.as_deref(), Some("array"));
    }

    /// What test-support applies for the plugin's tests is these very files, not a second set.
    #[test]
    fn test_support_applies_these_manifests() {
        let yaml = test_support::CSI_CRDS_YAML;
        assert_eq!(
            yaml,
            format!("{SECRET_PROVIDER_CLASS_CRD}---\n{POD_STATUS_CRD}")
        );
        assert_eq!(
            serde_yaml_ng::Deserializer::from_str(yaml).count(),
            2,
            "two documents"
        );
    }
}

//! `SecretStore` (namespaced) and `ClusterSecretStore` (cluster-wide): where to read secrets
//! from and as whom. One spec shared by both kinds, as in ESO, with four providers: Vault /
//! OpenBao here, AWS Secrets Manager, Azure Key Vault and GCP Secret Manager in their own
//! modules; every other provider or field is rejected by name in `crate::sync::validate`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, SecretKeySelector, Unknown};

mod aws;
mod azure;
mod gcp;

pub use aws::{AwsAuth, AwsJwtAuth, AwsProvider, AwsSecretRef};
pub use azure::{AzureAuthSecretRef, AzureKvProvider};
pub use gcp::{GcpAuth, GcpSecretRef, GcpSmProvider, GcpWorkloadIdentityFederation};

/// Desired state of a SecretStore / ClusterSecretStore.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "kubectl-secrets.io",
    version = "v1alpha1",
    kind = "SecretStore",
    namespaced,
    status = "SecretStoreStatus",
    shortname = "ss",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct SecretStoreSpec {
    /// Exactly one provider block.
    pub provider: Provider,
    /// How often the store is revalidated, in seconds (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<i64>,
    /// ClusterSecretStore only: which namespaces may use it (OR-ed; none = every namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<NamespaceCondition>>,
    /// Fields this version does not implement.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// The cluster-scoped store: the same spec.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "kubectl-secrets.io",
    version = "v1alpha1",
    kind = "ClusterSecretStore",
    status = "SecretStoreStatus",
    shortname = "css",
    derive = "PartialEq",
    derive = "Default"
)]
pub struct ClusterSecretStoreSpec {
    /// The shared spec.
    #[serde(flatten)]
    pub inner: SecretStoreSpec,
}

/// One ClusterSecretStore condition; a namespace qualifies if it matches any part.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct NamespaceCondition {
    /// Namespaces whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespaces by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Fields this version does not implement (e.g. `namespaceRegexes`).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// The provider block: exactly one of `vault`, `aws`, `azurekv`, `gcpsm`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct Provider {
    /// HashiCorp Vault or OpenBao.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultProvider>,
    /// AWS Secrets Manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsProvider>,
    /// Azure Key Vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azurekv: Option<AzureKvProvider>,
    /// GCP Secret Manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcpsm: Option<GcpSmProvider>,
    /// Other providers (`kubernetes`, `akeyless`, …), rejected by name.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

// The Vault store crate (stores/vault) maps this onto its client. (A `//` comment: a doc
// comment here would change the generated CRD's description.)
/// KV secrets engine version.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum VaultKvVersion {
    /// KV v1: `<mount>/<key>`.
    #[serde(rename = "v1")]
    V1,
    /// KV v2 (the default): `<mount>/data/<key>`.
    #[default]
    #[serde(rename = "v2")]
    V2,
}

/// `spec.provider.vault`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct VaultProvider {
    /// Address, e.g. `https://vault.example.com:8200`.
    pub server: String,
    /// The KV mount (default `secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `v1` or `v2` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<VaultKvVersion>,
    /// Vault Enterprise namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Base64 of a PEM CA bundle trusted for `server`; then only it is trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// The CA bundle from a Secret or ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_provider: Option<CaProvider>,
    /// Exactly one way to log in.
    pub auth: VaultAuth,
    /// Fields this version does not implement.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// Where a CA bundle lives.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaProvider {
    /// `Secret` or `ConfigMap`.
    #[serde(rename = "type")]
    pub type_: CaProviderType,
    /// Object name.
    pub name: String,
    /// Key holding the PEM.
    pub key: String,
    /// ClusterSecretStore only: the object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Kind of object a `caProvider` names.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CaProviderType {
    /// A Secret.
    #[default]
    Secret,
    /// A ConfigMap.
    ConfigMap,
}

/// `spec.provider.vault.auth`: exactly one method.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct VaultAuth {
    /// A Vault token kept in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeySelector>,
    /// Kubernetes auth with a short-lived service-account token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<VaultKubernetesAuth>,
    /// AppRole auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_role: Option<VaultAppRole>,
    /// Other methods (`ldap`, `jwt`, …), rejected by name.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// `auth.kubernetes`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct VaultKubernetesAuth {
    /// Auth mount (default `kubernetes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Vault role.
    pub role: String,
    /// Whose token to present (required here: the agent never lends its own identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// Fields this version does not implement (e.g. `secretRef`).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// A service account whose token the agent requests (TokenRequest API).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountSelector {
    /// Its name.
    pub name: String,
    /// ClusterSecretStore only: its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Token audiences (Vault roles should bind one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
}

/// `auth.appRole`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct VaultAppRole {
    /// Auth mount (default `approle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The role id (not a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    /// The Secret key holding the secret id.
    pub secret_ref: SecretKeySelector,
    /// Fields this version does not implement (e.g. `roleRef`).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// Observed state of a store.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreStatus {
    /// `Ready` with reason `Valid`, `InvalidProviderConfig` or `ValidationFailed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// `ReadOnly`: we only read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<String>,
    /// Generation last validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Which kind of store an ExternalSecret names.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum StoreKind {
    /// Namespaced, in the ExternalSecret's namespace (the default).
    #[default]
    SecretStore,
    /// Cluster-wide.
    ClusterSecretStore,
}

impl StoreKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::SecretStore => "SecretStore",
            StoreKind::ClusterSecretStore => "ClusterSecretStore",
        }
    }
}

impl VaultProvider {
    /// The KV mount, default `secret`, without slashes at either end.
    pub fn mount(&self) -> &str {
        self.path.as_deref().unwrap_or("secret").trim_matches('/')
    }

    /// KV version, default v2.
    pub fn kv_version(&self) -> VaultKvVersion {
        self.version.unwrap_or_default()
    }
}

impl From<ClusterSecretStore> for SecretStore {
    /// View a cluster store through the shared spec (the object stays cluster-scoped).
    fn from(c: ClusterSecretStore) -> Self {
        SecretStore {
            metadata: c.metadata,
            spec: c.spec.inner,
            status: c.status,
        }
    }
}

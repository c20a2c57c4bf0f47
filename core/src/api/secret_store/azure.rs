//! `spec.provider.azurekv`: Azure Key Vault, with ESO v1's field names. Everything here is
//! data; `crate::sync::validate` names what is unsupported and `stores/azure` does the calls.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ServiceAccountSelector;
use crate::api::{SecretKeySelector, Unknown};

/// `spec.provider.azurekv`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct AzureKvProvider {
    /// The vault, e.g. `https://my-vault.vault.azure.net`.
    pub vault_url: String,
    /// `ServicePrincipal` (default) or `WorkloadIdentity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    /// The Entra tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// `PublicCloud` (default), `USGovernmentCloud` or `ChinaCloud`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_type: Option<String>,
    /// Client id, tenant id and client secret kept in Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret_ref: Option<AzureAuthSecretRef>,
    /// WorkloadIdentity: the account whose token is the client assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// Fields this version does not implement (e.g. `identityId`).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// `spec.provider.azurekv.authSecretRef`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct AzureAuthSecretRef {
    /// The application (client) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<SecretKeySelector>,
    /// The tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<SecretKeySelector>,
    /// ServicePrincipal: the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretKeySelector>,
    /// Fields this version does not implement (e.g. `clientCertificate`).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

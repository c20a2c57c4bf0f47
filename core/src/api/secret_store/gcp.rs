//! `spec.provider.gcpsm`: GCP Secret Manager, with ESO v1's field names. Everything here is
//! data; `crate::sync::validate` names what is unsupported and `stores/gcp` does the calls.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ServiceAccountSelector;
use crate::api::{SecretKeySelector, Unknown};

/// `spec.provider.gcpsm`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct GcpSmProvider {
    /// The project holding the secrets.
    #[serde(default, rename = "projectID", skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Regional secrets: the location, e.g. `europe-west1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `LatestOrFail` (default) or `LatestOrFetch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_version_selection_policy: Option<String>,
    /// Exactly one way to get credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<GcpAuth>,
    /// Fields this version does not implement.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// `spec.provider.gcpsm.auth`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct GcpAuth {
    /// A service-account key JSON kept in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<GcpSecretRef>,
    /// Workload identity federation with a Kubernetes service account's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_identity_federation: Option<GcpWorkloadIdentityFederation>,
    /// Fields this version does not implement (e.g. `workloadIdentity`).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// `auth.secretRef`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct GcpSecretRef {
    /// The service-account key JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key_secret_ref: Option<SecretKeySelector>,
    /// Fields this version does not implement.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// `auth.workloadIdentityFederation`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct GcpWorkloadIdentityFederation {
    /// The account whose token is exchanged at STS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// The pool provider's audience
    /// (`//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/Q`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// A Google service account impersonated with the federated token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_service_account_email: Option<String>,
    /// Fields this version does not implement (e.g. `credConfig`).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

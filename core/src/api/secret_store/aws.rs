//! `spec.provider.aws`: AWS Secrets Manager, with ESO v1's field names. Everything here is data;
//! `crate::sync::validate` names what is unsupported and `stores/aws` does the calls.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ServiceAccountSelector;
use crate::api::{SecretKeySelector, Unknown};

/// `spec.provider.aws`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct AwsProvider {
    /// `SecretsManager` (the only service implemented).
    pub service: String,
    /// The region, e.g. `eu-west-1`.
    pub region: String,
    /// A role assumed last (after `additionalRoles`), with `externalID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Roles assumed in order before `role` (role chaining).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_roles: Option<Vec<String>>,
    /// The external id passed when assuming `role`.
    #[serde(
        default,
        rename = "externalID",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    /// Prepended to every remote key (no separator added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Exactly one way to get credentials (required: the agent never lends its own identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AwsAuth>,
    /// Fields this version does not implement (e.g. `sessionTags`).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// `spec.provider.aws.auth`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct AwsAuth {
    /// Static access keys kept in Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<AwsSecretRef>,
    /// A service account's token exchanged with AssumeRoleWithWebIdentity (IRSA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<AwsJwtAuth>,
    /// Fields this version does not implement.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// `auth.secretRef`: static keys.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct AwsSecretRef {
    /// The access key id.
    #[serde(
        default,
        rename = "accessKeyIDSecretRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub access_key_id_secret_ref: Option<SecretKeySelector>,
    /// The secret access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key_secret_ref: Option<SecretKeySelector>,
    /// An optional session token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token_secret_ref: Option<SecretKeySelector>,
    /// Fields this version does not implement.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

/// `auth.jwt`: IRSA.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct AwsJwtAuth {
    /// The account whose token is exchanged; its `eks.amazonaws.com/role-arn` annotation names
    /// the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// Fields this version does not implement.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub unknown: Unknown,
}

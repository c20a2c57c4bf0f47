//! Credentials come in from the caller; a store never fetches them itself. The agent resolves a
//! store's SecretRefs and TokenRequests, the CSI provider passes the pod's own token, the plugin
//! the person's environment. A store that logs in again (a token expired) asks its
//! [`CredentialSource`] again, so short-lived service-account tokens are fetched fresh.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use super::StoreFuture;

/// What a store logs in with. `Debug` never shows a secret.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// A token used as it is (Vault token, bearer token).
    Token(Zeroizing<String>),
    /// A Kubernetes service-account token, with the audiences it was requested for.
    ServiceAccountToken {
        /// The JWT.
        token: Zeroizing<String>,
        /// Its audiences.
        audiences: Vec<String>,
    },
    /// An AppRole-style pair: a public id and a secret.
    AppRole {
        /// The role id (not a secret).
        role_id: String,
        /// The secret id.
        secret_id: Zeroizing<String>,
    },
    /// Named values read from Secret keys, or a person's environment: AWS `accessKeyID`,
    /// `secretAccessKey`, `sessionToken`; Azure `clientId`, `clientSecret`, `tenantId`; GCP
    /// `secretAccessKey` (a service-account key JSON). Which names a store needs is the store's.
    Keys(BTreeMap<String, Zeroizing<String>>),
    /// A Kubernetes service account's token for a cloud's token exchange (IRSA, Azure workload
    /// identity, GCP workload identity federation), with what is read off the account.
    Federated(Box<FederatedToken>),
}

/// A service account's token and what the cloud stores read off the account beside it.
#[derive(Clone, Default)]
pub struct FederatedToken {
    /// The JWT.
    pub token: Zeroizing<String>,
    /// Its audiences.
    pub audiences: Vec<String>,
    /// The account's namespace.
    pub namespace: String,
    /// The account's name.
    pub service_account: String,
    /// The account's annotations (`eks.amazonaws.com/role-arn`,
    /// `azure.workload.identity/client-id`, …); empty when the caller did not read them.
    pub annotations: BTreeMap<String, String>,
    /// Named values from the store's Secret refs beside the token (Azure `clientId`,
    /// `tenantId` from `authSecretRef`).
    pub keys: BTreeMap<String, Zeroizing<String>>,
    /// A CSI mount whose SecretProviderClass asks for EKS Pod Identity: the token (audience
    /// `pods.eks.amazonaws.com`) goes to the Pod Identity endpoint instead of STS.
    pub pod_identity: bool,
}

impl FederatedToken {
    /// `namespace/name` of the account, for messages.
    pub fn account(&self) -> String {
        format!("{}/{}", self.namespace, self.service_account)
    }
}

impl fmt::Debug for FederatedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FederatedToken")
            .field("token", &"<redacted>")
            .field("audiences", &self.audiences)
            .field("account", &self.account())
            .field("annotations", &self.annotations)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("pod_identity", &self.pod_identity)
            .finish()
    }
}

impl Credentials {
    /// A short name of the kind (`token`, `service-account-token`, `approle`, `keys`,
    /// `federated-token`), for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::Token(_) => "token",
            Credentials::ServiceAccountToken { .. } => "service-account-token",
            Credentials::AppRole { .. } => "approle",
            Credentials::Keys(_) => "keys",
            Credentials::Federated(_) => "federated-token",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::ServiceAccountToken { audiences, .. } => f
                .debug_struct("ServiceAccountToken")
                .field("token", &"<redacted>")
                .field("audiences", audiences)
                .finish(),
            Credentials::AppRole { role_id, .. } => f
                .debug_struct("AppRole")
                .field("role_id", role_id)
                .field("secret_id", &"<redacted>")
                .finish(),
            Credentials::Keys(keys) => f
                .debug_tuple("Keys")
                .field(&keys.keys().collect::<Vec<_>>())
                .finish(),
            Credentials::Federated(token) => token.fmt(f),
        }
    }
}

/// Where a store gets its credentials each time it logs in.
pub trait CredentialSource: Send + Sync {
    /// The credentials, fetched now.
    fn credentials(&self) -> StoreFuture<'_, Credentials>;
}

/// Fixed credentials (the plugin's environment, a test) are their own source.
impl CredentialSource for Credentials {
    fn credentials(&self) -> StoreFuture<'_, Credentials> {
        let credentials = self.clone();
        Box::pin(async move { Ok(credentials) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let all = [
            Credentials::Token(Zeroizing::new("s.hunter2".into())),
            Credentials::ServiceAccountToken {
                token: Zeroizing::new("jwt.hunter2".into()),
                audiences: vec!["vault".into()],
            },
            Credentials::AppRole {
                role_id: "role".into(),
                secret_id: Zeroizing::new("id.hunter2".into()),
            },
            Credentials::Keys(BTreeMap::from([(
                "secretAccessKey".to_owned(),
                Zeroizing::new("key.hunter2".to_owned()),
            )])),
            Credentials::Federated(Box::new(FederatedToken {
                token: Zeroizing::new("jwt.hunter2".into()),
                keys: BTreeMap::from([(
                    "clientId".to_owned(),
                    Zeroizing::new("id.hunter2".to_owned()),
                )]),
                ..FederatedToken::default()
            })),
        ];
        for c in all {
            let debug = format!("{c:?}");
            assert!(!debug.contains("hunter2"), "{debug}");
        }
    }
}

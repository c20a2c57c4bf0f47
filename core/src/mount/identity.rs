//! Who a mount logs in to the store as: always the pod. From a store spec and the
//! SecretProviderClass's `audience` (and `awsAuth`), [`mount_auth`] says which of the pod's
//! tokens to present and how the store logs in with it, or why the store cannot serve mounts.
//!
//! Data flow: store spec (`spec.provider.*`) + SPC `audience`/`awsAuth` → [`MountAuth`]
//! (audience, a description of the login, whether the pod's service-account annotations are
//! needed) → the provider takes the pod's token for that audience from the driver's request,
//! reads the account's annotations when asked (IRSA's role, Azure's client id) and logs in
//! with them. A store's `serviceAccountRef` *name* is never used (the pod's own service
//! account is), so a mount-only store may leave it out.
//!
//! Shared credentials (Vault `tokenSecretRef`/`appRole`, AWS static keys, an Azure service
//! principal, a GCP key) are refused: every pod mounting through such a store would read
//! with the store's access instead of its own. One module per provider.

use crate::api::secret_store::SecretStoreSpec;

mod aws;
mod azure;
mod gcp;
mod vault;

pub use aws::{AWS_POD_IDENTITY_AUDIENCE, AWS_STS_AUDIENCE};
pub use azure::AZURE_AUDIENCE;
pub use vault::DEFAULT_AUDIENCE;

/// How a mount logs in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MountAuth {
    /// The audience of the pod's token to present.
    pub audience: String,
    /// The login beyond the pod's account, for the login cache's key and messages
    /// (`vault role "web" (auth mount "kubernetes")`, `aws IRSA`).
    pub login: String,
    /// The store reads the pod's service-account annotations (IRSA's role ARN, Azure's client
    /// id), so the provider fetches the account.
    pub annotations: bool,
    /// AWS: the token goes to the EKS Pod Identity endpoint instead of STS.
    pub pod_identity: bool,
}

/// Why a store cannot serve mounts; the text completes "store X cannot serve mounts: …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountAuthError {
    /// No provider block at all.
    #[error("it has no provider block")]
    NoProvider,
    /// Only shared credentials (the field that holds them).
    #[error(
        "it logs in with shared credentials ({0}), which would give every pod the store's \
         access; mounts log in as the pod: {1}"
    )]
    Shared(&'static str, &'static str),
    /// No pod-identity login configured (what to add).
    #[error("{0}")]
    NoPodLogin(&'static str),
    /// An empty Vault role.
    #[error("spec.provider.vault.auth.kubernetes.role is empty")]
    NoRole,
    /// A bad SecretProviderClass parameter.
    #[error("{0}")]
    Parameter(String),
}

/// What the SecretProviderClass says about the login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MountLogin<'a> {
    /// `audience`: the pod token's audience.
    pub audience: Option<&'a str>,
    /// `awsAuth`: `irsa` (default) or `podIdentity`.
    pub aws_auth: Option<&'a str>,
}

/// The pod-identity login a store spec allows, with what the SPC asks for.
pub fn mount_auth(
    spec: &SecretStoreSpec,
    login: MountLogin<'_>,
) -> Result<MountAuth, MountAuthError> {
    let p = &spec.provider;
    if let Some(v) = &p.vault {
        return vault::mount_auth(v, login);
    }
    if let Some(a) = &p.aws {
        return aws::mount_auth(a, login);
    }
    if let Some(a) = &p.azurekv {
        return azure::mount_auth(a, login);
    }
    if let Some(g) = &p.gcpsm {
        return gcp::mount_auth(g, login);
    }
    Err(MountAuthError::NoProvider)
}

/// The SPC's audience, unless empty.
fn given(audience: Option<&str>) -> Option<&str> {
    audience.filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::SecretStore;

    fn spec(auth: &str) -> SecretStoreSpec {
        let yaml = format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: s}}\nspec:\n  provider:\n    vault:\n      server: https://v:8200\n      auth:\n{auth}"
        );
        serde_yaml_ng::from_str::<SecretStore>(&yaml).unwrap().spec
    }

    #[test]
    fn kubernetes_auth_without_a_service_account_ref_serves_mounts() {
        let auth = mount_auth(
            &spec("        kubernetes: {role: web}\n"),
            MountLogin::default(),
        )
        .unwrap();
        assert_eq!(
            auth,
            MountAuth {
                audience: "vault".into(),
                login: "vault role \"web\" (auth mount \"kubernetes\")".into(),
                annotations: false,
                pod_identity: false,
            }
        );
    }

    #[test]
    fn the_audience_comes_from_the_spc_then_the_store() {
        let s = spec(
            "        kubernetes:\n          role: web\n          mountPath: k8s-east\n          serviceAccountRef: {name: ignored, audiences: [bao]}\n",
        );
        let auth = mount_auth(&s, MountLogin::default()).unwrap();
        assert_eq!(
            (auth.login.as_str(), auth.audience.as_str()),
            ("vault role \"web\" (auth mount \"k8s-east\")", "bao")
        );
        assert_eq!(
            mount_auth(
                &s,
                MountLogin {
                    audience: Some("mine"),
                    aws_auth: None
                }
            )
            .unwrap()
            .audience,
            "mine"
        );
    }

    #[test]
    fn shared_credentials_are_refused_with_the_reason() {
        let err = mount_auth(
            &spec("        tokenSecretRef: {name: t}\n"),
            MountLogin::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            MountAuthError::Shared("spec.provider.vault.auth.tokenSecretRef", vault::USE)
        );
        assert!(err.to_string().contains("shared credentials"), "{err}");
        let err = mount_auth(
            &spec("        appRole: {roleId: r, secretRef: {name: s}}\n"),
            MountLogin::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            MountAuthError::Shared("spec.provider.vault.auth.appRole", vault::USE)
        );
        assert_eq!(
            mount_auth(
                &spec("        kubernetes: {role: \"\"}\n"),
                MountLogin::default()
            ),
            Err(MountAuthError::NoRole)
        );
    }
}

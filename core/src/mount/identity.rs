//! Who a mount logs in to the store as: always the pod. From a store spec and the
//! SecretProviderClass's `audience`, [`mount_auth`] says which auth mount and role to use and
//! which of the pod's tokens to present, or why the store cannot serve mounts.
//!
//! Data flow: store spec (`spec.provider.vault.auth`) + SPC `audience` → [`MountAuth`] (auth
//! mount, role, audience) → the provider takes the pod's token for that audience from the
//! driver's request and logs in with it. The store's `serviceAccountRef` *name* is never used
//! (the pod's own service account is), so a mount-only store may leave it out; only its
//! `audiences[0]` is read, as the default audience.
//!
//! Shared credentials (`tokenSecretRef`, `appRole`) are refused: every pod mounting through
//! such a store would read with the store's access instead of its own.

use crate::api::secret_store::SecretStoreSpec;

/// The audience asked of the pod's token when neither the SPC nor the store names one (the
/// Vault CSI provider's default too).
pub const DEFAULT_AUDIENCE: &str = "vault";

/// How a mount logs in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MountAuth {
    /// The kubernetes auth method's mount (`kubernetes`).
    pub auth_mount: String,
    /// The Vault role.
    pub role: String,
    /// The audience of the pod's token to present.
    pub audience: String,
}

/// Why a store cannot serve mounts; the text completes "store X cannot serve mounts: …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountAuthError {
    /// Not a provider mounts implement.
    #[error("it has no spec.provider.vault (the only store mounts read from so far)")]
    NoProvider,
    /// Only shared credentials.
    #[error(
        "it logs in with shared credentials (spec.provider.vault.auth.{0}), which would give every pod \
         the store's access; mounts log in as the pod, so the store needs auth.kubernetes (role, and \
         optionally mountPath)"
    )]
    Shared(&'static str),
    /// No auth at all.
    #[error("spec.provider.vault.auth has no kubernetes method; mounts log in as the pod with it")]
    NoKubernetes,
    /// An empty role.
    #[error("spec.provider.vault.auth.kubernetes.role is empty")]
    NoRole,
}

/// The pod-identity login a store spec allows, with the audience the SPC asks for (if any).
pub fn mount_auth(
    spec: &SecretStoreSpec,
    spc_audience: Option<&str>,
) -> Result<MountAuth, MountAuthError> {
    let vault = spec
        .provider
        .vault
        .as_ref()
        .ok_or(MountAuthError::NoProvider)?;
    let auth = &vault.auth;
    let Some(kubernetes) = &auth.kubernetes else {
        return Err(if auth.token_secret_ref.is_some() {
            MountAuthError::Shared("tokenSecretRef")
        } else if auth.app_role.is_some() {
            MountAuthError::Shared("appRole")
        } else {
            MountAuthError::NoKubernetes
        });
    };
    if kubernetes.role.is_empty() {
        return Err(MountAuthError::NoRole);
    }
    let store_audience = kubernetes
        .service_account_ref
        .as_ref()
        .and_then(|sa| sa.audiences.as_ref())
        .and_then(|a| a.first())
        .filter(|a| !a.is_empty());
    let audience = spc_audience
        .or(store_audience.map(String::as_str))
        .unwrap_or(DEFAULT_AUDIENCE);
    Ok(MountAuth {
        auth_mount: kubernetes
            .mount_path
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "kubernetes".to_owned()),
        role: kubernetes.role.clone(),
        audience: audience.to_owned(),
    })
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
        let auth = mount_auth(&spec("        kubernetes: {role: web}\n"), None).unwrap();
        assert_eq!(
            auth,
            MountAuth {
                auth_mount: "kubernetes".into(),
                role: "web".into(),
                audience: "vault".into()
            }
        );
    }

    #[test]
    fn the_audience_comes_from_the_spc_then_the_store() {
        let s = spec(
            "        kubernetes:\n          role: web\n          mountPath: k8s-east\n          serviceAccountRef: {name: ignored, audiences: [bao]}\n",
        );
        let auth = mount_auth(&s, None).unwrap();
        assert_eq!(
            (auth.auth_mount.as_str(), auth.audience.as_str()),
            ("k8s-east", "bao")
        );
        assert_eq!(mount_auth(&s, Some("mine")).unwrap().audience, "mine");
    }

    #[test]
    fn shared_credentials_are_refused_with_the_reason() {
        let err = mount_auth(&spec("        tokenSecretRef: {name: t}\n"), None).unwrap_err();
        assert_eq!(err, MountAuthError::Shared("tokenSecretRef"));
        assert!(err.to_string().contains("shared credentials"), "{err}");
        let err = mount_auth(
            &spec("        appRole: {roleId: r, secretRef: {name: s}}\n"),
            None,
        )
        .unwrap_err();
        assert_eq!(err, MountAuthError::Shared("appRole"));
        assert_eq!(
            mount_auth(&spec("        kubernetes: {role: \"\"}\n"), None),
            Err(MountAuthError::NoRole)
        );
    }
}

//! Vault / OpenBao mounts: kubernetes auth with the pod's token.

use super::{MountAuth, MountAuthError, MountLogin, given};
use crate::api::secret_store::VaultProvider;

/// The audience asked of the pod's token when neither the SPC nor the store names one (the
/// Vault CSI provider's default too).
pub const DEFAULT_AUDIENCE: &str = "vault";

/// What a shared-credential Vault store needs instead.
pub(super) const USE: &str = "the store needs auth.kubernetes (role, and optionally mountPath)";

pub(super) fn mount_auth(
    vault: &VaultProvider,
    login: MountLogin<'_>,
) -> Result<MountAuth, MountAuthError> {
    let auth = &vault.auth;
    let Some(kubernetes) = &auth.kubernetes else {
        return Err(if auth.token_secret_ref.is_some() {
            MountAuthError::Shared("spec.provider.vault.auth.tokenSecretRef", USE)
        } else if auth.app_role.is_some() {
            MountAuthError::Shared("spec.provider.vault.auth.appRole", USE)
        } else {
            MountAuthError::NoPodLogin(
                "spec.provider.vault.auth has no kubernetes method; mounts log in as the pod with it",
            )
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
    let audience = given(login.audience)
        .or(store_audience.map(String::as_str))
        .unwrap_or(DEFAULT_AUDIENCE);
    let auth_mount = kubernetes
        .mount_path
        .as_deref()
        .filter(|m| !m.is_empty())
        .unwrap_or("kubernetes");
    Ok(MountAuth {
        audience: audience.to_owned(),
        login: format!(
            "vault role {:?} (auth mount {auth_mount:?})",
            kubernetes.role
        ),
        annotations: false,
        pod_identity: false,
    })
}

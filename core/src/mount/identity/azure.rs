//! Azure mounts: workload identity, the pod's token as a client assertion, the client id from
//! its account's `azure.workload.identity/client-id`.

use super::{MountAuth, MountAuthError, MountLogin, given};
use crate::api::secret_store::AzureKvProvider;

/// The audience of the pod token Entra accepts as a client assertion.
pub const AZURE_AUDIENCE: &str = "api://AzureADTokenExchange";

pub(super) fn mount_auth(
    azure: &AzureKvProvider,
    login: MountLogin<'_>,
) -> Result<MountAuth, MountAuthError> {
    match azure.auth_type.as_deref().unwrap_or("ServicePrincipal") {
        "WorkloadIdentity" => {}
        "ServicePrincipal" => {
            return Err(MountAuthError::Shared(
                "spec.provider.azurekv.authType ServicePrincipal",
                "the store needs authType: WorkloadIdentity",
            ));
        }
        _ => {
            return Err(MountAuthError::NoPodLogin(
                "spec.provider.azurekv.authType must be WorkloadIdentity for mounts",
            ));
        }
    }
    Ok(MountAuth {
        audience: given(login.audience).unwrap_or(AZURE_AUDIENCE).to_owned(),
        login: "azure workload identity".to_owned(),
        annotations: true,
        pod_identity: false,
    })
}

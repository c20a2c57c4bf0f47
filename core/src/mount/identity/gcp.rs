//! GCP mounts: workload identity federation, the pod's token for the pool's audience.

use super::{MountAuth, MountAuthError, MountLogin, given};
use crate::api::secret_store::GcpSmProvider;

pub(super) fn mount_auth(
    gcp: &GcpSmProvider,
    login: MountLogin<'_>,
) -> Result<MountAuth, MountAuthError> {
    let auth = gcp.auth.as_ref();
    if auth.is_some_and(|a| a.secret_ref.is_some()) {
        return Err(MountAuthError::Shared(
            "spec.provider.gcpsm.auth.secretRef",
            "the store needs auth.workloadIdentityFederation (audience)",
        ));
    }
    let Some(wif) = auth.and_then(|a| a.workload_identity_federation.as_ref()) else {
        return Err(MountAuthError::NoPodLogin(
            "spec.provider.gcpsm.auth has no workloadIdentityFederation; mounts log in as the \
             pod with it",
        ));
    };
    let pool = wif.audience.as_deref().filter(|a| !a.is_empty());
    let Some(audience) = given(login.audience).or(pool) else {
        return Err(MountAuthError::NoPodLogin(
            "spec.provider.gcpsm.auth.workloadIdentityFederation.audience is required",
        ));
    };
    Ok(MountAuth {
        audience: audience.to_owned(),
        login: "gcp workload identity federation".to_owned(),
        annotations: false,
        pod_identity: false,
    })
}

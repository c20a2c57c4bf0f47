//! `spec.provider.gcpsm` checks (no IO). Each problem names its field path.

use crate::api::secret_store::GcpSmProvider;

use super::unknown;

/// Problems with `spec.provider.gcpsm`; `cluster` is true for a ClusterSecretStore;
/// `service_account_required` is false for a store read by mounts (they log in as the pod's
/// own account, so a `serviceAccountRef` may be left out).
pub(super) fn provider(
    p: &GcpSmProvider,
    _cluster: bool,
    _service_account_required: bool,
    problems: &mut Vec<String>,
) {
    unknown("spec.provider.gcpsm", &p.unknown, problems, "");
}

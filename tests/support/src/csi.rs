//! The Secrets Store CSI Driver's CRDs (SecretProviderClass, SecretProviderClassPodStatus) for
//! tests: the one copy of our own minimal, structural manifests, kept with the driver's
//! stand-in in `tests/csi-standin/crds/` (csi-standin's `install_crds` applies the same files),
//! applied here with the real kubectl so the resources are served as in a cluster with the
//! driver.

use crate::Cluster;

/// The CRD manifests (two documents).
pub const CSI_CRDS_YAML: &str = concat!(
    include_str!("../../csi-standin/crds/secretproviderclasses.yaml"),
    "---\n",
    include_str!("../../csi-standin/crds/secretproviderclasspodstatuses.yaml"),
);

/// Register both CRDs in `cluster` (kube-standin serves them at once).
pub fn install_csi_crds(cluster: &Cluster) {
    cluster.apply(CSI_CRDS_YAML);
}

//! The Secrets Store CSI Driver's CRDs (SecretProviderClass, SecretProviderClassPodStatus) for
//! tests: our own minimal, structural manifests in `fixtures/secrets-store-csi-crds.yaml`,
//! applied with the real kubectl so the resources are served as in a cluster with the driver.

use crate::Cluster;

/// The CRD manifests (two documents).
pub const CSI_CRDS_YAML: &str = include_str!("../fixtures/secrets-store-csi-crds.yaml");

/// Register both CRDs in `cluster` (kube-standin serves them at once).
pub fn install_csi_crds(cluster: &Cluster) {
    cluster.apply(CSI_CRDS_YAML);
}

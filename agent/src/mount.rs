//! The mount pattern's node side: `secrets-agent csi-provider`, the Secrets Store CSI
//! Driver's provider (DaemonSet). See docs/mount.md for the data flow and threat model.

pub mod https_link;
pub mod link;
mod pinned_tls;

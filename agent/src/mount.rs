//! The mount pattern's node side: `secrets-agent csi-provider`, the Secrets Store CSI
//! Driver's provider (DaemonSet). See docs/mount.md for the data flow and threat model.
//!
//! ```text
//!  driver ──gRPC, unix socket (0600)──▶ server (Version, Mount; metrics)
//!                                         └▶ flow::Provider::mount
//!                                              ├ identity: SecretProviderClass, the store, its CA
//!                                              ├ cache: the pod identity's store login (LRU,
//!                                              │        proven tokens only, revoked on eviction)
//!                                              ├ store seam reads (one per key and version)
//!                                              ├ link: mount-only SealedSecrets, the cluster key
//!                                              │       (https_link: the controller over pinned TLS)
//!                                              └ response: files, modes, versions, size bound
//!                                                 failure: the gRPC status the driver shows
//! ```
//!
//! In process (benchmarks, tests): [`Provider::new`] + [`bind`] + [`serve`].

pub mod cache;
pub mod failure;
pub mod flow;
pub mod https_link;
pub mod identity;
pub mod link;
mod pinned_tls;
pub mod response;
pub mod server;

pub use failure::MountFailure;
pub use flow::{Provider, Settings};
pub use server::{Socket, bind, serve};

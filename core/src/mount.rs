//! The mount pattern's pure parts: what a SecretProviderClass asks for, what the CSI driver
//! sends, and the checks that decide whether a mount may go ahead.
//!
//! Data flow of one `Mount` call in the provider (`secrets-agent csi-provider`):
//!
//! ```text
//!  MountRequest {attributes, secrets, permission}
//!     └─[request::parse]──▶ MountAttributes {pod identity, tokens, parameters}
//!  SecretProviderClass (read from the API)
//!     └─[params::MountSpec::from_parameters]──▶ MountSpec {store, objects, audience}
//!  [params::check_not_shadowed]: the pod's volumeAttributes may not change store, storeKind,
//!     objects or audience
//!  [token::claims] + [token::check_bound]: the token for the audience belongs to this pod
//!  [identity::mount_auth]: the store's kubernetes auth mount and role, the token's audience
//!     (shared-credential stores refused)
//!  then the agent reads each object (store seam or the controller for SealedSecrets) and
//!  answers files with modes and one version per object ([files]: versions, the size limit).
//! ```
//!
//! The plugin (`kubectl secrets mount`) builds a [`params::MountSpec`] and writes it with
//! [`params::MountSpec::to_parameters`], so both ends agree on one format.

pub mod exchange;
pub mod files;
pub mod identity;
pub mod mount_key;
pub mod params;
pub mod request;
pub mod serve;
pub mod token;

/// The SecretProviderClass `spec.provider` (and socket file name) of our provider.
pub const PROVIDER_NAME: &str = "kubectl-secrets";
/// The CSI driver's name in pod volumes.
pub const CSI_DRIVER: &str = "secrets-store.csi.k8s.io";
/// The annotation that keeps a SealedSecret out of etcd: served to mounts only.
pub const MOUNT_ONLY_ANNOTATION: &str = "kubectl-secrets.io/mount-only";
/// The token audience the provider presents to the controller for mount-only SealedSecrets.
pub const CONTROLLER_AUDIENCE: &str = "kubectl-secrets";
/// The largest response the driver takes by default (`--max-call-recv-msg-size`).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

//! The mount pattern on the person's side, pure (no IO): [`objects`] turns the object flags
//! (or the wizard's answers) into a `secrets_core::mount::params::MountSpec`; [`spc`] builds
//! the SecretProviderClass; [`workload`] reads which volume and mounts of a workload are ours
//! (its `managedFields`) and builds the server-side apply configuration of its pod template;
//! [`prompt`] asks the wizard's questions. The commands are in `cmd::mount*`.

pub(crate) mod objects;
pub(crate) mod prompt;
pub(crate) mod spc;
pub(crate) mod workload;

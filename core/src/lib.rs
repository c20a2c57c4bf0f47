//! `secrets-core`: everything the `kubectl-secrets` plugin and the `secrets-agent` share.
//!
//! Data flow of the seal pattern, left to right:
//!
//! ```text
//!  Secret manifest ──[secret::parse_secrets]──▶ PlainSecret (zeroized values)
//!        │                                            │
//!        │          keys::Certificate ──▶ PublicKey   │
//!        ▼                                            ▼
//!  [seal::seal_secret] ── crypto::seal(label from crypto::Scope) ──▶ SealedSecret (to Git)
//!  [seal::unseal]      ◀─ crypto::open_with_any(keys::PrivateKey…) ◀─ SealedSecret
//! ```
//!
//! The sync pattern's types and decisions are in [`eso`].
//! With the `vault` feature, the `vault` module is the client for HashiCorp Vault / OpenBao
//! that the sync pattern reads from.
//! [`yaml`] is the one YAML writer (quoting what any YAML 1.1 or 1.2 reader would misread).
//! [`crds`] turns the custom resource types into the CRDs the chart ships.
//!
//! Nothing here prints, prompts or starts a runtime: binaries do that.

pub mod crds;
pub mod crypto;
pub mod eso;
pub mod keys;
pub mod manifest;
pub mod manifest_plain;
pub mod reconcile;
pub mod seal;
pub mod sealed_secret;
pub mod secret;
pub mod secret_type;
pub mod template;
#[cfg(feature = "vault")]
pub mod vault;
pub mod yaml;

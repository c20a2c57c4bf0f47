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
//! [`crds`] turns the custom resource types into the CRDs the chart ships.
//!
//! Nothing here prints, prompts or starts a runtime: binaries do that.

pub mod crds;
pub mod crypto;
pub mod keys;
pub mod manifest;
pub mod reconcile;
pub mod seal;
pub mod sealed_secret;
pub mod secret;
pub mod template;

//! `secrets-core`: everything the `kubectl-secrets` plugin and the `secrets-agent` share. Pure:
//! nothing here prints, prompts or starts a runtime; binaries do that.
//!
//! One folder per pattern, the same words as in the agent and the plugin:
//! - [`api`]: the custom resource types (SealedSecret, ExternalSecret, SecretStore,
//!   ClusterSecretStore), their shared `Ready` rule, and the CRDs generated from them.
//! - [`seal`]: the seal pattern: `crypto` (the sealed value frame), `keys` (key pairs,
//!   certificates, backups) and `decide` (the pure SealedSecret → Secret decision).
//! - [`sync`]: the sync pattern: the pure ExternalSecret decision, validation, schedule.
//! - [`mount`]: the mount pattern: SecretProviderClass parameters, the CSI driver's request, the
//!   token checks.
//! - [`audit`]: the pure checks of `kubectl secrets doctor` (who can read Secrets, …) and the
//!   findings report they produce.
//! - shared helpers: [`secret`] (Secret manifests, zeroized values, the one Secret-key rule),
//!   [`ownership`] (owner references of the Secrets we write), [`rfc3339`] (the one time
//!   format), [`manifest`] and
//!   [`manifest_plain`] (reading YAML/JSON streams), [`template`] (Go templates + Sprig),
//!   [`yaml`] (the one YAML writer, quoting what a YAML 1.1 or 1.2 reader would misread).
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
//! [`store`] is the seam every secret store implements (`stores/vault`, `stores/fake`, …) and
//! every pattern reads through; core itself speaks no store's protocol.

pub mod api;
pub mod audit;
pub mod manifest;
pub mod manifest_plain;
pub mod mount;
pub mod ownership;
pub mod rfc3339;
pub mod seal;
pub mod secret;
pub mod secret_type;
pub mod selector;
pub mod store;
pub mod sync;
pub mod template;
pub mod yaml;

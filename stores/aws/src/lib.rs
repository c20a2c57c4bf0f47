//! `secrets-store-aws`: the AWS Secrets Manager store behind the store seam
//! (`spec.provider.aws`, ESO v1 field names), hand-written on the shared hyper/rustls client
//! (`secrets-store-http`) with `aws-sigv4` for signing.
//!
//! Data flow:
//!
//! ```text
//!  open(AwsProvider, CredentialSource, OpenOptions) ──▶ AwsStore            (store.rs; no request)
//!    credentials: Keys (static) │ Federated (IRSA token + SA annotations │ Pod Identity)
//!      ──[chain::plan]──▶ Plan ──▶ AssumeRoleWithWebIdentity (unsigned) │ Pod Identity GET
//!                              ──▶ AssumeRole per additionalRoles, then role (+externalID)
//!      ──▶ keys cached per store until 5 min before expiry              (keys.rs, sts.rs)
//!    read(ReadKey) ──▶ collector ──▶ BatchGetSecretValue (≤ 20 ids)      (batch.rs, store/read.rs)
//!                  ──▶ GetSecretValue (pinned VersionId / VersionStage)
//!                  ──▶ DescribeSecret (metadataPolicy: Fetch → tags)
//!    list(prefix)  ──▶ ListSecrets (all pages)
//!  every call ──[client.rs: SigV4, Retry-After gate, timeout]──▶ observer (aws, op, outcome) + counters
//!  error answers ──[error.rs: classify]──▶ AwsError ──▶ StoreError kind
//! ```
//!
//! # Why no SDK
//! `aws-config` + `aws-sdk-secretsmanager` bring ~140 crates and their own HTTP client; the
//! wire shapes here are four awsJson1.1 ops, two STS form posts and one GET, and signing is
//! `aws-sigv4` alone. The SDKs' credential chain (IMDS, SSO, profiles) is what an in-cluster
//! agent must not use anyway: the agent never lends its own identity.
//!
//! # Secrets in memory
//! Keys live in [`AwsKeys`] (zeroized, redacted `Debug`); request bodies with a web identity
//! token and every response body are zeroizing buffers; secret values are deserialised into
//! zeroizing strings. Not covered: the signed header values inside hyper, and serde_json's
//! scratch space for escaped strings. No error, log line or observer label carries a key, a
//! token or a value.

mod batch;
mod chain;
mod client;
mod endpoints;
mod error;
mod keys;
mod observe;
mod sign;
mod sm;
mod store;
mod sts;
mod xml;

use std::sync::Arc;

use secrets_core::api::secret_store::AwsProvider;
use secrets_core::store::{CredentialSource, OpenOptions, Store, StoreError, StoreType};

pub use batch::WINDOW as BATCH_WINDOW;
pub use chain::{ChainSpec, ROLE_ARN_ANNOTATION};
pub use endpoints::POD_IDENTITY_URL;
pub use error::AwsError;
pub use keys::{ACCESS_KEY_ID, AwsKeys, REFRESH_BEFORE, SECRET_ACCESS_KEY, SESSION_TOKEN};
pub use observe::Op;
pub use sm::{BATCH_LIMIT, CURRENT_STAGE, VersionSel};
pub use store::AwsStore;
pub use sts::SESSION_NAME;

/// This store's type: the `store` metric label.
pub const STORE_TYPE: StoreType = StoreType::new("aws");

/// The store `provider` describes, reading with `credentials`; makes no request.
pub fn open(
    provider: &AwsProvider,
    credentials: Arc<dyn CredentialSource>,
    options: OpenOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(open_store(provider, credentials, options)?))
}

/// As [`open`], keeping the concrete type (tests and the benchmark read [`AwsStore::calls`]).
pub fn open_store(
    provider: &AwsProvider,
    credentials: Arc<dyn CredentialSource>,
    options: OpenOptions,
) -> Result<AwsStore, StoreError> {
    store::open_store(provider, credentials, options)
}

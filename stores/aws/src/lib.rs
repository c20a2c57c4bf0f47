//! `secrets-store-aws`: the AWS Secrets Manager store behind the store seam.

mod batch;
mod chain;
mod endpoints;
mod error;
mod keys;
mod observe;
mod sign;
mod sm;
mod sts;
mod xml;

pub use chain::{ChainSpec, ROLE_ARN_ANNOTATION};
pub use error::AwsError;
pub use keys::AwsKeys;
pub use observe::Op;
pub use sm::{BATCH_LIMIT, VersionSel};
pub use sts::SESSION_NAME;

/// This store's type: the `store` metric label.
pub const STORE_TYPE: secrets_core::store::StoreType = secrets_core::store::StoreType::new("aws");

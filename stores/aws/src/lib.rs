//! `secrets-store-aws`: the AWS Secrets Manager store behind the store seam (`spec.provider.aws`).
//! The seam's skeleton: [`open`] refuses until the store is implemented.

use std::sync::Arc;

use secrets_core::api::secret_store::AwsProvider;
use secrets_core::store::{CredentialSource, ErrorKind, OpenOptions, Store, StoreError, StoreType};

/// This store's type: the `store` metric label.
pub const STORE_TYPE: StoreType = StoreType::new("aws");

/// The store `provider` describes, reading with `credentials`; makes no request.
pub fn open(
    provider: &AwsProvider,
    credentials: Arc<dyn CredentialSource>,
    options: OpenOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    let _ = (provider, credentials);
    Err(StoreError::new(
        STORE_TYPE,
        ErrorKind::InvalidConfig,
        format!(
            "{}: the aws store is not implemented in this build",
            options.label
        ),
    ))
}

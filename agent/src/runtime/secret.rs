//! Writing a Secret the controllers decided on: create or replace it as [`FIELD_MANAGER`], then
//! wipe the plaintext — of what we sent and of what the API server answered — whatever the
//! result. The API server refusing the Secret (422: invalid, or immutable and changed) is the
//! object's failure, reported in its status with the Secret named; every other error is API
//! trouble to retry.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};

use super::{Error, FIELD_MANAGER};
use crate::wipe::WipedSecret;

/// What writing the Secret did.
#[derive(Debug)]
pub enum Written {
    /// Stored; the API server's copy (wiped on drop).
    Stored(Box<WipedSecret>),
    /// The API server refused it: a message naming the Secret and saying why.
    Refused(String),
}

/// Create (`create`) or replace `secret`.
pub async fn write(api: &Api<Secret>, secret: Secret, create: bool) -> Result<Written, Error> {
    let secret = WipedSecret(secret);
    let name = secret.metadata.name.clone().unwrap_or_default();
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    let written = if create {
        api.create(&params, &secret).await
    } else {
        api.replace(&name, &params, &secret).await
    };
    drop(secret);
    match written {
        Ok(stored) => Ok(Written::Stored(Box::new(WipedSecret(stored)))),
        Err(kube::Error::Api(status)) if status.code == 422 => Ok(Written::Refused(format!(
            "the API server refused Secret {name:?}: {}",
            status.message
        ))),
        Err(err) => Err(Error::api("writing the Secret")(err)),
    }
}

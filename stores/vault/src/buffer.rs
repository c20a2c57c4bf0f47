//! Wiped buffers for secret bytes: the shared ones of `secrets-store-http` (one copy for every
//! store crate).

pub(super) use secrets_store_http::buffer::{
    SecretBuf, WipedJson, push, to_json, wipe_bytes, wipe_value,
};

//! `secrets-store-gcp`: GCP Secret Manager behind the store seam (work in progress).

mod crc32c;
mod limit;
mod token;
mod key;
mod wire;

pub use key::{KeyError, ServiceAccountKey};
pub use wire::WireError;

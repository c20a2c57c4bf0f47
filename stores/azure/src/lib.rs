//! `secrets-store-azure`: the Azure Key Vault store behind the store seam
//! (`spec.provider.azurekv`), on the shared HTTPS client (`secrets-store-http`).
//!
//! Data flow:
//!
//! ```text
//!  open(provider, credentials, options) ──▶ AzureStore (cloud ▸ vault URL checked against the
//!        cloud's Key Vault suffix ▸ authority host, AZURE_AUTHORITY_HOST override)
//!  read ──▶ object (secret/ cert/ key/ certkey/) ──▶ vault GET (rate limit ▸ 401 challenge
//!        checked once ▸ access token from login: service principal secret │ service account
//!        token as client assertion │ a person's bearer token) ──▶ RemoteValue
//! ```
//!
//! Modules: [`cloud`] (clouds, vault URL and challenge checks), [`object`] (remote keys and
//! versions), [`identity`] (workload-identity client and tenant ids), [`claims`] (what an
//! AADSTS70021 message shows of the token we sent), [`wire`] (JSON shapes), [`certkey`]
//! (backing secret → PEM chain + key), [`limit`] (4,000 requests per 10 s per vault), `login`
//! (Entra), `vault` (one GET and its errors), `store` (the seam's calls).
//!
//! # Secrets in memory
//! Client secrets, assertions, access tokens and values are held in `Zeroizing` buffers; the
//! HTTP client wipes bodies. Not covered: the `Authorization` header value (marked sensitive,
//! but owned by `http`), serde_json's scratch space, and p12-keystore's working copies of a
//! PKCS#12 file's key. No error, `Debug` output or log line carries a token or a value.

pub mod certkey;
pub mod claims;
pub mod cloud;
pub mod identity;
pub mod limit;
mod login;
pub mod object;
mod store;
mod vault;
pub mod wire;

pub use login::REFRESH_BEFORE;
pub use store::{AzureStore, open};

/// This store's type: the `store` metric label.
pub const STORE_TYPE: secrets_core::store::StoreType =
    secrets_core::store::StoreType::new("azurekv");

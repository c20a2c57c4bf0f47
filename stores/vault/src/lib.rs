//! `secrets-store-vault`: the HashiCorp Vault / OpenBao store behind the store seam
//! (`secrets_core::store::Store`), implemented by [`VaultStore`] (see `store.rs`: a store spec →
//! client configuration, auth method, token renewal, the mount check, the seam's calls and
//! errors), over an async client for the parts of the Vault HTTP API that secret sync
//! needs: logins (token, kubernetes, AppRole), token lookup/renew/revoke, a mount's engine and
//! KV version, and KV v1/v2 reads and lists. ESO's property selection on what was read is the
//! seam's (`secrets_core::store::RemoteValue`), the same for every store.
//!
//! Data flow:
//!
//! ```text
//!  VaultConfig ──[VaultClient::new]──▶ VaultClient (one hyper connection pool, rustls trusting
//!                                      only the store's caBundle, or the system roots)
//!  login_kubernetes / login_approle / login_token / use_token ──▶ Token (secret zeroized, lease)
//!        Token::needs_renewal(now) ──▶ renew_self ──▶ Token (new lease)   (revoke_self at the end)
//!  mount_info(token, mount) ──▶ MountInfo (engine, KV version) ──[expect_kv(version)]──▶ ok?
//!  kv_read(token, mount, KvVersion, key, version) ──▶ KvSecret ──[into_value]──▶ RemoteValue
//!                                                    (select(property) / entries() → bytes)
//!  every call ──▶ observer(Call, Outcome) and per-call counters (provider_calls_total)
//! ```
//!
//! Each call builds one request (`X-Vault-Token`, `X-Vault-Namespace`), sends it under the
//! configured timeout (connect, answer and body together), reads the body into a buffer that
//! is zeroized when dropped, parses it to JSON and maps the status to a [`VaultError`] that
//! callers branch on. [`VaultError::NotFound`] is reserved for "the provider answered that the
//! secret is gone", the one answer on which the agent may delete synced data; a refused
//! connection, a timeout, a sealed server or an unknown route are all other variants. A KV v1
//! mount read as v2 answers every read like a secret never written, so that answer is trusted
//! only after [`VaultClient::mount_info`] has shown the mount is what it is read as.
//!
//! # Why our own client and not `vaultrs`
//! - Stores carry the CA as an inline PEM `caBundle`. `vaultrs` takes CA *file paths*
//!   (`VaultClientSettings::ca_certs: Vec<String>`, each read with `fs::read` and handed to
//!   reqwest's `add_root_certificate`, which adds to the built-in roots), so we would write the
//!   PEM to disk and still trust every public CA as well. Here a `caBundle` is the only trust.
//! - We need per-call outcomes for `provider_calls_total`, one timeout covering the whole call,
//!   and response buffers we can wipe; a wrapper around someone else's client sees none of that.
//! - `vaultrs` brings reqwest, a second HTTP/TLS stack beside the hyper + rustls that kube
//!   already puts in the agent and the plugin.
//!
//! The client is small because the surface is: a dozen endpoints, JSON in and out.
//!
//! # Secrets in memory
//! Tokens live in [`Token`] (zeroized on drop, redacted in `Debug`); response bodies are read
//! into zeroizing buffers and the parsed JSON has its strings wiped on drop; request bodies
//! carrying a JWT or a secret id are serialised into zeroizing buffers. Not covered (not ours
//! to wipe): hyper's and rustls' internal I/O buffers, the `X-Vault-Token` header value, and
//! scratch space serde_json uses while parsing escaped strings. No error, `Debug` output or
//! observer event carries a token or a secret value.

mod auth;
mod buffer;
mod client;
mod config;
mod error;
mod kv;
mod mount;
mod observe;
mod path;
mod select;
mod store;
mod tls;

pub use auth::{Token, TokenInfo};
pub use client::VaultClient;
pub use config::VaultConfig;
pub use error::VaultError;
pub use kv::{KvSecret, KvVersion};
pub use mount::MountInfo;
pub use observe::{Call, Observer, Outcome};
pub use select::SelectError;
pub use store::{AuthMethod, StoreOptions, VaultStore, check_version};

/// This store's type: the `store` metric label.
pub const STORE_TYPE: secrets_core::store::StoreType = secrets_core::store::StoreType::new("vault");

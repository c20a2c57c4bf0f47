//! `secrets-store-azure`: the Azure Key Vault store (work in progress: pure parts first).

pub mod certkey;
pub mod claims;
pub mod cloud;
pub mod identity;
pub mod limit;
pub mod object;
pub mod wire;

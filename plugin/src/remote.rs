//! Reading a store from the person's machine with the person's own credentials: [`browse`]
//! walks a mount for the wizards, [`stores`]
//! finds a SecretStore or ClusterSecretStore and turns it into coordinates, [`vault`] reaches
//! Vault / OpenBao with the token the person's environment holds. The agent's identity is
//! never borrowed.

pub(crate) mod browse;
pub(crate) mod stores;
pub(crate) mod vault;

//! The sync pattern on the person's side: [`manifest`] builds ExternalSecrets and SecretStores
//! from flags or the wizard and checks them with the agent's own validation; [`prompt`] asks
//! the wizard's questions. The commands themselves are in `cmd::sync*`.

pub(crate) mod manifest;
pub(crate) mod prompt;

//! The sync pattern on the person's side: [`manifest`] builds ExternalSecrets and [`store`]
//! SecretStores from flags or the wizard, both checked with the agent's own validation;
//! [`prompt`] asks the wizard's questions, [`cloud_prompt`] those of a new cloud store. The
//! commands themselves are in `cmd::sync*`.

pub(crate) mod cloud_prompt;
pub(crate) mod manifest;
pub(crate) mod prompt;
pub(crate) mod store;

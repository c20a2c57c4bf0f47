//! Reading a store from the person's machine with the person's own credentials, never the
//! store's, for every provider: [`stores`] finds a SecretStore or ClusterSecretStore and says
//! which provider it reads and where; [`session`] opens it (Vault through [`vault`], with the
//! token the person's environment holds; AWS, Azure and GCP through their store crates, with
//! credentials found by [`aws`], [`azure`], [`gcp`] where each cloud's CLI and SDKs look,
//! running [`cli`] for a token when the cloud keeps its login there); [`browse`] walks it for
//! the wizards; [`keys`] checks a key and version against the store type. The agent's
//! identity is never borrowed.

pub(crate) mod aws;
pub(crate) mod azure;
pub(crate) mod browse;
pub(crate) mod cli;
pub(crate) mod gcp;
pub(crate) mod keys;
pub(crate) mod session;
pub(crate) mod stores;
pub(crate) mod vault;

use secrets_core::store::Credentials;

/// A person's credentials for a cloud store, and where they were found (for messages; never
/// a value).
#[derive(Debug)]
pub(crate) struct Person {
    pub(crate) credentials: Credentials,
    /// `AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY`, `profile dev in ~/.aws/credentials`, …
    pub(crate) source: String,
}

#[cfg(test)]
pub(crate) mod tests {
    use secrets_core::store::Credentials;

    /// A fake environment of `pairs`.
    pub(crate) fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    /// The named values of `Credentials::Keys`, in name order.
    pub(crate) fn keys(c: &Credentials) -> Vec<(&str, &str)> {
        match c {
            Credentials::Keys(k) => k.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect(),
            other => panic!("keys expected, got {other:?}"),
        }
    }
}

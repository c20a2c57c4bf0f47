//! Reaching Vault / OpenBao from the person's machine with the person's *own* credentials,
//! never the store's: `fetch remote` and the `sync` wizard read and browse what the person may
//! read, and the agent's identity stays the agent's.
//!
//! Data flow: the environment, as the `vault` and `bao` CLIs read it (`VAULT_TOKEN`, else
//! `BAO_TOKEN`, else the token helper's file `~/.vault-token`; `VAULT_CACERT`/`BAO_CACERT`;
//! `VAULT_NAMESPACE`/`BAO_NAMESPACE`) → [`Credentials`] (checked before any network call, so
//! a missing token fails fast) → with a store's [`Coordinates`] (server, mount, KV version,
//! namespace, CA; from `crate::remote::stores`) → [`open`]: the Vault store behind the
//! store seam (`secrets_store_vault::VaultStore`, given the person's token as its credentials),
//! logged in with a token that `lookup-self` accepted → a [`Session`] whose `list` / `read`
//! go through the seam, as the agent reads.
//!
//! Precedence: the store's `server` unless `--vault-addr`; `VAULT_CACERT` when set, else the
//! store's CA; the store's `namespace`, else `VAULT_NAMESPACE`. Token text never reaches an
//! error or a log line.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use anyhow::{Context as _, bail};
use secrets_core::api::secret_store::VaultKvVersion;
use secrets_core::store::{Credentials as StoreCredentials, ErrorKind, StoreError};
use secrets_store_vault::{AuthMethod, StoreOptions, VaultConfig, VaultStore};
use zeroize::Zeroizing;

use super::session::{Layout, Session};

/// Environment variables, in precedence order, for each setting.
const TOKEN_VARS: [&str; 2] = ["VAULT_TOKEN", "BAO_TOKEN"];
const ADDR_VARS: [&str; 2] = ["VAULT_ADDR", "BAO_ADDR"];
const CACERT_VARS: [&str; 2] = ["VAULT_CACERT", "BAO_CACERT"];
const NAMESPACE_VARS: [&str; 2] = ["VAULT_NAMESPACE", "BAO_NAMESPACE"];
/// The file `vault login` and `bao login` leave the token in, under the home directory.
const TOKEN_FILE: &str = ".vault-token";

/// Where a store keeps its secrets and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coordinates {
    /// `http(s)://…` URL.
    pub(crate) server: String,
    /// KV mount, without slashes.
    pub(crate) mount: String,
    pub(crate) engine: VaultKvVersion,
    /// Vault Enterprise / OpenBao namespace.
    pub(crate) namespace: Option<String>,
    /// PEM CA bundle to trust instead of the system roots.
    pub(crate) ca_bundle: Option<Vec<u8>>,
}

/// The person's own Vault credentials.
pub(crate) struct Credentials {
    token: Zeroizing<String>,
    /// Where the token came from, for messages (`VAULT_TOKEN`, `/home/me/.vault-token`).
    source: String,
    ca_file: Option<PathBuf>,
    namespace: Option<String>,
}

impl Credentials {
    /// From this process's environment and home directory.
    pub(crate) fn from_env() -> anyhow::Result<Credentials> {
        resolve(
            &|name| std::env::var(name).ok(),
            dirs::home_dir().as_deref(),
        )
    }

    /// Where the token came from (tests check the search order with it).
    #[cfg(test)]
    pub(crate) fn source(&self) -> &str {
        &self.source
    }
}

/// The first non-empty variable of `names`, with its name.
fn first_var(
    env: &dyn Fn(&str) -> Option<String>,
    names: &[&'static str],
) -> Option<(&'static str, String)> {
    names.iter().find_map(|name| {
        env(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*name, v))
    })
}

/// `VAULT_ADDR`, else `BAO_ADDR`: the person's usual server (the wizard's default address).
pub(crate) fn default_addr() -> Option<String> {
    first_var(&|name| std::env::var(name).ok(), &ADDR_VARS).map(|(_, v)| v)
}

/// `VAULT_NAMESPACE`, else `BAO_NAMESPACE`.
pub(crate) fn default_namespace() -> Option<String> {
    first_var(&|name| std::env::var(name).ok(), &NAMESPACE_VARS).map(|(_, v)| v)
}

fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> anyhow::Result<Credentials> {
    let ca_file = first_var(env, &CACERT_VARS).map(|(_, v)| PathBuf::from(v));
    let namespace = first_var(env, &NAMESPACE_VARS).map(|(_, v)| v);
    if let Some((name, token)) = first_var(env, &TOKEN_VARS) {
        return Ok(Credentials {
            token: Zeroizing::new(token.trim().to_owned()),
            source: name.to_owned(),
            ca_file,
            namespace,
        });
    }
    let file = home.map(|h| h.join(TOKEN_FILE));
    if let Some(file) = &file {
        match std::fs::read_to_string(file) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                if !text.trim().is_empty() {
                    return Ok(Credentials {
                        token: Zeroizing::new(text.trim().to_owned()),
                        source: file.display().to_string(),
                        ca_file,
                        namespace,
                    });
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("reading your vault token {}", file.display()));
            }
        }
    }
    let looked = file.map_or_else(String::new, |f| format!(", nor in {}", f.display()));
    bail!(
        "no vault token of yours: not in VAULT_TOKEN or BAO_TOKEN{looked}; set VAULT_TOKEN or \
         run `vault login` / `bao login` (the store's own credentials are never used here)"
    )
}

/// Connect to `coordinates` (or `--vault-addr`) and check the person's token with
/// `lookup-self`: a [`Session`] on the store's KV mount.
pub(crate) async fn open(
    mut coordinates: Coordinates,
    credentials: &Credentials,
    vault_addr: Option<&str>,
) -> anyhow::Result<Session> {
    if let Some(addr) = vault_addr {
        coordinates.server = addr.to_owned();
    }
    let mut config = VaultConfig::new(coordinates.server.clone());
    if let Some(ns) = coordinates
        .namespace
        .clone()
        .or_else(|| credentials.namespace.clone())
    {
        config = config.with_namespace(ns);
    }
    if let Some(path) = &credentials.ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("reading the CA file {} (VAULT_CACERT)", path.display()))?;
        config = config.with_ca_bundle(pem);
    } else if let Some(pem) = &coordinates.ca_bundle {
        config = config.with_ca_bundle(pem.clone());
    }
    let server = coordinates.server.clone();
    // A person's read deletes nothing, so "not found" needs no mount check here.
    let options = StoreOptions {
        mount_check: false,
        ..StoreOptions::new(server.clone())
    };
    let store = VaultStore::new(
        &config,
        &coordinates.mount,
        coordinates.engine,
        AuthMethod::Token { look_up: true },
        Arc::new(StoreCredentials::Token(credentials.token.clone())),
        options,
    )
    .with_context(|| format!("setting up a vault client for {server}"))?;
    store
        .login()
        .await
        .map_err(|err| reach_hint(err, vault_addr.is_none()))
        .with_context(|| {
            format!(
                "checking your vault token (from {}) with {server}",
                credentials.source
            )
        })?;
    Ok(Session::new(
        Arc::new(store),
        Layout::Mount,
        coordinates.mount.clone(),
        server,
        credentials.source.clone(),
    ))
}

/// An unreachable server gets a hint: the store's address may only resolve in the cluster.
fn reach_hint(err: StoreError, from_store: bool) -> anyhow::Error {
    let unreachable = matches!(err.kind(), ErrorKind::Unavailable | ErrorKind::Timeout);
    let err = anyhow::Error::new(err);
    if unreachable && from_store {
        err.context(
            "the store's address may only be reachable inside the cluster: pass --vault-addr URL \
             (e.g. through `kubectl port-forward`)",
        )
    } else {
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
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

    #[test]
    fn vault_token_wins_over_bao_token_and_the_file() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".vault-token"), "from-file\n").unwrap();
        let c = resolve(
            &env(&[("VAULT_TOKEN", "v"), ("BAO_TOKEN", "b")]),
            Some(home.path()),
        )
        .unwrap();
        assert_eq!((c.token.as_str(), c.source()), ("v", "VAULT_TOKEN"));
        let c = resolve(&env(&[("BAO_TOKEN", "b")]), Some(home.path())).unwrap();
        assert_eq!((c.token.as_str(), c.source()), ("b", "BAO_TOKEN"));
        let c = resolve(&env(&[("VAULT_TOKEN", " ")]), Some(home.path())).unwrap();
        assert_eq!(c.token.as_str(), "from-file");
        assert!(c.source().ends_with(".vault-token"));
    }

    #[test]
    fn no_token_names_where_it_looked() {
        let home = tempfile::tempdir().unwrap();
        let err = resolve(&env(&[]), Some(home.path()))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("VAULT_TOKEN or BAO_TOKEN"), "{err}");
        assert!(err.contains(".vault-token"), "{err}");
        std::fs::write(home.path().join(".vault-token"), "\n").unwrap();
        assert!(resolve(&env(&[]), Some(home.path())).is_err());
    }

    #[test]
    fn ca_file_and_namespace_come_from_either_prefix() {
        let c = resolve(
            &env(&[
                ("VAULT_TOKEN", "t"),
                ("BAO_CACERT", "/ca.pem"),
                ("VAULT_NAMESPACE", "team"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(c.ca_file.as_deref(), Some(Path::new("/ca.pem")));
        assert_eq!(c.namespace.as_deref(), Some("team"));
    }
}

//! The `sync` wizard's questions (dialoguer, on stderr). No IO here besides the terminal:
//! `cmd::sync` asks the cluster and Vault between questions and passes what it learned in.
//! Secret values are never asked for nor shown; only key names and paths.

use anyhow::Context as _;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, MultiSelect, Select};
use secrets_core::api::secret_store::VaultKvVersion;
use secrets_core::secret;
use secrets_core::sync::duration;

use crate::remote::stores::Found;
use crate::sync::store::{StoreAuth, StoreRequest};

/// ESO's default refresh interval, offered as the answer; accepting it writes nothing.
pub(crate) const DEFAULT_REFRESH: &str = "1h";

pub(crate) fn text(
    theme: &ColorfulTheme,
    prompt: &str,
    default: Option<String>,
) -> anyhow::Result<String> {
    let mut input = Input::<String>::with_theme(theme).with_prompt(prompt);
    if let Some(default) = default.filter(|d| !d.is_empty()) {
        input = input.default(default);
    }
    input
        .interact_text()
        .with_context(|| format!("asking for {}", prompt.to_lowercase()))
}

/// An answer that may be left empty (then `None`).
pub(crate) fn optional(
    theme: &ColorfulTheme,
    prompt: &str,
    default: Option<String>,
) -> anyhow::Result<Option<String>> {
    let answer: String = Input::with_theme(theme)
        .with_prompt(prompt)
        .with_initial_text(default.unwrap_or_default())
        .allow_empty(true)
        .interact_text()
        .with_context(|| format!("asking for {}", prompt.to_lowercase()))?;
    let answer = answer.trim().to_owned();
    Ok((!answer.is_empty()).then_some(answer))
}

/// A name Kubernetes accepts.
pub(crate) fn k8s_name(
    theme: &ColorfulTheme,
    prompt: &str,
    default: String,
) -> anyhow::Result<String> {
    Input::with_theme(theme)
        .with_prompt(prompt)
        .default(default)
        .validate_with(|n: &String| secret::validate_name(n).map_err(|e| e.to_string()))
        .interact_text()
        .with_context(|| format!("asking for {}", prompt.to_lowercase()))
}

pub(crate) fn pick(theme: &ColorfulTheme, prompt: &str, items: &[String]) -> anyhow::Result<usize> {
    Select::with_theme(theme)
        .with_prompt(prompt)
        .items(items)
        .default(0)
        .interact()
        .with_context(|| format!("asking for {}", prompt.to_lowercase()))
}

pub(crate) fn namespace(theme: &ColorfulTheme, default: String) -> anyhow::Result<String> {
    Input::with_theme(theme)
        .with_prompt("Namespace")
        .default(default)
        .validate_with(|ns: &String| secret::validate_namespace(ns).map_err(|e| e.to_string()))
        .interact_text()
        .context("asking for the namespace")
}

/// An existing store (its index) or `None` to create one.
pub(crate) fn choose_store(
    theme: &ColorfulTheme,
    stores: &[Found],
) -> anyhow::Result<Option<usize>> {
    if stores.is_empty() {
        eprintln!("No SecretStore or ClusterSecretStore to use here yet: let's create one.");
        return Ok(None);
    }
    let mut items: Vec<String> = stores
        .iter()
        .map(|s| format!("{} ({})", s.describe(), s.location()))
        .collect();
    items.push("Create a new SecretStore".to_owned());
    let index = pick(theme, "Store", &items)?;
    Ok((index < stores.len()).then_some(index))
}

/// Everything a new SecretStore needs.
pub(crate) fn new_store(
    theme: &ColorfulTheme,
    namespace: &str,
    default_addr: Option<String>,
    default_vault_namespace: Option<String>,
) -> anyhow::Result<StoreRequest> {
    let name = k8s_name(theme, "SecretStore name", "vault".to_owned())?;
    let server: String = Input::with_theme(theme)
        .with_prompt("Vault address (as the agent reaches it)")
        .with_initial_text(default_addr.unwrap_or_default())
        .validate_with(|s: &String| {
            if s.starts_with("http://") || s.starts_with("https://") {
                Ok(())
            } else {
                Err("an http:// or https:// URL")
            }
        })
        .interact_text()
        .context("asking for the vault address")?;
    let mount = text(theme, "KV mount", Some("secret".to_owned()))?;
    let version = match pick(theme, "KV version", &["v2".to_owned(), "v1".to_owned()])? {
        0 => VaultKvVersion::V2,
        _ => VaultKvVersion::V1,
    };
    let vault_namespace = optional(
        theme,
        "Vault namespace (empty for none)",
        default_vault_namespace,
    )?;
    let kinds = [
        "tokenSecretRef: a Vault token kept in a Secret".to_owned(),
        "kubernetes: a service account's token".to_owned(),
        "appRole: a role id and a secret id kept in a Secret".to_owned(),
    ];
    let auth = match pick(theme, "How the agent logs in", &kinds)? {
        0 => StoreAuth::Token {
            secret: k8s_name(theme, "Secret holding the token", format!("{name}-token"))?,
            key: text(theme, "Key in that Secret", Some("token".to_owned()))?,
        },
        1 => StoreAuth::Kubernetes {
            mount: optional(theme, "Auth mount (empty: kubernetes)", None)?,
            role: text(theme, "Vault role", None)?,
            service_account: k8s_name(theme, "Service account", "default".to_owned())?,
            audience: optional(
                theme,
                "Token audience (empty: the API server's)",
                Some("vault".to_owned()),
            )?,
        },
        _ => StoreAuth::AppRole {
            mount: optional(theme, "Auth mount (empty: approle)", None)?,
            role_id: text(theme, "Role id", None)?,
            secret: k8s_name(
                theme,
                "Secret holding the secret id",
                format!("{name}-approle"),
            )?,
            key: text(theme, "Key in that Secret", Some("secret-id".to_owned()))?,
        },
    };
    Ok(StoreRequest {
        name,
        namespace: namespace.to_owned(),
        server,
        mount: mount.trim_matches('/').to_owned(),
        version,
        vault_namespace,
        auth,
    })
}

/// One step of browsing the mount.
pub(crate) enum Browse {
    /// Go into this folder (ends in `/`).
    Into(String),
    /// Back to the parent folder.
    Up,
    /// This secret.
    Pick(String),
    /// The person will type the path.
    Type,
}

/// Choose among `entries` (as `kv_list` gives them) under `prefix`.
pub(crate) fn browse(
    theme: &ColorfulTheme,
    location: &str,
    at_root: bool,
    entries: &[String],
) -> anyhow::Result<Browse> {
    let mut items = Vec::new();
    if !at_root {
        items.push(".. (up)".to_owned());
    }
    items.extend(entries.iter().cloned());
    items.push("Type a path…".to_owned());
    let index = pick(theme, &format!("Secret in {location}"), &items)?;
    let index = if at_root {
        index
    } else if index == 0 {
        return Ok(Browse::Up);
    } else {
        index - 1
    };
    Ok(match entries.get(index) {
        Some(entry) if entry.ends_with('/') => Browse::Into(entry.clone()),
        Some(entry) => Browse::Pick(entry.clone()),
        None => Browse::Type,
    })
}

/// A secret key typed in full: `prompt` names where (`Path of the secret under mount
/// secret`), `hint` what one looks like.
pub(crate) fn type_path(
    theme: &ColorfulTheme,
    prompt: &str,
    hint: &'static str,
) -> anyhow::Result<String> {
    let path: String = Input::with_theme(theme)
        .with_prompt(prompt)
        .validate_with(|p: &String| {
            if p.trim_matches('/').is_empty() {
                Err(hint)
            } else {
                Ok(())
            }
        })
        .interact_text()
        .context("asking for the secret's path")?;
    Ok(path.trim_matches('/').to_owned())
}

/// `(property, Secret key)` pairs; empty for the whole secret (`dataFrom.extract`).
pub(crate) fn choose_properties(
    theme: &ColorfulTheme,
    keys: &[String],
) -> anyhow::Result<Vec<(String, String)>> {
    let whole = format!("Every key ({} of them, as they are named)", keys.len());
    let chosen = "Some keys, renamed as you like".to_owned();
    if pick(theme, "What to sync", &[whole, chosen])? == 0 {
        return Ok(Vec::new());
    }
    let picked = loop {
        let picked = MultiSelect::with_theme(theme)
            .with_prompt("Keys to sync (space to choose, enter to confirm)")
            .items(keys)
            .interact()
            .context("asking for the keys")?;
        if !picked.is_empty() {
            break picked;
        }
        eprintln!("Choose at least one key (space), then press enter.");
    };
    picked
        .into_iter()
        .map(|i| {
            let property = keys[i].clone();
            secret_key(theme, &property).map(|key| (property, key))
        })
        .collect()
}

fn secret_key(theme: &ColorfulTheme, property: &str) -> anyhow::Result<String> {
    Input::with_theme(theme)
        .with_prompt(format!("Secret key for {property}"))
        .default(property.to_owned())
        .validate_with(|k: &String| secret::validate_key(k).map_err(|e| e.to_string()))
        .interact_text()
        .context("asking for a Secret key")
}

/// Properties typed by hand (when the person may not read the secret): empty for all.
pub(crate) fn type_properties(theme: &ColorfulTheme) -> anyhow::Result<Vec<(String, String)>> {
    let typed = optional(
        theme,
        "Properties, comma-separated (empty: every key)",
        None,
    )?;
    typed
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| secret_key(theme, p).map(|key| (p.to_owned(), key)))
        .collect()
}

/// The ExternalSecret's name, its target Secret, and the refresh interval (`None` when the
/// default is kept, so nothing is written).
pub(crate) struct Naming {
    pub(crate) name: String,
    pub(crate) target: Option<String>,
    pub(crate) refresh: Option<String>,
}

pub(crate) fn naming(theme: &ColorfulTheme, default_name: String) -> anyhow::Result<Naming> {
    let es = k8s_name(theme, "ExternalSecret name", default_name)?;
    let target = k8s_name(theme, "Secret to write", es.clone())?;
    let refresh: String = Input::with_theme(theme)
        .with_prompt("Refresh interval (0: once)")
        .default(DEFAULT_REFRESH.to_owned())
        .validate_with(|d: &String| duration::parse(d).map(|_| ()))
        .interact_text()
        .context("asking for the refresh interval")?;
    Ok(Naming {
        target: (target != es).then_some(target),
        name: es,
        refresh: (refresh != DEFAULT_REFRESH).then_some(refresh),
    })
}

pub(crate) fn confirm(theme: &ColorfulTheme, prompt: &str) -> anyhow::Result<bool> {
    Confirm::with_theme(theme)
        .with_prompt(prompt)
        .default(true)
        .interact()
        .context("asking for confirmation")
}

/// Replace an existing object? No unless the person says yes.
pub(crate) fn confirm_replace(theme: &ColorfulTheme, what: &str) -> anyhow::Result<bool> {
    Confirm::with_theme(theme)
        .with_prompt(format!("{what} already exists. Replace it?"))
        .default(false)
        .interact()
        .context("asking whether to replace it")
}

/// A DNS-safe default name from a secret path: its last segment, lowercased.
pub(crate) fn name_from_path(path: &str) -> String {
    let last = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let cleaned: String = last
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('-').to_owned();
    if cleaned.is_empty() {
        "synced-secret".to_owned()
    } else {
        cleaned
            .chars()
            .take(63)
            .collect::<String>()
            .trim_end_matches('-')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_from_paths_are_dns_safe() {
        assert_eq!(super::name_from_path("app/db"), "db");
        assert_eq!(
            super::name_from_path("app/My_Config.json"),
            "my-config-json"
        );
        assert_eq!(super::name_from_path("__"), "synced-secret");
    }
}

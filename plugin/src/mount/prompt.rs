//! The `mount` wizard's questions (dialoguer, on stderr). No IO besides the terminal:
//! `cmd::mount_wizard` reads the cluster and the store between questions and passes what it
//! learned in. Only names, paths and key names are shown, never a value. The shared questions
//! (namespace, browsing a mount, confirming) are the `sync` wizard's (`crate::sync::prompt`).

use anyhow::Context as _;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, MultiSelect};
use secrets_core::mount::params::check_path;

use crate::mount::objects::FileArg;
use crate::sync::prompt::pick;

/// Pick one of `items` (at least one).
pub(crate) fn choose(
    theme: &ColorfulTheme,
    prompt: &str,
    items: &[String],
) -> anyhow::Result<usize> {
    pick(theme, prompt, items)
}

/// Several of `items`, every one chosen to begin with; at least one.
fn several(
    theme: &ColorfulTheme,
    prompt: &str,
    items: &[String],
    all: bool,
) -> anyhow::Result<Vec<usize>> {
    loop {
        let picked = MultiSelect::with_theme(theme)
            .with_prompt(prompt)
            .items(items)
            .defaults(&vec![all; items.len()])
            .interact()
            .with_context(|| format!("asking for {}", prompt.to_lowercase()))?;
        if !picked.is_empty() {
            return Ok(picked);
        }
        eprintln!("Choose at least one (space), then press enter.");
    }
}

/// The containers to mount into: all of them unless the person unticks some.
pub(crate) fn containers(theme: &ColorfulTheme, names: &[String]) -> anyhow::Result<Vec<String>> {
    if names.len() <= 1 {
        return Ok(names.to_vec());
    }
    let picked = several(
        theme,
        "Containers to mount into (space to toggle, enter to confirm)",
        names,
        true,
    )?;
    Ok(picked.into_iter().map(|i| names[i].clone()).collect())
}

/// A file name in the volume, checked with the provider's path rule.
pub(crate) fn file_name(
    theme: &ColorfulTheme,
    prompt: &str,
    default: String,
) -> anyhow::Result<String> {
    Input::with_theme(theme)
        .with_prompt(prompt)
        .default(default)
        .validate_with(|p: &String| check_path(p))
        .interact_text()
        .context("asking for a file name")
}

/// Chosen keys of a secret, one file each (named as the person says).
pub(crate) fn files_for_keys(
    theme: &ColorfulTheme,
    keys: &[String],
) -> anyhow::Result<Vec<FileArg>> {
    let picked = several(
        theme,
        "Keys to mount (space to choose, enter to confirm)",
        keys,
        false,
    )?;
    picked
        .into_iter()
        .map(|i| {
            let key = keys[i].clone();
            let file = file_name(theme, &format!("File for {key}"), key.clone())?;
            Ok(FileArg {
                file: (file != key).then_some(file),
                property: Some(key),
                mode: None,
            })
        })
        .collect()
}

/// The whole remote secret as one JSON file (`true`) or chosen keys.
pub(crate) fn whole_secret(theme: &ColorfulTheme, count: usize) -> anyhow::Result<bool> {
    let items = [
        format!("Some keys, one file each ({count} keys)"),
        "The whole secret as one JSON file".to_owned(),
    ];
    Ok(pick(theme, "What to mount", &items)? == 1)
}

/// Properties typed by hand (when the person may not read the secret); empty: the whole
/// secret.
pub(crate) fn type_properties(theme: &ColorfulTheme) -> anyhow::Result<Vec<FileArg>> {
    let typed: String = Input::with_theme(theme)
        .with_prompt("Properties, comma-separated (empty: the whole secret as JSON)")
        .allow_empty(true)
        .interact_text()
        .context("asking for the properties")?;
    typed
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let file = file_name(theme, &format!("File for {p}"), p.to_owned())?;
            Ok(FileArg {
                file: (file != p).then_some(file),
                property: Some(p.to_owned()),
                mode: None,
            })
        })
        .collect()
}

/// Another secret into the same volume?
pub(crate) fn more(theme: &ColorfulTheme) -> anyhow::Result<bool> {
    Confirm::with_theme(theme)
        .with_prompt("Add files from another secret?")
        .default(false)
        .interact()
        .context("asking whether to add more")
}

/// The mount path, checked as `--mount-path` is.
pub(crate) fn mount_path(theme: &ColorfulTheme, default: String) -> anyhow::Result<String> {
    Input::with_theme(theme)
        .with_prompt("Mount path in the containers")
        .default(default)
        .validate_with(|p: &String| crate::mount::workload::check_mount_path(p))
        .interact_text()
        .context("asking for the mount path")
}

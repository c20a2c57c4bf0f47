//! From the object flags to a checked `MountSpec`.
//!
//! Data flow: the flags in typed order (`cli::SourceArg`) → [`group`]: one [`Source`] per
//! `--key` / `--sealed-secret` with its files (`--property`, `--file`, `--mode`) → `cmd::mount`
//! reads the SealedSecrets named (their keys) → [`spec`]: one `MountObject` per file (file
//! names defaulted, modes parsed, SealedSecret keys checked) → the parameters written and read
//! back with `MountSpec::from_parameters`, the provider's own validation (paths, duplicates,
//! modes), so what the plugin writes is what the provider accepts.

use std::collections::BTreeMap;

use secrets_core::mount::params::{
    DEFAULT_MODE, MountObject, MountSpec, ObjectSource, StoreKind, StoreRef,
};

use crate::cli::SourceArg;

/// Where a group of files comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `--key PATH` in the store.
    Remote(String),
    /// `--sealed-secret NAME`.
    Sealed(String),
}

/// One file asked for; `None`s take their defaults in [`spec`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct FileArg {
    pub(crate) property: Option<String>,
    pub(crate) file: Option<String>,
    pub(crate) mode: Option<String>,
}

/// A `--key` or `--sealed-secret` and the files that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    pub(crate) origin: Origin,
    /// Empty: the whole remote secret as one file, or every key of the SealedSecret.
    pub(crate) files: Vec<FileArg>,
    /// `--file`/`--mode` given before any `--property` of this source (the whole secret).
    pub(crate) whole: FileArg,
}

/// The flags grouped by the source they follow, and a `--mode` typed before any source
/// (the default mode of every file).
pub(crate) fn group(order: &[SourceArg]) -> Result<(Vec<Source>, Option<String>), String> {
    let mut sources: Vec<Source> = Vec::new();
    let mut default_mode = None;
    for arg in order {
        let start = |origin| Source {
            origin,
            files: Vec::new(),
            whole: FileArg::default(),
        };
        match arg {
            SourceArg::Key(key) => sources.push(start(Origin::Remote(key.clone()))),
            SourceArg::SealedSecret(name) => sources.push(start(Origin::Sealed(name.clone()))),
            SourceArg::Property(property) => {
                let source = sources.last_mut().ok_or_else(|| {
                    format!("--property {property} must follow a --key or --sealed-secret")
                })?;
                source.files.push(FileArg {
                    property: Some(property.clone()),
                    ..FileArg::default()
                });
            }
            SourceArg::File(file) => {
                let source = sources
                    .last_mut()
                    .ok_or_else(|| format!("--file {file} must follow a --key or --property"))?;
                let slot = match source.files.last_mut() {
                    Some(last) => &mut last.file,
                    None if matches!(source.origin, Origin::Sealed(_)) => {
                        return Err(format!(
                            "--file {file} must follow a --property of the --sealed-secret"
                        ));
                    }
                    None => &mut source.whole.file,
                };
                if slot.replace(file.clone()).is_some() {
                    return Err(format!("--file {file}: that file already has a --file"));
                }
            }
            SourceArg::Mode(mode) => {
                let slot = match sources.last_mut() {
                    None => &mut default_mode,
                    Some(source) => match source.files.last_mut() {
                        Some(last) => &mut last.mode,
                        None => &mut source.whole.mode,
                    },
                };
                if slot.replace(mode.clone()).is_some() {
                    return Err(format!("--mode {mode}: that file already has a --mode"));
                }
            }
        }
    }
    Ok((sources, default_mode))
}

/// `0440`, `440` or `0o440`: an octal mode up to 0777.
pub(crate) fn parse_mode(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return Err(format!("--mode {text:?} is not an octal mode such as 0440"));
    }
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(format!("--mode {text:?} is above 0777")),
    }
}

/// The file name of a whole remote secret: its key's last `/` segment.
fn last_segment(key: &str) -> String {
    key.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// What [`spec`] needs besides the sources.
pub(crate) struct SpecInput<'a> {
    pub(crate) sources: &'a [Source],
    pub(crate) default_mode: Option<&'a str>,
    pub(crate) store: Option<StoreRef>,
    pub(crate) audience: Option<String>,
    /// The keys of each SealedSecret named (encryptedData and template.data).
    pub(crate) sealed_keys: &'a BTreeMap<String, Vec<String>>,
}

/// The checked spec: the provider's own validation of what will be written.
pub(crate) fn spec(input: &SpecInput<'_>) -> Result<MountSpec, String> {
    if input.sources.is_empty() {
        return Err(
            "nothing to mount: pass --key PATH (with --store) or --sealed-secret NAME".into(),
        );
    }
    let default_mode = match input.default_mode {
        Some(text) => parse_mode(text)?,
        None => DEFAULT_MODE,
    };
    let mode_of = |file: &FileArg| match &file.mode {
        Some(text) => parse_mode(text),
        None => Ok(default_mode),
    };
    let mut objects = Vec::new();
    for source in input.sources {
        match &source.origin {
            Origin::Remote(key) => {
                if source.files.is_empty() {
                    objects.push(MountObject {
                        path: source
                            .whole
                            .file
                            .clone()
                            .unwrap_or_else(|| last_segment(key)),
                        source: ObjectSource::Remote {
                            key: key.clone(),
                            property: None,
                            version: None,
                        },
                        mode: mode_of(&source.whole)?,
                    });
                }
                for file in &source.files {
                    let property = file.property.clone().unwrap_or_default();
                    objects.push(MountObject {
                        path: file.file.clone().unwrap_or_else(|| property.clone()),
                        source: ObjectSource::Remote {
                            key: key.clone(),
                            property: Some(property),
                            version: None,
                        },
                        mode: mode_of(file)?,
                    });
                }
            }
            Origin::Sealed(name) => {
                let keys = input.sealed_keys.get(name).cloned().unwrap_or_default();
                let files: Vec<FileArg> = if source.files.is_empty() {
                    keys.iter()
                        .map(|key| FileArg {
                            property: Some(key.clone()),
                            mode: source.whole.mode.clone(),
                            ..FileArg::default()
                        })
                        .collect()
                } else {
                    source.files.clone()
                };
                for file in &files {
                    let key = file.property.clone().unwrap_or_default();
                    if !keys.contains(&key) {
                        return Err(format!(
                            "sealedsecret {name} has no key {key:?} (its keys: {})",
                            if keys.is_empty() {
                                "none".to_owned()
                            } else {
                                keys.join(", ")
                            }
                        ));
                    }
                    objects.push(MountObject {
                        path: file.file.clone().unwrap_or_else(|| key.clone()),
                        source: ObjectSource::SealedSecret {
                            name: name.clone(),
                            key,
                        },
                        mode: mode_of(file)?,
                    });
                }
            }
        }
    }
    let needs_store = objects
        .iter()
        .any(|o| matches!(o.source, ObjectSource::Remote { .. }));
    let store = if needs_store {
        input.store.clone()
    } else {
        None
    };
    if !needs_store && input.store.is_some() {
        return Err("--store is only used by --key objects: add a --key or drop --store".into());
    }
    let spec = MountSpec {
        store,
        objects,
        audience: input.audience.clone(),
        aws_auth: None,
    };
    MountSpec::from_parameters(&spec.to_parameters()).map_err(|err| err.to_string())
}

/// The store named by the flags.
pub(crate) fn store_ref(name: Option<&str>, cluster_wide: bool) -> Option<StoreRef> {
    name.map(|name| StoreRef {
        name: name.to_owned(),
        kind: if cluster_wide {
            StoreKind::ClusterSecretStore
        } else {
            StoreKind::SecretStore
        },
    })
}

#[cfg(test)]
#[path = "objects_tests.rs"]
mod tests;

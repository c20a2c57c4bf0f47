//! Browsing a store's mount with the person's own token, folder by folder, for the `sync` and
//! `mount` wizards: list (folders end in `/`) → the person goes in, up, picks a secret, or
//! types its path (also when listing is not allowed or finds nothing). Only names are shown.

use dialoguer::theme::ColorfulTheme;
use tokio::runtime::Runtime;

use crate::remote::vault::Session;
use crate::sync::prompt::{self as ask, Browse};

/// Walk the mount folder by folder until the person picks a secret (or types its path, when
/// listing is not allowed or finds nothing).
pub(crate) fn walk(
    rt: &Runtime,
    theme: &ColorfulTheme,
    session: &Session,
) -> anyhow::Result<String> {
    let mut prefix = String::new();
    loop {
        let location = format!("{}/{prefix}", session.mount());
        match rt.block_on(session.list(&prefix)) {
            Ok(entries) if !entries.is_empty() => {
                match ask::browse(theme, &location, prefix.is_empty(), &entries)? {
                    Browse::Into(folder) => prefix.push_str(&folder),
                    Browse::Up => {
                        let trimmed = prefix.trim_end_matches('/');
                        prefix = match trimmed.rfind('/') {
                            Some(at) => trimmed[..=at].to_owned(),
                            None => String::new(),
                        };
                    }
                    Browse::Pick(secret) => return Ok(format!("{prefix}{secret}")),
                    Browse::Type => return ask::type_path(theme, session.mount()),
                }
            }
            Ok(_) => {
                eprintln!("Nothing under {location}.");
                return ask::type_path(theme, session.mount());
            }
            Err(err) => {
                eprintln!("Cannot list {location} with your token ({err}).");
                return ask::type_path(theme, session.mount());
            }
        }
    }
}

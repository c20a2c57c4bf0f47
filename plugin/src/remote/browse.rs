//! Browsing a store with the person's own credentials, for the `sync` and `mount` wizards.
//! Vault: folder by folder under the mount (folders end in `/`): the person goes in, up,
//! picks a secret, or types its path. A cloud store: one list of its names to pick from (or
//! type one). Typing is offered also when listing is not allowed or finds nothing. Only
//! names are shown.

use dialoguer::theme::ColorfulTheme;
use tokio::runtime::Runtime;

use crate::remote::session::{Layout, Session};
use crate::sync::prompt::{self as ask, Browse};

/// Walk the store until the person picks a secret (or types its key).
pub(crate) fn walk(
    rt: &Runtime,
    theme: &ColorfulTheme,
    session: &Session,
) -> anyhow::Result<String> {
    let mut prefix = String::new();
    let typed = || ask::type_path(theme, &session.type_prompt(), session.key_hint());
    loop {
        let location = match session.layout() {
            Layout::Mount => format!("{}/{prefix}", session.root()),
            Layout::Flat => session.root().to_owned(),
        };
        match rt.block_on(session.list(&prefix)) {
            Ok(entries) if !entries.is_empty() => {
                match ask::browse(theme, &location, prefix.is_empty(), &entries)? {
                    // A flat store's names are whole keys, even with a `/` in them.
                    Browse::Into(name) if session.layout() == Layout::Flat => return Ok(name),
                    Browse::Into(folder) => prefix.push_str(&folder),
                    Browse::Up => {
                        let trimmed = prefix.trim_end_matches('/');
                        prefix = match trimmed.rfind('/') {
                            Some(at) => trimmed[..=at].to_owned(),
                            None => String::new(),
                        };
                    }
                    Browse::Pick(secret) => return Ok(format!("{prefix}{secret}")),
                    Browse::Type => return typed(),
                }
            }
            Ok(_) => {
                eprintln!("Nothing under {location}.");
                return typed();
            }
            Err(err) => {
                eprintln!("Cannot list {location} with {} ({err}).", session.yours());
                return typed();
            }
        }
    }
}

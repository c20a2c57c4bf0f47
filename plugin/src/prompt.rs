//! Questions for a person at the terminal (dialoguer, on stderr so stdout stays data).
//! Only used when stdin and stderr are terminals and `--yes` was not given; every other path
//! fails fast naming the flags to pass instead.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;

use anyhow::Context as _;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Password, Select};
use secrets_core::seal::crypto::Scope;
use secrets_core::secret::{self, Value};
use zeroize::Zeroizing;

/// A person is there to answer: stdin and stderr are terminals and `--yes` was not given.
pub(crate) fn attended(yes: bool) -> bool {
    !yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// What the flags already said; the wizard asks only for the rest, offering these as defaults.
pub(crate) struct SealDefaults {
    pub(crate) name: Option<String>,
    pub(crate) namespace: String,
    pub(crate) type_: Option<String>,
    pub(crate) scope: Option<Scope>,
    pub(crate) cert: Option<String>,
}

/// The wizard's result; values are zeroized on drop.
pub(crate) struct SealAnswers {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) type_: String,
    pub(crate) scope: Scope,
    pub(crate) cert: String,
    pub(crate) data: BTreeMap<String, Value>,
}

const TYPES: [&str; 5] = [
    "Opaque",
    "kubernetes.io/basic-auth",
    "kubernetes.io/tls",
    "kubernetes.io/dockerconfigjson",
    "kubernetes.io/ssh-auth",
];

pub(crate) fn seal_wizard(defaults: &SealDefaults) -> anyhow::Result<SealAnswers> {
    let theme = ColorfulTheme::default();
    eprintln!("Sealing a new Secret. Values are hidden as you type and never shown again.");
    let name: String = Input::with_theme(&theme)
        .with_prompt("Secret name")
        .with_initial_text(defaults.name.clone().unwrap_or_default())
        .validate_with(|name: &String| secret::validate_name(name).map_err(|e| e.to_string()))
        .interact_text()
        .context("asking for the name")?;
    let namespace: String = Input::with_theme(&theme)
        .with_prompt("Namespace")
        .default(defaults.namespace.clone())
        .validate_with(|ns: &String| secret::validate_namespace(ns).map_err(|e| e.to_string()))
        .interact_text()
        .context("asking for the namespace")?;
    let type_ = match &defaults.type_ {
        Some(type_) => type_.clone(),
        None => {
            let index = Select::with_theme(&theme)
                .with_prompt("Secret type")
                .items(TYPES)
                .default(0)
                .interact()
                .context("asking for the type")?;
            TYPES[index].to_owned()
        }
    };
    let scope = match defaults.scope {
        Some(scope) => scope,
        None => {
            let scopes = [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide];
            let labels = [
                "strict: only this name in this namespace",
                "namespace-wide: any name in this namespace",
                "cluster-wide: any name, any namespace",
            ];
            let index = Select::with_theme(&theme)
                .with_prompt("Scope")
                .items(labels)
                .default(0)
                .interact()
                .context("asking for the scope")?;
            scopes[index]
        }
    };
    let cert = match &defaults.cert {
        Some(cert) => cert.clone(),
        None => Input::with_theme(&theme)
            .with_prompt("Sealing certificate (path or URL)")
            .interact_text()
            .context("asking for the certificate")?,
    };
    let data = ask_values(&theme)?;

    eprintln!("\nAbout to seal:");
    eprintln!("  name:      {name}");
    eprintln!("  namespace: {namespace}");
    eprintln!("  type:      {type_}");
    eprintln!("  scope:     {scope}");
    for (key, value) in &data {
        eprintln!("  data:      {key} ({} bytes)", value.len());
    }
    let go = Confirm::with_theme(&theme)
        .with_prompt("Seal it?")
        .default(true)
        .interact()
        .context("asking for confirmation")?;
    if !go {
        anyhow::bail!("cancelled: nothing was written");
    }
    Ok(SealAnswers {
        name,
        namespace,
        type_,
        scope,
        cert,
        data,
    })
}

fn ask_values(theme: &ColorfulTheme) -> anyhow::Result<BTreeMap<String, Value>> {
    let mut data = BTreeMap::new();
    loop {
        let hint = if data.is_empty() {
            "Key"
        } else {
            "Next key (empty to finish)"
        };
        let key: String = Input::with_theme(theme)
            .with_prompt(hint)
            .allow_empty(!data.is_empty())
            .validate_with(|key: &String| {
                if key.is_empty() {
                    return Ok(());
                }
                secret::validate_key(key).map_err(|e| e.to_string())
            })
            .interact_text()
            .context("asking for a key")?;
        if key.is_empty() {
            return Ok(data);
        }
        let value = Zeroizing::new(
            Password::with_theme(theme)
                .with_prompt(format!("Value of {key}"))
                .allow_empty_password(true)
                .interact()
                .context("asking for a value")?,
        );
        data.insert(key, Zeroizing::new(value.as_bytes().to_vec()));
    }
}

//! Just enough kubeconfig to find the current context's namespace, the way kubectl does:
//! `$KUBECONFIG` (colon-separated, first file that sets a value wins) or `~/.kube/config`,
//! then `--context` or `current-context`. A missing kubeconfig is not an error: namespace
//! `default`, as kubectl.

use anyhow::Context as _;
use serde::Deserialize;

use crate::cli::GlobalFlags;

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Kubeconfig {
    current_context: Option<String>,
    #[serde(default)]
    contexts: Vec<NamedContext>,
}

#[derive(Deserialize)]
struct NamedContext {
    name: String,
    #[serde(default)]
    context: ContextBody,
}

#[derive(Deserialize, Default)]
struct ContextBody {
    namespace: Option<String>,
}

/// The namespace of the selected context, if the kubeconfig names one.
pub(crate) fn context_namespace(flags: &GlobalFlags) -> anyhow::Result<Option<String>> {
    let mut configs = Vec::new();
    for path in crate::cluster::kubeconfig_paths(flags) {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => {
                return Err(err).with_context(|| format!("reading kubeconfig {}", path.display()));
            }
        };
        let config: Option<Kubeconfig> = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("parsing kubeconfig {}", path.display()))?;
        configs.extend(config);
    }
    let Some(context) = flags
        .context
        .clone()
        .or_else(|| configs.iter().find_map(|c| c.current_context.clone()))
    else {
        return Ok(None);
    };
    let found = configs
        .iter()
        .flat_map(|c| &c.contexts)
        .find(|c| c.name == context);
    match found {
        Some(named) => Ok(named.context.namespace.clone()),
        None if flags.context.is_some() => {
            anyhow::bail!("context {context:?} not found in the kubeconfig")
        }
        None => Ok(None),
    }
}

/// The namespace a command works in: `-n`, else the context's, else `default` (as kubectl).
pub(crate) fn namespace(flags: &GlobalFlags) -> anyhow::Result<String> {
    match &flags.namespace {
        Some(ns) => Ok(ns.clone()),
        None => Ok(context_namespace(flags)?.unwrap_or_else(|| "default".to_owned())),
    }
}

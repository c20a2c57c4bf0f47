//! Talking to the cluster: a kube-rs client built the way kubectl builds its own.
//!
//! Data flow: `--kubeconfig` (or `$KUBECONFIG`, colon-separated; else `~/.kube/config`) →
//! every file read and merged (first value wins) → `--context`/`--cluster`/`--user` select →
//! [`kube::Config`] with `--request-timeout` → [`Cluster`] (client, and the context and
//! server named in every error). Only commands that need the cluster call [`block_on`], which
//! makes a current-thread runtime; `main` stays synchronous.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::cli::GlobalFlags;

/// A connected client plus what to call it in messages.
pub(crate) struct Cluster {
    /// For API calls: kube-rs retries 429/503/504 itself.
    pub(crate) client: kube::Client,
    /// For the agent, through the service proxy: no automatic retries, because a 503 there
    /// means "no agent" or "no key" (retrying would only delay the error by minutes), and the
    /// agent's 429s are waited out by `crate::agent` with its own bound and a message.
    pub(crate) proxy_client: kube::Client,
    /// The API server URL, e.g. `https://10.0.0.1:6443`.
    pub(crate) server: String,
    /// `context "name" (server URL)`, for error messages.
    pub(crate) describe: String,
    /// `-n`, else the context's namespace, else `default`.
    pub(crate) namespace: String,
    /// `SHA256:` of the CA certificates the kubeconfig trusts for this server, if any (and
    /// TLS is verified).
    ca_fingerprint: Option<String>,
}

impl Cluster {
    /// What tells this cluster from another at the same address, without its agent: the API
    /// server CA's fingerprint from the kubeconfig (`ca:SHA256:…`), else the `kube-system`
    /// namespace's UID read with the person's client (`uid:…`), else `None` (unknown: no CA
    /// configured and the namespace cannot be read).
    pub(crate) async fn identity(&self) -> Option<String> {
        if let Some(ca) = &self.ca_fingerprint {
            return Some(format!("ca:{ca}"));
        }
        let api: kube::Api<k8s_openapi::api::core::v1::Namespace> =
            kube::Api::all(self.client.clone());
        let namespace = api.get_metadata("kube-system").await.ok()?;
        namespace.metadata.uid.map(|uid| format!("uid:{uid}"))
    }
}

/// SHA-256 over the DER CA certificates, in order.
fn ca_fingerprint(config: &kube::Config) -> Option<String> {
    if config.accept_invalid_certs {
        return None; // insecure-skip-tls-verify: the CA proves nothing
    }
    let certs = config.root_cert.as_ref().filter(|c| !c.is_empty())?;
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for der in certs {
        context.update(der);
    }
    let hex: String = context
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(format!("SHA256:{hex}"))
}

/// Field manager of everything the plugin applies (server-side apply).
pub(crate) const FIELD_MANAGER: &str = "kubectl-secrets";

/// A current-thread runtime, for commands that interleave questions and API calls: a client
/// must be used on the runtime it was built on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Run `future` to completion on a fresh current-thread runtime.
pub(crate) fn block_on<T>(future: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    runtime()?.block_on(future)
}

/// Server-side apply `object` (field manager [`FIELD_MANAGER`]) into its namespace; returns
/// what the API server stored.
pub(crate) async fn apply<K>(cluster: &Cluster, object: &K) -> anyhow::Result<K>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let namespace = object.meta().namespace.clone().unwrap_or_default();
    let api: kube::Api<K> = kube::Api::namespaced(cluster.client.clone(), &namespace);
    api.patch(
        &name,
        &kube::api::PatchParams::apply(FIELD_MANAGER),
        &kube::api::Patch::Apply(object),
    )
    .await
    .map_err(api_error)
    .with_context(|| {
        format!(
            "applying {} {namespace}/{name} in {}",
            K::kind(&()),
            cluster.describe
        )
    })
}

/// Does `K` `namespace/name` exist? (Metadata only: for refusing to replace it unasked.)
pub(crate) async fn exists<K>(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
) -> anyhow::Result<bool>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: kube::Api<K> = kube::Api::namespaced(cluster.client.clone(), namespace);
    match api.get_metadata(name).await {
        Ok(_) => Ok(true),
        Err(err) if is_not_found(&err) => Ok(false),
        Err(err) => Err(api_error(err)).with_context(|| {
            format!(
                "reading {} {namespace}/{name} in {}",
                K::kind(&()),
                cluster.describe
            )
        }),
    }
}

/// The kubeconfig files kubectl would read: `--kubeconfig`/`$KUBECONFIG` (colon-separated),
/// else `~/.kube/config`.
pub(crate) fn kubeconfig_paths(flags: &GlobalFlags) -> Vec<PathBuf> {
    match &flags.kubeconfig {
        Some(list) => std::env::split_paths(list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => dirs::home_dir()
            .map(|home| home.join(".kube").join("config"))
            .into_iter()
            .collect(),
    }
}

/// Read and merge the kubeconfig files, skipping missing ones as kubectl does.
fn load_kubeconfig(flags: &GlobalFlags) -> anyhow::Result<Kubeconfig> {
    let mut merged: Option<Kubeconfig> = None;
    let paths = kubeconfig_paths(flags);
    for path in &paths {
        if !path.exists() {
            continue;
        }
        let config = Kubeconfig::read_from(path)
            .with_context(|| format!("reading kubeconfig {}", path.display()))?;
        merged = Some(match merged {
            None => config,
            Some(first) => first
                .merge(config)
                .with_context(|| format!("merging kubeconfig {}", path.display()))?,
        });
    }
    let Some(config) = merged else {
        let tried: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "no kubeconfig found (looked for {}): pass --kubeconfig PATH",
            if tried.is_empty() {
                "nothing".to_owned()
            } else {
                tried.join(", ")
            }
        );
    };
    Ok(config)
}

/// `30s`, `2m`, `1h`, `500ms` or plain seconds; `0` means no timeout, as kubectl.
pub(crate) fn parse_timeout(text: &str) -> anyhow::Result<Option<Duration>> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number.parse().map_err(|_| {
        anyhow::anyhow!("--request-timeout {text:?} is not a duration (e.g. 30s, 2m)")
    })?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => bail!("--request-timeout {text:?} has an unknown unit (use ms, s, m or h)"),
    };
    if seconds == 0.0 {
        return Ok(None);
    }
    Duration::try_from_secs_f64(seconds)
        .map(Some)
        .map_err(|_| anyhow::anyhow!("--request-timeout {text:?} is out of range"))
}

/// Build the client for the selected context.
pub(crate) async fn connect(flags: &GlobalFlags) -> anyhow::Result<Cluster> {
    let timeout = match &flags.request_timeout {
        Some(text) => parse_timeout(text)?,
        None => None,
    };
    let kubeconfig = load_kubeconfig(flags)?;
    let context = flags
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .unwrap_or_default();
    let options = KubeConfigOptions {
        context: flags.context.clone(),
        cluster: flags.cluster.clone(),
        user: flags.user.clone(),
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| format!("loading context {context:?} from the kubeconfig"))?;
    if let Some(timeout) = timeout {
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
    }
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_owned();
    let describe = format!("context {context:?} ({server})");
    let namespace = flags
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let ca_fingerprint = ca_fingerprint(&config);
    let mut proxy_config = config.clone();
    proxy_config.default_retry = false;
    let client = kube::Client::try_from(config)
        .with_context(|| format!("building a client for {describe}"))?;
    let proxy_client = kube::Client::try_from(proxy_config)
        .with_context(|| format!("building a client for {describe}"))?;
    Ok(Cluster {
        client,
        proxy_client,
        server,
        describe,
        namespace,
        ca_fingerprint,
    })
}

/// A kube error as one readable cause: the API server's own message for a `Status`
/// (kube-rs' Display of it includes a Debug dump), the error chain otherwise.
pub(crate) fn api_error(err: kube::Error) -> anyhow::Error {
    match err {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                status.code.to_string()
            } else {
                format!("{} {}", status.code, status.reason)
            };
            anyhow::anyhow!("{} ({reason})", status.message)
        }
        other => anyhow::Error::new(other),
    }
}

/// Is this kube error the API server's 404?
pub(crate) fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 404)
}

/// Is this kube error the API server's 409 AlreadyExists?
pub(crate) fn is_conflict(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 409)
}

#[cfg(test)]
mod tests {
    use super::parse_timeout;
    use std::time::Duration;

    #[test]
    fn timeouts_parse_like_kubectl() {
        assert_eq!(
            parse_timeout("30s").ok(),
            Some(Some(Duration::from_secs(30)))
        );
        assert_eq!(
            parse_timeout("2m").ok(),
            Some(Some(Duration::from_secs(120)))
        );
        assert_eq!(parse_timeout("5").ok(), Some(Some(Duration::from_secs(5))));
        assert_eq!(
            parse_timeout("500ms").ok(),
            Some(Some(Duration::from_millis(500)))
        );
        assert_eq!(parse_timeout("0").ok(), Some(None));
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("3d").is_err());
    }
}

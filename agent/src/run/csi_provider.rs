//! `secrets-agent csi-provider`: the Secrets Store CSI Driver provider on every node.
//!
//! Wiring: a kube client (the pod's service account: get SecretProviderClasses, stores,
//! namespaces, ConfigMaps; nothing on Secrets) → the link to the controller (`HttpsLink`:
//! `--agent-url`, the pinned certificate from `--mount-config-map` in `--agent-namespace`, the
//! provider's own token from `--identity-token-file`) → the
//! [`Provider`] → the socket ([`mount::bind`]: stale socket removed, mode 0600) served until
//! SIGTERM/SIGINT, beside `/healthz` and `/metrics` on `--metrics-addr` → on shutdown: stop
//! accepting, remove the socket, let in-flight mounts finish (bounded), revoke the cached
//! store logins.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::watch;

use crate::args::CsiProviderArgs;
use crate::http;
use crate::metrics::Metrics;
use crate::mount::https_link::{HttpsLink, LinkSettings};
use crate::mount::link::ControllerLink;
use crate::mount::{self, Provider, Settings};

/// How long revoking the cached logins may take at shutdown.
const REVOKE_GRACE: Duration = Duration::from_secs(5);

/// Run the provider until SIGTERM or SIGINT.
pub async fn run_csi_provider(args: CsiProviderArgs) -> anyhow::Result<()> {
    let kube = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API")?;
    let link = HttpsLink::new(
        kube.clone(),
        LinkSettings {
            agent_url: args.agent_url.clone(),
            agent_namespace: args.agent_namespace.clone(),
            config_map: args.link.mount_config_map.clone(),
            identity_token_file: args.link.identity_token_file.clone(),
        },
    )
    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let link: Arc<dyn ControllerLink> = Arc::new(link);
    tracing::info!(
        agent_url = %args.agent_url,
        agent_namespace = %args.agent_namespace,
        "csi provider starting"
    );
    run_with(args, kube, link).await
}

/// [`run_csi_provider`] with the client and link given (tests, other links).
pub async fn run_with(
    args: CsiProviderArgs,
    kube: kube::Client,
    link: Arc<dyn ControllerLink>,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let settings = Settings {
        token_cache_size: usize::try_from(args.token_cache_size).unwrap_or(usize::MAX),
        store_timeout: args.provider_timeout,
    };
    let provider = Arc::new(Provider::new(
        kube,
        link,
        Arc::new(args.stores.providers()),
        Arc::clone(&metrics),
        settings,
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |rx: &watch::Receiver<bool>| {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let (metrics_addr, metrics_server) =
        http::bind_metrics(args.metrics_addr, metrics, stopped(&stop_rx)).await?;
    let metrics_server = tokio::spawn(metrics_server);
    let socket = mount::bind(&args.socket)
        .with_context(|| format!("listening on {}", args.socket.display()))?;
    tracing::info!(socket = %args.socket.display(), metrics = %metrics_addr, "csi provider listening");
    let server = tokio::spawn(mount::serve(
        Arc::clone(&provider),
        socket,
        stopped(&stop_rx),
    ));

    super::shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = server.await;
    if tokio::time::timeout(REVOKE_GRACE, provider.close())
        .await
        .is_err()
    {
        tracing::warn!("revoking the cached store logins took too long; exiting anyway");
    }
    let _ = metrics_server.await;
    Ok(())
}

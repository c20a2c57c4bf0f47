//! `secrets-agent controller`, the Deployment: connect, load settings, start the key manager
//! and the HTTP API on every replica, and run for the Lease; the leader alone runs the
//! SealedSecret and ExternalSecret controllers, the store controllers and key renewal, and
//! drops all of that the moment it loses the Lease.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use secrets_core::seal::keys::KeyRing;
use tokio::sync::watch;

use crate::{args, crd_check, external_secret, http, key_manager, leader, metrics, sealed_secret};

/// Name of the leader Lease in the agent namespace.
pub const LEASE_NAME: &str = "secrets-agent-leader";

/// Run `secrets-agent controller` until SIGTERM.
pub async fn run_controller(args: args::ControllerArgs) -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("connecting to the API server (in-cluster config, else KUBECONFIG)")?;
    let namespace = args
        .namespace
        .clone()
        .or_else(pod_namespace)
        .unwrap_or_else(|| "kubectl-secrets".to_owned());
    let identity = args
        .identity
        .clone()
        .or_else(|| std::env::var("POD_NAME").ok())
        .unwrap_or_else(default_identity);
    let cutoff = args
        .key_cutoff_time
        .as_deref()
        .map(key_manager::parse_cutoff)
        .transpose()?;
    tracing::info!(namespace = %namespace, identity = %identity, bitnami_compat = args.bitnami_compat, "starting");

    let metrics = Arc::new(metrics::Metrics::new());
    let (ring_tx, ring_rx) = watch::channel(Arc::new(KeyRing::default()));
    let (synced_tx, synced_rx) = watch::channel(false);
    let (changes_tx, changes_rx) = watch::channel(0u64);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (leading_tx, leading_rx) = watch::channel(false);
    let stopped = |rx: &watch::Receiver<bool>| {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };

    let sources = key_manager::KeySources {
        namespace: namespace.clone(),
        bitnami_namespace: args.bitnami_compat.then(|| {
            args.bitnami_key_namespace
                .clone()
                .unwrap_or_else(|| namespace.clone())
        }),
    };
    let watcher = tokio::spawn(key_manager::watch_keys(
        client.clone(),
        sources,
        ring_tx,
        synced_tx,
        changes_tx,
        metrics.clone(),
    ));
    let (crds_tx, crds_rx) = watch::channel(None);
    let crd_checker = tokio::spawn(crd_check::check_crds(
        client.clone(),
        crd_check::watched(args.bitnami_compat),
        crds_tx,
    ));
    let api_state = http::ApiState {
        keys: ring_rx.clone(),
        ready: synced_rx,
        missing_crds: crds_rx,
        metrics: metrics.clone(),
        api_rate: args.api_rate,
        trusted_proxies: args.trusted_proxies.clone(),
    };
    let api = tokio::spawn(http::serve_api(
        args.http_addr,
        api_state,
        stopped(&stop_rx),
    ));
    let mount = match args.mount_addr {
        Some(addr) => Some(
            start_mount(
                &client,
                &args,
                &namespace,
                addr,
                &ring_rx,
                &metrics,
                stopped(&stop_rx),
            )
            .await?,
        ),
        None => None,
    };
    let metrics_server = tokio::spawn(http::serve_metrics(
        args.metrics_addr,
        metrics.clone(),
        stopped(&stop_rx),
    ));
    let lease = leader::LeaseConfig {
        namespace: namespace.clone(),
        name: LEASE_NAME.to_owned(),
        identity: identity.clone(),
        lease_duration: args.lease_duration,
        renew_every: args.lease_renew,
    };
    let election = tokio::spawn(leader::run(
        client.clone(),
        lease,
        leading_tx,
        stop_rx.clone(),
    ));
    let ctx = Arc::new(sealed_secret::Context::new(
        client.clone(),
        ring_rx.clone(),
        metrics.clone(),
        secrets_core::seal::decide::Options {
            bitnami_compat: args.bitnami_compat,
        },
        identity,
    ));
    let keeper = mount.as_ref().map(|m| (m.place.clone(), m.key.clone()));
    let leader_work = tokio::spawn(lead(
        ctx,
        Leading {
            args: args.clone(),
            mount_key: keeper,
            namespace,
            cutoff,
        },
        changes_rx,
        leading_rx,
        stop_rx.clone(),
    ));

    super::shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let wind_down = async {
        let _ = leader_work.await;
        let _ = election.await;
        let _ = api.await;
        let _ = metrics_server.await;
        if let Some(mount) = mount {
            let _ = mount.server.await;
            mount.watcher.abort();
        }
    };
    if tokio::time::timeout(Duration::from_secs(20), wind_down)
        .await
        .is_err()
    {
        tracing::warn!("shutdown took longer than 20s; exiting anyway");
    }
    watcher.abort();
    crd_checker.abort();
    Ok(())
}

/// What the leader's work needs besides its context.
struct Leading {
    args: args::ControllerArgs,
    /// Where the mount key lives and its channel, when the mount endpoint is on.
    mount_key: Option<(http::mount::KeyPlace, http::mount::KeyChannel)>,
    namespace: String,
    cutoff: Option<time::OffsetDateTime>,
}

/// While this replica leads: the controllers and key renewal. Losing the lease drops both
/// futures at once, which stops all reconciling.
async fn lead(
    ctx: Arc<sealed_secret::Context>,
    leading_work: Leading,
    changes: watch::Receiver<u64>,
    mut leading: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let Leading {
        args,
        mount_key,
        namespace,
        cutoff,
    } = leading_work;
    loop {
        tokio::select! {
            led = leading.wait_for(|l| *l) => if led.is_err() { return },
            _ = stop.wait_for(|s| *s) => return,
        }
        tracing::info!("leading: reconciling, syncing and renewing keys");
        let keep_mount_key = async {
            match &mount_key {
                Some((place, key)) => {
                    http::mount::key::keep_key(ctx.client.clone(), place.clone(), key.clone()).await
                }
                None => std::future::pending().await,
            }
        };
        let work = async {
            futures::future::join4(
                sealed_secret::run(ctx.clone(), args.concurrency, args.bitnami_compat),
                external_secret::run_with(
                    ctx.client.clone(),
                    ctx.metrics.clone(),
                    ctx.instance.clone(),
                    external_secret::Settings {
                        concurrency: args.sync_concurrency,
                        store_rate: args.store_rate,
                        provider_timeout: args.provider_timeout,
                        share_reads: args.read_cache,
                    },
                    Arc::new(args.stores.providers()),
                ),
                key_manager::renew_keys(
                    ctx.client.clone(),
                    namespace.clone(),
                    args.key_renew_period,
                    cutoff,
                    changes.clone(),
                ),
                keep_mount_key,
            )
            .await
        };
        tokio::select! {
            _ = work => {}
            _ = leading.wait_for(|l| !*l) => tracing::warn!("lost the lease: stopped reconciling"),
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// The mount endpoint's running parts.
struct Mount {
    place: http::mount::KeyPlace,
    key: http::mount::KeyChannel,
    watcher: tokio::task::JoinHandle<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Watch the mount key (every replica) and serve the mount endpoint on `addr`.
async fn start_mount(
    client: &kube::Client,
    args: &args::ControllerArgs,
    namespace: &str,
    addr: std::net::SocketAddr,
    keys: &watch::Receiver<Arc<KeyRing>>,
    metrics: &Arc<metrics::Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Mount> {
    let place = http::mount::KeyPlace {
        namespace: namespace.to_owned(),
        secret: args.mount_key_secret.clone(),
        config_map: args.mount_config_map.clone(),
        service: args.mount_service.clone(),
    };
    let (key_tx, key_rx) = watch::channel(None);
    let watcher = tokio::spawn(http::mount::key::watch_key(
        client.clone(),
        place.clone(),
        key_tx,
    ));
    let state = http::mount::MountState {
        client: client.clone(),
        keys: keys.clone(),
        mount_key: key_rx.clone(),
        metrics: metrics.clone(),
        provider_account: args.csi_provider_service_account.clone(),
        rate: args.mount_rate,
    };
    let (_, serving) = http::mount::bind_mount(addr, state, shutdown).await?;
    Ok(Mount {
        place,
        key: key_rx,
        watcher,
        server: tokio::spawn(serving),
    })
}

fn pod_namespace() -> Option<String> {
    std::env::var("POD_NAMESPACE").ok().or_else(|| {
        std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
            .ok()
            .map(|s| s.trim().to_owned())
    })
}

fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "agent".into());
    let mut suffix = [0u8; 4];
    let _ = getrandom_fill(&mut suffix);
    format!(
        "{host}-{}",
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

fn getrandom_fill(buf: &mut [u8]) -> Result<(), ()> {
    // The identity only needs to differ between replicas on one host.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (nanos >> (i * 8)) as u8 ^ (std::process::id() >> (i * 4)) as u8;
    }
    Ok(())
}

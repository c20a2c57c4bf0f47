//! `csi-standin`: mount one pod's Secrets Store CSI volume from a provider socket into a
//! directory, as the driver and kubelet would. Prints paths, modes, sizes and versions only.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use csi_standin::{CsiStandin, MountFailure, Providers, TokenAudience};

#[derive(Parser)]
#[command(
    name = "csi-standin",
    about = "Plays the Secrets Store CSI Driver v1.6 and kubelet for one pod (test equipment)"
)]
struct Args {
    /// The pod whose volume to mount.
    pod: String,
    /// The pod's namespace.
    #[arg(short, long, default_value = "default")]
    namespace: String,
    /// Kubeconfig to read the cluster through (default: $KUBECONFIG, ~/.kube/config).
    #[arg(long, env = "KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// The pod's secrets-store.csi.k8s.io volume to mount (default: its only one).
    #[arg(long)]
    volume: Option<String>,
    /// Where provider sockets `<provider>.sock` are.
    #[arg(long, default_value = csi_standin::DEFAULT_PROVIDERS_DIR)]
    providers_dir: PathBuf,
    /// Use this socket whatever the provider is called.
    #[arg(long, conflicts_with = "providers_dir")]
    socket: Option<PathBuf>,
    /// An audience of the CSIDriver's tokenRequests (repeatable; "" = the API server's).
    #[arg(long = "token-audience")]
    token_audiences: Vec<String>,
    /// Lifetime of the requested tokens (default: the API server's, one hour).
    #[arg(long)]
    token_expiration_seconds: Option<i64>,
    /// Send the tokens in `secrets` (the CSIDriver's serviceAccountTokenInSecrets).
    #[arg(long)]
    tokens_in_secrets: bool,
    /// Node name for the SecretProviderClassPodStatus label.
    #[arg(long, default_value = csi_standin::DEFAULT_NODE_NAME)]
    node_name: String,
    /// Directory to write the volume into (kubelet's atomic-writer layout).
    #[arg(long)]
    target_dir: PathBuf,
    /// A rotation: the target directory must already hold a mount, which is replaced.
    #[arg(long)]
    remount: bool,
    /// Install the SecretProviderClass and SecretProviderClassPodStatus CRDs first.
    #[arg(long)]
    install_crds: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = client(args.kubeconfig.as_deref()).await?;
    if args.install_crds {
        csi_standin::install_crds(&client)
            .await
            .context("installing the CRDs")?;
    }
    if args.remount
        && csi_standin::writer::current_data_dir(&args.target_dir)
            .with_context(|| format!("reading {}", args.target_dir.display()))?
            .is_none()
    {
        return Err(MountFailure::NotMounted {
            dir: args.target_dir.clone(),
        }
        .into());
    }
    let providers = match &args.socket {
        Some(socket) => Providers::Socket(socket.clone()),
        None => Providers::Dir(args.providers_dir.clone()),
    };
    let tokens = args
        .token_audiences
        .iter()
        .map(|audience| TokenAudience {
            audience: audience.clone(),
            expiration_seconds: args.token_expiration_seconds,
        })
        .collect();
    let mut standin = CsiStandin::new(client, &args.providers_dir, Vec::new())
        .with_providers(providers)
        .with_token_requests(tokens)
        .with_node_name(&args.node_name)
        .with_tokens_in_secrets(args.tokens_in_secrets);
    if let Some(volume) = &args.volume {
        standin = standin.with_volume(volume);
    }
    let mounted = standin
        .mount(&args.namespace, &args.pod, &args.target_dir)
        .await
        .with_context(|| format!("mounting pod {}/{}", args.namespace, args.pod))?;

    println!(
        "mounted pod {}/{} from {} {} into {}{}",
        args.namespace,
        args.pod,
        mounted.runtime_name,
        mounted.runtime_version,
        args.target_dir.display(),
        if mounted.changed { "" } else { " (unchanged)" }
    );
    for file in &mounted.files {
        println!(
            "  file {:04o} {:>8} bytes  {}",
            file.mode,
            file.contents.len(),
            file.path
        );
    }
    for (id, version) in &mounted.versions {
        println!("  object {id} version {version}");
    }
    println!(
        "  data dir {}, SecretProviderClassPodStatus {}/{}",
        mounted.data_dir, args.namespace, mounted.pod_status
    );
    Ok(())
}

async fn client(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading the kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .context("loading the kubeconfig")?
        }
        None => kube::Config::infer()
            .await
            .context("finding a kubeconfig")?,
    };
    kube::Client::try_from(config).context("building the API client")
}

//! Command line of `secrets-agent`. Every flag has an environment fallback
//! `SECRETS_AGENT_<FLAG>` (the chart sets those); an explicit flag wins.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::http::Cidr;

/// The kubectl-secrets in-cluster agent.
#[derive(Debug, Parser)]
#[command(name = "secrets-agent", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Key manager, SealedSecret controller and the HTTP API (the Deployment).
    Controller(Box<ControllerArgs>),
    /// Print the CustomResourceDefinitions this agent serves (YAML), for `kubectl apply -f -`.
    Crds(CrdsArgs),
    /// The Secrets Store CSI Driver provider (the DaemonSet on every node).
    CsiProvider(Box<CsiProviderArgs>),
}

/// Flags of `secrets-agent csi-provider`.
#[derive(Debug, Clone, Args)]
pub struct CsiProviderArgs {
    /// The unix socket the driver dials (`<providers dir>/kubectl-secrets.sock`).
    #[arg(
        long,
        env = "SECRETS_AGENT_SOCKET",
        default_value = "/var/run/secrets-store-csi-providers/kubectl-secrets.sock"
    )]
    pub socket: std::path::PathBuf,
    /// Address of /healthz and the Prometheus /metrics endpoint.
    #[arg(
        long,
        env = "SECRETS_AGENT_METRICS_ADDR",
        default_value = "0.0.0.0:8081"
    )]
    pub metrics_addr: SocketAddr,
    /// The controller's mount endpoint (mount-only SealedSecrets, the object-version key).
    #[arg(
        long,
        env = "SECRETS_AGENT_AGENT_URL",
        default_value = "https://secrets-agent.kubectl-secrets.svc:8443"
    )]
    pub agent_url: String,
    /// The controller's namespace (where it publishes its mount endpoint's key).
    #[arg(
        long,
        env = "SECRETS_AGENT_AGENT_NAMESPACE",
        default_value = "kubectl-secrets"
    )]
    pub agent_namespace: String,
    /// How the provider reaches and trusts the controller.
    #[command(flatten)]
    pub link: LinkArgs,
    /// tracing filter, e.g. `info` or `secrets_agent=debug`.
    #[arg(long, env = "SECRETS_AGENT_LOG_FILTER", default_value = "info")]
    pub log_filter: String,
    /// Most pod identities whose store login is kept (least recently used ones are revoked).
    #[arg(long, env = "SECRETS_AGENT_TOKEN_CACHE_SIZE", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub token_cache_size: u32,
    /// Timeout of one store call.
    #[arg(long, env = "SECRETS_AGENT_PROVIDER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub provider_timeout: Duration,
    /// Cloud store endpoints and settings.
    #[command(flatten)]
    pub stores: StoreArgs,
}

/// Cloud store endpoints (AWS and Azure read their SDKs' env names: `AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_ENDPOINT_URL_STS`, `AZURE_AUTHORITY_HOST`) and
/// two switches that exist only to measure what the cache and batching save.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// GCP Secret Manager endpoint (replaces the regional host too).
    #[arg(long, env = "SECRETS_AGENT_GCP_SECRETMANAGER_ENDPOINT")]
    pub gcp_secretmanager_endpoint: Option<String>,
    /// GCP STS endpoint (workload identity federation).
    #[arg(long, env = "SECRETS_AGENT_GCP_STS_ENDPOINT")]
    pub gcp_sts_endpoint: Option<String>,
    /// GCP IAM Credentials endpoint (service-account impersonation).
    #[arg(long, env = "SECRETS_AGENT_GCP_IAMCREDENTIALS_ENDPOINT")]
    pub gcp_iamcredentials_endpoint: Option<String>,
    /// EKS Pod Identity credentials endpoint (mounts with `awsAuth: podIdentity`).
    #[arg(long, env = "SECRETS_AGENT_AWS_POD_IDENTITY_ENDPOINT")]
    pub aws_pod_identity_endpoint: Option<String>,
    /// AWS: fetch current versions with BatchGetSecretValue (false only to measure).
    #[arg(long, hide = true, default_value_t = true, action = clap::ArgAction::Set)]
    pub aws_batch: bool,
    /// Keep cloud credentials until near expiry (false only to measure).
    #[arg(long, hide = true, default_value_t = true, action = clap::ArgAction::Set)]
    pub credential_cache: bool,
}

impl StoreArgs {
    /// The store factory these settings describe, with the SDK env names read now.
    pub fn providers(&self) -> crate::secret_store::Providers {
        let mut endpoints = secrets_core::store::Endpoints::from_env();
        let flag = |f: &Option<String>, env: Option<String>| f.clone().or(env);
        endpoints.gcp_secretmanager_url = flag(
            &self.gcp_secretmanager_endpoint,
            endpoints.gcp_secretmanager_url,
        );
        endpoints.gcp_sts_url = flag(&self.gcp_sts_endpoint, endpoints.gcp_sts_url);
        endpoints.gcp_iamcredentials_url = flag(
            &self.gcp_iamcredentials_endpoint,
            endpoints.gcp_iamcredentials_url,
        );
        endpoints.aws_pod_identity_url = flag(
            &self.aws_pod_identity_endpoint,
            endpoints.aws_pod_identity_url,
        );
        crate::secret_store::Providers {
            endpoints,
            batch: self.aws_batch,
            credential_cache: self.credential_cache,
        }
    }
}

/// Flags of `secrets-agent crds`.
#[derive(Debug, Clone, Args)]
pub struct CrdsArgs {
    /// Write one file per CRD (`<plural>.<group>.yaml`) into this directory instead of printing.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<std::path::PathBuf>,
}

/// Flags of `secrets-agent controller`.
#[derive(Debug, Clone, Args)]
pub struct ControllerArgs {
    /// Namespace holding the sealing keys (default: the pod's namespace).
    #[arg(long, env = "SECRETS_AGENT_NAMESPACE")]
    pub namespace: Option<String>,
    /// Address of the HTTP API (/v1/cert.pem, /v1/keys, /v1/verify, /v1/rotate, /healthz, /readyz).
    #[arg(long, env = "SECRETS_AGENT_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,
    /// Address of the Prometheus /metrics endpoint.
    #[arg(
        long,
        env = "SECRETS_AGENT_METRICS_ADDR",
        default_value = "0.0.0.0:8081"
    )]
    pub metrics_addr: SocketAddr,
    /// How often a new sealing key is made (0 disables renewal), e.g. 720h, 30d.
    #[arg(long, env = "SECRETS_AGENT_KEY_RENEW_PERIOD", default_value = "30d", value_parser = parse_duration)]
    pub key_renew_period: Duration,
    /// Keys older than this instant (RFC 3339 or RFC 1123Z) are replaced at start-up.
    #[arg(long, env = "SECRETS_AGENT_KEY_CUTOFF_TIME")]
    pub key_cutoff_time: Option<String>,
    /// SealedSecrets reconciled at the same time.
    #[arg(long, env = "SECRETS_AGENT_CONCURRENCY", default_value_t = 4)]
    pub concurrency: u16,
    /// ExternalSecrets reconciled at the same time (they mostly wait on providers).
    #[arg(long, env = "SECRETS_AGENT_SYNC_CONCURRENCY", default_value_t = 16)]
    pub sync_concurrency: u16,
    /// Provider reads per second per store (first syncs go ahead of refreshes).
    #[arg(long, env = "SECRETS_AGENT_STORE_RATE", default_value_t = 50)]
    pub store_rate: u32,
    /// Share one provider read between the ExternalSecrets that need it (false only to
    /// measure ESO's pattern, which reads once per object).
    #[arg(long, hide = true, default_value_t = true, action = clap::ArgAction::Set)]
    pub read_cache: bool,
    /// Cloud store endpoints and settings.
    #[command(flatten)]
    pub stores: StoreArgs,
    /// Timeout of one provider call.
    #[arg(long, env = "SECRETS_AGENT_PROVIDER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub provider_timeout: Duration,
    /// Also reconcile bitnami.com/v1alpha1 SealedSecrets and load Bitnami's sealing keys.
    #[arg(long, env = "SECRETS_AGENT_BITNAMI_COMPAT")]
    pub bitnami_compat: bool,
    /// Where Bitnami's key Secrets live, in compat mode (default: --namespace).
    #[arg(long, env = "SECRETS_AGENT_BITNAMI_KEY_NAMESPACE")]
    pub bitnami_key_namespace: Option<String>,
    /// tracing filter, e.g. `info` or `secrets_agent=debug`.
    #[arg(long, env = "SECRETS_AGENT_LOG_FILTER", default_value = "info")]
    pub log_filter: String,
    /// Identity in the leader Lease (default: the pod name, else host name and a random suffix).
    #[arg(long, env = "SECRETS_AGENT_IDENTITY")]
    pub identity: Option<String>,
    /// How long the leader Lease lasts without renewal.
    #[arg(long, env = "SECRETS_AGENT_LEASE_DURATION", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,
    /// How often the leader renews the Lease (less than --lease-duration).
    #[arg(long, env = "SECRETS_AGENT_LEASE_RENEW", default_value = "5s", value_parser = parse_duration)]
    pub lease_renew: Duration,
    /// Requests per second allowed on /v1/keys, /v1/verify and /v1/rotate, per client (bursts
    /// of twice that); 0 switches the limit off.
    #[arg(long, env = "SECRETS_AGENT_API_RATE", default_value_t = 10)]
    pub api_rate: u32,
    /// A proxy in front of the API (CIDR or address; repeat, or comma-separate in the
    /// environment): requests from it are rate-limited by the address it appended to
    /// X-Forwarded-For. Default none: the peer is charged and X-Forwarded-For ignored.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "SECRETS_AGENT_TRUSTED_PROXY",
        value_delimiter = ',',
        value_parser = parse_cidr
    )]
    pub trusted_proxies: Vec<Cidr>,
    /// Address of the mount endpoint for the CSI provider (TLS with the mount key;
    /// /v1/mount, /v1/mount/version-key). Off when not given.
    #[arg(long, env = "SECRETS_AGENT_MOUNT_ADDR")]
    pub mount_addr: Option<SocketAddr>,
    /// The Secret (agent namespace) holding the mount key pair and the object-version key;
    /// the leader creates it when missing.
    #[arg(
        long,
        env = "SECRETS_AGENT_MOUNT_KEY_SECRET",
        default_value = "secrets-agent-mount-key"
    )]
    pub mount_key_secret: String,
    /// The ConfigMap (agent namespace) publishing the mount certificate the provider pins.
    #[arg(
        long,
        env = "SECRETS_AGENT_MOUNT_CONFIG_MAP",
        default_value = "secrets-agent-mount"
    )]
    pub mount_config_map: String,
    /// The Service the provider calls: the mount certificate names `<service>.<namespace>.svc`.
    #[arg(
        long,
        env = "SECRETS_AGENT_MOUNT_SERVICE",
        default_value = "secrets-agent"
    )]
    pub mount_service: String,
    /// `namespace/name` of the CSI provider's service account: the only identity the
    /// object-version key is served to. Without it the version key is refused.
    #[arg(long, env = "SECRETS_AGENT_CSI_PROVIDER_SERVICE_ACCOUNT", value_parser = parse_account)]
    pub csi_provider_service_account: Option<String>,
    /// Mount requests per second per pod (bursts of twice that); 0 switches the limit off.
    #[arg(long, env = "SECRETS_AGENT_MOUNT_RATE", default_value_t = 5)]
    pub mount_rate: u32,
}

/// A `namespace/name` service account.
fn parse_account(text: &str) -> Result<String, String> {
    match text.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(text.to_owned())
        }
        _ => Err(format!("{text:?} is not namespace/name")),
    }
}

/// The provider's side of the link to the controller's mount endpoint (flatten into the
/// `csi-provider` subcommand's flags next to `--agent-url` and `--agent-namespace`).
#[derive(Debug, Clone, Args)]
pub struct LinkArgs {
    /// The provider's own service-account token for audience `kubectl-secrets` (a projected
    /// volume), presented for the object-version key.
    #[arg(
        long,
        env = "SECRETS_AGENT_IDENTITY_TOKEN_FILE",
        default_value = "/var/run/secrets/kubectl-secrets/token"
    )]
    pub identity_token_file: std::path::PathBuf,
    /// The ConfigMap in `--agent-namespace` with the controller's mount certificate (pinned).
    #[arg(
        long,
        env = "SECRETS_AGENT_MOUNT_CONFIG_MAP",
        default_value = "secrets-agent-mount"
    )]
    pub mount_config_map: String,
}

impl ControllerArgs {
    /// Checks across flags that clap cannot express; the message names the flags.
    pub fn validate(&self) -> Result<(), String> {
        if self.lease_renew.is_zero() {
            return Err("--lease-renew must be more than 0".to_owned());
        }
        // A leader renewing no faster than the Lease expires loses it between renewals, and
        // leadership would flap between replicas.
        if self.lease_renew >= self.lease_duration {
            return Err(format!(
                "--lease-renew ({:?}) must be shorter than --lease-duration ({:?}), or the Lease \
                 expires before it is renewed",
                self.lease_renew, self.lease_duration
            ));
        }
        Ok(())
    }
}

/// A `--trusted-proxy` value; clap prints the flag and the text before this message.
fn parse_cidr(text: &str) -> Result<Cidr, String> {
    text.parse()
        .map_err(|e: crate::http::CidrError| e.to_string())
}

/// `500ms`, `90s`, `15m`, `720h`, `30d`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 90s, 15m, 720h, 30d"))?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        other => {
            return Err(format!(
                "invalid duration unit {other:?} in {text:?}: use ms, s, m, h or d"
            ));
        }
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn lease_renew_must_be_shorter_than_the_lease() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["secrets-agent", "controller"];
            argv.extend_from_slice(extra);
            match Cli::try_parse_from(argv).unwrap().command {
                Command::Controller(args) => args.validate(),
                _ => unreachable!(),
            }
        };
        assert_eq!(parse(&[]), Ok(()));
        let err = parse(&["--lease-duration", "5s", "--lease-renew", "5s"]).unwrap_err();
        assert!(
            err.contains("--lease-renew (5s) must be shorter than --lease-duration (5s)"),
            "{err}"
        );
        assert!(parse(&["--lease-duration", "5s", "--lease-renew", "10s"]).is_err());
        assert!(parse(&["--lease-renew", "0"]).is_err());
        assert_eq!(
            parse(&["--lease-duration", "2s", "--lease-renew", "500ms"]),
            Ok(())
        );
    }

    fn controller(argv: &[&str]) -> Result<ControllerArgs, String> {
        let mut full = vec!["secrets-agent", "controller"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full)
            .map_err(|e| e.to_string())?
            .command
        {
            Command::Controller(args) => Ok(*args),
            _ => unreachable!(),
        }
    }

    #[test]
    fn trusted_proxies_repeat_and_name_the_flag_when_wrong() {
        assert_eq!(controller(&[]).unwrap().trusted_proxies, vec![]);
        let args = controller(&[
            "--trusted-proxy",
            "10.0.0.0/8",
            "--trusted-proxy",
            "fd00::/8,127.0.0.1",
        ])
        .unwrap();
        let shown: Vec<String> = args.trusted_proxies.iter().map(Cidr::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "fd00::/8", "127.0.0.1/32"]);
        let err = controller(&["--trusted-proxy", "10.0.0.0/40"]).unwrap_err();
        assert!(
            err.contains("'--trusted-proxy <CIDR>'")
                && err.contains("10.0.0.0/40")
                && err.contains("prefix length \"40\" is not a number from 0 to 32"),
            "{err}"
        );
    }

    #[test]
    fn csi_provider_takes_the_charts_flags() {
        let parsed = Cli::try_parse_from([
            "secrets-agent",
            "csi-provider",
            "--socket=/provider/kubectl-secrets.sock",
            "--metrics-addr=0.0.0.0:8081",
            "--agent-url=https://secrets-agent.ks.svc:8443",
            "--agent-namespace=ks",
            "--mount-config-map=release-mount",
            "--identity-token-file=/var/run/secrets/kubectl-secrets/token",
            "--log-filter=debug",
        ])
        .unwrap();
        let Command::CsiProvider(args) = parsed.command else {
            unreachable!()
        };
        assert_eq!(
            args.socket,
            std::path::Path::new("/provider/kubectl-secrets.sock")
        );
        assert_eq!(args.agent_namespace, "ks");
        assert_eq!(args.link.mount_config_map, "release-mount");
        assert_eq!(args.token_cache_size, 1024);
        let Command::CsiProvider(defaults) = Cli::try_parse_from(["secrets-agent", "csi-provider"])
            .unwrap()
            .command
        else {
            unreachable!()
        };
        assert_eq!(
            defaults.socket,
            std::path::Path::new("/var/run/secrets-store-csi-providers/kubectl-secrets.sock")
        );
        assert_eq!(
            defaults.agent_url,
            "https://secrets-agent.kubectl-secrets.svc:8443"
        );
        assert!(
            Cli::try_parse_from(["secrets-agent", "csi-provider", "--token-cache-size", "0"])
                .is_err()
        );
    }

    #[test]
    fn mount_flags() {
        let args = controller(&[]).unwrap();
        assert_eq!(args.mount_addr, None);
        assert_eq!(args.mount_key_secret, "secrets-agent-mount-key");
        assert_eq!(args.mount_config_map, "secrets-agent-mount");
        let args = controller(&[
            "--mount-addr",
            "0.0.0.0:8443",
            "--csi-provider-service-account",
            "csi/provider",
        ])
        .unwrap();
        assert_eq!(
            args.csi_provider_service_account.as_deref(),
            Some("csi/provider")
        );
        let err = controller(&["--csi-provider-service-account", "provider"]).unwrap_err();
        assert!(err.contains("is not namespace/name"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("720h"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("h").is_err());
    }
}

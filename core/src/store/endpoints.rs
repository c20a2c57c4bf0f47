//! Where the cloud stores send their calls, and how a store is opened. Endpoints default to
//! each cloud's public ones; overrides (sovereign clouds, VPC endpoints, tests) come the
//! ecosystem's way: the AWS SDKs' `AWS_ENDPOINT_URL*`, the Azure SDKs' `AZURE_AUTHORITY_HOST`,
//! and the agent's `--gcp-*-endpoint` flags (env `SECRETS_AGENT_GCP_*`, which the plugin reads
//! too). Data flow: env / flags → [`Endpoints`] → [`OpenOptions`] → a store crate's `open`,
//! which checks each URL it uses (https, or http only to a loopback host).

use std::time::Duration;

use super::CallObserver;

/// Endpoint overrides; `None` = the cloud's public endpoint for the store's region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// `AWS_ENDPOINT_URL`: every AWS service.
    pub aws_endpoint_url: Option<String>,
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER` (wins over `aws_endpoint_url`).
    pub aws_secretsmanager_url: Option<String>,
    /// `AWS_ENDPOINT_URL_STS` (wins over `aws_endpoint_url`).
    pub aws_sts_url: Option<String>,
    /// The EKS Pod Identity credentials endpoint (default
    /// `http://169.254.170.23/v1/credentials`); `SECRETS_AGENT_AWS_POD_IDENTITY_ENDPOINT`.
    pub aws_pod_identity_url: Option<String>,
    /// `AZURE_AUTHORITY_HOST`: the Entra authority (default per `environmentType`).
    pub azure_authority_host: Option<String>,
    /// `SECRETS_AGENT_GCP_SECRETMANAGER_ENDPOINT` (replaces the regional host too).
    pub gcp_secretmanager_url: Option<String>,
    /// `SECRETS_AGENT_GCP_STS_ENDPOINT`.
    pub gcp_sts_url: Option<String>,
    /// `SECRETS_AGENT_GCP_IAMCREDENTIALS_ENDPOINT`.
    pub gcp_iamcredentials_url: Option<String>,
}

impl Endpoints {
    /// The env names, in field order (the agent's flags read the GCP ones through clap).
    pub const ENV: [&'static str; 8] = [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_ENDPOINT_URL_STS",
        "SECRETS_AGENT_AWS_POD_IDENTITY_ENDPOINT",
        "AZURE_AUTHORITY_HOST",
        "SECRETS_AGENT_GCP_SECRETMANAGER_ENDPOINT",
        "SECRETS_AGENT_GCP_STS_ENDPOINT",
        "SECRETS_AGENT_GCP_IAMCREDENTIALS_ENDPOINT",
    ];

    /// Overrides from `lookup` (an env reader), empty values ignored.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let [a, b, c, d, e, f, g, h] = Self::ENV;
        Endpoints {
            aws_endpoint_url: get(a),
            aws_secretsmanager_url: get(b),
            aws_sts_url: get(c),
            aws_pod_identity_url: get(d),
            azure_authority_host: get(e),
            gcp_secretmanager_url: get(f),
            gcp_sts_url: get(g),
            gcp_iamcredentials_url: get(h),
        }
    }

    /// Overrides from this process's environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

/// How a store crate's `open` builds a store.
#[derive(Clone)]
pub struct OpenOptions {
    /// Names the store object in messages and logs (`SecretStore "aws"`).
    pub label: String,
    /// Limit of one store call.
    pub timeout: Duration,
    /// Told about every call (`provider_calls_total`).
    pub observer: Option<CallObserver>,
    /// Endpoint overrides.
    pub endpoints: Endpoints,
    /// AWS: fetch current versions of many keys with `BatchGetSecretValue` (default on; off
    /// only to measure the one-call-per-key pattern).
    pub batch: bool,
    /// Keep credentials (STS, Entra, GCP tokens) until near expiry (default on; off only to
    /// measure the log-in-per-read pattern).
    pub credential_cache: bool,
    /// A person's own credentials (the plugin): reads delete nothing, so checks that guard
    /// deletions may be skipped.
    pub person: bool,
}

impl OpenOptions {
    /// Defaults for a store labelled `label`: 10 s calls, no observer, public endpoints,
    /// batching and the credential cache on.
    pub fn new(label: impl Into<String>) -> Self {
        OpenOptions {
            label: label.into(),
            timeout: Duration::from_secs(10),
            observer: None,
            endpoints: Endpoints::default(),
            batch: true,
            credential_cache: true,
            person: false,
        }
    }
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("label", &self.label)
            .field("timeout", &self.timeout)
            .field("endpoints", &self.endpoints)
            .field("batch", &self.batch)
            .field("credential_cache", &self.credential_cache)
            .field("person", &self.person)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_are_read_by_their_sdk_names_and_blank_ones_ignored() {
        let e = Endpoints::from_lookup(|name| match name {
            "AWS_ENDPOINT_URL_STS" => Some("http://127.0.0.1:1/".into()),
            "AZURE_AUTHORITY_HOST" => Some("  ".into()),
            "SECRETS_AGENT_GCP_STS_ENDPOINT" => Some("http://127.0.0.1:2".into()),
            _ => None,
        });
        assert_eq!(e.aws_sts_url.as_deref(), Some("http://127.0.0.1:1/"));
        assert_eq!(e.gcp_sts_url.as_deref(), Some("http://127.0.0.1:2"));
        assert_eq!(e.azure_authority_host, None);
        assert_eq!(e.aws_endpoint_url, None);
    }
}

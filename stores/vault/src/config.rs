//! How to reach one Vault server: its URL, the Enterprise/OpenBao namespace, the CA to trust
//! and the per-call timeout. A store's `spec.provider.vault` maps onto this one to one
//! (`server`, `namespace`, `caBundle`); [`VaultConfig::validate`] turns it into the checked
//! form the client keeps.

use std::fmt;
use std::time::Duration;

use http::HeaderValue;
use http::uri::{Scheme, Uri};

use super::VaultError;

/// Where a Vault server is and how to talk to it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VaultConfig {
    /// `http://` or `https://` URL of the server, optionally with a path prefix the server is
    /// published under (`https://proxy.example/vault`); `/v1/...` is appended to it.
    pub server: String,
    /// Sent as `X-Vault-Namespace` on every call (Vault Enterprise, OpenBao namespaces).
    pub namespace: Option<String>,
    /// PEM certificates. When set, the server's chain must lead to one of these and nothing
    /// else is trusted; when unset, the system's roots are used.
    pub ca_bundle: Option<Vec<u8>>,
    /// Limit for one call: connecting, sending, and reading the whole answer.
    pub timeout: Duration,
}

impl VaultConfig {
    /// The default per-call timeout: long enough for a login that makes Vault call the
    /// Kubernetes TokenReview API, short enough that a hung server does not hold a reconcile.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A configuration for `server` with no namespace, the system roots and the default
    /// timeout.
    pub fn new(server: impl Into<String>) -> Self {
        VaultConfig {
            server: server.into(),
            namespace: None,
            ca_bundle: None,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Send this namespace with every call.
    #[must_use]
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Trust only the certificates in this PEM bundle.
    #[must_use]
    pub fn with_ca_bundle(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_bundle = Some(pem.into());
        self
    }

    /// Limit each call to `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Check the configuration and derive what requests need from it.
    pub(super) fn validate(&self) -> Result<Checked, VaultError> {
        let server = self.server.trim().trim_end_matches('/');
        let uri: Uri = server
            .parse()
            .map_err(|_| VaultError::invalid_config(format!("server {server:?} is not a URL")))?;
        let https = match uri.scheme() {
            Some(scheme) if *scheme == Scheme::HTTPS => true,
            Some(scheme) if *scheme == Scheme::HTTP => false,
            _ => {
                return Err(VaultError::invalid_config(format!(
                    "server {server:?} must start with http:// or https://"
                )));
            }
        };
        if uri.host().is_none_or(str::is_empty) {
            return Err(VaultError::invalid_config(format!(
                "server {server:?} has no host"
            )));
        }
        if uri.query().is_some() {
            return Err(VaultError::invalid_config(format!(
                "server {server:?} must not carry a query"
            )));
        }
        if !https && self.ca_bundle.is_some() {
            return Err(VaultError::invalid_config(format!(
                "a caBundle is set but server {server:?} is plain http://, so it would never \
                 be used; use an https:// URL or drop the caBundle"
            )));
        }
        if self.timeout.is_zero() {
            return Err(VaultError::invalid_config("the timeout must be above zero"));
        }
        let namespace = match self.namespace.as_deref().map(|ns| ns.trim_matches('/')) {
            None | Some("") => None,
            Some(ns) => Some(HeaderValue::from_str(ns).map_err(|_| {
                VaultError::invalid_config(format!(
                    "namespace {ns:?} cannot be sent as an HTTP header"
                ))
            })?),
        };
        Ok(Checked {
            base: server.to_owned(),
            https,
            namespace,
        })
    }
}

impl fmt::Debug for VaultConfig {
    // By hand so the CA bundle shows as a size, not a byte dump.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultConfig")
            .field("server", &self.server)
            .field("namespace", &self.namespace)
            .field(
                "ca_bundle",
                &self
                    .ca_bundle
                    .as_ref()
                    .map(|pem| format!("{} bytes", pem.len())),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A validated configuration's derived parts.
#[derive(Debug)]
pub(super) struct Checked {
    /// The server URL without a trailing slash; requests go to `{base}/v1/{path}`.
    pub(super) base: String,
    pub(super) https: bool,
    pub(super) namespace: Option<HeaderValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(config: VaultConfig) -> String {
        match config.validate() {
            Err(VaultError::InvalidConfig { reason }) => reason,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn server_urls_are_checked() {
        let ok = VaultConfig::new("https://vault.example:8200/")
            .validate()
            .unwrap();
        assert_eq!(ok.base, "https://vault.example:8200");
        assert!(ok.https);
        let prefixed = VaultConfig::new("http://proxy/vault").validate().unwrap();
        assert_eq!(prefixed.base, "http://proxy/vault");
        assert!(reason(VaultConfig::new("vault.example:8200")).contains("http:// or https://"));
        assert!(reason(VaultConfig::new("ftp://vault")).contains("http:// or https://"));
        assert!(reason(VaultConfig::new("not a url")).contains("not a URL"));
        assert!(reason(VaultConfig::new("http://v?x=1")).contains("query"));
    }

    #[test]
    fn ca_bundle_on_plain_http_is_refused() {
        let config = VaultConfig::new("http://vault:8200").with_ca_bundle(b"pem".to_vec());
        assert!(reason(config).contains("caBundle"));
    }

    #[test]
    fn namespace_and_timeout() {
        let checked = VaultConfig::new("http://v")
            .with_namespace("/team-a/")
            .validate()
            .unwrap();
        assert_eq!(checked.namespace.unwrap(), "team-a");
        let none = VaultConfig::new("http://v")
            .with_namespace("")
            .validate()
            .unwrap();
        assert!(none.namespace.is_none());
        let zero = VaultConfig::new("http://v").with_timeout(Duration::ZERO);
        assert!(reason(zero).contains("timeout"));
        let bad = VaultConfig::new("http://v").with_namespace("a\nb");
        assert!(reason(bad).contains("namespace"));
    }

    #[test]
    fn debug_shows_the_bundle_size_only() {
        let config = VaultConfig::new("https://v").with_ca_bundle(b"-----BEGIN".to_vec());
        let debug = format!("{config:?}");
        assert!(debug.contains("10 bytes"), "{debug}");
        assert!(!debug.contains("BEGIN"), "{debug}");
    }
}

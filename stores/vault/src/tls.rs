//! The connector under the client: TCP (with the call timeout as connect timeout) and, for
//! `https://` servers, rustls with an explicit aws-lc-rs provider and a root store holding
//! either the store's `caBundle` alone or the system's roots.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::VaultError;

pub(super) type Connector = HttpsConnector<HttpConnector>;

/// A connector for one server. For plain `http://` servers no roots are loaded: the TLS side
/// is never used, as we build every URL from the configured `http://` base.
pub(super) fn connector(
    https: bool,
    ca_bundle: Option<&[u8]>,
    connect_timeout: Duration,
) -> Result<Connector, VaultError> {
    let roots = match (https, ca_bundle) {
        (true, Some(pem)) => bundle_roots(pem)?,
        (true, None) => system_roots()?,
        (false, _) => RootCertStore::empty(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| VaultError::invalid_config(format!("setting up TLS: {err}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(connect_timeout));
    tcp.set_nodelay(true);
    Ok(HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp))
}

/// A root store holding exactly the certificates of a PEM bundle.
fn bundle_roots(pem: &[u8]) -> Result<RootCertStore, VaultError> {
    let blocks = pem::parse_many(pem)
        .map_err(|err| VaultError::invalid_config(format!("reading the caBundle PEM: {err}")))?;
    let mut roots = RootCertStore::empty();
    for block in blocks.iter().filter(|block| block.tag() == "CERTIFICATE") {
        roots
            .add(CertificateDer::from(block.contents().to_vec()))
            .map_err(|err| {
                VaultError::invalid_config(format!("a caBundle certificate is unusable: {err}"))
            })?;
    }
    if roots.is_empty() {
        return Err(VaultError::invalid_config(
            "the caBundle holds no PEM CERTIFICATE block",
        ));
    }
    Ok(roots)
}

/// The system's roots (the container image's CA bundle, `SSL_CERT_FILE`/`SSL_CERT_DIR`).
fn system_roots() -> Result<RootCertStore, VaultError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    // Unparseable system certificates are skipped, as every TLS client does; they cannot be
    // the ones a server chains to.
    let (_added, _skipped) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(VaultError::invalid_config(
            "no system CA certificates found to verify the server; set a caBundle",
        ));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(result: Result<RootCertStore, VaultError>) -> String {
        match result {
            Err(VaultError::InvalidConfig { reason }) => reason,
            Err(other) => panic!("expected InvalidConfig, got {other:?}"),
            Ok(_) => panic!("expected InvalidConfig, got a root store"),
        }
    }

    #[test]
    fn bundle_must_hold_a_certificate() {
        assert!(reason(bundle_roots(b"")).contains("no PEM CERTIFICATE"));
        let key_only = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(reason(bundle_roots(key_only.as_bytes())).contains("no PEM CERTIFICATE"));
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(reason(bundle_roots(garbage.as_bytes())).contains("unusable"));
    }

    #[test]
    fn bundle_certificates_are_the_only_roots() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let roots = bundle_roots(ca.pem().as_bytes()).unwrap();
        assert_eq!(roots.len(), 1);
    }
}

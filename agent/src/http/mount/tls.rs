//! The mount endpoint's TLS: rustls on aws-lc-rs, the certificate and key taken at each
//! handshake from the loaded mount key, so a rotated key serves at once; no key loaded means
//! no handshake (the provider retries).

use std::sync::{Arc, Mutex, PoisonError};

use rustls::crypto::aws_lc_rs;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use super::key::KeyChannel;

/// A TLS acceptor serving whatever mount key is loaded.
pub(super) fn acceptor(key: KeyChannel) -> anyhow::Result<TlsAcceptor> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(FromChannel {
            key,
            cache: Mutex::new(None),
        }));
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[derive(Debug)]
struct FromChannel {
    key: KeyChannel,
    /// The certified key of the last fingerprint, so handshakes do not re-parse it.
    cache: Mutex<Option<(String, Arc<CertifiedKey>)>>,
}

impl ResolvesServerCert for FromChannel {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let key = self.key.borrow().clone()?;
        let fingerprint = key.fingerprint();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached, certified)) = cache.as_ref()
            && *cached == fingerprint
        {
            return Some(Arc::clone(certified));
        }
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8_der().to_vec()));
        let signing = aws_lc_rs::sign::any_supported_type(&der)
            .map_err(|err| tracing::warn!(error = %err, "the mount key does not load into TLS"))
            .ok()?;
        let certified = Arc::new(CertifiedKey::new(
            vec![CertificateDer::from(key.cert_der().to_vec())],
            signing,
        ));
        *cache = Some((fingerprint, Arc::clone(&certified)));
        Some(certified)
    }
}

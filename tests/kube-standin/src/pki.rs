//! The stand-in's TLS identity: a throwaway certificate authority and one server certificate.
//!
//! Data flow: [`Pki::generate`] makes a fresh CA key and self-signed CA certificate, then a
//! separate leaf key whose certificate (SANs = the hosts the stand-in answers on) is signed by
//! the CA. The CA key is dropped at the end of `generate`: nothing else is ever signed, so
//! keeping it would only widen what a leak could forge. The CA certificate (`ca_pem`) goes to
//! clients (a kubeconfig's `certificate-authority-data`); the leaf and its key feed
//! [`Pki::server_config`], which the listener hands to `tokio-rustls`.
//!
//! A separate leaf is required because rustls (webpki) refuses a CA certificate presented as
//! the end-entity, so the classic "one self-signed certificate" shortcut does not work.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// How long the certificates stay valid. A test run lasts minutes; a year leaves room for a
/// long-lived demo without pretending to be production material.
const VALIDITY: Duration = Duration::days(365);
/// Back-dating absorbs clock skew between the stand-in and a client in another container.
const BACKDATE: Duration = Duration::hours(1);

/// A CA and a server certificate it signed, with the server's private key.
pub struct Pki {
    /// PEM of the CA certificate: what a client must trust.
    pub ca_pem: String,
    /// PEM of the server (leaf) certificate.
    pub cert_pem: String,
    cert_der: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl fmt::Debug for Pki {
    // Hand-written so that the private key can never end up in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pki")
            .field("ca_pem", &self.ca_pem)
            .field("cert_pem", &self.cert_pem)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Pki {
    /// A fresh CA (ECDSA P-256) and a server leaf certificate signed by it, with a SAN for every
    /// host given: IP addresses (`127.0.0.1`, `::1`, also bracketed `[::1]`) become IP SANs,
    /// anything else a DNS SAN (`localhost`).
    pub fn generate(hosts: &[&str]) -> anyhow::Result<Pki> {
        anyhow::ensure!(
            !hosts.is_empty(),
            "generating the server certificate: at least one host is needed"
        );
        let now = OffsetDateTime::now_utc();

        let ca_key =
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating the CA key")?;
        let mut ca_params = CertificateParams::default();
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        // A random suffix keeps the CAs of two stand-ins apart by name, so a client trusting the
        // wrong one reports "unknown issuer" instead of a confusing signature failure.
        let mut suffix = [0_u8; 6];
        aws_lc_rs::rand::fill(&mut suffix).context("drawing a random CA name suffix")?;
        let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("kube-standin CA {suffix}"));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        ca_params.not_before = now - BACKDATE;
        ca_params.not_after = now + VALIDITY;
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .context("self-signing the CA certificate")?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key =
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating the server key")?;
        let mut leaf_params = CertificateParams::default();
        leaf_params.distinguished_name = rcgen::DistinguishedName::new();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "kube-standin");
        leaf_params.subject_alt_names = hosts
            .iter()
            .map(|host| san_for(host))
            .collect::<anyhow::Result<_>>()?;
        leaf_params.is_ca = IsCa::ExplicitNoCa;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf_params.use_authority_key_identifier_extension = true;
        leaf_params.not_before = now - BACKDATE;
        leaf_params.not_after = now + VALIDITY;
        let leaf_cert = leaf_params
            .signed_by(&leaf_key, &issuer)
            .context("signing the server certificate")?;

        Ok(Pki {
            ca_pem: ca_cert.pem(),
            cert_pem: leaf_cert.pem(),
            cert_der: leaf_cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
        })
    }

    /// A rustls server configuration presenting the leaf certificate, offering ALPN `h2` then
    /// `http/1.1` (kube clients speak either), on the aws-lc-rs provider.
    ///
    /// The provider is passed explicitly rather than relying on the process default, which may
    /// be unset (or ambiguous when several providers are compiled in) in a test binary.
    pub fn server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("choosing TLS protocol versions for the server")?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.cert_der.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .context("loading the server certificate and key into rustls")?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The SAN for one host: an IP SAN when it parses as an address (brackets allowed, as in URLs),
/// otherwise a DNS SAN.
fn san_for(host: &str) -> anyhow::Result<SanType> {
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let name = host
        .to_owned()
        .try_into()
        .with_context(|| format!("using {host:?} as a DNS name in the server certificate"))?;
    Ok(SanType::DnsName(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::ServerName;
    use rustls::pki_types::pem::PemObject as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::{TcpListener, TcpStream};

    /// A client configuration that trusts exactly the CA in `ca_pem` and offers h2.
    fn client_config(ca_pem: &str) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap();
        roots.add(ca).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        Arc::new(config)
    }

    /// Serves one TLS connection on loopback with `server`'s config and connects to it as
    /// `name`, trusting `trusted_ca_pem`. Returns the ALPN protocol the client saw, or the
    /// client's handshake error. Data is echoed both ways so the session is really usable.
    async fn handshake(
        server: &Pki,
        trusted_ca_pem: &str,
        name: ServerName<'static>,
    ) -> Result<Option<Vec<u8>>, std::io::Error> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(server.server_config().unwrap());
        let server_task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            // A failed handshake is an expected outcome in some tests: report, don't panic.
            let mut tls = acceptor.accept(tcp).await?;
            let mut buf = [0_u8; 4];
            tls.read_exact(&mut buf).await?;
            tls.write_all(&buf).await?;
            tls.shutdown().await?;
            Ok::<_, std::io::Error>(())
        });

        let connector = tokio_rustls::TlsConnector::from(client_config(trusted_ca_pem));
        let tcp = TcpStream::connect(addr).await.unwrap();
        let result = async {
            let mut tls = connector.connect(name, tcp).await?;
            let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
            tls.write_all(b"ping").await?;
            let mut buf = [0_u8; 4];
            tls.read_exact(&mut buf).await?;
            assert_eq!(&buf, b"ping");
            Ok(alpn)
        }
        .await;
        let server_result = server_task.await.unwrap();
        if result.is_ok() {
            server_result.unwrap();
        } else {
            assert!(
                server_result.is_err(),
                "server side accepted a failed handshake"
            );
        }
        result
    }

    fn hosts() -> Pki {
        Pki::generate(&["127.0.0.1", "::1", "localhost"]).unwrap()
    }

    #[tokio::test]
    async fn handshake_succeeds_for_ip_and_dns_names() {
        let pki = hosts();
        for name in ["127.0.0.1", "localhost", "::1"] {
            // The socket is always IPv4 loopback; only the verified name changes, so the IPv6
            // SAN is checked even where the test machine has no IPv6.
            let server_name = ServerName::try_from(name).unwrap().to_owned();
            let alpn = handshake(&pki, &pki.ca_pem, server_name).await.unwrap();
            assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "ALPN for {name}");
        }
    }

    #[tokio::test]
    async fn client_trusting_another_ca_is_refused() {
        let pki = hosts();
        let other = hosts();
        let name = ServerName::try_from("localhost").unwrap().to_owned();
        let err = handshake(&pki, &other.ca_pem, name).await.unwrap_err();
        assert!(
            err.to_string().contains("UnknownIssuer"),
            "unexpected error: {err}"
        );
    }

    #[tokio::test]
    async fn name_outside_the_sans_is_refused() {
        let pki = Pki::generate(&["127.0.0.1", "localhost"]).unwrap();
        for name in ["example.com", "127.0.0.2"] {
            let server_name = ServerName::try_from(name).unwrap().to_owned();
            let err = handshake(&pki, &pki.ca_pem, server_name).await.unwrap_err();
            assert!(
                err.to_string().contains("not valid for name"),
                "unexpected error for {name}: {err}"
            );
        }
    }

    #[test]
    fn leaf_is_distinct_from_the_ca_and_key_is_not_debug_printed() {
        let pki = hosts();
        assert_ne!(pki.ca_pem, pki.cert_pem);
        assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let debug = format!("{pki:?}");
        assert!(debug.contains("<redacted>"));
        assert!(!debug.contains("PRIVATE KEY"));
        // Each call is a new CA: two stand-ins never trust each other's certificates.
        assert_ne!(hosts().ca_pem, pki.ca_pem);
    }

    #[test]
    fn hosts_map_to_the_right_san_kind() {
        assert!(matches!(san_for("127.0.0.1").unwrap(), SanType::IpAddress(ip) if ip.is_ipv4()));
        assert!(matches!(san_for("::1").unwrap(), SanType::IpAddress(ip) if ip.is_ipv6()));
        assert!(matches!(san_for("[::1]").unwrap(), SanType::IpAddress(ip) if ip.is_loopback()));
        assert!(matches!(san_for("localhost").unwrap(), SanType::DnsName(_)));
        assert!(Pki::generate(&[]).is_err());
    }
}

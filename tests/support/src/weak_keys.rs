//! RSA keys too weak to seal with, made by the system's `openssl` at test time (test keys are
//! never committed): a 1024-bit key as PKCS#8 and PKCS#1 with its self-signed certificate, and a
//! certificate whose public exponent (2^40 + 1) is larger than the crypto library accepts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The files [`weak_rsa_keys`] writes.
pub struct WeakRsaKeys {
    /// A self-signed certificate of a 1024-bit key.
    pub rsa1024_cert: PathBuf,
    /// That key, PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    pub rsa1024_pkcs8: PathBuf,
    /// That key, PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`).
    pub rsa1024_pkcs1: PathBuf,
    /// A self-signed certificate of a 2048-bit key with exponent 2^40 + 1.
    pub big_exponent_cert: PathBuf,
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running openssl (Debian package `openssl`) to make weak test keys");
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.first().copied().unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn self_signed(key: &Path, cert: &Path) {
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        &s(key),
        "-out",
        &s(cert),
        "-days",
        "30",
        "-subj",
        "/CN=weak-test-key",
    ]);
}

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Write the weak keys into `dir`.
///
/// # Panics
/// When `openssl` is missing or fails.
pub fn weak_rsa_keys(dir: &Path) -> WeakRsaKeys {
    let keys = WeakRsaKeys {
        rsa1024_cert: dir.join("rsa1024-cert.pem"),
        rsa1024_pkcs8: dir.join("rsa1024-key.pem"),
        rsa1024_pkcs1: dir.join("rsa1024-pkcs1.pem"),
        big_exponent_cert: dir.join("rsa-big-exponent-cert.pem"),
    };
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        &s(&keys.rsa1024_pkcs8),
    ]);
    openssl(&[
        "pkey",
        "-in",
        &s(&keys.rsa1024_pkcs8),
        "-traditional",
        "-out",
        &s(&keys.rsa1024_pkcs1),
    ]);
    self_signed(&keys.rsa1024_pkcs8, &keys.rsa1024_cert);
    let big = dir.join("rsa-big-exponent-key.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-pkeyopt",
        "rsa_keygen_pubexp:1099511627777",
        "-out",
        &s(&big),
    ]);
    self_signed(&big, &keys.big_exponent_cert);
    keys
}

//! RS256 JWTs as the stand-in judges them: the Kubernetes service-account tokens STS takes as
//! subject tokens, and the self-signed service-account JWTs Secret Manager takes as Bearer
//! tokens. [`ServiceAccountKey`] makes a key JSON for tests (generated at test time).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// A JWT whose signature checked out: its header and claims.
pub(crate) struct Verified {
    pub(crate) header: Value,
    pub(crate) claims: Value,
}

/// Split a compact JWT and decode its header, without checking anything.
pub(crate) fn header(token: &str) -> Result<Value, &'static str> {
    let first = token.split('.').next().ok_or("not a JWT")?;
    let bytes = URL_SAFE_NO_PAD
        .decode(first)
        .map_err(|_| "header is not base64url")?;
    serde_json::from_slice(&bytes).map_err(|_| "header is not JSON")
}

/// Check `token`'s RS256 signature against `public_key_der` (PKIX or PKCS#1).
pub(crate) fn verify(token: &str, public_key_der: &[u8]) -> Result<Verified, &'static str> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWT");
    };
    let header = header(token)?;
    if header["alg"] != "RS256" {
        return Err("alg is not RS256");
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| "signature is not base64url")?;
    let signed = format!("{h}.{c}");
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key_der)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "signature verification failed")?;
    let claims = URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| "claims are not base64url")?;
    let claims = serde_json::from_slice(&claims).map_err(|_| "claims are not JSON")?;
    Ok(Verified { header, claims })
}

/// Seconds since the epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whether `aud` (a string or an array) holds one of `wanted`.
pub(crate) fn audience_matches(aud: &Value, wanted: &[String]) -> bool {
    match aud {
        Value::String(one) => wanted.contains(one),
        Value::Array(many) => many
            .iter()
            .filter_map(Value::as_str)
            .any(|a| wanted.iter().any(|w| w == a)),
        _ => false,
    }
}

/// A service-account key made for a test: the key JSON a user downloads from GCP, and the
/// public half the stand-in is given ([`crate::Control::register_key`]).
pub struct ServiceAccountKey {
    /// The key JSON (`type`, `project_id`, `private_key_id`, `private_key`, `client_email`, …).
    pub json: String,
    /// `private_key_id`.
    pub key_id: String,
    /// `client_email`.
    pub email: String,
    /// The public key, PKIX DER.
    pub public_key_der: Vec<u8>,
}

impl ServiceAccountKey {
    /// A fresh RSA-2048 key for `email` in `project_id`.
    pub fn generate(email: &str, project_id: &str) -> anyhow::Result<ServiceAccountKey> {
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| anyhow::anyhow!("generating an RSA key"))?;
        let pkcs8 = key
            .as_der()
            .map_err(|_| anyhow::anyhow!("encoding the private key"))?;
        let public_key_der = key
            .public_key()
            .as_der()
            .map_err(|_| anyhow::anyhow!("encoding the public key"))?
            .as_ref()
            .to_vec();
        let mut id = [0_u8; 20];
        aws_lc_rs::rand::fill(&mut id).map_err(|_| anyhow::anyhow!("drawing a key id"))?;
        let key_id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let private_key = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
        let json = serde_json::json!({
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": private_key,
            "client_email": email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
            "universe_domain": "googleapis.com",
        })
        .to_string();
        Ok(ServiceAccountKey {
            json,
            key_id,
            email: email.to_owned(),
            public_key_der,
        })
    }
}

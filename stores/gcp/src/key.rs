//! Service-account key JSON (`secretRef.secretAccessKeySecretRef`) and the self-signed JWT
//! made from it.
//!
//! Data flow: key JSON text (zeroized by the caller) ──[`ServiceAccountKey::parse`]──▶ the
//! account's email, key id and RSA key (the PKCS#8 DER is wiped after parsing) ──[`sign`]──▶
//! a JWT (`iss` = `sub` = the account, `kid` = `private_key_id`, `scope` = cloud-platform,
//! one hour) used directly as the Bearer token of Secret Manager calls.
//!
//! Why a self-signed JWT and not the OAuth JWT-bearer grant ESO uses: it needs no token call
//! (one round trip less per login, no token endpoint to override or stand in), and nothing is
//! ever sent to the `token_uri` written inside the key JSON — a key file is user input, and a
//! grant would post a signed assertion wherever it points. Google's own Rust client
//! (`google-cloud-auth`) authenticates service-account keys the same way.

use std::fmt;

use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use zeroize::Zeroizing;

/// The scope every token we make or ask for carries.
pub(crate) const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// How long a self-signed JWT is valid (Google's maximum).
pub(crate) const JWT_LIFETIME_SECONDS: u64 = 3600;

/// Why a key JSON cannot be used. Never quotes the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the service-account key is not JSON with client_email, private_key_id and private_key"
    )]
    NotJson,
    #[error(
        "the key JSON has type {0:?}; secretRef takes a service-account key (type \
         \"service_account\"); external-account configurations (credConfig) are not supported"
    )]
    WrongType(String),
    #[error("the key JSON's private_key is not a PEM PKCS#8 RSA private key")]
    PrivateKey,
    #[error("signing the JWT with the service-account key failed")]
    Signing,
}

/// Only the file's `type` (other fields are skipped without being copied).
#[derive(Deserialize)]
struct KeyType {
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Deserialize)]
struct KeyJson {
    client_email: String,
    private_key_id: String,
    private_key: Zeroizing<String>,
    #[serde(default)]
    project_id: Option<String>,
}

/// A parsed service-account key. `Debug` shows the account and key id only.
pub struct ServiceAccountKey {
    email: String,
    key_id: String,
    project_id: Option<String>,
    key: KeyPair,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("email", &self.email)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// Parse a key JSON as GCP hands it out.
    pub fn parse(json: &str) -> Result<ServiceAccountKey, KeyError> {
        let kind: KeyType = serde_json::from_str(json).map_err(|_| KeyError::NotJson)?;
        if kind.kind != "service_account" {
            return Err(KeyError::WrongType(kind.kind));
        }
        let parsed: KeyJson = serde_json::from_str(json).map_err(|_| KeyError::NotJson)?;
        let pem = pem::parse(parsed.private_key.as_bytes()).map_err(|_| KeyError::PrivateKey)?;
        if pem.tag() != "PRIVATE KEY" {
            return Err(KeyError::PrivateKey);
        }
        let der = Zeroizing::new(pem.into_contents());
        let key = KeyPair::from_pkcs8(&der).map_err(|_| KeyError::PrivateKey)?;
        Ok(ServiceAccountKey {
            email: parsed.client_email,
            key_id: parsed.private_key_id,
            project_id: parsed.project_id,
            key,
        })
    }

    /// `client_email`.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// `project_id`, when the key names one.
    pub fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// A JWT for the account, issued at `now` (seconds since the epoch), valid an hour.
    pub fn sign(&self, now: u64) -> Result<Zeroizing<String>, KeyError> {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.key_id});
        let claims = serde_json::json!({
            "iss": self.email,
            "sub": self.email,
            "scope": CLOUD_PLATFORM,
            "iat": now,
            "exp": now + JWT_LIFETIME_SECONDS,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0_u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| KeyError::Signing)?;
        Ok(Zeroizing::new(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    fn key_json(kind: &str) -> (String, Vec<u8>) {
        let key = KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 =
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key).unwrap();
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
        let json = serde_json::json!({"type": kind, "project_id": "p", "private_key_id": "k1",
            "private_key": pem, "client_email": "a@p.iam.gserviceaccount.com"});
        (json.to_string(), key.public_key().as_ref().to_vec())
    }

    #[test]
    fn signs_a_jwt_the_public_key_verifies() {
        let (json, public) = key_json("service_account");
        let key = ServiceAccountKey::parse(&json).unwrap();
        assert_eq!(key.email(), "a@p.iam.gserviceaccount.com");
        assert_eq!(key.project_id(), Some("p"));
        let jwt = key.sign(1_700_000_000).unwrap();
        let (input, signature) = jwt.rsplit_once('.').unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
            .verify(
                input.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .unwrap();
        let claims = input.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["iss"], claims["sub"]);
        assert_eq!(claims["exp"], 1_700_003_600);
        assert_eq!(claims["scope"], CLOUD_PLATFORM);
        let debug = format!("{key:?}");
        assert!(!debug.contains("PRIVATE"), "{debug}");
    }

    #[test]
    fn refuses_other_key_files_by_name() {
        let (json, _) = key_json("external_account");
        assert_eq!(
            ServiceAccountKey::parse(&json).unwrap_err(),
            KeyError::WrongType("external_account".into())
        );
        assert_eq!(
            ServiceAccountKey::parse("not json").unwrap_err(),
            KeyError::NotJson
        );
        let broken = r#"{"type":"service_account","client_email":"a","private_key_id":"k","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#;
        let err = ServiceAccountKey::parse(broken).unwrap_err();
        assert_eq!(err, KeyError::PrivateKey);
        assert!(!err.to_string().contains("AAAA"));
    }
}

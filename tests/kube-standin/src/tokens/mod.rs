//! ServiceAccount tokens: issuing them (TokenRequest) and judging them (TokenReview).
//!
//! Data flow: a [`TokenSigner`] holds one RSA-2048 key, generated at start and never stored.
//! [`TokenSigner::issue_bound`] turns a [`Subject`] (the service account's namespace, name and
//! uid), an optional [`Binding`] (the pod or secret the TokenRequest's `boundObjectRef` named,
//! already resolved to its uid by the caller), the requested audiences and a lifetime into a
//! compact RS256 JWT with the claims kube-apiserver puts in bound tokens (`claims`).
//! [`TokenSigner::review`] takes such a token back, checks it step by step (`verify`: shape,
//! issuer, signature, time window, audiences, then that the service account and the bound
//! object still exist with the same uids, through [`Objects`]) and produces the
//! [`ReviewStatus`] that goes verbatim into a TokenReview's `status`, with the pod and
//! credential id in `user.extra` as kube-apiserver reports them. Outside verifiers (OpenBao's
//! Kubernetes auth with `pem_keys`) get [`TokenSigner::public_key_pem`] instead.
//!
//! Only TokenRequest tokens are understood: legacy Secret-based tokens and node bindings are
//! not modelled.

mod claims;
#[cfg(test)]
mod tests;
mod verify;

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use aws_lc_rs::{digest, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use time::OffsetDateTime;

use claims::{Audiences, Claims, Header, KubernetesClaims, ObjectRef};

/// The audience of a token requested (or reviewed) without explicit audiences, as a default
/// kube-apiserver (kind, k3s) names itself.
pub const DEFAULT_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

/// The service account a pod runs as when its spec names none (the ServiceAccount admission
/// plugin's default, which the store applies to pods on write).
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";

/// `user.extra` keys of a pod-bound token's review, as kube-apiserver sets them.
pub const POD_NAME_KEY: &str = "authentication.kubernetes.io/pod-name";
pub const POD_UID_KEY: &str = "authentication.kubernetes.io/pod-uid";
/// `user.extra` key holding `JTI=<the token's jti>`.
pub const CREDENTIAL_ID_KEY: &str = "authentication.kubernetes.io/credential-id";

/// Groups every service account belongs to, besides its namespace's group.
const ALL_SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";
const AUTHENTICATED_GROUP: &str = "system:authenticated";

/// Failures while creating a signer or issuing a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("generating the service account signing key")]
    KeyGeneration(#[source] aws_lc_rs::error::Unspecified),
    #[error("encoding the service account public key")]
    PublicKey(#[source] aws_lc_rs::error::Unspecified),
    #[error("creating the token signer: the issuer must not be empty")]
    EmptyIssuer,
    #[error("issuing a token: expiration seconds must be positive and in range, got {0}")]
    InvalidExpiration(i64),
    #[error("issuing a token: drawing the token id")]
    TokenId,
    #[error("issuing a token: encoding the claims")]
    Encoding(#[from] serde_json::Error),
    #[error("issuing a token: signing")]
    Signing(#[source] aws_lc_rs::error::Unspecified),
}

/// The service account a token is issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// The object a token is bound to (in the service account's namespace), with the uid it had
/// when the token was issued. The token dies with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    Pod { name: String, uid: String },
    Secret { name: String, uid: String },
}

/// What a review needs to know of an object that exists now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectState {
    pub uid: String,
    /// Set while the object awaits removal (finalizers).
    pub deletion_timestamp: Option<OffsetDateTime>,
}

/// The cluster's current objects, as a review looks them up (in the token's namespace).
pub trait Objects {
    fn service_account(&self, namespace: &str, name: &str) -> Option<ObjectState>;
    fn pod(&self, namespace: &str, name: &str) -> Option<ObjectState>;
    fn secret(&self, namespace: &str, name: &str) -> Option<ObjectState>;
}

/// A TokenReview's `status`, serialised exactly as Kubernetes' `TokenReviewStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewStatus {
    pub authenticated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Kubernetes' `UserInfo` for an authenticated service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
    /// Pod name and uid of a pod-bound token, and the credential id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// Signs and verifies service account tokens with one RSA key.
pub struct TokenSigner {
    issuer: String,
    key: KeyPair,
    /// The public key as PKCS#1 `RSAPublicKey`, the form aws-lc-rs verifies against.
    public_pkcs1: Vec<u8>,
    /// The public key as PKIX `SubjectPublicKeyInfo`, the form verifiers are given.
    public_spki: Vec<u8>,
    /// Key id: base64url(SHA-256(SPKI)), the same derivation kube-apiserver uses, so a
    /// verifier holding several keys can pick the right one.
    kid: String,
}

impl fmt::Debug for TokenSigner {
    // Only public facts: the private key must not reach logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer for tokens naming `issuer` as `iss`, with a freshly generated RSA-2048 key.
    pub fn new(issuer: &str) -> Result<Self, TokenError> {
        if issuer.is_empty() {
            return Err(TokenError::EmptyIssuer);
        }
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(TokenError::KeyGeneration)?;
        let public_pkcs1 = key.public_key().as_ref().to_vec();
        let public_spki = key
            .public_key()
            .as_der()
            .map_err(TokenError::PublicKey)?
            .as_ref()
            .to_vec();
        let kid = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &public_spki));
        Ok(TokenSigner {
            issuer: issuer.to_owned(),
            key,
            public_pkcs1,
            public_spki,
            kid,
        })
    }

    /// An unbound token: [`TokenSigner::issue_bound`] without a binding.
    pub fn issue(
        &self,
        subject: &Subject,
        audiences: &[String],
        expiration_seconds: i64,
        now: OffsetDateTime,
    ) -> Result<String, TokenError> {
        self.issue_bound(subject, None, audiences, expiration_seconds, now)
    }

    /// Signs a token for the service account: claims `iss`, `sub`
    /// (`system:serviceaccount:NS:NAME`), `aud` (the audiences; when empty,
    /// [`DEFAULT_AUDIENCE`]), `iat` = `nbf` = `now`, `exp` = `now + expiration_seconds`, a
    /// random `jti`, and `kubernetes.io` with the namespace, the service account's name and
    /// uid and, when bound, `pod` or `secret` `{name, uid}`. Header: `alg` RS256 and `kid`.
    pub fn issue_bound(
        &self,
        subject: &Subject,
        binding: Option<&Binding>,
        audiences: &[String],
        expiration_seconds: i64,
        now: OffsetDateTime,
    ) -> Result<String, TokenError> {
        let issued_at = now.unix_timestamp();
        let expires = Some(expiration_seconds)
            .filter(|seconds| *seconds > 0)
            .and_then(|seconds| issued_at.checked_add(seconds))
            .ok_or(TokenError::InvalidExpiration(expiration_seconds))?;
        let aud = if audiences.is_empty() {
            vec![DEFAULT_AUDIENCE.to_owned()]
        } else {
            audiences.to_vec()
        };
        let object_ref = |name: &String, uid: &String| ObjectRef {
            name: name.clone(),
            uid: uid.clone(),
        };
        let (pod, secret) = match binding {
            None => (None, None),
            Some(Binding::Pod { name, uid }) => (Some(object_ref(name, uid)), None),
            Some(Binding::Secret { name, uid }) => (None, Some(object_ref(name, uid))),
        };
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: username(&subject.namespace, &subject.name),
            aud: Audiences::Many(aud),
            exp: expires,
            iat: Some(issued_at),
            nbf: Some(issued_at),
            jti: Some(random_uuid()?),
            kubernetes: KubernetesClaims {
                namespace: subject.namespace.clone(),
                serviceaccount: object_ref(&subject.name, &subject.uid),
                pod,
                secret,
            },
        };
        let header = Header {
            alg: "RS256",
            kid: &self.kid,
        };
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?)
        );
        let mut signature = vec![0_u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(TokenError::Signing)?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The TokenReview decision for `token`. `audiences` are the review's `spec.audiences`
    /// (empty means [`DEFAULT_AUDIENCE`]); `objects` says which service accounts, pods and
    /// secrets exist now, so a token for a deleted or re-created account or bound object is
    /// not authenticated.
    pub fn review(
        &self,
        token: &str,
        audiences: &[String],
        now: OffsetDateTime,
        objects: &dyn Objects,
    ) -> ReviewStatus {
        match self.verify(token, audiences, now, objects) {
            Ok(verified) => ReviewStatus {
                authenticated: true,
                user: Some(verified.user),
                audiences: verified.audiences,
                error: None,
            },
            Err(rejection) => ReviewStatus {
                authenticated: false,
                user: None,
                audiences: Vec::new(),
                error: Some(rejection.to_string()),
            },
        }
    }

    /// PEM (`PUBLIC KEY`, PKIX) of the verification key, for verifiers such as OpenBao's
    /// `pem_keys`.
    pub fn public_key_pem(&self) -> String {
        // LF line endings: the PEM may be pasted into JSON/YAML configuration.
        pem::encode_config(
            &pem::Pem::new("PUBLIC KEY", self.public_spki.clone()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    }

    /// The `iss` this signer writes and accepts.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

fn username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// A version-4 UUID, the form kube-apiserver's `jti` takes.
fn random_uuid() -> Result<String, TokenError> {
    let mut b = [0_u8; 16];
    rand::fill(&mut b).map_err(|_| TokenError::TokenId)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

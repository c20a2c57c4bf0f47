//! ServiceAccount tokens: issuing them (TokenRequest) and judging them (TokenReview).
//!
//! Data flow: a [`TokenSigner`] holds one RSA-2048 key, generated at start and never stored.
//! [`TokenSigner::issue`] turns a [`Subject`] (the service account's namespace, name and uid),
//! the requested audiences and a lifetime into a compact RS256 JWT with the same claims
//! kube-apiserver puts in bound tokens. [`TokenSigner::review`] takes such a token back, checks
//! it step by step (shape, issuer, signature, time window, audiences, and finally that the
//! service account still exists with the same uid) and produces the [`ReviewStatus`] that goes
//! verbatim into a TokenReview's `status`. Outside verifiers (OpenBao's Kubernetes auth with
//! `pem_keys`) get [`TokenSigner::public_key_pem`] instead of calling TokenReview.
//!
//! Only bound (TokenRequest) tokens are understood: legacy Secret-based tokens, pod/node
//! bindings and the `extra` user fields are not modelled.

use std::fmt;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use aws_lc_rs::{digest, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The audience of a token requested (or reviewed) without explicit audiences, as a default
/// kube-apiserver (kind, k3s) names itself.
pub const DEFAULT_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

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

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
}

#[derive(Deserialize)]
struct ParsedHeader {
    alg: String,
}

/// The claims kube-apiserver writes into a bound service account token (without pod/node
/// bindings). Shared by issuing and reviewing so the two cannot drift apart.
#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audiences,
    exp: i64,
    // Optional on input: RFC 7519 makes them optional, and absent means "no constraint".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(rename = "kubernetes.io")]
    kubernetes: KubernetesClaims,
}

/// RFC 7519 allows `aud` as one string or an array; we issue arrays, as Kubernetes does.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Audiences {
    One(String),
    Many(Vec<String>),
}

impl Audiences {
    fn contains(&self, audience: &str) -> bool {
        match self {
            Audiences::One(one) => one == audience,
            Audiences::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct KubernetesClaims {
    namespace: String,
    serviceaccount: ServiceAccountClaim,
}

#[derive(Serialize, Deserialize)]
struct ServiceAccountClaim {
    name: String,
    uid: String,
}

/// Why a token was not authenticated. The text becomes `status.error`: short, and never
/// containing the token (it is a credential, and the review response may be logged).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum Rejection {
    #[error("invalid bearer token: malformed ({0})")]
    Malformed(&'static str),
    #[error("invalid bearer token: unsupported signing algorithm")]
    Algorithm,
    #[error("invalid bearer token: issuer not recognised")]
    Issuer,
    #[error("invalid bearer token: signature verification failed")]
    Signature,
    #[error("invalid bearer token: token has expired")]
    Expired,
    #[error("invalid bearer token: token is not valid yet")]
    NotYetValid,
    #[error("token audiences are invalid for the target audiences")]
    Audience,
    #[error("service account {namespace}/{name} has been deleted")]
    AccountMissing { namespace: String, name: String },
    #[error("service account {namespace}/{name} was re-created: uid does not match the token")]
    UidMismatch { namespace: String, name: String },
}

/// What a valid token establishes.
#[derive(Debug)]
struct Verified {
    user: UserInfo,
    audiences: Vec<String>,
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

    /// Signs a token for the service account: claims `iss`, `sub`
    /// (`system:serviceaccount:NS:NAME`), `aud` (the audiences; when empty,
    /// [`DEFAULT_AUDIENCE`]), `iat` = `nbf` = `now`, `exp` = `now + expiration_seconds`, and
    /// `kubernetes.io` with the namespace, name and uid. Header: `alg` RS256 and `kid`.
    pub fn issue(
        &self,
        subject: &Subject,
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
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: username(&subject.namespace, &subject.name),
            aud: Audiences::Many(aud),
            exp: expires,
            iat: Some(issued_at),
            nbf: Some(issued_at),
            kubernetes: KubernetesClaims {
                namespace: subject.namespace.clone(),
                serviceaccount: ServiceAccountClaim {
                    name: subject.name.clone(),
                    uid: subject.uid.clone(),
                },
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
    /// (empty means [`DEFAULT_AUDIENCE`]); `lookup(namespace, name)` returns the service
    /// account's current uid if it exists, so a token for a deleted or re-created account is
    /// not authenticated.
    pub fn review(
        &self,
        token: &str,
        audiences: &[String],
        now: OffsetDateTime,
        lookup: impl Fn(&str, &str) -> Option<String>,
    ) -> ReviewStatus {
        match self.verify(token, audiences, now, lookup) {
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

    /// The checks, in kube-apiserver's order: cheap structural ones first, the issuer before
    /// the signature (a foreign issuer's token is "not ours", not "forged"), and the service
    /// account lookup last, once the claims are known to be authentic.
    fn verify(
        &self,
        token: &str,
        audiences: &[String],
        now: OffsetDateTime,
        lookup: impl Fn(&str, &str) -> Option<String>,
    ) -> Result<Verified, Rejection> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejection::Malformed("not three dot-separated parts"));
        };
        let header: ParsedHeader = decode_json(header_b64, "header")?;
        // Pinning the algorithm rules out "alg: none" and HMAC-with-the-public-key tricks.
        if header.alg != "RS256" {
            return Err(Rejection::Algorithm);
        }
        let claims: Claims = decode_json(claims_b64, "claims")?;
        if claims.iss != self.issuer {
            return Err(Rejection::Issuer);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| Rejection::Malformed("signature is not base64url"))?;
        // The signature covers the encoded header and claims exactly as received.
        let signed_len = header_b64.len() + 1 + claims_b64.len();
        let signing_input = token
            .get(..signed_len)
            .ok_or(Rejection::Malformed("truncated"))?;
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public_pkcs1)
            .verify(signing_input.as_bytes(), &signature)
            .map_err(|_| Rejection::Signature)?;

        let now = now.unix_timestamp();
        if claims.exp <= now {
            return Err(Rejection::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now) || claims.iat.is_some_and(|iat| iat > now) {
            return Err(Rejection::NotYetValid);
        }

        let default_audience = [DEFAULT_AUDIENCE.to_owned()];
        let wanted = if audiences.is_empty() {
            &default_audience[..]
        } else {
            audiences
        };
        // As kube-apiserver: the reported audiences are the requested ones the token carries,
        // in the requested order.
        let mut granted: Vec<String> = Vec::new();
        for audience in wanted {
            if claims.aud.contains(audience) && !granted.contains(audience) {
                granted.push(audience.clone());
            }
        }
        if granted.is_empty() {
            return Err(Rejection::Audience);
        }

        let KubernetesClaims {
            namespace,
            serviceaccount: ServiceAccountClaim { name, uid },
        } = claims.kubernetes;
        match lookup(&namespace, &name) {
            None => return Err(Rejection::AccountMissing { namespace, name }),
            Some(current) if current != uid => {
                return Err(Rejection::UidMismatch { namespace, name });
            }
            Some(_) => {}
        }
        Ok(Verified {
            user: UserInfo {
                username: username(&namespace, &name),
                uid,
                groups: vec![
                    ALL_SERVICE_ACCOUNTS_GROUP.to_owned(),
                    format!("{ALL_SERVICE_ACCOUNTS_GROUP}:{namespace}"),
                    AUTHENTICATED_GROUP.to_owned(),
                ],
            },
            audiences: granted,
        })
    }
}

fn username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// Decodes one base64url JSON part of a JWT; `what` names the part in the error.
fn decode_json<T: for<'de> Deserialize<'de>>(
    part: &str,
    what: &'static str,
) -> Result<T, Rejection> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Rejection::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| Rejection::Malformed(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;
    use time::Duration;

    const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
    const UID: &str = "5b3c8a8e-0000-4000-8000-000000000001";

    /// RSA key generation is the slow part; one signer serves every test.
    fn signer() -> &'static TokenSigner {
        static SIGNER: OnceLock<TokenSigner> = OnceLock::new();
        SIGNER.get_or_init(|| TokenSigner::new(ISSUER).unwrap())
    }

    fn subject() -> Subject {
        Subject {
            namespace: "apps".to_owned(),
            name: "builder".to_owned(),
            uid: UID.to_owned(),
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap()
    }

    /// The service account store as the review sees it: only apps/builder exists.
    fn lookup(namespace: &str, name: &str) -> Option<String> {
        (namespace == "apps" && name == "builder").then(|| UID.to_owned())
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn decode_part(token: &str, index: usize) -> serde_json::Value {
        let part = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn rejection(token: &str, audiences: &[String], at: OffsetDateTime) -> Rejection {
        signer().verify(token, audiences, at, lookup).unwrap_err()
    }

    #[test]
    fn issued_token_has_kubernetes_claims_and_header() {
        let token = signer()
            .issue(&subject(), &strings(&["vault"]), 3600, now())
            .unwrap();
        let header = decode_part(&token, 0);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], signer().kid.as_str());
        let claims = decode_part(&token, 1);
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["sub"], "system:serviceaccount:apps:builder");
        assert_eq!(claims["aud"], serde_json::json!(["vault"]));
        assert_eq!(claims["iat"], 1_750_000_000);
        assert_eq!(claims["nbf"], 1_750_000_000);
        assert_eq!(claims["exp"], 1_750_003_600);
        assert_eq!(
            claims["kubernetes.io"],
            serde_json::json!({"namespace": "apps", "serviceaccount": {"name": "builder", "uid": UID}})
        );
        // base64url without padding in every part.
        assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'));
    }

    #[test]
    fn empty_audiences_mean_the_default_audience() {
        let token = signer().issue(&subject(), &[], 600, now()).unwrap();
        assert_eq!(
            decode_part(&token, 1)["aud"],
            serde_json::json!([DEFAULT_AUDIENCE])
        );
        let status = signer().review(&token, &[], now(), lookup);
        assert!(status.authenticated, "{status:?}");
        assert_eq!(status.audiences, strings(&[DEFAULT_AUDIENCE]));
    }

    #[test]
    fn valid_token_is_authenticated_with_kubernetes_json() {
        let token = signer()
            .issue(&subject(), &strings(&["vault", "other"]), 3600, now())
            .unwrap();
        let status = signer().review(
            &token,
            &strings(&["nope", "vault"]),
            now() + Duration::minutes(30),
            lookup,
        );
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            serde_json::json!({
                "authenticated": true,
                "user": {
                    "username": "system:serviceaccount:apps:builder",
                    "uid": UID,
                    "groups": ["system:serviceaccounts", "system:serviceaccounts:apps", "system:authenticated"],
                },
                "audiences": ["vault"],
            })
        );
    }

    #[test]
    fn rejected_review_serialises_without_user_or_audiences() {
        let status = signer().review("garbage", &[], now(), lookup);
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["authenticated"], false);
        assert!(json.get("user").is_none() && json.get("audiences").is_none());
        assert!(json["error"].as_str().unwrap().contains("malformed"));
    }

    #[test]
    fn audience_must_intersect() {
        let token = signer()
            .issue(&subject(), &strings(&["vault"]), 3600, now())
            .unwrap();
        assert_eq!(
            rejection(&token, &strings(&["other"]), now()),
            Rejection::Audience
        );
        // Without requested audiences, the default one is required and "vault" is not it.
        assert_eq!(rejection(&token, &[], now()), Rejection::Audience);
    }

    #[test]
    fn expiry_and_not_before_bound_the_validity_window() {
        let token = signer().issue(&subject(), &[], 600, now()).unwrap();
        let ok = |at| signer().verify(&token, &[], at, lookup).is_ok();
        assert!(ok(now()));
        assert!(ok(now() + Duration::seconds(599)));
        // exp <= now is expired: the last valid second is exp - 1.
        assert_eq!(
            rejection(&token, &[], now() + Duration::seconds(600)),
            Rejection::Expired
        );
        assert_eq!(
            rejection(&token, &[], now() + Duration::days(1)),
            Rejection::Expired
        );
        assert_eq!(
            rejection(&token, &[], now() - Duration::seconds(1)),
            Rejection::NotYetValid
        );
    }

    #[test]
    fn deleted_or_recreated_account_is_not_authenticated() {
        let token = signer().issue(&subject(), &[], 600, now()).unwrap();
        let deleted = signer()
            .verify(&token, &[], now(), |_, _| None)
            .unwrap_err();
        assert_eq!(
            deleted,
            Rejection::AccountMissing {
                namespace: "apps".to_owned(),
                name: "builder".to_owned()
            }
        );
        let recreated = signer()
            .verify(&token, &[], now(), |_, _| Some("another-uid".to_owned()))
            .unwrap_err();
        assert!(matches!(recreated, Rejection::UidMismatch { .. }));

        let other = Subject {
            name: "ghost".to_owned(),
            ..subject()
        };
        let token = signer().issue(&other, &[], 600, now()).unwrap();
        assert!(matches!(
            rejection(&token, &[], now()),
            Rejection::AccountMissing { .. }
        ));
    }

    #[test]
    fn tampered_payload_fails_signature() {
        let token = signer().issue(&subject(), &[], 600, now()).unwrap();
        let mut claims = decode_part(&token, 1);
        // Claim to be another account that exists and a much later expiry.
        claims["kubernetes.io"]["serviceaccount"]["name"] = "admin".into();
        claims["exp"] = (1_750_000_000_i64 + 86_400 * 365).into();
        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
        let status = signer().review(&forged, &[], now(), |_, _| Some(UID.to_owned()));
        assert!(!status.authenticated);
        assert_eq!(
            status.error.as_deref(),
            Some("invalid bearer token: signature verification failed")
        );
        assert!(!status.error.unwrap().contains(parts[2]));
    }

    #[test]
    fn token_from_another_key_fails_signature() {
        let impostor = TokenSigner::new(ISSUER).unwrap();
        assert_ne!(impostor.kid, signer().kid);
        let token = impostor.issue(&subject(), &[], 600, now()).unwrap();
        assert_eq!(rejection(&token, &[], now()), Rejection::Signature);
        // Changing one character inside our own signature fails too. (Not the last one: its
        // low bits are padding, which the base64 decoder rejects before any crypto happens.)
        let token = signer().issue(&subject(), &[], 600, now()).unwrap();
        let at = token.len() - 10;
        let flipped = if &token[at..=at] == "A" { "B" } else { "A" };
        let token = format!("{}{flipped}{}", &token[..at], &token[at + 1..]);
        assert_eq!(rejection(&token, &[], now()), Rejection::Signature);
    }

    #[test]
    fn wrong_issuer_is_rejected() {
        let token = signer().issue(&subject(), &[], 600, now()).unwrap();
        let mut claims = decode_part(&token, 1);
        claims["iss"] = "https://elsewhere.example".into();
        let parts: Vec<&str> = token.split('.').collect();
        let token = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
            parts[2]
        );
        assert_eq!(rejection(&token, &[], now()), Rejection::Issuer);
    }

    #[test]
    fn malformed_tokens_are_rejected_without_echo() {
        let good = signer().issue(&subject(), &[], 600, now()).unwrap();
        let parts: Vec<&str> = good.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let cases = [
            ("", "empty"),
            ("a.b", "two parts"),
            (&format!("{good}.extra"), "four parts"),
            (
                &format!("!!.{}.{}", parts[1], parts[2]),
                "header not base64",
            ),
            (&format!("{}.e30.{}", parts[0], parts[2]), "claims missing"),
            (
                &format!("{}.{}.***", parts[0], parts[1]),
                "signature not base64",
            ),
        ];
        for (token, why) in cases {
            let err = rejection(token, &[], now());
            assert!(matches!(err, Rejection::Malformed(_)), "{why}: {err:?}");
            let status = signer().review(token, &[], now(), lookup);
            assert!(!status.authenticated, "{why}");
            let message = status.error.unwrap();
            assert!(
                token.is_empty() || !message.contains(token),
                "{why}: echoed"
            );
        }
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert_eq!(rejection(&unsigned, &[], now()), Rejection::Algorithm);
    }

    #[test]
    fn single_string_audience_is_accepted() {
        // Another issuer may write "aud" as a plain string (RFC 7519); the parser accepts it.
        let claims: Claims = serde_json::from_value(serde_json::json!({
            "iss": ISSUER, "sub": "s", "aud": "vault", "exp": 1,
            "kubernetes.io": {"namespace": "n", "serviceaccount": {"name": "a", "uid": "u"}},
        }))
        .unwrap();
        assert!(claims.aud.contains("vault"));
        assert!(!claims.aud.contains("vaul"));
    }

    #[test]
    fn invalid_inputs_to_issue_and_new_fail() {
        assert!(matches!(
            signer().issue(&subject(), &[], 0, now()),
            Err(TokenError::InvalidExpiration(0))
        ));
        assert!(matches!(
            signer().issue(&subject(), &[], i64::MAX, now()),
            Err(TokenError::InvalidExpiration(_))
        ));
        assert!(matches!(TokenSigner::new(""), Err(TokenError::EmptyIssuer)));
    }

    #[test]
    fn public_key_pem_verifies_issued_tokens() {
        let pem = signer().public_key_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(!pem.contains('\r'));
        let spki = pem::parse(&pem).unwrap().into_contents();
        // An outside verifier with only the PEM (as OpenBao's pem_keys) accepts our signature.
        let token = signer().issue(&subject(), &[], 600, now()).unwrap();
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &spki)
            .verify(signed.as_bytes(), &signature)
            .unwrap();
        assert_eq!(signer().issuer(), ISSUER);
        assert!(!format!("{:?}", signer()).contains("PRIVATE"));
    }

    #[test]
    fn signer_is_shareable_across_tasks() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<TokenSigner>();
    }
}

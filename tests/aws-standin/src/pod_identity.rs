//! The EKS Pod Identity credentials endpoint (`GET /v1/credentials`, what the Pod Identity
//! Agent serves at 169.254.170.23): the caller sends its service-account token, raw, in
//! `Authorization`; we check it was issued by the trusted issuer (signature with its public
//! key, time window) for the audience `pods.eks.amazonaws.com`, find the role associated with
//! its service account, and answer keys for that role from moto's STS `AssumeRole`.
//!
//! [`verify`] is pure; [`credentials_answer`] shapes the answer. The IO (the STS call) is in
//! `server.rs`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

/// The audience Pod Identity tokens are requested for.
pub const AUDIENCE: &str = "pods.eks.amazonaws.com";
/// The audience IRSA tokens are requested for (checked on `AssumeRoleWithWebIdentity` once
/// the control trusts an issuer).
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";
/// Where the stand-in serves it.
pub const PATH: &str = "/v1/credentials";

/// The service account a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSubject {
    pub namespace: String,
    pub service_account: String,
}

/// Why a token was refused. Never carries the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("no Authorization header with a service account token")]
    Missing,
    #[error("the token is malformed ({0})")]
    Malformed(&'static str),
    #[error("the token is not signed with RS256")]
    Algorithm,
    #[error("the token's issuer is not trusted")]
    Issuer,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has expired or is not valid yet")]
    Expired,
    #[error("the token's audience is not {0}")]
    Audience(&'static str),
    #[error("the token names no service account")]
    Subject,
    #[error("no trusted issuer is configured")]
    NoTrust,
}

/// Check `token` against the trusted `issuer` and its `public_key_pem` at `now` (Unix s), for
/// `audience` ([`AUDIENCE`] here; `sts.amazonaws.com` for web identity).
pub fn verify(
    token: &str,
    issuer: &str,
    public_key_pem: &str,
    audience: &'static str,
    now: i64,
) -> Result<TokenSubject, Rejection> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejection::Malformed("not three parts"));
    };
    let header = decode(header)?;
    if header["alg"] != "RS256" {
        return Err(Rejection::Algorithm);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Rejection::Malformed("signature is not base64url"))?;
    let key = pem::parse(public_key_pem).map_err(|_| Rejection::NoTrust)?;
    let signed = &token[..token.rfind('.').unwrap_or(0)];
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.contents())
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| Rejection::Signature)?;
    let claims = decode(claims)?;
    if claims["iss"] != issuer {
        return Err(Rejection::Issuer);
    }
    let exp = claims["exp"].as_i64().unwrap_or(i64::MIN);
    let nbf = claims["nbf"].as_i64().unwrap_or(i64::MIN);
    if now >= exp || now < nbf {
        return Err(Rejection::Expired);
    }
    let audience_ok = match &claims["aud"] {
        Value::String(aud) => aud == audience,
        Value::Array(auds) => auds.iter().any(|aud| aud == audience),
        _ => false,
    };
    if !audience_ok {
        return Err(Rejection::Audience(audience));
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    match sub
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
    {
        Some((namespace, name)) if !namespace.is_empty() && !name.is_empty() => Ok(TokenSubject {
            namespace: namespace.to_owned(),
            service_account: name.to_owned(),
        }),
        _ => Err(Rejection::Subject),
    }
}

fn decode(part: &str) -> Result<Value, Rejection> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Rejection::Malformed("a part is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| Rejection::Malformed("a part is not JSON"))
}

/// The account id in a role ARN (`arn:aws:iam::ACCOUNT:role/NAME`).
pub fn account_of(role_arn: &str) -> Option<&str> {
    role_arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The agent's JSON answer from STS credentials.
pub fn credentials_answer(
    access_key_id: &str,
    secret_access_key: &str,
    session_token: &str,
    account_id: &str,
    expiration: &str,
) -> String {
    json!({
        "AccessKeyId": access_key_id,
        "SecretAccessKey": secret_access_key,
        "Token": session_token,
        "AccountId": account_id,
        "Expiration": expiration,
    })
    .to_string()
}

/// An error answer of the endpoint: `{"code", "message"}` with `status`.
pub fn error_body(code: &str, message: &str) -> String {
    json!({ "code": code, "message": message }).to_string()
}

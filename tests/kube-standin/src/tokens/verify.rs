//! Judging a token, step by step in kube-apiserver's order: shape, algorithm, issuer,
//! signature, time window, audiences; then, once the claims are known to be authentic, that
//! the service account and the bound pod or secret still exist with the uids in the claims and
//! were not deleted more than a minute ago (kube-apiserver's leeway for objects awaiting
//! removal).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use time::OffsetDateTime;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

use super::claims::{Claims, KubernetesClaims, ObjectRef, ParsedHeader};
use super::{
    ALL_SERVICE_ACCOUNTS_GROUP, AUTHENTICATED_GROUP, CREDENTIAL_ID_KEY, DEFAULT_AUDIENCE,
    ObjectState, Objects, POD_NAME_KEY, POD_UID_KEY, TokenSigner, UserInfo, username,
};

/// How long after its `deletionTimestamp` an object still vouches for its tokens
/// (kube-apiserver uses the JWT library's default leeway, one minute).
const DELETION_LEEWAY_SECONDS: i64 = 60;

/// Why a token was not authenticated. The text becomes `status.error`: short, and never
/// containing the token (it is a credential, and the review response may be logged). Where
/// kube-apiserver's TokenReview answers with its authenticators' aggregated errors, the text
/// is the same (`[invalid bearer token, ...]`).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum Rejection {
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
    #[error(
        "[invalid bearer token, service account UID ({current}) does not match claim ({claimed})]"
    )]
    UidMismatch { current: String, claimed: String },
    /// The bound pod or secret is gone (or was deleted more than the leeway ago).
    #[error("[invalid bearer token, service account token has been invalidated]")]
    Invalidated,
    #[error(
        "[invalid bearer token, pod UID ({current}) does not match service account pod ref claim ({claimed})]"
    )]
    PodUidMismatch { current: String, claimed: String },
    #[error(
        "[invalid bearer token, secret UID ({current}) does not match service account secret ref claim ({claimed})]"
    )]
    SecretUidMismatch { current: String, claimed: String },
}

/// What a valid token establishes.
#[derive(Debug)]
pub(super) struct Verified {
    pub(super) user: UserInfo,
    pub(super) audiences: Vec<String>,
}

impl TokenSigner {
    pub(super) fn verify(
        &self,
        token: &str,
        audiences: &[String],
        now: OffsetDateTime,
        objects: &dyn Objects,
    ) -> Result<Verified, Rejection> {
        let claims = self.authentic_claims(token)?;

        let now_s = now.unix_timestamp();
        if claims.exp <= now_s {
            return Err(Rejection::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now_s) || claims.iat.is_some_and(|iat| iat > now_s) {
            return Err(Rejection::NotYetValid);
        }
        let granted = granted_audiences(&claims, audiences)?;

        let Claims {
            jti, kubernetes, ..
        } = claims;
        let KubernetesClaims {
            namespace,
            serviceaccount: ObjectRef { name, uid },
            pod,
            secret,
        } = kubernetes;
        match objects.service_account(&namespace, &name) {
            None => return Err(Rejection::AccountMissing { namespace, name }),
            Some(current) if current.uid != uid => {
                return Err(Rejection::UidMismatch {
                    current: current.uid,
                    claimed: uid,
                });
            }
            Some(current) if deleted_before_leeway(&current, now) => {
                return Err(Rejection::AccountMissing { namespace, name });
            }
            Some(_) => {}
        }
        if let Some(bound) = &secret {
            let current = objects
                .secret(&namespace, &bound.name)
                .ok_or(Rejection::Invalidated)?;
            if current.uid != bound.uid {
                return Err(Rejection::SecretUidMismatch {
                    current: current.uid,
                    claimed: bound.uid.clone(),
                });
            }
            if deleted_before_leeway(&current, now) {
                return Err(Rejection::Invalidated);
            }
        }
        let mut extra = std::collections::BTreeMap::new();
        if let Some(bound) = pod {
            let current = objects
                .pod(&namespace, &bound.name)
                .ok_or(Rejection::Invalidated)?;
            if current.uid != bound.uid {
                return Err(Rejection::PodUidMismatch {
                    current: current.uid,
                    claimed: bound.uid,
                });
            }
            if deleted_before_leeway(&current, now) {
                return Err(Rejection::Invalidated);
            }
            extra.insert(POD_NAME_KEY.to_owned(), vec![bound.name]);
            extra.insert(POD_UID_KEY.to_owned(), vec![bound.uid]);
        }
        if let Some(jti) = jti.filter(|j| !j.is_empty()) {
            extra.insert(CREDENTIAL_ID_KEY.to_owned(), vec![format!("JTI={jti}")]);
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
                extra,
            },
            audiences: granted,
        })
    }

    /// The claims of a well-formed RS256 token of ours whose signature verifies. The issuer
    /// is checked before the signature: a foreign issuer's token is "not ours", not "forged".
    fn authentic_claims(&self, token: &str) -> Result<Claims, Rejection> {
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
        Ok(claims)
    }
}

/// As kube-apiserver: the reported audiences are the requested ones (empty: the API server's)
/// the token carries, in the requested order; none in common is a rejection.
fn granted_audiences(claims: &Claims, audiences: &[String]) -> Result<Vec<String>, Rejection> {
    let default_audience = [DEFAULT_AUDIENCE.to_owned()];
    let wanted = if audiences.is_empty() {
        &default_audience[..]
    } else {
        audiences
    };
    let mut granted: Vec<String> = Vec::new();
    for audience in wanted {
        if claims.aud.contains(audience) && !granted.contains(audience) {
            granted.push(audience.clone());
        }
    }
    if granted.is_empty() {
        return Err(Rejection::Audience);
    }
    Ok(granted)
}

fn deleted_before_leeway(object: &ObjectState, now: OffsetDateTime) -> bool {
    object.deletion_timestamp.is_some_and(|deleted| {
        deleted.unix_timestamp() < now.unix_timestamp() - DELETION_LEEWAY_SECONDS
    })
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

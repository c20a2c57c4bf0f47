//! The claims of a pod's service-account token, read to cross-check the kubelet's pod
//! information before the token is presented anywhere.
//!
//! The signature is not checked here: the store (Vault's TokenReview) or the controller
//! (its own TokenReview) does that. What this catches is a request whose pod-information keys
//! and token disagree — a token of one pod sent with another pod's name — and a token that has
//! expired, so a mount fails with a clear reason instead of a store's 403.

use base64::Engine as _;
use serde::Deserialize;
use time::OffsetDateTime;

use super::request::PodIdentity;

/// What a kube-apiserver service-account token says about whom it was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// `kubernetes.io.namespace`.
    pub namespace: String,
    /// `kubernetes.io.serviceaccount.name`.
    pub service_account: String,
    /// `kubernetes.io.pod.{name, uid}` when bound to a pod.
    pub pod: Option<(String, String)>,
    /// `aud`.
    pub audiences: Vec<String>,
    /// `exp`, seconds since the epoch.
    pub expires: i64,
}

/// Why a token cannot be used for this pod.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT with a JSON payload of service-account claims.
    #[error(
        "the service-account token for audience {0:?} is not a Kubernetes service-account token"
    )]
    Malformed(String),
    /// Claims name someone else.
    #[error(
        "the service-account token for audience {audience:?} was issued to {issued_to}, not to {pod}"
    )]
    NotThisPod {
        /// The audience.
        audience: String,
        /// Whom the claims name.
        issued_to: String,
        /// The pod the kubelet named.
        pod: String,
    },
    /// Not bound to a pod.
    #[error(
        "the service-account token for audience {0:?} is not bound to a pod (the CSI driver's tokens are)"
    )]
    NotPodBound(String),
    /// The audience claim does not hold the audience.
    #[error("the service-account token filed under audience {0:?} is not issued for that audience")]
    WrongAudience(String),
    /// Expired.
    #[error("the service-account token for audience {0:?} has expired")]
    Expired(String),
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default, deserialize_with = "one_or_many")]
    aud: Vec<String>,
    #[serde(default)]
    exp: i64,
    #[serde(rename = "kubernetes.io")]
    kubernetes: RawKubernetes,
}

#[derive(Deserialize)]
struct RawKubernetes {
    namespace: String,
    serviceaccount: RawName,
    #[serde(default)]
    pod: Option<RawName>,
}

#[derive(Deserialize)]
struct RawName {
    name: String,
    #[serde(default)]
    uid: String,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// Read the claims of `token` (filed under `audience`, for error messages).
pub fn claims(token: &str, audience: &str) -> Result<TokenClaims, TokenError> {
    let malformed = || TokenError::Malformed(audience.to_owned());
    let mut parts = token.split('.');
    let payload = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(payload), Some(_), None) => payload,
        _ => return Err(malformed()),
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| malformed())?;
    let raw: Raw = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    Ok(TokenClaims {
        namespace: raw.kubernetes.namespace,
        service_account: raw.kubernetes.serviceaccount.name,
        pod: raw.kubernetes.pod.map(|p| (p.name, p.uid)),
        audiences: raw.aud,
        expires: raw.exp,
    })
}

/// The token was issued for `audience` to exactly this pod (namespace, service account, pod
/// name and uid) and has not expired at `now`.
pub fn check_bound(
    claims: &TokenClaims,
    audience: &str,
    pod: &PodIdentity,
    now: OffsetDateTime,
) -> Result<(), TokenError> {
    let Some((pod_name, pod_uid)) = &claims.pod else {
        return Err(TokenError::NotPodBound(audience.to_owned()));
    };
    if claims.namespace != pod.namespace
        || claims.service_account != pod.service_account
        || *pod_name != pod.name
        || *pod_uid != pod.uid
    {
        return Err(TokenError::NotThisPod {
            audience: audience.to_owned(),
            issued_to: format!(
                "pod {}/{} (uid {pod_uid}, service account {})",
                claims.namespace, pod_name, claims.service_account
            ),
            pod: format!(
                "{pod} (uid {}, service account {})",
                pod.uid, pod.service_account
            ),
        });
    }
    if !claims.audiences.iter().any(|a| a == audience) {
        return Err(TokenError::WrongAudience(audience.to_owned()));
    }
    if claims.expires <= now.unix_timestamp() {
        return Err(TokenError::Expired(audience.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: serde_json::Value) -> String {
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.sig",
            b64(br#"{"alg":"RS256"}"#),
            b64(claims.to_string().as_bytes())
        )
    }

    fn pod() -> PodIdentity {
        PodIdentity {
            namespace: "team-a".into(),
            name: "web-0".into(),
            uid: "u1".into(),
            service_account: "web".into(),
        }
    }

    fn bound(aud: serde_json::Value, exp: i64, pod_name: &str) -> String {
        token(serde_json::json!({
            "aud": aud, "exp": exp,
            "kubernetes.io": {"namespace": "team-a", "serviceaccount": {"name": "web", "uid": "s"},
                              "pod": {"name": pod_name, "uid": "u1"}}
        }))
    }

    #[test]
    fn a_token_of_this_pod_passes() {
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        let c = claims(
            &bound(serde_json::json!(["vault"]), 2_000, "web-0"),
            "vault",
        )
        .unwrap();
        assert_eq!(check_bound(&c, "vault", &pod(), now), Ok(()));
        let single = claims(&bound(serde_json::json!("vault"), 2_000, "web-0"), "vault").unwrap();
        assert_eq!(single.audiences, vec!["vault".to_owned()]);
    }

    #[test]
    fn other_pods_audiences_and_expired_tokens_fail() {
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        let other = claims(
            &bound(serde_json::json!(["vault"]), 2_000, "web-1"),
            "vault",
        )
        .unwrap();
        assert!(matches!(
            check_bound(&other, "vault", &pod(), now),
            Err(TokenError::NotThisPod { .. })
        ));
        let aud = claims(&bound(serde_json::json!(["x"]), 2_000, "web-0"), "vault").unwrap();
        assert_eq!(
            check_bound(&aud, "vault", &pod(), now),
            Err(TokenError::WrongAudience("vault".into()))
        );
        let old = claims(&bound(serde_json::json!(["vault"]), 999, "web-0"), "vault").unwrap();
        assert_eq!(
            check_bound(&old, "vault", &pod(), now),
            Err(TokenError::Expired("vault".into()))
        );
        let unbound = claims(
            &token(serde_json::json!({"aud": ["vault"], "exp": 2000,
                "kubernetes.io": {"namespace": "team-a", "serviceaccount": {"name": "web"}}})),
            "vault",
        )
        .unwrap();
        assert_eq!(
            check_bound(&unbound, "vault", &pod(), now),
            Err(TokenError::NotPodBound("vault".into()))
        );
        for bad in ["", "a.b", "a.!!.c", "a.e30.c"] {
            assert_eq!(
                claims(bad, "vault"),
                Err(TokenError::Malformed("vault".into()))
            );
        }
    }
}

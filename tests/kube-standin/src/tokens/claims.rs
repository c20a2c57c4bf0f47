//! The JWT parts as kube-apiserver writes them: the header (`alg`, `kid`) and the claims
//! (`iss`, `sub`, `aud`, `exp`, `iat`, `nbf`, `jti` and the private `kubernetes.io` claim with
//! the namespace, the service account and, for bound tokens, the pod or secret).

use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub(super) struct Header<'a> {
    pub(super) alg: &'a str,
    pub(super) kid: &'a str,
}

#[derive(Deserialize)]
pub(super) struct ParsedHeader {
    pub(super) alg: String,
}

/// The claims of a bound service account token (no node binding, no `warnafter`).
#[derive(Serialize, Deserialize)]
pub(super) struct Claims {
    pub(super) iss: String,
    pub(super) sub: String,
    pub(super) aud: Audiences,
    pub(super) exp: i64,
    // Optional on input: RFC 7519 makes them optional, and absent means "no constraint".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) nbf: Option<i64>,
    /// A random UUID per token; reviews report it as the credential id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) jti: Option<String>,
    #[serde(rename = "kubernetes.io")]
    pub(super) kubernetes: KubernetesClaims,
}

/// RFC 7519 allows `aud` as one string or an array; we issue arrays, as Kubernetes does.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum Audiences {
    One(String),
    Many(Vec<String>),
}

impl Audiences {
    pub(super) fn contains(&self, audience: &str) -> bool {
        match self {
            Audiences::One(one) => one == audience,
            Audiences::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct KubernetesClaims {
    pub(super) namespace: String,
    pub(super) serviceaccount: ObjectRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) pod: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) secret: Option<ObjectRef>,
}

/// `{name, uid}` of an object named in the claims.
#[derive(Serialize, Deserialize)]
pub(super) struct ObjectRef {
    pub(super) name: String,
    pub(super) uid: String,
}

//! The driver's `MountRequest` fields as driver v1.6 fills them: `attributes` (a JSON object
//! of strings: the SecretProviderClass parameters, the volume context over them, the kubelet's
//! pod information and, with `tokenRequests`, the pod's tokens), `secrets` (the
//! `nodePublishSecretRef` data, `null` without one; with `serviceAccountTokenInSecrets` the
//! tokens arrive here too) and `permission` (a JSON number, `420`).
//!
//! [`parse`] turns them into [`MountAttributes`]: the pod identity only from the
//! `csi.storage.k8s.io/*` keys, tokens held in zeroizing strings and never printed.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use zeroize::Zeroizing;

/// The kubelet's pod-information keys.
pub const POD_NAME: &str = "csi.storage.k8s.io/pod.name";
/// See [`POD_NAME`].
pub const POD_NAMESPACE: &str = "csi.storage.k8s.io/pod.namespace";
/// See [`POD_NAME`].
pub const POD_UID: &str = "csi.storage.k8s.io/pod.uid";
/// See [`POD_NAME`].
pub const SERVICE_ACCOUNT: &str = "csi.storage.k8s.io/serviceAccount.name";
/// The pod's tokens for the CSIDriver's `tokenRequests` audiences.
pub const TOKENS: &str = "csi.storage.k8s.io/serviceAccount.tokens";
/// The volume context key naming the SecretProviderClass.
pub const SECRET_PROVIDER_CLASS: &str = "secretProviderClass";

/// Who the mount is for, as the kubelet said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodIdentity {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// The pod's uid.
    pub uid: String,
    /// The pod's service account.
    pub service_account: String,
}

impl fmt::Display for PodIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pod {}/{}", self.namespace, self.name)
    }
}

/// One of the pod's tokens. `Debug` never shows the token.
#[derive(Clone, Deserialize)]
pub struct PodToken {
    /// The JWT.
    pub token: Zeroizing<String>,
    /// When it expires (RFC 3339), as the kubelet reported it.
    #[serde(rename = "expirationTimestamp", default)]
    pub expiration: String,
}

impl fmt::Debug for PodToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PodToken")
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// A parsed `MountRequest`.
#[derive(Debug, Clone)]
pub struct MountAttributes {
    /// Who the mount is for.
    pub pod: PodIdentity,
    /// The SecretProviderClass the pod's volume names.
    pub secret_provider_class: String,
    /// The pod's tokens by audience.
    pub tokens: BTreeMap<String, PodToken>,
    /// Every attribute except the tokens: SecretProviderClass parameters and volume context.
    pub parameters: BTreeMap<String, String>,
}

impl MountAttributes {
    /// The pod's token for `audience`, or an error naming the CSIDriver `tokenRequests`
    /// entry that would provide it.
    pub fn token(&self, audience: &str) -> Result<&PodToken, RequestError> {
        self.tokens
            .get(audience)
            .ok_or_else(|| RequestError::NoToken(audience.to_owned()))
    }
}

/// A request the driver would not have sent, or one missing what a mount needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// `attributes` is not a JSON object of strings.
    #[error("the mount request's attributes are not a JSON object of strings: {0}")]
    Attributes(String),
    /// `secrets` is not `null` or a JSON object of strings.
    #[error("the mount request's secrets are not null or a JSON object of strings: {0}")]
    Secrets(String),
    /// `permission` is not a file mode number.
    #[error("the mount request's permission {0:?} is not a file mode")]
    Permission(String),
    /// A pod-information key is missing: the CSIDriver lacks `podInfoOnMount: true`.
    #[error(
        "the mount request has no {0}: the CSIDriver secrets-store.csi.k8s.io needs podInfoOnMount: true"
    )]
    MissingPodInfo(&'static str),
    /// The tokens attribute is not the driver's JSON map.
    #[error(
        "the mount request's serviceAccount.tokens is not a JSON map of audience to token: {0}"
    )]
    Tokens(String),
    /// No token for the audience.
    #[error(
        "no service-account token for audience {0:?}: add `{{audience: {0}}}` to the CSIDriver secrets-store.csi.k8s.io spec.tokenRequests (driver chart value tokenRequests)"
    )]
    NoToken(String),
}

/// Parse the three request fields.
pub fn parse(
    attributes: &str,
    secrets: &str,
    permission: &str,
) -> Result<MountAttributes, RequestError> {
    let mut parameters: BTreeMap<String, String> = serde_json::from_str(attributes)
        .map_err(|err| RequestError::Attributes(err.to_string()))?;
    // Only the field names' positions are reported: serde's messages never echo values.
    let mut secrets: BTreeMap<String, Zeroizing<String>> = match secrets.trim() {
        "" | "null" => BTreeMap::new(),
        text => serde_json::from_str::<Option<BTreeMap<String, Zeroizing<String>>>>(text)
            .map_err(|err| RequestError::Secrets(err.to_string()))?
            .unwrap_or_default(),
    };
    let permission = permission.trim();
    if !permission.is_empty() && !matches!(permission.parse::<u32>(), Ok(m) if m <= 0o777) {
        return Err(RequestError::Permission(permission.to_owned()));
    }
    let token_json = parameters
        .remove(TOKENS)
        .map(Zeroizing::new)
        .or_else(|| secrets.remove(TOKENS));
    let tokens = match token_json {
        None => BTreeMap::new(),
        Some(json) if json.trim().is_empty() => BTreeMap::new(),
        Some(json) => serde_json::from_str(&json).map_err(|err| {
            RequestError::Tokens(format!("line {} column {}", err.line(), err.column()))
        })?,
    };
    let take = |key: &'static str| {
        parameters
            .get(key)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or(RequestError::MissingPodInfo(key))
    };
    let pod = PodIdentity {
        namespace: take(POD_NAMESPACE)?,
        name: take(POD_NAME)?,
        uid: take(POD_UID)?,
        service_account: take(SERVICE_ACCOUNT)?,
    };
    let secret_provider_class = take(SECRET_PROVIDER_CLASS)
        .map_err(|_| RequestError::MissingPodInfo(SECRET_PROVIDER_CLASS))?;
    Ok(MountAttributes {
        pod,
        secret_provider_class,
        tokens,
        parameters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(tokens: Option<&str>) -> String {
        let mut map = serde_json::json!({
            "objects": "- path: a\n  remoteRef: {key: k}\n",
            "store": "vault",
            "secretProviderClass": "app",
            POD_NAME: "web-0",
            POD_NAMESPACE: "team-a",
            POD_UID: "9aeb",
            SERVICE_ACCOUNT: "web",
            "csi.storage.k8s.io/ephemeral": "false",
        });
        if let Some(tokens) = tokens {
            map[TOKENS] = serde_json::Value::String(tokens.to_owned());
        }
        map.to_string()
    }

    const TOKENS_JSON: &str =
        r#"{"vault":{"token":"eyJ.a.b","expirationTimestamp":"2026-12-01T10:00:00Z"}}"#;

    #[test]
    fn reads_pod_identity_tokens_and_parameters() {
        let parsed = parse(&attributes(Some(TOKENS_JSON)), "null", "420").unwrap();
        assert_eq!(
            parsed.pod,
            PodIdentity {
                namespace: "team-a".into(),
                name: "web-0".into(),
                uid: "9aeb".into(),
                service_account: "web".into()
            }
        );
        assert_eq!(parsed.secret_provider_class, "app");
        assert_eq!(parsed.token("vault").unwrap().token.as_str(), "eyJ.a.b");
        assert!(!parsed.parameters.contains_key(TOKENS));
        assert_eq!(parsed.parameters["store"], "vault");
        let debug = format!("{parsed:?}");
        assert!(!debug.contains("eyJ"), "{debug}");
    }

    #[test]
    fn tokens_may_come_in_secrets_and_secrets_may_be_null_or_empty() {
        let secrets = serde_json::json!({ TOKENS: TOKENS_JSON }).to_string();
        let parsed = parse(&attributes(None), &secrets, "420").unwrap();
        assert!(parsed.token("vault").is_ok());
        for secrets in ["null", "{}", ""] {
            assert!(
                parse(&attributes(None), secrets, "420").is_ok(),
                "{secrets}"
            );
        }
    }

    #[test]
    fn a_missing_token_names_the_tokenrequests_entry() {
        let parsed = parse(&attributes(None), "null", "420").unwrap();
        let err = parsed.token("vault").unwrap_err().to_string();
        assert!(
            err.contains("tokenRequests") && err.contains("{audience: vault}"),
            "{err}"
        );
    }

    #[test]
    fn bad_fields_are_refused_without_echoing_values() {
        let err = parse(&attributes(Some("{\"vault\": \"s3cr3t\"}")), "null", "420")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("serviceAccount.tokens") && !err.contains("s3cr3t"),
            "{err}"
        );
        assert!(matches!(
            parse("[]", "null", "420"),
            Err(RequestError::Attributes(_))
        ));
        assert!(matches!(
            parse(&attributes(None), "[1]", "420"),
            Err(RequestError::Secrets(_))
        ));
        assert!(matches!(
            parse(&attributes(None), "null", "9999"),
            Err(RequestError::Permission(_))
        ));
        let no_uid = attributes(None).replace(POD_UID, "x");
        assert_eq!(
            parse(&no_uid, "null", "420").unwrap_err(),
            RequestError::MissingPodInfo(POD_UID)
        );
    }
}

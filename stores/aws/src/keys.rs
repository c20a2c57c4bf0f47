//! AWS credentials in memory: an access key, its secret, an optional session token and when
//! they expire, read from a store's Secret keys, an STS answer (XML) or the EKS Pod Identity
//! agent (JSON). All parts are zeroized on drop and `Debug` shows none of them.
//!
//! [`AwsKeys::fresh_at`] is the cache rule: keys are reused until [`REFRESH_BEFORE`] their
//! expiry; keys that never expire (static keys) are always fresh.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::AwsError;
use crate::xml;

/// How long before their expiry cached credentials are replaced.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// Names of the Secret keys static credentials come in (ESO's `auth.secretRef` fields).
pub const ACCESS_KEY_ID: &str = "accessKeyID";
/// See [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "secretAccessKey";
/// See [`ACCESS_KEY_ID`]; optional.
pub const SESSION_TOKEN: &str = "sessionToken";

/// One set of AWS credentials.
#[derive(Clone)]
pub struct AwsKeys {
    pub(crate) access_key_id: Zeroizing<String>,
    pub(crate) secret_access_key: Zeroizing<String>,
    pub(crate) session_token: Option<Zeroizing<String>>,
    pub(crate) expires: Option<SystemTime>,
}

impl fmt::Debug for AwsKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKeys")
            .field("access_key_id", &"<redacted>")
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires", &self.expires)
            .finish()
    }
}

impl AwsKeys {
    /// Static keys from named values (`accessKeyID`, `secretAccessKey`, optional
    /// `sessionToken`); `what` names where they came from, for the error.
    pub fn from_named(
        keys: &BTreeMap<String, Zeroizing<String>>,
        what: &str,
    ) -> Result<Self, AwsError> {
        let get = |name: &str| keys.get(name).filter(|v| !v.trim().is_empty());
        let (Some(id), Some(secret)) = (get(ACCESS_KEY_ID), get(SECRET_ACCESS_KEY)) else {
            return Err(AwsError::invalid_config(format!(
                "{what} needs {ACCESS_KEY_ID} and {SECRET_ACCESS_KEY}"
            )));
        };
        Ok(AwsKeys {
            access_key_id: Zeroizing::new(id.trim().to_owned()),
            secret_access_key: Zeroizing::new(secret.trim().to_owned()),
            session_token: get(SESSION_TOKEN).map(|t| Zeroizing::new(t.trim().to_owned())),
            expires: None,
        })
    }

    /// Whether these keys may still be used at `now` without replacing them.
    pub fn fresh_at(&self, now: SystemTime) -> bool {
        match self.expires {
            None => true,
            Some(expires) => now + REFRESH_BEFORE < expires,
        }
    }

    /// When they expire (`None`: never).
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires
    }

    /// The `<Credentials>` of an STS AssumeRole / AssumeRoleWithWebIdentity answer.
    pub(crate) fn from_sts_xml(doc: &str, action: &str) -> Result<Self, AwsError> {
        let field = |name: &str| {
            xml::element(doc, name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| AwsError::bad_response(action, format!("no {name} in the answer")))
        };
        let expiration = field("Expiration")?;
        Ok(AwsKeys {
            access_key_id: field("AccessKeyId")?,
            secret_access_key: field("SecretAccessKey")?,
            session_token: Some(field("SessionToken")?),
            expires: Some(parse_time(&expiration, action)?),
        })
    }

    /// The EKS Pod Identity agent's answer.
    pub(crate) fn from_pod_identity_json(body: &[u8], action: &str) -> Result<Self, AwsError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            access_key_id: Zeroizing<String>,
            secret_access_key: Zeroizing<String>,
            token: Option<Zeroizing<String>>,
            expiration: Option<String>,
        }
        let answer: Answer = serde_json::from_slice(body).map_err(|e| {
            AwsError::bad_response(
                action,
                format!("not the credentials JSON ({})", json_problem(&e)),
            )
        })?;
        let expires = match &answer.expiration {
            Some(text) => Some(parse_time(text, action)?),
            None => None,
        };
        Ok(AwsKeys {
            access_key_id: answer.access_key_id,
            secret_access_key: answer.secret_access_key,
            session_token: answer.token.filter(|t| !t.is_empty()),
            expires,
        })
    }
}

/// serde_json's error category, without the offending text (it may be part of a secret).
pub(crate) fn json_problem(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Io => "i/o error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "fields missing or of the wrong type",
        serde_json::error::Category::Eof => "truncated",
    }
}

/// An RFC 3339 time as AWS writes it (`2026-12-01T21:00:00Z`, fractions allowed).
fn parse_time(text: &str, action: &str) -> Result<SystemTime, AwsError> {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map(SystemTime::from)
        .map_err(|_| AwsError::bad_response(action, format!("expiration {text:?} is not a time")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STS: &str = r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>s3cr3t+/key</SecretAccessKey>
      <SessionToken>tok&amp;en</SessionToken>
      <Expiration>2026-12-01T21:00:00.123Z</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"#;

    #[test]
    fn sts_credentials_are_read_and_redacted() {
        let keys = AwsKeys::from_sts_xml(STS, "sts:AssumeRoleWithWebIdentity").unwrap();
        assert_eq!(keys.access_key_id.as_str(), "ASIAEXAMPLE");
        assert_eq!(keys.secret_access_key.as_str(), "s3cr3t+/key");
        assert_eq!(
            keys.session_token.as_deref().map(String::as_str),
            Some("tok&en")
        );
        let expires = keys.expires.unwrap();
        let debug = format!("{keys:?}");
        assert!(!debug.contains("s3cr3t") && !debug.contains("ASIA") && !debug.contains("tok&en"));
        assert!(keys.fresh_at(expires - Duration::from_secs(301)));
        assert!(!keys.fresh_at(expires - Duration::from_secs(299)));
    }

    #[test]
    fn sts_answer_without_credentials_is_a_bad_response() {
        let err = AwsKeys::from_sts_xml("<x/>", "sts:AssumeRole").unwrap_err();
        assert!(matches!(err, AwsError::BadResponse { .. }), "{err:?}");
        let bad_time = STS.replace("2026-12-01T21:00:00.123Z", "tomorrow");
        assert!(AwsKeys::from_sts_xml(&bad_time, "sts:AssumeRole").is_err());
    }

    #[test]
    fn pod_identity_answer() {
        let body = br#"{"AccessKeyId":"ASIA1","SecretAccessKey":"sk","Token":"t","AccountId":"1","Expiration":"2026-12-01T21:00:00Z"}"#;
        let keys =
            AwsKeys::from_pod_identity_json(body, "eks-auth:AssumeRoleForPodIdentity").unwrap();
        assert_eq!(keys.secret_access_key.as_str(), "sk");
        assert!(keys.expires.is_some());
        let err = AwsKeys::from_pod_identity_json(b"{\"AccessKeyId\":\"x\"}", "a").unwrap_err();
        assert!(!err.to_string().contains("\"x\""), "{err}");
    }

    #[test]
    fn static_keys_need_both_parts_and_never_expire() {
        let mut named = BTreeMap::new();
        named.insert(ACCESS_KEY_ID.to_owned(), Zeroizing::new("AKIA1".to_owned()));
        let err = AwsKeys::from_named(&named, "Secret ns/aws").unwrap_err();
        assert!(err.to_string().contains("secretAccessKey"), "{err}");
        named.insert(
            SECRET_ACCESS_KEY.to_owned(),
            Zeroizing::new("sk\n".to_owned()),
        );
        let keys = AwsKeys::from_named(&named, "Secret ns/aws").unwrap();
        assert_eq!(keys.secret_access_key.as_str(), "sk");
        assert!(keys.session_token.is_none());
        assert!(keys.fresh_at(SystemTime::now() + Duration::from_secs(86400 * 365)));
    }
}

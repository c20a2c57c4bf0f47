//! SigV4 for one request, with `aws-sigv4`: the method, URL, the headers we send and the body
//! in; the headers to add out (`x-amz-date`, `authorization`, and `x-amz-security-token` when
//! the keys carry a session token). The `host` header is signed from the URL's authority, as
//! hyper sends it.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use crate::error::AwsError;
use crate::keys::AwsKeys;

/// A request as it will be sent, before signing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unsigned<'a> {
    /// `POST`, `GET`.
    pub(crate) method: &'a str,
    /// The full URL.
    pub(crate) url: &'a str,
    /// The headers to sign beside `host` (lowercase names).
    pub(crate) headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub(crate) body: &'a [u8],
}

/// The headers that sign `request` for `service` in `region` at `now`. Header values carrying
/// the signature or token are the caller's to send, not to log.
pub(crate) fn signature_headers(
    keys: &AwsKeys,
    region: &str,
    service: &str,
    request: Unsigned<'_>,
    now: SystemTime,
) -> Result<Vec<(&'static str, String)>, AwsError> {
    let Unsigned {
        method,
        url,
        headers,
        body,
    } = request;
    let credentials = aws_credential_types::Credentials::new(
        keys.access_key_id.as_str(),
        keys.secret_access_key.as_str(),
        keys.session_token.as_ref().map(|t| t.to_string()),
        keys.expires,
        "kubectl-secrets",
    );
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| AwsError::invalid_config(format!("signing parameters: {e}")))?;
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| AwsError::invalid_config(format!("signing a request to {url}: {e}")))?;
    let (instructions, _signature) = sign(request, &params.into())
        .map_err(|e| AwsError::invalid_config(format!("signing a request to {url}: {e}")))?
        .into_parts();
    let (headers, _params) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| (h.name(), h.value().to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use zeroize::Zeroizing;

    fn keys(token: Option<&str>) -> AwsKeys {
        AwsKeys {
            access_key_id: Zeroizing::new("AKIDEXAMPLE".into()),
            secret_access_key: Zeroizing::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            session_token: token.map(|t| Zeroizing::new(t.into())),
            expires: None,
        }
    }

    #[test]
    fn signs_with_date_authorization_and_token() {
        // 2015-08-30T12:36:00Z, the date of AWS's own SigV4 test suite.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "secretsmanager.GetSecretValue"),
        ];
        let out = signature_headers(
            &keys(Some("session")),
            "us-east-1",
            "secretsmanager",
            Unsigned {
                method: "POST",
                url: "https://secretsmanager.us-east-1.amazonaws.com/",
                headers: &headers,
                body: br#"{"SecretId":"a"}"#,
            },
            now,
        )
        .unwrap();
        let get = |name: &str| {
            out.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("x-amz-date").as_deref(), Some("20150830T123600Z"));
        assert_eq!(get("x-amz-security-token").as_deref(), Some("session"));
        let auth = get("authorization").unwrap();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/secretsmanager/aws4_request"
            ),
            "{auth}"
        );
        assert!(
            auth.contains(
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
            ),
            "{auth}"
        );
        // The same request signs the same; another body signs differently.
        let again = signature_headers(
            &keys(Some("session")),
            "us-east-1",
            "secretsmanager",
            Unsigned {
                method: "POST",
                url: "https://secretsmanager.us-east-1.amazonaws.com/",
                headers: &headers,
                body: br#"{"SecretId":"b"}"#,
            },
            now,
        )
        .unwrap();
        assert_ne!(
            again.iter().find(|(n, _)| *n == "authorization"),
            out.iter().find(|(n, _)| *n == "authorization")
        );
    }

    #[test]
    fn no_token_no_token_header() {
        let out = signature_headers(
            &keys(None),
            "eu-west-1",
            "sts",
            Unsigned {
                method: "POST",
                url: "http://127.0.0.1:5000/",
                headers: &[],
                body: b"Action=AssumeRole",
            },
            SystemTime::now(),
        )
        .unwrap();
        assert!(
            out.iter()
                .all(|(n, _)| !n.eq_ignore_ascii_case("x-amz-security-token"))
        );
    }
}

//! What can go wrong talking to AWS, as variants callers branch on, and their mapping onto the
//! seam's [`ErrorKind`]s.
//!
//! Data flow: a non-2xx answer's error code and message are read from the body (awsJson1.1:
//! `__type` / `message`, or the `x-amzn-ErrorType` header; STS query protocol: the XML
//! `<Code>` / `<Message>`), then [`classify`] decides the variant from the code and status. The
//! transport maps connection failures to [`AwsError::Unavailable`] / [`AwsError::Timeout`].
//! [`AwsError::NotFound`] is kept for "the secret is gone": never written, deleted, or scheduled
//! for deletion (AWS answers `InvalidParameterException` "…marked for deletion", moto 5.2
//! `InvalidRequestException` "…currently marked deleted"), or the asked-for version or stage
//! does not exist (`ResourceNotFoundException` too): the one answer on which synced data may be
//! removed. Texts
//! carry the action, the secret id, the principal we act as and AWS's own message (cut short),
//! never a credential or a secret value.

use std::time::Duration;

use secrets_core::store::{ErrorKind, StoreError};

use crate::STORE_TYPE;

/// The longest piece of AWS's message kept in an error.
const MAX_DETAIL_CHARS: usize = 300;

/// A failed AWS call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AwsError {
    /// The secret does not exist, or is scheduled for deletion.
    #[error("aws secrets manager has no secret {secret:?} ({detail})")]
    NotFound {
        /// The secret id asked for (name or ARN).
        secret: String,
        /// AWS's message.
        detail: String,
    },
    /// The principal may not call this action (IAM, resource policy, SCP or trust policy).
    #[error("aws denied {action} to {principal}: {detail}")]
    AccessDenied {
        /// e.g. `secretsmanager:GetSecretValue`.
        action: String,
        /// Who we acted as: a role ARN, the store's static keys, a Pod Identity association.
        principal: String,
        /// AWS's message.
        detail: String,
    },
    /// The credentials were refused as such (expired, unknown key, bad signature, a web
    /// identity token STS does not accept).
    #[error("aws refused the credentials of {principal} for {action} ({code}): {detail}")]
    BadCredentials {
        /// The action.
        action: String,
        /// Who we acted as.
        principal: String,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        detail: String,
    },
    /// AWS asks us to slow down (`ThrottlingException`, `Throttling`, HTTP 429).
    #[error("aws throttled {action}{}: {detail}", retry_text(*retry_after))]
    Throttled {
        /// The action.
        action: String,
        /// What `Retry-After` said, if anything.
        retry_after: Option<Duration>,
        /// AWS's message.
        detail: String,
    },
    /// Another 4xx answer.
    #[error("aws rejected {action} (HTTP {status} {code}): {detail}")]
    Rejected {
        /// The action.
        action: String,
        /// The HTTP status.
        status: u16,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        detail: String,
    },
    /// A 5xx answer (or any other unexpected status).
    #[error("aws failed to serve {action} (HTTP {status} {code}): {detail}")]
    Server {
        /// The action.
        action: String,
        /// The HTTP status.
        status: u16,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        detail: String,
    },
    /// No answer: connection refused, DNS, TLS.
    #[error("cannot reach {endpoint} for {action}: {cause}")]
    Unavailable {
        /// The endpoint URL.
        endpoint: String,
        /// The action.
        action: String,
        /// The transport's error.
        cause: String,
    },
    /// No complete answer in time.
    #[error("{endpoint} did not answer {action} in time")]
    Timeout {
        /// The endpoint URL.
        endpoint: String,
        /// The action.
        action: String,
    },
    /// A success status with a body that is not what the action returns.
    #[error("aws's answer to {action} is unusable: {reason}")]
    BadResponse {
        /// The action.
        action: String,
        /// What was wrong, in our words (never the body).
        reason: String,
    },
    /// The store's configuration cannot work.
    #[error("invalid aws store configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
}

fn retry_text(after: Option<Duration>) -> String {
    after.map_or_else(String::new, |d| format!(" (retry after {}s)", d.as_secs()))
}

impl AwsError {
    /// The seam's kind for this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AwsError::NotFound { .. } => ErrorKind::NotFound,
            AwsError::AccessDenied { .. } | AwsError::BadCredentials { .. } => {
                ErrorKind::PermissionDenied
            }
            AwsError::Throttled { .. } => ErrorKind::Throttled,
            AwsError::Rejected { .. } => ErrorKind::Rejected,
            AwsError::Server { .. } | AwsError::Unavailable { .. } => ErrorKind::Unavailable,
            AwsError::Timeout { .. } => ErrorKind::Timeout,
            AwsError::BadResponse { .. } => ErrorKind::BadResponse,
            AwsError::InvalidConfig { .. } => ErrorKind::InvalidConfig,
        }
    }

    /// The seam's error.
    pub fn to_store_error(&self) -> StoreError {
        StoreError::new(STORE_TYPE, self.kind(), self.to_string())
    }

    /// Whether the cached credentials should be dropped (refused as expired or unknown), so
    /// the next call builds the chain again. A plain AccessDenied keeps them: it is a policy
    /// answer, and dropping them would cost an STS round trip per denied read.
    pub fn forgets_credentials(&self) -> bool {
        matches!(self, AwsError::BadCredentials { .. })
    }

    pub(crate) fn bad_response(action: &str, reason: impl Into<String>) -> Self {
        AwsError::BadResponse {
            action: action.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_config(reason: impl Into<String>) -> Self {
        AwsError::InvalidConfig {
            reason: reason.into(),
        }
    }
}

impl From<AwsError> for StoreError {
    fn from(err: AwsError) -> Self {
        err.to_store_error()
    }
}

/// An error answer as read from the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ErrorAnswer {
    /// HTTP status.
    pub(crate) status: u16,
    /// AWS's error code (`ResourceNotFoundException`), empty when none was given.
    pub(crate) code: String,
    /// AWS's message, cut short.
    pub(crate) message: String,
    /// `Retry-After`, when sent.
    pub(crate) retry_after: Option<Duration>,
}

/// What a call was about, for the error's words.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallContext<'a> {
    /// `secretsmanager:GetSecretValue`, `sts:AssumeRole`, ...
    pub(crate) action: &'a str,
    /// The secret id, for Secrets Manager calls on one secret.
    pub(crate) secret: Option<&'a str>,
    /// Who we act as.
    pub(crate) principal: &'a str,
}

/// Codes that say the credentials themselves are refused.
const CREDENTIAL_CODES: [&str; 10] = [
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidIdentityToken",
    "MissingAuthenticationToken",
    "InvalidAccessKeyId",
];

const THROTTLE_CODES: [&str; 5] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// The variant for an error answer (see the module doc).
pub(crate) fn classify(ctx: CallContext<'_>, answer: ErrorAnswer) -> AwsError {
    let ErrorAnswer {
        status,
        code,
        message,
        retry_after,
    } = answer;
    let action = ctx.action.to_owned();
    let deleted = matches!(
        code.as_str(),
        "InvalidRequestException" | "InvalidParameterException"
    ) && {
        let message = message.to_ascii_lowercase();
        message.contains("marked for deletion") || message.contains("marked deleted")
    };
    if let Some(secret) = ctx.secret
        && (code == "ResourceNotFoundException" || deleted)
    {
        return AwsError::NotFound {
            secret: secret.to_owned(),
            detail: message,
        };
    }
    if code == "AccessDeniedException" || code == "AccessDenied" {
        return AwsError::AccessDenied {
            action,
            principal: ctx.principal.to_owned(),
            detail: message,
        };
    }
    if CREDENTIAL_CODES.contains(&code.as_str()) {
        return AwsError::BadCredentials {
            action,
            principal: ctx.principal.to_owned(),
            code,
            detail: message,
        };
    }
    if status == 429 || THROTTLE_CODES.contains(&code.as_str()) {
        return AwsError::Throttled {
            action,
            retry_after,
            detail: message,
        };
    }
    let code = if code.is_empty() {
        "no error code".to_owned()
    } else {
        code
    };
    match status {
        400..=499 => AwsError::Rejected {
            action,
            status,
            code,
            detail: message,
        },
        _ => AwsError::Server {
            action,
            status,
            code,
            detail: message,
        },
    }
}

/// AWS's code as sent: `aws.protocoltests#FooError:http://...` → `FooError`.
pub(crate) fn bare_code(raw: &str) -> String {
    let after_hash = raw.rsplit_once('#').map_or(raw, |(_, code)| code);
    let code = after_hash.split_once(':').map_or(after_hash, |(c, _)| c);
    code.trim().to_owned()
}

/// AWS's message on one line, without control characters, cut at [`MAX_DETAIL_CHARS`].
/// "no detail" when empty.
pub(crate) fn detail(message: &str) -> String {
    let line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.trim();
    if line.is_empty() {
        return "no detail".to_owned();
    }
    match line.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CallContext<'static> {
        CallContext {
            action: "secretsmanager:GetSecretValue",
            secret: Some("app/db"),
            principal: "role arn:aws:iam::111122223333:role/reader",
        }
    }

    fn answer(status: u16, code: &str, message: &str) -> ErrorAnswer {
        ErrorAnswer {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    #[test]
    fn gone_and_scheduled_for_deletion_are_not_found() {
        for (code, message) in [
            (
                "ResourceNotFoundException",
                "Secrets Manager can't find the specified secret.",
            ),
            (
                "InvalidRequestException",
                "You can't perform this operation on the secret because it was marked for deletion.",
            ),
            (
                "InvalidParameterException",
                "You can't perform this operation on the secret because it was marked for deletion.",
            ),
            (
                "InvalidRequestException",
                "You tried to perform the operation on a secret that's currently marked deleted.",
            ),
        ] {
            let err = classify(ctx(), answer(400, code, message));
            assert!(matches!(err, AwsError::NotFound { .. }), "{code}: {err:?}");
            assert_eq!(err.kind(), ErrorKind::NotFound);
        }
        // Other invalid requests are not "gone".
        let err = classify(ctx(), answer(400, "InvalidRequestException", "bad stage"));
        assert_eq!(err.kind(), ErrorKind::Rejected);
        // Without a secret (an STS call), nothing is "not found".
        let sts = CallContext {
            secret: None,
            ..ctx()
        };
        let err = classify(sts, answer(400, "ResourceNotFoundException", "x"));
        assert_eq!(err.kind(), ErrorKind::Rejected);
    }

    #[test]
    fn access_denied_names_the_action_and_the_role() {
        let err = classify(
            ctx(),
            answer(400, "AccessDeniedException", "not authorized"),
        );
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        let text = err.to_string();
        assert!(
            text.contains("secretsmanager:GetSecretValue")
                && text.contains("arn:aws:iam::111122223333:role/reader"),
            "{text}"
        );
        assert!(!err.forgets_credentials());
        let expired = classify(ctx(), answer(400, "ExpiredTokenException", "expired"));
        assert!(matches!(expired, AwsError::BadCredentials { .. }));
        assert_eq!(expired.kind(), ErrorKind::PermissionDenied);
        assert!(expired.forgets_credentials());
    }

    #[test]
    fn throttling_in_every_spelling() {
        let retry = Some(Duration::from_secs(3));
        for (status, code) in [(400, "ThrottlingException"), (400, "Throttling"), (429, "")] {
            let err = classify(
                ctx(),
                ErrorAnswer {
                    retry_after: retry,
                    ..answer(status, code, "Rate exceeded")
                },
            );
            assert_eq!(err.kind(), ErrorKind::Throttled, "{code}");
            assert!(err.to_string().contains("retry after 3s"), "{err}");
        }
    }

    #[test]
    fn other_statuses() {
        let err = classify(ctx(), answer(400, "ValidationException", "bad"));
        assert!(matches!(err, AwsError::Rejected { status: 400, .. }));
        let err = classify(ctx(), answer(500, "InternalServiceError", "oops"));
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        let err = classify(ctx(), answer(503, "", ""));
        assert!(err.to_string().contains("no error code"), "{err}");
    }

    #[test]
    fn codes_and_details_are_cleaned() {
        assert_eq!(
            bare_code("com.amazonaws.secretsmanager#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            bare_code("FooError:http://internal.amazon.com/coral/com.amazon/"),
            "FooError"
        );
        assert_eq!(bare_code("Throttling"), "Throttling");
        assert_eq!(detail("a\nb\tc"), "a b c");
        assert_eq!(detail("  "), "no detail");
        assert_eq!(
            detail(&"x".repeat(1000)).chars().count(),
            MAX_DETAIL_CHARS + 1
        );
    }
}

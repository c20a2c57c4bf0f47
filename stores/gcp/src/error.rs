//! What goes wrong talking to GCP, in words that say what to fix, and its mapping onto the
//! seam's kinds. Google's own words (error `status` and `message`, STS's `error` and
//! `error_description`) are kept; response bodies are never quoted otherwise, and no token,
//! key or value is ever part of a message.
//!
//! [`ErrorKind::NotFound`] is reserved for Secret Manager's 404 `NOT_FOUND` about a secret or
//! version (the one answer on which synced data may be deleted): a 404 in any other shape (a
//! proxy, a wrong endpoint) is [`ErrorKind::BadResponse`].

use std::time::Duration;

use secrets_core::store::{ErrorKind, StoreError};
use secrets_store_http::HttpError;

use crate::STORE_TYPE;
use crate::key::KeyError;
use crate::wire::{ApiError, OauthError, WireError};

/// A failed GCP call, or a store that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum GcpError {
    /// No answer (connection, TLS, timeout, size).
    #[error("{doing}: {source}")]
    Http {
        doing: String,
        #[source]
        source: HttpError,
    },
    /// Secret Manager or IAM Credentials answered with an error.
    #[error("{doing}: {http} {}{}{}", api.status, if api.status.is_empty() { "" } else { ": " }, described(api))]
    Api {
        doing: String,
        http: u16,
        api: ApiError,
        retry_after: Option<Duration>,
    },
    /// STS answered with an OAuth error.
    #[error("{doing}: {http} {}: {}", oauth.error, oauth.description)]
    Sts {
        doing: String,
        http: u16,
        oauth: OauthError,
    },
    /// An answer that cannot be used (a checksum mismatch among them).
    #[error("{doing}: {source}")]
    Wire {
        doing: String,
        #[source]
        source: WireError,
    },
    /// The service-account key cannot be used.
    #[error("{doing}: {source}")]
    Key {
        doing: String,
        #[source]
        source: KeyError,
    },
    /// The spec or the request cannot work.
    #[error("{0}")]
    Config(String),
    /// A pinned or latest version that is disabled or destroyed, or no enabled version.
    #[error("{0}")]
    Unreadable(String),
}

fn described(api: &ApiError) -> String {
    match &api.reason {
        Some(reason) => format!("{} ({reason})", api.message),
        None => api.message.clone(),
    }
}

impl GcpError {
    /// The seam's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            GcpError::Http { source, .. } => match source {
                HttpError::Timeout(_) => ErrorKind::Timeout,
                HttpError::Connect(_) => ErrorKind::Unavailable,
                HttpError::TooLarge => ErrorKind::BadResponse,
                HttpError::Invalid(_) | HttpError::Tls(_) => ErrorKind::InvalidConfig,
            },
            GcpError::Api { http, api, .. } => api_kind(*http, api),
            GcpError::Sts { http, .. } => match http {
                429 => ErrorKind::Throttled,
                500.. => ErrorKind::Unavailable,
                _ => ErrorKind::PermissionDenied,
            },
            GcpError::Wire { .. } => ErrorKind::BadResponse,
            GcpError::Key { .. } | GcpError::Config(_) => ErrorKind::InvalidConfig,
            GcpError::Unreadable(_) => ErrorKind::Rejected,
        }
    }

    /// Whether Secret Manager refused the token itself (401): log in again next time.
    pub fn token_refused(&self) -> bool {
        matches!(self, GcpError::Api { http: 401, .. })
    }

    /// A 429's `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GcpError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether this is Secret Manager's answer that the secret or version is gone.
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// A FAILED_PRECONDITION: the version is DISABLED or DESTROYED.
    pub(crate) fn is_failed_precondition(&self) -> bool {
        matches!(self, GcpError::Api { http: 400, api, .. } if api.status == "FAILED_PRECONDITION")
    }
}

fn api_kind(http: u16, api: &ApiError) -> ErrorKind {
    match http {
        404 if api.status == "NOT_FOUND" && api.message.starts_with("Secret") => {
            ErrorKind::NotFound
        }
        404 => ErrorKind::BadResponse,
        401 | 403 => ErrorKind::PermissionDenied,
        429 => ErrorKind::Throttled,
        408 | 504 => ErrorKind::Timeout,
        500.. => ErrorKind::Unavailable,
        _ => ErrorKind::Rejected,
    }
}

impl From<GcpError> for StoreError {
    fn from(err: GcpError) -> StoreError {
        // The whole text is this layer's: Google's words are part of what to fix.
        StoreError::new(STORE_TYPE, err.kind(), err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(http: u16, status: &str, message: &str) -> GcpError {
        GcpError::Api {
            doing: "reading x".into(),
            http,
            api: ApiError {
                status: status.into(),
                message: message.into(),
                reason: None,
            },
            retry_after: None,
        }
    }

    #[test]
    fn only_secret_managers_not_found_is_not_found() {
        assert_eq!(
            api(
                404,
                "NOT_FOUND",
                "Secret [projects/1/secrets/s] not found or has no versions."
            )
            .kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            api(
                404,
                "NOT_FOUND",
                "The requested URL was not found on this server."
            )
            .kind(),
            ErrorKind::BadResponse
        );
        assert_eq!(
            api(
                404,
                "",
                "an answer that is not Google's error JSON (9 bytes)"
            )
            .kind(),
            ErrorKind::BadResponse
        );
        assert_eq!(
            api(403, "PERMISSION_DENIED", "denied").kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            api(429, "RESOURCE_EXHAUSTED", "quota").kind(),
            ErrorKind::Throttled
        );
        assert_eq!(
            api(503, "UNAVAILABLE", "down").kind(),
            ErrorKind::Unavailable
        );
        assert!(api(400, "FAILED_PRECONDITION", "DISABLED").is_failed_precondition());
        assert!(api(401, "UNAUTHENTICATED", "x").token_refused());
    }

    #[test]
    fn messages_keep_googles_words() {
        let text = api(
            403,
            "PERMISSION_DENIED",
            "Permission 'secretmanager.versions.access' denied",
        )
        .to_string();
        assert_eq!(
            text,
            "reading x: 403 PERMISSION_DENIED: Permission 'secretmanager.versions.access' denied"
        );
        let sts = GcpError::Sts {
            doing: "exchanging".into(),
            http: 400,
            oauth: OauthError {
                error: "invalid_grant".into(),
                description: "The audience in ID Token [a] does not match".into(),
            },
        };
        assert_eq!(
            sts.to_string(),
            "exchanging: 400 invalid_grant: The audience in ID Token [a] does not match"
        );
        assert_eq!(StoreError::from(sts).kind(), ErrorKind::PermissionDenied);
    }
}

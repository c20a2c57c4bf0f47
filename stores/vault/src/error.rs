//! What can go wrong talking to Vault, as variants the agent branches on (delete data only on
//! [`VaultError::NotFound`], retry with backoff on the transient ones) and a static category per
//! variant for metric labels and Event reasons.
//!
//! Data flow: the transport maps connection failures to `Unavailable`/`Timeout`; each call maps
//! the answer's status and `errors` array through [`VaultError::from_status`] unless the call
//! gives the status a meaning of its own (404 on a KV read is `NotFound`). Arguments refused
//! before sending are `InvalidPath` or `InvalidConfig`; a mount whose engine is not what the
//! caller reads it as is `MountMismatch`. Texts carry paths, the server address and Vault's own
//! error strings, never a token or a secret value.

use std::time::Duration;

use serde_json::Value;

use super::kv::KvVersion;

/// The longest piece of Vault's error text kept in an error: enough for any message Vault
/// writes, short enough that a misbehaving proxy's HTML page cannot flood a status field.
const MAX_DETAIL_CHARS: usize = 300;

/// A failed Vault call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// Vault answered that there is no secret here: never written, or (KV v2) its latest or
    /// requested version deleted or destroyed. The only error after which synced data may be
    /// removed.
    #[error("vault has no secret at {path}")]
    NotFound {
        /// The API path read, e.g. `secret/data/app/db`.
        path: String,
    },
    /// HTTP 403: the token's policies do not allow this path, or the token is invalid or
    /// expired (Vault does not tell the two apart).
    #[error("vault denied access to {path}: {detail}")]
    PermissionDenied {
        /// The API path.
        path: String,
        /// Vault's `errors` text.
        detail: String,
    },
    /// Another 4xx answer, e.g. a login with an unknown role (400), or a path no engine is
    /// mounted at (404 "no handler for route").
    #[error("vault rejected the request to {path} (HTTP {status}): {detail}")]
    Rejected {
        /// The API path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// Vault's `errors` text.
        detail: String,
    },
    /// No answer: connection refused, DNS failure, TLS failure (an untrusted certificate),
    /// or the connection dropped mid-answer.
    #[error("cannot reach vault at {server}: {cause}")]
    Unavailable {
        /// The configured server URL.
        server: String,
        /// The transport's error chain.
        cause: String,
    },
    /// No complete answer within the configured timeout.
    #[error("vault at {server} did not answer {path} within {after:?}")]
    Timeout {
        /// The configured server URL.
        server: String,
        /// The API path.
        path: String,
        /// The configured timeout.
        after: Duration,
    },
    /// HTTP 503 from a sealed server.
    #[error("vault at {server} is sealed")]
    Sealed {
        /// The configured server URL.
        server: String,
    },
    /// A 5xx answer other than sealed (or any other unexpected status).
    #[error("vault failed to serve {path} (HTTP {status}): {detail}")]
    Server {
        /// The API path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// Vault's `errors` text.
        detail: String,
    },
    /// A success status whose body is not what this endpoint returns (not JSON, a field
    /// missing or of the wrong type).
    #[error("vault's answer to {path} is unusable: {reason}")]
    BadResponse {
        /// The API path.
        path: String,
        /// What was wrong, in our words (never the body itself).
        reason: String,
    },
    /// The client configuration cannot work: a bad server URL, an unusable `caBundle`, a
    /// version asked of KV v1.
    #[error("invalid vault configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// A key or mount given to a call cannot be put in a URL safely (an empty, `.` or `..`
    /// segment). Refused before sending.
    #[error("the vault {what} {path:?} is invalid: {reason}")]
    InvalidPath {
        /// `key`, `mount` or `auth mount`.
        what: &'static str,
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The mount's engine (from Vault's mount metadata) is not the KV version it is read as:
    /// a KV v1 mount read as v2 answers "not found" for every key, so this is checked before
    /// such an answer is believed.
    #[error("vault mount {mount:?} is {found}, but it is read as KV {expected}")]
    MountMismatch {
        /// The mount's path as Vault reports it, without the trailing slash.
        mount: String,
        /// What it is: `KV v1`, `KV v2`, or `a "transit" engine`.
        found: String,
        /// The version the caller reads it as.
        expected: KvVersion,
    },
}

impl VaultError {
    /// A short, fixed label for metrics and Event reasons.
    pub fn category(&self) -> &'static str {
        match self {
            VaultError::NotFound { .. } => "not_found",
            VaultError::PermissionDenied { .. } => "permission_denied",
            VaultError::Rejected { .. } => "rejected",
            VaultError::Unavailable { .. } => "unavailable",
            VaultError::Timeout { .. } => "timeout",
            VaultError::Sealed { .. } => "sealed",
            VaultError::Server { .. } => "server_error",
            VaultError::BadResponse { .. } => "bad_response",
            VaultError::InvalidConfig { .. } => "invalid_config",
            VaultError::InvalidPath { .. } => "invalid_path",
            VaultError::MountMismatch { .. } => "mount_mismatch",
        }
    }

    /// True for failures that may pass by themselves (the server is down, slow, sealed or
    /// failing): retry with backoff and keep what was synced.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            VaultError::Unavailable { .. }
                | VaultError::Timeout { .. }
                | VaultError::Sealed { .. }
                | VaultError::Server { .. }
        )
    }

    /// The error for a non-success answer with no call-specific meaning.
    pub(super) fn from_status(server: &str, path: &str, status: u16, body: &Value) -> Self {
        let detail = error_detail(body);
        match status {
            403 => VaultError::PermissionDenied {
                path: path.to_owned(),
                detail,
            },
            503 if detail.contains("sealed") => VaultError::Sealed {
                server: server.to_owned(),
            },
            400..=499 => VaultError::Rejected {
                path: path.to_owned(),
                status,
                detail,
            },
            _ => VaultError::Server {
                path: path.to_owned(),
                status,
                detail,
            },
        }
    }

    pub(super) fn bad_response(path: &str, reason: impl Into<String>) -> Self {
        VaultError::BadResponse {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }

    pub(super) fn invalid_config(reason: impl Into<String>) -> Self {
        VaultError::InvalidConfig {
            reason: reason.into(),
        }
    }
}

/// Vault's `errors` array (or, when that is empty, its `warnings`, where KV puts "Invalid path
/// for a versioned K/V secrets engine") as one line: Go's multi-error framing (`1 error
/// occurred:\n\t* …`) removed, entries joined with "; ", cut at [`MAX_DETAIL_CHARS`].
/// "no detail" when there is none.
pub(super) fn error_detail(body: &Value) -> String {
    let mut parts = Vec::new();
    let listed = |key| {
        body.get(key)
            .and_then(Value::as_array)
            .filter(|items| !items.is_empty())
    };
    if let Some(errors) = listed("errors").or_else(|| listed("warnings")) {
        for error in errors.iter().filter_map(Value::as_str) {
            for line in error.lines() {
                let line = line.trim().trim_start_matches("* ").trim();
                let framing = line.ends_with("occurred:")
                    && (line.contains(" error occurred") || line.contains(" errors occurred"));
                if !line.is_empty() && !framing {
                    parts.push(line);
                }
            }
        }
    }
    if parts.is_empty() {
        return "no detail".to_owned();
    }
    let joined = parts.join("; ");
    match joined.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_multierror_framing_is_removed() {
        let body = json!({"errors": ["1 error occurred:\n\t* permission denied\n\n"]});
        assert_eq!(error_detail(&body), "permission denied");
        let body = json!({"errors": ["2 errors occurred:\n\t* a\n\t* b\n\n", "c"]});
        assert_eq!(error_detail(&body), "a; b; c");
    }

    #[test]
    fn warnings_stand_in_for_missing_errors() {
        let body =
            json!({"errors": [], "warnings": ["Invalid path for a versioned K/V secrets engine."]});
        assert_eq!(
            error_detail(&body),
            "Invalid path for a versioned K/V secrets engine."
        );
        let both = json!({"errors": ["e"], "warnings": ["w"]});
        assert_eq!(error_detail(&both), "e");
    }

    #[test]
    fn empty_or_missing_errors_say_so() {
        assert_eq!(error_detail(&json!({"errors": []})), "no detail");
        assert_eq!(error_detail(&Value::Null), "no detail");
    }

    #[test]
    fn long_detail_is_cut() {
        let body = json!({"errors": ["x".repeat(1000)]});
        assert_eq!(error_detail(&body).chars().count(), MAX_DETAIL_CHARS + 1);
    }

    #[test]
    fn statuses_map_to_variants() {
        let sealed = json!({"errors": ["Vault is sealed"]});
        assert!(matches!(
            VaultError::from_status("s", "p", 503, &sealed),
            VaultError::Sealed { .. }
        ));
        let other = json!({"errors": ["oops"]});
        assert!(matches!(
            VaultError::from_status("s", "p", 503, &other),
            VaultError::Server { status: 503, .. }
        ));
        assert!(matches!(
            VaultError::from_status("s", "p", 403, &other),
            VaultError::PermissionDenied { .. }
        ));
        assert!(matches!(
            VaultError::from_status("s", "p", 400, &other),
            VaultError::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            VaultError::from_status("s", "p", 500, &other),
            VaultError::Server { status: 500, .. }
        ));
    }
}

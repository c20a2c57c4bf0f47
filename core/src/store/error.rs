//! One error for every store: which store type failed, a kind callers branch on, a message in
//! this layer's words (never a secret value), and the cause kept as `#[source]`, rendered once
//! where the error meets a status or an Event (the agent's `error_chain`).
//!
//! Data flow: a store crate maps its own errors onto a kind ([`StoreError::new`], plus
//! [`StoreError::with_source`] when there is a typed cause) → the agent and the plugin branch
//! on [`StoreError::kind`] / [`StoreError::is_transient`] and label metrics and Events with
//! [`StoreError::category`].

use std::error::Error as StdError;

use super::StoreType;

/// What kind of failure, independent of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The store answered that the secret does not exist (or its version is gone). The only
    /// kind after which synced data may be deleted; stores never use it for anything else.
    NotFound,
    /// The credentials may not do this (or are no longer valid).
    PermissionDenied,
    /// No answer: connection refused, DNS, TLS, a sealed or failing server.
    Unavailable,
    /// No complete answer in time.
    Timeout,
    /// The store (or our own per-store rate limit) asks us to slow down.
    Throttled,
    /// The store refused the request (a 4xx that is none of the above).
    Rejected,
    /// The store answered with something unusable, or with an answer that cannot be trusted.
    BadResponse,
    /// The store's spec or the request cannot work (a bad URL, CA, version, mount).
    InvalidConfig,
    /// The credentials could not be obtained (a Secret or service-account token the caller
    /// resolves): transient, since the referenced object may appear.
    Credentials,
}

impl ErrorKind {
    /// Every kind, in documentation order.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::NotFound,
        ErrorKind::PermissionDenied,
        ErrorKind::Unavailable,
        ErrorKind::Timeout,
        ErrorKind::Throttled,
        ErrorKind::Rejected,
        ErrorKind::BadResponse,
        ErrorKind::InvalidConfig,
        ErrorKind::Credentials,
    ];

    /// The stable snake_case name: a metric label and a sync failure's Event reason.
    pub fn category(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Rejected => "rejected",
            ErrorKind::BadResponse => "bad_response",
            ErrorKind::InvalidConfig => "invalid_config",
            ErrorKind::Credentials => "credentials",
        }
    }

    /// True for failures that may pass by themselves: retry with backoff, keep what was synced.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Unavailable
                | ErrorKind::Timeout
                | ErrorKind::Throttled
                | ErrorKind::Credentials
        )
    }
}

/// A failed store call (or a store that cannot be used).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    store: StoreType,
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl StoreError {
    /// A `kind` failure of a `store` store; `message` says what this layer was doing and what
    /// went wrong, lowercase, without a secret value and without repeating a source.
    pub fn new(store: StoreType, kind: ErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            store,
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same error, caused by `source` (kept for the chain, not copied into the message).
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The same error with `context: ` before its message (the source stays).
    #[must_use]
    pub fn context(mut self, context: impl std::fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The store type that failed.
    pub fn store_type(&self) -> StoreType {
        self.store
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// This layer's message (without the sources).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// [`ErrorKind::category`] of the kind.
    pub fn category(&self) -> &'static str {
        self.kind.category()
    }

    /// [`ErrorKind::is_transient`] of the kind.
    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }

    /// Whether the store answered that the secret is gone.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_stable_and_distinct() {
        let names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.category()).collect();
        assert_eq!(
            names,
            [
                "not_found",
                "permission_denied",
                "unavailable",
                "timeout",
                "throttled",
                "rejected",
                "bad_response",
                "invalid_config",
                "credentials"
            ]
        );
        let transient: Vec<_> = ErrorKind::ALL
            .iter()
            .filter(|k| k.is_transient())
            .map(|k| k.category())
            .collect();
        assert_eq!(
            transient,
            ["unavailable", "timeout", "throttled", "credentials"]
        );
    }

    #[test]
    fn the_source_is_kept_not_repeated() {
        let err = StoreError::new(
            StoreType::new("fake"),
            ErrorKind::Unavailable,
            "reading a/b",
        )
        .with_source(std::io::Error::other("connection reset"))
        .context("for SecretStore \"s\"");
        assert_eq!(err.to_string(), "for SecretStore \"s\": reading a/b");
        assert_eq!(
            err.source().map(ToString::to_string).as_deref(),
            Some("connection reset")
        );
        assert!(err.is_transient() && !err.is_not_found());
        assert_eq!(err.store_type().as_str(), "fake");
    }
}

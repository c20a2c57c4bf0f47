//! How a failed mount is told to the driver: a gRPC error status whose message names the pod,
//! the object paths concerned, the store, the cause and the failure category in brackets. The
//! driver logs that message and shows it in the pod's events, so it is all a person sees.
//!
//! Data flow: each step of [`super::flow`] fails with a [`MountFailure`] (a category and a
//! gRPC code: from a store's `ErrorKind`, or the provider's own), the flow adds the pod, paths
//! and store it knows → [`MountFailure::status`] at the server; the category is also the
//! `secrets_agent_mounts_total{category}` label. No message carries a value: causes come from
//! errors that name objects and keys only.

use std::fmt;

use secrets_core::store::{ErrorKind, StoreError};
use tonic::Code;

/// A category the provider itself raises (beside the store `ErrorKind` names): the answer
/// would exceed the driver's message limit.
pub const TOO_LARGE: &str = "too_large";

/// A failed mount.
#[derive(Debug, Clone)]
pub struct MountFailure {
    /// The failure category (`ErrorKind::category` names, or [`TOO_LARGE`]).
    pub category: &'static str,
    /// The gRPC code.
    pub code: Code,
    /// `team/web-0`, when the request named a pod.
    pub pod: Option<String>,
    /// The object paths the failure concerns.
    pub paths: Vec<String>,
    /// `SecretStore "vault"`, `SealedSecret "db"`, `SecretProviderClass "app"`…
    pub source: Option<String>,
    /// What went wrong.
    pub cause: String,
}

/// The gRPC code for a store error kind.
pub fn code_of(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::PermissionDenied => Code::PermissionDenied,
        ErrorKind::Unavailable => Code::Unavailable,
        ErrorKind::Timeout => Code::DeadlineExceeded,
        ErrorKind::Throttled => Code::ResourceExhausted,
        ErrorKind::Rejected | ErrorKind::InvalidConfig => Code::FailedPrecondition,
        ErrorKind::BadResponse => Code::Internal,
        ErrorKind::Credentials => Code::Unauthenticated,
        _ => Code::Unknown,
    }
}

impl MountFailure {
    /// A failure of `kind` with `cause`.
    pub fn new(kind: ErrorKind, cause: impl Into<String>) -> Self {
        Self::raw(kind.category(), code_of(kind), cause)
    }

    /// A failure with the provider's own category.
    pub fn raw(category: &'static str, code: Code, cause: impl Into<String>) -> Self {
        MountFailure {
            category,
            code,
            pod: None,
            paths: Vec::new(),
            source: None,
            cause: cause.into(),
        }
    }

    /// A store's error, its whole chain as the cause.
    pub fn store(err: &StoreError) -> Self {
        Self::new(err.kind(), crate::telemetry::error_chain(err))
    }

    /// The same failure, about `paths`.
    #[must_use]
    pub fn paths<I: IntoIterator<Item = S>, S: Into<String>>(mut self, paths: I) -> Self {
        if self.paths.is_empty() {
            self.paths = paths.into_iter().map(Into::into).collect();
        }
        self
    }

    /// The same failure, reading from `source`.
    #[must_use]
    pub fn source(mut self, source: impl Into<String>) -> Self {
        if self.source.is_none() {
            self.source = Some(source.into());
        }
        self
    }

    /// The same failure, for `pod` (`ns/name`).
    #[must_use]
    pub fn pod(mut self, pod: impl Into<String>) -> Self {
        if self.pod.is_none() {
            self.pod = Some(pod.into());
        }
        self
    }

    /// The status the driver gets.
    pub fn status(&self) -> tonic::Status {
        tonic::Status::new(self.code, self.to_string())
    }
}

impl fmt::Display for MountFailure {
    /// `mount for pod team/web-0: object "db/password" from SecretStore "vault": <cause>
    /// [permission_denied]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pod {
            Some(pod) => write!(f, "mount for pod {pod}")?,
            None => f.write_str("mount")?,
        }
        match self.paths.as_slice() {
            [] => {}
            [one] => write!(f, ": object {one:?}")?,
            many => {
                let list: Vec<String> = many.iter().map(|p| format!("{p:?}")).collect();
                write!(f, ": objects {}", list.join(", "))?;
            }
        }
        if let Some(source) = &self.source {
            let joiner = if self.paths.is_empty() {
                ": "
            } else {
                " from "
            };
            write!(f, "{joiner}{source}")?;
        }
        write!(f, ": {} [{}]", self.cause, self.category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_pod_paths_source_cause_and_category() {
        let f = MountFailure::new(ErrorKind::PermissionDenied, "permission denied")
            .paths(["db/password"])
            .source("SecretStore \"vault\"")
            .pod("team/web-0");
        assert_eq!(
            f.to_string(),
            "mount for pod team/web-0: object \"db/password\" from SecretStore \"vault\": \
             permission denied [permission_denied]"
        );
        assert_eq!(f.status().code(), Code::PermissionDenied);
        let f =
            MountFailure::new(ErrorKind::InvalidConfig, "bad").source("SecretProviderClass \"a\"");
        assert_eq!(
            f.to_string(),
            "mount: SecretProviderClass \"a\": bad [invalid_config]"
        );
        let f = MountFailure::new(ErrorKind::NotFound, "gone").paths(["a", "b"]);
        assert_eq!(
            f.to_string(),
            "mount: objects \"a\", \"b\": gone [not_found]"
        );
        // What was set first wins: the innermost step knows best.
        let f = f.paths(["c"]).pod("x/y").pod("z/w");
        assert!(
            f.to_string()
                .starts_with("mount for pod x/y: objects \"a\"")
        );
    }

    #[test]
    fn every_kind_has_a_code() {
        for kind in ErrorKind::ALL {
            assert_ne!(code_of(kind), Code::Ok);
        }
        assert_eq!(code_of(ErrorKind::Unavailable), Code::Unavailable);
    }
}

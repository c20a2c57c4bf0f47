//! Credentials come in from the caller; a store never fetches them itself. The agent resolves a
//! store's SecretRefs and TokenRequests, the CSI provider passes the pod's own token, the plugin
//! the person's environment. A store that logs in again (a token expired) asks its
//! [`CredentialSource`] again, so short-lived service-account tokens are fetched fresh.

use std::fmt;

use zeroize::Zeroizing;

use super::StoreFuture;

/// What a store logs in with. `Debug` never shows a secret.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// A token used as it is (Vault token, bearer token).
    Token(Zeroizing<String>),
    /// A Kubernetes service-account token, with the audiences it was requested for.
    ServiceAccountToken {
        /// The JWT.
        token: Zeroizing<String>,
        /// Its audiences.
        audiences: Vec<String>,
    },
    /// An AppRole-style pair: a public id and a secret.
    AppRole {
        /// The role id (not a secret).
        role_id: String,
        /// The secret id.
        secret_id: Zeroizing<String>,
    },
}

impl Credentials {
    /// A short name of the kind (`token`, `service-account-token`, `approle`), for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::Token(_) => "token",
            Credentials::ServiceAccountToken { .. } => "service-account-token",
            Credentials::AppRole { .. } => "approle",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::ServiceAccountToken { audiences, .. } => f
                .debug_struct("ServiceAccountToken")
                .field("token", &"<redacted>")
                .field("audiences", audiences)
                .finish(),
            Credentials::AppRole { role_id, .. } => f
                .debug_struct("AppRole")
                .field("role_id", role_id)
                .field("secret_id", &"<redacted>")
                .finish(),
        }
    }
}

/// Where a store gets its credentials each time it logs in.
pub trait CredentialSource: Send + Sync {
    /// The credentials, fetched now.
    fn credentials(&self) -> StoreFuture<'_, Credentials>;
}

/// Fixed credentials (the plugin's environment, a test) are their own source.
impl CredentialSource for Credentials {
    fn credentials(&self) -> StoreFuture<'_, Credentials> {
        let credentials = self.clone();
        Box::pin(async move { Ok(credentials) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let all = [
            Credentials::Token(Zeroizing::new("s.hunter2".into())),
            Credentials::ServiceAccountToken {
                token: Zeroizing::new("jwt.hunter2".into()),
                audiences: vec!["vault".into()],
            },
            Credentials::AppRole {
                role_id: "role".into(),
                secret_id: Zeroizing::new("id.hunter2".into()),
            },
        ];
        for c in all {
            let debug = format!("{c:?}");
            assert!(!debug.contains("hunter2"), "{debug}");
        }
    }
}

//! A `spec.provider.gcpsm` as the store uses it: project, location, version policy and how to
//! log in, with the names that go into URLs checked so no spec or key can address another
//! resource. Validation (`core/src/sync/validate/gcp.rs`) names problems field by field before
//! a store is opened; these checks are the store's own guard.

use secrets_core::api::secret_store::GcpSmProvider;

use crate::GcpError;

/// The annotation naming the Google service account a Kubernetes account impersonates when the
/// store names none (GKE's and ESO's convention).
pub const SERVICE_ACCOUNT_ANNOTATION: &str = "iam.gke.io/gcp-service-account";

/// Which version `latest` reads when the newest is disabled or destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionPolicy {
    /// Fail (ESO's default).
    LatestOrFail,
    /// Read the newest ENABLED version instead.
    LatestOrFetch,
}

/// How the store logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// A service-account key JSON (`secretRef`), or a person's own token or key (plugin).
    Key,
    /// Workload identity federation: STS for `audience`, then `email` impersonated when given
    /// (or named by the account's annotation).
    Federation {
        audience: String,
        email: Option<String>,
    },
}

/// The store's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSpec {
    pub project: String,
    pub location: Option<String>,
    pub policy: VersionPolicy,
    pub login: Login,
}

fn config(text: impl Into<String>) -> GcpError {
    GcpError::Config(text.into())
}

/// A project id (`my-project`, `example.com:my-project`) or number.
fn project_ok(project: &str) -> bool {
    !project.is_empty()
        && project.len() <= 100
        && project
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | ':'))
}

/// A location (`europe-west4`).
fn location_ok(location: &str) -> bool {
    !location.is_empty()
        && location.len() <= 63
        && location
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A secret id: 1–255 of `[A-Za-z0-9_-]`.
pub(crate) fn secret_ok(secret: &str) -> bool {
    !secret.is_empty()
        && secret.len() <= 255
        && secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A Google service account email (`NAME@PROJECT.iam.gserviceaccount.com` and the like).
pub(crate) fn email_ok(email: &str) -> bool {
    match email.split_once('@') {
        Some((name, domain)) => {
            let part = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            };
            part(name) && part(domain) && domain.ends_with(".gserviceaccount.com")
        }
        None => false,
    }
}

/// `version` if this store can read it: `latest` or a version number.
pub fn check_version(version: &str) -> Result<(), String> {
    if version == "latest"
        || (!version.is_empty()
            && version.chars().all(|c| c.is_ascii_digit())
            && version != "0"
            && !version.starts_with('0'))
    {
        Ok(())
    } else {
        Err(format!(
            "version {version:?} is not a GCP Secret Manager version (latest or a version number)"
        ))
    }
}

impl StoreSpec {
    /// The settings `p` describes, or what is wrong with them.
    pub fn from_provider(p: &GcpSmProvider) -> Result<StoreSpec, GcpError> {
        let base = "spec.provider.gcpsm";
        let project = p
            .project_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| config(format!("{base}.projectID is required")))?;
        if !project_ok(project) {
            return Err(config(format!(
                "{base}.projectID {project:?} is not a GCP project id"
            )));
        }
        let location = p.location.as_deref().filter(|l| !l.is_empty());
        if let Some(l) = location
            && !location_ok(l)
        {
            return Err(config(format!(
                "{base}.location {l:?} is not a GCP location"
            )));
        }
        let policy = match p.secret_version_selection_policy.as_deref() {
            None | Some("") | Some("LatestOrFail") => VersionPolicy::LatestOrFail,
            Some("LatestOrFetch") => VersionPolicy::LatestOrFetch,
            Some(other) => {
                return Err(config(format!(
                    "{base}.secretVersionSelectionPolicy {other:?} is not LatestOrFail or LatestOrFetch"
                )));
            }
        };
        let auth = p.auth.as_ref();
        let login = match auth.and_then(|a| a.workload_identity_federation.as_ref()) {
            Some(wif) if auth.is_none_or(|a| a.secret_ref.is_none()) => {
                let audience = wif
                    .audience
                    .clone()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| {
                        config(format!(
                            "{base}.auth.workloadIdentityFederation.audience is required"
                        ))
                    })?;
                let email = wif
                    .gcp_service_account_email
                    .clone()
                    .filter(|e| !e.is_empty());
                if let Some(e) = &email
                    && !email_ok(e)
                {
                    return Err(config(format!(
                        "{base}.auth.workloadIdentityFederation.gcpServiceAccountEmail {e:?} is not a service account email (NAME@PROJECT.iam.gserviceaccount.com)"
                    )));
                }
                Login::Federation { audience, email }
            }
            _ => Login::Key,
        };
        Ok(StoreSpec {
            project: project.to_owned(),
            location: location.map(str::to_owned),
            policy,
            login,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_go_into_urls_are_checked() {
        assert!(
            secret_ok("db_password-2") && !secret_ok("a/b") && !secret_ok("") && !secret_ok("../x")
        );
        assert!(
            project_ok("my-project") && project_ok("123456789012") && project_ok("example.com:p")
        );
        assert!(!project_ok("p/secrets") && !project_ok("P"));
        assert!(location_ok("europe-west4") && !location_ok("eu.evil.com") && !location_ok("a/b"));
        assert!(
            email_ok("r@p.iam.gserviceaccount.com")
                && !email_ok("r@example.com")
                && !email_ok("r@p.iam.gserviceaccount.com/x")
        );
    }

    #[test]
    fn versions() {
        for ok in ["latest", "1", "42"] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in ["", "0", "01", "v1", "latest:access", "1/x", "AWSCURRENT"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }
}

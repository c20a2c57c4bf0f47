//! `spec.provider.gcpsm` checks (no IO). Each problem names its field path.
//!
//! What is refused by name rather than as an unknown field: GKE `workloadIdentity` (needs the
//! GKE metadata server and `identitybindingtoken`, which cannot be tested here), and the
//! `credConfig` / `awsSecurityCredentials` sources of `workloadIdentityFederation` (an
//! external-account file would let a store name its own token and impersonation URLs).

use crate::api::Unknown;
use crate::api::secret_store::GcpSmProvider;

use super::{namespaced_ref, unknown};

const BASE: &str = "spec.provider.gcpsm";

/// Fields of `unknown` named with their own reason; the rest as unknown.
fn refused(path: &str, fields: &Unknown, named: &[(&str, &str)], problems: &mut Vec<String>) {
    let mut rest = fields.clone();
    for (name, why) in named {
        if rest.remove(*name).is_some() {
            problems.push(format!(
                "{path}.{name} is not supported by kubectl-secrets: {why}"
            ));
        }
    }
    unknown(path, &rest, problems, "");
}

/// ESO's pattern for `gcpServiceAccountEmail`: `NAME@DOMAIN.gserviceaccount.com`.
fn email_ok(email: &str) -> bool {
    let Some((name, domain)) = email.split_once('@') else {
        return false;
    };
    let part = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    part(name) && part(domain) && domain.ends_with(".gserviceaccount.com")
}

/// Problems with `spec.provider.gcpsm`; `cluster` is true for a ClusterSecretStore;
/// `service_account_required` is false for a store read by mounts (they log in as the pod's
/// own account, so a `serviceAccountRef` may be left out).
pub(super) fn provider(
    p: &GcpSmProvider,
    cluster: bool,
    service_account_required: bool,
    problems: &mut Vec<String>,
) {
    unknown(BASE, &p.unknown, problems, "");
    if p.project_id.as_deref().is_none_or(str::is_empty) {
        problems.push(format!(
            "{BASE}.projectID is required (there is no GKE metadata server to ask)"
        ));
    }
    if let Some(l) = p.location.as_deref().filter(|l| !l.is_empty())
        && !l
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        problems.push(format!(
            "{BASE}.location {l:?} is not a GCP location (e.g. europe-west4)"
        ));
    }
    if let Some(policy) = p.secret_version_selection_policy.as_deref()
        && !["LatestOrFail", "LatestOrFetch"].contains(&policy)
    {
        problems.push(format!(
            "{BASE}.secretVersionSelectionPolicy {policy:?} must be LatestOrFail or LatestOrFetch"
        ));
    }
    let Some(auth) = &p.auth else {
        problems.push(format!(
            "{BASE}.auth needs secretRef or workloadIdentityFederation (the agent never lends its own identity)"
        ));
        return;
    };
    let path = format!("{BASE}.auth");
    refused(
        &path,
        &auth.unknown,
        &[(
            "workloadIdentity",
            "GKE workload identity is not implemented yet; use workloadIdentityFederation with the cluster's issuer in a workload identity pool",
        )],
        problems,
    );
    let wif = auth.workload_identity_federation.as_ref();
    match (auth.secret_ref.is_some(), wif.is_some()) {
        (true, true) => problems.push(format!(
            "{path} must set exactly one of secretRef, workloadIdentityFederation"
        )),
        (false, false) if !auth.unknown.contains_key("workloadIdentity") => problems.push(format!(
            "{path} needs secretRef or workloadIdentityFederation"
        )),
        _ => {}
    }
    if let Some(secret_ref) = &auth.secret_ref {
        let sub = format!("{path}.secretRef");
        unknown(&sub, &secret_ref.unknown, problems, "");
        match &secret_ref.secret_access_key_secret_ref {
            None => problems.push(format!(
                "{sub}.secretAccessKeySecretRef is required (the Secret key holding the service-account key JSON)"
            )),
            Some(sel) => {
                let sel_path = format!("{sub}.secretAccessKeySecretRef");
                unknown(&sel_path, &sel.unknown, problems, "");
                namespaced_ref(&sel_path, &sel.namespace, cluster, problems);
            }
        }
    }
    if let Some(wif) = wif {
        let sub = format!("{path}.workloadIdentityFederation");
        refused(
            &sub,
            &wif.unknown,
            &[
                (
                    "credConfig",
                    "an external-account file names its own token and impersonation URLs; use serviceAccountRef with audience",
                ),
                (
                    "awsSecurityCredentials",
                    "AWS credentials as the subject are not implemented; use serviceAccountRef with audience",
                ),
                (
                    "externalTokenEndpoint",
                    "the STS endpoint is the agent's --gcp-sts-endpoint, not a store's",
                ),
            ],
            problems,
        );
        if wif.audience.as_deref().is_none_or(str::is_empty) {
            problems.push(format!(
                "{sub}.audience is required (//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER)"
            ));
        }
        match &wif.service_account_ref {
            Some(sa) => namespaced_ref(
                &format!("{sub}.serviceAccountRef"),
                &sa.namespace,
                cluster,
                problems,
            ),
            None if !service_account_required => {}
            None if wif.unknown.contains_key("credConfig")
                || wif.unknown.contains_key("awsSecurityCredentials") => {}
            None => problems.push(format!(
                "{sub}.serviceAccountRef is required (the account whose token is exchanged at STS)"
            )),
        }
        if let Some(email) = wif
            .gcp_service_account_email
            .as_deref()
            .filter(|e| !e.is_empty())
            && !email_ok(email)
        {
            problems.push(format!(
                "{sub}.gcpServiceAccountEmail {email:?} must be a service account email (NAME@PROJECT.iam.gserviceaccount.com)"
            ));
        }
    }
}

#[cfg(test)]
mod tests;
